"""The per-person header state (switcher, "Your work" count, unread count) is read from the cache when
current, and every write that changes it shows on the next request (portal.header).

Real cache (locmem on SQLite, Redis on PostgreSQL) and committed transactions: a bump applies at commit,
so these tests are transactional. Each one warms the header first, then writes through the service that
users' actions go through, then reads the next page.
"""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments import services as assessment_services
from portal import notifications, services
from portal.models import Membership
from portal.roles import Role
from supplychain import services as supply
from tests.assessments.conftest import responses_by_code
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.querycount import assert_queries
from tests.supplychain.test_cascade import Company, start

pytestmark = pytest.mark.django_db(transaction=True)


def _header(client, url: str = "/account/") -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content.decode()
    return html[html.index("<header") : html.index("</header>")]


def _awaiting(header: str) -> int:
    found = re.search(r'class="header__work"[^>]*>Your work(?: <span class="header__badge">(\d+))?', header)
    assert found is not None
    return int(found.group(1) or 0)


def _unread(header: str) -> int:
    found = re.search(r">Notifications(?: <span class=\"header__badge\">(\d+))?", header)
    assert found is not None
    return int(found.group(1) or 0)


def _switcher(header: str) -> str:
    return header[header.index('class="org-switcher"') :] if 'class="org-switcher"' in header else ""


def _warm(client, url: str = "/account/") -> str:
    """Two requests: the first builds the state (and records the session), the second reads it."""
    _header(client, url)
    return _header(client, url)


def _notify(user, key: str) -> None:
    notifications.notify(
        kind="comment", recipients=[user], organisation=None, actor=None, text="Hello", url="/", key=key
    )


# --- Queries: warm pages read the header from the cache -------------------------------------------------


def test_warm_pages_run_no_query_for_the_header(tenant) -> None:
    client = client_for(tenant.owner)
    add_member(OrganisationFactory(name="Second Works"), tenant.owner, Role.MANAGER)  # a switcher to show
    client.get("/account/")  # the first request of a session records it (allauth usersessions)
    # Cold: the user, the memberships, both counts in one query (the budget of every signed-in page).
    with assert_queries(3, "account, cold"):
        client.get("/account/")
    # Warm: the user only; the memberships and both counts come from one cache entry.
    with assert_queries(1, "account, warm") as counted:
        header = _header(client)
    assert "Second Works" in _switcher(header), counted.listing()
    members = f"/o/{tenant.organisation.slug}/members/"
    # A tenant page: the middleware reads the same entry; then the page's own members and invitations.
    with assert_queries(3, "members page, warm"):
        response = client.get(members)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Precision Engineering" in html and "Second Works" in html


def test_a_cold_tenant_page_keeps_its_budget(tenant) -> None:
    from portal.versions import bump

    client = client_for(tenant.owner)
    members = f"/o/{tenant.organisation.slug}/members/"
    client.get(members)
    client.get(members)
    bump(people=[tenant.owner])  # the header state is stale: built again
    # The user, the memberships, the members, the invitations, both counts in one query.
    with assert_queries(5, "members page, cold") as counted:
        client.get(members)
    assert len(counted) <= 12


# --- Notifications --------------------------------------------------------------------------------------


def test_notifications_created_read_and_all_read_show_on_the_next_request(tenant) -> None:
    client = client_for(tenant.rep)
    assert _unread(_warm(client)) == 0
    _notify(tenant.rep, "one")
    _notify(tenant.rep, "two")
    assert _unread(_header(client)) == 2
    with scopes_disabled():
        first = tenant.rep.notifications.order_by("created_at").first()
    notifications.notification_open(tenant.rep, first.pk)
    assert _unread(_header(client)) == 1
    _notify(tenant.rep, "three")
    assert _unread(_header(client)) == 2
    notifications.mark_all_read(tenant.rep)
    assert _unread(_header(client)) == 0
    # Through the page itself, too.
    _notify(tenant.rep, "four")
    assert _unread(_header(client)) == 1
    response = client.post("/notifications/read-all/")
    assert response.status_code in (200, 302)
    assert _unread(_header(client)) == 0


# --- Memberships ----------------------------------------------------------------------------------------


def test_joining_changing_role_and_leaving_show_in_the_switcher_and_tenancy(tenant) -> None:
    other = OrganisationFactory(name="Bravo Castings")
    owner = UserFactory()
    add_member(other, owner, Role.OWNER)
    client = client_for(tenant.member)
    assert _switcher(_warm(client)) == ""  # one organisation: no switcher
    # Invited and joined: the switcher shows both.
    invitation = services.invitation_create(
        organisation=other, actor=owner, email=tenant.member.email, role=Role.MEMBER
    )
    services.invitation_accept(invitation=invitation, user=tenant.member)
    header = _header(client)
    assert "Bravo Castings" in _switcher(header)
    assert client.get(f"/o/{other.slug}/").status_code == 200
    # Role changed: the switcher says so.
    with scopes_disabled():
        membership = Membership.objects.get(organisation=other, user=tenant.member)
    services.membership_change_role(membership=membership, role=Role.MANAGER, actor=owner)
    assert "Manager" in _switcher(_header(client)).split("Bravo Castings", 1)[1][:120]
    # Removed: gone from the switcher, and the organisation's pages answer 404 on the next request.
    services.membership_remove(membership=membership, actor=owner)
    assert client.get(f"/o/{other.slug}/").status_code == 404
    assert "Bravo Castings" not in _header(client)
    # A new organisation of one's own.
    created = services.organisation_create(
        creator=tenant.member, name="Charlie Forge", sector="other", size_band="micro"
    )
    assert "Charlie Forge" in _switcher(_header(client))
    assert client.get(f"/o/{created.slug}/").status_code == 200


