"""Authentication, throttling and pagination for the API.

These are named in REST_FRAMEWORK settings, which DRF imports while `rest_framework.views` is
itself being imported: so this module must not import DRF's views or generics.
"""

from __future__ import annotations

import secrets
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


# DRF's sliding window (a request counts for `window` seconds after it was made), kept in Redis as a
# sorted set of request times and checked and recorded in one round trip, instead of reading the
# pickled list of times and writing it back (two round trips, and a list of up to the rate's size
# sent both ways on every call). Returns {allowed, requests now in the window, the oldest's time}.
_SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, count, oldest[2] or ARGV[1]}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('EXPIRE', key, math.ceil(window))
return {1, count + 1, ARGV[1]}
"""


class _SettingsRateThrottle(SimpleRateThrottle):
    """Reads its rate from settings at each request, so deployments and tests can change it. On the
    Redis cache, one script checks and records the request (`_SLIDING_WINDOW`); on another cache
    (the embedded default's local memory), DRF's own get and set."""

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        from django.core.cache import caches

        from portal.cache import RedisCache

        backend = caches["default"]  # `self.cache` is the proxy in front of it
        if self.rate is None or not isinstance(backend, RedisCache):
            return bool(super().allow_request(request, view))
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        # Its own key: a list of times DRF's way (an older release, mid-deploy) is never read as a set.
        key = backend.make_and_validate_key(f"{self.key}:window")
        script = _sliding_window_script(backend._cache.get_client(key, write=True))
        # A unique member, so two requests in the same microsecond both count.
        member = f"{self.now!r}:{secrets.token_hex(4)}"
        allowed, count, oldest = script(keys=[key], args=[repr(self.now), self.duration, self.num_requests, member])
        if allowed:
            return True
        # What DRF's `wait` (Retry-After) reads: as many times as requests in the window, the oldest last.
        self.history = [float(oldest)] * int(count)
        return bool(self.throttle_failure())


_SCRIPTS: dict[int, tuple[Any, Any]] = {}


def _sliding_window_script(client: Any) -> Any:
    """The script registered with this Redis client (EVALSHA; loaded again if the server lost it)."""
    found = _SCRIPTS.get(id(client))
    if found is None or found[0] is not client:
        found = _SCRIPTS[id(client)] = (client, client.register_script(_SLIDING_WINDOW))
    return found[1]


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
