"""The commitment-to-review journey, in a real browser: the owner signs the commitment; a manager
uploads evidence, fills all six principles (autosave seen to work), fixes what stops submission,
and sends the self-assessment for workforce review; the representative is emailed. axe-core checks
every page on the way (Visitor.check)."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from portal.roles import Role
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, add_member
from tests.sample_files import pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REP_EMAIL = "rachel.reid@acme.example"
PDF_NAME = "consultation-minutes.pdf"
PDF_DESCRIPTION = "Minutes of the joint consultation meeting, 4 March 2026"
MINIMAL_PDF = pdf(page=(612, 792))
WEB_PAGE = b"<!DOCTYPE html><html><head><title>Minutes</title></head><body><script>alert(1)</script></body></html>"
ESTABLISHED = "3 – Established"
IN_PROGRESS = "2 – In progress"
# The htmx reply; a page load says "Last saved 4 March 2026, 14:03 GMT".
AUTOSAVED = re.compile(r"^\s*Saved at \d{2}:\d{2} (GMT|BST)\s*$")


@pytest.fixture
def acme(framework):
    # A short name keeps the email's Subject header on one line: tests/worker.py reads the worker's
    # email files without unfolding long headers, so a folded subject would not match.
    organisation = OrganisationFactory(name="Acme Precision")
    owner = UserFactory(email="olivia.owen@acme.example", full_name="Olivia Owen")
    manager = UserFactory(email="mark.mensah@acme.example", full_name="Mark Mensah")
    rep = UserFactory(email=REP_EMAIL, full_name="Rachel Reid")
    add_member(organisation, owner, Role.OWNER)
    add_member(organisation, manager, Role.MANAGER)
    add_member(organisation, rep, Role.WORKFORCE_REP)
    return organisation, owner, manager


# --- Helpers -------------------------------------------------------------------------------------


def _sign_in(visitor, email: str) -> None:
    visitor.goto("/accounts/login/")
    visitor.page.get_by_label("Email").fill(email)
    visitor.page.get_by_label("Password").fill(PASSWORD)
    visitor.submit("Sign in")


def _follow(visitor, name: str | re.Pattern[str], *, within: Locator | None = None) -> None:
    """Click a link (the first of that name) and check the page it leads to."""
    with visitor.page.expect_navigation():
        (within or visitor.page).get_by_role("link", name=name).first.click()
    visitor.check()


def _nav(visitor, name: str) -> None:
    _follow(visitor, name, within=visitor.page.get_by_role("navigation", name="Main"))


def _criteria(page: Page) -> Locator:
    return page.locator("section.criterion")


def _criterion(page: Page, code: str) -> Locator:
    return page.locator(f"#criterion-{code.replace('.', '-')}")


def _is_autosave(response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/autosave/")


def _autosaved(page: Page, action) -> None:
    """Do something to a criterion's field and wait for htmx to save it (no button pressed)."""
    with page.expect_response(_is_autosave, timeout=10_000) as saved:
        action()
    assert saved.value.status == 200, saved.value.text()


def _answer_principle(visitor, level: str, *, then: str) -> None:
    """Choose `level` for every unanswered criterion on the page, then press the `then` button."""
    page = visitor.page
    for section in _criteria(page).all():
        if not section.locator("input[type=radio]:checked").count():
            _autosaved(page, section.get_by_label(level).check)
            expect(section.locator(".autosave-status")).to_have_text(AUTOSAVED)
    visitor.submit(then)


def _click_button(visitor, name: str) -> None:
    with visitor.page.expect_navigation():
        visitor.page.get_by_role("button", name=name, exact=True).click()
    visitor.check()


def _statuses(page: Page) -> list[str]:
    return [s.strip() for s in page.locator(".task-list__status").all_inner_texts()]


# --- The journey ---------------------------------------------------------------------------------


