"""The public verify page says what an auditor needs and never "Valid" wrongly: a report issued while
the audit chain was broken, newer reports (superseding or revoked, named and linked), the period
covered and the valid-until moment, an uploaded copy's result first, noindex, the assessment's
other reports; and requesting a report without a worker never keeps the browser waiting.

Status rules, strongest first: revoked > expired > superseded (by a newer report that is itself not
revoked) > issued with a failed audit-trail check > valid."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_scopes import scope
from rest_framework.test import APIClient

from portal.templatetags.portal_tags import when
from reports import services
from reports.models import AttestationReport, ReportStatus
from tests.conftest import client_for
from tests.reports.conftest import break_audit_chain, ready_report, request_and_render
from tests.reports.test_reports import detail_url, html_of, refreshed, url, verify_url
from tests.sample_files import pdf

pytestmark = [
    pytest.mark.django_db,
    # WeasyPrint 70 opens its bundled sRGB ICC profile for PDF/A output and never closes it.
    pytest.mark.filterwarnings(r"ignore:unclosed file <_io.BufferedReader name=.*sRGB2014\.icc.>:ResourceWarning"),
]


def status_of(html: str) -> str:
    """The text of the Status row of the verify page's summary list."""
    found = re.search(r'Status</dt><dd class="summary-list__value">(.*?)</dd>', html, re.S)
    assert found, html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()


def tag_words(html: str) -> list[str]:
    return re.findall(r'<strong class="tag tag--[a-z]+">([^<]+)</strong>', html)


# --- a report issued while the audit chain was broken ----------------------------------------


def test_a_report_rendered_while_the_audit_chain_was_broken_is_never_shown_as_valid(
    tenant, final_assessment, django_capture_on_commit_callbacks
) -> None:
    intact = request_and_render(tenant, final_assessment, django_capture_on_commit_callbacks)
    assert intact.status == ReportStatus.READY and intact.audit_chain_ok is True and intact.audit_broken_at is None
    break_audit_chain(tenant, sequence=3)
    broken = request_and_render(tenant, final_assessment, django_capture_on_commit_callbacks)
    assert broken.status == ReportStatus.READY, broken.error
    # Recorded at render time, as the PDF itself says.
    assert broken.audit_chain_ok is False and broken.audit_broken_at == 3
    assert services.report_verification(broken.pk).status == "audit_failed"

    page = Client().get(verify_url(broken))
    html = html_of(page)
    assert page.status_code == 200
    # A warning callout before the heading, and the status itself: never a plain "Valid".
    warning = html.index("notification-banner--warning")
    assert warning < html.index("<h1")
    assert "Issued with a failed audit-trail check" in html[warning : html.index("<h1")]
    assert "broken at event 3" in html
    status = status_of(html)
    assert status.startswith("Issued with a failed audit-trail check") and "Valid" not in tag_words(html)
    # The report page of the organisation says the same.
    detail = html_of(client_for(tenant.owner).get(detail_url(tenant, broken)))
    assert "Issued with a failed audit-trail check" in detail and ">Valid<" not in detail
    # So does the API.
    body = APIClient().get(f"/api/v1/verify/{broken.pk}/").json()
    assert body["status"] == "audit_failed" and body["audit_chain_ok"] is False and body["audit_broken_at"] == 3

    # The earlier report, rendered while the chain held, is superseded by it (it is not revoked), and
    # carries no warning of its own.
    older = html_of(Client().get(verify_url(intact)))
    assert status_of(older).startswith("Superseded") and "notification-banner--warning" not in older


@pytest.mark.parametrize(
    ("situation", "expected"),
    [("revoked", "Revoked"), ("expired", "Expired"), ("superseded", "Superseded")],
)
def test_a_failed_audit_check_stays_visible_under_a_stronger_status(
    tenant, final_assessment, situation, expected
) -> None:
    report = ready_report(
        tenant,
        final_assessment,
        rendered_at=timezone.now() - timedelta(days=3),
        audit_chain_ok=False,
        audit_broken_at=40,
    )
    moment = timezone.now()
    if situation == "revoked":
        services.report_revoke(report=report, actor=tenant.owner, reason="The audit trail was tampered with")
    elif situation == "expired":
        moment = report.expires_at + timedelta(minutes=1)
    else:
        ready_report(tenant, final_assessment)
    with time_machine.travel(moment, tick=False):
        html = html_of(Client().get(verify_url(report)))
    assert status_of(html).startswith(expected)
    assert "Also issued with a failed audit-trail check" in status_of(html)
    assert "notification-banner--warning" in html and "broken at event 40" in html


