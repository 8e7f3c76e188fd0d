"""API for the person behind the request: their "Your work" inbox, their notifications and their
notification preferences.

These are a person's own, across organisations, so they live outside /organisations/{org}/. A token
still works in one organisation only: with a token, the inbox and the notifications show only what
is about the token's organisation (nothing sent to the person's address without one, nothing of
their other organisations), with the token's role; a session (the portal's own pages) sees all of it,
as the pages do. A token whose person has left its organisation, or whose role there has narrowed
below the token's, is refused, as it is everywhere else.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from portal.api.base import Cursor, GenericApiView, ListView, token_of
from portal.api.errors import service_error
from portal.dashboard import WorkItem, awaiting_items
from portal.header import header_state
from portal.models import Delivery, Membership, Notification
from portal.notifications import (
    KINDS,
    mark_all_read,
    mark_read,
    notifications_of,
    preferences,
    preferences_save,
    unread_count,
)
from portal.tokens import TokenRefused, token_grant

# --- Whom the request reaches ----------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """What the request may see of the person's own things: every organisation (a session), or only
    the token's (`organisation_id`), with the token's membership, its role narrowed to the token's."""

    organisation_id: Any | None
    membership: Membership | None


def reach_of(request: Request) -> Reach:
    token = token_of(request)
    if token is None:
        return Reach(organisation_id=None, membership=None)
    try:
        grant = token_grant(token, token.organisation)
    except TokenRefused as exc:
        raise exceptions.PermissionDenied(str(exc), code="token_role_exceeded") from None
    if grant is None:
        raise exceptions.PermissionDenied(
            _("You are no longer a member of %(org)s, so this API token works nowhere. Create a new one.")
            % {"org": token.organisation.name},
            code="token_membership_ended",
        )
    return Reach(organisation_id=token.organisation_id, membership=grant.membership)


_DATETIME = serializers.DateTimeField()  # formats a date-time as every serializer field does


def _absolute(url: str) -> str:
    return url if url.startswith(("http://", "https://")) else settings.SITE_URL + url


class OrganisationNameSerializer(serializers.Serializer[Any]):
    slug = serializers.CharField()
    name = serializers.CharField()


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses fields it does not know, naming them, rather than ignoring a misspelt one."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            accepted = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in accepted)
            if unknown:
                message = _("This field is not accepted here. Accepted fields: %(fields)s.") % {
                    "fields": ", ".join(sorted(accepted))
                }
                raise serializers.ValidationError({key: [message] for key in unknown})
        return super().to_internal_value(data)


# --- The inbox ("Your work") -----------------------------------------------------------------------


class ListCursor(Cursor):
    """Pages a list computed in Python (the inbox) the way `Cursor` pages a query: opaque `next` and
    `previous` links, `page_size` up to 100. A cursor names the item just before its page's boundary by
    the item's position key (`view.position(item)`, the list's sort order), so items added or done
    elsewhere in the list do not shift the pages."""

    _next: str | None = None
    _previous: str | None = None

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:  # type: ignore[override]
        items = list(queryset)
        keys = [view.position(item) for item in items]
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        forward, boundary = True, 0
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded:
            forward, boundary = self._decode(encoded, keys)
        if forward:
            start, end = boundary, min(len(items), boundary + self.page_size)
        else:
            start, end = max(0, boundary - self.page_size), boundary
        self._next = self._link(keys, end, forward=True) if end < len(items) else None
        self._previous = self._link(keys, start, forward=False) if start > 0 else None
        return items[start:end]

    def _link(self, keys: Sequence[list[str]], boundary: int, *, forward: bool) -> str:
        key = keys[boundary - 1]
        payload = {"d": "n" if forward else "p", "k": key, "n": boundary - bisect_left(keys, key)}
        encoded = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
        return str(replace_query_param(self.base_url, self.cursor_query_param, encoded))

    def _decode(self, encoded: str, keys: Sequence[list[str]]) -> tuple[bool, int]:
        try:
            payload = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")))
            direction, key, count = payload["d"], payload["k"], payload["n"]
        except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError):
            raise exceptions.NotFound(self.invalid_cursor_message) from None
        valid = (
            direction in ("n", "p")
            and isinstance(key, list)
            and all(isinstance(part, str) for part in key)
            and isinstance(count, int)
            and 0 < count <= 10_000
        )
        if not valid:
            raise exceptions.NotFound(self.invalid_cursor_message)
        low, high = bisect_left(keys, key), bisect_right(keys, key)
        return direction == "n", low + min(count, high - low)

    def get_next_link(self) -> str | None:
        return self._next

    def get_previous_link(self) -> str | None:
        return self._previous


class InboxItemSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField(
        help_text=(
            "What sort of thing waits: `supplier_request`, `signature`, `change_request`, `comment`, `action`, "
            "`evidence`, `invitation`, and more as the portal grows."
        )
    )
    organisation = OrganisationNameSerializer(
        allow_null=True, help_text="The organisation it is for; null when it was sent to your own address."
    )
    title = serializers.CharField(help_text="What it is about, e.g. the assessment's title.")
    action = serializers.CharField(help_text="What to do, in words.")
    url = serializers.CharField(help_text="The portal page where it is done (absolute).")
    due = serializers.DateField(allow_null=True)
    overdue = serializers.BooleanField(help_text="The due date has passed.")
    detail = serializers.CharField(allow_blank=True, help_text="A line of context: who asked, when it expires.")


def _inbox_row(item: WorkItem, today: Any) -> dict[str, Any]:
    organisation = item.organisation
    return {
        "kind": item.kind,
        "organisation": None if organisation is None else {"slug": organisation.slug, "name": organisation.name},
        "title": item.title,
        "action": item.action,
        "url": _absolute(item.url),
        "due": item.due.isoformat() if item.due is not None else None,
        "overdue": item.is_overdue(today),
        "detail": item.detail,
    }


class InboxView(ListView):
    """What needs you ("Your work"), in the order of the page: what was sent to your own address first,
    then by organisation name, each soonest due first (undated last). With a token: only what is for
    the token's organisation, as its role sees it."""

    serializer_class = InboxItemSerializer
    pagination_class = ListCursor

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The rows are already what `InboxItemSerializer` makes of them (a test compares the two): the
        # serializer documents them (the schema) without going over every field of every row again.
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(page)

    def get_queryset(self) -> builtins.list[dict[str, Any]]:  # type: ignore[override]
        reach = reach_of(self.request)
        if reach.membership is None:
            # The person's memberships from the header's cached state (no query when it is current).
            items = awaiting_items(self.request.user, header_state(self.request.user).memberships)
        else:
            items = [
                item
                for item in awaiting_items(self.request.user, [reach.membership])
                if item.organisation is not None and item.organisation.pk == reach.organisation_id
            ]
        today = timezone.localdate()
        return sorted((_inbox_row(item, today) for item in items), key=self.position)

    @staticmethod
    def position(row: dict[str, Any]) -> builtins.list[str]:
        """The row's place in the list: the page's grouping and order, then its words, to break ties."""
        organisation = row["organisation"]
        due = row["due"]
        return [
            "1" if organisation else "0",
            organisation["name"].lower() if organisation else "",
            organisation["slug"] if organisation else "",
            "1" if due is None else "0",
            due or "",
            row["title"].lower(),
            row["action"],
            row["detail"],
            row["url"],
        ]


