"""Versions for cached page data: what a cached value was built from, and explicit invalidation.

A page that caches data (the header's per-person state, the dashboard's per-organisation data)
keys it by the current *version* of every organisation and person it was built from. A service that
changes what such a page shows calls `bump(...)`; the next request reads a new version and so a new
key, and builds the value again. Nothing is deleted: the old entries age out with their timeout.

Rules that keep this correct:

* Versions are random tokens, never counters: a version that the cache evicted or lost (a Redis
  flush, a restart) comes back as a new token, so an old entry can never be mistaken for current.
* `bump` takes effect when the caller's transaction commits (at once outside a transaction). A
  reader reads the versions *before* the data, so a value built from data read before the commit
  is stored under the old version, which nobody reads again.
* Signals miss `QuerySet.update()` and bulk writes, so invalidation is explicit: the service that
  writes calls `bump`. `portal.audit.audit_record` bumps the organisation of every audited change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction

# Long enough to outlive any entry built from a version; an evicted version is simply replaced.
VERSION_TIMEOUT = 7 * 24 * 3600


def _organisation_key(organisation_id: Any) -> str:
    return f"v:o:{organisation_id}"


def _person_key(user_id: Any) -> str:
    return f"v:u:{user_id}"


def _trail_key(organisation_id: Any) -> str:
    return f"v:t:{organisation_id}"


def _keys(organisations: Iterable[Any], people: Iterable[Any], trails: Iterable[Any]) -> list[str]:
    keys = [_organisation_key(getattr(o, "pk", o)) for o in organisations]
    keys += [_person_key(getattr(p, "pk", p)) for p in people]
    keys += [_trail_key(getattr(o, "pk", o)) for o in trails]
    return keys


def bump(*, organisations: Iterable[Any] = (), people: Iterable[Any] = (), trails: Iterable[Any] = ()) -> None:
    """Invalidate every cached value built from these organisations or people (ids or instances),
    when the current transaction commits. `trails`: organisations whose audit trail gained an event
    that changes nothing else a cached page shows (an auditor's page view; `portal.audit`)."""
    keys = _keys(organisations, people, trails)
    if not keys:
        return

    def apply() -> None:
        cache.set_many({key: uuid.uuid4().hex for key in keys}, timeout=VERSION_TIMEOUT)

    transaction.on_commit(apply)


def versions(*, organisations: Iterable[Any] = (), people: Iterable[Any] = (), trails: Iterable[Any] = ()) -> str:
    """One string naming the current version of each of these organisations, people and audit trails,
    read in one cache round trip (two when some version is new). Use it in the key of the cached value."""
    keys = _keys(organisations, people, trails)
    if not keys:
        return ""
    found = cache.get_many(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        for key in missing:
            # `add` keeps a token another process set meanwhile; read back what won.
            cache.add(key, uuid.uuid4().hex, timeout=VERSION_TIMEOUT)
        found.update(cache.get_many(missing))
        if any(key not in found for key in missing):
            return uuid.uuid4().hex  # the cache keeps nothing: a key nobody will read again
    return ".".join(str(found[key]) for key in keys)
