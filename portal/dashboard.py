"""The organisation dashboard is built from panels that apps register, so portal imports none of them.

An app registers a function in its AppConfig.ready(); the dashboard calls each one with the request
and renders the template it names with the context it returns (or skips it when it returns None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import IntegerField, QuerySet, Value
from django.http import HttpRequest
from django_scopes import scopes_disabled


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any]


PanelProvider = Callable[[HttpRequest], Panel | None]
_providers: list[tuple[int, str, PanelProvider]] = []


def register_panel(*, order: int, name: str, provider: PanelProvider) -> None:
    """Add a dashboard panel. Registering the same name twice replaces it (reloads, tests)."""
    global _providers
    _providers = [p for p in _providers if p[1] != name] + [(order, name, provider)]
    _providers.sort(key=lambda p: p[0])


def dashboard_panels(request: HttpRequest) -> list[Panel]:
    panels = []
    for _order, _name, provider in _providers:
        panel = provider(request)
        if panel is not None:
            panels.append(panel)
    return panels


# The panels show the organisation's own rows, worded for a role, as of today: rendered once and
# kept per organisation version (portal.versions: every audited change bumps it, and the services that
# write what a panel shows without an audit event bump it themselves), role, date, language and time
# zone. Nothing in a panel is personal (what a person can do follows from their role).
PANELS_TIMEOUT = 24 * 3600


def _panels_key(request: HttpRequest) -> str:
    from django.utils import timezone
    from django.utils.translation import get_language

    from portal.versions import versions

    organisation = request.organisation  # type: ignore[attr-defined]
    membership = request.membership  # type: ignore[attr-defined]
    parts = (
        organisation.pk,
        organisation.slug,
        membership.role,
        timezone.localdate().isoformat(),
        get_language() or "",
        timezone.get_current_timezone_name(),
        versions(organisations=[organisation]),
    )
    return ":".join(str(p) for p in parts)


def _cached(request: HttpRequest, name: str, build: Callable[[], Any]) -> Any:
    from django.core.cache import cache

    key = f"dashboard:{name}:{_panels_key(request)}"
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, timeout=PANELS_TIMEOUT)
    return value


def dashboard_panels_html(request: HttpRequest) -> list[str]:
    """The dashboard's panels, rendered: one cache read when nothing they show has changed."""
    from django.template.loader import render_to_string

    return _cached(
        request,
        "panels",
        lambda: [render_to_string(p.template, p.context, request=request) for p in dashboard_panels(request)],
    )


def dashboard_activity_html(request: HttpRequest) -> str:
    """The dashboard's "Recent activity", rendered: the latest audit events in words, with their times
    as moments (not "3 minutes ago"), so it changes only with a new event (each one bumps the
    organisation) or a name in it (renaming oneself bumps one's organisations)."""
    from django.template.loader import render_to_string

    from portal.selectors import recent_activity

    organisation = request.organisation  # type: ignore[attr-defined]
    return _cached(
        request,
        "activity",
        lambda: render_to_string(
            "portal/_dashboard_activity.html", {"activity": recent_activity(organisation)}, request=request
        ),
    )


# "Your work": what waits for a person across every organisation they belong to. Each app registers
# a provider (the items, for the page) and a counter (the same items as querysets, for the count in
# the navigation on every page: all of them are counted together in one query).


@dataclass(frozen=True)
class WorkItem:
    """One thing that needs a person: what it is, what to do about it, by when, and where."""

    kind: str  # what sort of thing it is, e.g. "supplier_request", "signature", "action"
    organisation: Any  # the Organisation it is for; None when sent to the person's address, no organisation yet
    title: str  # what it is about, e.g. the assessment's title
    action: str  # what to do, in words ("Review and countersign")
    url: str  # the page where it is done
    due: date | None = None
    detail: str = ""  # a line of context (who asked, when it expires)
    obj: Any = field(default=None, compare=False, repr=False)  # the row itself, for its own app's use

    def is_overdue(self, today: date) -> bool:
        return self.due is not None and self.due < today


