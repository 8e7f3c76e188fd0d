"""The plan review journey, in a real browser, with two people at two browsers: a manager drafts a
digitalisation plan (every section, a consultation meeting and an equality impact assessment) and
sends it for workforce review; the representative comments on a section and requests changes; the
manager answers, edits and sends it again; the representative countersigns with reservations; the
manager signs; the plan is final and read-only, with the reservations shown word for word. Then the
manager amends it as version 2 and compares the versions. axe-core checks every page (Visitor.check).
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Locator, Page, expect

from portal.roles import Role
from tests.browser import steps
from tests.factories import OrganisationFactory, UserFactory, add_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MANAGER_EMAIL = "mark.mensah@acme.example"
REP_EMAIL = "rachel.reid@acme.example"
TITLE = "Vision inspection, line 3"
RETRAINING_WHO = "The six quality inspectors on line 3."
RETRAINING_WHO_CHANGED = "The six quality inspectors on line 3, and the two setters on the night shift."
COMMENT = "The night-shift setters work the cells too: they are missing from the retraining."
REASONS = "Add the night-shift setters to the retraining, and say when their training happens."
ANSWER = "Added the two night-shift setters; their training is in paid hours in the same week."
# Punctuation and a line break: the reservations must come back exactly as typed, not escaped or joined.
RESERVATIONS = (
    "We agree, but the camera images must be kept for 30 days, not 90 — review it at the 6-month meeting.\n"
    'Part-time inspectors must be offered the same "paid & in-hours" training.'
)
JOBS = "No jobs are lost; two inspector posts become cell technician posts."
JOBS_CHANGED = "No jobs are lost; two inspector posts become cell technician posts, graded one band higher."
SECTIONS = [
    "The technology and why",
    "Consultation with the workforce",
    "Health, safety, welfare and environment",
    "Skills and retraining",
    "Employee data use",
    "Jobs, redeployment and reinvestment",
    "Equality impact assessment",
]
CHARACTERISTICS = [
    "age",
    "disability",
    "gender_reassignment",
    "marriage_civil_partnership",
    "pregnancy_maternity",
    "race",
    "religion_belief",
    "sex",
    "sexual_orientation",
    "working_patterns",
    "caring_responsibilities",
]
AGE_MITIGATION = "One-to-one coaching on the new screens for anyone who asks, in work time."
AGE_EVIDENCE = "Eight of the inspectors are over 55; two said they worry about learning the new software."


@pytest.fixture
def acme():
    # A short name keeps the email's Subject header short (see test_manager_journey.py).
    organisation = OrganisationFactory(name="Acme Precision")
    manager = UserFactory(email=MANAGER_EMAIL, full_name="Mark Mensah")
    rep = UserFactory(email=REP_EMAIL, full_name="Rachel Reid")
    add_member(organisation, manager, Role.MANAGER)
    add_member(organisation, rep, Role.WORKFORCE_REP)
    return organisation, manager, rep


# --- Helpers -------------------------------------------------------------------------------------


_sign_in = steps.sign_in
_follow = steps.follow
_nav = steps.nav
_submit_refused = steps.submit_refused
_path = steps.path


def _click_button(visitor, name: str) -> None:
    with visitor.page.expect_navigation():
        visitor.page.get_by_role("button", name=name, exact=True).click()
    visitor.check()


def _statuses(page: Page) -> list[str]:
    return [s.strip() for s in page.locator(".task-list__status").all_inner_texts()]


def _status_tag(page: Page) -> Locator:
    return page.locator("main h1 + p .tag")


def _section(visitor, number: int) -> None:
    """Open a section from the plan's task list."""
    _follow(visitor, f"{number}. {SECTIONS[number - 1]}", within=visitor.page.locator(".task-list"))


def _save_section(visitor, number: int) -> None:
    _click_button(visitor, "Save")
    expect(visitor.page.locator("main")).to_contain_text(f"{SECTIONS[number - 1]} has been saved.")


def _fill(page: Page, values: dict[str, str]) -> None:
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)


def _signature_card(page: Page, heading: str) -> Locator:
    return page.locator("#signatures-title ~ .card", has=page.get_by_role("heading", name=heading))


# --- The journey ---------------------------------------------------------------------------------


