"""The per-person header state every signed-in page shows, in one cache entry.

What the header needs (the memberships for the organisation switcher and for tenancy, the "Your work"
count and the unread-notification count) costs two queries and most of a millisecond of ORM compiling
on every page. It is cached per person and validated by `portal.versions`:

* the entry names the organisations it was built from; a request reads the entry (round trip 1) and
  the current versions of those organisations, of the person and of the person's address (round
  trip 2); any difference is a miss and the state is built again;
* the person's version is bumped when their memberships change (joined, role changed, removed, left,
  account deleted) and when their notifications change (created, read); the organisations' versions
  by every audited change (`audit_record`), which covers the items of "Your work" made in the
  organisation; the address's version (`addressee`) by invitations and supplier requests sent to that
  address, which may come from organisations the person does not belong to;
* time: the key holds today's date (items due within N days, reaffirmation from 11 months), and an
  entry is never kept past the earliest expiry of the person's memberships, nor past `TIMEOUT`,
  which bounds how late an item that ends at a time of day (an invitation's or a supplier request's
  expiry, a report's 14 days) leaves the count.

A request that has writes of its own waiting to commit, or that runs inside a test case's transaction
(which never commits, so no bump ever applies), reads the database instead: it must see its own writes.
"""

from __future__ import annotations

import time
import zlib
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from portal.versions import bump, versions

# Bounds how long an item that ends at a time of day stays counted after it ended.
TIMEOUT = 120
# Changes when the shape of what is stored changes (a field added to Membership or Organisation).
_SCHEMA = "1"


def addressee(email: str) -> str:
    """The version key of an email address (as `versions`/`bump` people=[...]): invitations and supplier
    requests sent to an address bump it, whoever holds the address, or nobody yet."""
    return f"@{(email or '').strip().lower()}"


def bump_addresses(*emails: str) -> None:
    """Invalidate the header of whoever holds these addresses (at commit)."""
    bump(people=[addressee(e) for e in emails if e])


class HeaderState:
    """The memberships at once; the two counts when first asked for (a POST that redirects never asks).
    A state built from the database is stored once its counts are known."""

    def __init__(
        self,
        user: Any,
        memberships: list[Any],
        counts: tuple[int, int] | None = None,
        store: dict[str, Any] | None = None,
        cached: bool = False,
    ) -> None:
        self.user = user
        self.memberships = memberships
        self._counts = counts
        self._store = store  # the entry to store, but for the counts; None: do not store
        self.cached = cached  # read from the cache (for tests and profiling)

    def counts(self, memberships: list[Any] | None = None) -> tuple[int, int]:
        """(awaiting, unread). `memberships`: the same person's memberships, if the page read them itself."""
        if self._counts is None:
            from portal.dashboard import header_counts

            self._counts = header_counts(self.user, self.memberships if memberships is None else memberships)
            self._save()
        return self._counts

    def counts_for(self, awaiting: int) -> tuple[int, int]:
        """(awaiting, unread) for a page that has just listed the `awaiting` items itself ("Your work"):
        the unread count from the cache, else from memberships read `with_unread` (a query only when the
        person belongs to no organisation). A state built from the database is stored with them."""
        if self._counts is not None:
            unread = self._counts[1]
        elif self.memberships and hasattr(self.memberships[0], "unread_notifications"):
            unread = self.memberships[0].unread_notifications or 0
        else:
            from portal.notifications import unread_count

            unread = unread_count(self.user)
        self._counts = (awaiting, unread)
        self._save()
        return self._counts

    def _save(self) -> None:
        if self._store is not None and self._counts is not None:
            entry, self._store = self._store, None
            entry["awaiting"], entry["unread"] = self._counts
            cache.set(entry.pop("key"), entry, timeout=entry.pop("timeout"))


def _fields(model: Any) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


def _key(user: Any) -> str:
    from portal.models import Membership, Organisation

    global _KEY_PREFIX
    if _KEY_PREFIX is None:
        shape = zlib.crc32(repr((_fields(Membership), _fields(Organisation))).encode())
        _KEY_PREFIX = f"hdr:{_SCHEMA}:{shape:x}:"
    return f"{_KEY_PREFIX}{user.pk}"


_KEY_PREFIX: str | None = None


def _pack(memberships: list[Any]) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """Plain values (no model instances, never the user row): cheap to store and to read back."""
    from portal.models import Membership, Organisation

    m_fields, o_fields = _fields(Membership), _fields(Organisation)
    return [
        (tuple(getattr(m, f) for f in m_fields), tuple(getattr(m.organisation, f) for f in o_fields))
        for m in memberships
    ]


def _unpack(packed: list[Any], user: Any) -> list[Any]:
    from portal.models import Membership, Organisation

    m_fields, o_fields = _fields(Membership), _fields(Organisation)
    memberships = []
    for m_values, o_values in packed:
        membership = Membership.from_db("default", m_fields, m_values)
        membership.organisation = Organisation.from_db("default", o_fields, o_values)
        membership.user = user  # the signed-in user: no query to read it back
        memberships.append(membership)
    return memberships


def _version_people(user: Any) -> list[Any]:
    return [user.pk, addressee(getattr(user, "email", ""))]


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def cache_trusted() -> bool:
    """False while the connection holds uncommitted writes whose invalidations wait for the commit
    (read your own writes), or runs inside a test case's transaction, which never commits."""
    if not connection.in_atomic_block:
        return True
    if connection.run_on_commit:
        return False
    return not any(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def header_state(user: Any, *, with_unread: bool = False) -> HeaderState:
    """The person's header state: from the cache when it is current (two cache round trips, no query),
    else from the database (the memberships now; both counts in one query when asked for) and stored.
    `with_unread`: read from the database, the memberships carry the unread count (for `counts_for`)."""
    from portal.selectors import memberships_of_user

    if not cache_trusted():
        return HeaderState(user, memberships_of_user(user, with_unread=with_unread))

    key = _key(user)
    today = timezone.localdate().isoformat()
    email = getattr(user, "email", "")
    entry = cache.get(key)
    known_ids: list[Any] = entry["orgs"] if entry else []
    # Read before the data, so that a value built from data older than a bump is never current.
    current = versions(organisations=known_ids, people=_version_people(user))
    if (
        entry is not None
        and entry["versions"] == current
        and entry["day"] == today
        and entry["email"] == email
        and time.time() < entry["until"]
    ):
        return HeaderState(user, _unpack(entry["memberships"], user), (entry["awaiting"], entry["unread"]), cached=True)

    memberships = memberships_of_user(user, with_unread=with_unread)
    ids = [m.organisation_id for m in memberships]
    now = timezone.now()
    expiries = [m.expires_at.timestamp() for m in memberships if m.expires_at is not None]
    until = min([now.timestamp() + TIMEOUT, *expiries])
    store = {
        "key": key,
        "timeout": max(1, int(until - now.timestamp()) + 1),
        # The versions were read before the data only if they cover exactly these organisations; else
        # the next request reads the right ones first (and builds once more).
        "versions": current if ids == known_ids else None,
        "orgs": ids,
        "day": today,
        "email": email,
        "until": until,
        "memberships": _pack(memberships),
    }
    return HeaderState(user, memberships, store=store)


def active_membership(state: HeaderState, slug: str, now: datetime | None = None) -> Any:
    """The person's active membership of the organisation with this slug in `state`, or None."""
    now = now or timezone.now()
    return next((m for m in state.memberships if m.organisation.slug == slug and m.is_active(now)), None)
