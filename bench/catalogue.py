"""What bench/page_cpu.py measures: every page a person reaches with GET, and every API list.

Issue 19's budgets hold for every HTML page (5x the one-query floor's server CPU) and every API
list (4x), and for every page added later. So the list is checked against the URL patterns:
tests/portal/test_bench_coverage.py fails when a pattern that answers GET is neither in `PAGES`
nor in `EXCLUDED` (with the reason it is not measured), so a new page cannot be added without
being measured or a reason written down.

Each `Page` names a URL pattern (`url_name`, as for `reverse`) and where its arguments come from:
`kwargs` maps the pattern's parameters to keys of the data set's ids (bench/page_cpu.py's
`data_ids`: the demo organisation's, or the first seed_scale organisation's). `person` says who
asks: a key of the data set's people (a signed-in session; for API pages a token of that person
in their organisation), or None for a signed-out visitor. A page whose ids the data set lacks (no
change request in the demo, say) is listed as not measured, with the missing id, never dropped
silently.

This module imports nothing from Django at import time: the coverage test reads it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HTML_BUDGET = 5.0  # x the floor's server CPU (issue 19, part 1)
API_BUDGET = 4.0

# Who asks. The ids of each data set say which person each key is (bench/page_cpu.py).
PEOPLE = {
    "main": "the data set's main person: Acme's owner (owner@acme.example) in the demo, the manager of "
    "the first organisation in seed_scale data",
    "owner": "the owner of the same organisation (the same person in the demo)",
    "rep": "its workforce representative",
    "supplier": "the owner of a supplier organisation that accepted the organisation's campaign request "
    "(Northern Castings in the demo)",
    "uncommitted": "the owner of an organisation that has not signed the commitment (Tyne Coatings in the demo)",
}


@dataclass(frozen=True)
class Page:
    label: str
    url_name: str
    kwargs: dict[str, str] = field(default_factory=dict)  # pattern parameter -> key of the data set's ids
    person: str | None = "main"  # a key of PEOPLE, or None: signed out
    query: str = ""  # appended to the path, with its "?"
    prime: str | None = None  # a URL name requested once first, in the same session (a set-up step)
    prime_kwargs: dict[str, str] = field(default_factory=dict)  # its parameters, as `kwargs`
    note: str = ""

    @property
    def is_api(self) -> bool:
        return self.url_name.startswith("api:")

    @property
    def budget(self) -> float | None:
        if self.url_name == FLOOR:
            return None
        return API_BUDGET if self.is_api else HTML_BUDGET


FLOOR = "healthz_database"
ORG = {"org_slug": "org"}
API_ORG = {"org": "org"}

PAGES: list[Page] = [
    Page("floor", FLOOR, person=None),
    # --- the 13 pages of runs A-D (labels kept, so old and new tables compare) ---
    Page("account", "account"),
    Page("your work", "your_work"),
    Page("notifications", "notifications"),
    Page("notification settings", "notification_preferences"),
    Page("dashboard", "portal:dashboard", ORG),
    Page("assessment overview", "assessments:overview", {**ORG, "assessment_id": "assessment"}),
    Page("principle page", "assessments:principle", {**ORG, "assessment_id": "assessment", "number": "principle"}),
    Page("plan page", "assessments:plan", {**ORG, "plan_id": "plan"}),
    Page("campaign page", "supplychain:campaign", {**ORG, "campaign_id": "campaign"}),
    Page("commitment page", "principles:commitment", ORG),
    Page("API: suppliers", "api:supplier_list", API_ORG),
    Page("API: inbox", "api:inbox"),
    Page("API: notifications", "api:notification_list"),
    # --- the person, across organisations ---
    Page("account data", "account_data"),
    Page("account deletion (form)", "account_delete"),
    Page("API tokens", "api_tokens"),
    Page("API token revoke (form)", "api_token_revoke", {"token_id": "token"}),
    Page("organisations", "organisation_list"),
    Page("new organisation (form)", "organisation_create"),
    Page("email addresses", "account_email"),
    Page("change password (form)", "account_change_password"),
    Page("confirm your password (form)", "account_reauthenticate"),
    Page("two-factor authentication", "mfa_index"),
    Page("sessions", "usersessions_list"),
    Page("sign out (confirm)", "account_logout"),
    Page("framework", "framework:current"),
    Page("framework version", "framework:version", {"code": "framework_code", "version": "framework_version"}),
    # --- signed out ---
    Page("landing page (signed out)", "home", person=None),
    Page("sign in (signed out)", "account_login", person=None),
    Page("sign up (signed out)", "account_signup", person=None),
    Page("password reset (signed out)", "account_reset_password", person=None),
    Page("password reset sent (signed out)", "account_reset_password_done", person=None),
    Page("password reset done (signed out)", "account_reset_password_from_key_done", person=None),
    Page("account inactive (signed out)", "account_inactive", person=None),
    Page("account deleted (signed out)", "account_deleted", person=None),
    Page(
        "verify a report (signed out)",
        "verify:report",
        {"report_id": "report"},
        person=None,
        note="each request from its own address (X-Forwarded-For): the page allows 30 checks a minute per address",
    ),
    Page("API docs (signed out)", "api_docs", person=None),
    # --- the organisation ---
    Page("members", "portal:members", ORG),
    Page("member role (form)", "portal:member_role", {**ORG, "membership_id": "membership"}, person="owner"),
    Page("member remove (confirm)", "portal:member_remove", {**ORG, "membership_id": "membership"}, person="owner"),
    Page("leave (confirm)", "portal:leave", ORG),
    Page("invite a member (form)", "portal:invitation_create", ORG, person="owner"),
    Page(
        "member invitation revoke (confirm)",
        "portal:invitation_revoke",
        {**ORG, "invitation_id": "member_invitation"},
        person="owner",
    ),
    Page("audit trail", "portal:audit_trail", ORG),
    Page("webhooks", "portal:webhook_list", ORG, person="owner"),
    Page("add a webhook (form)", "portal:webhook_create", ORG, person="owner"),
    Page("webhook endpoint", "portal:webhook_detail", {**ORG, "endpoint_id": "webhook_endpoint"}, person="owner"),
    Page(
        "rotate a webhook secret (confirm)",
        "portal:webhook_rotate",
        {**ORG, "endpoint_id": "webhook_endpoint"},
        person="owner",
    ),
    Page(
        "delete a webhook (confirm)",
        "portal:webhook_delete",
        {**ORG, "endpoint_id": "webhook_endpoint"},
        person="owner",
    ),
    Page("exports", "portal:export_list", ORG, person="owner"),
    Page("new export (check)", "portal:export_create", ORG, person="owner"),
    Page("export", "portal:export_detail", {**ORG, "export_id": "export"}, person="owner"),
    # --- commitment ---
    Page("sign the commitment (form)", "principles:commitment_sign", {"org_slug": "uncommitted_org"}, "uncommitted"),
    Page("reaffirm the commitment (form)", "principles:commitment_reaffirm", ORG, person="owner"),
    Page("withdraw the commitment (form)", "principles:commitment_withdraw", ORG, person="owner"),
    # --- self-assessments and evidence ---
    Page("assessments", "assessments:list", ORG),
    Page("new assessment (form)", "assessments:create", ORG),
    Page("final assessment overview", "assessments:overview", {**ORG, "assessment_id": "final_assessment"}),
    Page(
        "final assessment principle page",
        "assessments:principle",
        {**ORG, "assessment_id": "final_assessment", "number": "principle"},
    ),
    Page(
        "next assessment (form)",
        "assessments:next",
        {**ORG, "assessment_id": "carry_over_assessment"},
        note="only while the latest final assessment has not been carried over",
    ),
    Page(
        "new action (form)",
        "assessments:action_create",
        {**ORG, "assessment_id": "assessment", "response_id": "response"},
    ),
    Page("action (form)", "assessments:action_edit", {**ORG, "assessment_id": "assessment", "action_id": "action"}),
    Page(
        "action delete (confirm)",
        "assessments:action_delete",
        {**ORG, "assessment_id": "assessment", "action_id": "action"},
    ),
    Page("submit assessment (check)", "assessments:submit", {**ORG, "assessment_id": "assessment"}),
    Page("evidence library", "assessments:evidence_list", ORG),
    Page("upload evidence (form)", "assessments:evidence_upload", ORG),
    Page("evidence item", "assessments:evidence_detail", {**ORG, "evidence_id": "evidence"}),
    Page("evidence delete (confirm)", "assessments:evidence_delete", {**ORG, "evidence_id": "evidence"}),
    # --- plans and review ---
    Page("plans", "assessments:plans", ORG),
    Page("new plan (form)", "assessments:plan_create", ORG),
    Page("plan in review", "assessments:plan", {**ORG, "plan_id": "review_plan"}),
    Page(
        "plan section",
        "assessments:plan_section",
        {**ORG, "plan_id": "section_plan", "section": "plan_section"},
    ),
    Page("plan equality impact", "assessments:plan_eqia", {**ORG, "plan_id": "section_plan"}),
    Page("add a meeting (form)", "assessments:plan_meeting_add", {**ORG, "plan_id": "editable_plan"}),
    Page(
        "meeting delete (confirm)",
        "assessments:plan_meeting_delete",
        {**ORG, "plan_id": "meeting_plan", "meeting_id": "meeting"},
    ),
    Page("submit plan (check)", "assessments:plan_submit", {**ORG, "plan_id": "editable_plan"}),
    Page("amend plan (confirm)", "assessments:plan_amend", {**ORG, "plan_id": "plan"}),
    Page("plan changes", "assessments:plan_diff", {**ORG, "plan_id": "amended_plan"}),
    Page("plan review date (form)", "assessments:plan_review_date", {**ORG, "plan_id": "plan"}),
    # --- workforce surveys ---
    Page("surveys", "assessments:surveys", ORG),
    Page("new survey (form)", "assessments:survey_create", ORG),
    Page("survey with results", "assessments:survey", {**ORG, "survey_id": "closed_survey"}),
    Page("survey taking answers", "assessments:survey", {**ORG, "survey_id": "open_survey"}),
    Page("survey draft", "assessments:survey", {**ORG, "survey_id": "draft_survey"}),
    Page("change survey (form)", "assessments:survey_edit", {**ORG, "survey_id": "draft_survey"}),
    Page("approve survey (check)", "assessments:survey_approve", {**ORG, "survey_id": "draft_survey"}),
    Page("open survey (confirm)", "assessments:survey_open", {**ORG, "survey_id": "draft_survey"}),
    Page("close survey (confirm)", "assessments:survey_close", {**ORG, "survey_id": "open_survey"}),
    Page("print survey codes (form)", "assessments:survey_codes", {**ORG, "survey_id": "open_survey"}),
    Page("email survey invitations (form)", "assessments:survey_invite", {**ORG, "survey_id": "open_survey"}),
    Page("answer a survey: the code (signed out)", "answer:survey", person=None),
    # --- technology register and new technology agreement ---
    Page("technology register", "assessments:technology", ORG),
    Page("import systems (form)", "assessments:technology_import", ORG),
    Page("register a system (form)", "assessments:technology_create", ORG),
    Page("technology system", "assessments:technology_system", {**ORG, "system_id": "system"}),
    Page("change a system (form)", "assessments:technology_edit", {**ORG, "system_id": "system"}),
    Page("record notice (form)", "assessments:technology_notice", {**ORG, "system_id": "system"}),
    Page("system links (form)", "assessments:technology_links", {**ORG, "system_id": "system"}),
    Page("remove a system (confirm)", "assessments:technology_delete", {**ORG, "system_id": "system"}),
    Page("technology agreement", "assessments:technology_agreement", ORG),
    Page(
        "draft the agreement (form)",
        "assessments:technology_agreement_create",
        ORG,
        note="redirects to the agreement page while a draft exists",
    ),
    Page(
        "change the draft agreement (form)",
        "assessments:technology_agreement_edit",
        {**ORG, "agreement_id": "draft_agreement"},
    ),
    Page(
        "sign the agreement (check)",
        "assessments:technology_agreement_sign",
        {**ORG, "agreement_id": "draft_agreement"},
        note="the management signature page of the draft",
    ),
    Page(
        "delete the draft agreement (confirm)",
        "assessments:technology_agreement_delete",
        {**ORG, "agreement_id": "draft_agreement"},
    ),
    Page(
        "sign (review page)",
        "assessments:sign",
        {**ORG, "kind": "review_kind", "subject_id": "review_subject"},
        note="the management signature page of the item in workforce review",
    ),
    Page(
        "request changes (rep)",
        "assessments:changes_request",
        {**ORG, "kind": "review_kind", "subject_id": "review_subject"},
        person="rep",
    ),
    Page(
        "answer a change request (form)",
        "assessments:change_request_answer",
        {**ORG, "kind": "change_request_kind", "subject_id": "change_request_subject", "request_id": "change_request"},
    ),
    # --- supply chain ---
    Page("suppliers", "supplychain:suppliers", ORG),
    Page("new supplier (form)", "supplychain:supplier_create", ORG),
    Page("supplier", "supplychain:supplier_edit", {**ORG, "supplier_id": "supplier"}),
    Page("supplier archive (confirm)", "supplychain:supplier_archive", {**ORG, "supplier_id": "supplier"}),
    Page("import suppliers (form)", "supplychain:import", ORG),
    Page("supplier import preview", "supplychain:import_preview", {**ORG, "import_id": "supplier_import"}),
    Page("campaigns", "supplychain:campaigns", ORG),
    Page("new campaign (form)", "supplychain:campaign_create", ORG),
    Page(
        "campaign check (repeat)",
        "supplychain:campaign_check",
        ORG,
        prime="supplychain:campaign_repeat",
        prime_kwargs={**ORG, "campaign_id": "campaign"},
        note="after 'Repeat this campaign' put the draft in the session",
    ),
    Page(
        "supplier request revoke (confirm)",
        "supplychain:invitation_revoke",
        {**ORG, "invitation_id": "open_supplier_invitation"},
    ),
    Page("held answer (form)", "supplychain:held_answer", {**ORG, "invitation_id": "held_invitation"}),
    Page(
        "forward a request (supplier)",
        "supplychain:forward",
        {"org_slug": "supplier_org", "invitation_id": "supplier_invitation"},
        person="supplier",
    ),
    Page("buyers (supplier)", "supplychain:buyers", {"org_slug": "supplier_org"}, person="supplier"),
    Page(
        "campaign page (supplier)",
        "supplychain:campaign",
        {"org_slug": "supplier_org", "campaign_id": "supplier_campaign"},
        person="supplier",
    ),
    # --- reports ---
    Page("reports", "reports:list", ORG),
    Page("new report (form)", "reports:create", ORG),
    Page("report", "reports:detail", {**ORG, "report_id": "report"}),
    Page("report revoke (form)", "reports:revoke", {**ORG, "report_id": "report"}, person="owner"),
    # --- API lists (a token of the person, in their organisation) ---
    Page("API: organisations", "api:organisation_list"),
    Page("API: members", "api:member_list", API_ORG),
    Page("API: audit events", "api:audit_event_list", API_ORG),
    Page("API: commitments", "api:commitment_list", API_ORG),
    Page("API: assessments", "api:assessment_list", API_ORG),
    Page("API: responses", "api:response_list", {**API_ORG, "assessment_id": "assessment"}),
    Page("API: evidence", "api:evidence_list", API_ORG),
    Page("API: action items", "api:action_item_list", API_ORG),
    Page("API: plans", "api:plan_list", API_ORG),
    Page("API: surveys", "api:survey_list", API_ORG),
    Page("API: technology systems", "api:technology_system_list", API_ORG),
    Page("API: technology agreements", "api:technology_agreement_list", API_ORG),
    Page("API: plan meetings", "api:plan_meeting_list", {**API_ORG, "plan_id": "meeting_plan"}),
    Page("API: assessment comments", "api:assessment_comment_list", {**API_ORG, "subject_id": "final_assessment"}),
    Page(
        "API: assessment change requests",
        "api:assessment_change_request_list",
        {**API_ORG, "subject_id": "final_assessment"},
    ),
    Page("API: assessment signatures", "api:assessment_signature_list", {**API_ORG, "subject_id": "final_assessment"}),
    Page("API: plan comments", "api:plan_comment_list", {**API_ORG, "subject_id": "review_plan"}),
    Page("API: plan change requests", "api:plan_change_request_list", {**API_ORG, "subject_id": "review_plan"}),
    Page("API: plan signatures", "api:plan_signature_list", {**API_ORG, "subject_id": "plan"}),
    Page("API: campaigns", "api:campaign_list", API_ORG),
    Page("API: campaign invitations", "api:campaign_invitation_list", {**API_ORG, "campaign_id": "campaign"}),
    Page("API: requests (supplier)", "api:request_list", {"org": "supplier_org"}, person="supplier"),
    Page("API: buyers (supplier)", "api:buyer_list", {"org": "supplier_org"}, person="supplier"),
    Page("API: reports", "api:report_list", API_ORG),
]

# Reasons a URL pattern that answers GET is not measured. Keep each reason true: the coverage test
# checks only that every GET pattern is in PAGES or here.
_DOWNLOAD = "a file download (attachment), not a page: its cost is the file, not the portal's rendering"
_TOKEN_LINK = (
    "reached only through a secret link sent by email; the portal stores a hash of the token, so the "
    "benchmark cannot build the link from the data"
)
_API_ONE = "one object, not a list: issue 19 budgets API lists"
_NEEDS_STAGE = "allauth answers it only in the middle of a sign-in or set-up flow (else it redirects)"
_NEEDS_MFA = "needs two-factor authentication set up, which no demo person has (else it redirects)"

EXCLUDED: dict[str, str] = {
    "healthz": "the load balancer's full health check (database, cache, broker), JSON, not a page",
    "api_schema": "the generated OpenAPI document (YAML), not a page; /api/docs/ is measured",
    "reviews:home": "a permanent redirect to /your-work/ (an old address), which is measured",
    "account_data_download": _DOWNLOAD,
    "portal:export_download": _DOWNLOAD,
    "assessments:evidence_download": _DOWNLOAD,
    "reports:download": _DOWNLOAD,
    "supplychain:supplier_template": _DOWNLOAD + " (the CSV template)",
    "supplychain:campaign_export": _DOWNLOAD + " (the coverage CSV)",
    "portal:webhook_secret": "shows a new secret once, right after it is made, then redirects: a person reads "
    "it once, not a page loaded again",
    "supplychain:campaign_export_xlsx": _DOWNLOAD + " (the coverage as XLSX)",
    "supplychain:supplier_template_xlsx": _DOWNLOAD + " (the import template as XLSX)",
    "supplychain:supplier_export": _DOWNLOAD + " (the supplier register as CSV)",
    "supplychain:supplier_export_xlsx": _DOWNLOAD + " (the supplier register as XLSX)",
    "assessments:technology_export_xlsx": _DOWNLOAD + " (the technology register as XLSX)",
    "assessments:action_plan_xlsx": _DOWNLOAD + " (the organisation's action plan as XLSX)",
    "assessments:assessment_xlsx": _DOWNLOAD + " (a self-assessment as XLSX)",
    "assessments:assessment_actions_xlsx": _DOWNLOAD + " (a self-assessment's actions as XLSX)",
    "mfa_download_recovery_codes": _DOWNLOAD,
    "invitation_accept": _TOKEN_LINK,
    "supplier_invitation": _TOKEN_LINK,
    "notifications_unsubscribe": _TOKEN_LINK,
    "digest_unsubscribe": _TOKEN_LINK,
    "account_reset_password_from_key": _TOKEN_LINK,
    "supplychain:campaign_repeat": "stores a draft in the session and redirects to the check page, which is "
    "measured after it ('campaign check (repeat)')",
    "principles:commitment_confirm": "the sign page's check step: it needs the sign form's answers in the "
    "session (a POST), else it redirects to the sign page, which is measured",
    "account_email_verification_sent": _NEEDS_STAGE + " (a sign-up waiting for its email to be confirmed)",
    "account_set_password": "for people without a password; everyone here has one, so it redirects",
    "account_confirm_login_code": _NEEDS_STAGE,
    "account_request_reauthentication_code": _NEEDS_STAGE + " (reauthentication by code, when enabled)",
    "account_confirm_reauthentication_code": _NEEDS_STAGE + " (reauthentication by code, when enabled)",
    "mfa_authenticate": _NEEDS_STAGE,
    "mfa_reauthenticate": _NEEDS_MFA,
    "mfa_deactivate_totp": _NEEDS_MFA,
    "mfa_view_recovery_codes": _NEEDS_MFA,
    "mfa_generate_recovery_codes": _NEEDS_MFA,
    "mfa_activate_totp": "allauth asks to confirm the password again a few minutes after sign-in, so a "
    "batch cannot stay on it; allauth's own page (a QR code), no portal data",
    # API endpoints that answer GET but are not lists
    "api:me": _API_ONE,
    "api:organisation_detail": _API_ONE,
    "api:member_detail": _API_ONE,
    "api:audit_verify": "recomputes the organisation's whole hash chain on purpose: its cost grows with the "
    "audit trail by design, not a list",
    "api:notification_preferences": _API_ONE,
    "api:framework": _API_ONE + " (the framework, the same for everyone)",
    "api:commitment_detail": _API_ONE,
    "api:assessment_detail": _API_ONE,
    "api:response_detail": _API_ONE,
    "api:evidence_detail": _API_ONE,
    "api:evidence_download": _DOWNLOAD,
    "api:action_item_detail": _API_ONE,
    "api:plan_detail": _API_ONE,
    "api:survey_detail": _API_ONE + " (with its frozen results)",
    "api:technology_system_detail": _API_ONE + " (with its clocks and links)",
    "api:technology_agreement_detail": _API_ONE + " (with its clauses and signatures)",
    "assessments:technology_export": _DOWNLOAD + " (the register as CSV)",
    "api:plan_changes": _API_ONE + " (the differences between two versions)",
    "api:plan_meeting_detail": _API_ONE,
    "api:plan_eqia": _API_ONE,
    "api:assessment_snapshot": _API_ONE + " (what a signature binds)",
    "api:assessment_signature_detail": _API_ONE,
    "api:plan_snapshot": _API_ONE + " (what a signature binds)",
    "api:plan_signature_detail": _API_ONE,
    "api:supplier_detail": _API_ONE,
    "api:campaign_detail": _API_ONE,
    "api:campaign_coverage": _API_ONE + " (the campaign's counts)",
    "api:report_detail": _API_ONE,
    "api:report_download": _DOWNLOAD,
    "api:report_verify": _API_ONE + " (a report's public verification)",
}


def page_names() -> set[str]:
    return {page.url_name for page in PAGES}