def _manager_starts_the_plan(visitor) -> str:
    page = visitor.page
    _nav(visitor, "Plans")
    expect(page.locator("main")).to_contain_text("No plans yet")
    _follow(visitor, "Start a plan")
    page.get_by_label("Digitalisation plan").check()
    page.get_by_label("Title").fill(TITLE)
    visitor.submit("Start plan")

    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".caption-l")).to_have_text("Digitalisation plan, version 1")
    expect(page.locator("main")).to_contain_text(f"{TITLE} has been started.")
    expect(_status_tag(page)).to_have_text("Draft")
    expect(page.locator(".task-list__link")).to_have_text([f"{n}. {t}" for n, t in enumerate(SECTIONS, 1)])
    assert _statuses(page) == ["Not started"] * 7
    return _path(page)


def _manager_fills_every_section(visitor) -> None:
    page = visitor.page

    _section(visitor, 1)
    _fill(
        page,
        {
            "The technology and what it will do": "Two camera inspection cells check every casting on line 3.",
            "Why it is being introduced": "Manual inspection misses hairline cracks; customers returned 40 parts.",
        },
    )
    _save_section(visitor, 1)

    _section(visitor, 2)
    page.get_by_label("Date the plan was shared with the workforce").fill("2026-03-02")
    _fill(
        page,
        {
            "Information disclosed": "The supplier's proposal, the cell layout and the shift pattern.",
            "The representatives' response": "Support for the cells, with questions about retraining.",
        },
    )
    outcome = page.get_by_role("group", name="Outcome of the consultation")
    expect(outcome.get_by_label("Not decided yet")).to_be_checked()
    outcome.get_by_label("Agreed", exact=True).check()
    _save_section(visitor, 2)

    # The meeting record lives on the consultation page.
    _section(visitor, 2)
    expect(page.get_by_label("Date the plan was shared with the workforce")).to_have_value("2026-03-02")
    expect(page.locator("main")).to_contain_text("No meetings have been recorded yet.")
    _follow(visitor, "Add a meeting")
    page.get_by_label("Date of the meeting").fill("2026-03-04")
    page.get_by_label("Who took part").fill("Mark Mensah (operations manager), Rachel Reid (workforce rep)")
    page.get_by_label("What was discussed (optional)").fill("The cell layout and who runs the cells on nights.")
    visitor.submit("Add meeting")
    expect(page.locator("main")).to_contain_text("The meeting has been added to the consultation record.")
    meetings = page.get_by_role("region", name="Meetings with the workforce")
    expect(meetings.locator("tbody tr")).to_have_count(1)
    expect(meetings).to_contain_text("4 March 2026")
    expect(meetings).to_contain_text("Rachel Reid (workforce rep)")
    _follow(visitor, f"Back to {TITLE}")

    _section(visitor, 3)
    _fill(
        page,
        {
            "Health, safety, welfare and environmental impact": "Less handling of hot castings; new guarding.",
            "Mitigations": "Interlocked guards; a risk assessment signed off before start-up.",
        },
    )
    _save_section(visitor, 3)

    _section(visitor, 4)
    _fill(
        page,
        {
            "Who will be retrained": RETRAINING_WHO,
            "When": "The two weeks before the cells go live, in paid hours.",
            "How": "Supplier training on site, then two weeks working alongside the supplier's engineer.",
        },
    )
    _save_section(visitor, 4)

    _section(visitor, 5)
    _fill(
        page,
        {
            "What employee data is collected": "Which operator logged in to the cell, and when.",
            "What it is used for": "Tracing a rejected part to its batch, never to rate individuals.",
            "Who can see it": "The quality manager and the workforce representatives.",
            "How long it is kept": "90 days.",
            "Limits on monitoring": "No cameras point at people; no productivity league tables.",
        },
    )
    _save_section(visitor, 5)

    _section(visitor, 6)
    _fill(
        page,
        {
            "Jobs affected": JOBS,
            "Redeployment and retraining instead of redundancy": "Inspectors move to cell technician roles.",
            "How growth will be reinvested": "Half the savings fund an apprenticeship from September.",
        },
    )
    _save_section(visitor, 6)
    assert _statuses(page) == ["Completed"] * 6 + ["Not started"]


