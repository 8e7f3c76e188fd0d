"""The organisation dashboard is built from panels that apps register, so portal imports none of them.

An app registers a function in its AppConfig.ready(); the dashboard calls each one with the request
and renders the template it names with the context it returns (or skips it when it returns None).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, NamedTuple, cast

from django.db.models import IntegerField, Value
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


def _panels_key(request: HttpRequest, *, trail: bool = False) -> str:
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
        versions(organisations=[organisation], trails=[organisation] if trail else []),
    )
    return ":".join(str(p) for p in parts)


def cached_per_organisation(request: HttpRequest, name: str, build: Callable[[], Any], *, trail: bool = False) -> Any:
    """`build()`'s value, kept under `name` per organisation version, role, date, language and time
    zone (and the audit trail's version with `trail`): for a page's part that shows the organisation's
    rows, whose every write is audited or bumps the organisation (portal.versions)."""
    from django.core.cache import cache

    # Hashed: a long slug, time zone and two versions would pass memcached's 250 characters.
    key = "dashboard:" + hashlib.sha256(f"{name}:{_panels_key(request, trail=trail)}".encode()).hexdigest()
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, timeout=PANELS_TIMEOUT)
    return value


def dashboard_panels_html(request: HttpRequest) -> list[str]:
    """The dashboard's panels, rendered: one cache read when nothing they show has changed."""
    from django.template.loader import render_to_string

    return cached_per_organisation(
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
    return cached_per_organisation(
        request,
        "activity",
        lambda: render_to_string(
            "portal/_dashboard_activity.html", {"activity": recent_activity(organisation)}, request=request
        ),
    )


@dataclass(frozen=True)
class DashboardPeople:
    """The dashboard's people: the first members, how many in all, the getting-started steps' facts
    and (for those who manage members) the latest open invitations."""

    members: list[Any]
    member_count: int
    facts: dict[str, bool]
    invitations: list[Any]


def dashboard_people(request: HttpRequest, *, limit: int = 10, with_invitations: bool = False) -> DashboardPeople:
    """Read in two queries, then kept per organisation version like the panels (members, invitations
    and the getting-started steps change only through audited services; a new name or address bumps
    the person's organisations), and only until the first open invitation expires: an invitation's
    status and whether a workforce representative is invited move with the clock. The invitations'
    "invited 25 minutes ago" is written from their time on each request."""
    from django.core.cache import cache
    from django.db.models import Subquery
    from django.utils import timezone

    from portal import selectors
    from portal.models import Invitation

    organisation = request.organisation  # type: ignore[attr-defined]
    key = (
        "dashboard:" + hashlib.sha256(f"people:{limit}:{with_invitations}:{_panels_key(request)}".encode()).hexdigest()
    )
    now = timezone.now()
    entry = cache.get(key)
    if isinstance(entry, tuple) and (entry[0] is None or now < entry[0]):
        return cast(DashboardPeople, entry[1])
    conditions = getting_started_conditions(organisation)
    next_expiry = (
        Invitation.objects.filter(
            organisation=organisation, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        )
        .order_by("expires_at")
        .values("expires_at")[:1]
    )
    members, total = selectors.organisation_members_head(
        organisation, limit=limit, facts={**conditions, "dashboard_until": Subquery(next_expiry)}
    )
    until = getattr(members[0], "dashboard_until", None) if members else None
    people = DashboardPeople(
        members=members,
        member_count=total,
        facts=selectors.facts_of(members, conditions),
        invitations=list(selectors.organisation_invitations(organisation)[:5]) if with_invitations else [],
    )
    timeout = PANELS_TIMEOUT if until is None else max(1, min(PANELS_TIMEOUT, int((until - now).total_seconds())))
    cache.set(key, (until, people), timeout=timeout)
    return people


def audit_trail_table_html(request: HttpRequest, filters: dict[str, Any]) -> str:
    """The audit trail's table of events (or its empty state) for this request's page and filters,
    rendered: one cache read while the trail has no new event. Events never change once recorded; what
    else the rows show moves the versions in the key: every event bumps the trail (an auditor's view
    too), a person's new name bumps the organisations that name them, and moments are written in the
    portal's time zone (the request's time zone and language are in the key). The key holds the whole
    query string, which the pagination links repeat."""
    from django.conf import settings
    from django.template.loader import render_to_string

    from portal.activity import activity_lines
    from portal.selectors import audit_events_page

    organisation = request.organisation  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    query_text = query.urlencode()

    def build() -> str:
        page = audit_events_page(
            organisation, filters=filters, page=request.GET.get("page"), per_page=settings.AUDIT_EVENTS_PER_PAGE
        )
        return render_to_string(
            "portal/_audit_table.html",
            {"page": page, "query": query_text, "lines": activity_lines(page.object_list)},
            request=request,
        )

    return cast(
        str, cached_per_organisation(request, f"audit:{request.path}?{request.GET.urlencode()}", build, trail=True)
    )


# "Your work": what waits for a person across every organisation they belong to. Each app registers
# hand-written SQL for its kinds (`WorkQuery`, one SELECT of `WORK_COLUMNS` each, filtered by the
# person's own memberships or address) and a function that turns a row into a `WorkItem`. Every
# app's SELECTs run as one UNION ALL: the page and the API list its rows, the navigation counts the
# very same statement (`header_counts`), so the count always equals the list. Hand-written, because
# compiling ten ORM querysets cost more than running them (docs/benchmarks.md, run F).


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


# The columns every registered SELECT returns, in this order. `kind` is the registered name (it picks
# the builder); the s-columns are text (cast uuids and numbers), their meaning is the registering app's.
WORK_COLUMNS = ("kind", "organisation_id", "id", "title", "due", "at", "s1", "s2", "s3", "s4", "s5", "s6")
# Typed NULLs: PostgreSQL resolves the types of a UNION's columns pairwise, so an untyped NULL in two
# SELECTs becomes text and no longer matches a third SELECT's date. SQLite takes any type name.
NULL_UUID = "CAST(NULL AS UUID)"
NULL_DATE = "CAST(NULL AS DATE)"
NULL_TS = "CAST(NULL AS TIMESTAMP WITH TIME ZONE)"
NULL_TEXT = "CAST(NULL AS TEXT)"


class WorkRow(NamedTuple):
    kind: str
    organisation_id: uuid.UUID | None
    id: uuid.UUID
    title: str | None
    due: date | None
    at: datetime | None
    s1: str | None
    s2: str | None
    s3: str | None
    s4: str | None
    s5: str | None
    s6: str | None


@dataclass(frozen=True)
class WorkQuery:
    """One SELECT of `WORK_COLUMNS` (no ORDER BY: it becomes a member of a UNION ALL), with its
    parameters adapted by `db_value`."""

    sql: str
    params: list[Any]


@dataclass(frozen=True)
class WorkContext:
    """What every query is computed from, read once a request."""

    user: Any
    memberships: list[Any]
    now: datetime
    today: date

    def organisation_ids(self, roles: Any = None, action: str | None = None) -> list[Any]:
        """The organisations of the person's active memberships (with one of `roles`, or whose role may
        do `action`), in the order of the memberships."""
        from portal.roles import role_can

        return [
            m.organisation_id
            for m in self.memberships
            if m.is_active(self.now)
            and (roles is None or m.role in roles)
            and (action is None or role_can(m.role, action))
        ]

    def organisation(self, organisation_id: Any) -> Any:
        return self._organisations.get(organisation_id)

    def membership(self, organisation_id: Any) -> Any:
        return self._memberships.get(organisation_id)

    @cached_property
    def _organisations(self) -> dict[Any, Any]:
        return {m.organisation_id: m.organisation for m in self.memberships}

    @cached_property
    def _memberships(self) -> dict[Any, Any]:
        return {m.organisation_id: m for m in self.memberships if m.is_active(self.now)}


WorkQueries = Callable[[WorkContext], list[WorkQuery]]
WorkBuilder = Callable[[WorkRow, WorkContext], WorkItem]
_awaiting: dict[str, tuple[WorkQueries, WorkBuilder]] = {}
_NAME = re.compile(r"^[a-z_]+$")


def register_awaiting(*, name: str, queries: WorkQueries, build: WorkBuilder) -> None:
    """`queries(context)` returns the SELECTs (of `WORK_COLUMNS`, `kind` = `name`) of what waits for
    the person; `build(row, context)` makes each row a `WorkItem`. Registering a name again replaces it."""
    if not _NAME.match(name):
        raise ValueError(f"A kind's name is a word of lowercase letters: {name!r}")
    _awaiting[name] = (queries, build)


def kind_sql(name: str) -> str:
    """The `kind` column of a registered name's SELECT (a literal: names are checked words)."""
    if name not in _awaiting and not _NAME.match(name):
        raise ValueError(name)
    return f"'{name}'"


def db_value(value: Any) -> Any:
    """A parameter for hand-written SQL, as the ORM would send it: uuids as 32 hex digits and datetimes
    as naive UTC text on SQLite, themselves on PostgreSQL; dates as ISO text."""
    from django.db import connection

    if isinstance(value, uuid.UUID):
        return value if connection.features.has_native_uuid_field else value.hex
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def sql_in(values: Any) -> tuple[str, list[Any]]:
    """`(%s, %s, ...)` and its parameters, for a non-empty list."""
    values = [db_value(v) for v in values]
    if not values:
        raise ValueError("an empty IN list")
    return "(" + ", ".join(["%s"] * len(values)) + ")", values


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def row_uuid(value: Any) -> uuid.UUID | None:
    """An id from a text column (`CAST(x AS TEXT)`: 32 hex digits on SQLite, dashed on PostgreSQL)."""
    return _uuid(value)


def work_context(user: Any, memberships: list[Any]) -> WorkContext:
    from django.utils import timezone

    return WorkContext(user=user, memberships=memberships, now=timezone.now(), today=timezone.localdate())


def awaiting_sql(context: WorkContext) -> tuple[str, list[Any]] | None:
    """Everything waiting for the person as one UNION ALL of the registered SELECTs (None: nothing can)."""
    queries = [q for queries, _build in _awaiting.values() for q in queries(context)]
    if not queries:
        return None
    return " UNION ALL ".join(q.sql for q in queries), [p for q in queries for p in q.params]


def awaiting_count(user: Any, memberships: list[Any]) -> int:
    """How many items `awaiting_items` lists, in one query (none when nothing can wait)."""
    from django.db import connection

    union = awaiting_sql(work_context(user, memberships))
    if union is None:
        return 0
    sql, params = union
    # Deliberately across organisations: each SELECT filters by the person's own memberships or address.
    with scopes_disabled(), connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) awaiting", params)  # noqa: S608 - the registered SQL, values as parameters
        return int(cursor.fetchone()[0])


def header_counts(user: Any, memberships: list[Any]) -> tuple[int, int]:
    """What the navigation shows on every page, in one query: how many items `awaiting_items` would list
    (the count of its very statement), and how many of the person's notifications are unread."""
    from django.db import connection

    from portal.notifications import unread_queryset

    with scopes_disabled():
        union = awaiting_sql(work_context(user, memberships))
        parts: list[str] = []
        params: list[Any] = []
        if union is not None:
            parts.append(f"(SELECT COUNT(*) FROM ({union[0]}) awaiting)")  # noqa: S608 - the registered SQL, values as parameters
            params.extend(union[1])
        else:
            parts.append("0")
        one = Value(1, output_field=IntegerField())
        sql, unread_params = unread_queryset(user).order_by().values_list(one).query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) unread)")  # noqa: S608 - SQL compiled by the ORM, values as parameters
        params.extend(unread_params)
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), params)
            awaiting_n, unread_n = cursor.fetchone()
    return int(awaiting_n), int(unread_n)


