"""API fixtures: a personal token for every role of `tenant`, and clients that send them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from portal.models import Organisation, User
from portal.roles import Role
from portal.tokens import token_create
from tests.conftest import Tenant


def token_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def make_token(user: User, organisation: Organisation, role: str | None = None, **extra: object) -> str:
    from portal.tenancy import membership_for

    if role is None:
        membership = membership_for(user=user, organisation=organisation)
        assert membership is not None
        role = membership.role
    return token_create(
        user=user, organisation=organisation, name=f"{role} token", role=role, expires_at=extra.get("expires_at")
    ).raw


@dataclass
class ApiTenant:
    tenant: Tenant
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def organisation(self) -> Organisation:
        return self.tenant.organisation

    @property
    def base(self) -> str:
        return f"/api/v1/organisations/{self.organisation.slug}/"

    def client(self, role: str) -> APIClient:
        return token_client(self.tokens[role])


@pytest.fixture
def api(tenant) -> ApiTenant:
    """`tenant` with one token per role, each carrying that person's full role."""
    result = ApiTenant(tenant=tenant)
    for role in Role:
        result.tokens[role.value] = make_token(tenant.user(role), tenant.organisation)
    return result


@pytest.fixture
def outsider_client(outsider) -> APIClient:
    """A token of the outsider's own organisation: everything of `tenant` must be 404 to it."""
    from portal.selectors import memberships_of_user

    (membership,) = memberships_of_user(outsider)
    return token_client(make_token(outsider, membership.organisation))