# --- newer reports: superseding, or revoked -------------------------------------------------


def test_after_the_newer_report_is_revoked_the_older_one_names_it(tenant, final_assessment) -> None:
    older = ready_report(tenant, final_assessment, rendered_at=timezone.now() - timedelta(days=3))
    newer = ready_report(tenant, final_assessment, rendered_at=timezone.now() - timedelta(days=1))
    assert services.report_verification(older.pk).status == "superseded"
    reason = "Issued on the wrong figures for principle 4"
    services.report_revoke(report=newer, actor=tenant.owner, reason=reason)
    newer = refreshed(newer)

    verification = services.report_verification(older.pk)
    assert verification.status == "valid" and verification.superseded_by is None
    assert [r.pk for r in verification.newer_revoked] == [newer.pk]
    status = status_of(html_of(Client().get(verify_url(older))))
    # Valid on its own account, and the reader sees that a newer report existed and why it went.
    assert status.startswith("Valid")
    assert (
        f"A newer report ({newer.pk}, issued on {when(newer.rendered_at)}) was revoked on "
        f"{when(newer.revoked_at)}: {reason}"
    ) in status
    assert f'href="{verify_url(newer)}"' in html_of(Client().get(verify_url(older)))

    # A third, not revoked, supersedes both: the revoked one never does.
    newest = ready_report(tenant, final_assessment)
    verification = services.report_verification(older.pk)
    assert verification.status == "superseded" and verification.superseded_by.pk == newest.pk
    status = status_of(html_of(Client().get(verify_url(older))))
    assert f"by a newer report issued on {when(newest.rendered_at)}: {newest.pk}" in status
    assert f"A newer report ({newer.pk}" in status


# --- what the page says about the report ----------------------------------------------------


def test_the_verify_page_says_which_period_it_covers_and_until_when_it_is_valid(tenant, final_assessment) -> None:
    report = ready_report(tenant, final_assessment)
    html = html_of(Client().get(verify_url(report)))
    assert "Covers the period 1 January 2026 to 31 December 2026" in html
    valid_until = re.search(r'Valid until</dt><dd class="summary-list__value">([^<]+)', html)
    assert valid_until and valid_until.group(1).strip() == when(report.expires_at)
    assert re.search(r"\d{2}:\d{2} (GMT|BST)", valid_until.group(1))
    assert f'Issued on</dt><dd class="summary-list__value">{when(report.rendered_at)}<' in html
    # The organisation's own report page says the same, every moment labelled with its zone.
    detail = html_of(client_for(tenant.owner).get(detail_url(tenant, report)))
    assert "Covers the period 1 January 2026 to 31 December 2026" in detail
    for moment in (report.requested_at, report.rendered_at, report.expires_at):
        assert when(moment) in detail
    assert when(report.requested_at) in html_of(client_for(tenant.owner).get(url(tenant)))


@pytest.mark.parametrize("genuine", [True, False])
def test_an_uploaded_copy_is_answered_before_the_status(tenant, final_assessment, genuine) -> None:
    content = pdf("the issued report")
    report = ready_report(tenant, final_assessment, content=content)
    upload = content if genuine else content.replace(b"issued", b"forged")
    html = html_of(Client().post(verify_url(report), {"file": SimpleUploadedFile("r.pdf", upload, "application/pdf")}))
    answer = "The file matches" if genuine else "The file does not match"
    assert answer in html
    # The answer to what was asked is the first thing on the page, above the heading and the status.
    assert html.index(answer) < html.index("<h1") < html.index("Status</dt>")
    assert html.index("<main") < html.index(answer)


