"""Notifications: what happened that a person should hear of, in the portal and by email.

Every app tells people through `notify`: one row per person (never the person who acted), shown in
their list in the portal, and emailed straight away, in the daily digest or not at all, as that
person prefers for that kind (`KINDS` holds the defaults). Reminders are notifications too, made by
the beat's scans with a key that names their threshold, so each is made and sent once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from portal.models import Delivery, Notification, NotificationPreference, Organisation, User
from portal.versions import bump


@dataclass(frozen=True)
class Kind:
    key: str
    label: Any  # what the person chooses for, on the preferences page ("Something waits for your signature")
    default: str  # a Delivery value
    # Whether an email can go for this kind at all: a supplier request's own invitation email is its email.
    emailed: bool = True


KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (
        Kind("signature_requested", _("Something waits for your signature"), Delivery.IMMEDIATE),
        Kind("changes_requested", _("Changes are requested of you"), Delivery.IMMEDIATE),
        Kind("comment", _("A comment on your work"), Delivery.DIGEST),
        Kind("action_assigned", _("An action is assigned to you"), Delivery.DIGEST),
        Kind("action_due", _("An action of yours is due within 7 days or overdue"), Delivery.DIGEST),
        Kind("evidence_expiring", _("Evidence cited by current work expires soon"), Delivery.DIGEST),
        Kind("report_ready", _("A report you asked for is ready"), Delivery.IMMEDIATE),
        Kind("agreed", _("A plan or self-assessment you review is agreed and final"), Delivery.IMMEDIATE),
        # The buyer's invitation email is the request's own email: the portal adds no second one.
        Kind(
            "supplier_request_received",
            _("A buyer sends your organisation a request"),
            Delivery.IMMEDIATE,
            emailed=False,
        ),
        Kind("supplier_request_answered", _("A supplier answers your organisation's request"), Delivery.DIGEST),
        Kind(
            "supplier_answer_to_confirm",
            _("A supplier's answer waits for you to confirm who answered"),
            Delivery.IMMEDIATE,
        ),
        Kind("plan_review_due", _("A plan's review date is near"), Delivery.DIGEST),
        Kind(
            "technology_clock",
            _("Notice, a committee meeting or a go-live date under the new technology agreement needs attention"),
            Delivery.DIGEST,
        ),
        Kind("export_ready", _("A data export you asked for is ready"), Delivery.IMMEDIATE),
        Kind("webhook_paused", _("A webhook of your organisation kept failing and is paused"), Delivery.IMMEDIATE),
    )
}


@dataclass(frozen=True)
class Email:
    """The email for a notification delivered straight away: its own subject and template
    (templates/email/<template>.txt and .html); without one the generic `notification` template
    says the notification's sentence and links to it."""

    subject: str
    template: str = "notification"
    context: dict[str, Any] = field(default_factory=dict)


def deliveries(users: Iterable[User], kind: str) -> dict[int, str]:
    """Each person's delivery for `kind` (their preference, else the kind's default), in one query."""
    default = KINDS[kind].default
    ids = [u.pk for u in users]
    chosen = dict(NotificationPreference.objects.filter(user_id__in=ids, kind=kind).values_list("user_id", "delivery"))
    return {pk: chosen.get(pk, default) for pk in ids}


def preferences(user: User) -> dict[str, str]:
    """The person's delivery for every kind."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    return {key: chosen.get(key, kind.default) for key, kind in KINDS.items()}


def set_preference(*, user: User, kind: str, delivery: str) -> None:
    """Record the person's delivery for one kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if delivery not in Delivery.values:
        raise ValueError(f"unknown delivery {delivery!r}")
    from django.utils import timezone

    NotificationPreference.objects.update_or_create(
        user=user, kind=kind, defaults={"delivery": delivery, "updated_at": timezone.now()}
    )


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """The IANA time zone names this server knows (the system's tz database)."""
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def valid_time_zone(name: str) -> bool:
    return name in time_zones()


def preferences_save(*, user: User, choices: dict[str, str], time_zone: str | None = None) -> None:
    """Save the person's delivery for each kind in `choices` and, when given, their time zone (the daily
    digest goes out at 08:00 there), all or nothing; an unchanged choice is not rewritten. An unknown
    time zone is a ValidationError on `time_zone`; an unknown kind or delivery a ValueError."""
    if time_zone is not None and not valid_time_zone(time_zone):
        raise ValidationError(
            {"time_zone": _("Choose a time zone by its IANA name, such as Europe/London or America/New_York.")},
            code="invalid",
        )
    with transaction.atomic():
        chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
        for kind, delivery in choices.items():
            if chosen.get(kind) != delivery:
                set_preference(user=user, kind=kind, delivery=delivery)
        if time_zone is not None and time_zone != user.time_zone:
            user.time_zone = time_zone
            user.save(update_fields=["time_zone"])


