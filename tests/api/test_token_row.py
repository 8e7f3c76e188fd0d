"""`portal.tokens.token_by_prefix` reads a token, its person, organisation and membership in one
hand-written SELECT: the instances must be the ones the ORM makes (every field's value and type), on
SQLite and under PostgreSQL's row-level security, and a token whose person has no membership there
any more must come back with none (so the request is refused, as before)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from portal.models import ApiToken, Membership, Organisation, User
from portal.tokens import TOKEN_PREFIX, token_authenticate, token_by_prefix, token_grant, token_revoke
from tests.api.conftest import make_token, token_client
from tests.querycount import counting

pytestmark = pytest.mark.django_db


def _prefix(raw: str) -> str:
    return raw[len(TOKEN_PREFIX) :].partition("_")[0]


def _fields(instance) -> list[tuple[str, object, type]]:
    return [
        (field.attname, getattr(instance, field.attname), type(getattr(instance, field.attname)))
        for field in type(instance)._meta.concrete_fields
    ]


def _as_the_orm_reads(prefix: str) -> tuple[ApiToken, Membership | None]:
    with scopes_disabled():
        token = ApiToken.objects.select_related("user", "organisation").get(prefix=prefix)
        membership = Membership.objects.filter(organisation=token.organisation, user=token.user).first()
    return token, membership


def _read(prefix: str) -> tuple[ApiToken | None, Membership | None]:
    with scopes_disabled():
        token = token_by_prefix(prefix)
    return token, (token._cached_membership if token is not None else None)


def test_each_instance_is_the_one_the_orm_makes(tenant) -> None:
    # An auditor's grant with an end, a token with an expiry and a first use: dates, times, UUIDs, text.
    with scopes_disabled():
        Membership.objects.filter(user=tenant.auditor).update(expires_at=timezone.now() + timedelta(days=30))
    raws = [
        make_token(tenant.owner, tenant.organisation),
        make_token(tenant.auditor, tenant.organisation, expires_at=timezone.now() + timedelta(days=20)),
    ]
    token_client(raws[0]).get(f"/api/v1/organisations/{tenant.organisation.slug}/")  # records its first use
    for raw in raws:
        expected_token, expected_membership = _as_the_orm_reads(_prefix(raw))
        token, membership = _read(_prefix(raw))
        assert token is not None and membership is not None
        assert _fields(token) == _fields(expected_token)
        assert _fields(token.user) == _fields(expected_token.user)
        assert isinstance(token.user, User) and isinstance(token.organisation, Organisation)
        assert _fields(token.organisation) == _fields(expected_token.organisation)
        assert _fields(membership) == _fields(expected_membership)
        assert membership.user is token.user and membership.organisation is token.organisation
    assert _read("nosuchtokn") == (None, None)


def test_a_person_removed_from_the_organisation_comes_back_without_a_membership_and_is_refused(tenant) -> None:
    raw = make_token(tenant.manager, tenant.organisation)
    with scopes_disabled():
        Membership.objects.filter(user=tenant.manager).delete()
    token, membership = _read(_prefix(raw))
    assert token is not None and membership is None
    assert token_grant(token_authenticate(raw), tenant.organisation) is None
    response = token_client(raw).get(f"/api/v1/organisations/{tenant.organisation.slug}/members/")
    assert response.status_code == 404


def test_a_revoked_token_is_read_as_revoked_and_refused(tenant) -> None:
    raw = make_token(tenant.owner, tenant.organisation)
    with scopes_disabled():
        token_revoke(token=ApiToken.objects.get(prefix=_prefix(raw)), actor=tenant.owner)
    token, _membership = _read(_prefix(raw))
    assert token is not None and token.revoked_at is not None
    response = token_client(raw).get(f"/api/v1/organisations/{tenant.organisation.slug}/members/")
    assert response.status_code == 401 and "revoked" in response.json()["message"]


def test_a_request_read_from_the_database_reads_the_token_and_membership_in_one_statement(tenant) -> None:
    # Inside the test's transaction the cache is not trusted: every request reads the database.
    client = token_client(make_token(tenant.owner, tenant.organisation))
    url = f"/api/v1/organisations/{tenant.organisation.slug}/members/"
    client.get(url)  # its first use recorded
    with counting() as queries:
        assert client.get(url).status_code == 200
    # The token with its person, organisation and membership; then the list's own query. Before, the
    # membership was a query of its own.
    assert len(queries) == 2, queries.listing()
    first, second = queries.queries
    assert "portal_apitoken" in first and "portal_membership" in first, queries.listing()
    assert "portal_apitoken" not in second, queries.listing()
