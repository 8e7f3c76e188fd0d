"""The organisation dashboard is built from panels that apps register, so portal imports none of them.

An app registers a function in its AppConfig.ready(); the dashboard calls each one with the request
and renders the template it names with the context it returns (or skips it when it returns None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


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


# What waits for a person across organisations (review, signatures): counted in the navigation.
AwaitingProvider = Callable[[Any, list[Any]], list[Any]]
AwaitingCounter = Callable[[Any, list[Any]], int]
_awaiting: dict[str, tuple[AwaitingProvider, AwaitingCounter]] = {}


def register_awaiting(*, name: str, provider: AwaitingProvider, counter: AwaitingCounter) -> None:
    """`provider` lists what waits for a person; `counter` counts the same items cheaply (the badge
    on every page)."""
    _awaiting[name] = (provider, counter)


def awaiting_count(user: Any, memberships: list[Any]) -> int:
    return sum(counter(user, memberships) for _provider, counter in _awaiting.values())


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
