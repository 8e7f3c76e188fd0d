"""CSRF on every state-changing view, found by walking the URL resolver rather than listed by hand.

A route is state-changing when it accepts POST, PUT, PATCH or DELETE: for API views, when the view
class has a handler for the method; for pages, when a POST is not answered 405 (tried as the owner,
in a transaction that is rolled back). Every one of them, sent by the signed-in owner without a CSRF
token, must be refused with 403 and change nothing. Bearer-token API calls carry no ambient authority
and are exempt by design (portal/api/authentication.py).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django_scopes import scopes_disabled

from tests.api.conftest import make_token, token_client

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
# Fewer than these and the walk has gone wrong: the test must not pass by finding nothing.
MIN_WEB_ROUTES = 45
MIN_API_OPERATIONS = 35
# One-click unsubscribe links (RFC 8058): mail providers POST them with no cookie and no CSRF token, so
# they are exempt by design; the signed token in the address is their only authority (a made-up one
# changes nothing, below; their own tests show a real one changes only its person's preferences).
ONE_CLICK_UNSUBSCRIBE = {"digest_unsubscribe", "notifications_unsubscribe"}


@dataclass(frozen=True)
class Route:
    url: str
    name: str
    methods: tuple[str, ...]
    is_api: bool
    multipart: bool = False  # an API view that reads only form bodies
    public: bool = False  # an API view that authenticates nobody, so a session gives it no authority


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        text = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            yield text, pattern


def _fill(route: str, slug: str) -> str:
    """A concrete URL for a route: the organisation's slug, plausible values for the other parameters."""

    def value(name: str, converter: str) -> str:
        if name in ("org_slug", "org"):
            return slug
        return {
            "kind": "assessment",
            "section": "technology",
            "code": "made-smarter",
            "number": "1",
            "version": "1",
        }.get(name, {"uuid": str(uuid.uuid4()), "int": "1"}.get(converter, "x1x2x3"))

    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value(m.group(1), "str"), route)  # re_path groups
    url = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: value(m.group(2), m.group(1) or "str"), url)
    return "/" + url.replace("\\", "")


def _web_accepts_post(url: str, owner) -> bool:
    client = Client()
    client.force_login(owner)
    with transaction.atomic():
        status = client.post(url, {}).status_code
        transaction.set_rollback(True)
    return status != 405


def enumerate_routes(tenant) -> list[Route]:
    routes: list[Route] = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(("static/", "media/")):
            continue
        url = _fill(route, tenant.organisation.slug)
        try:
            assert resolve(url).func == pattern.callback, (route, url)
        except Exception as exc:  # name the route, not the whole resolver
            raise AssertionError(f"cannot build a URL for {route}: {url}") from exc
        view_class = getattr(pattern.callback, "cls", None)  # DRF
        if view_class is not None:
            methods = tuple(m for m in WRITE_METHODS if hasattr(view_class, m))
            if methods:
                parsers = {parser.media_type for parser in view_class.parser_classes}
                multipart = "application/json" not in parsers
                public = not view_class.authentication_classes
                routes.append(Route(url, pattern.name or route, methods, True, multipart, public))
        elif _web_accepts_post(url, tenant.owner):
            routes.append(Route(url, pattern.name or route, ("post",), is_api=False))
    return routes


def snapshot() -> dict[str, int]:
    with scopes_disabled():
        return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_every_state_changing_route_refuses_a_session_request_without_a_csrf_token(tenant) -> None:
    routes = enumerate_routes(tenant)
    web = [r for r in routes if not r.is_api]
    operations = [(r, m) for r in routes if r.is_api and not r.public for m in r.methods]
    # Public endpoints authenticate nobody (the verify page's PDF check): list them, so a new one is noticed.
    assert [r.name for r in routes if r.public] == ["report_verify"]
    assert len(web) >= MIN_WEB_ROUTES, sorted(r.name for r in web)
    assert len(operations) >= MIN_API_OPERATIONS, sorted(r.name for r, _m in operations)
    assert {"evidence_upload", "supplier_create", "member_role", "sign", "account_login", "account_logout"} <= {
        r.name for r in web
    }

    before = snapshot()
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.owner)
    refused: list[str] = []
    for route in web:
        response = client.post(route.url, {"name": "CSRF", "role": "owner", "confirm": "yes"})
        if route.name in ONE_CLICK_UNSUBSCRIBE and response.status_code in (400, 404):
            continue  # exempt by design, and an unsigned token does nothing (the snapshot below)
        if response.status_code != 403:
            refused.append(f"{route.name} {route.url}: {response.status_code}")
    for route, method in operations:
        if route.multipart:
            response = getattr(client, method)(route.url, {"name": "CSRF"})
        else:
            response = getattr(client, method)(route.url, '{"name": "CSRF"}', content_type="application/json")
        if response.status_code != 403 or "CSRF" not in response.json()["message"]:
            refused.append(f"{method.upper()} {route.url}: {response.status_code}")
    assert refused == [], "accepted without a CSRF token:\n" + "\n".join(refused)
    print(f"CSRF refused on {len(web)} pages and {len(operations)} API operations")
    after = snapshot()
    changed = {label: (before[label], after[label]) for label in before if before[label] != after[label]}
    # Signing in (force_login) writes the session and allauth's user-session rows; nothing else may change.
    changed.pop("sessions.Session", None)
    changed.pop("usersessions.UserSession", None)
    assert changed == {}


def test_bearer_token_requests_are_exempt_from_csrf_by_design(tenant) -> None:
    routes = [r for r in enumerate_routes(tenant) if r.is_api]
    client = token_client(make_token(tenant.owner, tenant.organisation))
    checked = 0
    for route in routes:
        for method in route.methods:
            with transaction.atomic():
                response = getattr(client, method)(route.url, {}, format="json")
                transaction.set_rollback(True)
            assert "CSRF" not in response.content.decode(), (method, route.url)
            checked += 1
    assert checked >= MIN_API_OPERATIONS
