"""Autosave says so where the eye is: beside the field being edited, and once, politely, to screen
readers (issue 18, part 4)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from assessments import services
from portal.roles import Role
from tests.browser.steps import sign_in
from tests.factories import OrganisationFactory, UserFactory, add_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAVED = re.compile(r"^\s*Saved at \d{2}:\d{2} (GMT|BST)\s*$")
NEAR = 100  # px between the field's bottom edge and the status's top edge


def _gap_below(field: dict, status: dict) -> float:
    """How far below `field`'s bottom edge `status` starts (negative if it starts above it)."""
    return status["y"] - (field["y"] + field["height"])


def test_the_saved_status_appears_beside_the_field_being_edited(visitor_factory, framework) -> None:
    organisation = OrganisationFactory(name="Acme Precision")
    manager = UserFactory(email="mark.mensah@acme.example", full_name="Mark Mensah")
    add_member(organisation, manager, Role.MANAGER)
    assessment = services.assessment_create(
        organisation=organisation,
        actor=manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    visitor = visitor_factory()
    sign_in(visitor, manager.email)
    visitor.goto(f"/o/{organisation.slug}/assessments/{assessment.pk}/principles/1/")
    page = visitor.page
    criterion = page.locator("#criterion-1-1")
    narrative = criterion.get_by_label("What you do now, and how you know")
    status = criterion.locator(".autosave-status")
    live = criterion.locator("[aria-live]")
    expect(live).to_have_count(1)  # one polite live region per criterion: nothing is announced twice
    expect(live).to_have_attribute("aria-live", "polite")
    expect(status).to_have_attribute("aria-hidden", "true")
    expect(live).to_have_text("")

    with page.expect_response(lambda r: r.url.endswith("/autosave/") and r.request.method == "POST") as saved:
        narrative.type("We brief the whole workforce before every investment decision.")
    assert saved.value.status == 200
    expect(status).to_have_text(SAVED)
    expect(status).to_be_visible()
    expect(live).to_have_text(SAVED)
    field, shown = narrative.bounding_box(), status.bounding_box()
    assert field and shown
    assert 0 <= _gap_below(field, shown) <= NEAR, (field, shown)
    assert shown["x"] < field["x"] + field["width"] and field["x"] < shown["x"] + shown["width"], (field, shown)
    visitor.check()

    # Choosing a level: the status moves to the levels, still one copy, still heard once.
    radios = criterion.locator("fieldset", has=page.get_by_role("radio", name="2 – In progress"))
    with page.expect_response(lambda r: r.url.endswith("/autosave/") and r.request.method == "POST"):
        criterion.get_by_label("2 – In progress").check()
    expect(status).to_have_count(1)
    expect(status).to_have_text(SAVED)
    expect(live).to_have_text(SAVED)
    levels, shown = radios.bounding_box(), status.bounding_box()
    assert levels and shown
    assert 0 <= _gap_below(levels, shown) <= NEAR, (levels, shown)
    assert shown["y"] < narrative.bounding_box()["y"]  # above the narrative now, beside what was edited
