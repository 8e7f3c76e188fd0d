"""The attestation report's first pages and last section (issue 17, parts 1, 2 and 4): a one-page
summary after the cover (maturity with the scale's key, the agreement, the exceptions, supplier
coverage, "as at"), dates that say what they are in one labelled time zone with one issued moment,
and the basis of preparation. Read from the PDF's text layer, page by page."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments import services as assessment_services
from assessments.models import ActionItem, ActionStatus, ChangeRequest, EqiaRow, Impact
from portal.models import AuditEvent
from portal.roles import Role
from portal.templatetags.portal_tags import when
from reports.models import AttestationReport, ReportStatus
from tests.factories import UserFactory, add_member
from tests.pdftext import pdf_pages
from tests.reports.conftest import make_final, report_bytes, request_and_render, responses_by_code
from tests.reports.test_reports import words
from tests.sample_files import pdf

pytestmark = [
    pytest.mark.django_db,
    # WeasyPrint 70 opens its bundled sRGB ICC profile for PDF/A output and never closes it.
    pytest.mark.filterwarnings(r"ignore:unclosed file <_io.BufferedReader name=.*sRGB2014\.icc.>:ResourceWarning"),
]

OPERATOR = "Northern Manufacturing Trust Ltd"
OPERATOR_CONTACT = "portal@nmt.example"
SCALE = ["0 Not started", "1 Planned", "2 In progress", "3 Established", "4 Embedded and reviewed"]


def pages_of(report: AttestationReport) -> list[str]:
    """Each page's text, whitespace collapsed (the body first, then the running header and footer)."""
    return [words(text).strip() for text in pdf_pages(report_bytes(report))]


def summary_page(pages: list[str]) -> tuple[int, str]:
    """(index, text) of the summary: the page after the cover, alone on its page, the contents next."""
    index = next(i for i, text in enumerate(pages) if text.startswith("Summary "))
    assert index == 1, [p[:40] for p in pages]
    assert pages[index + 1].startswith("Contents "), "the summary runs onto a second page"
    assert "Supplier coverage" in pages[index]  # its last heading is still on its one page
    return index, pages[index]


def section(pages: list[str], heading: str) -> str:
    return next(text for text in pages if text.startswith(heading + " "))


@pytest.fixture
def operator(settings):
    """Ask for it before `report`: the report is rendered when that fixture is set up."""
    settings.PORTAL_OPERATOR_NAME = OPERATOR
    settings.PORTAL_OPERATOR_CONTACT = OPERATOR_CONTACT


def test_the_summary_is_one_page_after_the_cover_and_says_none_when_nothing_is_wrong(
    tenant, framework, commitment, operator, report
) -> None:
    pages = pages_of(report)
    _index, summary = summary_page(pages)
    issued = when(report.rendered_at)
    assert "for the period 1 January 2026 to 31 December 2026" in summary
    assert f"As at {issued} – when this report was issued." in summary
    # Maturity per principle, and the scale's key: each level defined in words.
    with scope(organisation=tenant.organisation):
        principles = list(framework.principles.order_by("number"))
    for principle in principles:
        average = "2.2" if principle.number == 1 else "2.0"
        assert f"{principle.number}. {principle.title} {average} 6 of 6" in summary
    for level in SCALE:
        assert level in summary, level
    assert "Nothing has been done yet and there is no agreed plan to do it." in summary
    # Who signed for each side, when, with what decision; how many reservations.
    with scope(organisation=tenant.organisation):
        signed = {s.capacity: s.signed_at for s in final_signatures(report)}
    assert (
        f"Workforce Rachel Reid, Workplace representative Signed with reservations {when(signed['workforce'])}"
        in summary
    )
    assert f"Management Olivia Owen, Managing Director Signed {when(signed['management'])}" in summary
    assert "Reservations: 1 – reproduced word for word under Agreement" in summary
    assert "No signature that counts" not in summary
    # Exceptions: none of each, and the audit chain intact.
    for check in ("Void signatures", "Expired evidence cited", "Overdue actions", "Open change requests"):
        assert f"{check} None" in summary, check
    assert re.search(r"Audit trail check Intact: \d+ events checked", summary)
    # Supplier coverage in one line (the fixture: 4 invited, 1 accepted).
    assert "1 campaign: 1 of 4 suppliers invited accepted (25%), all tiers." in summary
    # The contents list the summary and the basis of preparation.
    contents = pages[2]
    # Each entry: its heading, a dotted leader (poppler reads the dots spaced), its page number.
    assert re.search(r"Summary (\. ?)+ 2 ", contents) and re.search(r"Basis of preparation (\. ?)+ \d+", contents)


