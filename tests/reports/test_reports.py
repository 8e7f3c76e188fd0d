"""Attestation reports (DESIGN.md section 8): the rendered PDF and what it says, who may request,
download and revoke, the public verify page and its statuses, the renderer's URL-fetcher lock,
failures and retries, auditors' access and its audit trail, and a real worker on the PostgreSQL pass."""

from __future__ import annotations

import hashlib
import io
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from pypdf import PdfReader

from assessments import services as assessment_services
from assessments.models import AssessmentStatus
from portal import services as portal_services
from portal.models import AuditEvent, Invitation, Membership
from portal.roles import Role
from portal.templatetags.portal_tags import when
from reports import rendering, services
from reports.models import AttestationReport, ReportStatus
from reports.tasks import render_report_task, sweep_reports
from tests.conftest import ON_REDIS, client_for
from tests.factories import UserFactory
from tests.pdftext import pdf_pages
from tests.querycount import assert_queries
from tests.reports.conftest import (
    CITED_CODE,
    EVIDENCE_PDF,
    EVIDENCE_SHA256,
    RESERVATIONS,
    ready_report,
    report_bytes,
    request_and_render,
    responses_by_code,
    upload_evidence,
)
from tests.sample_files import pdf

pytestmark = [
    pytest.mark.django_db,
    # WeasyPrint 70 opens its bundled sRGB ICC profile for PDF/A output and never closes it.
    pytest.mark.filterwarnings(r"ignore:unclosed file <_io.BufferedReader name=.*sRGB2014\.icc.>:ResourceWarning"),
]


# --- helpers ---------------------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    return "".join(pdf_pages(pdf))


def squash(text: str) -> str:
    """Text without whitespace: long hashes and ids wrap across lines in the PDF."""
    return re.sub(r"\s+", "", text)


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def url(tenant, suffix: str = "") -> str:
    return f"/o/{tenant.organisation.slug}/reports/{suffix}"


def detail_url(tenant, report) -> str:
    return url(tenant, f"{report.pk}/")


def download_url(tenant, report) -> str:
    return url(tenant, f"{report.pk}/download/")


def verify_url(report) -> str:
    return f"/verify/{report.pk}/"


def html_of(response) -> str:
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


def events(tenant, verb: str) -> list[AuditEvent]:
    with scope(organisation=tenant.organisation):
        return list(AuditEvent.objects.filter(verb=verb).order_by("sequence"))


def get_file(client, path: str, **extra) -> tuple[object, bytes]:
    """GET a download and read it to the end: the test client then closes the FileResponse and its file
    (calling close() again would also close the test's database connection through request_finished)."""
    response = client.get(path, **extra)
    body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else b""
    return response, body


def refreshed(report) -> AttestationReport:
    with scopes_disabled():
        return AttestationReport.objects.select_related("organisation", "assessment").get(pk=report.pk)


# --- the rendered PDF ------------------------------------------------------------------------


def test_report_pdf_states_principles_reservations_evidence_coverage_and_its_id(
    tenant, commitment, report, framework, supply_chain
) -> None:
    pdf = report_bytes(report)
    text = pdf_text(pdf)
    flat, dense = words(text), squash(text)
    # Stored as rendered: the hash, size and page count describe this very file.
    assert report.sha256 == hashlib.sha256(pdf).hexdigest() and report.size == len(pdf)
    assert report.page_count == len(PdfReader(io.BytesIO(pdf)).pages) > 1
    assert report.rendered_at and report.attempts == 1 and report.error == ""
    # The report id and the verification address.
    assert squash(str(report.pk)) in dense
    assert squash(f"/verify/{report.pk}/") in dense
    assert "Acme Precision Engineering" in flat and "Self-assessment 2026" in flat
    # Principles with their average maturity: 1.1 at 3 and the rest at 2 across six criteria.
    with scope(organisation=tenant.organisation):
        principles = list(framework.principles.order_by("number"))
    assert len(principles) == 6
    for principle in principles:
        average = "2.2" if principle.number == 1 else "2.0"
        assert f"{principle.number}. {principle.title} {average} 6 of 6" in flat, principle.title
    # The signed commitment.
    assert "Signed by Olivia Owen, Managing Director" in flat
    assert "The commitment extends to the organisation’s supply chain." in flat
    assert commitment.signature.content_hash in dense
    # The workforce's reservation, word for word, and both signatories.
    assert RESERVATIONS in flat
    assert "For the workforce: Rachel Reid" in flat and "For management: Olivia Owen" in flat
    # The evidence manifest: the cited file and its SHA-256.
    assert "Training records 2026.pdf" in flat and EVIDENCE_SHA256 in dense
    assert f"Criterion {CITED_CODE}: practice in place across the works." in flat
    # Supply-chain coverage: 4 invited at tier 1, 1 accepted, 3 pending = 25%; tier 2 empty.
    assert "Principles 2026 – 2 tiers deep" in flat
    assert "Tier 1 4 1 0 3 0 25%" in flat and "Tier 2 0 0 0 0 0 0%" in flat
    # The audit trail was checked and found intact.
    assert re.search(r"Audit trail verified: \d+ events, chain intact\.", flat)
    # Rendering is itself recorded.
    rendered = events(tenant, "report.rendered")
    assert [e.target_id for e in rendered] == [str(report.pk)] and rendered[0].after["sha256"] == report.sha256


