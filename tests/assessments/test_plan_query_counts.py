"""Plan pages run a fixed number of queries whatever the number of plans, versions, meetings, comments,
citations, members or signatures, and none runs more than the budget (tests/querycount.py)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.utils import timezone
from django_scopes import scope

from assessments import plans, services, workflow
from assessments.models import Characteristic, ConsultationMeeting, Impact
from portal.models import SignatureDecision
from portal.roles import Role
from tests.assessments.conftest import PDF
from tests.assessments.test_plans import sign
from tests.conftest import client_for
from tests.factories import UserFactory, add_member
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(tenant):
    return _complete_plan(tenant, "Cobots")


def _complete_plan(tenant, title: str):
    plan = plans.plan_create(organisation=tenant.organisation, actor=tenant.manager, kind="digitalisation", title=title)
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
        for section in ("skills", "consultation", "equality"):
            top = workflow.comment_add(subject=plan, author=tenant.rep, anchor=section, body=f"c{i}")
            workflow.comment_add(subject=plan, author=tenant.manager, anchor=section, body="r", parent=top)
        # Members (EqIA owners, representatives to notify) and other plans (the list).
        add_member(tenant.organisation, UserFactory(), Role.MEMBER)
        add_member(tenant.organisation, UserFactory(), Role.WORKFORCE_REP)
        plans.plan_create(organisation=tenant.organisation, actor=tenant.manager, kind="retraining", title=f"P{i}-{n}")


def _count(client, url: str, expected: int, label: str) -> None:
    client.get(url)  # the first request of a session records it (allauth usersessions)
    with assert_queries(expected, label):
        response = client.get(url)
    assert response.status_code == 200, label


def _meeting(plan) -> ConsultationMeeting:
    with scope(organisation=plan.organisation):
        return plan.meetings.order_by("held_on").first()


# Every tenant page pays 4 (see tests/portal/test_query_counts.py): the user; the user's memberships
# with their organisations; the "Your work" count. Then the page's own reads.
# {p}: the plan, {m}: one of its meetings.
PAGES = {
    # + the organisation's plans
    "plans/": 4,
    "plans/new/": 3,
    # + every version of the plan (the plan among them, with its EqIA, people and open comments
    # counted); its contents (meetings, EqIA rows with owners, cited evidence), which serve the
    # problems, the snapshot and the meeting count; signatures, change requests, action items
    "plans/{p}/": 10,
    # + the plan, the evidence library, the cited evidence, the section's comments with their replies
    "plans/{p}/sections/technology/": 7,
    # ... and the meetings
    "plans/{p}/sections/consultation/": 8,
    "plans/{p}/sections/health_safety/": 7,
    "plans/{p}/sections/skills/": 7,
    "plans/{p}/sections/data/": 7,
    "plans/{p}/sections/jobs/": 7,
    # + the plan, the members who may own a row, the rows, the section's comments with their replies
    "plans/{p}/equality/": 7,
    # + the plan
    "plans/{p}/meetings/new/": 4,
    # + the plan, the meeting
    "plans/{p}/meetings/{m}/delete/": 5,
    # + the plan, problems (EqIA rows), the representatives, the meeting count
    "plans/{p}/submit/": 7,
}


@pytest.mark.parametrize("path", PAGES)
def test_plan_pages_do_not_grow_with_data(tenant, plan, path) -> None:
    client = client_for(tenant.manager)
    _grow(tenant, plan, 1)
    url = f"/o/{tenant.organisation.slug}/" + path.format(p=plan.pk, m=_meeting(plan).pk if "{m}" in path else "")
    _count(client, url, PAGES[path], path)
    _grow(tenant, plan, 6)
    _count(client, url, PAGES[path], path)


def _final(tenant, plan):
    plans.plan_submit(plan=plan, actor=tenant.manager)
    sign(plan, tenant.rep)
    sign(plan, tenant.manager)
    return plan


# A final version 1 and a draft version 2 growing ({v1}, {v2}).
VERSION_PAGES = {
    # + the plan, every version of it (each with its EqIA and organisation), the contents of the two
    # compared (meetings, EqIA rows with owners, cited evidence: one query each for both)
    "plans/{v2}/changes/": 8,
    "plans/{v2}/changes/?against=1": 8,
    # the same, version 1 against version 2
    "plans/{v1}/changes/?against=2": 8,
    # + the plan
    "plans/{v1}/amend/": 4,
    # as the plan page above
    "plans/{v1}/": 10,
    "plans/{v2}/": 10,
}


@pytest.mark.parametrize("path", VERSION_PAGES)
def test_version_pages_do_not_grow_with_data(tenant, plan, path) -> None:
    _grow(tenant, plan, 1)
    v1 = _final(tenant, plan)
    v2 = plans.plan_amend(plan=v1, actor=tenant.manager)
    client = client_for(tenant.manager)
    url = f"/o/{tenant.organisation.slug}/" + path.format(v1=v1.pk, v2=v2.pk)
    _grow(tenant, v2, 1)
    _count(client, url, VERSION_PAGES[path], path)
    _grow(tenant, v2, 6)
    _count(client, url, VERSION_PAGES[path], path)


def test_plan_review_pages_do_not_grow_with_signatures_or_comments(tenant, plan) -> None:
    _grow(tenant, plan, 1)
    plans.plan_submit(plan=plan, actor=tenant.manager)
    base = f"/o/{tenant.organisation.slug}/"
    rep = client_for(tenant.rep)
    pages = {
        # + the plan, its snapshot (meetings, EqIA rows with owners, cited evidence)
        f"{base}review/plan/{plan.pk}/sign/": 7,
        # + the plan, the rep's own signature this round (said if requesting changes undoes it)
        f"{base}review/plan/{plan.pk}/request-changes/": 5,
        # as in PAGES
        f"{base}plans/{plan.pk}/": 10,
    }
    for url, expected in pages.items():
        _count(rep, url, expected, url)
    for i in range(4):  # more management signatures (each manager signs once), more comments
        manager = UserFactory()
        add_member(tenant.organisation, manager, Role.MANAGER)
        with scope(organisation=tenant.organisation):
            plan.refresh_from_db()
        if i % 2:
            sign(plan, manager)
        else:
            sign(plan, manager, SignatureDecision.SIGN_WITH_RESERVATIONS, reservations=f"Reservation {i}")
        workflow.comment_add(subject=plan, author=tenant.rep, anchor="skills", body=f"more {i}")
    for url, expected in pages.items():
        _count(rep, url, expected, url)


# An auditor's page pays the base 3 and 2 for the
# record of the visit in the audit trail (the chain head moved on, the event written). Auditors see
# final plans: a small one and a larger one are compared.
AUDITOR_PAGES = {
    # + the organisation's plans
    "plans/": 6,
    # + as a manager's plan page (7)
    "plans/{p}/": 12,
    # + the plan, the cited evidence, the meetings, the section's comments with their replies
    "plans/{p}/sections/consultation/": 9,
    # + the plan, the members who may own a row, the rows, the section's comments with their replies
    "plans/{p}/equality/": 9,
}


@pytest.mark.parametrize("path", AUDITOR_PAGES)
def test_auditor_plan_pages_stay_within_budget(tenant, plan, path) -> None:
    client = client_for(tenant.auditor)
    _grow(tenant, plan, 1)
    small = _final(tenant, plan)
    large = _complete_plan(tenant, "Vision inspection")
    _grow(tenant, large, 5)
    large = _final(tenant, large)
    for final in (small, large):
        url = f"/o/{tenant.organisation.slug}/" + path.format(p=final.pk)
        _count(client, url, AUDITOR_PAGES[path], f"auditor {path}")
