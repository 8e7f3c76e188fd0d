"""'Your work': what needs each person, across their organisations. Each kind reaches the right
person (not other organisations' people, not other roles), disappears once done, and the page and
the navigation's count stay within a fixed number of queries."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_scopes import scope

from assessments import plans, services, workflow
from portal.dashboard import awaiting_count, awaiting_items
from portal.roles import Role
from portal.selectors import memberships_of_user
from portal.signing import SigningContext
from supplychain import services as supply
from supplychain.models import SupplierInvitation
from tests.assessments.conftest import responses_by_code
from tests.assessments.test_plans import complete
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.querycount import assert_queries
from tests.supplychain.test_cascade import Company, start

pytestmark = pytest.mark.django_db


def _items(user, kind: str | None = None):
    items = awaiting_items(user, memberships_of_user(user))
    assert awaiting_count(user, memberships_of_user(user)) == len(items)  # the count agrees with the page
    return [i for i in items if kind is None or i.kind == kind]


@pytest.fixture
def assessment(tenant, framework):
    return services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )


@pytest.fixture
def in_review(tenant, assessment):
    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=tenant.manager, maturity=1, narrative="Some", evidence_ids=[])
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    return assessment


# --- Supplier requests ------------------------------------------------------------------------------


def test_a_request_to_a_persons_address_reaches_them_before_they_have_an_organisation(framework) -> None:
    buyer = Company("Alpha")
    newcomer = UserFactory(email="priya@pennine.example")
    supply.supplier_save(
        organisation=buyer.org, actor=buyer.owner, name="Pennine", contact_name="", contact_email=newcomer.email
    )
    campaign = start(buyer, depth=1)
    [item] = _items(newcomer, "supplier_request")
    assert item.organisation is None and item.title == campaign.title and "Alpha" in item.action
    assert item.due == campaign.due_date
    # The link is the emailed one's page, and it works for them.
    page = client_for(newcomer).get(item.url)
    assert page.status_code == 200 and "Alpha" in page.content.decode()
    # The buyer's own people are not asked; nor is anyone else.
    assert _items(buyer.owner, "supplier_request") == []
    assert _items(UserFactory(), "supplier_request") == []


def test_a_request_to_an_organisation_reaches_its_owners_and_managers_only_and_goes_once_answered(
    framework,
) -> None:
    buyer, supplier = Company("Alpha"), Company("Bravo")
    manager, member, rep = UserFactory(), UserFactory(), UserFactory()
    add_member(supplier.org, manager, Role.MANAGER)
    add_member(supplier.org, member, Role.MEMBER)
    add_member(supplier.org, rep, Role.WORKFORCE_REP)
    buyer.lists(supplier)
    campaign = start(buyer, depth=1)
    # Known to the buyer by the owner's address: the owner sees it.
    assert [i.title for i in _items(supplier.owner, "supplier_request")] == [campaign.title]
    # Once the buyer's register knows the organisation, its managers see it too, under its name.
    SupplierInvitation.objects.filter(campaign=campaign).update(target_key=f"org:{supplier.org.pk}")
    [item] = _items(manager, "supplier_request")
    assert item.organisation == supplier.org
    assert _items(member, "supplier_request") == [] and _items(rep, "supplier_request") == []
    supplier.accept(campaign)
    assert _items(supplier.owner, "supplier_request") == [] and _items(manager, "supplier_request") == []


def test_a_supplier_finds_the_request_on_your_work_and_lands_there_after_signing_in(framework, client) -> None:
    buyer, supplier = Company("Alpha"), Company("Bravo")
    buyer.lists(supplier)
    campaign = start(buyer, depth=1)
    supplier.owner.set_password("a long enough password 1")
    supplier.owner.save()
    response = client.post("/accounts/login/", {"login": supplier.email, "password": "a long enough password 1"})
    assert response.status_code == 302 and response["Location"] == "/your-work/"
    html = client.get("/your-work/").content.decode()
    assert campaign.title in html and "Answer Alpha" in html
    assert 'class="header__badge">1' in html
    # An explicit `next` still wins.
    client.logout()
    response = client.post(
        "/accounts/login/?next=/account/", {"login": supplier.email, "password": "a long enough password 1"}
    )
    assert response["Location"] == "/account/"


# --- Signatures and countersignatures ---------------------------------------------------------------


def test_signature_items_reach_reps_and_management_not_members_nor_others(tenant, in_review, outsider) -> None:
    [rep_item] = _items(tenant.rep, "signature")
    assert rep_item.action == "Review and countersign" and rep_item.title == "Self-assessment 2026"
    assert _items(tenant.owner, "signature")[0].action == "Sign for management"
    for person in (tenant.member, tenant.auditor, outsider):
        assert _items(person, "signature") == []
    workflow.subject_sign(
        subject=in_review,
        signer=tenant.rep,
        decision="sign",
        typed_name="R",
        expected_hash=workflow.subject_hash(in_review),
        context=SigningContext(),
    )
    assert _items(tenant.rep, "signature") == []
    assert "Nothing needs you right now" in client_for(tenant.rep).get("/your-work/").content.decode()


# --- Change requests and comments -------------------------------------------------------------------


def test_a_change_request_waits_for_management_until_answered(tenant, in_review, outsider) -> None:
    change = workflow.changes_request(subject=in_review, actor=tenant.rep, reasons="Say who was consulted.")
    for person in (tenant.owner, tenant.manager):
        [item] = _items(person, "change_request")
        assert item.title == "Self-assessment 2026" and item.action == "Answer the change request"
        assert client_for(person).get(item.url).status_code == 200
    for person in (tenant.rep, tenant.member, outsider):
        assert _items(person, "change_request") == []
    workflow.change_request_answer(change_request=change, actor=tenant.manager, answer="Done.")
    assert _items(tenant.owner, "change_request") == []


def test_a_comment_waits_for_the_other_side_until_answered_or_resolved(tenant, in_review, outsider) -> None:
    comment = workflow.comment_add(subject=in_review, author=tenant.rep, anchor="1.1", body="Which committee?")
    [item] = _items(tenant.manager, "comment")
    assert item.url.endswith("#comments-1.1") and client_for(tenant.manager).get(item.url).status_code == 200
    for person in (tenant.rep, tenant.member, outsider):  # not the author, not other roles or organisations
        assert _items(person, "comment") == []
    workflow.comment_add(subject=in_review, author=tenant.manager, anchor="1.1", body="The JCC.", parent=comment)
    assert _items(tenant.manager, "comment") == []
    assert len(_items(tenant.rep, "comment")) == 1  # the reply is for the rep
    workflow.comment_resolve(comment=comment, actor=tenant.rep)
    assert _items(tenant.rep, "comment") == [] and _items(tenant.owner, "comment") == []


# --- Action items -----------------------------------------------------------------------------------


def test_actions_due_soon_or_overdue_reach_their_owner_until_done(tenant, assessment, outsider) -> None:
    response = next(iter(responses_by_code(assessment).values()))
    today = timezone.localdate()
    overdue = services.action_item_create(
        response=response, actor=tenant.manager, title="Brief the JCC", owner=tenant.rep, due_date=today - timedelta(1)
    )
    services.action_item_create(
        response=response, actor=tenant.manager, title="Later", owner=tenant.rep, due_date=today + timedelta(60)
    )
    [item] = _items(tenant.rep, "action")
    assert item.title == "Brief the JCC" and item.action.startswith("Overdue") and item.due == overdue.due_date
    assert client_for(tenant.rep).get(item.url).status_code == 200  # the principle page, for a non-editor
    for person in (tenant.manager, tenant.owner, outsider):
        assert _items(person, "action") == []
    with scope(organisation=tenant.organisation):
        services.action_item_update(
            item=type(overdue).objects.get(pk=overdue.pk),
            actor=tenant.manager,
            title=overdue.title,
            owner=tenant.rep,
            due_date=overdue.due_date,
            status="done",
        )
    assert _items(tenant.rep, "action") == []


# --- Invitations to join ----------------------------------------------------------------------------


def test_an_invitation_to_join_reaches_its_address_until_accepted(tenant, outsider) -> None:
    from portal import services as portal_services

    invitation = portal_services.invitation_create(
        organisation=tenant.organisation, actor=tenant.owner, email=outsider.email, role=Role.MANAGER
    )
    [item] = _items(outsider, "invitation")
    assert item.organisation == tenant.organisation and "Acme" in item.title
    assert client_for(outsider).get(item.url).status_code == 200
    assert _items(tenant.owner, "invitation") == []
    portal_services.invitation_accept(invitation=invitation, user=outsider)
    assert _items(outsider, "invitation") == []


# --- The page ---------------------------------------------------------------------------------------


def test_the_page_shows_only_the_persons_own_organisations(tenant, in_review, outsider) -> None:
    elsewhere = OrganisationFactory(name="Elsewhere Ltd")
    add_member(elsewhere, outsider, Role.WORKFORCE_REP)
    html = client_for(outsider).get("/your-work/").content.decode()
    assert "Self-assessment 2026" not in html and "Acme" not in html
    html = client_for(tenant.rep).get("/your-work/").content.decode()
    assert "Acme Precision Engineering" in html and "Review and countersign" in html


def test_empty_state_says_what_the_page_is_for(tenant) -> None:
    html = client_for(tenant.member).get("/your-work/").content.decode()
    assert "Nothing needs you right now" in html and "every organisation you belong to" in html
    assert 'class="header__badge"' not in html


def test_the_old_reviews_page_sends_people_to_your_work(tenant) -> None:
    response = client_for(tenant.rep).get("/reviews/")
    assert response.status_code == 301 and response["Location"] == "/your-work/"


def test_query_count_does_not_grow_with_organisations_or_items(tenant, in_review, framework) -> None:
    """The user; the memberships with their organisations (also the header's switcher); every kind of
    item in one query (invitations among them, which also serve the header's invitations badge). The
    count in the navigation is the number of items listed: no query of its own."""
    rep = client_for(tenant.rep)

    def count(waiting: int) -> None:
        rep.get("/your-work/")
        with assert_queries(3, "your work") as counted:
            html = rep.get("/your-work/").content.decode()
        assert html.count("Review and countersign") == waiting, counted.listing()
        assert f'class="header__badge">{waiting}' in html

    count(1)
    for i in range(3):  # another organisation, with an assessment and a plan in workforce review
        other = OrganisationFactory()
        add_member(other, tenant.rep, Role.WORKFORCE_REP)
        manager = UserFactory()
        add_member(other, manager, Role.MANAGER)
        assessment = services.assessment_create(
            organisation=other,
            actor=manager,
            framework=framework,
            title=f"Elsewhere {i}",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
        )
        for response in responses_by_code(assessment).values():
            services.response_save(response=response, actor=manager, maturity=1, narrative="n", evidence_ids=[])
        services.assessment_submit(assessment=assessment, actor=manager)
        plan = plans.plan_create(organisation=other, actor=manager, kind="digitalisation", title=f"Plan {i}")
        complete(plan, SimpleNamespace(manager=manager))
        plans.plan_submit(plan=plan, actor=manager)
    count(7)


def test_the_navigation_count_is_one_query_on_every_page(tenant, in_review) -> None:
    """A tenant page pays 3 (the user, memberships, and the count of everything waiting, invitations
    to join included, in one query), then its own (the members list): one count in the navigation."""
    rep = client_for(tenant.rep)
    url = f"/o/{tenant.organisation.slug}/members/"
    rep.get(url)
    with assert_queries(4, "members page") as counted:
        html = rep.get(url).content.decode()
    assert "Your work" in html and 'class="header__badge">1' in html, counted.listing()


# --- Plans due for review -----------------------------------------------------------------------------


def _final_plan(tenant, title: str = "Cobots on line 3"):
    from assessments.models import Plan
    from tests.assessments.test_plans import new_plan, sign, submitted

    plan = submitted(new_plan(tenant, title), tenant)
    sign(plan, tenant.rep)
    sign(plan, tenant.owner)
    with scope(organisation=tenant.organisation):
        return Plan.objects.select_related("organisation", "eqia").get(pk=plan.pk)


def test_a_plan_due_for_review_reaches_owners_and_managers_until_a_new_version_exists(tenant, outsider) -> None:
    plan = _final_plan(tenant)
    assert _items(tenant.owner, "plan_review") == []  # a year away
    today = timezone.localdate()
    plans.plan_review_due_set(plan=plan, actor=tenant.owner, review_due=today + timedelta(days=30))
    for person in (tenant.owner, tenant.manager):
        [item] = _items(person, "plan_review")
        assert item.title == "Cobots on line 3" and item.action == "Review the plan"
        assert item.due == today + timedelta(days=30) and item.organisation == tenant.organisation
        page = client_for(person).get(item.url)  # where a review starts: a new version of the plan
        assert page.status_code == 200 and "Amend this plan as version 2?" in page.content.decode()
    for person in (tenant.rep, tenant.member, tenant.auditor, outsider):
        assert _items(person, "plan_review") == []
    html = client_for(tenant.owner).get("/your-work/").content.decode()
    assert "Review the plan" in html and "Due for review on" in html
    # Overdue reads so; once a review has started (version 2, in progress), it is gone.
    with scope(organisation=tenant.organisation):
        type(plan).objects.filter(pk=plan.pk).update(review_due=today - timedelta(days=3))
    [item] = _items(tenant.manager, "plan_review")
    assert "The review was due on" in item.detail and item.is_overdue(today)
    plans.plan_amend(plan=plan, actor=tenant.manager)
    assert _items(tenant.owner, "plan_review") == [] and _items(tenant.manager, "plan_review") == []


def test_plan_review_query_count_does_not_grow_with_organisations_or_plans(tenant, framework) -> None:
    """An owner pays what a representative does (3, see above): every kind, plans due for review among
    them, comes in the one query, however many organisations and plans there are."""
    owner = client_for(tenant.owner)
    soon = timezone.localdate() + timedelta(days=10)

    def count(waiting: int) -> None:
        owner.get("/your-work/")
        with assert_queries(3, "your work (owner)") as counted:
            html = owner.get("/your-work/").content.decode()
        assert html.count(">Review the plan<") == waiting, counted.listing()
        assert f'class="header__badge">{waiting}' in html

    plans.plan_review_due_set(plan=_final_plan(tenant), actor=tenant.owner, review_due=soon)
    count(1)
    for i in range(3):  # another organisation the owner manages, with two plans due for review
        other = OrganisationFactory()
        add_member(other, tenant.owner, Role.MANAGER)
        people = SimpleNamespace(
            organisation=other, owner=UserFactory(), manager=UserFactory(), rep=UserFactory(), member=None
        )
        add_member(other, people.owner, Role.OWNER)
        add_member(other, people.manager, Role.MANAGER)
        add_member(other, people.rep, Role.WORKFORCE_REP)
        for title in (f"Plan {i}a", f"Plan {i}b"):
            plans.plan_review_due_set(plan=_final_plan(people, title), actor=people.owner, review_due=soon)
    count(7)