def awaiting_items(user: Any, memberships: list[Any]) -> list[WorkItem]:
    """Everything waiting for the person, soonest due first (undated last), in a stable order."""
    from django.db import connection

    context = work_context(user, memberships)
    union = awaiting_sql(context)
    if union is None:
        return []
    with scopes_disabled(), connection.cursor() as cursor:
        cursor.execute(*union)
        rows = cursor.fetchall()
    items = []
    for kind, org, pk, title, due, at, *texts in rows:
        row = WorkRow(kind, _uuid(org), _uuid(pk), title, _date(due), _datetime(at), *texts)  # type: ignore[arg-type]
        items.append(_awaiting[kind][1](row, context))
    return sorted(items, key=lambda i: (i.due is None, i.due or date.min, i.title.lower(), i.action))


def awaiting_by_organisation(items: list[WorkItem]) -> list[tuple[Any, list[WorkItem]]]:
    """The items grouped by organisation: what was sent to the person's address first, then by name."""
    groups: dict[Any, list[WorkItem]] = {}
    for item in items:
        groups.setdefault(item.organisation, []).append(item)
    return sorted(groups.items(), key=lambda g: (g[0] is not None, g[0].name.lower() if g[0] is not None else ""))


# --- The portal's own kind: invitations to join an organisation ------------------------------------