def _owner_signs_the_commitment(visitor) -> str:
    page = visitor.page
    panel = page.locator("section", has=page.locator("#commitment-panel-title"))
    expect(panel).to_contain_text("Not signed")
    _follow(visitor, "Sign the commitment", within=panel)
    page.get_by_label("Your full name").fill("Olivia Owen")
    page.get_by_label("Job title").fill("Managing Director")
    page.get_by_label("We will extend these principles to our supply chain").check()
    visitor.submit("Continue")

    expect(page.get_by_role("heading", level=1)).to_have_text("Check what you are signing")
    expect(page.locator(".inset-text")).to_contain_text("extend these principles to our supply chain")
    fingerprint = page.locator(".mono").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint), fingerprint
    visitor.submit("Sign the commitment")

    assert page.url.endswith("/commitment/")
    expect(page.locator("main")).to_contain_text("is committed to the Made Smarter Guiding Principles")
    expect(page.locator("main .tag").first).to_have_text("Signed")
    assert page.locator(".mono").inner_text().strip() == fingerprint
    expect(page.locator(".summary-list").first).to_contain_text("Olivia Owen, Managing Director")
    return fingerprint


def _manager_uploads_evidence(visitor, tmp_path) -> None:
    page = visitor.page
    _nav(visitor, "Evidence")
    _follow(visitor, "Upload evidence")

    # A web page renamed .pdf is refused by its content, and what was typed is kept.
    disguised = tmp_path / "minutes.pdf"
    disguised.write_bytes(WEB_PAGE)
    page.get_by_label("File", exact=True).set_input_files(disguised)
    page.get_by_label("Description").fill(PDF_DESCRIPTION)
    page.get_by_label("Effective date").fill("2026-03-04")
    visitor.submit("Upload")
    assert page.title().startswith("Error:")
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("looks like a web page or a script")
    expect(summary).to_be_focused()
    expect(page.locator("#id_file_error")).to_contain_text("looks like a web page or a script")
    expect(page.get_by_label("Description")).to_have_value(PDF_DESCRIPTION)
    expect(page.get_by_label("Effective date")).to_have_value("2026-03-04")

    real = tmp_path / PDF_NAME
    real.write_bytes(MINIMAL_PDF)
    page.get_by_label("File", exact=True).set_input_files(real)
    visitor.submit("Upload")
    assert page.url.endswith("/evidence/")
    expect(page.locator("main")).to_contain_text(f"{PDF_NAME} has been added to the evidence library.")
    row = page.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(PDF_DESCRIPTION)


def _manager_starts_an_assessment(visitor) -> str:
    page = visitor.page
    _nav(visitor, "Self-assessment")
    _follow(visitor, "Start a self-assessment")
    year = timezone.localdate().year
    title = page.get_by_label("Title").input_value()
    assert title == f"Self-assessment {year}"
    # The calendar year is offered and the browser keeps it (dates are rendered as yyyy-mm-dd).
    assert page.get_by_label("Period start").input_value() == f"{year}-01-01"
    assert page.get_by_label("Period end").input_value() == f"{year}-12-31"
    visitor.submit("Start assessment")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    assert _statuses(page) == ["Not started"] * 6
    return title


def _autosave_is_seen_to_work(visitor) -> None:
    page = visitor.page
    _follow(visitor, "1. Partnership at Work")
    first = _criterion(page, "1.1")
    status = first.locator(".autosave-status")
    expect(status).to_have_text("")

    # Choosing a level saves it: no button is pressed.
    first.locator("label", has_text=ESTABLISHED).click()
    expect(status).to_contain_text("Saved", timeout=10_000)
    expect(status).to_have_text(AUTOSAVED)
    visitor.check()
    # Typing saves too, once the typing stops.
    narrative = "We brief the whole workforce on every technology plan before the investment decision."
    _autosaved(page, lambda: first.get_by_label("What you do now, and how you know").fill(narrative))

    page.reload()
    visitor.check()
    first = _criterion(page, "1.1")
    expect(first.get_by_label(ESTABLISHED)).to_be_checked()
    expect(first.get_by_label("What you do now, and how you know")).to_have_value(narrative)
    expect(first.locator(".autosave-status")).to_contain_text(
        re.compile(r"^Last saved \d{1,2} \w+ \d{4}, \d{2}:\d{2} (GMT|BST)$")
    )


def _manager_fills_every_principle(visitor, title: str) -> None:
    page = visitor.page
    for number in range(1, 7):
        expect(page.locator(".caption-l")).to_have_text(f"Principle {number} of 6")
        expect(_criteria(page)).to_have_count(6)
        _answer_principle(visitor, IN_PROGRESS, then="Save and continue" if number < 6 else "Save and finish")
    # "Save and finish" leads back to the overview. 1.1 is at level 3 with no evidence cited yet.
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("main")).to_contain_text("36 of 36 criteria answered")
    expect(page.locator("main")).to_contain_text("1 criterion needs evidence.")
    assert _statuses(page) == ["In progress"] + ["Completed"] * 5


