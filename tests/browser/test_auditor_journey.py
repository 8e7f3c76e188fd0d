"""The auditor journey, in a real browser, with four people at four browsers: the owner grants an
external auditor time-limited access; the auditor signs up through the invitation and joins; a
manager requests an attestation report from the final self-assessment and watches it become ready
without reloading (htmx polling); the auditor downloads the PDF and checks it on the public verify
page, as anyone would, with no sign-in; the owner sees the auditor's visits in the audit trail.
axe-core checks every page on the way (Visitor.check).

The slow parts (an assessment agreed with the workforce) are made through services, as
reports/demo.py does.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import Locator, Page, expect

from assessments import services as assessment_services
from assessments import workflow
from assessments.models import Assessment, AssessmentStatus, Response
from portal.models import Membership, Organisation, User
from portal.roles import Role
from portal.signing import SigningContext
from reports.models import AttestationReport, ReportStatus
from tests.browser import steps
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.pdftext import pdf_pages
from tests.worker import on_production_services

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Workaround (see the report): WeasyPrint 70.0 never closes the sRGB profile it opens for PDF/A
    # (weasyprint/pdf/__init__.py, generate_pdf), and the project turns warnings into errors. Only
    # that one warning is let through; it comes from a render in this process (the SQLite pass).
    pytest.mark.filterwarnings(r"ignore:Exception ignored in.*sRGB2014\.icc:pytest.PytestUnraisableExceptionWarning"),
]

# A short organisation name keeps the invitation's Subject header short (see test_manager_journey.py).
ORG = "Acme Precision"
OWNER_EMAIL = "olivia.owen@acme.example"
MANAGER_EMAIL = "mark.mensah@acme.example"
REP_EMAIL = "rachel.reid@acme.example"
AUDITOR_EMAIL = "avery.adeyemi@kestrel-assurance.example"
AUDITOR_NAME = "Avery Adeyemi"
SIGN_UP_PASSWORD = "a long and memorable passphrase"
RESERVATIONS = "Retraining for night-shift staff must be scheduled in paid hours."
RENDER_TIMEOUT = 60_000


@dataclass
class Acme:
    organisation: Organisation
    owner: User
    manager: User
    rep: User
    assessment: Assessment


def _final_assessment(organisation: Organisation, framework: Any, manager: User, rep: User, owner: User) -> Assessment:
    """Every criterion answered, submitted, countersigned with reservations, signed: final."""
    year = timezone.localdate().year - 1
    assessment = assessment_services.assessment_create(
        organisation=organisation,
        actor=manager,
        framework=framework,
        title=f"Self-assessment {year}",
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
    )
    with scope(organisation=organisation):
        responses = list(Response.objects.filter(assessment=assessment).select_related("criterion", "assessment"))
    for response in responses:
        assessment_services.response_save(
            response=response,
            actor=manager,
            maturity=2 if response.criterion.code.endswith(("1", "2")) else 1,
            narrative=f"{response.criterion.title}: in place for the main projects; records kept by the works office.",
            evidence_ids=[],
        )
    assessment_services.assessment_submit(assessment=assessment, actor=manager)
    context = SigningContext(user_agent="test set-up")
    workflow.subject_sign(
        subject=assessment,
        signer=rep,
        decision="sign_with_reservations",
        typed_name="Rachel Reid",
        job_title="Unite workplace representative",
        reservations=RESERVATIONS,
        expected_hash=workflow.subject_hash(assessment),
        context=context,
    )
    workflow.subject_sign(
        subject=assessment,
        signer=owner,
        decision="sign",
        typed_name="Olivia Owen",
        job_title="Managing Director",
        expected_hash=workflow.subject_hash(assessment),
        context=context,
    )
    with scope(organisation=organisation):
        final = Assessment.objects.get(pk=assessment.pk)
    assert final.status == AssessmentStatus.FINAL
    return final


@pytest.fixture
def acme(framework) -> Acme:
    organisation = OrganisationFactory(name=ORG)
    owner = UserFactory(email=OWNER_EMAIL, full_name="Olivia Owen")
    manager = UserFactory(email=MANAGER_EMAIL, full_name="Mark Mensah")
    rep = UserFactory(email=REP_EMAIL, full_name="Rachel Reid")
    add_member(organisation, owner, Role.OWNER)
    add_member(organisation, manager, Role.MANAGER)
    add_member(organisation, rep, Role.WORKFORCE_REP)
    return Acme(organisation, owner, manager, rep, _final_assessment(organisation, framework, manager, rep, owner))


class HeldRenders:
    """Report renders requested from the web, held until the test lets the worker have them.

    Without this, the SQLite pass (tasks run in-process, after commit) renders the PDF inside the
    request, so the detail page would never be seen waiting. Holding the task in both passes makes
    "waiting, then ready without a reload" deterministic. Released on the PostgreSQL + Redis pass,
    it goes through Redis to the real Celery worker.
    """

    def __init__(self, task: Any) -> None:
        self.task = task
        self.held: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> None:
        self.held.append(kwargs)

    def release(self) -> None:
        """Hand the held task over: to the worker through Redis, or (SQLite pass) run it right here."""
        assert len(self.held) == 1, self.held
        self.task.apply_async(kwargs=self.held.pop())


@pytest.fixture
def held_renders(monkeypatch) -> HeldRenders:
    import reports.tasks

    held = HeldRenders(reports.tasks.render_report_task)
    monkeypatch.setattr(reports.tasks, "render_report_task", held)  # report_request imports it at call time
    return held


@pytest.fixture
def storage_shared_with_worker(settings, acme) -> Iterator[None]:
    """On the PostgreSQL + Redis pass, the web reads the PDFs the worker writes.

    Workaround (see the report): tests/conftest.py gives each test its own storage folder, but the
    session-wide worker (tests/worker.py) writes to the project's default one, VAR_DIR/private. So
    the live server is pointed there too, and this organisation's reports folder is removed after.
    """
    if not on_production_services():
        yield
        return
    location = Path(settings.VAR_DIR) / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}},
    }
    yield
    shutil.rmtree(location / "reports" / str(acme.organisation.pk), ignore_errors=True)


# --- Helpers -------------------------------------------------------------------------------------


_sign_in = steps.sign_in
_code = steps.verification_code
_sign_up = partial(steps.sign_up, password=SIGN_UP_PASSWORD)
_follow = steps.follow
_nav = steps.nav
_submit_refused = steps.submit_refused
_path = steps.path
_main = steps.main


def _summary_value(page: Page, key: str) -> Locator:
    return page.locator(".summary-list__row", has=page.locator("dt", has_text=key)).locator("dd")


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- The journey ---------------------------------------------------------------------------------


def _owner_invites_the_auditor(visitor, until: date) -> None:
    page = visitor.page
    _nav(visitor, "Members")
    _follow(visitor, "Invite someone", within=_main(page))
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite someone")
    page.get_by_label("Email address").fill(AUDITOR_EMAIL)
    page.get_by_label("Auditor", exact=True).check()

    # An auditor's access must end on a date: without one, the form says so and keeps the rest.
    visitor.submit("Send invitation")
    assert page.title().startswith("Error:"), page.title()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name="Enter the date the auditor's access ends")).to_be_visible()
    expect(page.locator("#id_access_until_error")).to_contain_text("Enter the date the auditor's access ends")
    expect(page.get_by_label("Email address")).to_have_value(AUDITOR_EMAIL)
    expect(page.get_by_label("Auditor", exact=True)).to_be_checked()

    page.get_by_label("Auditor access until").fill(until.isoformat())
    visitor.submit("Send invitation")
    assert _path(page).endswith("/members/"), page.url
    expect(_main(page)).to_contain_text(f"Invitation sent to {AUDITOR_EMAIL} as Auditor.")
    invitations = page.get_by_role("region", name="Invitations")
    expect(invitations).to_contain_text(AUDITOR_EMAIL)
    expect(invitations).to_contain_text("Auditor")


def _auditor_joins(visitor, mailbox, dashboard_path: str) -> None:
    email = mailbox.wait_for(AUDITOR_EMAIL, containing="invited you")
    assert " ".join(email.subject.split()) == f"Olivia Owen invited you to join {ORG} on the Made Smarter Portal"
    assert f"Olivia Owen has invited you to join {ORG} on the Made Smarter Principles Portal as Auditor." in email.text
    link = re.search(r"https?://\S+?(/invitations/[^/\s]+/)", email.text)
    assert link, email.text
    invitation_path = link.group(1)

    page = visitor.page
    visitor.goto(invitation_path)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Join {ORG}")
    expect(_summary_value(page, "Your role")).to_contain_text("Auditor")
    expect(_summary_value(page, "Sent to")).to_have_text(AUDITOR_EMAIL)
    _follow(visitor, "Create an account", within=page.locator("#main-content"))
    _sign_up(visitor, email=AUDITOR_EMAIL, name=AUDITOR_NAME, mailbox=mailbox)
    assert _path(page) == invitation_path, page.url

    visitor.submit(f"Accept and join {ORG}")
    assert _path(page) == dashboard_path, page.url
    expect(_main(page)).to_contain_text(f"You have joined {ORG} as Auditor.")
    expect(page.locator(".header__org .tag")).to_have_text("Auditor")
    role = page.locator(".stat", has_text="your role here")
    expect(role.locator(".stat__value")).to_have_text("Auditor")
    # Auditors read; they do not see the pages for editing evidence or suppliers.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Reports")).to_be_visible()
    expect(nav.get_by_role("link", name="Evidence")).to_have_count(0)
    expect(nav.get_by_role("link", name="Supply chain")).to_have_count(0)


def _manager_requests_a_report(visitor, acme: Acme, held: HeldRenders) -> str:
    page = visitor.page
    _nav(visitor, "Reports")
    expect(_main(page)).to_contain_text("No reports yet.")
    _follow(visitor, "Request a report", within=_main(page))
    expect(page.get_by_role("heading", level=1)).to_have_text("Request an attestation report")
    page.get_by_label(acme.assessment.title).check()
    visitor.submit("Request the report")

    report_path = _path(page)
    match = re.fullmatch(rf"/o/{acme.organisation.slug}/reports/([0-9a-f-]{{36}})/", report_path)
    assert match, report_path
    report_id = match.group(1)
    expect(page.locator(".caption-l")).to_have_text(acme.assessment.title)
    expect(_main(page)).to_contain_text("Your report has been requested.")
    status = page.locator("#report-status")
    expect(status.locator(".tag").first).to_have_text("Waiting to be made")
    expect(status).to_contain_text("The report is being made. This page updates itself")
    expect(status).to_have_attribute("hx-trigger", "every 2s")
    expect(status.get_by_role("link", name="Download the PDF")).to_have_count(0)
    expect(_summary_value(page, "Report id")).to_have_text(report_id)

    # The worker gets the task; the page must not be reloaded to show the result.
    page.evaluate("window.__notReloaded = true")
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.headers.get("hx-request") else None)
    # On the SQLite pass the task runs here, in the test thread, and the live server shares this
    # thread's database connection: it must not serve a poll meanwhile. Polls go through a route,
    # whose handler runs only when the test calls into Playwright again, so they wait until the
    # render is done. The task is released just after a poll has finished, with none in flight.
    detail = re.compile(rf"/reports/{report_id}/$")
    page.route(detail, lambda route: route.continue_())
    with page.expect_event("requestfinished", lambda r: bool(r.headers.get("hx-request")), timeout=10_000):
        pass
    held.release()
    expect(status.locator(".tag").first).to_have_text("Ready", timeout=RENDER_TIMEOUT)
    expect(status.get_by_role("link", name="Download the PDF")).to_be_visible(timeout=RENDER_TIMEOUT)
    page.unroute(detail)
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    assert len(polls) >= 2 and all(url.endswith(report_path) for url in polls), polls
    # Once ready, it stops asking, and the summary in the swapped part is up to date without a reload.
    expect(page.locator("#report-status[hx-get]")).to_have_count(0)
    expect(status).to_contain_text("Fingerprint (SHA-256)")
    expect(status).not_to_contain_text("Not issued yet")
    expect(status.locator(".spinner")).to_have_count(0)
    expect(status.get_by_role("link", name="Open its public verify page")).to_have_attribute(
        "href", f"/verify/{report_id}/"
    )
    visitor.check()

    with scopes_disabled():
        report = AttestationReport.objects.get(pk=report_id)
    assert report.status == ReportStatus.READY, (report.status, report.error)
    assert report.requested_by == acme.manager
    return report_id


def _auditor_downloads_the_report(visitor, report_id: str, tmp_path: Path) -> Path:
    page = visitor.page
    _nav(visitor, "Reports")
    # An auditor reads reports; only owners and managers request them.
    expect(_main(page).get_by_role("link", name="Request a report")).to_have_count(0)
    row = page.get_by_role("region", name="Reports").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".tag")).to_have_text("Valid")  # its status as the verify page gives it
    _follow(visitor, re.compile(r"^Self-assessment .* — issued \d{1,2} \w+ \d{4}$"), within=row)
    assert _path(page).endswith(f"/reports/{report_id}/"), page.url
    expect(page.locator("#report-status .tag").first).to_have_text("Ready")
    expect(page.get_by_role("link", name="Revoke this report")).to_have_count(0)
    fingerprint = _summary_value(page, "Fingerprint (SHA-256)").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint), fingerprint
    expect(_summary_value(page, "Status today")).to_contain_text("Valid")

    link = page.get_by_role("link", name="Download the PDF")
    expect(link).to_have_attribute("download", "")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.failure() is None, download.failure()
    assert re.fullmatch(rf"attestation-[a-z0-9-]+-{report_id[:8]}\.pdf", download.suggested_filename)
    pdf_path = tmp_path / download.suggested_filename
    download.save_as(pdf_path)
    visitor.check()  # still on the report page, and nothing went wrong on it

    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF-"), data[:20]
    assert hashlib.sha256(data).hexdigest() == fingerprint

    pages = pdf_pages(data)
    assert len(pages) >= 2
    cover = _compact(pages[0])
    assert report_id in cover, cover[:2000]
    assert _compact(ORG) in cover
    return pdf_path


def _anyone_verifies_the_file(visitor, report_id: str, pdf_path: Path, tmp_path: Path) -> None:
    page = visitor.page
    visitor.goto(f"/verify/{report_id}/")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)  # nobody is signed in
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify an attestation report")
    expect(_summary_value(page, "Status").locator(".tag")).to_have_text("Valid")
    expect(_summary_value(page, "Issued by")).to_contain_text(ORG)
    expect(_summary_value(page, "Report id")).to_have_text(report_id)
    expect(_summary_value(page, "Fingerprint (SHA-256)")).to_have_text(
        hashlib.sha256(pdf_path.read_bytes()).hexdigest()
    )

    # Checking with no file chosen says what to do.
    _submit_refused(visitor, "Check the file")
    expect(page.locator(".error-summary")).to_contain_text("Choose the PDF file to check")
    expect(page.locator("#file-error")).to_contain_text("Choose the PDF file to check")

    file_input = page.get_by_label("The PDF file you received")
    file_input.set_input_files(pdf_path)
    visitor.submit("Check the file")
    expect(page.get_by_role("alert")).to_contain_text("The file matches")
    expect(page.get_by_role("alert")).to_contain_text("exactly the report that was issued, byte for byte")

    # The same file with one byte changed is not the report.
    data = bytearray(pdf_path.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    page.get_by_label("The PDF file you received").set_input_files(tampered)
    visitor.submit("Check the file")
    expect(page.get_by_role("alert")).to_contain_text("The file does not match")
    expect(page.locator("main")).not_to_contain_text("The file matches")
    expect(_summary_value(page, "Status").locator(".tag")).to_have_text("Valid")


def _owner_sees_the_auditor_in_the_audit_trail(visitor, until: date) -> None:
    page = visitor.page
    _nav(visitor, "Members")
    members = page.get_by_role("region", name="Members")
    auditor_row = members.locator("tbody tr", has_text=AUDITOR_EMAIL)
    expect(auditor_row).to_contain_text(AUDITOR_NAME)
    expect(auditor_row.locator(".tag")).to_have_text("Auditor")
    expect(auditor_row).to_contain_text(f"Access until {until.day} {until:%B %Y}")

    _nav(visitor, "Audit trail")
    events = page.get_by_role("region", name="Audit events")
    viewed = events.locator("tbody tr", has_text=re.compile(r"viewed “[^”]+” with auditor access"))
    downloaded = events.locator("tbody tr", has_text=re.compile(r"downloaded .+ with auditor access"))
    expect(downloaded).to_have_count(1)
    expect(downloaded).to_contain_text(AUDITOR_NAME)
    expect(downloaded).to_contain_text("attestation report")
    assert viewed.count() >= 3, viewed.all_inner_texts()  # the dashboard, the reports list, the report
    expect(viewed.filter(has_text="viewed “reports”").first).to_contain_text(AUDITOR_NAME)

    # Filtered to downloads only.
    page.get_by_label("Action").select_option(label="Downloaded a file with auditor access")
    visitor.submit("Filter")
    events = page.get_by_role("region", name="Audit events")
    expect(events.locator("caption")).to_have_text("1 event")
    expect(events.locator("tbody tr")).to_contain_text(AUDITOR_NAME)

    # None of it can have been changed since.
    visitor.submit("Check the chain")
    expect(page.get_by_role("alert")).to_contain_text("Chain intact")


def test_owner_grants_an_auditor_who_downloads_and_verifies_a_report(
    visitor_factory, acme, mailbox, held_renders, storage_shared_with_worker, tmp_path
) -> None:
    until = timezone.localdate() + timedelta(days=30)
    dashboard_path = f"/o/{acme.organisation.slug}/"

    # 1. The owner grants access to an external auditor, for 30 days.
    owner = visitor_factory()
    _sign_in(owner, OWNER_EMAIL)
    assert _path(owner.page) == dashboard_path, owner.page.url
    _owner_invites_the_auditor(owner, until)

    # 2. The auditor signs up through the invitation and joins as Auditor.
    auditor = visitor_factory()
    _auditor_joins(auditor, mailbox, dashboard_path)
    with scopes_disabled():
        membership = Membership.objects.get(organisation=acme.organisation, user__email=AUDITOR_EMAIL)
    assert membership.role == Role.AUDITOR
    assert timezone.localtime(membership.expires_at).date() == until

    # 3. The manager requests a report and watches it become ready.
    manager = visitor_factory()
    _sign_in(manager, MANAGER_EMAIL)
    report_id = _manager_requests_a_report(manager, acme, held_renders)

    # 4. The auditor downloads it, and anyone can check the file on the public page.
    pdf_path = _auditor_downloads_the_report(auditor, report_id, tmp_path)
    _anyone_verifies_the_file(visitor_factory(), report_id, pdf_path, tmp_path)

    # 5. The owner sees what the auditor looked at and downloaded.
    _owner_sees_the_auditor_in_the_audit_trail(owner, until)

    # Every page of the journey was checked by axe-core, none with a console error.
    assert len(owner.checked) >= 9, owner.checked
    assert len(auditor.checked) >= 8, auditor.checked
    assert len(manager.checked) >= 5, manager.checked
