"""A person's notification settings as one thing: the delivery of each kind and the time zone the daily
digest follows. The API's preferences endpoint saves through here; the per-kind rule itself is
`portal.notifications.set_preference`.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from portal.models import NotificationPreference, User
from portal.notifications import set_preference

DEFAULT_TIME_ZONE = "Europe/London"


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """The IANA time zone names this server knows (the system's tz database)."""
    return frozenset(zoneinfo.available_timezones())


def time_zone_check(name: str) -> str:
    """`name` if it is an IANA time zone this server knows, else a ValidationError on `time_zone`."""
    if name not in time_zones():
        raise ValidationError(
            {"time_zone": _("Choose a time zone by its IANA name, such as Europe/London or America/New_York.")},
            code="invalid",
        )
    return name


def notification_settings_save(*, user: User, deliveries: dict[str, str], time_zone: str | None = None) -> None:
    """Set each kind in `deliveries` and, when given, the time zone; all or nothing. A choice is stored
    even when it equals the kind's default (the person chose it), but an unchanged one is not rewritten."""
    if time_zone is not None:
        time_zone_check(time_zone)
    with transaction.atomic():
        chosen = (
            dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery")) if deliveries else {}
        )
        for kind, delivery in deliveries.items():
            if chosen.get(kind) != delivery:
                set_preference(user=user, kind=kind, delivery=delivery)
        if time_zone is not None and time_zone != user.time_zone:
            user.time_zone = time_zone
            user.save(update_fields=["time_zone"])
