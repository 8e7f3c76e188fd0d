"""The pages issue 16 added run a fixed number of queries, within the budget (tests/querycount.py),
whatever the amount of data: each is measured, the data it lists or looks at is grown, and it is
measured again.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from assessments import plans, services
from portal.notifications import KINDS, notify, set_preference
from portal.roles import Role
from tests.assessments.test_plans import new_plan, sign, submitted
from tests.assessments.test_recurrence import files, final  # noqa: F401 - fixtures
from tests.conftest import client_for
from tests.factories import UserFactory, add_member
from tests.principles.test_reaffirm import _sign
from tests.querycount import MAX_QUERIES, counting
from tests.supplychain.test_repeat import Company, _start, world  # noqa: F401 - world is a fixture

pytestmark = pytest.mark.django_db


def _queries(client: Client, url: str) -> int:
    client.get(url)  # the first request of a session records it (allauth usersessions)
    with counting() as counted:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert len(counted) <= MAX_QUERIES, f"{url}: {len(counted)} queries\n{counted.listing()}"
    return len(counted)


def test_notification_settings_page(tenant) -> None:
    client = client_for(tenant.rep)
    before = _queries(client, "/account/notifications/")
    for key in KINDS:
        set_preference(user=tenant.rep, kind=key, delivery="off")
    for i in range(30):
        notify(
            kind="comment",
            recipients=[tenant.rep],
            organisation=tenant.organisation,
            actor=tenant.owner,
            text=f"Comment {i}",
            url="/your-work/",
            key=f"grow:{i}",
        )
    assert _queries(client, "/account/notifications/") == before


def test_next_cycle_check_page(tenant, framework, final) -> None:  # noqa: F811
    client = client_for(tenant.manager)
    url = f"/o/{tenant.organisation.slug}/assessments/{final.pk}/next/"
    before = _queries(client, url)
    for year in (2027, 2028):  # assessments in progress, which the page warns of
        services.assessment_create(
            organisation=tenant.organisation,
            actor=tenant.manager,
            framework=framework,
            title=f"Blank {year}",
            period_start=date(year, 1, 1),
            period_end=date(year, 12, 31),
        )
    assert _queries(client, url) == before


def test_plan_review_date_page(tenant) -> None:
    def final_plan(title: str):
        plan = submitted(new_plan(tenant, title), tenant)
        sign(plan, tenant.rep)
        sign(plan, tenant.owner)
        return plan

    plan = final_plan("Cobots on line 3")
    client = client_for(tenant.manager)
    url = f"/o/{tenant.organisation.slug}/plans/{plan.pk}/review-date/"
    before = _queries(client, url)
    for i in range(3):
        other = final_plan(f"Vision system {i}")
        plans.plan_review_due_set(plan=other, actor=tenant.owner, review_due=timezone.localdate() + timedelta(days=5))
    assert _queries(client, url) == before


def test_commitment_reaffirm_page(tenant, framework) -> None:
    _sign(tenant.organisation, tenant.owner, framework, days_ago=340)
    client = client_for(tenant.owner)
    url = f"/o/{tenant.organisation.slug}/commitment/reaffirm/"
    before = _queries(client, url)
    for _ in range(3):
        add_member(tenant.organisation, UserFactory(), Role.OWNER)
    assert _queries(client, url) == before


def test_campaign_repeat_check_page(world) -> None:  # noqa: F811
    alpha, _bravo, _mallory, _delta, first = world
    slug = alpha.org.slug
    owner = client_for(alpha.owner)

    def check_page(campaign) -> int:
        response = owner.get(f"/o/{slug}/supply-chain/campaigns/{campaign.pk}/repeat/")
        assert response.status_code == 302
        return _queries(owner, response["Location"])

    two_suppliers = check_page(first)
    more = [Company(f"Supplier {i}") for i in range(4)]
    bigger = _start(alpha, list(alpha.lists(*more)), depth=1)
    for company in more:
        company.accept(bigger)
    assert check_page(bigger) == two_suppliers
