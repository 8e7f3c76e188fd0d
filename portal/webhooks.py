"""Webhooks: the portal's events sent to an organisation's own systems, signed, by workers.

An owner subscribes an endpoint (a URL) to some of `EVENTS`. Services call `emit` inside their own
transaction: it makes one `WebhookDelivery` row per active endpoint of the organisation subscribed to the
event, and the send is published after commit (DESIGN.md section 9: the row is the work, the task only
a nudge). `deliver` claims a row, checks where the request would go, sends one POST and records what
happened; a failure waits (exponential backoff from PORTAL_WEBHOOK_RETRY_SECONDS, at most 6 hours) and is
tried again by the beat's sweep until PORTAL_WEBHOOK_RETRY_HOURS have passed, then marked failed. An
endpoint with no success for PORTAL_WEBHOOK_PAUSE_AFTER_DAYS days is paused and its owners are told.

Where requests go: only http(s) URLs (https only in production); the host is resolved at send time, every
address it resolves to must be public (no private, loopback, link-local, multicast, reserved or
unspecified address; loopback only with PORTAL_WEBHOOKS_ALLOW_LOOPBACK, for tests), and the connection is
made to the address that was checked (the name is not resolved again, so DNS rebinding cannot move it).
No redirect is followed: a 3xx answer is a failure.

Signing: `X-Portal-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}" with the secret>`, with the
timestamp (Unix seconds) in `X-Portal-Timestamp` (docs/webhooks.md shows how to check it). Rotating the
secret takes effect at once, with no overlap: every request from then on, retries of older deliveries
included, is signed with the new secret only.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_scopes import scope, scopes_disabled

from portal.audit import audit_record
from portal.models import (
    Membership,
    Organisation,
    User,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from portal.roles import Role

logger = logging.getLogger(__name__)

EVENTS: dict[str, Any] = {
    "assessment.submitted": gettext_lazy("A self-assessment is sent for workforce review"),
    "assessment.agreed": gettext_lazy("A self-assessment is agreed (signed by both sides)"),
    "assessment.final": gettext_lazy("A self-assessment is final"),
    "signature.given": gettext_lazy("Someone signs a self-assessment or plan"),
    "signature.voided": gettext_lazy("Signatures stop counting because changes were asked for"),
    "plan.agreed": gettext_lazy("A plan is agreed (signed by both sides)"),
    "report.ready": gettext_lazy("An attestation report is ready"),
    "report.revoked": gettext_lazy("An attestation report is revoked"),
    "supplier_request.answered": gettext_lazy("A supplier answers one of your requests"),
    "action.overdue": gettext_lazy("An action is overdue"),
    "evidence.expiring": gettext_lazy("Evidence cited by current work expires soon"),
}

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
USER_AGENT = "MadeSmarterPortal-Webhooks/1"
MAX_BACKOFF = timedelta(hours=6)
STUCK_SENDING_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 500
RESPONSE_SNIPPET = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-Portal-Signature value: "sha256=" and the hex HMAC-SHA256 of "{timestamp}.{body}"."""
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- Where a request may go ------------------------------------------------------------------------


class RefusedAddress(Exception):
    """The URL is not one the portal sends to (scheme, or an address that is not public)."""


def url_problem(url: str) -> str | None:
    """Why the portal would not send to `url` as written (before any DNS), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        return _("Enter a valid URL.")
    allowed = ("https", "http") if settings.PORTAL_WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed:
        return _("The URL must start with https://.")
    if not parts.hostname:
        return _("Enter a valid URL.")
    if parts.username or parts.password:
        return _("The URL must not contain a user name or password.")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None  # a name: checked when it is resolved, at every send
    if _address_problem(address):
        return _("The portal does not send to private, loopback or link-local addresses.")
    return None


def _address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if settings.PORTAL_WEBHOOKS_ALLOW_LOOPBACK else "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private:
        return "private"
    if address.is_multicast or address.is_reserved or address.is_unspecified or not address.is_global:
        return "reserved"
    return None


def resolve_checked(host: str, port: int) -> str:
    """An address of `host` that the portal may connect to; RefusedAddress when any address it resolves
    to is not public (a name pointing at both a public and a private address is refused outright)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RefusedAddress(f"cannot resolve {host}: {exc}") from exc
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        problem = _address_problem(address)
        if problem:
            raise RefusedAddress(f"{host} resolves to {address}, a {problem} address: refused")
        addresses.append(str(address))
    if not addresses:
        raise RefusedAddress(f"{host} resolves to no address")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address; the Host header still names the host."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address; TLS verifies the certificate against the host name (SNI)."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self._pinned_context = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._pinned_context)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._pinned_context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """One POST, checked and pinned as the module says, with the short timeout; no redirect followed."""
    problem = url_problem(url)
    if problem:
        return Outcome(False, error=f"Refused: {problem}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = resolve_checked(host, port)
    except RefusedAddress as exc:
        return Outcome(False, error=f"Refused: {exc}")
    timeout = settings.PORTAL_WEBHOOK_TIMEOUT_SECONDS
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address=address, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        snippet = response.read(RESPONSE_SNIPPET).decode("utf-8", "replace")
        code = response.status
    except TimeoutError:
        return Outcome(False, error=f"No answer within {timeout} seconds")
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:2000])
    finally:
        connection.close()
    if 200 <= code < 300:
        return Outcome(True, code)
    if 300 <= code < 400:
        return Outcome(False, code, f"HTTP {code}: redirects are not followed")
    return Outcome(False, code, f"HTTP {code}: {snippet}".strip()[:2000])


