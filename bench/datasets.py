"""The benchmarks' data sets (the demo, seed_scale), their people and ids, and signing in over HTTP.

Used by bench/page_cpu.py and bench/pages.py. `data_ids` needs Django set up (`setup_django`)."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
DEMO_ORGANISATION = "Acme Precision Engineering"
DEMO_EMAIL = "owner@acme.example"  # owns Acme: many items on "Your work", sees every page


def app_role_url(owner_url: str, role: str) -> str:
    """The same database as `owner_url`, connecting as `role` (trust or .pgpass authentication)."""
    parts = urlsplit(owner_url)
    host = parts.hostname or ""
    netloc = f"{role}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(VENV_BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True)


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def collect_static(env: dict[str, str]) -> None:
    """`manage.py collectstatic` for the production storage (manifest, compressed), skipped when the
    collected manifest is newer than every source file: compressing every file again costs about a
    minute of CPU (three on a busy machine) for nothing. Django must be set up."""
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists():
        newest = 0.0
        for finder in get_finders():
            for path, storage in finder.list(["CVS", ".*", "*~"]):
                newest = max(newest, os.path.getmtime(storage.path(path)))
        if newest < manifest.stat().st_mtime:
            print(f"Static files unchanged since they were collected in {manifest.parent}: not collected again.")
            return
    manage(env, "collectstatic", "--noinput", "-v0")


def prepare_demo(env: dict[str, str]) -> None:
    """`--prepare`: migrate as the owner (PORTAL_DB_APP_ROLE gets its grants and row-level-security
    policies), load the demo (safe to run again), add the two objects the demo lacks for pages the
    benchmark measures, then ANALYZE (autovacuum is off on this machine type). Django must be set up."""
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "load_demo")
    setup_django(env)
    add_demo_extras()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def add_demo_extras() -> None:
    """A requested data export and a supplier import waiting for confirmation, for Acme (through the
    services, as a person would; each only if Acme has none). The export stays "requested" unless a
    worker builds it; the import is never confirmed."""
    from django.contrib.auth import get_user_model
    from django_scopes import scope, scopes_disabled

    from portal.exports import export_request
    from portal.models import Organisation, OrganisationExport
    from supplychain.models import SupplierImport
    from supplychain.services import import_preview

    with scopes_disabled():
        acme = Organisation.objects.get(name=DEMO_ORGANISATION)
        owner = get_user_model().objects.get(email=DEMO_EMAIL)
    with scope(organisation=acme):
        if not OrganisationExport.objects.filter(organisation=acme).exists():
            export_request(organisation=acme, actor=owner)
        if not SupplierImport.objects.filter(organisation=acme).exists():
            rows = "name,contact_name,contact_email\nHumber Gaskets,Hana Baker,hana@humber.example\n"
            import_preview(organisation=acme, actor=owner, data=rows.encode(), file_name="new suppliers.csv")


def _owner_of(organisation: Any) -> Any:
    from portal.roles import Role

    membership = organisation.memberships.filter(role=Role.OWNER).select_related("user").order_by("created_at").first()
    return membership.user if membership else None


def data_ids(data: str) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The ids bench/catalogue.py's pages are filled with, and the people (key -> (email, the slug of
    the organisation their API token is for)). A key is missing when the data set has no such object."""
    from django.contrib.auth import get_user_model
    from django.db.models import F
    from django_scopes import scopes_disabled

    from assessments import selectors as assessment_selectors
    from assessments.models import (
        ActionItem,
        Assessment,
        AssessmentStatus,
        ChangeRequest,
        ConsultationMeeting,
        Evidence,
        Plan,
        Response,
        Survey,
        TechnologyAgreement,
        TechnologySystem,
    )
    from assessments.workflow import section_fields
    from portal.models import Invitation, Membership, Organisation, OrganisationExport
    from portal.roles import Role
    from principles.framework import current_framework
    from principles.models import Commitment
    from reports.models import AttestationReport
    from supplychain.models import Campaign, InvitationState, Supplier, SupplierImport, SupplierInvitation

    User = get_user_model()
    ids: dict[str, Any] = {}
    people: dict[str, tuple[str, str]] = {}
    with scopes_disabled():
        if data == "demo":
            org = Organisation.objects.filter(name=DEMO_ORGANISATION).first()
            if org is None:
                sys.exit("No demo data in this database: run with --prepare (or `manage.py load_demo`).")
            main = User.objects.get(email=DEMO_EMAIL)
            owner = main
        else:
            from reports.scale import EMAIL_DOMAIN, SLUG_PREFIX

            org = Organisation.objects.filter(slug=f"{SLUG_PREFIX}00000").first()
            if org is None:
                sys.exit("No seed_scale data in this database: run `manage.py seed_scale` first (docs/benchmarks.md).")
            main = User.objects.get(email=f"manager.00000@{EMAIL_DOMAIN}")
            owner = User.objects.get(email=f"owner.00000@{EMAIL_DOMAIN}")
        ids["org"] = org.slug
        people["main"] = (main.email, org.slug)
        people["owner"] = (owner.email, org.slug)
        rep = (
            Membership.objects.filter(organisation=org, role=Role.WORKFORCE_REP)
            .select_related("user")
            .order_by("created_at")
            .first()
        )
        if rep is not None:
            people["rep"] = (rep.user.email, org.slug)
            ids["membership"] = rep.pk  # the member pages (role, remove) show the rep's membership

        assessments = Assessment.objects.filter(organisation=org)
        draft = assessments.filter(status=AssessmentStatus.DRAFT).order_by("-period_start").first()
        final = assessments.filter(status=AssessmentStatus.FINAL).order_by("-period_start").first()
        if draft is not None:
            ids["assessment"] = draft.pk
            response = (
                Response.objects.filter(assessment=draft)
                .order_by("criterion__principle__number", "criterion__position")
                .first()
            )
            if response is not None:
                ids["response"] = response.pk
            action = ActionItem.objects.filter(response__assessment=draft).order_by("due_date", "pk").first()
            if action is not None:
                ids["action"] = action.pk
        if final is not None:
            ids["final_assessment"] = final.pk
            if assessment_selectors.carries_over(final):
                ids["carry_over_assessment"] = final.pk
        ids["principle"] = 1
        evidence = Evidence.objects.filter(organisation=org).order_by("original_name", "pk").first()
        if evidence is not None:
            ids["evidence"] = evidence.pk

        plans = Plan.objects.filter(organisation=org)
        plan = plans.filter(status=AssessmentStatus.FINAL).first()  # as runs A-D: the plan page
        if plan is not None:
            ids["plan"] = plan.pk
        in_review = plans.filter(status=AssessmentStatus.IN_REVIEW).order_by("created_at").first()
        editable = plans.filter(status__in=(AssessmentStatus.DRAFT, AssessmentStatus.CHANGES_REQUESTED))
        editable_plan = editable.order_by("created_at").first()
        if in_review is not None:
            ids["review_plan"] = in_review.pk
        if editable_plan is not None:
            ids["editable_plan"] = editable_plan.pk
        section_plan = in_review or editable_plan or plan
        if section_plan is not None:
            ids["section_plan"] = section_plan.pk
            ids["plan_section"] = next(iter(section_fields(section_plan.kind)))
        amended = plans.filter(version__gt=1).order_by("-created_at").first()
        if amended is not None:
            ids["amended_plan"] = amended.pk
        meeting = (
            ConsultationMeeting.objects.filter(plan__organisation=org, plan__status__in=editable.values("status"))
            .order_by("pk")
            .first()
        ) or ConsultationMeeting.objects.filter(plan__organisation=org).order_by("pk").first()
        if meeting is not None:
            ids["meeting"], ids["meeting_plan"] = meeting.pk, meeting.plan_id
        # The item in workforce review (a plan first, else an assessment): its signature page.
        if in_review is not None:
            ids["review_kind"], ids["review_subject"] = "plan", in_review.pk
        else:
            reviewed = assessments.filter(status=AssessmentStatus.IN_REVIEW).first()
            if reviewed is not None:
                ids["review_kind"], ids["review_subject"] = "assessment", reviewed.pk
        change_request = ChangeRequest.objects.filter(organisation=org).order_by("-created_at").first()
        if change_request is not None:
            ids["change_request"] = change_request.pk
            ids["change_request_kind"] = change_request.subject_type
            ids["change_request_subject"] = change_request.subject_id

        for key, status in (("closed_survey", "closed"), ("open_survey", "open"), ("draft_survey", "draft")):
            survey = Survey.objects.filter(organisation=org, status=status).order_by("created_at").first()
            if survey is not None:
                ids[key] = survey.pk

        system = TechnologySystem.objects.filter(organisation=org).order_by("name", "pk").first()
        if system is not None:
            ids["system"] = system.pk
        draft_agreement = TechnologyAgreement.objects.filter(organisation=org, status="draft").first()
        if draft_agreement is not None:
            ids["draft_agreement"] = draft_agreement.pk
        from portal.models import WebhookEndpoint

        endpoint = WebhookEndpoint.objects.filter(organisation=org).order_by("created_at").first()
        if endpoint is not None:
            ids["webhook_endpoint"] = endpoint.pk

        campaigns = Campaign.objects.filter(organisation=org)
        # As runs A-D: the demo's newest campaign, seed_scale's first.
        campaign = campaigns.order_by("-created_at").first() if data == "demo" else campaigns.first()
        if campaign is not None:
            ids["campaign"] = campaign.pk
        supplier = Supplier.objects.filter(organisation=org).order_by("name", "pk").first()
        if supplier is not None:
            ids["supplier"] = supplier.pk
        sent = SupplierInvitation.objects.filter(inviter=org)
        open_invitation = sent.filter(state=InvitationState.PENDING).order_by("created_at", "pk").first()
        if open_invitation is not None:
            ids["open_supplier_invitation"] = open_invitation.pk
        held = sent.filter(held_at__isnull=False).order_by("pk").first()
        if held is not None:
            ids["held_invitation"] = held.pk
        upload = SupplierImport.objects.filter(organisation=org).order_by("-pk").first()
        if upload is not None:
            ids["supplier_import"] = upload.pk
        # A supplier that accepted this organisation's request and may pass it on: its owner's pages.
        accepted = (
            SupplierInvitation.objects.filter(
                campaign__organisation=org,
                state=InvitationState.ACCEPTED,
                supplier_organisation__isnull=False,
                tier__lt=F("campaign__depth"),
            )
            .select_related("supplier_organisation")
            .order_by("tier", "email", "pk")
            .first()
        )
        if accepted is not None and (person := _owner_of(accepted.supplier_organisation)) is not None:
            people["supplier"] = (person.email, accepted.supplier_organisation.slug)
            ids["supplier_org"] = accepted.supplier_organisation.slug
            ids["supplier_invitation"] = accepted.pk
            ids["supplier_campaign"] = accepted.campaign_id
        committed = Commitment.objects.filter(status="active").values("organisation_id")
        for candidate in Organisation.objects.exclude(pk__in=committed).order_by("name")[:20]:
            person = _owner_of(candidate)
            if person is not None:
                people["uncommitted"] = (person.email, candidate.slug)
                ids["uncommitted_org"] = candidate.slug
                break

        member_invitation = Invitation.objects.filter(organisation=org).order_by("-created_at").first()
        if member_invitation is not None and (member_invitation.is_open or member_invitation.status == "expired"):
            ids["member_invitation"] = member_invitation.pk
        export = OrganisationExport.objects.filter(organisation=org).order_by("-requested_at").first()
        if export is not None:
            ids["export"] = export.pk
        report = AttestationReport.objects.filter(organisation=org).order_by("-requested_at").first()
        if report is not None:
            ids["report"] = report.pk
        framework = current_framework()
        if framework is not None:
            ids["framework_code"], ids["framework_version"] = framework.code, framework.version
    return ids, people