def final_signatures(report):
    from assessments.workflow import subject_signatures

    return subject_signatures(report.assessment)


def test_every_section_taken_on_the_day_says_as_at_and_the_issued_moment_is_rendered_at(
    tenant, commitment, operator, report
) -> None:
    pages = pages_of(report)
    text = " ".join(pages)
    issued = when(report.rendered_at)
    # One moment: printed as "Issued" on the cover (to the second), stored as rendered_at.
    assert f"Issued {when(report.rendered_at, 'seconds')}, requested by {tenant.owner.display_name}" in pages[0]
    assert report.claimed_at <= report.rendered_at
    assert "Generated" not in text and "Issued on" not in text
    # The assessment covers its period; what is taken on the day says so.
    assert "Period For the period 1 January 2026 to 31 December 2026" in pages[0]
    on_the_day = (
        f"As at {issued} – taken as it stands on the day the report was issued, not as it stood during "
        "the period (1 January 2026 to 31 December 2026)."
    )
    assert section(pages, "Commitment").startswith(f"Commitment {on_the_day}")
    assert f"Supply-chain coverage {on_the_day}" in text
    assert f"Audit trail As at {issued} – checked when the report was issued" in text
    assert f"Whether each signature still counts was checked as at {issued}" in text
    # The maturity section defines the scale beside its table.
    maturity = section(pages, "Maturity per principle")
    assert "Maturity scale: what each level means" in maturity and all(level in maturity for level in SCALE)
    # One time zone, always labelled, signature trails included.
    assert "UTC" not in text
    assert f"Agreed plans As at {issued}" in text
    assert re.search(r"\d{2}:\d{2} (GMT|BST)", text)

    # Basis of preparation: who, what is self-assessed, what was checked and not, who operates.
    basis = section(pages, "Basis of preparation")
    assert (
        f"Report requested by {tenant.owner.display_name} (Owner), issued {when(report.rendered_at, 'seconds')}"
        in basis
    )
    assert f"Assessment prepared by {tenant.manager.display_name}" in basis
    assert "for the workforce: Rachel Reid, Workplace representative" in basis
    assert "for management: Olivia Owen, Managing Director" in basis
    assert "self-assessed by the organisation and agreed with its workforce" in basis
    assert "What the portal checked mechanically" in basis and "What the portal did not check" in basis
    assert "SHA-256 fingerprint of each evidence file, computed by the portal when the file was uploaded" in basis
    assert re.search(rf"checked from its first event to its head as at {re.escape(issued)}\. Result: intact", basis)
    assert "That the narratives and maturity levels are true or accurate." in basis
    assert f"This portal is operated by {OPERATOR}. Contact: {OPERATOR_CONTACT}." in basis


