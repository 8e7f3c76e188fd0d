"""Requesting, revoking and verifying attestation reports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from assessments.models import Assessment, AssessmentStatus
from portal.addresses import over_minute_limit
from portal.audit import audit_record
from portal.models import Membership, Organisation, User
from portal.roles import role_can
from portal.webhooks import emit
from reports.models import AttestationReport, ReportStatus

VERIFY_LIMIT_PER_MINUTE = 30
VERIFY_MAX_BYTES = 50 * 1024 * 1024


def reportable_assessments(organisation: Organisation) -> QuerySet[Assessment]:
    """The assessments a report may be requested for: the organisation's final ones, newest first."""
    return Assessment.objects.filter(organisation=organisation, status=AssessmentStatus.FINAL).order_by("-finalised_at")


def report_can_revoke(membership: Membership) -> bool:
    """`revoke_report` in portal.roles: owners only (the verify page then says so, with the reason)."""
    return membership.can("revoke_report")


def report_request(*, organisation: Organisation, actor: User, assessment: Assessment) -> AttestationReport:
    """Queue a report for a final assessment; a worker renders it after commit."""
    from reports.tasks import render_report_task

    with scope(organisation=organisation), transaction.atomic():
        membership = Membership.objects.filter(organisation=organisation, user=actor).first()
        if membership is None or not membership.is_active() or not role_can(membership.role, "request_report"):
            raise ValidationError(_("Only owners and managers request attestation reports."))
        if assessment.organisation_id != organisation.pk or assessment.status != AssessmentStatus.FINAL:
            raise ValidationError(_("Reports are made from a final self-assessment, agreed with the workforce."))
        report = AttestationReport.objects.create(organisation=organisation, assessment=assessment, requested_by=actor)
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="report.requested",
            target=report,
            target_label=assessment.title,
            after={"report": str(report.pk)},
        )
        render_report_task.publish(organisation_id=str(organisation.pk), report_id=str(report.pk))
    return report


def report_revoke(*, report: AttestationReport, actor: User, reason: str) -> AttestationReport:
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the report is being revoked: the verify page shows it")})
    with scope(organisation=report.organisation), transaction.atomic():
        membership = Membership.objects.filter(organisation=report.organisation, user=actor).first()
        if membership is None or not report_can_revoke(membership):
            raise ValidationError(_("Only an owner revokes a report."))
        updated = AttestationReport.objects.filter(pk=report.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=actor, revoked_reason=reason.strip()
        )
        if not updated:
            raise ValidationError(_("This report has already been revoked."))
        report.refresh_from_db()
        audit_record(
            organisation=report.organisation,
            actor=actor,
            verb="report.revoked",
            target=report,
            target_label=str(report.pk),
            after={"reason": report.revoked_reason},
        )
        url = reverse("reports:detail", kwargs={"org_slug": report.organisation.slug, "report_id": report.pk})
        emit(
            report.organisation, "report.revoked", {"id": str(report.pk), "title": report.assessment.title, "url": url}
        )
    return report


# How many of an assessment's issued reports the verify page lists (newest first).
HISTORY_LIMIT = 20


@dataclass(frozen=True)
class Verification:
    """What the verify page says about one report, everything taken into account.

    `status`, strongest first: revoked, expired, superseded (by a newer issued report that is not
    revoked), audit_failed (issued while the audit trail's check failed), valid; not_ready before it
    is issued. A newer report that was revoked does not supersede: it is listed in `newer_revoked`,
    so a reader sees it existed and why it was withdrawn. `history` is the assessment's issued reports
    with their own statuses, newest first (at most HISTORY_LIMIT)."""

    report: AttestationReport
    status: str
    superseded_by: AttestationReport | None = None
    newer_revoked: tuple[AttestationReport, ...] = ()
    history: tuple[tuple[AttestationReport, str], ...] = ()

    @property
    def audit_failed(self) -> bool:
        """Issued with a failed audit-trail check (whatever its status now)."""
        return self.status != "not_ready" and self.report.audit_chain_ok is False


def report_verification(report_id: Any) -> Verification | None:
    """Public: the status of a report by its id (cross-tenant on purpose, read-only)."""
    with scopes_disabled():
        report = AttestationReport.objects.select_related("organisation", "assessment").filter(pk=report_id).first()
    if report is None:
        return None
    return verification_of(report)


def _newer(other: AttestationReport, report: AttestationReport) -> bool:
    """Issued after `report` (both are ready, so both have an issue moment)."""
    return bool(other.rendered_at and report.rendered_at and other.rendered_at > report.rendered_at)


