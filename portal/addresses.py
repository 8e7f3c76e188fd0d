"""The client's address, worked out one way for sign-in limits, the API's throttles, /verify/ and signatures.

Behind a reverse proxy every request comes from the proxy's address; the client's is the entry the
proxy appended to `X-Forwarded-For`. That header is trusted only as far as
`ALLAUTH_TRUSTED_PROXY_COUNT` proxies: with no proxies configured it is ignored entirely, so a
client cannot escape a limit by sending its own header.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# IPv6 clients usually hold a whole /64: counting them per address would let one rotate through it.
_IPV6_LIMIT_PREFIX = 64


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting X-Forwarded-For only as far as the configured proxies."""
    proxies = settings.ALLAUTH_TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            candidate = _valid(forwarded[-proxies])
            if candidate:
                return candidate
    return _valid(request.META.get("REMOTE_ADDR", ""))


def client_limit_address(request: HttpRequest) -> str:
    """The address rate limits count by: the client's, with an IPv6 address widened to its /64."""
    address = client_ip(request)
    if address is None:
        return "unknown"
    parsed = ipaddress.ip_address(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.IPv6Network(f"{parsed}/{_IPV6_LIMIT_PREFIX}", strict=False).network_address)
    return address


def _valid(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def requester_key(request: HttpRequest) -> str:
    """Whom a public page's limit counts: the signed-in person, else the client's address.

    People behind one address (an office, a proxy) then do not use up each other's allowance."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"address:{client_limit_address(request)}"


def over_minute_limit(bucket: str, requester: str, per_minute: int) -> bool:
    """Whether `requester` (see `requester_key`) has gone over `per_minute` attempts at `bucket` in the
    current minute; each call counts one attempt. The count lives in the cache for a minute only."""
    from django.core.cache import cache

    key = f"{bucket}-rate:{requester}"
    if cache.add(key, 1, timeout=60):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        return False
    return count > per_minute