WorkProvider = Callable[[Any, list[Any]], list[WorkItem]]
# Querysets whose rows are exactly the provider's items (any model, any columns: only rows are counted).
WorkCounter = Callable[[Any, list[Any]], list[QuerySet[Any]]]
_awaiting: dict[str, tuple[WorkProvider, WorkCounter]] = {}


def register_awaiting(*, name: str, provider: WorkProvider, counter: WorkCounter) -> None:
    """`provider` lists what waits for a person (`WorkItem`s); `counter` returns querysets of the same
    items, which the navigation counts in one query on every page. Registering a name again replaces it."""
    _awaiting[name] = (provider, counter)


def awaiting_count(user: Any, memberships: list[Any]) -> int:
    """How many items `awaiting_items` would list, in one query (none when nothing can wait)."""
    # Deliberately across organisations: each counter filters by the person's own memberships or address.
    with scopes_disabled():
        querysets = [qs for _provider, counter in _awaiting.values() for qs in counter(user, memberships)]
        if not querysets:
            return 0
        rows = [qs.order_by().values_list(Value(1, output_field=IntegerField())) for qs in querysets]
        return rows[0].union(*rows[1:], all=True).count() if len(rows) > 1 else rows[0].count()


def header_counts(user: Any, memberships: list[Any]) -> tuple[int, int]:
    """What the navigation shows on every page, in one query: how many items `awaiting_items` would list,
    and how many of the person's notifications are unread (two scalar sub-selects of one SELECT)."""
    from django.db import connection

    from portal.notifications import unread_queryset

    with scopes_disabled():
        querysets = [qs for _provider, counter in _awaiting.values() for qs in counter(user, memberships)]
        one = Value(1, output_field=IntegerField())
        parts: list[str] = []
        params: list[Any] = []
        if querysets:
            rows = [qs.order_by().values_list(one) for qs in querysets]
            awaiting = rows[0].union(*rows[1:], all=True) if len(rows) > 1 else rows[0]
            sql, awaiting_params = awaiting.query.sql_with_params()
            parts.append(f"(SELECT COUNT(*) FROM ({sql}) awaiting)")  # noqa: S608 - SQL compiled by the ORM, values as parameters
            params.extend(awaiting_params)
        else:
            parts.append("0")
        sql, unread_params = unread_queryset(user).order_by().values_list(one).query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) unread)")  # noqa: S608 - SQL compiled by the ORM, values as parameters
        params.extend(unread_params)
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), params)
            awaiting_n, unread_n = cursor.fetchone()
    return int(awaiting_n), int(unread_n)


def awaiting_items(user: Any, memberships: list[Any]) -> list[WorkItem]:
    """Everything waiting for the person, soonest due first (undated last), in a stable order."""
    items = [item for provider, _counter in _awaiting.values() for item in provider(user, memberships)]
    return sorted(items, key=lambda i: (i.due is None, i.due or date.min, i.title.lower(), i.action))


def awaiting_by_organisation(items: list[WorkItem]) -> list[tuple[Any, list[WorkItem]]]:
    """The items grouped by organisation: what was sent to the person's address first, then by name."""
    groups: dict[Any, list[WorkItem]] = {}
    for item in items:
        groups.setdefault(item.organisation, []).append(item)
    return sorted(groups.items(), key=lambda g: (g[0] is not None, g[0].name.lower() if g[0] is not None else ""))


# --- The portal's own kind: invitations to join an organisation ------------------------------------


def _invitations_queryset(user: Any) -> QuerySet[Any] | None:
    from portal.selectors import open_invitations_queryset

    return open_invitations_queryset(user.email) if getattr(user, "email", "") else None


def invitation_items(user: Any, memberships: list[Any]) -> list[WorkItem]:
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.formats import date_format
    from django.utils.translation import gettext as _

    from portal.services import invitation_token

    with scopes_disabled():
        qs = _invitations_queryset(user)
        invitations = [] if qs is None else list(qs.select_related("organisation", "invited_by"))
    return [
        WorkItem(
            kind="invitation",
            organisation=invitation.organisation,
            title=_("Invitation to join %(org)s as %(role)s")
            % {"org": invitation.organisation.name, "role": invitation.get_role_display()},
            action=_("Accept or decline the invitation"),
            url=reverse("invitation_accept", kwargs={"token": invitation_token(invitation)}),
            detail=_("The invitation expires on %(date)s")
            % {"date": date_format(timezone.localtime(invitation.expires_at), "j F Y")},
            obj=invitation,
        )
        for invitation in invitations
    ]


