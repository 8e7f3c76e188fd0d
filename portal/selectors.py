"""Reads for the portal app. Each runs a fixed number of queries whatever the data size."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, cast

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet, Window
from django.utils import timezone
from django_scopes import scopes_disabled

from portal.activity import ActivityLine, activity_lines, with_subject_titles
from portal.models import AuditEvent, Invitation, Membership, Organisation, User


def memberships_of_user(user: User, *, with_unread: bool = False) -> list[Membership]:
    """Every active membership of one person, across organisations (for the switcher). `with_unread`
    adds the person's unread notifications to each row (`unread_notifications`), in the same query."""
    now = timezone.now()
    with scopes_disabled():
        qs = (
            Membership.objects.filter(user=user)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .select_related("organisation")
            .order_by("organisation__name")
        )
        if with_unread:
            from django.db.models import Subquery

            from portal.notifications import unread_queryset

            unread = unread_queryset(user).order_by().values("recipient_id").annotate(n=Count("id")).values("n")
            qs = qs.annotate(unread_notifications=Subquery(unread))
        memberships = list(qs)
    for membership in memberships:
        membership.user = user  # already loaded: no query to read it back
    return memberships


def open_invitations_queryset(email: str) -> QuerySet[Invitation]:
    """Invitations to join an organisation still open for this address (run it with scopes disabled)."""
    return Invitation.objects.filter(
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )


def open_invitations_for_email(email: str) -> list[Invitation]:
    """Invitations waiting for this person, across organisations."""
    with scopes_disabled():
        return list(open_invitations_queryset(email).select_related("organisation", "invited_by"))


def organisation_members(organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def organisation_members_head(
    organisation: Organisation, *, limit: int, facts: dict[str, Any] | None = None
) -> tuple[list[Membership], int]:
    """The first `limit` members and how many there are in all, in one query (a window count).

    `facts`: organisation-wide conditions (`{name: Exists(...)}`, e.g. the dashboard's getting-started
    steps) evaluated in the same query, read back with `facts_of`. They do not depend on the row, so
    PostgreSQL evaluates each once (an InitPlan); the viewer is a member, so there is always a row."""
    members = list(organisation_members(organisation).annotate(total=Window(Count("pk")), **(facts or {}))[:limit])
    total: int = members[0].total if members else 0
    return cast(list[Membership], members), total


def facts_of(members: list[Membership], names: Any) -> dict[str, bool]:
    """The `facts` that `organisation_members_head` read, by name (all false when there was no row)."""
    first = members[0] if members else None
    return {name: bool(getattr(first, name, False)) for name in names}


def organisation_invitations(organisation: Organisation, *, open_only: bool = True) -> QuerySet[Invitation]:
    qs = Invitation.objects.filter(organisation=organisation).select_related("invited_by")
    if open_only:
        qs = qs.filter(accepted_at__isnull=True, revoked_at__isnull=True)
    return qs.order_by("-created_at")


def recent_activity(organisation: Organisation, *, limit: int = 8, window: int = 80) -> list[ActivityLine]:
    """The latest `limit` lines of the feed, in words, from the latest `window` events in one query
    (a run of autosaves reads as one line, so more events are read than lines shown). The feed shows
    changes: an auditor's page views and downloads are in the audit trail only."""
    from portal.audit import VIEW_VERBS

    events = with_subject_titles(
        AuditEvent.objects.filter(organisation=organisation)
        .exclude(verb__in=VIEW_VERBS)
        .select_related("actor")
        .order_by("-sequence")
    )[:window]
    return activity_lines(events, limit=limit)


def audit_events_page(
    organisation: Organisation, *, filters: dict[str, Any], page: str | int | None, per_page: int
) -> Page:
    paginator = Paginator(audit_events(organisation, filters=filters), per_page)
    return paginator.get_page(page)


def audit_events(organisation: Organisation, *, filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    """The trail, newest first, narrowed by verb, a search term and a date range (web and API)."""
    qs = with_subject_titles(AuditEvent.objects.filter(organisation=organisation).select_related("actor"))
    if filters.get("verb"):
        qs = qs.filter(verb=filters["verb"])
    if filters.get("q"):
        term = filters["q"]
        qs = qs.filter(
            Q(actor_label__icontains=term)
            | Q(target_label__icontains=term)
            | Q(verb__icontains=term)
            | Q(actor__full_name__icontains=term)
        )
    tz = timezone.get_current_timezone()
    date_from: date | None = filters.get("date_from")
    date_to: date | None = filters.get("date_to")
    if date_from:
        qs = qs.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        qs = qs.filter(created_at__lte=datetime.combine(date_to, time.max, tzinfo=tz))
    return qs.order_by("-sequence")
