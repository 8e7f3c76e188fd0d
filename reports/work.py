"""What the reports app puts on a person's "Your work" page (portal.dashboard.register_awaiting): an
attestation report they requested, ready and not yet downloaded by them, for 14 days after it was issued.

One queryset serves both the list (the page) and the count (the navigation), so they always agree.
Only the person who requested the report sees it, and only while they are an active member whose role
requests reports (`request_report` in portal.roles). Scopes are disabled: one page spans organisations.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from portal.dashboard import WorkItem
from portal.roles import role_can
from reports.models import AttestationReport, ReportStatus

READY_FOR_DAYS = 14


def _reporting(memberships: list[Any]) -> list[Any]:
    return [m.organisation_id for m in memberships if m.is_active() and role_can(m.role, "request_report")]


def _ready_queryset(user: Any, memberships: list[Any]) -> QuerySet[AttestationReport] | None:
    orgs = _reporting(memberships)
    if not orgs or not getattr(user, "pk", None):
        return None
    return AttestationReport.objects.filter(
        organisation_id__in=orgs,
        requested_by=user,
        status=ReportStatus.READY,
        first_downloaded_at__isnull=True,
        revoked_at__isnull=True,
        rendered_at__gt=timezone.now() - timedelta(days=READY_FOR_DAYS),
    )


def ready_report_items(user: Any, memberships: list[Any]) -> list[WorkItem]:
    with scopes_disabled():
        qs = _ready_queryset(user, memberships)
        if qs is None:
            return []
        reports = list(qs.select_related("assessment"))
    # The organisations come with the memberships: no need to read them again with each row.
    organisations = {m.organisation_id: m.organisation for m in memberships}
    for report in reports:
        report.organisation = organisations[report.organisation_id]
    return [
        WorkItem(
            kind="report_ready",
            organisation=report.organisation,
            title=report.assessment.title,
            action=_("Download the attestation report"),
            url=reverse("reports:detail", kwargs={"org_slug": report.organisation.slug, "report_id": report.pk}),
            due=timezone.localdate(report.rendered_at) + timedelta(days=READY_FOR_DAYS),
            detail=_("The report you requested was issued on %(date)s")
            % {"date": date_format(timezone.localtime(report.rendered_at), "j F Y")},
            obj=report,
        )
        for report in reports
    ]


def ready_report_count(user: Any, memberships: list[Any]) -> list[QuerySet[Any]]:
    qs = _ready_queryset(user, memberships)
    return [] if qs is None else [qs]
