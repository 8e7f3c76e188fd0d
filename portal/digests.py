"""The daily digest: at 08:00 in each person's time zone, one email listing the notifications they
chose to hear of in a summary (delivery "digest"), grouped by organisation.

Each digest is a `Digest` row, one per person per local day (unique), made with its lines and the
notifications it took marked digested in one transaction; a worker sends it (portal.tasks
.send_digest_email: claimed by a conditional update, retried, swept). A duplicated or repeated run
makes nothing more, and nothing is made when there is nothing to say. Reminders whose thing is done
by then are left out (portal.reminders), as are kinds the person has since switched off or to
"straight away".

Its one-click unsubscribe (RFC 8058) switches off the daily summary: every kind the person gets in
it becomes "do not email me" (the list in the portal keeps them).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_scopes import scopes_disabled

from portal.models import Delivery, Digest, Notification, User
from portal.notifications import KINDS, preferences, set_preference
from portal.reminders import still_applying

logger = logging.getLogger(__name__)

DIGEST_HOUR = 8
# A run missed at 08:00 (beat down for a while) still sends that morning, but never in the afternoon.
LAST_HOUR = 12
DEFAULT_ZONE = "Europe/London"


def zone_of(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.time_zone or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


@scopes_disabled()  # a person's digest spans their organisations: system work, like the sweeps
def digests_make(now: datetime | None = None) -> list[str]:
    """Make today's digest for everyone whose 08:00 has come (until noon) and who has something
    waiting. Returns the ids of the digests made (their emails go after commit)."""
    now = now or timezone.now()
    waiting = Notification.objects.filter(delivery=Delivery.DIGEST, digested_at__isnull=True, created_at__lte=now)
    people = User.objects.filter(
        pk__in=waiting.values("recipient_id"), is_active=True, deleted_at__isnull=True
    ).order_by("pk")
    made = []
    for user in people:
        local = now.astimezone(zone_of(user))
        if not DIGEST_HOUR <= local.hour < LAST_HOUR:
            continue
        digest = digest_make(user=user, local_date=local.date(), now=now)
        if digest is not None:
            made.append(str(digest.pk))
    return made


def digest_make(*, user: User, local_date: Any, now: datetime) -> Digest | None:
    """Make the person's digest for `local_date` from what waits for it, once. None when one exists
    already for that day or there is nothing to say."""
    from portal.tasks import send_digest_email

    try:
        with transaction.atomic():
            # The unique row first: a parallel run for the same person waits here, then finds it made.
            digest = Digest.objects.create(recipient=user, local_date=local_date, created_at=now, queued_at=now)
            waiting = list(
                Notification.objects.filter(
                    recipient=user, delivery=Delivery.DIGEST, digested_at__isnull=True, created_at__lte=now
                )
                .select_related("organisation")
                .order_by("created_at", "pk")
            )
            chosen = preferences(user)
            keep = still_applying(n for n in waiting if chosen.get(n.kind) == Delivery.DIGEST)
            # Everything looked at is settled: what is left out (done since, switched off) never comes back.
            Notification.objects.filter(pk__in=[n.pk for n in waiting]).update(digested_at=now)
            lines = [n for n in waiting if n.pk in keep]
            if not lines:
                digest.delete()
                return None
            digest.groups = _groups(lines)
            digest.count = len(lines)
            digest.save(update_fields=["groups", "count"])
    except IntegrityError:
        return None
    send_digest_email.publish(digest_id=str(digest.pk))
    return digest


def _groups(notifications: list[Notification]) -> list[dict[str, Any]]:
    """Lines grouped by organisation: what was sent to the person's address first, then by name."""
    groups: dict[Any, dict[str, Any]] = {}
    for n in notifications:
        organisation = n.organisation
        group = groups.setdefault(
            n.organisation_id,
            {"organisation": organisation.name if organisation else "", "lines": []},
        )
        group["lines"].append({"text": n.text, "url": settings.SITE_URL + n.url})
    return sorted(groups.values(), key=lambda g: (g["organisation"] != "", g["organisation"].lower()))


def digest_subject(digest: Digest) -> str:
    names = [g["organisation"] for g in digest.groups if g["organisation"]]
    things = ngettext("%(count)s thing", "%(count)s things", digest.count) % {"count": digest.count}
    if len(names) == 1 and len(digest.groups) == 1:
        return _("Your daily summary: %(things)s in %(org)s") % {"things": things, "org": names[0]}
    return _("Your daily summary: %(things)s on the Made Smarter Portal") % {"things": things}


def digest_email(digest: Digest) -> dict[str, Any]:
    """Subject, context and headers of the digest's email (built when it is sent)."""
    user = digest.recipient
    unsubscribe = digest_unsubscribe_url(user)
    return {
        "subject": digest_subject(digest),
        "context": {
            "recipient": user.display_name,
            "groups": digest.groups,
            "count": digest.count,
            "date": digest.local_date,
            "unsubscribe_url": unsubscribe,
            "preferences_url": settings.SITE_URL + reverse("notification_preferences"),
        },
        "headers": {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    }


# --- One-click unsubscribe (RFC 8058) ---------------------------------------------------------------

UNSUBSCRIBE_SALT = "portal.digests.unsubscribe"


def digest_unsubscribe_token(user: User) -> str:
    """A signed token naming one person's daily summary: it cannot be forged or turned to another
    person, works without signing in, and does not expire (an old email's link keeps working)."""
    return signing.dumps({"u": user.pk, "d": 1}, salt=UNSUBSCRIBE_SALT, compress=True)


def digest_unsubscribe_url(user: User) -> str:
    return settings.SITE_URL + reverse("digest_unsubscribe", kwargs={"token": digest_unsubscribe_token(user)})


def read_digest_unsubscribe_token(token: str) -> User | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("d") != 1:
        return None
    user_id = data.get("u")
    if not isinstance(user_id, int):
        return None
    return User.objects.filter(pk=user_id, deleted_at__isnull=True).first()


def digest_kinds(user: User) -> list[str]:
    """The kinds the person now gets in the daily summary."""
    return [kind for kind, delivery in preferences(user).items() if delivery == Delivery.DIGEST]


def digest_unsubscribe(*, user: User) -> list[str]:
    """Stop the person's daily summary: each kind in it becomes "do not email me", and what waits for
    the next one is not emailed. Returns the kinds switched off."""
    kinds = digest_kinds(user)
    with transaction.atomic(), scopes_disabled():
        for kind in kinds:
            set_preference(user=user, kind=kind, delivery=Delivery.OFF)
        Notification.objects.filter(recipient=user, delivery=Delivery.DIGEST, digested_at__isnull=True).update(
            delivery=Delivery.OFF
        )
    logger.info("daily summary switched off for user %s (%s kinds)", user.pk, len(kinds))
    return kinds


def kind_labels(kinds: list[str]) -> list[str]:
    return [str(KINDS[k].label) for k in kinds if k in KINDS]
