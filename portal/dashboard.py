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
