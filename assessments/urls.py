"""Tenant pages of the assessments app, mounted under /o/<org_slug>/ by portal/urls.py."""

from django.urls import path

from assessments import views

app_name = "assessments"

urlpatterns = [
    path("assessments/", views.assessment_list, name="list"),
    path("assessments/new/", views.assessment_create, name="create"),
    path("assessments/<uuid:assessment_id>/", views.assessment_overview, name="overview"),
    path("assessments/<uuid:assessment_id>/principles/<int:number>/", views.principle_page, name="principle"),
    path(
        "assessments/<uuid:assessment_id>/responses/<uuid:response_id>/autosave/",
        views.response_autosave,
        name="autosave",
    ),
    path(
        "assessments/<uuid:assessment_id>/responses/<uuid:response_id>/actions/new/",
        views.action_create,
        name="action_create",
    ),
    path("assessments/<uuid:assessment_id>/actions/<uuid:action_id>/", views.action_edit, name="action_edit"),
    path(
        "assessments/<uuid:assessment_id>/actions/<uuid:action_id>/delete/",
        views.action_delete,
        name="action_delete",
    ),
    path("assessments/<uuid:assessment_id>/submit/", views.assessment_submit, name="submit"),
    path("evidence/", views.evidence_list, name="evidence_list"),
    path("evidence/new/", views.evidence_upload, name="evidence_upload"),
    path("evidence/<uuid:evidence_id>/", views.evidence_detail, name="evidence_detail"),
    path("evidence/<uuid:evidence_id>/download/", views.evidence_download, name="evidence_download"),
    path("evidence/<uuid:evidence_id>/delete/", views.evidence_delete, name="evidence_delete"),
]
