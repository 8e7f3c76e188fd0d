"""An API token, its person, organisation and membership are read from the cache when current
(portal.tokens), and every change that ends or narrows what the token may do is refused on the very
next request: revoked by its owner, by a password change or reset, expired, the person removed, their
role narrowed, an auditor's grant ended, the account deactivated.

Real cache (locmem on SQLite, Redis on PostgreSQL) and committed transactions: a bump applies at commit,
so these tests are transactional. Each one warms the token first (the first call stores the entry
without versions, the second stores it with them, the third reads it), then changes things through the
service users' actions go through, then calls again.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from portal import services
from portal.models import ApiToken, Membership, TokenRevokedReason
from portal.roles import Role
from portal.tokens import token_authenticate, token_create, token_revoke, tokens_revoke_for_password_change
from tests.api.conftest import make_token, token_client
from tests.conftest import client_for
from tests.factories import PASSWORD, add_member
from tests.querycount import assert_queries, counting

pytestmark = pytest.mark.django_db(transaction=True)


def _members(tenant) -> str:
    return f"/api/v1/organisations/{tenant.organisation.slug}/members/"


def _warm(client, url: str) -> None:
    for _ in range(3):
        assert client.get(url).status_code == 200


def _membership(user, organisation) -> Membership:
    with scopes_disabled():
        return Membership.objects.select_related("user", "organisation").get(user=user, organisation=organisation)


def test_a_warm_token_runs_only_the_lists_own_queries(tenant) -> None:
    client = token_client(make_token(tenant.owner, tenant.organisation))
    url = _members(tenant)
    # Cold: the token (with its person, organisation and membership), its first use recorded, the list.
    with assert_queries(3, "members, cold"):
        client.get(url)
    client.get(url)  # stores the entry with the versions read before the data
    with assert_queries(1, "members, warm") as counted:
        assert client.get(url).status_code == 200
    assert "portal_apitoken" not in counted.listing()
    # The organisations list and the notifications list use the cached membership too.
    _warm(client, "/api/v1/organisations/")
    with assert_queries(1, "organisations, warm"):
        assert [o["slug"] for o in client.get("/api/v1/organisations/").json()["results"]] == [tenant.organisation.slug]


def test_revoked_by_its_owner_is_refused_on_the_next_request(tenant) -> None:
    made = token_create(user=tenant.owner, organisation=tenant.organisation, name="ERP", role="owner", expires_at=None)
    client = token_client(made.raw)
    _warm(client, _members(tenant))
    token_revoke(token=made.token, actor=tenant.owner)
    refused = client.get(_members(tenant))
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]


def test_revoked_on_the_token_page_is_refused_on_the_next_request(tenant) -> None:
    raw = make_token(tenant.owner, tenant.organisation)
    client = token_client(raw)
    _warm(client, "/api/v1/notifications/")
    token = ApiToken.objects.get()
    assert client_for(tenant.owner).post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    assert client.get("/api/v1/notifications/").status_code == 401


def test_revoked_by_a_password_change_is_refused_on_the_next_request(tenant) -> None:
    client = token_client(make_token(tenant.owner, tenant.organisation))
    _warm(client, _members(tenant))
    web = Client()
    assert web.post("/accounts/login/", {"login": tenant.owner.email, "password": PASSWORD}).status_code == 302
    new = "a-brand-new-passphrase"
    web.post("/accounts/password/change/", {"oldpassword": PASSWORD, "password1": new, "password2": new})
    refused = client.get(_members(tenant))
    assert refused.status_code == 401 and "password changed" in refused.json()["message"]


def test_revoked_by_a_password_reset_is_refused_on_the_next_request(tenant) -> None:
    client = token_client(make_token(tenant.owner, tenant.organisation))
    _warm(client, "/api/v1/me/")
    tokens_revoke_for_password_change(user=tenant.owner, reason=TokenRevokedReason.PASSWORD_RESET)
    assert client.get("/api/v1/me/").status_code == 401


def test_an_expired_token_is_refused_when_it_expires(tenant) -> None:
    ends = timezone.now() + timedelta(seconds=90)
    client = token_client(make_token(tenant.owner, tenant.organisation, expires_at=ends))
    _warm(client, _members(tenant))
    with time_machine.travel(ends + timedelta(seconds=1), tick=False):
        refused = client.get(_members(tenant))
    assert refused.status_code == 401 and "expired" in refused.json()["message"]


def test_a_removed_member_is_refused_on_the_next_request(tenant) -> None:
    client = token_client(make_token(tenant.manager, tenant.organisation))
    _warm(client, _members(tenant))
    _warm(client, "/api/v1/notifications/")
    services.membership_remove(membership=_membership(tenant.manager, tenant.organisation), actor=tenant.owner)
    assert client.get(_members(tenant)).status_code == 404
    assert client.get("/api/v1/notifications/").json()["code"] == "token_membership_ended"
    assert client.get("/api/v1/organisations/").json()["results"] == []


def test_a_member_who_leaves_is_refused_on_the_next_request(tenant) -> None:
    client = token_client(make_token(tenant.member, tenant.organisation))
    _warm(client, _members(tenant))
    services.membership_leave(membership=_membership(tenant.member, tenant.organisation))
    assert client.get(_members(tenant)).status_code == 404


def test_a_narrowed_role_is_refused_on_the_next_request(tenant) -> None:
    client = token_client(make_token(tenant.manager, tenant.organisation))
    _warm(client, _members(tenant))
    services.membership_change_role(
        membership=_membership(tenant.manager, tenant.organisation), role=Role.MEMBER, actor=tenant.owner
    )
    refused = client.get(_members(tenant))
    assert refused.status_code == 403 and refused.json()["code"] == "token_role_exceeded"


def test_an_auditors_grant_that_ends_is_refused_when_it_ends(tenant) -> None:
    ends = timezone.now() + timedelta(seconds=90)
    with scopes_disabled():
        Membership.objects.filter(user=tenant.auditor).update(expires_at=ends)
    # token_create caps the token at the grant's end; a token that outlives it (made before the grant was
    # shortened) is still refused: the membership's own end is checked against the cached value.
    made = token_create(
        user=tenant.auditor, organisation=tenant.organisation, name="A", role="auditor", expires_at=None
    )
    ApiToken.objects.filter(pk=made.token.pk).update(expires_at=ends + timedelta(days=1))
    client = token_client(made.raw)
    _warm(client, _members(tenant))
    with time_machine.travel(ends + timedelta(seconds=1), tick=False):
        assert client.get(_members(tenant)).status_code == 404
        assert client.get("/api/v1/notifications/").json()["code"] == "token_membership_ended"


def test_an_auditor_removed_early_is_refused_on_the_next_request(tenant) -> None:
    with scopes_disabled():
        Membership.objects.filter(user=tenant.auditor).update(expires_at=timezone.now() + timedelta(days=30))
    client = token_client(make_token(tenant.auditor, tenant.organisation))
    url = f"/api/v1/organisations/{tenant.organisation.slug}/"
    _warm(client, url)
    services.membership_remove(membership=_membership(tenant.auditor, tenant.organisation), actor=tenant.owner)
    assert client.get(url).status_code == 404


def test_a_deactivated_person_is_refused_on_the_next_request(tenant) -> None:
    client = token_client(make_token(tenant.owner, tenant.organisation))
    _warm(client, "/api/v1/me/")
    owner = tenant.owner
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    assert client.get("/api/v1/me/").status_code == 401


def test_a_changed_name_shows_on_the_next_request(tenant) -> None:
    client = token_client(make_token(tenant.owner, tenant.organisation))
    _warm(client, "/api/v1/me/")
    web = client_for(tenant.owner)
    web.post("/account/", {"full_name": "Ada Lovelace"})
    tenant.owner.refresh_from_db()
    assert tenant.owner.full_name == "Ada Lovelace"
    assert client.get("/api/v1/me/").json()["full_name"] == "Ada Lovelace"


def test_a_forged_token_never_reads_an_entry(tenant) -> None:
    raw = make_token(tenant.owner, tenant.organisation)
    _warm(token_client(raw), "/api/v1/me/")
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert token_client(forged).get("/api/v1/me/").status_code == 401


def test_last_used_is_recorded_once_a_minute_from_the_cache_too(tenant) -> None:
    raw = make_token(tenant.owner, tenant.organisation)
    _warm(token_client(raw), "/api/v1/me/")
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    later = first + timedelta(seconds=90)  # past the minute, within the entry's life
    with time_machine.travel(later, tick=False):
        with counting() as counted:
            assert token_authenticate(raw).last_used_at == later
        assert len(counted) == 1 and "UPDATE" in counted.queries[0]  # from the cache: the write only
        assert ApiToken.objects.get().last_used_at == later
        with assert_queries(0, "the entry now holds the new time"):
            token_authenticate(raw)


def test_a_second_token_of_another_organisation_keeps_its_own_entry(tenant) -> None:
    from tests.factories import OrganisationFactory

    second = OrganisationFactory(name="Second Works")
    add_member(second, tenant.owner, Role.OWNER)
    first_client = token_client(make_token(tenant.owner, tenant.organisation))
    second_client = token_client(make_token(tenant.owner, second))
    _warm(first_client, _members(tenant))
    _warm(second_client, f"/api/v1/organisations/{second.slug}/members/")
    assert second_client.get(_members(tenant)).json()["code"] == "token_wrong_organisation"
    assert first_client.get(f"/api/v1/organisations/{second.slug}/members/").json()["code"] == (
        "token_wrong_organisation"
    )
