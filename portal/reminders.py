"""Reminders: notifications the beat makes when a date comes near, not when someone acts.

Each app registers its scans in its AppConfig.ready() (`register_scan`), and for each kind of reminder
a check that it still applies (`register_still_applies`). A scan makes each reminder once through
`portal.notifications.notify` with a key naming the thing, its date and the threshold, so running it
again (the next hour, after a restart, a duplicated task) makes nothing new. The check drops a
reminder not yet emailed when its thing is done by then: the daily digest leaves it out, and the
outbox does not send its email (portal.tasks.send_outbox_email).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django_scopes import scopes_disabled

from portal.models import Notification

logger = logging.getLogger(__name__)

# A scan makes the reminders due at `now` (across every organisation) and returns how many it made.
Scan = Callable[[datetime], int]
# Given notifications of one kind, the ids of those whose thing still needs doing.
StillApplies = Callable[[list[Notification]], set[Any]]

_scans: dict[str, Scan] = {}
_checks: dict[str, StillApplies] = {}


def register_scan(*, name: str, scan: Scan) -> None:
    """Add a scan run by the hourly beat task. Registering a name again replaces it."""
    _scans[name] = scan


def register_still_applies(*, kind: str, check: StillApplies) -> None:
    """Say how to tell whether a reminder of `kind` still applies (from its target and key)."""
    _checks[kind] = check


def run_scans(now: datetime | None = None) -> dict[str, int]:
    """Run every registered scan; one that fails is logged and the others still run."""
    now = now or timezone.now()
    made = {}
    for name, scan in _scans.items():
        try:
            made[name] = scan(now)
        except Exception:
            logger.exception("reminder scan %s failed", name)
            made[name] = -1
    return made


def still_applying(notifications: Iterable[Notification]) -> set[Any]:
    """The ids of `notifications` still worth telling: those of a kind without a check always are."""
    by_kind: dict[str, list[Notification]] = {}
    for notification in notifications:
        by_kind.setdefault(notification.kind, []).append(notification)
    keep: set[Any] = set()
    with scopes_disabled():
        for kind, group in by_kind.items():
            check = _checks.get(kind)
            keep |= {n.pk for n in group} if check is None else check(group)
    return keep


def email_still_applies(email_id: Any) -> bool:
    """Whether the outbox email `email_id` should still go: false only when it is a reminder's email
    and the reminder's thing is done."""
    with scopes_disabled():
        notification = Notification.objects.filter(email_id=email_id).first()
    if notification is None or notification.kind not in _checks:
        return True
    return notification.pk in still_applying([notification])


def key_date(notification: Notification) -> date | None:
    """The date a reminder's key names (`<kind>:<id>:<YYYY-MM-DD>:<threshold>`), or None."""
    parts = notification.dedupe_key.split(":")
    try:
        return date.fromisoformat(parts[2])
    except (IndexError, ValueError):
        return None


def demo_reminders(organisation: Any, users: dict[str, Any]) -> None:
    """The demo's last step: run the scans, as the beat would this hour."""
    run_scans()