def signature_statuses(text: str) -> list[tuple[str, str, str]]:
    """(side, signer, status) of every signature in the report's text, in order."""
    block = r"For (management|the workforce): (.*?) Decision .*? Status (.*?) Fingerprint \(SHA-256\)"
    found = re.findall(block, words(text))
    return [(side, signer.split(",")[0].strip(), status.strip()) for side, signer, status in found]


VOID = "Void: the content changed after it was signed, so this signature no longer counts towards agreement"
VALID = "Valid: counts towards agreement"


def test_the_pdf_marks_void_every_signature_whose_content_changed_after_signing(
    tenant, final_assessment, django_capture_on_commit_callbacks
) -> None:
    from assessments.models import EqiaRow, Impact
    from assessments.models import Response as AssessmentResponse
    from tests.assessments.test_plans import new_plan, submitted
    from tests.assessments.test_plans import sign as plan_sign

    plan = submitted(new_plan(tenant), tenant)
    plan_sign(plan, tenant.rep, "sign_with_reservations", reservations="Review after six months.")
    plan_sign(plan, tenant.manager)
    assert plan.status == AssessmentStatus.FINAL
    untouched = request_and_render(tenant, final_assessment, django_capture_on_commit_callbacks)
    assert [status for _side, _name, status in signature_statuses(pdf_text(report_bytes(untouched)))] == [VALID] * 4

    # Both the assessment and the plan are changed after they were signed (straight in the database).
    with scope(organisation=tenant.organisation):
        AssessmentResponse.objects.filter(assessment=final_assessment, criterion__code="1.1").update(
            narrative="Rewritten after signing"
        )
        EqiaRow.objects.filter(eqia__plan=plan, characteristic="sex").update(impact=Impact.POSITIVE)
    report = request_and_render(tenant, final_assessment, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.READY, report.error
    statuses = signature_statuses(pdf_text(report_bytes(report)))
    # The assessment's workforce countersignature and management signature, then the plan's.
    assert statuses == [
        ("the workforce", "Rachel Reid", VOID),
        ("management", "Olivia Owen", VOID),
        ("the workforce", tenant.rep.full_name, VOID),
        ("management", tenant.manager.full_name, VOID),
    ], statuses


def test_one_changed_byte_is_rejected_on_the_verify_page(report) -> None:
    pdf = report_bytes(report)
    client = Client()  # anyone may verify, without signing in
    genuine = client.post(verify_url(report), {"file": SimpleUploadedFile("r.pdf", pdf, "application/pdf")})
    assert genuine.status_code == 200 and "The file matches" in html_of(genuine)
    middle = len(pdf) // 2
    tampered = pdf[:middle] + bytes([pdf[middle] ^ 0x01]) + pdf[middle + 1 :]
    assert len(tampered) == len(pdf) and tampered != pdf
    response = client.post(verify_url(report), {"file": SimpleUploadedFile("r.pdf", tampered, "application/pdf")})
    html = html_of(response)
    assert response.status_code == 200
    assert "The file does not match" in html and "The file matches" not in html
    missing = client.post(verify_url(report), {})
    assert missing.status_code == 400 and "Choose the PDF file to check" in html_of(missing)


# --- the renderer fetches nothing but the project's static files --------------------------


@dataclass
class RecordingFetcher(rendering.SafeURLFetcher):
    """The production fetcher's decisions, also remembering what it served.

    `_fail_on_errors` is what WeasyPrint 70 reads from a fetcher that raised :
    with it, a refused resource is skipped with a logged warning instead of aborting the render."""

    served: list[str] = field(default_factory=list)
    _fail_on_errors: bool = False

    def fetch(self, url, headers=None):
        response = super().fetch(url, headers)
        self.served.append(url)
        return response


class _CountingHandler(BaseHTTPRequestHandler):
    hits: list[str] = []  # filled by the server thread, read by the test

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def listening_server():
    """A real HTTP server on localhost: proves a refused URL is never requested."""
    _CountingHandler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


HOSTILE_HTML = (
    "<!DOCTYPE html><html lang='en'><head><title>t</title>"
    "<link rel='stylesheet' href='/static/css/report.css'></head><body><p>Fetch test</p>"
    "<img src='file:///etc/hostname' alt='a'>"
    "<img src='http://127.0.0.1:9/x.png' alt='b'>"
    "{extra}</body></html>"
)


def test_url_fetcher_serves_static_css_and_refuses_file_and_http_urls(listening_server) -> None:
    port = listening_server.server_address[1]
    extra = (
        f"<img src='http://127.0.0.1:{port}/x.png' alt='c'>"
        "<img src='/static/css/../../../../etc/hostname' alt='d'>"
        "<img src='/static//etc/hostname' alt='e'>"
        f"<link rel='stylesheet' href='http://127.0.0.1:{port}/evil.css'>"
    )
    fetcher = RecordingFetcher()
    pdf = rendering.render_pdf(HOSTILE_HTML.format(extra=extra), fetcher=fetcher)
    assert pdf.startswith(b"%PDF-")
    assert "file:///etc/hostname" in fetcher.refused
    assert "http://127.0.0.1:9/x.png" in fetcher.refused
    assert f"http://127.0.0.1:{port}/x.png" in fetcher.refused
    assert f"http://127.0.0.1:{port}/evil.css" in fetcher.refused
    assert _CountingHandler.hits == []  # nothing reached the network
    assert fetcher.served == [rendering.BASE_URL + "static/css/report.css"]
    assert not any("report.css" in refused for refused in fetcher.refused)
    text = pdf_text(pdf)
    assert "Fetch test" in text
    hostname = Path("/etc/hostname")
    if hostname.exists() and hostname.read_text().strip():
        assert hostname.read_text().strip() not in text


def test_the_production_fetcher_skips_refused_resources_and_still_renders() -> None:
    fetcher = rendering.SafeURLFetcher()
    pdf = rendering.render_pdf(HOSTILE_HTML.format(extra=""), fetcher=fetcher)
    assert pdf.startswith(b"%PDF-") and "Fetch test" in pdf_text(pdf)
    assert fetcher.refused == ["file:///etc/hostname", "http://127.0.0.1:9/x.png"]


def test_fetcher_refuses_anything_outside_static_files_directly() -> None:
    fetcher = rendering.SafeURLFetcher()
    for url in (
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.png",
        "https://portal.invalid/media/private.pdf",
        "https://portal.invalid/static/../settings.py",
        "https://portal.invalid/static/css/missing.css",
        "https://elsewhere.example/static/css/report.css",
    ):
        with pytest.raises(rendering.RefusedFetch):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 6
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    stylesheet = fetcher.fetch(rendering.BASE_URL + "static/css/report.css?v=1")
    assert stylesheet.content_type == "text/css" and b"@page" in stylesheet.read()
    stylesheet.close()
    assert len(fetcher.refused) == 6


def test_the_report_template_fetches_only_its_stylesheet_and_escapes_hostile_narrative(
    tenant, final_assessment
) -> None:
    """User text is escaped by the template: an <img> typed into a narrative is shown, not fetched."""
    from assessments.models import Response

    hostile = '<img src="file:///etc/hostname"><link rel="stylesheet" href="http://127.0.0.1:9/evil.css">'
    with scope(organisation=tenant.organisation):
        Response.objects.filter(assessment=final_assessment, criterion__code="1.2").update(narrative=hostile)
    report = ready_report(tenant, final_assessment)
    fetcher = RecordingFetcher()
    pdf, pages, seconds = rendering.render_report(refreshed(report), fetcher=fetcher)
    assert fetcher.refused == []
    assert fetcher.served == [rendering.BASE_URL + "static/css/report.css"]
    assert pages >= 1 and seconds > 0
    assert squash(hostile) in squash(pdf_text(pdf))


# --- failures, retries, the sweep ------------------------------------------------------------


def test_a_failing_render_is_recorded_as_failed_then_succeeds_when_run_again(
    tenant, final_assessment, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    real = rendering.render_report
    calls = []

    def fail_once(report, **kwargs):
        calls.append(report.pk)
        if len(calls) == 1:
            raise RuntimeError("font cache is unreadable")
        return real(report, **kwargs)

    # reports.tasks imports render_report from reports.rendering inside the task body, at call time.
    monkeypatch.setattr(rendering, "render_report", fail_once)
    client = client_for(tenant.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(tenant, "new/"), {"assessment": str(final_assessment.pk)})
    assert response.status_code == 302
    with scope(organisation=tenant.organisation):
        report = AttestationReport.objects.get()
    assert response["Location"] == detail_url(tenant, report)
    assert report.status == ReportStatus.FAILED and report.attempts == 1
    assert report.error == "RuntimeError: font cache is unreadable"
    assert not report.file and not report.sha256 and report.rendered_at is None
    page = html_of(client.get(detail_url(tenant, report)))
    assert "The report could not be made" in page and "RuntimeError: font cache is unreadable" in page
    assert "Download the PDF" not in page
    assert client.get(download_url(tenant, report)).status_code == 404
    assert "Not issued yet" in html_of(client.get(verify_url(report)))
    # Run again (as after the cause is fixed): the same report is claimed, rendered and ready.
    with scope(organisation=tenant.organisation):
        AttestationReport.objects.filter(pk=report.pk).update(status=ReportStatus.QUEUED)
    kwargs = {"organisation_id": str(tenant.organisation.pk), "report_id": str(report.pk)}
    assert render_report_task.apply(kwargs=kwargs).get() == "ready"
    report = refreshed(report)
    assert report.status == ReportStatus.READY and report.error == "" and report.attempts == 2
    assert report.sha256 == hashlib.sha256(report_bytes(report)).hexdigest()
    page = html_of(client.get(detail_url(tenant, report)))
    assert "could not be made" not in page and "Download the PDF" in page
    assert len(calls) == 2


def test_requesting_again_after_a_failure_makes_a_new_report(
    tenant, final_assessment, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    def broken(report, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(rendering, "render_report", broken)
    failed = request_and_render(tenant, final_assessment, django_capture_on_commit_callbacks)
    assert failed.status == ReportStatus.FAILED and failed.error == "OSError: disk full"
    monkeypatch.setattr(rendering, "render_report", lambda report, **kw: (b"%PDF-1.7\n%%EOF\n", 1, 0.01))
    again = request_and_render(tenant, final_assessment, django_capture_on_commit_callbacks, actor=tenant.manager)
    assert again.pk != failed.pk and again.status == ReportStatus.READY
    assert refreshed(failed).status == ReportStatus.FAILED  # never changed


def test_the_task_is_idempotent_and_the_sweep_recovers_lost_and_stuck_renders(
    tenant, final_assessment, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monkeypatch.setattr(rendering, "render_report", lambda report, **kw: (b"%PDF-1.7\n% swept\n%%EOF\n", 1, 0.01))
    ready = ready_report(tenant, final_assessment)
    kwargs = {"organisation_id": str(tenant.organisation.pk), "report_id": str(ready.pk)}
    assert render_report_task.apply(kwargs=kwargs).get() == "not-claimed"
    long_ago = timezone.now() - timedelta(minutes=20)
    with scope(organisation=tenant.organisation):
        stuck = AttestationReport.objects.create(
            organisation=tenant.organisation,
            assessment=final_assessment,
            status=ReportStatus.RENDERING,
            claimed_at=long_ago,
            queued_at=long_ago,
        )
        lost = AttestationReport.objects.create(
            organisation=tenant.organisation, assessment=final_assessment, queued_at=long_ago
        )
        fresh = AttestationReport.objects.create(organisation=tenant.organisation, assessment=final_assessment)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_reports.apply().get() == 2
    assert refreshed(stuck).status == ReportStatus.READY
    assert refreshed(lost).status == ReportStatus.READY
    assert refreshed(fresh).status == ReportStatus.QUEUED  # its own task may still be on the way


# --- who may request ------------------------------------------------------------------------


def test_report_request_is_refused_for_an_assessment_that_is_not_final(tenant, draft_assessment, evidence) -> None:
    with pytest.raises(ValidationError, match="final self-assessment"):
        services.report_request(organisation=tenant.organisation, actor=tenant.owner, assessment=draft_assessment)
    for code, response in responses_by_code(draft_assessment).items():
        assessment_services.response_save(
            response=response, actor=tenant.manager, maturity=1, narrative=code, evidence_ids=[]
        )
    assessment_services.assessment_submit(assessment=draft_assessment, actor=tenant.manager)
    draft_assessment.refresh_from_db()
    assert draft_assessment.status == AssessmentStatus.IN_REVIEW
    with pytest.raises(ValidationError, match="final self-assessment"):
        services.report_request(organisation=tenant.organisation, actor=tenant.owner, assessment=draft_assessment)
    with scope(organisation=tenant.organisation):
        assert not AttestationReport.objects.exists()


@pytest.mark.parametrize("role", [Role.WORKFORCE_REP, Role.AUDITOR, Role.MEMBER])
def test_report_request_is_refused_for_roles_other_than_owner_and_manager(tenant, final_assessment, role) -> None:
    with pytest.raises(ValidationError, match="Only owners and managers"):
        services.report_request(organisation=tenant.organisation, actor=tenant.user(role), assessment=final_assessment)
    client = client_for(tenant.user(role))
    assert client.get(url(tenant, "new/")).status_code == 403
    assert client.post(url(tenant, "new/"), {"assessment": str(final_assessment.pk)}).status_code == 403
    with scope(organisation=tenant.organisation):
        assert not AttestationReport.objects.exists()


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_owners_and_managers_request_through_the_page(tenant, final_assessment, role) -> None:
    client = client_for(tenant.user(role))
    page = client.get(url(tenant, "new/"))
    assert page.status_code == 200 and "Self-assessment 2026" in html_of(page)
    response = client.post(url(tenant, "new/"), {"assessment": str(final_assessment.pk)})
    with scope(organisation=tenant.organisation):
        report = AttestationReport.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(tenant, report)
    assert report.status == ReportStatus.QUEUED and report.requested_by == tenant.user(role)
    assert [e.target_id for e in events(tenant, "report.requested")] == [str(report.pk)]


def test_an_outsider_cannot_request_a_report_on_someone_elses_assessment(tenant, final_assessment, outsider) -> None:
    with scopes_disabled():
        other = Membership.objects.get(user=outsider).organisation
    with pytest.raises(ValidationError):
        services.report_request(organisation=other, actor=outsider, assessment=final_assessment)
    with pytest.raises(ValidationError):  # an owner of this organisation, naming it for the other one
        services.report_request(organisation=other, actor=tenant.owner, assessment=final_assessment)
    with scopes_disabled():
        assert not AttestationReport.objects.exists()


def test_posting_a_draft_assessment_id_is_refused_not_swapped_for_the_final_one(
    tenant, final_assessment, framework
) -> None:
    from datetime import date

    draft = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2027",
        period_start=date(2027, 1, 1),
        period_end=date(2027, 12, 31),
    )
    response = client_for(tenant.owner).post(url(tenant, "new/"), {"assessment": str(draft.pk)})
    with scope(organisation=tenant.organisation):
        made = list(AttestationReport.objects.values_list("assessment_id", flat=True))
    assert response.status_code == 400 and made == []


# --- downloads -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR])
def test_owner_manager_rep_and_auditor_download_the_pdf_as_an_attachment(tenant, final_assessment, role) -> None:
    report = ready_report(tenant, final_assessment)
    response, body = get_file(client_for(tenant.user(role)), download_url(tenant, report))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    expected_name = f"attestation-{tenant.organisation.slug}-{str(report.pk)[:8]}.pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{expected_name}"'
    assert response["X-Content-Type-Options"] == "nosniff" and "no-store" in response["Cache-Control"]
    assert hashlib.sha256(body).hexdigest() == report.sha256
    downloaded = events(tenant, "auditor.downloaded")
    if role == Role.AUDITOR:
        assert [(e.actor_id, e.target_id) for e in downloaded] == [(tenant.auditor.pk, str(report.pk))]
    else:
        assert downloaded == []


def test_members_get_403_and_outsiders_404_and_anonymous_visitors_are_sent_to_sign_in(
    tenant, final_assessment, outsider
) -> None:
    report = ready_report(tenant, final_assessment)
    member = client_for(tenant.member)
    for page in (url(tenant), detail_url(tenant, report), download_url(tenant, report)):
        assert member.get(page).status_code == 403, page
        assert client_for(outsider).get(page).status_code == 404, page
        anonymous = Client().get(page)
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"], page


def test_a_report_that_is_not_ready_cannot_be_downloaded(tenant, final_assessment) -> None:
    with scope(organisation=tenant.organisation):
        queued = AttestationReport.objects.create(organisation=tenant.organisation, assessment=final_assessment)
    client = client_for(tenant.owner)
    assert client.get(download_url(tenant, queued)).status_code == 404
    page = client.get(detail_url(tenant, queued), HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and 'hx-trigger="every 2s"' in html_of(page)
    assert "HX-Trigger" not in page


def test_the_status_fragment_announces_when_a_report_is_finished(tenant, final_assessment) -> None:
    report = ready_report(tenant, final_assessment)
    page = client_for(tenant.owner).get(detail_url(tenant, report), HTTP_HX_REQUEST="true")
    html = html_of(page)
    assert page["HX-Trigger"] == "report-finished"
    assert "<html" not in html and "Download the PDF" in html and "every 2s" not in html


# --- revoking --------------------------------------------------------------------------------


def test_revoking_needs_a_reason_and_the_verify_page_shows_it(tenant, final_assessment) -> None:
    report = ready_report(tenant, final_assessment)
    client = client_for(tenant.owner)
    revoke = url(tenant, f"{report.pk}/revoke/")
    assert client.get(revoke).status_code == 200
    empty = client.post(revoke, {"reason": "   "})
    assert empty.status_code == 400 and "Say why the report is being revoked" in html_of(empty)
    assert refreshed(report).revoked_at is None
    reason = "Evidence for 1.1 was found to be from another site"
    response = client.post(revoke, {"reason": f"  {reason} "})
    assert response.status_code == 302 and response["Location"] == detail_url(tenant, report)
    report = refreshed(report)
    assert report.revoked_at and report.revoked_by == tenant.owner and report.revoked_reason == reason
    [event] = events(tenant, "report.revoked")
    assert event.actor == tenant.owner and event.after == {"reason": reason}
    verify = html_of(Client().get(verify_url(report)))
    assert "Revoked" in verify and reason in verify
    detail = html_of(client.get(detail_url(tenant, report)))
    assert reason in detail and "Revoke this report" not in detail
    assert "Revoked" in html_of(client.get(url(tenant)))
    again = client.post(revoke, {"reason": "Twice"})
    assert again.status_code == 400 and "already been revoked" in html_of(again)
    assert refreshed(report).revoked_reason == reason


@pytest.mark.parametrize("role", [Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR, Role.MEMBER])
def test_only_owners_revoke(tenant, final_assessment, role) -> None:
    report = ready_report(tenant, final_assessment)
    client = client_for(tenant.user(role))
    revoke = url(tenant, f"{report.pk}/revoke/")
    assert client.get(revoke).status_code == 403
    assert client.post(revoke, {"reason": "Because"}).status_code == 403
    with pytest.raises(ValidationError, match="Only an owner revokes"):
        services.report_revoke(report=report, actor=tenant.user(role), reason="Because")
    assert refreshed(report).revoked_at is None
    if role != Role.MEMBER:
        assert "Revoke this report" not in html_of(client.get(detail_url(tenant, report)))


# --- the public verify page ------------------------------------------------------------------


def test_verify_page_shows_issuer_date_hash_and_valid(tenant, final_assessment) -> None:
    report = ready_report(tenant, final_assessment)
    response = Client().get(verify_url(report))
    html = html_of(response)
    assert response.status_code == 200
    assert "Valid" in html and "Acme Precision Engineering" in html
    assert report.sha256 in html and str(report.pk) in html
    assert timezone.localtime(report.rendered_at).strftime("%-d %B %Y") in html
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_a_newer_report_for_the_same_assessment_supersedes_the_older(tenant, final_assessment, framework) -> None:
    older = ready_report(tenant, final_assessment, rendered_at=timezone.now() - timedelta(days=3))
    newer = ready_report(tenant, final_assessment)
    anonymous = Client()
    html = html_of(anonymous.get(verify_url(older)))
    assert "Superseded" in html
    # Named and linked: the reader goes straight to the report that stands now.
    link = f'<a class="mono" href="{verify_url(newer)}">{newer.pk}</a>'
    assert f"by a newer report issued on {when(newer.rendered_at)}: {link}" in html
    assert "Valid" in html_of(anonymous.get(verify_url(newer)))
    assert services.report_verification(older.pk).superseded_by.pk == newer.pk
    # A queued report does not supersede anything yet.
    with scope(organisation=tenant.organisation):
        AttestationReport.objects.create(organisation=tenant.organisation, assessment=final_assessment)
    assert services.report_verification(newer.pk).status == "valid"


def test_the_reports_list_names_each_report_and_gives_its_status_as_the_verify_page_does(
    tenant, final_assessment
) -> None:
    older = ready_report(tenant, final_assessment, rendered_at=timezone.now() - timedelta(days=3))
    newer = ready_report(tenant, final_assessment)
    withdrawn = ready_report(tenant, final_assessment, rendered_at=timezone.now() - timedelta(days=5))
    services.report_revoke(report=withdrawn, actor=tenant.owner, reason="Wrong period")
    with scope(organisation=tenant.organisation):
        AttestationReport.objects.create(organisation=tenant.organisation, assessment=final_assessment)
    client = client_for(tenant.owner)
    html = html_of(client.get(url(tenant)))
    title = final_assessment.title
    for report, status in ((newer, "Valid"), (older, "Superseded"), (withdrawn, "Revoked")):
        issued = timezone.localtime(report.rendered_at).strftime("%-d %B %Y")
        row = re.search(rf'href="{detail_url(tenant, report)}">([^<]*)</a>.*?</tr>', html, re.S)
        assert row is not None and row.group(1) == f"{title} — issued {issued}"
        assert f">{status}<" in row.group(0)
        assert services.report_verification(report.pk).status == status.lower()  # the verify page's word
    assert "Waiting to be made" in html  # not issued yet: its making status
    assert not re.search(r">[0-9a-f]{8}</a>", html)  # no 8-character ids
    with time_machine.travel(newer.rendered_at + timedelta(days=366), tick=False):
        assert ">Expired<" in html_of(client_for(tenant.owner).get(url(tenant)))
    detail = html_of(client.get(detail_url(tenant, older)))
    assert f"<title>Attestation report: {title} — issued" in detail


def test_a_report_expires_twelve_months_after_it_was_issued(tenant, final_assessment) -> None:
    report = ready_report(tenant, final_assessment)
    anonymous = Client()
    with time_machine.travel(report.rendered_at + timedelta(days=364), tick=False):
        assert services.report_verification(report.pk).status == "valid"
        assert "Valid" in html_of(anonymous.get(verify_url(report)))
    with time_machine.travel(report.rendered_at + timedelta(days=365, minutes=1), tick=False):
        assert services.report_verification(report.pk).status == "expired"
        html = html_of(anonymous.get(verify_url(report)))
    assert "Expired" in html and f"on {when(report.expires_at)}, 12 months after it was issued" in html


def test_revoked_wins_over_superseded_and_expired(tenant, final_assessment) -> None:
    older = ready_report(tenant, final_assessment, rendered_at=timezone.now() - timedelta(days=3))
    ready_report(tenant, final_assessment)
    services.report_revoke(report=older, actor=tenant.owner, reason="Withdrawn by the board")
    assert services.report_verification(older.pk).status == "revoked"
    with time_machine.travel(timezone.now() + timedelta(days=400), tick=False):
        assert services.report_verification(older.pk).status == "revoked"


def test_verify_page_for_unknown_or_unfinished_reports(tenant, final_assessment) -> None:
    import uuid

    anonymous = Client()
    assert anonymous.get(f"/verify/{uuid.uuid4()}/").status_code == 404
    with scope(organisation=tenant.organisation):
        queued = AttestationReport.objects.create(organisation=tenant.organisation, assessment=final_assessment)
    page = anonymous.get(verify_url(queued))
    assert page.status_code == 200 and "Not issued yet" in html_of(page)
    posted = anonymous.post(verify_url(queued), {"file": SimpleUploadedFile("r.pdf", b"%PDF-1.7", "application/pdf")})
    assert posted.status_code == 400 and "has not been issued yet" in html_of(posted)


def test_verify_page_is_rate_limited_to_30_requests_a_minute_per_ip(tenant, final_assessment) -> None:
    report = ready_report(tenant, final_assessment)
    anonymous = Client()
    for n in range(30):
        assert anonymous.get(verify_url(report), REMOTE_ADDR="203.0.113.7").status_code == 200, n
    limited = anonymous.get(verify_url(report), REMOTE_ADDR="203.0.113.7")
    assert limited.status_code == 429 and "Too many checks" in html_of(limited)
    posted = anonymous.post(
        verify_url(report),
        {"file": SimpleUploadedFile("r.pdf", b"%PDF", "application/pdf")},
        REMOTE_ADDR="203.0.113.7",
    )
    assert posted.status_code == 429
    # A forged X-Forwarded-For does not escape the limit when no proxy is trusted.
    forged = anonymous.get(verify_url(report), REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="192.0.2.50")
    assert forged.status_code == 429
    assert anonymous.get(verify_url(report), REMOTE_ADDR="198.51.100.9").status_code == 200


def test_behind_a_trusted_proxy_the_limit_is_per_client_address(tenant, final_assessment, settings) -> None:
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    report = ready_report(tenant, final_assessment)
    anonymous = Client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(31):
        anonymous.get(verify_url(report), HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert anonymous.get(verify_url(report), HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy).status_code == 429
    assert anonymous.get(verify_url(report), HTTP_X_FORWARDED_FOR="198.51.100.9", **proxy).status_code == 200


@pytest.mark.skipif(ON_REDIS, reason="Redis expires keys in real time; time travel cannot move it")
def test_the_verify_limit_resets_after_a_minute(tenant, final_assessment) -> None:
    report = ready_report(tenant, final_assessment)
    anonymous = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(31):
            anonymous.get(verify_url(report), REMOTE_ADDR="203.0.113.7")
        assert anonymous.get(verify_url(report), REMOTE_ADDR="203.0.113.7").status_code == 429
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert anonymous.get(verify_url(report), REMOTE_ADDR="203.0.113.7").status_code == 200


# --- auditors --------------------------------------------------------------------------------


def test_every_auditor_page_view_and_download_is_recorded(tenant, final_assessment) -> None:
    report = ready_report(tenant, final_assessment)
    auditor = client_for(tenant.auditor)
    pages = [url(tenant), detail_url(tenant, report)]
    for page in pages:
        response = auditor.get(page)
        assert response.status_code == 200, page
    viewed = events(tenant, "auditor.viewed")
    assert [(e.actor_id, e.target_label) for e in viewed] == [(tenant.auditor.pk, p) for p in pages]
    # Viewing twice is recorded twice; the detail page's htmx status polling is not a page view.
    auditor.get(url(tenant))
    assert auditor.get(detail_url(tenant, report), HTTP_HX_REQUEST="true").status_code == 200
    assert len(events(tenant, "auditor.viewed")) == 3
    assert get_file(auditor, download_url(tenant, report))[0].status_code == 200
    [download] = events(tenant, "auditor.downloaded")
    assert download.actor == tenant.auditor and download.target_id == str(report.pk)
    assert download.target_label == f"attestation report {report.pk}"
    # Other roles' views are not auditor events.
    client_for(tenant.owner).get(url(tenant))
    client_for(tenant.rep).get(detail_url(tenant, report))
    assert all(e.actor_id == tenant.auditor.pk for e in events(tenant, "auditor.viewed"))
    # The auditor sees no request or revoke buttons.
    html = html_of(auditor.get(detail_url(tenant, report)))
    assert "Revoke this report" not in html
    assert "Request a report" not in html_of(auditor.get(url(tenant)))


def test_auditor_downloads_evidence_cited_by_final_work_but_not_other_evidence(
    tenant, final_assessment, evidence, framework
) -> None:
    from datetime import date

    auditor = client_for(tenant.auditor)
    cited, body = get_file(auditor, f"/o/{tenant.organisation.slug}/evidence/{evidence.pk}/download/")
    assert cited.status_code == 200
    assert cited["Content-Disposition"].startswith("attachment;")
    assert body == EVIDENCE_PDF
    [event] = events(tenant, "auditor.downloaded")
    assert event.actor == tenant.auditor and event.target_id == str(evidence.pk)
    assert event.target_label == evidence.original_name
    # Not cited at all, and cited only by a draft: 404, nothing recorded.
    uncited = upload_evidence(tenant, name="Draft policy.pdf", content=pdf("uncited"))
    by_draft = upload_evidence(tenant, name="Draft notes.pdf", content=pdf("draft"))
    draft = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2027",
        period_start=date(2027, 1, 1),
        period_end=date(2027, 12, 31),
    )
    assessment_services.response_save(
        response=responses_by_code(draft)["1.1"],
        actor=tenant.manager,
        maturity=3,
        narrative="Draft",
        evidence_ids=[by_draft.pk],
    )
    for other in (uncited, by_draft):
        link = f"/o/{tenant.organisation.slug}/evidence/{other.pk}/download/"
        assert auditor.get(link).status_code == 404
        assert get_file(client_for(tenant.rep), link)[0].status_code == 200  # other roles still can
    assert len(events(tenant, "auditor.downloaded")) == 1


def test_outsider_and_expired_auditor_get_404(tenant, final_assessment, outsider) -> None:
    report = ready_report(tenant, final_assessment)
    pages = [url(tenant), detail_url(tenant, report), download_url(tenant, report), url(tenant, f"{report.pk}/revoke/")]
    for page in pages:
        assert client_for(outsider).get(page).status_code == 404, page
    with scope(organisation=tenant.organisation):
        Membership.objects.filter(user=tenant.auditor).update(expires_at=timezone.now() + timedelta(days=1))
    assert client_for(tenant.auditor).get(url(tenant)).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1), tick=False):
        auditor = client_for(tenant.auditor)  # a fresh session, in the future
        for page in pages[:3]:
            assert auditor.get(page).status_code == 404, page
        assert auditor.get(f"/o/{tenant.organisation.slug}/").status_code == 404
    assert [e.target_label for e in events(tenant, "auditor.viewed")] == [url(tenant)]


def test_auditor_invitation_needs_an_end_date_and_access_ends_then(
    tenant, owner_client, django_capture_on_commit_callbacks
) -> None:
    invite = f"/o/{tenant.organisation.slug}/invitations/new/"
    email = "ada@audit.example"
    missing = owner_client.post(invite, {"email": email, "role": Role.AUDITOR})
    assert missing.status_code == 200 and "Enter the date the auditor's access ends" in html_of(missing)
    past = owner_client.post(
        invite, {"email": email, "role": Role.AUDITOR, "access_until": timezone.localdate().isoformat()}
    )
    assert "The access end date must be in the future" in html_of(past)
    with scopes_disabled():
        assert not Invitation.objects.filter(email=email).exists()
    until = timezone.localdate() + timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(invite, {"email": email, "role": Role.AUDITOR, "access_until": until.isoformat()})
    assert response.status_code == 302
    with scopes_disabled():
        invitation = Invitation.objects.get(email=email)
    end_of_day = datetime.combine(until, clock.max, tzinfo=timezone.get_current_timezone())
    assert invitation.access_expires_at == end_of_day
    # Other roles' access does not expire, even if a date is sent.
    owner_client.post(invite, {"email": "rob@acme.example", "role": Role.MEMBER, "access_until": until.isoformat()})
    with scopes_disabled():
        assert Invitation.objects.get(email="rob@acme.example").access_expires_at is None
    # The auditor accepts through the link; the membership ends at the end of that day.
    ada = UserFactory(email=email)
    accepted = client_for(ada).post(f"/invitations/{portal_services.invitation_token(invitation)}/")
    assert accepted.status_code == 302
    with scope(organisation=tenant.organisation):
        membership = Membership.objects.get(user=ada)
    assert membership.role == Role.AUDITOR and membership.expires_at == end_of_day
    dashboard = f"/o/{tenant.organisation.slug}/"
    with time_machine.travel(end_of_day - timedelta(minutes=1), tick=False):
        client = client_for(ada)
        assert client.get(dashboard).status_code == 200
        assert client.get(url(tenant)).status_code == 200
    with time_machine.travel(end_of_day + timedelta(seconds=1), tick=False):
        client = client_for(ada)
        assert client.get(dashboard).status_code == 404
        assert client.get(url(tenant)).status_code == 404


# --- query counts ----------------------------------------------------------------------------


def _grow(tenant, assessment, n: int) -> list[AttestationReport]:
    base = timezone.now() - timedelta(hours=1)
    return [ready_report(tenant, assessment, rendered_at=base + timedelta(minutes=i)) for i in range(n)]


# The page's queries after the base 3 of a signed-in page (the user; the memberships with their
# organisations; the "Your work" count). The anonymous verify page has no base.
REPORT_PAGES = {
    # the reports with assessment and requester; their assessments' issued reports (statuses); the final assessments
    "list": (lambda t, r: url(t), {}, 6),
    "create": (lambda t, r: url(t, "new/"), {}, 4),  # the final assessments
    # the report with its organisation, assessment and people; a newer report superseding it
    "detail": (lambda t, r: detail_url(t, r), {}, 5),
    # htmx polling renders the status alone: no header, so no badges
    "detail_polled": (lambda t, r: detail_url(t, r), {"HTTP_HX_REQUEST": "true"}, 4),
    "revoke": (lambda t, r: url(t, f"{r.pk}/revoke/"), {}, 4),  # the report
}


@pytest.mark.parametrize("page", REPORT_PAGES)
def test_report_pages_run_the_same_number_of_queries_for_1_or_5_reports(tenant, final_assessment, page) -> None:
    target, headers, expected = REPORT_PAGES[page]
    client = client_for(tenant.owner)
    [first] = _grow(tenant, final_assessment, 1)
    address = target(tenant, first)
    client.get(address, **headers)  # the first request of a session records it
    with assert_queries(expected, f"{page}, one report"):
        assert client.get(address, **headers).status_code == 200
    _grow(tenant, final_assessment, 4)
    with assert_queries(expected, f"{page}, five reports"):
        response = client.get(address, **headers)
    assert response.status_code == 200
    if page == "list":  # the newest is valid, the four before it superseded
        assert html_of(response).count(">Valid<") == 1 and html_of(response).count(">Superseded<") == 4
    elif page.startswith("detail"):
        assert "Superseded" in html_of(response)


def test_the_verify_page_runs_the_same_number_of_queries_for_1_or_5_reports(tenant, final_assessment) -> None:
    [first] = _grow(tenant, final_assessment, 1)
    signed_in = client_for(tenant.owner)
    address = f"/verify/{first.pk}/"
    signed_in.get(address)
    # The report with its organisation and assessment, and whether a newer one supersedes it.
    with assert_queries(2, "verify, anonymous, one report"):
        assert Client().get(address).status_code == 200
    with assert_queries(5, "verify, signed in, one report"):  # + the base 3
        assert signed_in.get(address).status_code == 200
    grown = _grow(tenant, final_assessment, 4)
    with assert_queries(2, "verify, anonymous, five reports"):
        response = Client().get(address)
    assert "Superseded" in html_of(response)
    assert all(str(report.pk) in html_of(response) for report in grown)  # the history lists all five
    with assert_queries(5, "verify, signed in, five reports"):
        assert signed_in.get(address).status_code == 200


# --- a real worker (PostgreSQL + Redis pass) -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_renders_the_report_requested_in_the_browser(
    tenant, final_assessment, supply_chain, worker, settings
) -> None:
    from django.core.files.storage import default_storage

    # The worker process stores files where the settings say, not in this test's own folder.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(Path(settings.VAR_DIR) / "private")},
        },
    }
    client = client_for(tenant.owner)
    response = client.post(url(tenant, "new/"), {"assessment": str(final_assessment.pk)})
    assert response.status_code == 302
    with scopes_disabled():
        report = AttestationReport.objects.get(organisation=tenant.organisation)
    try:
        deadline = time.monotonic() + 120
        while report.status not in (ReportStatus.READY, ReportStatus.FAILED) and time.monotonic() < deadline:
            time.sleep(0.5)
            report = refreshed(report)
        assert report.status == ReportStatus.READY, (report.status, report.error, worker.log.read_text()[-3000:])
        fragment = client.get(detail_url(tenant, report), HTTP_HX_REQUEST="true")
        assert fragment["HX-Trigger"] == "report-finished" and "Download the PDF" in html_of(fragment)
        download, pdf = get_file(client, download_url(tenant, report))
        assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment;")
        assert hashlib.sha256(pdf).hexdigest() == report.sha256
        text = pdf_text(pdf)
        assert squash(str(report.pk)) in squash(text) and EVIDENCE_SHA256 in squash(text)
        assert RESERVATIONS in words(text) and "Tier 1 4 1 0 3 0 25%" in words(text)
        assert "render_report_task" in worker.log.read_text()
        verify = client.post(verify_url(report), {"file": SimpleUploadedFile("r.pdf", pdf, "application/pdf")})
        assert "The file matches" in html_of(verify)
    finally:
        if report.file:
            stored = Path(default_storage.path(report.file.name))
            default_storage.delete(report.file.name)
            if stored.parent.exists() and not any(stored.parent.iterdir()):
                stored.parent.rmdir()  # the organisation's folder, made by this test