def invitation_count(user: Any, memberships: list[Any]) -> list[QuerySet[Any]]:
    qs = _invitations_queryset(user)
    return [] if qs is None else [qs]


# The "getting started" list a new organisation sees on its dashboard: ordered steps that apps
# register (portal imports none of them), each ticked once its condition holds. Every condition is
# an EXISTS over the organisation's rows, so the whole list costs no query of its own: the dashboard
# evaluates them all in a query it runs anyway (see `portal.selectors.organisation_members_head`).
DoneCondition = Callable[[Any], Any]  # organisation -> an Exists(...) expression


@dataclass(frozen=True)
class GettingStartedStep:
    name: str
    order: int
    label: Any  # a lazy translation
    action: str  # the portal.roles action that does it
    url_name: str  # reversed with org_slug
    done: DoneCondition
    query: str = ""  # appended to the link (e.g. "?role=workforce_rep")


_steps: dict[str, GettingStartedStep] = {}


def register_getting_started(
    *,
    name: str,
    order: int,
    label: Any,
    action: str,
    url_name: str,
    done: DoneCondition,
    query: str = "",
) -> None:
    """Add a step to the getting-started list. `done(organisation)` returns an `Exists(...)` that is
    true once the step is done. Registering the same name twice replaces it."""
    _steps[name] = GettingStartedStep(name, order, label, action, url_name, done, query)


def getting_started_steps() -> list[GettingStartedStep]:
    return sorted(_steps.values(), key=lambda s: s.order)


def getting_started_conditions(organisation: Any) -> dict[str, Any]:
    """`{annotation name: Exists(...)}` for every step, to annotate onto a query of the caller's."""
    return {f"getting_started_{s.name}": s.done(organisation) for s in getting_started_steps()}


@dataclass(frozen=True)
class GettingStartedItem:
    label: str
    done: bool
    url: str | None  # None when this person's role cannot do it
    who: str  # who can, when this person cannot


def getting_started_items(membership: Any, facts: dict[str, bool]) -> list[GettingStartedItem] | None:
    """The list for this person, from the facts `getting_started_conditions` found; None when every
    step is done, or when this person's role can do none of them (they are not asked to start)."""
    from django.urls import reverse

    from portal.roles import PERMISSIONS, Role

    steps = getting_started_steps()
    if not steps or all(facts.get(f"getting_started_{s.name}") for s in steps):
        return None
    if not any(membership.can(s.action) for s in steps):
        return None
    slug = membership.organisation.slug
    items = []
    for step in steps:
        allowed = membership.can(step.action)
        roles = [str(Role(r).label) for r in Role if r in PERMISSIONS[step.action]]
        items.append(
            GettingStartedItem(
                label=str(step.label),
                done=bool(facts.get(f"getting_started_{step.name}")),
                url=reverse(step.url_name, kwargs={"org_slug": slug}) + step.query if allowed else None,
                who=_who_does(roles),
            )
        )
    return items


def _who_does(roles: list[str]) -> str:
    from django.utils.translation import gettext as _

    names = (
        roles[0] if len(roles) == 1 else _("%(some)s or %(last)s") % {"some": ", ".join(roles[:-1]), "last": roles[-1]}
    )
    return _("Done by: %(roles)s") % {"roles": names}


def workforce_rep_invited(organisation: Any) -> Any:
    """A workforce representative belongs to the organisation, or an invitation to one is open."""
    from django.db.models import BooleanField, Exists, ExpressionWrapper, Q
    from django.utils import timezone

    from portal.models import Invitation, Membership
    from portal.roles import Role

    member = Membership.objects.filter(organisation=organisation, role=Role.WORKFORCE_REP)
    invited = Invitation.objects.filter(
        organisation=organisation,
        role=Role.WORKFORCE_REP,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    return ExpressionWrapper(Q(Exists(member)) | Q(Exists(invited)), output_field=BooleanField())
