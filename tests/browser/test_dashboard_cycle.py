"""A manager signs in and lands on the dashboard: the current draft first with its next step, the last
final results below; a new organisation's owner sees the getting-started list. Both pages pass axe.
Set DASHBOARD_SCREENSHOTS=<dir> to keep screenshots of both at 1280 px."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from assessments import services as assessment_services
from portal.roles import Role
from tests.assessments.test_plans import new_plan
from tests.browser.steps import sign_in, submit_refused
from tests.conftest import Tenant
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.reports.conftest import make_final, responses_by_code, upload_evidence

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(visitor, name: str) -> None:
    folder = os.environ.get("DASHBOARD_SCREENSHOTS")
    if folder:
        visitor.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _tenant() -> Tenant:
    organisation = OrganisationFactory(name="Acme Precision Engineering")
    people = {}
    for role in Role:
        people[role.value] = UserFactory(email=f"{role.value.replace('_', '.')}@acme.example")
        add_member(organisation, people[role.value], role)
    return Tenant(
        organisation=organisation,
        owner=people["owner"],
        manager=people["manager"],
        rep=people["workforce_rep"],
        auditor=people["auditor"],
        member=people["member"],
    )


def test_a_manager_lands_on_the_current_draft_and_follows_its_next_step(visitor_factory, framework) -> None:
    tenant = _tenant()
    final = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    make_final(tenant, final, upload_evidence(tenant))
    draft = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2027",
        period_start=date(2027, 1, 1),
        period_end=date(2027, 12, 31),
    )
    for code, response in responses_by_code(draft).items():
        if code.startswith("1.") or code == "2.1":
            assessment_services.response_save(
                response=response, actor=tenant.manager, maturity=2, narrative="", evidence_ids=[]
            )
    new_plan(tenant, "Cobots on line 3")

    manager = visitor_factory()
    sign_in(manager, tenant.manager.email)
    manager.goto(f"/o/{tenant.organisation.slug}/")
    _shot(manager, "dashboard-manager")
    page = manager.page
    current = page.locator("section", has=page.get_by_role("heading", name="Current work"))
    assert "Self-assessment 2027" in current.inner_text() and "Self-assessment 2026" not in current.inner_text()
    results = page.locator(
        "section", has=page.get_by_role("heading", name="Results of your last final self-assessment")
    )
    assert "Self-assessment 2026" in results.inner_text()
    with page.expect_navigation():
        current.get_by_role("link", name="Continue principle 2 of 6", exact=False).click()
    assert page.url.endswith(f"/assessments/{draft.pk}/principles/2/"), page.url


def test_a_new_organisations_owner_sees_the_getting_started_list(visitor_factory, framework) -> None:
    organisation = OrganisationFactory(name="Newco Fabrication")
    owner = UserFactory(email="owner@newco.example", full_name="Olive Owner")
    add_member(organisation, owner, Role.OWNER)
    visitor = visitor_factory()
    sign_in(visitor, owner.email)
    visitor.goto(f"/o/{organisation.slug}/")
    _shot(visitor, "dashboard-new-organisation")
    steps = visitor.page.locator("#getting-started-title + p + ol > li")
    assert steps.count() == 6
    with visitor.page.expect_navigation():
        visitor.page.get_by_role("link", name="2. Invite a workforce representative").click()
    assert visitor.page.get_by_label("Workforce representative").is_checked()


def test_a_manager_starts_next_years_assessment_confirms_an_answer_and_sets_a_plan_review_date(
    visitor_factory, framework
) -> None:
    """Issue 16 part 5 in the browser: every page on the way passes axe."""
    from datetime import timedelta

    from django.utils import timezone

    from assessments import plans
    from tests.assessments.test_plans import sign, submitted

    tenant = _tenant()
    final = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    make_final(tenant, final, upload_evidence(tenant))
    plan = submitted(new_plan(tenant, "Cobots on line 3"), tenant)
    sign(plan, tenant.rep)
    sign(plan, tenant.owner)
    plan.refresh_from_db()
    plans.plan_review_due_set(plan=plan, actor=tenant.owner, review_due=timezone.localdate() + timedelta(days=10))

    manager = visitor_factory()
    sign_in(manager, tenant.manager.email)
    page = manager.page
    manager.goto(f"/o/{tenant.organisation.slug}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Start the 2027 self-assessment").click()
    manager.check()
    assert "What is carried over" in page.content()
    manager.submit("Start the self-assessment")
    assert "are waiting: confirm or change each one" in page.content()
    with page.expect_navigation():
        page.get_by_role("link", name="1. ", exact=False).first.click()
    manager.check()
    tags = page.get_by_text("Carried over: confirm or change", exact=True)
    before = tags.count()
    assert before > 1
    manager.submit("Confirm the answer to 1.1")
    assert page.get_by_text("Carried over: confirm or change", exact=True).count() == before - 1
    assert "The answer to 1.1 has been confirmed." in page.content()

    # The plan due for review is on Your work; its review date can be changed, with errors shown.
    manager.goto("/your-work/")
    assert "Review the plan" in page.content()
    manager.goto(f"/o/{tenant.organisation.slug}/plans/")
    manager.goto(f"/o/{tenant.organisation.slug}/plans/{plan.pk}/review-date/")
    page.get_by_label("Review date").fill("2020-01-01")
    submit_refused(manager, "Save the review date")
    assert page.title().startswith("Error:") and "today or in the future" in page.content()
    page.get_by_label("Review date").fill((timezone.localdate() + timedelta(days=200)).isoformat())
    manager.submit("Save the review date")
    assert "The plan will be due for review on" in page.content()
