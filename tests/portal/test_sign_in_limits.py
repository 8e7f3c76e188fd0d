"""Limits that count the right thing: one person mistyping, or one office behind a proxy, must not lock
everyone else out, while guessing one password and spraying many accounts are still stopped.

The counts live in the real cache (Redis on the PostgreSQL pass, where `CACHE_URL` is set).
"""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from portal.addresses import client_ip, client_limit_address
from portal.tokens import token_create
from reports import services as report_services
from tests.conftest import ON_REDIS, client_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LIMITED = "Too many failed login attempts"
OFFICE = "203.0.113.7"
ELSEWHERE = "198.51.100.9"
PROXY = "10.0.0.1"


def sign_in(email: str, password: str, **extra: str):
    return Client().post("/accounts/login/", {"login": email, "password": password}, **extra)


def refused(response) -> bool:
    return response.status_code == 200 and LIMITED in response.content.decode()


def signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/"


def test_the_cache_is_the_real_shared_one_on_the_postgresql_pass() -> None:
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend.endswith("RedisCache") if ON_REDIS else backend.endswith("LocMemCache")


# --- Sign-in --------------------------------------------------------------------------------------


def test_one_accounts_failures_do_not_lock_out_another_account_from_the_same_address() -> None:
    UserFactory(email="mistyper@example.org")
    UserFactory(email="colleague@example.org")
    for _ in range(5):
        assert not refused(sign_in("mistyper@example.org", "wrong password", REMOTE_ADDR=OFFICE))
    assert refused(sign_in("mistyper@example.org", "wrong password", REMOTE_ADDR=OFFICE))
    # The colleague at the next desk signs in as usual.
    assert signed_in(sign_in("colleague@example.org", PASSWORD, REMOTE_ADDR=OFFICE))


def test_the_failing_account_is_limited_from_that_address_even_with_the_right_password() -> None:
    UserFactory(email="mistyper@example.org")
    for _ in range(5):
        sign_in("MISTYPER@example.org ", "wrong password", REMOTE_ADDR=OFFICE)
    assert refused(sign_in("mistyper@example.org", PASSWORD, REMOTE_ADDR=OFFICE))
    # From another address the person can still get in: a stranger cannot lock them out of everywhere
    # with five attempts.
    assert signed_in(sign_in("mistyper@example.org", PASSWORD, REMOTE_ADDR=ELSEWHERE))


def test_guessing_one_accounts_password_from_many_addresses_is_stopped_at_the_account_ceiling() -> None:
    UserFactory(email="target@example.org")
    for n in range(20):
        assert not refused(sign_in("target@example.org", f"guess {n}", REMOTE_ADDR=f"192.0.2.{n + 1}")), n
    assert refused(sign_in("target@example.org", "guess 21", REMOTE_ADDR="192.0.2.200"))
    assert refused(sign_in("target@example.org", PASSWORD, REMOTE_ADDR="192.0.2.201"))


def test_spraying_many_accounts_from_one_address_is_stopped_at_the_address_ceiling() -> None:
    UserFactory(email="real@example.org")
    for n in range(30):
        # One common password against many accounts: each account fails once only.
        assert not refused(sign_in(f"person{n}@example.org", "Summer2026!", REMOTE_ADDR=OFFICE)), n
    assert refused(sign_in("another@example.org", "Summer2026!", REMOTE_ADDR=OFFICE))
    # While the ceiling holds, that address signs nobody in, but other addresses are unaffected.
    assert refused(sign_in("real@example.org", PASSWORD, REMOTE_ADDR=OFFICE))
    assert signed_in(sign_in("real@example.org", PASSWORD, REMOTE_ADDR=ELSEWHERE))


def test_successful_sign_ins_do_not_count_towards_any_ceiling() -> None:
    UserFactory(email="regular@example.org")
    for _ in range(8):
        assert signed_in(sign_in("regular@example.org", PASSWORD, REMOTE_ADDR=OFFICE))
    for _ in range(5):
        sign_in("regular@example.org", "wrong password", REMOTE_ADDR=OFFICE)
    assert refused(sign_in("regular@example.org", PASSWORD, REMOTE_ADDR=OFFICE))


def test_behind_a_trusted_proxy_people_are_counted_by_their_own_address(settings) -> None:
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    UserFactory(email="mistyper@example.org")
    for _ in range(5):
        sign_in("mistyper@example.org", "wrong password", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=OFFICE)
    assert refused(sign_in("mistyper@example.org", PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=OFFICE))
    # The same person from home, through the same proxy: a different client address.
    assert signed_in(sign_in("mistyper@example.org", PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ELSEWHERE))


def test_a_forged_forwarded_for_header_is_ignored_when_no_proxy_is_trusted() -> None:
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == 0
    UserFactory(email="target@example.org")
    for n in range(5):
        sign_in("target@example.org", "wrong", REMOTE_ADDR=OFFICE, HTTP_X_FORWARDED_FOR=f"192.0.2.{n + 1}")
    # Claiming yet another address in the header does not start a fresh count.
    assert refused(sign_in("target@example.org", PASSWORD, REMOTE_ADDR=OFFICE, HTTP_X_FORWARDED_FOR="192.0.2.99"))