def _manager_assesses_equality(visitor) -> None:
    page = visitor.page
    _section(visitor, 7)
    expect(page.get_by_role("heading", level=1)).to_have_text("Equality impact assessment")
    cards = page.locator("#eqia-form .card")
    expect(cards).to_have_count(len(CHARACTERISTICS))
    for key in CHARACTERISTICS:
        page.locator(f"#eqia-{key}").get_by_label("Neutral", exact=True).check()
    age = page.locator("#eqia-age")
    age.get_by_label("Negative", exact=True).check()
    page.get_by_label("Evidence for Age", exact=True).fill(AGE_EVIDENCE)
    page.get_by_label("Mitigation for Age", exact=True).fill(AGE_MITIGATION)
    page.get_by_label("Owner of the mitigation for Age").select_option(label="Mark Mensah")
    page.get_by_label("Adjust the plan").check()
    visitor.submit("Save the assessment")

    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("main")).to_contain_text("The equality impact assessment has been saved.")
    assert _statuses(page) == ["Completed"] * 7
    # "Adjust the plan" turned the mitigation into an action.
    expect(page.locator(".activity-list")).to_contain_text(f"Age: {AGE_MITIGATION}")
    expect(page.locator(".summary-list").first).to_contain_text("Adjust the plan")


def _manager_sends_for_review(visitor) -> None:
    page = visitor.page
    _follow(visitor, "Check and send for review")
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(page.locator("main")).to_contain_text(f"Rachel Reid ({REP_EMAIL})")
    expect(page.locator("main")).to_contain_text("1 meeting recorded")
    expect(page.locator("main")).to_contain_text("Outcome: Agreed")
    visitor.submit("Send for workforce review")

    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("main")).to_contain_text(f"{TITLE} has been sent for workforce review")
    expect(_status_tag(page)).to_have_text("In workforce review")
    expect(page.locator("main")).to_contain_text("Editing is locked until the representatives request changes.")
    expect(page.get_by_role("link", name="Check and send for review")).to_have_count(0)
    # The manager cannot edit a section while it is in review.
    _section(visitor, 4)
    expect(page.locator("main")).to_contain_text("This plan is in workforce review, so it cannot be edited.")
    expect(page.get_by_label("Who will be retrained")).to_have_count(0)
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    _follow(visitor, f"Back to {TITLE}")


def _rep_comments_and_requests_changes(visitor, plan_path: str) -> None:
    page = visitor.page
    nav = page.get_by_role("navigation", name="Main")
    work = nav.get_by_role("link", name=re.compile(r"^Your work"))
    expect(work).to_have_accessible_name("Your work 1 item waiting for you")
    expect(work.locator(".header__badge")).to_contain_text("1")
    _nav(visitor, "Your work")
    assert _path(page) == "/your-work/"
    waiting = page.get_by_role("region", name=re.compile(r"^Waiting for you in "))
    expect(waiting.locator("tbody tr")).to_have_count(1)
    expect(waiting.locator("tbody tr")).to_contain_text(TITLE)
    _follow(visitor, "Review and countersign", within=waiting)
    assert _path(page) == plan_path
    expect(_status_tag(page)).to_have_text("In workforce review")
    expect(page.locator("main")).to_contain_text("There are no open comments on this plan.")

    # A comment on the skills section.
    _section(visitor, 4)
    expect(page.locator("main")).to_contain_text("This plan is in workforce review, so it cannot be edited.")
    expect(page.locator("main .summary-list").first).to_contain_text(RETRAINING_WHO)
    page.get_by_label("Add a comment").fill(COMMENT)
    _click_button(visitor, "Add comment")
    assert page.url.endswith("#comments-skills"), page.url
    expect(page.locator("main")).to_contain_text("Your comment has been added.")
    comments = page.locator("#comments-skills")
    expect(comments.get_by_role("heading")).to_have_text("Comments (1)")
    expect(comments.locator(".comment")).to_contain_text("Rachel Reid")
    expect(comments.locator(".comment")).to_contain_text(COMMENT)
    _follow(visitor, f"Back to {TITLE}")
    expect(page.locator("main")).to_contain_text("There is 1 open comment on this plan.")

    _follow(visitor, "Request changes")
    expect(page.get_by_role("heading", level=1)).to_have_text("Request changes")
    page.get_by_label("What needs to change, and why?").fill(REASONS)
    visitor.submit("Send the request")
    assert _path(page) == plan_path
    expect(page.locator("main")).to_contain_text(f"Your request has been sent to management. {TITLE} is open")
    expect(_status_tag(page)).to_have_text("Changes requested")
    requests = page.locator("section", has=page.locator("#change-requests-title"))
    expect(requests).to_contain_text(REASONS)
    expect(requests).to_contain_text("Not answered yet.")
    expect(page.get_by_role("link", name="Request changes")).to_have_count(0)
    expect(page.get_by_role("link", name="Countersign for the workforce")).to_have_count(0)
    expect(page.get_by_role("link", name="Answer this request")).to_have_count(0)


