"""Personal API tokens: made on the account page, shown once, hashed, one organisation, a role no
more than the person's, expiring, revocable, last use shown."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from portal.models import ApiToken, Membership
from portal.roles import Role
from portal.tokens import hash_token
from tests.api.conftest import make_token, token_client
from tests.conftest import client_for
from tests.factories import OrganisationFactory, add_member

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"msp_[0-9a-f]{10}_[A-Za-z0-9_-]{40,}")


def _create(client, organisation, role: str, name: str = "SAP sync", expiry: str = "90"):
    return client.post("/account/tokens/", {"name": name, "access": f"{organisation.pk}:{role}", "expiry": expiry})


def test_token_is_shown_once_stored_hashed_and_works(tenant) -> None:
    client = client_for(tenant.owner)
    response = _create(client, tenant.organisation, Role.MANAGER)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    match = TOKEN_RE.search(html)
    assert match, "the new token is on the page"
    raw = match.group(0)

    token = ApiToken.objects.get()
    assert token.key_hash == hash_token(raw)
    assert raw not in (token.prefix, token.key_hash, token.name)
    assert token.role == Role.MANAGER and token.organisation == tenant.organisation
    assert token.expires_at is not None and timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)

    listing = client.get("/account/tokens/").content.decode()
    assert raw not in listing, "the list never shows the token again"
    assert "SAP sync" in listing and f"msp_{token.prefix}_" in listing and "Never" in listing

    me = token_client(raw).get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == tenant.owner.email
    assert me.json()["token_role"] == "manager"
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_at.strftime("%H:%M") in client.get("/account/tokens/").content.decode()


def test_choices_offer_only_the_persons_role_or_narrower(tenant) -> None:
    html = client_for(tenant.manager).get("/account/tokens/").content.decode()
    org = tenant.organisation
    assert f'value="{org.pk}:manager"' in html and f'value="{org.pk}:member"' in html
    assert f'value="{org.pk}:owner"' not in html

    # A crafted POST asking for more than the person's role is refused, and nothing is made.
    response = _create(client_for(tenant.manager), org, Role.OWNER)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    rep = _create(client_for(tenant.rep), org, Role.MANAGER)
    assert "Select a valid choice" in rep.content.decode()
    assert not ApiToken.objects.exists()


def test_missing_name_is_an_error_at_the_field(tenant) -> None:
    response = _create(client_for(tenant.owner), tenant.organisation, Role.OWNER, name="")
    assert response.status_code == 400
    assert "Enter a name for the token" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_asks_first_then_the_token_stops_working(tenant) -> None:
    raw = make_token(tenant.owner, tenant.organisation)
    token = ApiToken.objects.get()
    client = client_for(tenant.owner)
    confirm = client.get(f"/account/tokens/{token.pk}/revoke/")
    assert confirm.status_code == 200 and "Anything using this token" in confirm.content.decode()
    assert token_client(raw).get("/api/v1/me/").status_code == 200

    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    response = token_client(raw).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert "revoked" in response.json()["message"]
    assert "Revoked" in client.get("/account/tokens/").content.decode()


def test_nobody_else_can_revoke_my_token(tenant) -> None:
    make_token(tenant.owner, tenant.organisation)
    token = ApiToken.objects.get()
    assert client_for(tenant.manager).post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_expired_and_forged_tokens_are_refused(tenant) -> None:
    raw = make_token(tenant.owner, tenant.organisation, expires_at=timezone.now() + timedelta(days=1))
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = token_client(raw).get("/api/v1/me/")
    assert response.status_code == 401 and "expired" in response.json()["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")

    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert token_client(forged).get("/api/v1/me/").status_code == 401
    assert token_client("msp_nonsense").get("/api/v1/me/").status_code == 401


def test_auditor_token_ends_with_the_auditors_access(tenant) -> None:
    ends = timezone.now() + timedelta(days=10)
    with scopes_disabled():
        Membership.objects.filter(user=tenant.auditor).update(expires_at=ends)
    raw = make_token(tenant.auditor, tenant.organisation, expires_at=timezone.now() + timedelta(days=365))
    assert ApiToken.objects.get().expires_at == ends
    assert token_client(raw).get(f"/api/v1/organisations/{tenant.organisation.slug}/").status_code == 200


def test_an_auditor_whose_grant_is_cut_short_gets_404_with_a_token_made_before_and_a_session(tenant) -> None:
    from rest_framework.test import APIClient

    ends = timezone.now() + timedelta(days=30)
    with scopes_disabled():
        Membership.objects.filter(user=tenant.auditor).update(expires_at=ends)
    raw = make_token(tenant.auditor, tenant.organisation)
    token = ApiToken.objects.get()
    # The auditor also runs a firm of their own, with a token of its own.
    firm = OrganisationFactory(name="Audit Partners")
    add_member(firm, tenant.auditor, Role.OWNER)
    firm_token = token_client(make_token(tenant.auditor, firm))
    session = APIClient()
    session.force_login(tenant.auditor)
    base = f"/api/v1/organisations/{tenant.organisation.slug}/"
    assert token_client(raw).get(base).status_code == 200 and session.get(base).status_code == 200
    # While the grant runs, the firm's token is told it belongs elsewhere (the person is a member).
    assert firm_token.get(base).json()["code"] == "token_wrong_organisation"

    # The owner ends the engagement early: the grant now ended a minute ago. The token was made
    # while it ran, and its own expiry (the grant's old end) has not passed.
    with scopes_disabled():
        Membership.objects.filter(user=tenant.auditor, organisation=tenant.organisation).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    token.refresh_from_db()
    assert token.expires_at == ends and token.revoked_at is None
    for how, client in (("token", token_client(raw)), ("session", session), ("firm's token", firm_token)):
        for suffix in ("", "members/", "audit-events/", "assessments/", "evidence/", "reports/"):
            response = client.get(base + suffix)
            assert response.status_code == 404, (how, suffix, response.status_code)
            assert response.json()["code"] == "not_found", (how, suffix)
        refused = client.post(base + "suppliers/", {"name": "Late Ltd"}, format="json")
        assert refused.status_code == 404, (how, refused.status_code)
    # Neither lists the organisation any more.
    assert token_client(raw).get("/api/v1/organisations/").json()["results"] == []
    assert [o["slug"] for o in session.get("/api/v1/organisations/").json()["results"]] == [firm.slug]


def test_token_for_one_organisation_is_refused_in_another(tenant) -> None:
    second = OrganisationFactory(name="Second Works")
    add_member(second, tenant.owner, Role.OWNER)
    third = OrganisationFactory(name="Not Mine")
    client = token_client(make_token(tenant.owner, tenant.organisation))

    assert client.get(f"/api/v1/organisations/{tenant.organisation.slug}/members/").status_code == 200
    refused = client.get(f"/api/v1/organisations/{second.slug}/members/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "token_wrong_organisation"
    # Where the person is not a member, the organisation stays invisible.
    assert client.get(f"/api/v1/organisations/{third.slug}/members/").status_code == 404
    # The list of organisations shows only the token's own.
    slugs = [o["slug"] for o in client.get("/api/v1/organisations/").json()["results"]]
    assert slugs == [tenant.organisation.slug]


def test_a_narrower_token_cannot_do_what_its_owner_can(tenant) -> None:
    member_token = token_client(make_token(tenant.owner, tenant.organisation, role=Role.MEMBER))
    base = f"/api/v1/organisations/{tenant.organisation.slug}/"
    assert member_token.get(base + "members/").status_code == 200
    response = member_token.get(base + "audit-events/")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert token_client(make_token(tenant.owner, tenant.organisation)).get(base + "audit-events/").status_code == 200


def test_token_stops_when_the_persons_role_narrows(tenant) -> None:
    raw = make_token(tenant.manager, tenant.organisation)
    with scopes_disabled():
        Membership.objects.filter(user=tenant.manager).update(role=Role.MEMBER)
    response = token_client(raw).get(f"/api/v1/organisations/{tenant.organisation.slug}/")
    assert response.status_code == 403
    assert response.json()["code"] == "token_role_exceeded"


def test_token_stops_when_the_person_leaves(tenant) -> None:
    raw = make_token(tenant.manager, tenant.organisation)
    with scopes_disabled():
        Membership.objects.filter(user=tenant.manager).delete()
    assert token_client(raw).get(f"/api/v1/organisations/{tenant.organisation.slug}/").status_code == 404


def test_creating_and_revoking_are_in_the_audit_trail(tenant) -> None:
    client = client_for(tenant.owner)
    _create(client, tenant.organisation, Role.OWNER, name="HR feed")
    token = ApiToken.objects.get()
    client.post(f"/account/tokens/{token.pk}/revoke/")
    # Unescaped: a generated name may hold an apostrophe ("O'Neill"), which the page escapes.
    trail = html.unescape(client.get(f"/o/{tenant.organisation.slug}/audit/").content.decode())
    name = tenant.owner.display_name
    assert f"{name} created the API token “HR feed”" in trail and f"{name} revoked the API token “HR feed”" in trail


def test_token_page_queries_do_not_grow_with_tokens_or_organisations(tenant) -> None:
    from tests.querycount import assert_queries

    # The user; the memberships (the form's choices and the header's switcher share them); the
    # "Your work" count; the tokens with their organisations.
    expected = 4
    client = client_for(tenant.owner)
    make_token(tenant.owner, tenant.organisation)
    client.get("/account/tokens/")
    with assert_queries(expected, "API tokens page, one token"):
        assert client.get("/account/tokens/").status_code == 200
    for n in range(4):
        other = OrganisationFactory(name=f"Works {n}")
        add_member(other, tenant.owner, Role.OWNER)
        make_token(tenant.owner, other)
    with assert_queries(expected, "API tokens page, five tokens in five organisations"):
        html = client.get("/account/tokens/").content.decode()
    assert html.count("<strong>owner token</strong>") == 5
