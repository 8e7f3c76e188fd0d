"""Each portal page runs a fixed number of queries whatever the amount of data, within the budget of
tests/querycount.py (the SQL is printed on failure).

A signed-in page's base cost is 3 queries: the user; the user's memberships with their organisations
(tenancy and the header's switcher); the one "Your work" count in the navigation (what waits for the
person, invitations to join included).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from portal import services
from portal.audit import audit_record
from portal.models import Invitation, Membership
from portal.roles import Role
from portal.versions import bump
from tests.api.conftest import make_token
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.querycount import assert_queries

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


def _elsewhere(user, n: int, role: str = Role.MEMBER) -> None:
    """`user` in `n` more organisations, with an invitation waiting in each of `n` others."""
    for _ in range(n):
        add_member(OrganisationFactory(), user, role)
        other = OrganisationFactory()
        owner = UserFactory()
        add_member(other, owner, Role.OWNER)
        services.invitation_create(organisation=other, actor=owner, email=user.email, role=Role.MEMBER)


def _count(client: Client, url: str, expected: int, label: str, status: int = 200) -> None:
    client.get(url)  # the first request of a session records it (allauth usersessions)
    with assert_queries(expected, label):
        response = client.get(url)
    assert response.status_code == status, (label, response.status_code)


def _a_member(tenant) -> Membership:
    with scopes_disabled():
        return Membership.objects.get(organisation=tenant.organisation, user=tenant.member)


def _an_invitation(tenant) -> Invitation:
    with scopes_disabled():
        return Invitation.objects.filter(organisation=tenant.organisation).order_by("created_at").first()


def _an_export(tenant):
    from datetime import timedelta

    from django.utils import timezone
    from django_scopes import scope

    from portal.models import ExportStatus, OrganisationExport

    with scope(organisation=tenant.organisation):
        export = OrganisationExport.objects.filter(organisation=tenant.organisation).first()
        if export is None:
            now = timezone.now()
            export = OrganisationExport.objects.create(
                organisation=tenant.organisation,
                requested_by=tenant.owner,
                status=ExportStatus.READY,
                completed_at=now,
                expires_at=now + timedelta(days=7),
                size=1234,
                sha256="0" * 64,
                counts={"files": 3, "sections": {}},
            )
    return export


# The page's own reads after the base 3 (the user; the memberships with their organisations; the
# "Your work" count in the navigation, which also counts invitations to join).
PAGES = {
    "members": (lambda t: "members/", 5),  # members, invitations
    "audit_trail": (lambda t: "audit/", 3),  # the table from the cache (cold: count and one page of events, +2)
    "audit_trail_verified": (lambda t: "audit/?verify=1", 5),  # + the chain head and the whole chain in one query
    "invite": (lambda t: "invitations/new/", 3),
    "member_role": (lambda t: f"members/{_a_member(t).pk}/role/", 4),  # the membership with its user
    "member_remove": (lambda t: f"members/{_a_member(t).pk}/remove/", 4),
    "leave": (lambda t: "leave/", 3),
    "invitation_revoke": (lambda t: f"invitations/{_an_invitation(t).pk}/revoke/", 4),  # the invitation
    "export_list": (lambda t: "settings/export/", 4),  # the recent exports with who asked
    "export_create": (lambda t: "settings/export/new/", 3),
    "export_detail": (lambda t: f"settings/export/{_an_export(t).pk}/", 4),  # the export with who asked
}


def _assessment_with_overdue_actions(tenant, framework, n: int) -> None:
    """A self-assessment cycle (the dashboard's current one is the newest) with `n` overdue actions."""
    from datetime import date, timedelta

    from django.utils import timezone
    from django_scopes import scope

    from assessments import services as assessment_services
    from assessments.models import ActionItem, Response

    assessment = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title=f"Self-assessment {n}",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    with scope(organisation=tenant.organisation):
        responses = list(Response.objects.filter(assessment=assessment).order_by("criterion__code")[:n])
        for i, response in enumerate(responses):
            ActionItem.objects.create(
                organisation=tenant.organisation,
                assessment=assessment,
                response=response,
                title=f"Overdue {i}",
                owner=tenant.manager,
                due_date=timezone.localdate() - timedelta(days=i + 1),
            )


@pytest.mark.parametrize("page", PAGES)
def test_page_query_count_does_not_grow_with_data(tenant, framework, page) -> None:
    suffix, expected = PAGES[page]
    client = client_for(tenant.owner)
    _grow(tenant, 1)
    _assessment_with_overdue_actions(tenant, framework, 1)
    url = f"/o/{tenant.organisation.slug}/{suffix(tenant)}"
    _count(client, url, expected, page)
    _grow(tenant, 15)
    _elsewhere(tenant.owner, 3)
    _assessment_with_overdue_actions(tenant, framework, 6)
    _count(client, url, expected, page)


def test_dashboard_query_count_cold_and_warm_does_not_grow(tenant, framework) -> None:
    """Cold (after any write the dashboard shows): members (their total and the getting-started steps'
    EXISTS in the same query), invitations, recent activity; the commitment panel (1) and the assessment
    panels (4: the current and the last final assessments with this round's signatures, the responses
    of both with their counts, the current plans, overdue action items; the framework's principles come
    from memory). Warm: the panels and the activity come from the cache."""
    client = client_for(tenant.owner)
    url = f"/o/{tenant.organisation.slug}/"
    for members, actions in ((1, 1), (15, 6)):
        _grow(tenant, members)  # audited: the organisation's version moves on
        _assessment_with_overdue_actions(tenant, framework, actions)
        client.get(url)  # the first request of a session records it; the framework is read into memory
        bump(organisations=[tenant.organisation])
        with assert_queries(11, "dashboard, cold"):
            assert client.get(url).status_code == 200
        with assert_queries(3, "dashboard, warm"):  # the base 3: members and invitations from the cache too
            assert client.get(url).status_code == 200
        _elsewhere(tenant.owner, 3)


# Pages outside any organisation: the user, the memberships, the "Your work" count; then the page's
# own reads (the organisations page lists the invitations waiting too).
OUTSIDE = {
    "organisation_list": ("/organisations/", 4),
    "organisation_create": ("/organisations/new/", 3),
    "account": ("/account/", 3),
    # + the tokens (the form's choices reuse the memberships; tests/api/test_tokens.py grows the tokens)
    "api_tokens": ("/account/tokens/", 4),
    "account_data": ("/account/data/", 3),
    # + the organisations the person owns, and whether each has another owner
    "account_delete": ("/account/delete/", 5),
}


@pytest.mark.parametrize("page", OUTSIDE)
def test_pages_outside_an_organisation_do_not_grow(tenant, page) -> None:
    url, expected = OUTSIDE[page]
    client = client_for(tenant.owner)
    make_token(tenant.owner, tenant.organisation)
    _count(client, url, expected, page)
    _elsewhere(tenant.owner, 10)
    for _ in range(3):
        make_token(tenant.owner, tenant.organisation)
    _count(client, url, expected, page)


def test_token_revoke_page_does_not_grow(tenant) -> None:
    from portal.models import ApiToken

    client = client_for(tenant.owner)
    make_token(tenant.owner, tenant.organisation)
    token = ApiToken.objects.get()
    url = f"/account/tokens/{token.pk}/revoke/"
    _count(client, url, 4, "api_token_revoke")  # + the token with its organisation
    _elsewhere(tenant.owner, 5)
    for _ in range(3):
        make_token(tenant.owner, tenant.organisation)
    _count(client, url, 4, "api_token_revoke")


def test_invitation_link_page_does_not_grow(tenant) -> None:
    _grow(tenant, 1)
    invitation = _an_invitation(tenant)
    url = f"/invitations/{services.invitation_token(invitation)}/"
    invited = UserFactory(email=invitation.email)
    _elsewhere(invited, 1, Role.OWNER)  # an owner elsewhere already: the "Your work" count looks there
    signed_in = client_for(invited)
    # Anonymous: the invitation with its organisation and inviter, and the session write.
    _count(Client(), url, 2, "invitation link, anonymous")
    _count(signed_in, url, 4, "invitation link, signed in")  # base 3 + the invitation
    _grow(tenant, 10)
    _elsewhere(invited, 5)
    _count(Client(), url, 2, "invitation link, anonymous")
    _count(signed_in, url, 4, "invitation link, signed in")
