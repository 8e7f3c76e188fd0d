"""What holds for every endpoint: one JSON error shape, cursor pages, throttles in the shared cache,
session access for the portal's own pages."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.conftest import ON_REDIS, client_for
from tests.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db


def _is_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    assert body["message"]
    return body


def test_errors_are_json_never_html(api) -> None:
    anonymous = APIClient()
    _is_error(anonymous.get(api.base + "members/"), 401, "not_authenticated")
    _is_error(anonymous.get("/api/v1/no-such-thing/"), 404, "not_found")
    _is_error(api.client("owner").delete(api.base + "members/"), 405, "method_not_allowed")
    _is_error(api.client("owner").get(api.base + "members/?cursor=garbage"), 404, "not_found")
    body = _is_error(api.client("owner").get(api.base + "audit-events/?date_from=31/12/2026"), 400, "validation_error")
    assert list(body["fields"]) == ["date_from"]
    body = _is_error(
        api.client("owner").get(api.base + "audit-events/?date_from=2026-12-31&date_to=2026-01-01"),
        400,
        "validation_error",
    )
    assert "date_to" in body["fields"]


def test_a_crash_is_a_json_500_without_a_trace(api, monkeypatch) -> None:
    from portal import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("database exploded: secret internals")

    monkeypatch.setattr(selectors, "audit_events", broken)
    client = api.client("owner")
    client.raise_request_exception = False
    body = _is_error(client.get(api.base + "audit-events/"), 500, "server_error")
    assert "secret internals" not in json.dumps(body) and "Traceback" not in json.dumps(body)


def test_cursor_pages_walk_every_row_once(api) -> None:
    for n in range(7):
        add_member(api.organisation, UserFactory(email=f"extra{n}@acme.example"))
    client = api.client("owner")
    seen: list[str] = []
    url: str | None = api.base + "members/?page_size=3"
    pages = 0
    while url:
        body = client.get(url).json()
        assert len(body["results"]) <= 3
        seen += [m["email"] for m in body["results"]]
        url = body["next"]
        pages += 1
    assert pages == 4
    assert len(seen) == 12 == len(set(seen))
    # Asking for more than 100 a page gets 100 at most; the default is 25.
    assert len(client.get(api.base + "members/?page_size=1000").json()["results"]) == 12


def test_member_list_filters_by_role(api) -> None:
    body = api.client("member").get(api.base + "members/?role=workforce_rep").json()
    assert [m["role"] for m in body["results"]] == ["workforce_rep"]
    _is_error(api.client("member").get(api.base + "members/?role=king"), 400, "validation_error")


def test_throttle_counts_per_token(api, settings) -> None:
    settings.API_THROTTLE_RATES = {"principal": "3/min", "address": "1000/min"}
    owner = api.client("owner")
    for _ in range(3):
        assert owner.get("/api/v1/me/").status_code == 200
    body = _is_error(owner.get("/api/v1/me/"), 429, "throttled")
    assert "fields" in body
    assert int(owner.get("/api/v1/me/")["Retry-After"]) >= 1
    # Another token is counted on its own.
    assert api.client("manager").get("/api/v1/me/").status_code == 200


def test_throttle_is_a_sliding_window(api, settings) -> None:
    """Each request counts for a minute after it was made (checked and recorded in one Redis round trip
    on the Redis cache, portal.api.authentication): the fourth within the minute is refused, with
    Retry-After until the oldest leaves the window, and let through once it has."""
    import time_machine

    settings.API_THROTTLE_RATES = {"principal": "3/min", "address": "1000/min"}
    owner = api.client("owner")
    start = time.time()
    with time_machine.travel(start, tick=False):
        assert owner.get("/api/v1/me/").status_code == 200
    with time_machine.travel(start + 20, tick=False):
        assert owner.get("/api/v1/me/").status_code == 200
        assert owner.get("/api/v1/me/").status_code == 200
    with time_machine.travel(start + 30, tick=False):
        refused = owner.get("/api/v1/me/")
        assert refused.status_code == 429
        assert 25 <= int(refused["Retry-After"]) <= 31  # the first leaves the window at start + 60
    with time_machine.travel(start + 61, tick=False):
        assert owner.get("/api/v1/me/").status_code == 200  # the first has left; the two at +20 remain
        assert owner.get("/api/v1/me/").status_code == 429


def test_throttle_counts_per_address_only_requests_without_token_or_session(api, settings) -> None:
    settings.API_THROTTLE_RATES = {"principal": "1000/min", "address": "4/min"}
    # Tokens sharing an address (one office, one proxy) are counted per token only.
    for role in ("owner", "manager", "workforce_rep", "auditor", "member"):
        assert api.client(role).get("/api/v1/me/").status_code == 200
    anonymous = APIClient()
    for _ in range(4):
        assert anonymous.get(f"/api/v1/verify/{uuid.uuid4()}/").status_code == 404
    _is_error(anonymous.get(f"/api/v1/verify/{uuid.uuid4()}/"), 429, "throttled")
    assert APIClient(REMOTE_ADDR="10.9.8.7").get(f"/api/v1/verify/{uuid.uuid4()}/").status_code == 404


@pytest.mark.skipif(not ON_REDIS, reason="the shared cache is Redis only when REDIS_URL is set (PostgreSQL pass)")
def test_throttle_counters_live_in_the_shared_redis_cache(api) -> None:
    import redis

    from portal.models import ApiToken

    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    api.client("owner").get("/api/v1/me/")
    token = ApiToken.objects.get(user=api.tenant.owner)
    server = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    keys = [k.decode() for k in server.keys("*throttle_principal_token*")]
    assert any(str(token.pk) in key for key in keys), keys


def test_the_portals_own_pages_may_use_the_session(tenant) -> None:
    client = client_for(tenant.member)
    response = client.get(f"/api/v1/organisations/{tenant.organisation.slug}/members/")
    assert response.status_code == 200
    assert response.json()["results"]


def test_outsider_session_sees_nothing(tenant, outsider) -> None:
    response = client_for(outsider).get(f"/api/v1/organisations/{tenant.organisation.slug}/")
    _is_error(response, 404, "not_found")


def test_schema_and_docs_are_served_from_the_project(tenant) -> None:
    schema = APIClient().get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Made Smarter Principles Portal API"
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn.jsdelivr" not in html and "unpkg" not in html


def test_auditor_reads_through_the_api_are_in_the_audit_trail(api) -> None:
    api.client("auditor").get(api.base + "members/")
    body = api.client("owner").get(api.base + "audit-events/?verb=auditor.viewed").json()
    assert [e["actor"] for e in body["results"]] == [api.tenant.auditor.email]
    assert body["results"][0]["target_label"].startswith("API /api/v1/")


def test_tokens_of_each_role_reach_the_organisation(api) -> None:
    for role in ("owner", "manager", "workforce_rep", "auditor", "member"):
        assert api.client(role).get(api.base).json()["role"] == role


def test_session_writes_need_the_csrf_token(tenant) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.manager)
    url = f"/api/v1/organisations/{tenant.organisation.slug}/suppliers/"
    body = {"name": "Pennine Fasteners", "contact_email": "ops@pennine.example"}
    refused = client.post(url, body, content_type="application/json")
    _is_error(refused, 403, "permission_denied")
    assert "CSRF" in refused.json()["message"]
    client.get(f"/o/{tenant.organisation.slug}/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content


def test_members_and_audit_events_read_exactly_as_their_serializer_fields_say(api) -> None:
    """Both serializers build each row directly (cheaper than DRF's walk over their fields): the same
    data as the fields give, for a member with and without an end to their access, and for events with
    and without before/after values; and the lists answer with them."""
    from datetime import timedelta

    from django.utils import timezone
    from django_scopes import scopes_disabled
    from rest_framework import serializers

    from portal.api.views import AuditEventSerializer, MemberSerializer
    from portal.models import AuditEvent, Membership

    with scopes_disabled():
        Membership.objects.filter(user=api.tenant.auditor).update(expires_at=timezone.now() + timedelta(days=9))
        members = list(Membership.objects.filter(organisation=api.organisation).select_related("user"))
    assert any(m.expires_at for m in members) and any(m.expires_at is None for m in members)
    for membership in members:
        fast = MemberSerializer(membership).data
        assert fast == serializers.ModelSerializer.to_representation(MemberSerializer(), membership)
        assert list(fast) == list(MemberSerializer().fields)
    api.client("owner").post(api.base + "suppliers/", {"name": "Severn Plastics"}, format="json")
    with scopes_disabled():
        events = list(AuditEvent.objects.filter(organisation=api.organisation))
    assert events
    for event in events:
        fast = AuditEventSerializer(event).data
        assert fast == serializers.ModelSerializer.to_representation(AuditEventSerializer(), event)
        assert list(fast) == list(AuditEventSerializer().fields)
    listed = api.client("owner").get(api.base + "audit-events/").json()["results"]
    assert {e["id"] for e in listed} == {str(e.pk) for e in events}
    emails = {m["email"] for m in api.client("owner").get(api.base + "members/").json()["results"]}
    assert emails == {m.user.email for m in members}