def notify(
    *,
    kind: str,
    recipients: Iterable[User],
    organisation: Organisation | None,
    actor: User | None,
    text: str,
    url: str,
    key: str,
    email: Email | None = None,
    target: Any = None,
) -> list[Notification]:
    """Tell each recipient (not the actor, not a deleted or inactive account) once per `key`.

    `text` is the sentence in the list and the digest ("Terry Jennings sent Self-assessment 2026 for
    workforce review"), `url` the path where it is dealt with, `target` the row it is about (its
    model name and primary key are kept). Runs inside the caller's transaction;
    emails are queued as outbox rows and sent after commit. Returns the notifications made now (a key
    already used for a person makes nothing, so retries and duplicate tasks are harmless).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    people = {
        u.pk: u
        for u in recipients
        if u is not None and u.is_active and u.deleted_at is None and (actor is None or u.pk != actor.pk)
    }
    if not people:
        return []
    made = []
    # A person's notifications are theirs across organisations: deliberate cross-tenant writes.
    with scopes_disabled():
        chosen = deliveries(people.values(), kind)
        for user in people.values():
            delivery = chosen[user.pk] if KINDS[kind].emailed else Delivery.OFF
            try:
                with transaction.atomic():
                    notification = Notification.objects.create(
                        recipient=user,
                        organisation=organisation,
                        kind=kind,
                        actor=actor,
                        text=text[:500],
                        url=url,
                        dedupe_key=key[:200],
                        delivery=delivery,
                        target_type=target._meta.model_name if target is not None else "",
                        target_id=str(target.pk) if target is not None else "",
                    )
            except IntegrityError:
                continue
            if delivery == Delivery.IMMEDIATE:
                _email_now(notification, email or Email(subject=text[:300]))
            made.append(notification)
    bump(people=[n.recipient_id for n in made])  # their header's unread count
    return made


def _email_now(notification: Notification, email: Email) -> None:
    """Queue the notification's email (an outbox row: claimed, retried and swept like every email)."""
    from django.urls import reverse

    from portal.outbox import outbox_queue

    organisation = notification.organisation
    if organisation is None:
        return
    unsubscribe = unsubscribe_url(notification.recipient, notification.kind)
    queued = outbox_queue(
        organisation=organisation,
        to=notification.recipient.email,
        subject=email.subject,
        template=email.template,
        context={
            "recipient": notification.recipient.display_name,
            "text": notification.text,
            "url": settings.SITE_URL + notification.url,
            "unsubscribe_url": unsubscribe,
            "preferences_url": settings.SITE_URL + reverse("notification_preferences"),
            "kind_label": str(KINDS[notification.kind].label),
            **email.context,
        },
        dedupe_key=f"notification:{notification.pk}",
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    if queued is not None:
        Notification.objects.filter(pk=notification.pk).update(email=queued)


# --- The person's list -------------------------------------------------------------------------------


def notifications_of(user: User, *, unread_only: bool = False) -> Any:
    """The person's notifications, newest first (a queryset to paginate). Evaluate it inside
    `scopes_disabled()`: the rows span organisations, and on PostgreSQL row-level security shows them
    only to a cross-tenant read (the filter by recipient is what keeps them the person's own)."""
    with scopes_disabled():
        qs = Notification.objects.filter(recipient=user).select_related("organisation", "actor")
        return qs.filter(read_at__isnull=True) if unread_only else qs


def unread_queryset(user: User) -> Any:
    """The person's unread notifications (the navigation counts them with "Your work", in one query)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True)


def unread_count(user: User) -> int:
    with scopes_disabled():
        return unread_queryset(user).count()


def notification_open(user: User, notification_id: Any) -> Notification | None:
    """The person's own notification, marked read; None when there is no such notification of theirs
    (someone else's is neither shown nor touched)."""
    from django.utils import timezone

    with scopes_disabled():
        notification = Notification.objects.filter(recipient=user, pk=notification_id).first()
        if notification is not None and notification.read_at is None:
            notification.read_at = timezone.now()
            Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
            bump(people=[user])  # the header's unread count
        return notification


def unsubscribe(*, user: User, kind: str) -> None:
    """Stop the emails of one kind for one person (the one-click unsubscribe, RFC 8058). The list in the
    portal still shows them."""
    set_preference(user=user, kind=kind, delivery=Delivery.OFF)


def mark_read(user: User, ids: Iterable[Any]) -> int:
    """Mark the person's own notifications among `ids` read (anyone else's are untouched). Returns how many."""
    from django.utils import timezone

    with scopes_disabled():
        marked: int = Notification.objects.filter(recipient=user, pk__in=list(ids), read_at__isnull=True).update(
            read_at=timezone.now()
        )
    bump(people=[user])  # the header's unread count
    return marked


def mark_all_read(user: User) -> int:
    from django.utils import timezone

    with scopes_disabled():
        marked: int = Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
    bump(people=[user])  # the header's unread count
    return marked


# --- One-click unsubscribe (RFC 8058) ---------------------------------------------------------------

UNSUBSCRIBE_SALT = "portal.notifications.unsubscribe"


def unsubscribe_token(user: User, kind: str) -> str:
    """A signed token naming one person and one kind: it cannot be forged or turned to another person
    or kind, and it works without signing in. It does not expire: the link in an old email keeps working."""
    from django.core import signing

    # No timestamp (a plain Signer): the same person and kind always make the same link.
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"u": user.pk, "k": kind}, compress=True)


def unsubscribe_url(user: User, kind: str) -> str:
    from django.urls import reverse

    return settings.SITE_URL + reverse("notifications_unsubscribe", kwargs={"token": unsubscribe_token(user, kind)})


def read_unsubscribe_token(token: str) -> tuple[User, str] | None:
    """The person and kind a token names, or None when it is not one the portal signed."""
    import zlib

    from django.core import signing

    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, zlib.error):  # not ours, or ours but not a token of this shape
        return None
    if not isinstance(data, dict) or data.get("k") not in KINDS or not isinstance(data.get("u"), int):
        return None
    user = User.objects.filter(pk=data["u"], deleted_at__isnull=True).first()
    return (user, data["k"]) if user is not None else None
