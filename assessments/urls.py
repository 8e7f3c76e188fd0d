"""Tenant pages of the assessments app, mounted under /o/<org_slug>/ by portal/urls.py."""

from django.urls import path

from assessments import (
    plan_views,
    review_views,
    spreadsheet_views,
    survey_views,
    technology_csv_views,
    technology_views,
    views,
)

app_name = "assessments"

urlpatterns = [
    path("assessments/", views.assessment_list, name="list"),
    path("assessments/new/", views.assessment_create, name="create"),
    path("assessments/actions.xlsx", spreadsheet_views.action_plan_xlsx, name="action_plan_xlsx"),
    path("assessments/<uuid:assessment_id>/", views.assessment_overview, name="overview"),
    path("assessments/<uuid:assessment_id>/next/", views.assessment_next, name="next"),
    path("assessments/<uuid:assessment_id>/export.xlsx", spreadsheet_views.assessment_xlsx, name="assessment_xlsx"),
    path(
        "assessments/<uuid:assessment_id>/actions.xlsx",
        spreadsheet_views.assessment_actions_xlsx,
        name="assessment_actions_xlsx",
    ),
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
    # Plans
    path("surveys/", survey_views.survey_list, name="surveys"),
    path("surveys/new/", survey_views.survey_create, name="survey_create"),
    path("surveys/<uuid:survey_id>/", survey_views.survey_detail, name="survey"),
    path("surveys/<uuid:survey_id>/edit/", survey_views.survey_edit, name="survey_edit"),
    path("surveys/<uuid:survey_id>/approve/", survey_views.survey_approve, name="survey_approve"),
    path("surveys/<uuid:survey_id>/open/", survey_views.survey_open, name="survey_open"),
    path("surveys/<uuid:survey_id>/close/", survey_views.survey_close, name="survey_close"),
    path("surveys/<uuid:survey_id>/codes/", survey_views.survey_codes, name="survey_codes"),
    path("surveys/<uuid:survey_id>/invite/", survey_views.survey_invite, name="survey_invite"),
    # Technology register and new technology agreement
    path("technology/", technology_views.system_list, name="technology"),
    path("technology/new/", technology_views.system_create, name="technology_create"),
    path("technology/agreement/", technology_views.agreement_page, name="technology_agreement"),
    path("technology/agreement/new/", technology_views.agreement_create, name="technology_agreement_create"),
    path(
        "technology/agreement/<uuid:agreement_id>/edit/",
        technology_views.agreement_edit,
        name="technology_agreement_edit",
    ),
    path(
        "technology/agreement/<uuid:agreement_id>/sign/",
        technology_views.agreement_sign,
        name="technology_agreement_sign",
    ),
    path(
        "technology/agreement/<uuid:agreement_id>/delete/",
        technology_views.agreement_delete,
        name="technology_agreement_delete",
    ),
    path("technology/<uuid:system_id>/", technology_views.system_detail, name="technology_system"),
    path("technology/<uuid:system_id>/edit/", technology_views.system_edit, name="technology_edit"),
    path("technology/<uuid:system_id>/notice/", technology_views.system_notice, name="technology_notice"),
    path("technology/<uuid:system_id>/links/", technology_views.system_links, name="technology_links"),
    path("technology/<uuid:system_id>/delete/", technology_views.system_delete, name="technology_delete"),
    path("technology/<uuid:system_id>/dpia/", technology_views.system_dpia, name="technology_dpia"),
    path("plans/", plan_views.plan_list, name="plans"),
    path("plans/new/", plan_views.plan_create, name="plan_create"),
    path("plans/<uuid:plan_id>/", plan_views.plan_detail, name="plan"),
    path("plans/<uuid:plan_id>/sections/<slug:section>/", plan_views.plan_section, name="plan_section"),
    path("plans/<uuid:plan_id>/equality/", plan_views.plan_eqia, name="plan_eqia"),
    path("plans/<uuid:plan_id>/meetings/new/", plan_views.meeting_add, name="plan_meeting_add"),
    path(
        "plans/<uuid:plan_id>/meetings/<uuid:meeting_id>/delete/", plan_views.meeting_delete, name="plan_meeting_delete"
    ),
    path("plans/<uuid:plan_id>/submit/", plan_views.plan_submit, name="plan_submit"),
    path("plans/<uuid:plan_id>/amend/", plan_views.plan_amend, name="plan_amend"),
    path("plans/<uuid:plan_id>/changes/", plan_views.plan_diff, name="plan_diff"),
    path("plans/<uuid:plan_id>/review-date/", plan_views.plan_review_date, name="plan_review_date"),
    # Review of assessments and plans (kind is "assessment" or "plan")
    path("review/<slug:kind>/<uuid:subject_id>/comments/", review_views.comment_add, name="comment_add"),
    path(
        "review/<slug:kind>/<uuid:subject_id>/comments/<uuid:comment_id>/resolve/",
        review_views.comment_resolve,
        name="comment_resolve",
    ),
    path("review/<slug:kind>/<uuid:subject_id>/request-changes/", review_views.changes_request, name="changes_request"),
    path(
        "review/<slug:kind>/<uuid:subject_id>/requests/<uuid:request_id>/answer/",
        review_views.change_request_answer,
        name="change_request_answer",
    ),
    path("review/<slug:kind>/<uuid:subject_id>/sign/", review_views.sign, name="sign"),
    # The technology register as CSV (assessments/technology_csv_views.py)
    path("technology/import/", technology_csv_views.technology_import, name="technology_import"),
    path("technology/export.csv", technology_csv_views.technology_export, name="technology_export"),
    path("technology/export.xlsx", technology_csv_views.technology_export_xlsx, name="technology_export_xlsx"),
]
