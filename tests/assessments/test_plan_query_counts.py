"""Plan pages run a fixed number of queries whatever the number of meetings, comments, citations
or signatures."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.utils import timezone
from django_scopes import scope

from assessments import plans, services, workflow
from assessments.models import Characteristic, Impact
from tests.assessments.conftest import PDF
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(tenant):
    plan = plans.plan_create(
        organisation=tenant.organisation, actor=tenant.manager, kind="digitalisation", title="Cobots"
    )
    for section, values in {
        "technology": {"technology": "Cobots", "rationale": "Strain"},
        "consultation": {"shared_on": date(2026, 3, 1), "information_disclosed": "All"},
        "health_safety": {"hse_impact": "Less lifting"},
        "skills": {"retraining_who": "Operators", "retraining_how": "Course"},
        "data": {"data_collected": "Logs", "data_purpose": "Maintenance"},
        "jobs": {"jobs_affected": "None lost"},
    }.items():
        plans.plan_update_section(plan=plan, actor=tenant.manager, section=section, values=values)
    plans.eqia_save(
        plan=plan,
        actor=tenant.manager,
        outcome="no_major_change",
        justification="",
        rows=[plans.EqiaRowInput(c, Impact.NEUTRAL, "", "", None) for c in Characteristic.values],
    )
    return plan


def _grow(tenant, plan, n: int) -> None:
    for i in range(n):
        evidence = services.evidence_upload(
            organisation=tenant.organisation,
            actor=tenant.manager,
            file=io.BytesIO(PDF),
            name=f"e{i}-{n}.pdf",
            description="x",
            effective_date=timezone.localdate(),
            expiry_date=None,
        )
        plans.meeting_add(
            plan=plan, actor=tenant.manager, held_on=date(2026, 3, 1 + i % 20), participants=f"p{i}", notes=""
        )
        with scope(organisation=tenant.organisation):
            cited = [c.evidence_id for c in plan.citations.all()]
        plans.plan_update_section(
            plan=plan,
            actor=tenant.manager,
            section="technology",
            values={"technology": f"Cobots {i}"},
            evidence_ids=[*cited, evidence.pk],
        )
        for section in ("skills", "equality"):
            top = workflow.comment_add(subject=plan, author=tenant.rep, anchor=section, body=f"c{i}")
            workflow.comment_add(subject=plan, author=tenant.manager, anchor=section, body="r", parent=top)


# base of a tenant page: 10 (see tests/portal/test_query_counts.py)
PAGES = {
    # plan (with eqia), problems (eqia rows), snapshot (meetings, eqia rows, citations), versions,
    # signatures, comments + replies, change requests, action items, the section tags' eqia rows
    "": 22,
    # plan, citations, library, comments + replies
    "sections/skills/": 15,
    # ... and the meetings
    "sections/consultation/": 16,
    # plan, members, rows, comments + replies
    "equality/": 15,
}


@pytest.mark.parametrize("path", PAGES)
def test_plan_pages_do_not_grow_with_data(tenant, plan, django_assert_num_queries, path) -> None:
    url = f"/o/{tenant.organisation.slug}/plans/{plan.pk}/{path}"
    client = client_for(tenant.manager)
    _grow(tenant, plan, 1)
    client.get(url)
    with django_assert_num_queries(PAGES[path]):
        assert client.get(url).status_code == 200
    _grow(tenant, plan, 6)
    with django_assert_num_queries(PAGES[path]):
        assert client.get(url).status_code == 200


def test_plan_signing_page_query_count_does_not_grow(tenant, plan, django_assert_num_queries) -> None:
    _grow(tenant, plan, 1)
    plans.plan_submit(plan=plan, actor=tenant.manager)
    url = f"/o/{tenant.organisation.slug}/review/plan/{plan.pk}/sign/"
    client = client_for(tenant.rep)
    client.get(url)
    # base 10 + plan, snapshot (meetings, eqia rows, citations)
    with django_assert_num_queries(14):
        client.get(url)
    _grow(tenant, plan, 0)
    with scope(organisation=tenant.organisation):
        plan.refresh_from_db()
    workflow.comment_add(subject=plan, author=tenant.rep, anchor="skills", body="more")
    with django_assert_num_queries(14):
        client.get(url)
