"""Rendering attestation reports in a worker, with a claim, retries, time limits and a sweep."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from portal.audit import audit_record, audit_verify_chain
from portal.celery import app
from portal.models import Organisation
from portal.webhooks import emit
from reports.models import AttestationReport, ReportStatus

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
STUCK_AFTER = timedelta(minutes=15)


@app.task(bind=True, tenant=True, soft_time_limit=300, time_limit=360, after_response=True)
def render_report_task(self, *, organisation: Organisation, report_id: str) -> str:
    """Render one report. Idempotent: only the task that claims a queued report renders it."""
    from reports.rendering import render_report

    claimed = AttestationReport.objects.filter(pk=report_id, status=ReportStatus.QUEUED).update(
        status=ReportStatus.RENDERING, claimed_at=timezone.now(), error=""
    )
    if not claimed:
        return "not-claimed"
    report = AttestationReport.objects.select_related(
        "organisation", "assessment", "assessment__framework", "requested_by"
    ).get(pk=report_id)
    # The report's one moment: printed in it as "Issued", the "as at" of what it takes on the day,
    # and stored as rendered_at, which the report and verify pages show as issued.
    issued_at = timezone.now()
    try:
        # One check of the audit chain, at the issued moment: printed in the PDF and kept for the verify page.
        chain = audit_verify_chain(organisation=organisation)
        pdf, pages, seconds = render_report(report, issued_at=issued_at, chain=chain)
        # Storing is part of the attempt: a full or unwritable volume is retried like a failed render.
        name = default_storage.save(
            f"reports/{organisation.pk}/{report_id}-{uuid.uuid4().hex[:8]}.pdf", ContentFile(pdf)
        )
    except (Exception, SoftTimeLimitExceeded) as exc:
        attempts = report.attempts + 1
        final = attempts >= MAX_ATTEMPTS or bool(self.request.is_eager)
        AttestationReport.objects.filter(pk=report_id).update(
            status=ReportStatus.FAILED if final else ReportStatus.QUEUED,
            attempts=attempts,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            queued_at=timezone.now(),
        )
        logger.exception("report %s failed (attempt %s)", report_id, attempts)
        if final:
            return "failed"
        raise self.retry(exc=exc, countdown=self.retry_countdown(attempts)) from exc
    # The row and its audit event together: a worker killed in between leaves neither.
    with transaction.atomic():
        AttestationReport.objects.filter(pk=report_id).update(
            status=ReportStatus.READY,
            rendered_at=issued_at,
            file=name,
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf),
            page_count=pages,
            render_seconds=round(seconds, 3),
            audit_chain_ok=chain.ok,
            audit_broken_at=chain.broken_at,
            attempts=report.attempts + 1,
            error="",
        )
        audit_record(
            organisation=organisation,
            actor=None,
            verb="report.rendered",
            target=report,
            target_label=str(report.pk),
            after={"pages": pages, "sha256": hashlib.sha256(pdf).hexdigest()},
        )
        _tell_requester(report)
        emit(organisation, "report.ready", _webhook_data(report))
    return "ready"


def _webhook_data(report: AttestationReport) -> dict[str, Any]:
    from django.urls import reverse

    url = reverse("reports:detail", kwargs={"org_slug": report.organisation.slug, "report_id": report.pk})
    return {"id": str(report.pk), "title": report.assessment.title, "url": url}


def _tell_requester(report: AttestationReport) -> None:
    """Whoever asked for the report hears it is ready (straight away by default)."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from portal.notifications import notify

    if report.requested_by is None:
        return
    organisation = report.organisation
    notify(
        kind="report_ready",
        recipients=[report.requested_by],
        organisation=organisation,
        actor=None,
        text=_("Your attestation report on %(title)s for %(org)s is ready to download")
        % {"title": report.assessment.title, "org": organisation.name},
        url=reverse("reports:detail", kwargs={"org_slug": organisation.slug, "report_id": report.pk}),
        key=f"report-ready:{report.pk}",
        target=report,
    )


@app.task
def sweep_reports() -> int:
    """Re-enqueue reports whose task was lost, and renders stuck after a killed worker."""
    now = timezone.now()
    with scopes_disabled():
        AttestationReport.objects.filter(status=ReportStatus.RENDERING, claimed_at__lt=now - STUCK_AFTER).update(
            status=ReportStatus.QUEUED
        )
        stuck = list(
            AttestationReport.objects.filter(
                status=ReportStatus.QUEUED, queued_at__lt=now - timedelta(minutes=2)
            ).values_list("id", "organisation_id")[:200]
        )
        AttestationReport.objects.filter(pk__in=[pk for pk, _org in stuck]).update(queued_at=now)
    for report_id, organisation_id in stuck:
        render_report_task.publish(organisation_id=str(organisation_id), report_id=str(report_id))
    return len(stuck)