# --- Emitting ---------------------------------------------------------------------------------------


def absolute(url: str) -> str:
    return settings.SITE_URL + url if url.startswith("/") else url


def emit(organisation: Organisation, event: str, data: dict[str, Any], *, event_id: str | None = None) -> int:
    """Queue `event` for every active endpoint of `organisation` subscribed to it, in the caller's
    transaction; the sends are published after commit. `data` is small: the subject's id, title and url
    (a path is made absolute). An `event_id` makes the event happen once per endpoint (a scan that runs
    every hour); without one each call is a new event. Returns how many deliveries were made."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    from portal.tasks import send_webhook

    with scope(organisation=organisation):
        endpoints = [
            e for e in WebhookEndpoint.objects.filter(organisation=organisation, active=True) if event in e.events
        ]
        if not endpoints:
            return 0
        now = timezone.now()
        event_id = event_id or f"evt_{secrets.token_hex(12)}"
        payload = {
            "id": event_id,
            "event": event,
            "occurred_at": now.isoformat(),
            "organisation": organisation.slug,
            "data": {
                key: (absolute(value) if key == "url" and isinstance(value, str) else value)
                for key, value in data.items()
            },
        }
        made = []
        for endpoint in endpoints:
            try:
                with transaction.atomic():
                    made.append(
                        WebhookDelivery.objects.create(
                            organisation=organisation,
                            endpoint=endpoint,
                            event=event,
                            event_id=event_id[:200],
                            payload=payload,
                            next_attempt_at=now,
                            queued_at=now,
                        )
                    )
            except IntegrityError:
                continue  # this event already went (or is going) to this endpoint
    for delivery in made:
        send_webhook.publish(organisation_id=str(organisation.pk), delivery_id=str(delivery.pk))
    return len(made)


# --- Sending ----------------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """The wait after `attempts` failed tries: doubling from PORTAL_WEBHOOK_RETRY_SECONDS, at most 6 hours."""
    seconds = settings.PORTAL_WEBHOOK_RETRY_SECONDS * 2 ** max(0, attempts - 1)
    return min(MAX_BACKOFF, timedelta(seconds=seconds))


def deliver(organisation: Organisation, delivery_id: Any) -> str:
    """Send one delivery if it is due and its endpoint active. Idempotent: only the caller that claims the
    row sends. Returns "sent", "retry", "failed" or "not-claimed". Runs inside the organisation's scope."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        organisation=organisation,
        status=WebhookDeliveryStatus.PENDING,
        next_attempt_at__lte=now,
        endpoint__active=True,
    ).update(status=WebhookDeliveryStatus.SENDING, claimed_at=now)
    if not claimed:
        return "not-claimed"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    body = body_of(delivery.payload)
    timestamp = str(int(now.timestamp()))
    outcome = post(
        endpoint.url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Portal-Event": delivery.event,
            "X-Portal-Delivery": str(delivery.pk),
            "X-Portal-Timestamp": timestamp,
            "X-Portal-Signature": signature(endpoint.secret, timestamp, body),
        },
    )
    attempts = delivery.attempts + 1
    done = timezone.now()
    if outcome.ok:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDeliveryStatus.SENT,
            attempts=attempts,
            last_attempt_at=done,
            last_status_code=outcome.status_code,
            last_error="",
            sent_at=done,
        )
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
        return "sent"
    next_at = done + backoff(attempts)
    final = next_at > delivery.queued_at + timedelta(hours=settings.PORTAL_WEBHOOK_RETRY_HOURS)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDeliveryStatus.FAILED if final else WebhookDeliveryStatus.PENDING,
        attempts=attempts,
        last_attempt_at=done,
        last_status_code=outcome.status_code,
        last_error=outcome.error[:2000],
        next_attempt_at=next_at,
    )
    logger.info("webhook delivery %s failed (attempt %s): %s", delivery.pk, attempts, outcome.error)
    _note_failure(organisation, endpoint, done)
    return "failed" if final else "retry"


