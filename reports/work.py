"""What the reports app puts on a person's "Your work" page (portal.dashboard.register_awaiting): an
attestation report they requested, ready and not yet downloaded by them, for 14 days after it was issued.

One hand-written SELECT serves both the list (the page) and the count (the navigation), so they always agree.
Only the person who requested the report sees it, and only while they are an active member whose role
requests reports (`request_report` in portal.roles). Scopes are disabled: one page spans organisations.
"""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.dashboard import NULL_DATE, NULL_TEXT, WorkContext, WorkItem, WorkQuery, WorkRow, db_value, kind_sql, sql_in
from reports.models import ReportStatus

READY_FOR_DAYS = 14


def ready_report_queries(context: WorkContext) -> list[WorkQuery]:
    orgs = context.organisation_ids(action="request_report")
    if not orgs or not getattr(context.user, "pk", None):
        return []
    in_orgs, params = sql_in(orgs)
    sql = (
        f"SELECT {kind_sql('reports_ready')}, x.organisation_id, x.id, a.title, {NULL_DATE}, x.rendered_at,"  # noqa: S608 - constants
        f" {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}"
        " FROM reports_attestationreport x JOIN assessments_assessment a ON a.id = x.assessment_id"
        f" WHERE x.organisation_id IN {in_orgs} AND x.requested_by_id = %s AND x.status = %s"
        " AND x.first_downloaded_at IS NULL AND x.revoked_at IS NULL AND x.rendered_at > %s"
    )
    since = context.now - timedelta(days=READY_FOR_DAYS)
    return [WorkQuery(sql, [*params, context.user.pk, ReportStatus.READY.value, db_value(since)])]


def ready_report_item(row: WorkRow, context: WorkContext) -> WorkItem:
    organisation = context.organisation(row.organisation_id)
    return WorkItem(
        kind="report_ready",
        organisation=organisation,
        title=row.title or "",
        action=_("Download the attestation report"),
        url=reverse("reports:detail", kwargs={"org_slug": organisation.slug, "report_id": row.id}),
        due=timezone.localdate(row.at) + timedelta(days=READY_FOR_DAYS),
        detail=_("The report you requested was issued on %(date)s")
        % {"date": date_format(timezone.localtime(row.at), "j F Y")},
    )