def test_in_summer_the_report_prints_bst_and_the_same_moment_as_rendered_at(
    tenant, final_assessment, django_capture_on_commit_callbacks
) -> None:
    with time_machine.travel(datetime(2027, 7, 1, 11, 30, 5, tzinfo=UTC), tick=False):
        report = request_and_render(tenant, final_assessment, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.READY, report.error
    assert report.rendered_at == datetime(2027, 7, 1, 11, 30, 5, tzinfo=UTC)
    pages = pages_of(report)
    assert "Issued 1 July 2027, 12:30:05 BST" in pages[0]
    assert "Valid until 30 June 2028, 12:30 BST" in pages[0]
    assert "As at 1 July 2027, 12:30 BST – when this report was issued." in pages[1]


def test_the_summary_counts_each_exception_and_still_fits_one_page_for_a_big_assessment(
    tenant, draft_assessment, supply_chain, django_capture_on_commit_callbacks
) -> None:
    from tests.assessments.test_plans import new_plan, submitted
    from tests.assessments.test_plans import sign as plan_sign

    # Evidence that had expired before the report was issued, cited on 1.1.
    expired = assessment_services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(pdf("fire risk assessment")),
        name="Fire risk assessment 2025.pdf",
        description="Fire risk assessment",
        effective_date=date(2025, 1, 1),
        expiry_date=timezone.localdate() - timedelta(days=3),
    )
    # Nine representatives countersign with reservations: more than the summary lists.
    reps = []
    for number in range(8):
        rep = UserFactory(email=f"rep{number}@acme.example", full_name=f"Representative Number {number} Long-Surname")
        add_member(tenant.organisation, rep, Role.WORKFORCE_REP)
        reps.append(rep)
    with django_capture_on_commit_callbacks(execute=True):
        assessment = make_final(tenant, draft_assessment, expired, reps=tuple(reps))
    # An agreed plan changed after both sides signed it: two void signatures.
    plan = submitted(new_plan(tenant), tenant)
    plan_sign(plan, tenant.rep, "sign_with_reservations", reservations="Review after six months.")
    plan_sign(plan, tenant.manager)
    today = timezone.localdate()
    with scope(organisation=tenant.organisation):
        EqiaRow.objects.filter(eqia__plan=plan, characteristic="sex").update(impact=Impact.POSITIVE)
        response = responses_by_code(assessment)["1.2"]
        # Two overdue actions; one done late and one not yet due are not overdue.
        for title, due, status in [
            ("Retrain night shift", today - timedelta(days=10), ActionStatus.OPEN),
            ("Publish data-use code", today - timedelta(days=1), ActionStatus.IN_PROGRESS),
            ("Done late", today - timedelta(days=30), ActionStatus.DONE),
            ("Not yet due", today + timedelta(days=30), ActionStatus.OPEN),
        ]:
            ActionItem.objects.create(
                organisation=tenant.organisation,
                assessment=assessment,
                response=response,
                title=title,
                due_date=due,
                status=status,
            )
        # One change request still open on the assessment, one answered.
        for answered in (None, timezone.now()):
            ChangeRequest.objects.create(
                organisation=tenant.organisation,
                subject_type="assessment",
                subject_id=assessment.pk,
                requested_by=tenant.rep,
                reasons="Say how night shifts are trained",
                answer="Done" if answered else "",
                answered_at=answered,
            )
    # The audit trail is tampered with (as tests/portal/test_audit.py does): event 3 changed.
    with scopes_disabled():
        AuditEvent.objects.filter(organisation=tenant.organisation, sequence=3).update(after={"role": "owner"})

    report = request_and_render(tenant, assessment, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.READY, report.error
    pages = pages_of(report)
    _index, summary = summary_page(pages)
    assert "Void signatures 2 – content changed after signing" in summary
    assert "Expired evidence cited 1 – past its expiry date" in summary
    assert "Overdue actions 2 – not done by their due date" in summary
    assert "Open change requests 1 – on the assessment, not yet answered" in summary
    assert "Audit trail check Failed: the chain is broken at event 3" in summary
    # Ten signatures count (rep, eight more reps, owner): six listed, management first, the rest counted.
    assert summary.count("Workforce Representative Number") + summary.count("Workforce Rachel Reid") == 5
    assert "Management Olivia Owen, Managing Director Signed" in summary
    assert "and 4 more signatures, listed under Agreement" in summary
    assert "Reservations: 9 – reproduced word for word under Agreement" in summary
    assert "None" not in summary.split("Exceptions", 1)[1].split("Supplier coverage", 1)[0]
    # The failed check is also stated in the basis of preparation.
    assert "Result: failed (see Audit trail)." in section(pages, "Basis of preparation")


def test_when_no_signature_counts_the_summary_says_so_for_each_side(
    tenant, final_assessment, django_capture_on_commit_callbacks
) -> None:
    from assessments.models import Response as AssessmentResponse

    with scope(organisation=tenant.organisation):
        AssessmentResponse.objects.filter(assessment=final_assessment, criterion__code="1.1").update(
            narrative="Rewritten after signing"
        )
    report = request_and_render(tenant, final_assessment, django_capture_on_commit_callbacks)
    _index, summary = summary_page(pages_of(report))
    assert "Management No signature that counts towards agreement" in summary
    assert "Workforce No signature that counts towards agreement" in summary
    assert "Reservations: None" in summary and "Void signatures 2" in summary


def test_the_demo_report_has_its_summary_on_one_page(django_capture_on_commit_callbacks) -> None:
    # As `make run` does: tasks in-process after each commit, so the demo report is rendered.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=StringIO())
    with scopes_disabled():
        report = (
            AttestationReport.objects.select_related("organisation")
            .filter(status=ReportStatus.READY)
            .order_by("-rendered_at")
            .first()
        )
    assert report is not None
    _index, summary = summary_page(pages_of(report))
    assert f"As at {when(report.rendered_at)}" in summary
    assert all(level in summary for level in SCALE)
