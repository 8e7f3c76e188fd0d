"""The signing page's decision, in a real browser: each decision shows only the box that goes with it
(GOV.UK's conditional reveal), and with JavaScript off both boxes show and the server still asks for the
right one. axe-core checks the page (Visitor.check)."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from assessments import services
from tests.assessments.conftest import responses_by_code
from tests.browser import steps
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sign_path(tenant, framework) -> str:
    assessment = services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=tenant.manager, maturity=1, narrative="Some", evidence_ids=[])
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    return f"/o/{tenant.organisation.slug}/review/assessment/{assessment.pk}/sign/"


def _boxes(page):
    return page.get_by_label("Your reservations"), page.get_by_label("Your reasons for declining")


def test_each_decision_shows_only_its_own_box(visitor_factory, tenant, sign_path) -> None:
    visitor = visitor_factory()
    steps.sign_in(visitor, tenant.rep.email)
    visitor.goto(sign_path)
    page = visitor.page
    reservations, reasons = _boxes(page)
    # Nothing chosen yet: neither box.
    expect(reservations).to_be_hidden()
    expect(reasons).to_be_hidden()

    with_reservations = page.get_by_label("Sign with reservations")
    with_reservations.check()
    expect(reservations).to_be_visible()
    expect(reasons).to_be_hidden()
    expect(with_reservations).to_have_attribute("aria-controls", "conditional-reservations")
    visitor.check()  # axe-core with a box revealed

    page.get_by_label("Decline to sign").check()
    expect(reasons).to_be_visible()
    expect(reservations).to_be_hidden()

    page.get_by_label("Sign", exact=True).check()
    expect(reservations).to_be_hidden()
    expect(reasons).to_be_hidden()

    # Refused without reasons: the page comes back with "Decline" chosen and its box open at the error.
    page.get_by_label("Decline to sign").check()
    steps.submit_refused(visitor, "Record my decision for the workforce")
    expect(page.get_by_label("Decline to sign")).to_be_checked()
    expect(reasons).to_be_visible()
    expect(reservations).to_be_hidden()
    expect(page.locator("#conditional-reasons")).to_contain_text("Give your reasons for declining")


def test_without_javascript_both_boxes_show_and_work(browser, live_server, tenant, sign_path) -> None:
    # axe-core runs as page script, so this page is not checked by Visitor (it is, with JavaScript, above).
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", java_script_enabled=False)
    try:
        page = context.new_page()

        def submit(button: str, status: int) -> None:
            with page.expect_navigation() as navigation:
                page.get_by_role("button", name=button).click()
            assert navigation.value is not None and navigation.value.status == status

        page.goto(live_server.url + "/accounts/login/")
        page.get_by_label("Email").fill(tenant.rep.email)
        page.get_by_label("Password").fill(PASSWORD)
        submit("Sign in", 200)
        page.goto(live_server.url + sign_path)
        reservations, reasons = _boxes(page)
        expect(reservations).to_be_visible()
        expect(reasons).to_be_visible()
        page.get_by_label("Sign with reservations").check()
        expect(reasons).to_be_visible()  # nothing hides it without JavaScript
        submit("Record my decision for the workforce", 400)
        expect(page.locator(".error-summary")).to_contain_text("Write down your reservations")
        expect(reasons).to_be_visible()
        reservations.fill("Overtime must stay voluntary.")
        submit("Record my decision for the workforce", 200)
        expect(page.locator("main")).to_contain_text("Your signature is recorded.")
        expect(page.locator("main")).to_contain_text("Overtime must stay voluntary.")
    finally:
        context.close()
