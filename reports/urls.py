"""Tenant pages of the reports app, mounted under /o/<org_slug>/ by portal/urls.py."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("reports/", views.report_list, name="list"),
    path("reports/new/", views.report_create, name="create"),
    path("reports/<uuid:report_id>/", views.report_detail, name="detail"),
    path("reports/<uuid:report_id>/download/", views.report_download, name="download"),
    path("reports/<uuid:report_id>/revoke/", views.report_revoke, name="revoke"),
]
