"""Idempotency-Key on POSTs: a replay returns the first response, a concurrent duplicate gets 409,
the same key with another body gets 422, and only successes are remembered."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from portal.models import ApiToken, IdempotencyRecord
from supplychain.models import Supplier
from tests.api.conftest import make_token
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.django_db


def _suppliers(organisation) -> list[Supplier]:
    with scopes_disabled():
        return list(Supplier.objects.filter(organisation=organisation))


def _post(client, url: str, body: dict, key: str | None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url, body, format="json", **headers)


PENNINE = {"name": "Pennine Fasteners", "contact_email": "ops@pennine.example"}


def test_a_retry_returns_the_first_response_and_creates_nothing_more(api) -> None:
    url, key, client = api.base + "suppliers/", str(uuid.uuid4()), api.client("manager")
    first = _post(client, url, PENNINE, key)
    assert first.status_code == 201, first.content
    again = _post(client, url, PENNINE, key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(_suppliers(api.organisation)) == 1
    # Without a key, the same body is a new request (and here a duplicate supplier, refused).
    assert _post(client, url, PENNINE, None).status_code == 400


def test_the_same_key_with_another_body_is_refused(api) -> None:
    url, key, client = api.base + "suppliers/", "order-2026-11-27-0001", api.client("manager")
    assert _post(client, url, PENNINE, key).status_code == 201
    other = _post(client, url, {"name": "Humber Plastics", "contact_email": "buyer@humber.example"}, key)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert [s.name for s in _suppliers(api.organisation)] == ["Pennine Fasteners"]


def test_a_duplicate_while_the_first_is_in_flight_gets_409(api) -> None:
    url, key, client = api.base + "suppliers/", str(uuid.uuid4()), api.client("manager")
    assert _post(client, url, PENNINE, key).status_code == 201
    # Put the key back in the state a concurrent duplicate finds: claimed for this very request
    # (same fingerprint), not yet answered.
    IdempotencyRecord.objects.update(completed=False, status_code=None, body=None)
    response = _post(client, url, PENNINE, key)
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert len(_suppliers(api.organisation)) == 1


def test_a_claim_abandoned_by_a_dead_process_can_be_retried(api) -> None:
    url, key, client = api.base + "suppliers/", str(uuid.uuid4()), api.client("manager")
    token = ApiToken.objects.get(user=api.tenant.manager)
    record = IdempotencyRecord.objects.create(principal=f"token:{token.pk}", key=key, fingerprint="x")
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    assert _post(client, url, PENNINE, key).status_code == 201
    assert len(_suppliers(api.organisation)) == 1


def test_a_refused_request_can_be_corrected_and_sent_with_the_same_key(api) -> None:
    url, key, client = api.base + "suppliers/", str(uuid.uuid4()), api.client("manager")
    bad = _post(client, url, {"name": "Pennine Fasteners", "contact_email": "not-an-email"}, key)
    assert bad.status_code == 400 and "contact_email" in bad.json()["fields"]
    assert not IdempotencyRecord.objects.exists()
    assert _post(client, url, PENNINE, key).status_code == 201


def test_keys_are_private_to_each_token(api) -> None:
    url, key = api.base + "suppliers/", "shared-looking-key"
    assert _post(api.client("manager"), url, PENNINE, key).status_code == 201
    owner = _post(api.client("owner"), url, {"name": "Humber Plastics", "contact_email": "b@humber.example"}, key)
    assert owner.status_code == 201
    assert "Idempotent-Replayed" not in owner
    assert len(_suppliers(api.organisation)) == 2


@pytest.mark.parametrize("key", ["", "x" * 201, "has space", "ünïcode"])
def test_a_malformed_key_is_a_field_error(api, key) -> None:
    response = api.client("manager").post(
        api.base + "suppliers/", PENNINE, format="json", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1")
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]
    assert _suppliers(api.organisation) == []


def test_unreadable_json_is_a_parse_error(api) -> None:
    response = api.client("manager").generic(
        "POST", api.base + "suppliers/", '{"name": "Pennine', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent writers need PostgreSQL (SQLite serialises them)")
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_supplier(tenant, live_server) -> None:
    import requests

    raw = make_token(tenant.manager, tenant.organisation)
    url = f"{live_server.url}/api/v1/organisations/{tenant.organisation.slug}/suppliers/"
    key = str(uuid.uuid4())
    barrier = threading.Barrier(6)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def send() -> None:
        barrier.wait()
        response = requests.post(
            url,
            json=PENNINE,
            headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": key},
            timeout=30,
        )
        with lock:
            results.append((response.status_code, response.json()))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _body in results)
    print("concurrent statuses:", statuses)
    assert set(statuses) <= {201, 409}, results
    assert 201 in statuses
    created_ids = {body["id"] for status, body in results if status == 201}
    assert len(created_ids) == 1, "every success is the same supplier, first or replayed"
    assert all(body["code"] == "idempotency_in_progress" for status, body in results if status == 409)
    assert len(_suppliers(tenant.organisation)) == 1