def test_a_removed_member_gets_404_on_the_very_next_request(tenant) -> None:
    client = client_for(tenant.member)
    page = f"/o/{tenant.organisation.slug}/"
    assert client.get(page).status_code == 200
    assert client.get(page).status_code == 200  # warm
    with scopes_disabled():
        membership = Membership.objects.get(organisation=tenant.organisation, user=tenant.member)
    services.membership_remove(membership=membership, actor=tenant.owner)
    assert client.get(page).status_code == 404
    assert client.get(f"/o/{tenant.organisation.slug}/members/").status_code == 404


def test_a_grant_that_expires_is_not_cached_past_its_expiry(tenant) -> None:
    other = OrganisationFactory(name="Delta Audit Co")
    add_member(other, tenant.auditor, Role.AUDITOR, expires_at=timezone.now() + timedelta(seconds=2))
    client = client_for(tenant.auditor)
    page = f"/o/{other.slug}/members/"
    assert client.get(page).status_code == 200
    assert "Delta Audit Co" in _switcher(_header(client))  # warm
    # Shortened (an auditor's grant brought forward): the person's header is invalidated.
    with scopes_disabled():
        Membership.objects.filter(organisation=other, user=tenant.auditor).update(
            expires_at=timezone.now() + timedelta(seconds=1)
        )
    from portal.versions import bump

    bump(people=[tenant.auditor])
    assert "Delta Audit Co" in _switcher(_header(client))
    time.sleep(1.2)
    assert client.get(page).status_code == 404
    assert "Delta Audit Co" not in _header(client)


# --- Invitations to the person's address -----------------------------------------------------------------


def test_an_invitation_to_the_address_counts_until_revoked(tenant) -> None:
    other = OrganisationFactory(name="Echo Tools")
    owner = UserFactory()
    add_member(other, owner, Role.OWNER)
    client = client_for(tenant.member)
    before = _awaiting(_warm(client))
    invitation = services.invitation_create(
        organisation=other, actor=owner, email=tenant.member.email, role=Role.MEMBER
    )
    assert _awaiting(_header(client)) == before + 1
    services.invitation_revoke(invitation=invitation, actor=owner)
    assert _awaiting(_header(client)) == before


# --- "Your work" items made in the person's organisations and elsewhere ----------------------------------


def test_an_assessment_sent_for_review_counts_for_the_rep_until_signed(tenant, framework) -> None:
    from assessments import workflow
    from portal.signing import SigningContext

    client = client_for(tenant.rep)
    before = _awaiting(_warm(client))
    assessment = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    for response in responses_by_code(assessment).values():
        assessment_services.response_save(
            response=response, actor=tenant.manager, maturity=1, narrative="Some", evidence_ids=[]
        )
    assert _awaiting(_header(client)) == before
    assessment_services.assessment_submit(assessment=assessment, actor=tenant.manager)
    assert _awaiting(_header(client)) == before + 1
    workflow.subject_sign(
        subject=assessment,
        signer=tenant.rep,
        decision="sign",
        typed_name="R",
        expected_hash=workflow.subject_hash(assessment),
        context=SigningContext(),
    )
    assert _awaiting(_header(client)) == before


def test_an_action_assigned_counts_for_its_owner(tenant, framework) -> None:
    assessment = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    client = client_for(tenant.member)
    before = _awaiting(_warm(client))
    unread = _unread(_header(client))
    response = next(iter(responses_by_code(assessment).values()))
    item = assessment_services.action_item_create(
        response=response,
        actor=tenant.manager,
        title="Train the team",
        owner=tenant.member,
        due_date=timezone.localdate() + timedelta(days=3),
    )
    header = _header(client)
    assert _awaiting(header) == before + 1 and _unread(header) == unread + 1  # and told of it
    with scope(organisation=tenant.organisation):
        item.refresh_from_db()
    assessment_services.action_item_delete(item=item, actor=tenant.manager)
    assert _awaiting(_header(client)) == before


def test_a_supplier_request_counts_for_the_address_and_the_organisation(framework) -> None:
    buyer, supplier = Company("Alpha"), Company("Bravo")
    newcomer = UserFactory(email="priya@pennine.example")  # no organisation yet: the address only
    manager = UserFactory()
    add_member(supplier.org, manager, Role.MANAGER)
    clients = {p: client_for(p) for p in (newcomer, supplier.owner, manager)}
    for client in clients.values():
        assert _awaiting(_warm(client)) == 0
    buyer.lists(supplier)
    supply.supplier_save(
        organisation=buyer.org, actor=buyer.owner, name="Pennine", contact_name="", contact_email=newcomer.email
    )
    # The supplier organisation is known to the buyer's register by its organisation, too.
    from supplychain.models import Supplier

    with scope(organisation=buyer.org):
        Supplier.objects.filter(contact_email=supplier.email).update(linked_organisation=supplier.org)
    campaign = start(buyer, depth=1)
    assert _awaiting(_header(clients[newcomer])) == 1
    assert _awaiting(_header(clients[supplier.owner])) == 1
    assert _awaiting(_header(clients[manager])) == 1  # addressed to the organisation
    supplier.accept(campaign)
    assert _awaiting(_header(clients[supplier.owner])) == 0
    assert _awaiting(_header(clients[manager])) == 0
    assert _awaiting(_header(clients[newcomer])) == 1
