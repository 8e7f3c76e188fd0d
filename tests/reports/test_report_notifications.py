"""A report that becomes ready tells whoever asked for it, straight away by default (issue 16, part 3).
The report is rendered for real (WeasyPrint), by the task, in process."""

from __future__ import annotations

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from portal.models import Notification
from reports import services
from reports.models import ReportStatus

pytestmark = pytest.mark.django_db


def test_a_ready_report_tells_its_requester_only(
    tenant, final_assessment, outsider, django_capture_on_commit_callbacks
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_request(
            organisation=tenant.organisation, actor=tenant.manager, assessment=final_assessment
        )
    report.refresh_from_db()
    assert report.status == ReportStatus.READY
    with scopes_disabled():
        (line,) = Notification.objects.filter(kind="report_ready")
    assert line.recipient == tenant.manager and line.actor is None
    assert (
        line.text
        == f"Your attestation report on Self-assessment 2026 for {tenant.organisation.name} is ready to download"
    )
    assert line.url == f"/o/{tenant.organisation.slug}/reports/{report.pk}/"
    emailed = [m for m in mail.outbox if m.to == [tenant.manager.email]]
    assert len(emailed) == 1 and emailed[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not [m for m in mail.outbox if tenant.owner.email in m.to and "report" in m.subject.lower()]
