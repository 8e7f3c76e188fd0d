"""What the reports app adds to an organisation's data export: report metadata and the PDFs."""

from __future__ import annotations

from typing import Any

from portal.exports import ExportFile, person
from portal.models import Organisation
from reports.models import AttestationReport, ReportStatus


def _reports(organisation: Organisation) -> Any:
    return (
        AttestationReport.objects.filter(organisation=organisation)
        .select_related("assessment", "requested_by", "revoked_by")
        .order_by("requested_at")
    )


def report_path(report: AttestationReport) -> str:
    return f"reports/{report.pk}.pdf"


def report_rows(organisation: Organisation) -> list[dict[str, Any]]:
    return [
        {
            "id": r.pk,
            "assessment": {"id": r.assessment_id, "title": r.assessment.title},
            "status": r.status,
            "requested_by": person(r.requested_by),
            "requested_at": r.requested_at,
            "rendered_at": r.rendered_at,
            "sha256": r.sha256,
            "size": r.size,
            "page_count": r.page_count,
            "expires_at": r.expires_at,
            "revoked_at": r.revoked_at,
            "revoked_by": person(r.revoked_by),
            "revoked_reason": r.revoked_reason,
            "first_downloaded_at": r.first_downloaded_at,
            "file": report_path(r) if r.status == ReportStatus.READY and r.file else None,
        }
        for r in _reports(organisation)
    ]


def report_files(organisation: Organisation) -> list[ExportFile]:
    return [
        ExportFile(path=report_path(r), storage_name=r.file.name)
        for r in _reports(organisation).filter(status=ReportStatus.READY).exclude(file="")
    ]
