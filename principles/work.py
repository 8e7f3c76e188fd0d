"""What the principles app puts on a person's "Your work" page (portal.dashboard.register_awaiting):
the commitment, a year on, waiting to be reaffirmed by those who may sign it.

One queryset serves both the list (the page) and the count (the navigation, on every page), so the
two always agree. It is filtered by the person's own active memberships with the role that signs the
commitment (`sign_commitment` in portal.roles), and runs with scopes disabled: one page spans
organisations.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from portal.dashboard import WorkItem
from portal.roles import role_can
from principles.models import Commitment, CommitmentStatus, reaffirmation_signed_by


def _signing(memberships: list[Any]) -> list[Any]:
    return [m.organisation_id for m in memberships if m.is_active() and role_can(m.role, "sign_commitment")]


def _reaffirm_queryset(user: Any, memberships: list[Any]) -> QuerySet[Commitment] | None:
    """Active commitments signed 11 months ago or more, in organisations where the person signs it."""
    signing = _signing(memberships)
    if not signing:
        return None
    day_after = reaffirmation_signed_by(timezone.localdate()) + timedelta(days=1)
    before = timezone.make_aware(datetime.combine(day_after, time.min))
    return Commitment.objects.filter(organisation_id__in=signing, status=CommitmentStatus.ACTIVE, signed_at__lt=before)


def reaffirm_items(user: Any, memberships: list[Any]) -> list[WorkItem]:
    items = []
    # The organisations come with the memberships: no need to read them again with each row.
    organisations = {m.organisation_id: m.organisation for m in memberships}
    with scopes_disabled():
        qs = _reaffirm_queryset(user, memberships)
        if qs is None:
            return []
        for commitment in qs.select_related("framework"):
            commitment.organisation = organisations[commitment.organisation_id]
            due = commitment.reaffirmation_due
            items.append(
                WorkItem(
                    kind="commitment_reaffirm",
                    organisation=commitment.organisation,
                    title=_("Commitment to the %(framework)s") % {"framework": commitment.framework.title},
                    action=_("Reaffirm the commitment"),
                    url=reverse("principles:commitment_reaffirm", kwargs={"org_slug": commitment.organisation.slug}),
                    due=due,
                    detail=_("Signed on %(signed)s: the commitment is reaffirmed every year, by %(due)s")
                    % {
                        "signed": date_format(timezone.localtime(commitment.signed_at), "j F Y"),
                        "due": date_format(due, "j F Y") if due else "",
                    },
                    obj=commitment,
                )
            )
    return items


def reaffirm_count(user: Any, memberships: list[Any]) -> list[QuerySet[Any]]:
    qs = _reaffirm_queryset(user, memberships)
    return [] if qs is None else [qs]