def _note_failure(organisation: Organisation, endpoint: WebhookEndpoint, now: datetime) -> None:
    """Start the endpoint's failing clock, and pause it once it has run PORTAL_WEBHOOK_PAUSE_AFTER_DAYS."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    since = endpoint.failing_since or now
    if since > now - timedelta(days=settings.PORTAL_WEBHOOK_PAUSE_AFTER_DAYS):
        return
    with transaction.atomic():
        paused = WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(
            active=False, paused_at=now, paused_reason="failing"
        )
        if not paused:
            return
        audit_record(
            organisation=organisation,
            actor=None,
            verb="webhook.paused_failing",
            target=endpoint,
            target_label=endpoint.url,
            after={"failing_since": since},
        )
        _tell_owners_paused(organisation, endpoint, since)


def _tell_owners_paused(organisation: Organisation, endpoint: WebhookEndpoint, since: datetime) -> None:
    from portal.notifications import notify

    owners = [
        m.user
        for m in Membership.objects.filter(organisation=organisation, role=Role.OWNER).select_related("user")
        if m.is_active()
    ]
    notify(
        kind="webhook_paused",
        recipients=owners,
        organisation=organisation,
        actor=None,
        text=_("The webhook to %(url)s in %(org)s kept failing since %(date)s and is paused")
        % {
            "url": endpoint.url[:200],
            "org": organisation.name,
            "date": timezone.localtime(since).strftime("%-d %B %Y"),
        },
        url=reverse("portal:webhook_detail", kwargs={"org_slug": organisation.slug, "endpoint_id": endpoint.pk}),
        key=f"webhook-paused:{endpoint.pk}:{since.isoformat()}",
        target=endpoint,
    )


def sweep() -> int:
    """Publish every delivery that is due (retries, and sends whose task was lost), across organisations;
    give back deliveries left "sending" by a killed worker."""
    from portal.tasks import send_webhook

    now = timezone.now()
    with scopes_disabled():
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.SENDING, claimed_at__lt=now - STUCK_SENDING_AFTER
        ).update(status=WebhookDeliveryStatus.PENDING)
        due = list(
            WebhookDelivery.objects.filter(
                status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__active=True
            )
            .order_by("next_attempt_at")
            .values_list("id", "organisation_id")[:SWEEP_BATCH]
        )
    for delivery_id, organisation_id in due:
        send_webhook.publish(organisation_id=str(organisation_id), delivery_id=str(delivery_id))
    return len(due)


# --- What owners do (the pages call these) -----------------------------------------------------------


def _clean(url: str, events: list[str]) -> tuple[str, list[str]]:
    errors: dict[str, str] = {}
    url = url.strip()
    problem = url_problem(url)
    if problem:
        errors["url"] = problem
    chosen = [e for e in EVENTS if e in set(events)]
    if not chosen or len(chosen) != len(set(events)):
        errors["events"] = _("Choose at least one event.")
    if errors:
        raise ValidationError(errors)
    return url, chosen


def endpoint_create(*, organisation: Organisation, actor: User, url: str, events: list[str]) -> WebhookEndpoint:
    url, chosen = _clean(url, events)
    with scope(organisation=organisation), transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organisation=organisation, url=url, events=chosen, secret=new_secret(), created_by=actor
        )
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="webhook.created",
            target=endpoint,
            target_label=url,
            after={"url": url, "events": chosen},
        )
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: User) -> WebhookEndpoint:
    """A new secret, used from now on for every request (no overlap with the old one)."""
    with scope(organisation=endpoint.organisation), transaction.atomic():
        endpoint.secret = new_secret()
        endpoint.secret_rotated_at = timezone.now()
        endpoint.save(update_fields=["secret", "secret_rotated_at"])
        audit_record(
            organisation=endpoint.organisation,
            actor=actor,
            verb="webhook.secret_rotated",
            target=endpoint,
            target_label=endpoint.url,
        )
    return endpoint


def endpoint_set_active(*, endpoint: WebhookEndpoint, actor: User, active: bool) -> WebhookEndpoint:
    """Pause or resume. Resuming clears the failing clock; deliveries still waiting go out with the sweep."""
    if endpoint.active == active:
        return endpoint
    with scope(organisation=endpoint.organisation), transaction.atomic():
        endpoint.active = active
        endpoint.paused_at = None if active else timezone.now()
        endpoint.paused_reason = ""
        if active:
            endpoint.failing_since = None
        endpoint.save(update_fields=["active", "paused_at", "paused_reason", "failing_since"])
        audit_record(
            organisation=endpoint.organisation,
            actor=actor,
            verb="webhook.resumed" if active else "webhook.paused",
            target=endpoint,
            target_label=endpoint.url,
        )
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint, actor: User) -> None:
    with scope(organisation=endpoint.organisation), transaction.atomic():
        audit_record(
            organisation=endpoint.organisation,
            actor=actor,
            verb="webhook.deleted",
            target=endpoint,
            target_label=endpoint.url,
            before={"url": endpoint.url, "events": endpoint.events},
        )
        endpoint.delete()


def delivery_send_again(*, delivery: WebhookDelivery, actor: User) -> WebhookDelivery:
    """Send a delivery again (same event id, so the receiver can tell), with a new day of retries."""
    from portal.tasks import send_webhook

    organisation = delivery.organisation
    with scope(organisation=organisation), transaction.atomic():
        if delivery.status == WebhookDeliveryStatus.SENDING:
            raise ValidationError(_("This delivery is being sent now."))
        now = timezone.now()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at=now, queued_at=now
        )
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="webhook.sent_again",
            target=delivery.endpoint,
            target_label=delivery.endpoint.url,
            after={"event": delivery.event, "event_id": delivery.event_id},
        )
    send_webhook.publish(organisation_id=str(organisation.pk), delivery_id=str(delivery.pk))
    delivery.refresh_from_db()
    return delivery
