"""'Your work' with every kind of item in two organisations: the navigation's count, the page and the
API inbox list exactly the same things (they share one statement), and nothing of an organisation
the person does not belong to, nor of one whose auditor grant has ended, appears anywhere."""

from __future__ import annotations

import io
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from rest_framework.renderers import JSONRenderer

from assessments import plans, services, workflow
from assessments.models import ActionItem
from portal.api.notifications import InboxItemSerializer, _inbox_row
from portal.dashboard import awaiting_by_organisation, awaiting_count, awaiting_items
from portal.roles import Role
from portal.selectors import memberships_of_user
from portal.services import invitation_create
from supplychain import services as supply
from supplychain.models import SupplierInvitation
from tests.assessments.conftest import PDF, responses_by_code
from tests.assessments.test_plans import complete
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.portal.test_your_work import _final_plan
from tests.principles.test_reaffirm import _sign
from tests.reports.conftest import ready_report
from tests.supplychain.test_cascade import Company, start

pytestmark = pytest.mark.django_db

EVERY_KIND = {
    "invitation",
    "supplier_request",
    "signature",
    "plan_review",
    "change_request",
    "comment",
    "action",
    "evidence",
    "commitment_reaffirm",
    "report_ready",
}


def _organisation(name: str, person, framework, *, role: str = Role.OWNER) -> SimpleNamespace:
    organisation = OrganisationFactory(name=name)
    people = SimpleNamespace(
        organisation=organisation,
        owner=person,
        manager=UserFactory(),
        rep=UserFactory(),
        member=None,
    )
    add_member(organisation, person, role)
    add_member(organisation, people.manager, Role.MANAGER)
    add_member(organisation, people.rep, Role.WORKFORCE_REP)
    return people


def _everything(people, framework, prefix: str, *, owner) -> None:
    """Every kind of item an owner can have, in this organisation, for `owner`."""
    organisation, manager, rep = people.organisation, people.manager, people.rep
    today = timezone.localdate()
    assessment = services.assessment_create(
        organisation=organisation,
        actor=manager,
        framework=framework,
        title=f"{prefix} self-assessment",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=manager, maturity=1, narrative="n", evidence_ids=[])
    services.action_item_create(
        response=next(iter(responses_by_code(assessment).values())),
        actor=manager,
        title=f"{prefix} action",
        owner=owner,
        due_date=today + timedelta(days=3),
    )
    services.assessment_submit(assessment=assessment, actor=manager)  # to sign
    workflow.comment_add(subject=assessment, author=rep, anchor="1.1", body="Which committee?")
    services.evidence_upload(
        organisation=organisation,
        actor=owner,
        file=io.BytesIO(PDF),
        name=f"{prefix}-insurance.pdf",
        description=f"{prefix} insurance",
        effective_date=today,
        expiry_date=today + timedelta(days=10),
    )
    plan = plans.plan_create(organisation=organisation, actor=manager, kind="digitalisation", title=f"{prefix} plan")
    complete(plan, SimpleNamespace(manager=manager))
    plans.plan_submit(plan=plan, actor=manager)
    workflow.changes_request(subject=plan, actor=rep, reasons="Say who was consulted.")  # to answer
    plans.plan_review_due_set(
        plan=_final_plan(people, f"{prefix} final plan"), actor=manager, review_due=today + timedelta(days=20)
    )
    _sign(organisation, owner, framework, days_ago=350)  # to reaffirm
    ready_report(people, assessment, requested_by=owner)


def _page_items(html: str) -> int:
    return html.count("<tr data-kind=")


def test_the_count_the_page_and_the_api_list_the_same_items_of_every_kind(framework) -> None:
    person = UserFactory(email="olivia@two.example")
    acme = _organisation("Acme Castings", person, framework)
    bravo = _organisation("Bravo Foundry", person, framework)
    _everything(acme, framework, "Acme", owner=person)
    _everything(bravo, framework, "Bravo", owner=person)
    # A buyer's request to the person's address, and one to Bravo by name.
    buyer = Company("Alpha")
    supply.supplier_save(
        organisation=buyer.org, actor=buyer.owner, name="Olivia's", contact_name="", contact_email=person.email
    )
    supply.supplier_save(
        organisation=buyer.org, actor=buyer.owner, name="Bravo", contact_name="", contact_email="b@bravo.example"
    )
    campaign = start(buyer, depth=1)
    SupplierInvitation.objects.filter(campaign=campaign, email="b@bravo.example").update(
        target_key=f"org:{bravo.organisation.pk}"
    )
    # An invitation to join a third organisation.
    calder = OrganisationFactory(name="Calder Springs")
    calder_owner = UserFactory()
    add_member(calder, calder_owner, Role.OWNER)
    invitation_create(organisation=calder, actor=calder_owner, email=person.email, role=Role.MEMBER)

    # Another organisation's work, the person not a member: an owner there has all of it.
    elsewhere_owner = UserFactory()
    elsewhere = _organisation("Elsewhere Ltd", elsewhere_owner, framework)
    _everything(elsewhere, framework, "Elsewhere", owner=elsewhere_owner)
    # And an organisation where the person's auditor grant has ended, with an action still theirs.
    ended = _organisation("Ended Audit Ltd", UserFactory(), framework)
    _everything(ended, framework, "Ended", owner=ended.owner)
    add_member(ended.organisation, person, Role.AUDITOR, expires_at=timezone.now() - timedelta(days=1))
    with scopes_disabled():
        assert ActionItem.objects.filter(organisation=ended.organisation).update(owner=person) == 1

    memberships = memberships_of_user(person)
    items = awaiting_items(person, memberships)
    kinds = {i.kind for i in items}
    assert kinds == EVERY_KIND, kinds
    by_organisation = {o.name if o else None: {i.kind for i in group} for o, group in awaiting_by_organisation(items)}
    assert by_organisation == {
        None: {"supplier_request"},  # sent to the person's address
        "Acme Castings": EVERY_KIND - {"invitation", "supplier_request"},
        "Bravo Foundry": EVERY_KIND - {"invitation"},  # the buyer's request to Bravo by name
        "Calder Springs": {"invitation"},
    }
    assert not any("Elsewhere" in i.title or "Ended" in i.title for i in items)

    client = client_for(person)
    client.get("/your-work/")
    html = client.get("/your-work/").content.decode()
    assert f'class="header__badge">{len(items)}' in html
    assert f"{len(items)} items waiting for you." in html
    assert _page_items(html) == len(items) == awaiting_count(person, memberships)
    assert "Elsewhere" not in html and "Ended" not in html
    # The same count on any other page's navigation.
    other = client.get("/account/").content.decode()
    assert f'class="header__badge">{len(items)}' in other

    api = client.get("/api/v1/inbox/?page_size=100").json()
    assert len(api["results"]) == len(items) and api["next"] is None
    page_order = [(i.kind, i.title, i.action) for _o, group in awaiting_by_organisation(items) for i in group]
    assert [(r["kind"], r["title"], r["action"]) for r in api["results"]] == page_order
    assert not any("Elsewhere" in r["title"] or "Ended" in r["title"] for r in api["results"])
    # The API writes its rows without going through the serializer: they are exactly what it makes of them.
    today = timezone.localdate()
    rows = [_inbox_row(item, today) for item in items]
    renderer = JSONRenderer()
    assert renderer.render(rows) == renderer.render(InboxItemSerializer(rows, many=True).data)