def _manager_answers_edits_and_resends(visitor, plan_path: str) -> None:
    page = visitor.page
    visitor.goto(plan_path)
    expect(_status_tag(page)).to_have_text("Changes requested")
    expect(page.locator("main")).to_contain_text("The representatives asked for changes.")
    requests = page.locator("section", has=page.locator("#change-requests-title"))
    expect(requests).to_contain_text("Rachel Reid asked on")
    expect(requests).to_contain_text(REASONS)

    _follow(visitor, "Answer this request", within=requests)
    expect(page.locator(".inset-text")).to_contain_text(REASONS)
    page.get_by_label("Your answer").fill(ANSWER)
    visitor.submit("Save answer")
    assert _path(page) == plan_path
    expect(page.locator("main")).to_contain_text("Your answer has been saved and the representative emailed.")
    requests = page.locator("section", has=page.locator("#change-requests-title"))
    expect(requests).to_contain_text("Mark Mensah answered on")
    expect(requests).to_contain_text(ANSWER)
    expect(requests.get_by_role("link", name="Answer this request")).to_have_count(0)

    # Editable again: the comment is there beside the form.
    _section(visitor, 4)
    expect(page.locator("#comments-skills")).to_contain_text(COMMENT)
    expect(page.get_by_label("Who will be retrained")).to_have_value(RETRAINING_WHO)
    page.get_by_label("Who will be retrained").fill(RETRAINING_WHO_CHANGED)
    _save_section(visitor, 4)
    _manager_sends_for_review(visitor)


def _rep_countersigns_with_reservations(visitor, plan_path: str) -> str:
    page = visitor.page
    visitor.goto(plan_path)
    expect(_status_tag(page)).to_have_text("In workforce review")
    requests = page.locator("section", has=page.locator("#change-requests-title"))
    expect(requests).to_contain_text(ANSWER)
    _follow(visitor, "Countersign for the workforce")

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Countersign: {TITLE}")
    fingerprint = page.locator("main .mono").first.inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint), fingerprint
    main = page.locator("main")
    # The content being signed, including the change the rep asked for.
    for heading in SECTIONS:
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(main).to_contain_text(RETRAINING_WHO_CHANGED)
    expect(main).to_contain_text(JOBS)
    expect(main).to_contain_text(AGE_MITIGATION)
    expect(main).to_contain_text("As a workforce representative of Acme Precision, I have read this plan")

    # Reservations are required for that decision: the first try says so and keeps the choice.
    page.get_by_label("Sign with reservations").check()
    expect(page.get_by_label("Your full name")).to_have_value("Rachel Reid")
    _submit_refused(visitor, "Record my decision for the workforce")
    assert page.title().startswith("Error:"), page.title()
    expect(page.locator(".error-summary")).to_contain_text("Write down your reservations")
    expect(page.get_by_label("Sign with reservations")).to_be_checked()

    page.get_by_label("Your reservations").fill(RESERVATIONS)
    page.get_by_label("Your full name").fill("Rachel Reid")
    page.get_by_label("Job title or position").fill("Unite workplace representative")
    visitor.submit("Record my decision for the workforce")

    assert _path(page) == plan_path
    expect(page.locator("main")).to_contain_text(
        f"Your signature is recorded. {TITLE} needs the other side's signature to be agreed."
    )
    expect(_status_tag(page)).to_have_text("In workforce review")
    expect(page.get_by_role("link", name="Countersign for the workforce")).to_have_count(0)
    card = _signature_card(page, "For the workforce: Rachel Reid, Unite workplace representative")
    expect(card.locator(".tag")).to_have_text("Signed with reservations")
    expect(card.locator(".mono")).to_have_text(fingerprint)
    # Nothing is waiting for the rep any more.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name=re.compile(r"^Your work"))).to_have_accessible_name("Your work")
    return fingerprint


