"""Members and roles: change, remove, leave, never lose the last owner; per-role access."""

from __future__ import annotations

import pytest
from django_scopes import scope

from portal.models import AuditEvent, Membership
from portal.roles import Role
from tests.conftest import client_for
from tests.factories import add_member

pytestmark = pytest.mark.django_db


def _membership(tenant, user) -> Membership:
    with scope(organisation=tenant.organisation):
        return Membership.objects.get(user=user)


def test_owner_changes_a_role_and_it_is_audited(tenant, owner_client) -> None:
    member = _membership(tenant, tenant.member)
    url = f"/o/{tenant.organisation.slug}/members/{member.pk}/role/"
    response = owner_client.post(url, {"role": Role.WORKFORCE_REP})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.WORKFORCE_REP
    with scope(organisation=tenant.organisation):
        event = AuditEvent.objects.get(verb="member.role_changed")
    assert event.before == {"role": "member"} and event.after == {"role": "workforce_rep"}


def test_the_last_owner_cannot_be_demoted(tenant, owner_client) -> None:
    own = _membership(tenant, tenant.owner)
    response = owner_client.post(f"/o/{tenant.organisation.slug}/members/{own.pk}/role/", {"role": Role.MANAGER})
    assert response.status_code == 200
    assert "is the only owner" in response.content.decode()
    own.refresh_from_db()
    assert own.role == Role.OWNER


def test_the_last_owner_cannot_leave_but_can_after_handing_over(tenant, owner_client) -> None:
    url = f"/o/{tenant.organisation.slug}/leave/"
    response = owner_client.post(url)
    assert response.status_code == 400 and "is the only owner" in response.content.decode()
    manager = _membership(tenant, tenant.manager)
    owner_client.post(f"/o/{tenant.organisation.slug}/members/{manager.pk}/role/", {"role": Role.OWNER})
    response = owner_client.post(url)
    assert response.status_code == 302 and response["Location"] == "/organisations/"
    with scope(organisation=tenant.organisation):
        assert not Membership.objects.filter(user=tenant.owner).exists()
        assert AuditEvent.objects.filter(verb="member.left").count() == 1


def test_remove_asks_for_confirmation_then_removes(tenant, owner_client) -> None:
    member = _membership(tenant, tenant.member)
    url = f"/o/{tenant.organisation.slug}/members/{member.pk}/remove/"
    page = owner_client.get(url).content.decode()
    assert "will lose access straight away" in page and "Yes, remove them" in page
    with scope(organisation=tenant.organisation):
        assert Membership.objects.filter(pk=member.pk).exists()  # GET changed nothing
    response = owner_client.post(url)
    assert response.status_code == 302
    with scope(organisation=tenant.organisation):
        assert not Membership.objects.filter(pk=member.pk).exists()
        assert AuditEvent.objects.get(verb="member.removed").before["email"] == tenant.member.email
    # Removed means removed: the next request from that person is a 404.
    assert client_for(tenant.member).get(f"/o/{tenant.organisation.slug}/").status_code == 404


def test_another_owner_can_be_removed_but_not_the_last(tenant, owner_client) -> None:
    manager = _membership(tenant, tenant.manager)
    owner_client.post(f"/o/{tenant.organisation.slug}/members/{manager.pk}/role/", {"role": Role.OWNER})
    second_owner = client_for(tenant.manager)
    first = _membership(tenant, tenant.owner)
    assert second_owner.post(f"/o/{tenant.organisation.slug}/members/{first.pk}/remove/").status_code == 302
    own = _membership(tenant, tenant.manager)
    # Removing yourself is "leave", and the last owner cannot leave.
    response = second_owner.post(f"/o/{tenant.organisation.slug}/members/{own.pk}/remove/")
    assert response.status_code == 400 and "Leave organisation" in response.content.decode()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR, Role.MEMBER])
def test_only_owners_manage_members(tenant, role) -> None:
    client = client_for(tenant.user(role))
    target = _membership(tenant, tenant.member)
    slug = tenant.organisation.slug
    assert client.get(f"/o/{slug}/members/").status_code == 200  # everyone sees who is here
    for url in (
        f"/o/{slug}/members/{target.pk}/role/",
        f"/o/{slug}/members/{target.pk}/remove/",
        f"/o/{slug}/invitations/new/",
    ):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"role": Role.OWNER, "email": "x@example.org"}).status_code == 403, url
    target.refresh_from_db()
    assert target.role == Role.MEMBER


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.OWNER, True),
        (Role.MANAGER, True),
        (Role.WORKFORCE_REP, True),
        (Role.AUDITOR, True),
        (Role.MEMBER, False),
    ],
)
def test_audit_trail_visibility_follows_the_design(tenant, role, allowed) -> None:
    response = client_for(tenant.user(role)).get(f"/o/{tenant.organisation.slug}/audit/")
    assert response.status_code == (200 if allowed else 403)


def test_members_page_shows_roles_and_management_links_only_to_owners(tenant, owner_client) -> None:
    slug = tenant.organisation.slug
    owner_html = owner_client.get(f"/o/{slug}/members/").content.decode()
    assert "5 members" in owner_html and "Change role" in owner_html and "Invite someone" in owner_html
    rep_html = client_for(tenant.rep).get(f"/o/{slug}/members/").content.decode()
    assert "5 members" in rep_html and "Change role" not in rep_html and "Invite someone" not in rep_html


def test_a_user_can_hold_different_roles_in_different_organisations(tenant, outsider) -> None:
    add_member(tenant.organisation, outsider, Role.AUDITOR)
    html = client_for(outsider).get(f"/o/{tenant.organisation.slug}/").content.decode()
    assert "Auditor" in html
