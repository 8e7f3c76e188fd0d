"""/api/v1/ endpoints of the reports app (see reports/api.py)."""

from django.urls import path

from reports import api

org = "organisations/<slug:org>/"

urlpatterns = [
    path(f"{org}reports/", api.ReportListView.as_view(), name="report_list"),
    path(f"{org}reports/<uuid:report_id>/", api.ReportDetailView.as_view(), name="report_detail"),
    path(f"{org}reports/<uuid:report_id>/download/", api.ReportDownloadView.as_view(), name="report_download"),
    path(f"{org}reports/<uuid:report_id>/revoke/", api.ReportRevokeView.as_view(), name="report_revoke"),
    path("verify/<uuid:report_id>/", api.VerifyView.as_view(), name="report_verify"),
]