def invitation_queries(context: WorkContext) -> list[WorkQuery]:
    """Invitations to join an organisation still open for the person's address
    (as `portal.selectors.open_invitations_queryset`)."""
    email = getattr(context.user, "email", "")
    if not email:
        return []
    sql = (
        f"SELECT {kind_sql('invitations')}, i.organisation_id, i.id, o.name, {NULL_DATE}, i.expires_at,"  # noqa: S608 - constants
        f" o.slug, i.role, i.nonce, i.email, {NULL_TEXT}, {NULL_TEXT}"
        " FROM portal_invitation i JOIN portal_organisation o ON o.id = i.organisation_id"
        " WHERE UPPER(i.email) = UPPER(%s) AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > %s"
    )
    return [WorkQuery(sql, [email, db_value(context.now)])]


def invitation_item(row: WorkRow, context: WorkContext) -> WorkItem:
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.formats import date_format
    from django.utils.translation import gettext as _

    from portal.models import Invitation, Organisation
    from portal.services import invitation_token

    organisation = context.organisation(row.organisation_id) or Organisation(
        id=row.organisation_id, name=row.title or "", slug=row.s1 or ""
    )
    expires_at = cast(datetime, row.at)  # NOT NULL
    invitation = Invitation(
        id=row.id,
        organisation=organisation,
        role=row.s2 or "",
        nonce=row.s3 or "",
        email=row.s4 or "",
        expires_at=expires_at,
    )
    return WorkItem(
        kind="invitation",
        organisation=organisation,
        title=_("Invitation to join %(org)s as %(role)s")
        % {"org": organisation.name, "role": invitation.get_role_display()},
        action=_("Accept or decline the invitation"),
        url=reverse("invitation_accept", kwargs={"token": invitation_token(invitation)}),
        detail=_("The invitation expires on %(date)s") % {"date": date_format(timezone.localtime(expires_at), "j F Y")},
        obj=invitation,
    )


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