def _status_among(
    report: AttestationReport, issued: list[AttestationReport], now: Any
) -> tuple[str, AttestationReport | None]:
    """A ready report's status given its assessment's issued reports (newest first)."""
    if report.revoked_at:
        return "revoked", None
    if report.expires_at <= now:
        return "expired", None
    current = next((r for r in issued if _newer(r, report) and r.revoked_at is None), None)
    if current is not None:
        return "superseded", current
    if report.audit_chain_ok is False:
        return "audit_failed", None
    return "valid", None


def verification_of(report: AttestationReport) -> Verification:
    """The status of a report already read (one query: the assessment's issued reports)."""
    if report.status != ReportStatus.READY:
        return Verification(report, "not_ready")
    with scopes_disabled():
        issued = list(
            AttestationReport.objects.filter(
                organisation=report.organisation_id, assessment=report.assessment_id, status=ReportStatus.READY
            ).order_by("-rendered_at", "-pk")[:HISTORY_LIMIT]
        )
    now = timezone.now()
    status, superseded_by = _status_among(report, issued, now)
    newer_revoked = tuple(r for r in issued if _newer(r, report) and r.revoked_at)
    history = tuple((r, _status_among(r, issued, now)[0]) for r in issued)
    return Verification(report, status, superseded_by, newer_revoked, history)


def verifications_of(reports: list[AttestationReport]) -> dict[Any, str]:
    """Each listed report's status as its verify page gives it (`verification_of`'s rule), for the
    whole list in one query: the issued reports of the assessments the list covers."""
    ready = [r for r in reports if r.status == ReportStatus.READY]
    statuses: dict[Any, str] = {r.pk: "not_ready" for r in reports}
    if not ready:
        return statuses
    with scopes_disabled():
        issued = list(
            AttestationReport.objects.filter(
                organisation__in={r.organisation_id for r in ready},
                assessment__in={r.assessment_id for r in ready},
                status=ReportStatus.READY,
            )
            .only("pk", "assessment_id", "rendered_at", "revoked_at")
            .order_by("-rendered_at", "-pk")
        )
    by_assessment: dict[Any, list[AttestationReport]] = {}
    for other in issued:
        by_assessment.setdefault(other.assessment_id, []).append(other)
    now = timezone.now()
    for report in ready:
        statuses[report.pk] = _status_among(report, by_assessment.get(report.assessment_id, []), now)[0]
    return statuses


class ReportNotReady(Exception):
    """The report has no PDF to download yet (queued or rendering), or rendering failed."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class ReportDownload:
    handle: IO[bytes]
    filename: str


def report_download(*, report: AttestationReport, membership: Membership, actor: User) -> ReportDownload:
    """Open a ready report's PDF for download. An auditor's download is recorded in the audit trail.

    Raises ReportNotReady when there is no PDF yet; FileNotFoundError or ValueError when the stored
    file is missing."""
    if report.status != ReportStatus.READY:
        raise ReportNotReady(report.status)
    if actor.pk == report.requested_by_id and report.first_downloaded_at is None:
        # The requester has it now: it leaves their "Your work" (a conditional UPDATE: only the first counts).
        with scope(organisation=report.organisation):
            now = timezone.now()
            if AttestationReport.objects.filter(pk=report.pk, first_downloaded_at__isnull=True).update(
                first_downloaded_at=now
            ):
                report.first_downloaded_at = now
    if membership.role == "auditor":
        audit_record(
            organisation=report.organisation,
            actor=actor,
            verb="auditor.downloaded",
            target=report,
            target_label=f"attestation report {report.pk}",
        )
    handle = report.file.open("rb")
    return ReportDownload(handle, f"attestation-{report.organisation.slug}-{str(report.pk)[:8]}.pdf")


def verify_rate_limited(requester: str) -> bool:
    """Public verification: at most VERIFY_LIMIT_PER_MINUTE checks a minute per requester (a signed-in
    person, else a client address: `portal.addresses.requester_key`)."""
    return over_minute_limit("verify", requester, VERIFY_LIMIT_PER_MINUTE)


def file_matches(report: AttestationReport, upload: IO[bytes], *, max_bytes: int | None = None) -> bool:
    """Byte-for-byte check of an uploaded PDF against the stored hash."""
    max_bytes = VERIFY_MAX_BYTES if max_bytes is None else max_bytes
    digest = hashlib.sha256()
    read = 0
    for chunk in iter(lambda: upload.read(64 * 1024), b""):
        read += len(chunk)
        if read > max_bytes:
            return False
        digest.update(chunk)
    return digest.hexdigest() == report.sha256
