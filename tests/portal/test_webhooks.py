"""Webhooks against a real HTTP receiver on 127.0.0.1: signatures, retries with backoff (answer 500, receiver
down, receiver slow), failed after the window, pause after days, SSRF refusals, no redirects, events from
real service calls, pages (owners only, other tenants 404) and their query counts."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scopes_disabled

from portal import webhooks
from portal.models import Notification, WebhookDelivery, WebhookEndpoint
from portal.roles import Role
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.querycount import counting
from tests.smtp import free_port

pytestmark = pytest.mark.django_db


class Receiver:
    """An HTTP server in a thread that records every request and answers as told."""

    def __init__(self, status: int = 200, delay: float = 0.0, location: str = "") -> None:
        self.status, self.delay, self.location = status, delay, location
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**kwargs: Any) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.stop()


@pytest.fixture(autouse=True)
def _loopback(settings):
    settings.PORTAL_WEBHOOKS_ALLOW_LOOPBACK = True
    settings.PORTAL_WEBHOOK_TIMEOUT_SECONDS = 1
    settings.PORTAL_WEBHOOK_RETRY_SECONDS = 60
    settings.PORTAL_WEBHOOK_RETRY_HOURS = 24
    settings.PORTAL_WEBHOOK_PAUSE_AFTER_DAYS = 3


def _endpoint(tenant, url: str, events: list[str] | None = None) -> WebhookEndpoint:
    return webhooks.endpoint_create(
        organisation=tenant.organisation, actor=tenant.owner, url=url, events=events or list(webhooks.EVENTS)
    )


def _emit(tenant, event: str = "report.ready") -> WebhookDelivery:
    assert webhooks.emit(tenant.organisation, event, {"id": "r1", "title": "Report", "url": "/o/x/reports/r1/"}) >= 1
    with scopes_disabled():
        return WebhookDelivery.objects.order_by("-created_at").first()


def _deliver(tenant, delivery: WebhookDelivery) -> str:
    from django_scopes import scope

    with scope(organisation=tenant.organisation):
        return webhooks.deliver(tenant.organisation, delivery.pk)


def _reload(delivery: WebhookDelivery) -> WebhookDelivery:
    with scopes_disabled():
        return WebhookDelivery.objects.get(pk=delivery.pk)


def test_a_delivery_is_signed_and_the_signature_verifies(tenant, receiver) -> None:
    r = receiver()
    endpoint = _endpoint(tenant, r.url)
    delivery = _emit(tenant)
    assert _deliver(tenant, delivery) == "sent"
    (request,) = r.requests
    headers = request["headers"]
    assert headers["X-Portal-Event"] == "report.ready"
    assert headers["X-Portal-Delivery"] == str(delivery.pk)
    expected = hmac.new(
        endpoint.secret.encode(), f"{headers['X-Portal-Timestamp']}.".encode() + request["body"], hashlib.sha256
    ).hexdigest()
    assert headers["X-Portal-Signature"] == f"sha256={expected}"
    body = json.loads(request["body"])
    assert body["event"] == "report.ready" and body["organisation"] == tenant.organisation.slug
    assert body["data"]["url"].startswith("http") and body["data"]["title"] == "Report"
    delivery = _reload(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 1, 200)
    assert _deliver(tenant, delivery) == "not-claimed"  # idempotent


def test_rotation_signs_with_the_new_secret_only(tenant, receiver) -> None:
    r = receiver()
    endpoint = _endpoint(tenant, r.url)
    old = endpoint.secret
    webhooks.endpoint_rotate_secret(endpoint=endpoint, actor=tenant.owner)
    assert endpoint.secret != old
    _deliver(tenant, _emit(tenant))
    request = r.requests[0]
    signed = f"{request['headers']['X-Portal-Timestamp']}.".encode() + request["body"]
    expected = "sha256=" + hmac.new(endpoint.secret.encode(), signed, hashlib.sha256).hexdigest()
    assert request["headers"]["X-Portal-Signature"] == expected
    assert hmac.new(old.encode(), signed, hashlib.sha256).hexdigest() not in expected


@pytest.mark.parametrize("how", ["500", "down", "slow"])
def test_failures_are_retried_with_backoff_then_sent(tenant, receiver, how) -> None:
    if how == "down":
        url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
        r = None
    else:
        r = receiver(status=500) if how == "500" else receiver(delay=2.5)
        url = r.url
    _endpoint(tenant, url)
    delivery = _emit(tenant)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        start = timezone.now()
        assert _deliver(tenant, delivery) == "retry"
        first = _reload(delivery)
        assert first.status == "pending" and first.attempts == 1
        assert first.next_attempt_at == start + timedelta(seconds=60)
        assert {"500": "HTTP 500", "down": "ConnectionRefusedError", "slow": "No answer within"}[
            how
        ] in first.last_error
        assert _deliver(tenant, delivery) == "not-claimed"  # not due yet
        clock.move_to(first.next_attempt_at)
        assert _deliver(tenant, delivery) == "retry"
        second = _reload(delivery)
        assert second.attempts == 2 and second.next_attempt_at - first.next_attempt_at >= timedelta(seconds=120)
        # The receiver recovers: the sweep publishes the due delivery, which is sent.
        clock.move_to(second.next_attempt_at)
        fixed = receiver()
        with scopes_disabled():
            WebhookEndpoint.objects.update(url=fixed.url)
        assert webhooks.sweep() == 1  # publishes it (after commit: run here as the worker would)
        assert _deliver(tenant, delivery) == "sent"
    assert _reload(delivery).status == "sent" and len(fixed.requests) == 1
    with scopes_disabled():
        assert WebhookEndpoint.objects.get().failing_since is None


def test_failed_after_the_window_and_paused_after_days_with_owners_told(tenant, receiver) -> None:
    r = receiver(status=503)
    endpoint = _endpoint(tenant, r.url)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        delivery = _emit(tenant)
        for _ in range(30):
            if _deliver(tenant, delivery) == "failed":
                break
            clock.move_to(_reload(delivery).next_attempt_at)
        delivery = _reload(delivery)
        assert delivery.status == "failed" and delivery.last_status_code == 503
        assert delivery.next_attempt_at - delivery.queued_at > timedelta(hours=24)
        with scopes_disabled():
            endpoint.refresh_from_db()
        assert endpoint.active and endpoint.failing_since is not None
        # Days later, still failing: a new event's failure pauses the endpoint and tells its owners.
        clock.move_to(endpoint.failing_since + timedelta(days=3, minutes=1))
        later = _emit(tenant)
        _deliver(tenant, later)
    with scopes_disabled():
        endpoint.refresh_from_db()
        assert not endpoint.active and endpoint.paused_reason == "failing"
        (note,) = Notification.objects.filter(kind="webhook_paused")
        assert note.recipient == tenant.owner and r.url in note.text
        # A paused endpoint gets no new deliveries and its waiting ones are not sent.
        assert webhooks.emit(tenant.organisation, "report.ready", {"id": "x"}) == 0
    assert _deliver(tenant, _reload(later)) == "not-claimed"


@pytest.mark.parametrize(
    "url",
    ["http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]:9/hook", "http://192.168.0.1/"],
)
def test_private_addresses_are_refused_when_sent(tenant, settings, url) -> None:
    settings.PORTAL_WEBHOOKS_ALLOW_LOOPBACK = False
    outcome = webhooks.post(url, b"{}", {})
    assert not outcome.ok and outcome.error.startswith("Refused")


def test_loopback_is_refused_without_the_setting_even_by_name(tenant, receiver, settings, monkeypatch) -> None:
    r = receiver()
    _endpoint(tenant, r.url)
    delivery = _emit(tenant)
    settings.PORTAL_WEBHOOKS_ALLOW_LOOPBACK = False
    assert _deliver(tenant, delivery) == "retry"
    assert "Refused" in _reload(delivery).last_error and r.requests == []
    # A name resolving to loopback (checked at send time, every address) is refused too.
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "hooks.example.com":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    port = r.server.server_address[1]
    outcome = webhooks.post(f"http://hooks.example.com:{port}/hook", b"{}", {})
    assert not outcome.ok and "loopback" in outcome.error and r.requests == []


def test_the_form_refuses_private_urls(tenant, settings) -> None:
    settings.PORTAL_WEBHOOKS_ALLOW_LOOPBACK = False
    from django.core.exceptions import ValidationError

    for url in ("http://127.0.0.1/x", "http://10.0.0.1/x", "ftp://example.com/", "https://u:p@example.com/"):
        with pytest.raises(ValidationError):
            _endpoint(tenant, url)
    settings.PORTAL_WEBHOOKS_ALLOW_HTTP = False
    with pytest.raises(ValidationError):
        _endpoint(tenant, "http://example.com/hook")


def test_redirects_are_not_followed(tenant, receiver) -> None:
    target = receiver()
    r = receiver(status=302, location=target.url)
    _endpoint(tenant, r.url)
    delivery = _emit(tenant)
    assert _deliver(tenant, delivery) == "retry"
    delivery = _reload(delivery)
    assert delivery.last_status_code == 302 and "redirects are not followed" in delivery.last_error
    assert len(r.requests) == 1 and target.requests == []


def test_submitting_an_assessment_emits_only_to_subscribed_endpoints_of_its_organisation(tenant, framework) -> None:
    from assessments import services
    from tests.assessments.conftest import responses_by_code

    subscribed = _endpoint(tenant, "https://hooks.example.com/a", ["assessment.submitted"])
    _endpoint(tenant, "https://hooks.example.com/b", ["report.ready"])
    other = OrganisationFactory(name="Other Ltd")
    other_owner = UserFactory(email="owner@other.example")
    add_member(other, other_owner, Role.OWNER)
    webhooks.endpoint_create(
        organisation=other, actor=other_owner, url="https://hooks.example.com/c", events=list(webhooks.EVENTS)
    )
    assessment = services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Hooked review",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=tenant.manager, maturity=1, narrative="", evidence_ids=[])
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    with scopes_disabled():
        (delivery,) = WebhookDelivery.objects.all()
    assert delivery.endpoint_id == subscribed.pk and delivery.event == "assessment.submitted"
    assert delivery.payload["data"]["id"] == str(assessment.pk) and delivery.payload["data"]["title"] == "Hooked review"
    assert delivery.organisation_id == tenant.organisation.pk


def test_emit_with_an_event_id_happens_once_per_endpoint(tenant) -> None:
    _endpoint(tenant, "https://hooks.example.com/a")
    assert webhooks.emit(tenant.organisation, "action.overdue", {"id": "a"}, event_id="action.overdue:a") == 1
    assert webhooks.emit(tenant.organisation, "action.overdue", {"id": "a"}, event_id="action.overdue:a") == 0


# --- Pages ------------------------------------------------------------------------------------------


def _pages(tenant, endpoint, delivery) -> list[str]:
    base = f"/o/{tenant.organisation.slug}/settings/webhooks/"
    return [
        base,
        f"{base}new/",
        f"{base}{endpoint.pk}/",
        f"{base}{endpoint.pk}/rotate/",
        f"{base}{endpoint.pk}/delete/",
    ]


def test_only_owners_see_the_pages_and_other_tenants_get_404(tenant, outsider) -> None:
    endpoint = _endpoint(tenant, "https://hooks.example.com/a")
    delivery = _emit(tenant)
    for path in _pages(tenant, endpoint, delivery):
        assert client_for(tenant.owner).get(path).status_code == 200, path
        for role in (Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR, Role.MEMBER):
            assert client_for(tenant.user(role)).get(path).status_code == 403, (path, role)
        assert client_for(outsider).get(path).status_code == 404, path
    # Another organisation's owner cannot reach this endpoint through their own organisation either.
    with scopes_disabled():
        theirs = outsider.memberships.get().organisation
    path = f"/o/{theirs.slug}/settings/webhooks/{endpoint.pk}/"
    assert client_for(outsider).get(path).status_code == 404
    send_again = f"/o/{theirs.slug}/settings/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/send-again/"
    assert client_for(outsider).post(send_again).status_code == 404


def test_add_shows_the_secret_once_then_rotate_pause_resume_send_again_delete(tenant) -> None:
    client = client_for(tenant.owner)
    base = f"/o/{tenant.organisation.slug}/settings/webhooks/"
    response = client.post(f"{base}new/", {"url": "https://hooks.example.com/x", "events": ["report.ready"]})
    assert response.status_code == 302
    with scopes_disabled():
        endpoint = WebhookEndpoint.objects.get()
    page = client.get(response["Location"])
    assert endpoint.secret in page.content.decode()
    again = client.get(response["Location"])
    assert again.status_code == 302 and endpoint.secret not in client.get(again["Location"]).content.decode()
    assert client.post(f"{base}{endpoint.pk}/rotate/").status_code == 302
    with scopes_disabled():
        endpoint.refresh_from_db()
    assert endpoint.secret in client.get(f"{base}{endpoint.pk}/secret/").content.decode()
    client.post(f"{base}{endpoint.pk}/pause/")
    with scopes_disabled():
        assert not WebhookEndpoint.objects.get().active
    client.post(f"{base}{endpoint.pk}/resume/")
    with scopes_disabled():
        assert WebhookEndpoint.objects.get().active
    delivery = _emit(tenant)
    with scopes_disabled():
        WebhookDelivery.objects.update(status="failed", attempts=5)
    assert client.post(f"{base}{endpoint.pk}/deliveries/{delivery.pk}/send-again/").status_code == 302
    assert _reload(delivery).status == "pending"
    bad = client.post(f"{base}new/", {"url": "ftp://x", "events": []})
    assert bad.status_code == 200 and "Choose at least one event" in bad.content.decode()
    assert client.post(f"{base}{endpoint.pk}/delete/").status_code == 302
    with scopes_disabled():
        assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


def test_page_queries_are_few_and_constant(tenant) -> None:
    client = client_for(tenant.owner)
    endpoint = _endpoint(tenant, "https://hooks.example.com/a")
    _emit(tenant)
    paths = _pages(tenant, endpoint, None)
    client.get(paths[0])  # warm the session and caches
    before = []
    for path in paths:
        with counting() as counted:
            assert client.get(path).status_code == 200
        before.append(len(counted))
    for n in range(60):
        webhooks.emit(tenant.organisation, "report.ready", {"id": str(n)})
        _endpoint(tenant, f"https://hooks.example.com/{n}")
    after = []
    for path in paths:
        with counting() as counted:
            assert client.get(path).status_code == 200
        after.append(len(counted))
    assert before == after, (before, after)
    assert max(after) <= 12
