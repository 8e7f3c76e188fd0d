"""Authentication, throttling and pagination for the API.

These are named in REST_FRAMEWORK settings, which DRF imports while `rest_framework.views` is
itself being imported: so this module must not import DRF's views or generics.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from portal.addresses import client_ip, client_limit_address
from portal.models import ApiToken
from portal.signing import SigningContext
from portal.tokens import TokenRefused, token_authenticate

# --- Authentication ----------------------------------------------------------------------------


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer msp_...`: a personal token made on the account page."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        try:
            token = token_authenticate(raw.strip())
        except TokenRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class PortalSessionAuthentication(SessionAuthentication):
    """The portal's own pages call the API with the signed-in session (CSRF enforced)."""

    def authenticate_header(self, request: Request) -> str:
        # Answer 401 (not 403) to anonymous calls, pointing at the token scheme.
        return 'Bearer realm="api"'


def token_of(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def principal_of(request: Request) -> str | None:
    token = token_of(request)
    if token is not None:
        return f"token:{token.pk}"
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return None


def api_signing_context(request: Request) -> SigningContext:
    """How the signer authenticated: the session's record, or the personal API token."""
    from portal.signing import signing_context

    token = token_of(request)
    if token is None:
        return signing_context(request._request)
    return SigningContext(
        ip_address=client_ip(request._request),
        user_agent=request.headers.get("User-Agent", "")[:500],
        auth_methods=["api_token"],
    )


# --- Throttling (per token or person; per address only without either; in the shared cache) -----


class _SettingsRateThrottle(SimpleRateThrottle):
    """Reads its rate from settings at each request, so deployments and tests can change it."""

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope)


class PrincipalRateThrottle(_SettingsRateThrottle):
    scope = "principal"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        ident = principal_of(request)
        return None if ident is None else self.cache_format % {"scope": self.scope, "ident": ident}


class AddressRateThrottle(_SettingsRateThrottle):
    """Requests with neither token nor session, per client address. Everyone behind one proxy or office
    shares an address, so requests that say who they are count only against their own principal."""

    scope = "address"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if principal_of(request) is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": client_limit_address(request._request)}


# --- Pagination ----------------------------------------------------------------------------------


class Cursor(CursorPagination):
    """Every list: opaque `next`/`previous` links, stable under inserts, no counting query."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-created_at"

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        # Without an OrderingFilter, a view's own `ordering` (e.g. "-sequence") decides.
        has_filter = any(hasattr(backend, "get_ordering") for backend in getattr(view, "filter_backends", []))
        if not has_filter and getattr(view, "ordering", None):
            ordering = view.ordering
            return (ordering,) if isinstance(ordering, str) else tuple(ordering)
        return super().get_ordering(request, queryset, view)  # type: ignore[no-any-return]
