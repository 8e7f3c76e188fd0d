"""What the principles app puts on a person's "Your work" page (portal.dashboard.register_awaiting):
the commitment, a year on, waiting to be reaffirmed by those who may sign it.

One hand-written SELECT serves both the list (the page) and the count (the navigation, on every page),
so the two always agree. It is filtered by the person's own active memberships with the role that signs the
commitment (`sign_commitment` in portal.roles), and runs with scopes disabled: one page spans
organisations.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import cast

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.dashboard import NULL_DATE, NULL_TEXT, WorkContext, WorkItem, WorkQuery, WorkRow, db_value, kind_sql, sql_in
from principles.models import Commitment, CommitmentStatus, reaffirmation_signed_by


def reaffirm_queries(context: WorkContext) -> list[WorkQuery]:
    """Active commitments signed 11 months ago or more, in organisations where the person signs it."""
    signing = context.organisation_ids(action="sign_commitment")
    if not signing:
        return []
    orgs, params = sql_in(signing)
    day_after = reaffirmation_signed_by(context.today) + timedelta(days=1)
    before = timezone.make_aware(datetime.combine(day_after, time.min))
    sql = (
        f"SELECT {kind_sql('commitment_reaffirm')}, x.organisation_id, x.id, f.title, {NULL_DATE}, x.signed_at,"  # noqa: S608 - constants
        f" x.status, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}"
        " FROM principles_commitment x JOIN principles_framework f ON f.id = x.framework_id"
        f" WHERE x.organisation_id IN {orgs} AND x.status = %s AND x.signed_at < %s"
    )
    return [WorkQuery(sql, [*params, CommitmentStatus.ACTIVE.value, db_value(before)])]


def reaffirm_item(row: WorkRow, context: WorkContext) -> WorkItem:
    organisation = context.organisation(row.organisation_id)
    signed_at = cast(datetime, row.at)  # NOT NULL for an active commitment
    due = Commitment(status=row.s1 or "", signed_at=signed_at).reaffirmation_due
    return WorkItem(
        kind="commitment_reaffirm",
        organisation=organisation,
        title=_("Commitment to the %(framework)s") % {"framework": row.title},
        action=_("Reaffirm the commitment"),
        url=reverse("principles:commitment_reaffirm", kwargs={"org_slug": organisation.slug}),
        due=due,
        detail=_("Signed on %(signed)s: the commitment is reaffirmed every year, by %(due)s")
        % {
            "signed": date_format(timezone.localtime(signed_at), "j F Y"),
            "due": date_format(due, "j F Y") if due else "",
        },
    )