def _manager_signs(visitor, plan_path: str, fingerprint: str) -> None:
    page = visitor.page
    visitor.goto(plan_path)
    expect(page.get_by_role("heading", name="For the workforce: Rachel Reid", exact=False)).to_be_visible()
    _follow(visitor, "Sign for management")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign: {TITLE}")
    assert page.locator("main .mono").first.inner_text().strip() == fingerprint
    page.get_by_label("Sign", exact=True).check()
    expect(page.get_by_label("Your full name")).to_have_value("Mark Mensah")
    page.get_by_label("Job title or position").fill("Operations Manager")
    visitor.submit("Record my decision for management")

    assert _path(page) == plan_path
    expect(page.locator("main")).to_contain_text(f"{TITLE} is agreed and final. Everyone can see the signatures.")


def _plan_is_final_and_read_only(visitor) -> None:
    page = visitor.page
    main = page.locator("main")
    expect(_status_tag(page)).to_have_text("Final")
    expect(main).to_contain_text("Agreed and signed by both sides on")
    expect(page.get_by_role("link", name="Check and send for review")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign for management")).to_have_count(0)
    expect(page.get_by_role("link", name="Request changes")).to_have_count(0)
    expect(page.get_by_role("link", name="Amend or review this plan")).to_be_visible()

    # Both signatures, and the reservations word for word.
    expect(page.locator("#signatures-title ~ .card")).to_have_count(2)
    workforce = _signature_card(page, "For the workforce: Rachel Reid, Unite workplace representative")
    management = _signature_card(page, "For management: Mark Mensah, Operations Manager")
    expect(workforce.locator(".tag")).to_have_text("Signed with reservations")
    expect(management.locator(".tag")).to_have_text("Signed")
    reservations = workforce.locator(".inset-text p.body")
    assert reservations.inner_text() == RESERVATIONS
    assert workforce.locator(".mono").inner_text() == management.locator(".mono").inner_text()

    # Every section is read-only: no form fields, no Save, no comment box.
    plan_path = _path(page)
    for number, title in enumerate(SECTIONS, 1):
        _section(visitor, number)
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        if number < 7:
            expect(main).to_contain_text("This plan is final, so it cannot be edited.")
        else:
            expect(main).to_contain_text("This plan is final, so the assessment cannot be edited.")
        expect(main.locator("form:not(.inline-form), textarea, select, input:not([type=hidden])")).to_have_count(0)
        expect(page.get_by_role("button", name=re.compile("^Save"))).to_have_count(0)
        expect(page.get_by_role("link", name="Add a meeting")).to_have_count(0)
        visitor.goto(plan_path)
    # The read-only pages still show what was agreed.
    _section(visitor, 4)
    expect(main.locator(".summary-list")).to_contain_text(RETRAINING_WHO_CHANGED)
    _section_back(visitor)
    _section(visitor, 7)
    age_row = page.get_by_role("row", name=re.compile("^Age"))
    expect(age_row).to_contain_text("Negative")
    expect(age_row).to_contain_text(AGE_MITIGATION)
    expect(age_row).to_contain_text("Mark Mensah")
    _section_back(visitor)


def _section_back(visitor) -> None:
    _follow(visitor, f"Back to {TITLE}")


def _manager_amends_and_compares(visitor, plan_path: str) -> None:
    page = visitor.page
    _follow(visitor, "Amend or review this plan")
    expect(page.get_by_role("heading", level=1)).to_have_text("Amend this plan as version 2?")
    visitor.submit("Start version 2")
    v2_path = _path(page)
    assert v2_path != plan_path
    expect(page.locator(".caption-l")).to_have_text("Digitalisation plan, version 2")
    expect(page.locator("main")).to_contain_text("Version 2 has been started from the final plan.")
    expect(_status_tag(page)).to_have_text("Draft")
    assert _statuses(page) == ["Completed"] * 7

    _section(visitor, 6)
    expect(page.get_by_label("Jobs affected")).to_have_value(JOBS)
    page.get_by_label("Jobs affected").fill(JOBS_CHANGED)
    _save_section(visitor, 6)

    versions = page.locator("h2:has-text('Versions') + ul")
    expect(versions).to_contain_text("Version 1")
    expect(versions).to_contain_text("(this version)")
    _follow(visitor, "Compare with version 1")
    expect(page.get_by_role("heading", level=1)).to_have_text("Changes between version 1 and version 2")
    jobs = page.get_by_role("region", name=re.compile("^Jobs, redeployment and reinvestment"))
    expect(jobs.locator(".tag")).to_have_text("Changed")
    expect(jobs.locator("del")).to_contain_text(JOBS)
    expect(jobs.locator("ins")).to_contain_text(JOBS_CHANGED)
    skills = page.get_by_role("region", name=re.compile("^Skills and retraining"))
    expect(skills.locator(".tag")).to_have_text("No change")
    expect(page.locator("main .tag", has_text="Changed")).to_have_count(1)

    # Version 1 stays final, signed, and points to the new draft.
    visitor.goto(plan_path)
    expect(_status_tag(page)).to_have_text("Final")
    expect(page.locator("main")).to_contain_text("This is not the latest version of the plan.")
    expect(page.get_by_role("link", name="Amend or review this plan")).to_have_count(0)
    expect(page.locator("#signatures-title ~ .card")).to_have_count(2)


def _review_requests(mailbox) -> list:
    """The emails asking the rep to review this journey's plan."""
    return [
        m
        for m in mailbox.messages()
        if REP_EMAIL in m.to and f"{TITLE} is ready for your review" in " ".join(m.subject.split())
    ]


def test_rep_requests_changes_then_countersigns_with_reservations(visitor_factory, acme, mailbox) -> None:
    organisation, manager, rep = acme
    already = len(_review_requests(mailbox))  # the session's mailbox may hold earlier tests' emails

    manager_visitor = visitor_factory()
    _sign_in(manager_visitor, manager.email)
    assert manager_visitor.page.url.endswith(f"/o/{organisation.slug}/")
    plan_path = _manager_starts_the_plan(manager_visitor)
    assert re.fullmatch(rf"/o/{organisation.slug}/plans/[0-9a-f-]{{36}}/", plan_path), plan_path
    _manager_fills_every_section(manager_visitor)
    _manager_assesses_equality(manager_visitor)
    _manager_sends_for_review(manager_visitor)

    email = mailbox.wait_for(REP_EMAIL, containing="ready for your review")
    assert " ".join(email.subject.split()) == f"{organisation.name}: {TITLE} is ready for your review"
    assert plan_path in email.text

    rep_visitor = visitor_factory()
    _sign_in(rep_visitor, rep.email)
    _rep_comments_and_requests_changes(rep_visitor, plan_path)
    mailbox.wait_for(MANAGER_EMAIL, containing="changes requested to")

    _manager_answers_edits_and_resends(manager_visitor, plan_path)
    # The plan sent back for review is emailed straight away; the answer to the change request is a
    # reply, in the rep's notifications (and the daily summary by default), not an email of its own.
    deadline = time.monotonic() + 30
    while len(_review_requests(mailbox)) < already + 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(_review_requests(mailbox)) == already + 2, [m.subject for m in mailbox.messages()]
    rep_visitor.goto("/notifications/")
    expect(rep_visitor.page.get_by_text("answered your change request", exact=False)).to_be_visible()

    fingerprint = _rep_countersigns_with_reservations(rep_visitor, plan_path)
    signed = mailbox.wait_for(MANAGER_EMAIL, containing="signed with reservations")
    assert "30 days, not 90" in signed.text

    _manager_signs(manager_visitor, plan_path, fingerprint)
    _plan_is_final_and_read_only(manager_visitor)

    # The rep sees the same final plan, with their reservations as they typed them.
    rep_visitor.goto(plan_path)
    expect(_status_tag(rep_visitor.page)).to_have_text("Final")
    workforce = _signature_card(rep_visitor.page, "For the workforce: Rachel Reid, Unite workplace representative")
    assert workforce.locator(".inset-text p.body").inner_text() == RESERVATIONS
    expect(rep_visitor.page.get_by_role("link", name="Amend or review this plan")).to_have_count(0)

    _manager_amends_and_compares(manager_visitor, plan_path)

    # Every page of the journey was checked by axe-core, none with a console error.
    assert len(manager_visitor.checked) >= 40, manager_visitor.checked
    assert len(rep_visitor.checked) >= 10, rep_visitor.checked