def test_a_password_reset_lifts_the_accounts_own_limit() -> None:
    import re

    from django.core import mail

    UserFactory(email="forgetful@example.org")
    for _ in range(5):
        sign_in("forgetful@example.org", "wrong", REMOTE_ADDR=OFFICE)
    assert refused(sign_in("forgetful@example.org", PASSWORD, REMOTE_ADDR=OFFICE))
    client = Client(REMOTE_ADDR=OFFICE)
    client.post("/accounts/password/reset/", {"email": "forgetful@example.org"})
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[-1].body).group(1)
    form = client.get(link, follow=True)
    client.post(
        form.redirect_chain[-1][0], {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"}
    )
    assert signed_in(sign_in("forgetful@example.org", "a-brand-new-passphrase", REMOTE_ADDR=OFFICE))


# --- One rule for the client's address ------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, OFFICE, "192.0.2.1", OFFICE),  # no proxy trusted: the header is the client's own claim
        (1, PROXY, OFFICE, OFFICE),
        (1, PROXY, f"192.0.2.1, {OFFICE}", OFFICE),  # a client-supplied entry before the proxy's is ignored
        (2, PROXY, f"192.0.2.1, {OFFICE}, 10.0.0.2", OFFICE),
        (1, PROXY, "", PROXY),  # straight to the server (a health check): its own address
        (1, PROXY, "not an address", PROXY),
    ],
)
def test_the_client_address_trusts_forwarded_for_only_as_far_as_the_proxies(
    settings, rf, proxies, remote, forwarded, expected
) -> None:
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = rf.get("/", REMOTE_ADDR=remote, **headers)
    assert client_ip(request) == expected


def test_ipv6_clients_are_counted_by_their_64_network(rf) -> None:
    one = rf.get("/", REMOTE_ADDR="2001:db8:1:2:aaaa::1")
    two = rf.get("/", REMOTE_ADDR="2001:db8:1:2:bbbb::9")
    assert client_limit_address(one) == client_limit_address(two) == "2001:db8:1:2::"
    assert client_ip(one) == "2001:db8:1:2:aaaa::1"  # signatures still record the exact address


# --- /verify/: per person when signed in, else per address ----------------------------------------


def verify_url() -> str:
    return f"/verify/{uuid.uuid4()}/"


def test_signed_in_checks_on_the_verify_page_do_not_use_up_the_addresss_allowance() -> None:
    busy, other = UserFactory(), UserFactory()
    busy_client = client_for(busy)
    for n in range(report_services.VERIFY_LIMIT_PER_MINUTE):
        assert busy_client.get(verify_url(), REMOTE_ADDR=OFFICE).status_code == 404, n
    assert busy_client.get(verify_url(), REMOTE_ADDR=OFFICE).status_code == 429
    # Others at the same address, signed in or not, still check reports.
    assert client_for(other).get(verify_url(), REMOTE_ADDR=OFFICE).status_code == 404
    assert Client().get(verify_url(), REMOTE_ADDR=OFFICE).status_code == 404


def test_anonymous_verify_checks_are_limited_per_address_and_honour_the_proxy_only_when_trusted(settings) -> None:
    anonymous = Client()
    for _ in range(report_services.VERIFY_LIMIT_PER_MINUTE):
        anonymous.get(verify_url(), REMOTE_ADDR=OFFICE, HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert anonymous.get(verify_url(), REMOTE_ADDR=OFFICE, HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 429
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for _ in range(report_services.VERIFY_LIMIT_PER_MINUTE):
        anonymous.get(verify_url(), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.3")
    assert anonymous.get(verify_url(), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.3").status_code == 429
    assert anonymous.get(verify_url(), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.4").status_code == 404


# --- The API: per token or person; per address only for requests with neither ---------------------


def api_verify_url() -> str:
    return f"/api/v1/verify/{uuid.uuid4()}/"


def test_api_requests_with_tokens_count_per_token_not_per_shared_address(tenant, settings) -> None:
    settings.API_THROTTLE_RATES = {"principal": "1000/min", "address": "3/min"}
    clients = []
    for role in ("owner", "manager", "workforce_rep", "auditor", "member"):
        raw = token_create(
            user=tenant.user(role), organisation=tenant.organisation, name="ERP", role=role, expires_at=None
        ).raw
        client = APIClient(REMOTE_ADDR=OFFICE)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        clients.append(client)
    for client in clients:  # five systems behind one office address, beyond the anonymous ceiling
        assert client.get("/api/v1/me/").status_code == 200
    # The portal's own pages, with a session, likewise.
    assert client_for(tenant.owner).get("/api/v1/me/", REMOTE_ADDR=OFFICE).status_code == 200


def test_anonymous_api_requests_are_limited_per_address(settings) -> None:
    settings.API_THROTTLE_RATES = {"principal": "1000/min", "address": "3/min"}
    anonymous = APIClient()
    for _ in range(3):
        assert anonymous.get(api_verify_url(), REMOTE_ADDR=OFFICE, HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 404
    # A forged header changes nothing without a trusted proxy; another real address is unaffected.
    limited = anonymous.get(api_verify_url(), REMOTE_ADDR=OFFICE, HTTP_X_FORWARDED_FOR="192.0.2.9")
    assert limited.status_code == 429 and limited.json()["code"] == "throttled"
    assert anonymous.get(api_verify_url(), REMOTE_ADDR=ELSEWHERE).status_code == 404
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for _ in range(3):
        anonymous.get(api_verify_url(), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.3")
    assert anonymous.get(api_verify_url(), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.3").status_code == 429
    assert anonymous.get(api_verify_url(), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.4").status_code == 404