def _manager_fixes_the_problem_and_submits(visitor, title: str) -> None:
    page = visitor.page
    _follow(visitor, "Check and send for review")
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("1 thing to fix before sending")
    problems = summary.get_by_role("listitem")
    expect(problems).to_have_count(1)
    expect(problems).to_contain_text("1.1")
    expect(problems).to_contain_text("cite evidence for maturity 3")
    expect(page.get_by_role("button", name="Send for workforce review")).to_have_count(0)

    # The error links to the criterion's evidence, which says what is wrong there.
    _follow(visitor, re.compile("cite evidence for maturity 3"), within=summary)
    assert re.search(r"/principles/1/\?check=1#r-[0-9a-f-]{36}-evidence$", page.url), page.url
    first = _criterion(page, "1.1")
    error = first.locator(".form-group--error .error-message")
    expect(error).to_have_text("Error: Cite evidence for maturity 3, or lower the level")
    expect(error).to_be_in_viewport()
    evidence = first.get_by_label(PDF_NAME)
    _autosaved(page, evidence.check)
    _click_button(visitor, "Save")
    expect(page.locator("main")).to_contain_text("Your answers for Partnership at Work have been saved.")
    expect(_criterion(page, "1.1").get_by_label(PDF_NAME)).to_be_checked()

    _follow(visitor, f"Back to {title}")
    assert _statuses(page) == ["Completed"] * 6
    _follow(visitor, "Check and send for review")
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(page.locator("main")).to_contain_text(f"Rachel Reid ({REP_EMAIL})")
    visitor.submit("Send for workforce review")

    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("main")).to_contain_text(
        "has been sent for workforce review. 1 representative has been emailed."
    )
    expect(page.locator("main .tag", has_text="In workforce review")).to_be_visible()
    expect(page.get_by_role("link", name="Check and send for review")).to_have_count(0)

    # Now it is read-only.
    _follow(visitor, "1. Partnership at Work")
    expect(page.locator("main")).to_contain_text("This assessment is in workforce review, so it cannot be edited.")
    expect(page.locator("main .criterion-fields, main input[type=radio], main input[type=checkbox]")).to_have_count(0)
    expect(page.locator("[hx-post]")).to_have_count(0)
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(_criterion(page, "1.1")).to_contain_text(ESTABLISHED)
    expect(_criterion(page, "1.1")).to_contain_text(PDF_NAME)


def test_commitment_evidence_assessment_and_review_request(visitor_factory, acme, mailbox, tmp_path) -> None:
    organisation, owner, manager = acme

    owner_visitor = visitor_factory()
    _sign_in(owner_visitor, owner.email)
    assert owner_visitor.page.url.endswith(f"/o/{organisation.slug}/")
    fingerprint = _owner_signs_the_commitment(owner_visitor)

    visitor = visitor_factory()
    _sign_in(visitor, manager.email)
    # The manager sees the signed commitment, and cannot sign or withdraw it.
    expect(visitor.page.locator("main")).to_contain_text("Signed by Olivia Owen")
    _nav(visitor, "Commitment")
    assert visitor.page.locator(".mono").inner_text().strip() == fingerprint
    expect(visitor.page.get_by_role("link", name="Withdraw the commitment")).to_have_count(0)

    _manager_uploads_evidence(visitor, tmp_path)
    title = _manager_starts_an_assessment(visitor)
    overview_path = re.sub(r"^https?://[^/]+", "", visitor.page.url)
    assert re.fullmatch(rf"/o/{organisation.slug}/assessments/[0-9a-f-]{{36}}/", overview_path), overview_path
    _autosave_is_seen_to_work(visitor)
    _manager_fills_every_principle(visitor, title)
    _manager_fixes_the_problem_and_submits(visitor, title)

    email = mailbox.wait_for(REP_EMAIL, containing="ready for your review")
    assert " ".join(email.subject.split()) == f"{organisation.name}: {title} is ready for your review"
    assert "Hello Rachel Reid" in email.text
    assert f'Mark Mensah has sent "{title}" for workforce review' in email.text
    assert f"It covers 1 January {timezone.localdate().year} to 31 December" in email.text
    assert overview_path in email.text

    # Every page of the journey was checked by axe-core, none with a console error.
    assert len(owner_visitor.checked) >= 5
    assert len(visitor.checked) >= 25