class Http:
    """One request per connection (gunicorn's sync worker closes each), no redirects followed; keeps
    the cookies it is given (one jar per person)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers={"X-Forwarded-Proto": "https", **(headers or {})})
            response = connection.getresponse()
            content = response.read()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, {k.lower(): v for k, v in response.getheaders()}, content
        finally:
            connection.close()

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def sign_in(port: int, email: str, password: str) -> str:
    """Sign in through allauth's form, as a browser does; returns the Cookie header."""
    http_ = Http(port)
    status, _, page = http_.request("GET", "/accounts/login/")
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or match is None:
        sys.exit(f"The sign-in page answered {status} without a form token.")
    body = urlencode({"csrfmiddlewaretoken": match.group(1).decode(), "login": email, "password": password})
    status, headers, _ = http_.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": http_.cookie_header(),
            "Origin": f"https://127.0.0.1:{port}",
            "Referer": f"https://127.0.0.1:{port}/accounts/login/",
        },
    )
    if status != 302 or "/accounts/" in headers.get("location", "/accounts/"):
        sys.exit(
            f"Signing in as {email} answered {status} (to {headers.get('location')}), not a redirect into the portal."
        )
    return http_.cookie_header()


def session_in_process(email: str) -> str:
    """A session made in-process (a real session in the same store), for people without a password
    (seed_scale's); returns the Cookie header. Django must be set up."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(email=email))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def make_token(email: str, org_slug: str, name: str) -> tuple[Any, str]:
    """An API token for the person in the organisation, with their role there: (the token, its secret)."""
    from django.contrib.auth import get_user_model
    from django_scopes import scopes_disabled

    from portal.models import Membership
    from portal.tokens import token_create

    with scopes_disabled():
        user = get_user_model().objects.get(email=email)
        membership = Membership.objects.select_related("organisation").get(user=user, organisation__slug=org_slug)
        created = token_create(
            user=user, organisation=membership.organisation, name=name, role=membership.role, expires_at=None
        )
    return created.token, created.raw
