"""Each page runs a fixed number of queries, whatever the amount of data (printed SQL on failure)."""

from __future__ import annotations

import pytest
from django.test import Client

from portal import services
from portal.audit import audit_record
from portal.roles import Role
from tests.conftest import client_for
from tests.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db


def _grow(tenant, n: int) -> None:
    for i in range(n):
        add_member(tenant.organisation, UserFactory(), Role.MEMBER)
        services.invitation_create(
            organisation=tenant.organisation,
            actor=tenant.owner,
            email=f"grow{i}-{n}@example.org",
            role=Role.MEMBER,
        )
        audit_record(
            organisation=tenant.organisation,
            actor=tenant.owner,
            verb="member.role_changed",
            target_label=f"x{i}",
            before={"role": "member"},
            after={"role": "manager"},
        )


def _count(django_assert_num_queries, client: Client, url: str, expected: int) -> None:
    client.get(url)  # the first request of a session records it (allauth usersessions)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200


# Every tenant page: organisation, session, user, membership (4); the transaction's savepoint pair
# (2); the header's organisation switcher, invitation badge and reviews badge (assessments and plans
# waiting for the user: 2) = 10; then the page's own reads.
PAGES = {
    # members, member count, invitations, recent activity; the commitment and assessment panels
    "dashboard": ("", 17),
    "members": ("members/", 12),  # members, invitations
    "audit_trail": ("audit/", 12),  # count and one page of events
    "invite": ("invitations/new/", 10),
}


@pytest.mark.parametrize("page", PAGES)
def test_page_query_count_does_not_grow_with_data(tenant, django_assert_num_queries, page) -> None:
    suffix, expected = PAGES[page]
    url = f"/o/{tenant.organisation.slug}/{suffix}"
    client = client_for(tenant.owner)
    _grow(tenant, 1)
    _count(django_assert_num_queries, client, url, expected)
    _grow(tenant, 15)
    _count(django_assert_num_queries, client, url, expected)


def test_organisation_list_query_count_does_not_grow(tenant, django_assert_num_queries) -> None:
    from tests.factories import OrganisationFactory

    client = client_for(tenant.owner)
    _count(django_assert_num_queries, client, "/organisations/", 8)
    for _ in range(10):
        add_member(OrganisationFactory(), tenant.owner, Role.MEMBER)
    _count(django_assert_num_queries, client, "/organisations/", 8)