# --- Notifications ---------------------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    kind_label = serializers.SerializerMethodField(help_text="The kind in words, as on the preferences page.")
    organisation = serializers.SerializerMethodField()
    actor_name = serializers.SerializerMethodField(help_text="Who did it; null for the portal's own reminders.")
    url = serializers.SerializerMethodField(help_text="The portal page where it is dealt with (absolute).")
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "kind_label",
            "organisation",
            "actor_name",
            "text",
            "url",
            "created_at",
            "read_at",
            "read",
        ]

    def get_kind_label(self, notification: Notification) -> str:
        kind = KINDS.get(notification.kind)
        return str(kind.label) if kind is not None else notification.kind

    @extend_schema_field(OrganisationNameSerializer(allow_null=True))
    def get_organisation(self, notification: Notification) -> dict[str, str] | None:
        organisation = notification.organisation
        return None if organisation is None else {"slug": organisation.slug, "name": organisation.name}

    def get_actor_name(self, notification: Notification) -> str | None:
        return notification.actor.display_name if notification.actor is not None else None

    def get_url(self, notification: Notification) -> str:
        return _absolute(notification.url)

    def get_read(self, notification: Notification) -> bool:
        return notification.read_at is not None

    def to_representation(self, notification: Notification) -> dict[str, Any]:
        """What the fields above give, built directly: DRF's field-by-field walk was a sixth of a list's
        cost (a test compares the two)."""
        kind = KINDS.get(notification.kind)
        organisation = notification.organisation
        return {
            "id": str(notification.pk),
            "kind": notification.kind,
            "kind_label": str(kind.label) if kind is not None else notification.kind,
            "organisation": None if organisation is None else {"slug": organisation.slug, "name": organisation.name},
            "actor_name": notification.actor.display_name if notification.actor is not None else None,
            "text": notification.text,
            "url": _absolute(notification.url),
            "created_at": _DATETIME.to_representation(notification.created_at),
            "read_at": _DATETIME.to_representation(notification.read_at) if notification.read_at else None,
            "read": notification.read_at is not None,
        }


class NotificationQuery(serializers.Serializer[Any]):
    unread = serializers.BooleanField(required=False, default=False, help_text="`true` lists only the unread ones.")


def _notifications(request: Request, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The person's own notifications this request may see (a token: only its organisation's).

    They are the person's across organisations, always filtered by recipient: evaluate the queryset
    inside `scopes_disabled()`. PostgreSQL's row-level security reads the scope when a query runs, not
    when it is built, so outside that block it would show no rows."""
    reach = reach_of(request)
    queryset: QuerySet[Notification] = notifications_of(request.user, unread_only=unread_only)
    if reach.organisation_id is not None:
        queryset = queryset.filter(organisation_id=reach.organisation_id)
    return queryset


class NotificationListView(ListView):
    """Your notifications, newest first. With a token: only those about the token's organisation."""

    serializer_class = NotificationSerializer
    query_serializer_class = NotificationQuery
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Notification]:
        return _notifications(self.request, unread_only=self.query()["unread"])

    def paginate_queryset(self, queryset: Any) -> Any:
        with scopes_disabled():  # the person's own, across organisations (see `_notifications`)
            return super().paginate_queryset(queryset)


class NotificationReadView(GenericApiView):
    """Mark one of your notifications read (already read: it stays as it was). Anyone else's is 404."""

    serializer_class = NotificationSerializer
    pagination_class = None

    @extend_schema(request=None, responses={200: NotificationSerializer})
    def post(self, request: Request, notification_id: Any) -> Response:
        with scopes_disabled():  # the person's own, across organisations (see `_notifications`)
            notification = get_object_or_404(_notifications(request), pk=notification_id)
        if notification.read_at is None:
            mark_read(request.user, [notification.pk])
            with scopes_disabled():
                notification.refresh_from_db(fields=["read_at"])
        return Response(NotificationSerializer(notification).data)


class ReadAllSerializer(serializers.Serializer[Any]):
    marked = serializers.IntegerField(help_text="How many were unread and are now read.")
    unread = serializers.IntegerField(help_text="How many are still unread (none, unless some arrived meanwhile).")


class NotificationReadAllView(GenericApiView):
    """Mark all your notifications read (with a token: all those about the token's organisation)."""

    serializer_class = ReadAllSerializer
    pagination_class = None

    @extend_schema(request=None, responses={200: ReadAllSerializer})
    def post(self, request: Request) -> Response:
        reach = reach_of(request)
        if reach.organisation_id is None:
            marked = mark_all_read(request.user)
            unread = unread_count(request.user)
        else:
            unread_here = _notifications(request, unread_only=True)
            with scopes_disabled():  # the person's own, across organisations (see `_notifications`)
                marked = mark_read(request.user, list(unread_here.values_list("pk", flat=True)))
                unread = unread_here.count()
        return Response(ReadAllSerializer({"marked": marked, "unread": unread}).data)


# --- Preferences -----------------------------------------------------------------------------------


