"""The technology register in the attestation report (DESIGN.md section 13): each system with what it does
to workers and its DPIA's state, the new technology agreement in force with its periods, and each system's
clocks as they stand on the day the report is issued, kept or breached with the sentence that says why,
breaches marked. Real WeasyPrint, read back from the PDF's text layer; the section's queries do not grow
with the number of systems."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from django_scopes import scope

from assessments import technology
from assessments.models import SystemStatus
from reports.models import AttestationReport
from reports.rendering import report_context
from tests.assessments.test_technology import agreement_in_force, register, reload
from tests.querycount import counting
from tests.reports.conftest import ready_report
from tests.reports.test_report_surveys import between, report_text

pytestmark = [
    pytest.mark.django_db,
    # WeasyPrint 70 opens its bundled sRGB ICC profile for PDF/A output and never closes it.
    pytest.mark.filterwarnings(r"ignore:unclosed file <_io.BufferedReader name=.*sRGB2014\.icc.>:ResourceWarning"),
]


def day(value) -> str:
    return date_format(value, "j F Y")


def the_register(tenant) -> dict:
    """Three systems under an agreement in force since today: one on time, one in breach of both clocks,
    one introduced long before the agreement (no clocks)."""
    today = timezone.localdate()
    old = register(
        tenant,
        name="Old payroll",
        status=SystemStatus.LIVE,
        go_live_on=today - timedelta(days=400),
        worker_data="",
        monitors_people=False,
        decisions=[],
    )
    agreement = agreement_in_force(tenant)
    on_time = register(tenant, name="Shift scheduler", go_live_on=today + timedelta(days=120), decisions=["allocation"])
    technology.notice_record(system=on_time, actor=tenant.manager, notice_given_on=today, committee_met_on=today)
    technology.dpia_start(system=reload(on_time), actor=tenant.manager)
    breached = register(tenant, name="Badge tracker", go_live_on=today + timedelta(days=30))
    technology.notice_record(
        system=breached, actor=tenant.manager, notice_given_on=today - timedelta(days=20), committee_met_on=None
    )
    return {"today": today, "agreement": agreement, "old": old, "on_time": on_time, "breached": breached}


def test_the_report_shows_each_system_its_dpia_the_agreement_and_every_clock_kept_or_breached(
    tenant, final_assessment, django_capture_on_commit_callbacks
) -> None:
    world = the_register(tenant)
    today = world["today"]
    text = report_text(tenant, final_assessment, django_capture_on_commit_callbacks)

    # The summary counts the systems and says a breach is there; the contents list the section.
    assert "New technology agreement Breached on 1 of 3 systems registered, marked under Technology register" in text
    section = between(text, "Technology register As at", "Supply-chain coverage")
    # The agreement in force and its periods.
    assert "New technology agreement NTA (version 1), signed by management and the workforce’s representatives" in (
        section
    )
    assert f"In force since {day(today)}" in section
    assert "Notice before introduction 90 days before go-live" in section
    assert "Joint technology committee Meets within 14 days of notice" in section

    # Systems in name order, each with its facts and DPIA.
    assert section.index("Badge tracker") < section.index("Old payroll") < section.index("Shift scheduler")
    scheduler = section[section.index("Shift scheduler Status") :]
    assert f"Status Planned Go-live {day(today + timedelta(days=120))}" in scheduler
    assert "Monitors people Yes Decides about people Allocation of work DPIA Draft (version 1)" in scheduler
    earliest = today + timedelta(days=90)
    assert (
        f"Notice before introduction (90 days) Running Notice given on {day(today)}: go-live not before "
        f"{day(earliest)}." in scheduler
    )
    assert f"Joint technology committee meeting (within 14 days) Kept The committee met on {day(today)}." in scheduler

    badge = between(section, "Badge tracker (breach of the agreement)", "Old payroll")
    assert "DPIA Needed, not started" in badge
    notice = today - timedelta(days=20)
    assert (
        f"Notice before introduction (90 days) Breached Go-live on {day(today + timedelta(days=30))} is inside the "
        f"notice period: notice was given on {day(notice)}, so not before {day(notice + timedelta(days=90))}." in badge
    )
    assert (
        "Joint technology committee meeting (within 14 days) Breached: late The committee was due to meet by "
        f"{day(notice + timedelta(days=14))} and has not." in badge
    )

    old = between(section, "Old payroll", "Shift scheduler")
    assert "Status Live" in old and "Monitors people No Decides about people No DPIA Not needed" in old
    assert "No clocks: the system is retired, or was introduced before the agreement came into force." in old
    assert "breach of the agreement" not in old and "breach of the agreement" not in scheduler


def test_without_a_register_or_an_agreement_the_report_says_so_in_a_line(
    tenant, final_assessment, django_capture_on_commit_callbacks
) -> None:
    text = report_text(tenant, final_assessment, django_capture_on_commit_callbacks)
    assert "New technology agreement Not in force Audit trail check" in text  # the summary's exceptions
    assert (
        "Technology register As at" in text
        and "No new technology agreement is in force, so no notice or committee clocks run on the systems. "
        "No systems in the technology register."
        in text
    )


def test_the_section_reads_the_same_number_of_queries_however_many_systems(tenant, final_assessment) -> None:
    stored = ready_report(tenant, final_assessment)

    def queries() -> tuple[list[str], dict]:
        with scope(organisation=tenant.organisation):
            report = AttestationReport.objects.select_related("organisation", "assessment").get(pk=stored.pk)
        with counting() as whole:
            context = report_context(report)
        return whole.queries, context

    the_register(tenant)
    queries()  # the framework's principles are cached after the first read
    before, context = queries()
    assert [s["name"] for s in context["technology"]["systems"]] == ["Badge tracker", "Old payroll", "Shift scheduler"]
    for n in range(5):
        system = register(tenant, name=f"Cobot cell {n}", go_live_on=timezone.localdate() + timedelta(days=100 + n))
        technology.dpia_start(system=reload(system), actor=tenant.manager)
    after, context = queries()
    assert len(context["technology"]["systems"]) == 8
    assert context["summary"]["technology"] == {"systems": 8, "breached": 1, "breaches": 2}
    assert len(after) == len(before), "\n".join(after)
