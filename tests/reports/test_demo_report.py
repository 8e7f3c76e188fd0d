"""The demo report, the first one a newcomer sees, reads like a real one: evidence cited on most criteria
(one file already expired when the report is issued), narratives that say what their level means, a year
of dates behind it, a reservation, and signatures and an audit trail that still verify."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments.models import Assessment, Citation, Evidence, Response
from assessments.workflow import signatures_for
from portal.audit import audit_verify_chain
from portal.demo import DEMO_ORGANISATION
from reports.models import AttestationReport, ReportStatus
from tests.api.world import tasks_in_process
from tests.pdftext import pdf_pages
from tests.reports.conftest import report_bytes

pytestmark = pytest.mark.django_db

# What each maturity level means on the framework's scale, in the words a narrative at that level opens
# with; and words that would contradict a low level ("in place" at level 0 or 1).
OPENINGS = {
    0: "Not started",
    1: "Planned",
    2: "In place for some areas",
    3: "In place across the site",
    4: "Embedded and improving",
}


def _demo_report() -> AttestationReport:
    with scopes_disabled():
        return AttestationReport.objects.select_related("assessment", "organisation").get(
            organisation__name=DEMO_ORGANISATION
        )


def _responses(assessment: Assessment) -> list[Response]:
    with scope(organisation=assessment.organisation):
        return list(Response.objects.filter(assessment=assessment).select_related("criterion"))


def _cited(assessment: Assessment) -> list[Evidence]:
    with scope(organisation=assessment.organisation):
        ids = Citation.objects.filter(response__assessment=assessment).values_list("evidence_id", flat=True)
        return list(Evidence.objects.filter(pk__in=ids))


def test_the_demo_assessment_cites_evidence_has_level_narratives_a_year_of_dates_and_verifies() -> None:
    call_command("load_demo", stdout=StringIO())
    report = _demo_report()
    assessment = report.assessment
    responses = _responses(assessment)
    issued = timezone.localdate(report.requested_at)

    with scope(organisation=assessment.organisation):
        citing = set(Citation.objects.filter(response__assessment=assessment).values_list("response_id", flat=True))
    assert len(citing) >= 0.8 * len(responses), f"{len(citing)} of {len(responses)} criteria cite evidence"
    cited = _cited(assessment)
    assert any(e.is_expired(today=issued) for e in cited), "no cited file has expired by the report's date"
    assert len({e.original_name for e in cited}) >= 8 and len(cited) < len(citing)  # files shared across criteria

    levels = {r.maturity for r in responses}
    assert len(levels) >= 3, levels
    for r in responses:
        assert r.narrative.startswith(OPENINGS[r.maturity]), (r.criterion.code, r.maturity, r.narrative)
        if r.maturity <= 1:
            assert "in place" not in r.narrative.lower(), (r.criterion.code, r.narrative)
    assert len({r.narrative for r in responses}) == len(responses)  # each says something of its own

    answered = sorted(timezone.localdate(r.updated_at) for r in responses)
    assert (answered[-1] - answered[0]).days > 90, answered
    effective = sorted(e.effective_date for e in cited)
    assert (effective[-1] - effective[0]).days > 90, effective
    assert assessment.period_start <= timezone.localdate(assessment.created_at) < answered[0]
    assert answered[-1] < timezone.localdate(assessment.submitted_at) <= assessment.period_end

    views = signatures_for(assessment)
    assert len(views) == 2 and all(v.counts for v in views)  # both still bind the content, this round
    assert [bool(v.signature.reservations) for v in views].count(True) == 1
    days = [timezone.localdate(v.signature.signed_at) for v in views]
    assert days[0] != days[1] and timezone.localdate(assessment.submitted_at) < days[0]
    assert assessment.finalised_at == max(v.signature.signed_at for v in views)

    chain = audit_verify_chain(organisation=assessment.organisation)
    assert chain.ok, chain.reason


def test_the_demo_report_renders_with_its_evidence_and_the_expired_file(django_capture_on_commit_callbacks) -> None:
    # As `make run` does: tasks in-process after each commit, so the demo report is rendered.
    with tasks_in_process(), django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=StringIO())
    report = _demo_report()
    assert report.status == ReportStatus.READY, report.error
    issued = timezone.localdate(report.rendered_at)
    expired = [e for e in _cited(report.assessment) if e.is_expired(today=issued)]
    assert expired

    pages = [" ".join(text.split()) for text in pdf_pages(report_bytes(report))]
    text = " ".join(pages)
    # The Agreement heading and its introduction stay on the page of the first signature they introduce
    # (in the demo they once sat alone at the foot of the maturity page).
    agreement = next(page for page in pages if "Decisions of management and of the workforce" in page)
    assert "For the workforce:" in agreement or "For management:" in agreement
    # The commitment says how its signer signed in with the same words as the signature trails.
    assert "How they signed in Not recorded (no two-factor authentication)" in text
    name = expired[0].original_name
    assert name in text and f"{name} {expired[0].effective_date:%-d %b %Y}" in text
    assert "(expired)" in text
    assert "Not started: concerns about new equipment" in text and "Embedded and improving:" in text
    assert "Retraining for night-shift staff must be scheduled in paid hours." in text
    # The demo's agreed plan shows the consultation its conditions came from and why the EqIA adjusted it.
    assert "Walked through the cobot cells" in text and "No consultation meetings recorded" not in text
    assert "paired working time on request" in text and "No justification recorded" not in text
    assert audit_verify_chain(organisation=report.organisation).ok