def test_the_verify_page_asks_search_engines_not_to_index_it(tenant, final_assessment) -> None:
    report = ready_report(tenant, final_assessment)
    anonymous = Client()
    response = anonymous.get(verify_url(report))
    assert response["X-Robots-Tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in html_of(response)
    posted = anonymous.post(verify_url(report), {})
    assert posted.status_code == 400 and posted["X-Robots-Tag"] == "noindex"
    # Other pages are indexed as before.
    assert "X-Robots-Tag" not in anonymous.get("/")
    assert 'name="robots"' not in html_of(anonymous.get("/"))


def test_the_verify_page_lists_the_reports_issued_on_the_same_assessment(tenant, final_assessment, framework) -> None:
    from assessments import services as assessment_services

    base = timezone.now() - timedelta(days=10)
    revoked = ready_report(tenant, final_assessment, rendered_at=base)
    superseded = ready_report(tenant, final_assessment, rendered_at=base + timedelta(days=1))
    current = ready_report(tenant, final_assessment, rendered_at=base + timedelta(days=2))
    services.report_revoke(report=revoked, actor=tenant.owner, reason="Wrong site")
    revoked = refreshed(revoked)
    # Neither a report being made nor one on another assessment belongs to this history.
    with scope(organisation=tenant.organisation):
        queued = AttestationReport.objects.create(organisation=tenant.organisation, assessment=final_assessment)
    other_assessment = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2027",
        period_start=final_assessment.period_start.replace(year=2027),
        period_end=final_assessment.period_end.replace(year=2027),
    )
    elsewhere = ready_report(tenant, other_assessment)

    html = html_of(Client().get(verify_url(superseded)))
    table = html[html.index("Reports issued on the same self-assessment") :]
    rows = re.findall(r"<tr><td class=\"table__cell\">(.*?)</tr>", table, re.S)
    assert len(rows) == 3
    expected = [(current, "Valid"), (superseded, "Superseded"), (revoked, "Revoked")]  # newest first
    for row, (report, status) in zip(rows, expected, strict=True):
        assert when(report.rendered_at) in row and str(report.pk) in row and f">{status}<" in row
    assert f'href="{verify_url(current)}"' in rows[0] and f'href="{verify_url(revoked)}"' in rows[2]
    assert "this report" in rows[1] and f'href="{verify_url(superseded)}"' not in rows[1]
    assert when(revoked.revoked_at) in rows[2]
    assert str(queued.pk) not in html and str(elsewhere.pk) not in html
    # A public page: nobody's name.
    for person in (tenant.owner, tenant.manager):
        assert person.display_name not in html and person.email not in html


# --- report requests never block the page ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_a_requested_report_renders_after_the_response(
    tenant, final_assessment, settings, monkeypatch
) -> None:
    """As in `make run` (no REDIS_URL): the request returns at once and the page shows the progress;
    the report becomes ready afterwards, in the background."""
    from portal import background
    from portal.celery import app

    assert app.conf.task_always_eager  # no worker: tasks run in this process
    settings.PORTAL_EAGER_TASKS_IN_BACKGROUND = True
    go_on = threading.Event()
    real_run_in_background = background.run_in_background

    def held_until_released(work):
        def held():
            assert go_on.wait(60), "the test never released the task"
            work()

        real_run_in_background(held)

    # The background task waits until this test has its response and has seen the page, so the
    # report is still queued then; had the request rendered it, it would be ready. (Waiting before the
    # task's first query also keeps the two threads off the in-memory test database at the same time:
    # SQLite's shared cache refuses a lock at once where a database file waits for it.)
    monkeypatch.setattr(background, "run_in_background", held_until_released)
    client = client_for(tenant.owner)
    try:
        started = time.monotonic()
        response = client.post(url(tenant, "new/"), {"assessment": str(final_assessment.pk)})
        assert time.monotonic() - started < 5
        assert response.status_code == 302
        report = refreshed(AttestationReport.objects.get(organisation=tenant.organisation))
        assert report.status == ReportStatus.QUEUED
        page = html_of(client.get(response["Location"]))
        assert "The report is being made" in page and 'hx-trigger="every 2s"' in page
    finally:
        go_on.set()
    assert background.wait_until_idle(120), "the report was not rendered within 2 minutes"
    report = refreshed(report)
    assert report.status == ReportStatus.READY, report.error
    assert report.audit_chain_ok is True
    polled = client.get(detail_url(tenant, report), HTTP_HX_REQUEST="true")
    assert polled["HX-Trigger"] == "report-finished" and "Download the PDF" in html_of(polled)
