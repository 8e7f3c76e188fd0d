"""The dashboard's panels and recent activity are cached per organisation version, role, date and
language (issue 19): a warm request reads them from the cache, and each write that changes what they
show is seen on the very next request. The real cache (locmem on SQLite, Redis on PostgreSQL);
`bumps_at_commit` makes each bump take effect when its write would commit."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope

from assessments import services as assessment_services
from assessments.models import ActionStatus
from portal.audit import audit_record
from portal.versions import bump
from tests.conftest import client_for
from tests.querycount import assert_queries
from tests.reports.conftest import responses_by_code

pytestmark = pytest.mark.django_db


def _page(client, tenant) -> str:
    response = client.get(f"/o/{tenant.organisation.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def _current_work(html: str) -> str:
    found = re.search(r'id="current-work-title".*?</section>', html, re.S)
    assert found is not None
    return found.group(0)


def _draft(tenant, framework):
    return assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2027",
        period_start=date(2027, 1, 1),
        period_end=date(2027, 12, 31),
    )


def _answer(tenant, draft, prefix: str, maturity: int = 2) -> None:
    for code, response in responses_by_code(draft).items():
        if code.startswith(prefix):
            assessment_services.response_save(
                response=response, actor=tenant.manager, maturity=maturity, narrative="", evidence_ids=[]
            )


def test_a_warm_dashboard_reads_its_panels_and_activity_from_the_cache_and_shows_the_same(tenant, framework) -> None:
    _draft(tenant, framework)
    client = client_for(tenant.owner)
    _page(client, tenant)  # the session's first request records it; the framework is read into memory
    bump(organisations=[tenant.organisation])  # what any write does: the next request builds the panels
    with assert_queries(11, "dashboard, cold"):  # the base 3, members, invitations, activity, panels 5
        cold = _page(client, tenant)
    with assert_queries(3, "dashboard, warm"):  # the base 3: members and invitations from the cache too
        warm = _page(client, tenant)
    masked = re.compile(r'(csrfmiddlewaretoken" value=")[^"]+|(nonce=")[^"]+')
    assert masked.sub(r"\1\2", warm) == masked.sub(r"\1\2", cold)  # the same page, but for the form tokens


def test_each_write_the_panels_show_is_seen_on_the_next_request(tenant, framework) -> None:
    manager = client_for(tenant.manager)
    assert "There is no current self-assessment" in _page(manager, tenant)
    draft = _draft(tenant, framework)
    html = _page(manager, tenant)
    assert draft.title in html and "0 of 6 principles completed" in html

    _answer(tenant, draft, "1.")  # a response's level saved (autosave and the form both save so)
    assert "1 of 6 principles completed" in _page(manager, tenant)

    with scope(organisation=tenant.organisation):
        response = next(r for c, r in responses_by_code(draft).items() if c.startswith("2."))
    item = assessment_services.action_item_create(
        response=response,
        actor=tenant.manager,
        title="Train the night shift",
        owner=tenant.manager,
        due_date=timezone.localdate() - timedelta(days=1),
    )
    assert "Train the night shift" in _current_work(_page(manager, tenant))  # overdue

    # The owner of an overdue action renames themselves: the list names them anew.
    response = manager.post("/account/", {"full_name": "Manon Manager-Jones"})
    assert response.status_code == 302
    assert "Manon Manager-Jones" in _current_work(_page(manager, tenant))

    assessment_services.action_item_update(
        item=item,
        actor=tenant.manager,
        title=item.title,
        owner=item.owner,
        due_date=item.due_date,
        status=ActionStatus.DONE,
    )
    assert "Train the night shift" not in _current_work(_page(manager, tenant))  # completed: no longer overdue

    _answer(tenant, draft, "")  # every criterion answered
    assert "Send for workforce review" in _page(manager, tenant)
    assessment_services.assessment_submit(assessment=draft, actor=tenant.manager)
    html = _page(manager, tenant)
    assert "In workforce review" in html and "Sign for management" in html


def test_an_action_falls_overdue_on_the_next_day_without_any_write(tenant, framework) -> None:
    draft = _draft(tenant, framework)
    with scope(organisation=tenant.organisation):
        response = next(iter(responses_by_code(draft).values()))
    assessment_services.action_item_create(
        response=response,
        actor=tenant.manager,
        title="Refresh the risk register",
        owner=tenant.manager,
        due_date=timezone.localdate(),
    )
    manager = client_for(tenant.manager)
    assert "Refresh the risk register" not in _current_work(_page(manager, tenant))  # due today: not overdue yet
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert "Refresh the risk register" in _current_work(_page(manager, tenant))


def test_the_panels_are_worded_for_each_role(tenant, framework) -> None:
    """One organisation version, two roles: each sees its own wording, whoever came first."""
    member = client_for(tenant.member)
    owner = client_for(tenant.owner)
    member_html = _page(member, tenant)
    owner_html = _page(owner, tenant)
    sign = f"/o/{tenant.organisation.slug}/commitment/sign/"
    assert sign not in member_html and "An owner signs it." in member_html
    assert f'href="{sign}">Sign the commitment<' in owner_html
    assert sign not in _page(member, tenant)  # and the member's stays the member's


def test_recent_activity_shows_each_new_event(tenant) -> None:
    owner = client_for(tenant.owner)
    assert "Nothing has happened yet" in _page(owner, tenant)
    audit_record(organisation=tenant.organisation, actor=tenant.owner, verb="organisation.updated")
    html = _page(owner, tenant)
    assert "Nothing has happened yet" not in html and "See the full audit trail" in html
    assert "See the full audit trail" not in _page(client_for(tenant.member), tenant)  # members do not see it


def _members_card(html: str) -> str:
    found = re.search(r'<h2 class="heading-m">Members</h2>.*?Invite someone', html, re.S)
    assert found is not None
    return found.group(0)


def test_members_and_invitations_are_seen_on_the_next_request(tenant) -> None:
    """The members card and the pending invitations come from the cache too: each write through the
    services (and a new name or address, which is not audited) is seen at once."""
    from portal import services
    from portal.models import Membership

    owner = client_for(tenant.owner)
    n = Membership.objects.filter(organisation=tenant.organisation).count()
    html = _page(owner, tenant)
    assert f"See all {n} members" in html and "newcomer@acme.example" not in _members_card(html)

    invitation = services.invitation_create(
        organisation=tenant.organisation, actor=tenant.owner, email="newcomer@acme.example", role="member"
    )
    card = _members_card(_page(owner, tenant))
    assert "newcomer@acme.example" in card and "Invited just now" in card
    services.invitation_revoke(invitation=invitation, actor=tenant.owner)
    assert "newcomer@acme.example" not in _members_card(_page(owner, tenant))

    membership = Membership.objects.get(organisation=tenant.organisation, user=tenant.member)
    services.membership_remove(membership=membership, actor=tenant.owner)
    html = _page(owner, tenant)
    assert f"See all {n - 1} members" in html and tenant.member.email not in _members_card(html)

    # A new name through the account page (not audited), a new address saved on the person.
    assert owner.post("/account/", {"full_name": "Ottoline Renamed"}).status_code == 302
    assert "<strong>Ottoline Renamed</strong>" in _members_card(_page(owner, tenant))
    tenant.manager.email = "new.address@acme.example"
    tenant.manager.save()
    assert "new.address@acme.example" in _members_card(_page(owner, tenant))


def test_an_invitation_expires_and_getting_started_moves_on_without_any_write(tenant) -> None:
    """An invitation's status and "a workforce representative is invited" change with the clock: the
    cached card lasts only until the first open invitation expires."""
    from portal import services
    from portal.models import Invitation, Membership
    from portal.roles import Role

    Membership.objects.filter(organisation=tenant.organisation, role=Role.WORKFORCE_REP).delete()
    invitation = services.invitation_create(
        organisation=tenant.organisation, actor=tenant.owner, email="rep2@acme.example", role=Role.WORKFORCE_REP
    )
    expires = timezone.now() + timedelta(hours=2)  # sooner than usual: the session outlives it
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=expires)  # before any page is cached
    owner = client_for(tenant.owner)
    html = _page(owner, tenant)
    assert "rep2@acme.example" in _members_card(html)
    assert "Expired" not in _members_card(html)
    step = re.compile(r"Invite a workforce representative.*?</li>", re.S)
    found = step.search(html)
    assert found is not None and "Completed" in found.group(0)
    with time_machine.travel(expires + timedelta(minutes=1)):
        html = _page(owner, tenant)
        assert "Expired" in _members_card(html)
        found = step.search(html)
        assert found is not None and "Not yet started" in found.group(0)