def kind_choices() -> list[tuple[str, str]]:
    """Every notification kind and its label (also named in settings.SPECTACULAR_SETTINGS's enum names)."""
    return [(key, str(kind.label)) for key, kind in KINDS.items()]


class KindPreferenceSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=kind_choices())
    label = serializers.CharField(help_text="The kind in words.")
    delivery = serializers.ChoiceField(
        choices=Delivery.choices,
        help_text="`immediate`: an email straight away; `digest`: in the daily summary; `off`: no email. "
        "Every notification is in the portal's list whatever this says.",
    )
    default = serializers.ChoiceField(choices=Delivery.choices, help_text="The delivery when you have not chosen.")


class NotificationPreferencesSerializer(serializers.Serializer[Any]):
    time_zone = serializers.CharField(help_text="The daily digest goes out at 08:00 in this IANA time zone.")
    kinds = KindPreferenceSerializer(many=True, help_text="Every kind of notification, in the order of the page.")


class KindChoiceSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=kind_choices())
    delivery = serializers.ChoiceField(choices=Delivery.choices)


class NotificationPreferencesUpdateSerializer(StrictSerializer):
    """PUT: the time zone and a delivery for every kind."""

    partial_kinds = False  # PATCH may name some kinds only
    time_zone = serializers.CharField(max_length=64, help_text="An IANA time zone name, such as Europe/London.")
    kinds = KindChoiceSerializer(many=True, help_text="A delivery for every kind, each kind once.")

    def validate_kinds(self, value: list[dict[str, str]]) -> list[dict[str, str]]:
        errors: list[dict[str, list[str]]] = []
        seen: set[str] = set()
        for row in value:
            errors.append({"kind": [_("This kind is listed more than once.")]} if row["kind"] in seen else {})
            seen.add(row["kind"])
        if any(errors):
            raise serializers.ValidationError(errors)
        missing = [key for key in KINDS if key not in seen]
        if missing and not self.partial_kinds:
            raise serializers.ValidationError(
                _("List every kind (or use PATCH to change some). Missing: %(kinds)s.") % {"kinds": ", ".join(missing)}
            )
        return value


class NotificationPreferencesPatchSerializer(NotificationPreferencesUpdateSerializer):
    """PATCH: any of the fields, and any of the kinds."""

    time_zone = serializers.CharField(
        max_length=64, required=False, help_text="An IANA time zone name, such as Europe/London."
    )
    kinds = KindChoiceSerializer(many=True, required=False, help_text="The kinds to change, each kind once.")
    partial_kinds = True


def _preferences_data(user: Any) -> dict[str, Any]:
    chosen = preferences(user)
    return {
        "time_zone": user.time_zone,
        "kinds": [
            {"kind": key, "label": str(kind.label), "delivery": chosen[key], "default": kind.default}
            for key, kind in KINDS.items()
        ],
    }


class NotificationPreferencesView(GenericApiView):
    """How you hear of each kind of notification besides the portal's list, and your time zone. PUT sets
    them all; PATCH changes what it names. They are yours in every organisation."""

    serializer_class = NotificationPreferencesSerializer
    pagination_class = None

    def get(self, request: Request) -> Response:
        reach_of(request)
        return Response(NotificationPreferencesSerializer(_preferences_data(request.user)).data)

    @extend_schema(request=NotificationPreferencesUpdateSerializer, responses={200: NotificationPreferencesSerializer})
    def put(self, request: Request) -> Response:
        return self._save(request, NotificationPreferencesUpdateSerializer)

    @extend_schema(request=NotificationPreferencesPatchSerializer, responses={200: NotificationPreferencesSerializer})
    def patch(self, request: Request) -> Response:
        return self._save(request, NotificationPreferencesPatchSerializer)

    def _save(self, request: Request, serializer_class: type[serializers.Serializer[Any]]) -> Response:
        reach_of(request)
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            preferences_save(
                user=request.user,
                choices={row["kind"]: row["delivery"] for row in data.get("kinds", [])},
                time_zone=data.get("time_zone"),
            )
        except DjangoValidationError as exc:
            raise service_error(exc) from None
        return Response(NotificationPreferencesSerializer(_preferences_data(request.user)).data)
