"""The workforce survey journey, in real browsers: a representative drafts a survey about a plan in
workforce review (bank questions, a shift grouping question and a written-answer question); both sides
approve the questions and the rep opens it; the rep prints five codes; five people answer on a phone,
each from the code's link (/s/#CODE), without signing in, and a used code is refused; no result shows
while the survey is open; the rep closes it and both sides see the same results; the results are part
of the plan's consultation record, which both sides then sign into the final plan. axe-core checks
every page (Visitor.check).
"""

from __future__ import annotations

import re

import pytest
from django_scopes import scope
from playwright.sync_api import Locator, Page, expect

from assessments import workflow
from assessments.models import AssessmentStatus, Plan
from portal.models import SignatureCapacity
from tests.assessments.test_plans import new_plan, submitted
from tests.browser import steps

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 740}
PLAN_TITLE = "Cobots on line 3"
SURVEY_TITLE = f"{PLAN_TITLE}: your views"  # the title the form suggests for a plan's survey

# The questions the rep picks: four from the bank (one of the defaults left out, one added), the
# shift grouping question and a question answered in writing.
TOLD = "I was told about this change before it was decided."
SAFE = "I expect this change to make my work safer or no less safe."
TRAINING = "Have you been offered training for this change?"
JOBS = "I expect this change to leave my job secure."
DATA = "Do you know what data this system collects about you?"  # a default, unticked
SHIFT = "What shift pattern do you work?"
WRITTEN = "Is there anything else you want management to know?"
NIGHTS_WORDS = "Please run the training on nights as well as days."
BREAKS_WORDS = "Keep the breaks as they are."

# What each of the five people answers.
ANSWERS = [
    {TOLD: "Strongly agree", SAFE: "Agree", TRAINING: "Yes", JOBS: "Agree", SHIFT: "Days", WRITTEN: NIGHTS_WORDS},
    {TOLD: "Agree", SAFE: "Strongly agree", TRAINING: "Yes", JOBS: "Neither agree nor disagree", SHIFT: "Days"},
    {TOLD: "Agree", SAFE: "Agree", TRAINING: "No", JOBS: "Disagree", SHIFT: "Nights", WRITTEN: BREAKS_WORDS},
    {TOLD: "Disagree", SAFE: "Agree", TRAINING: "Yes", JOBS: "Strongly agree", SHIFT: "Days"},
    {TOLD: "Strongly disagree", SAFE: "Disagree", TRAINING: "Yes", JOBS: "Neither agree nor disagree", SHIFT: "Nights"},
]
# Those answers, summed up by hand: the counts and the "In short" column of the results.
RESULTS = {
    TOLD: ("Strongly agree 1 · Agree 2 · Neither 0 · Disagree 1 · Strongly disagree 1", "60% agree"),
    SAFE: ("Strongly agree 1 · Agree 3 · Neither 0 · Disagree 1 · Strongly disagree 0", "80% agree"),
    TRAINING: ("Yes 4 · No 1", "80% yes"),
    JOBS: ("Strongly agree 1 · Agree 1 · Neither 2 · Disagree 1 · Strongly disagree 0", "40% agree"),
}

# The text of the results section: its heading and everything after it up to the next h2.
RESULTS_TEXT = """() => {
  const parts = [];
  for (let node = document.getElementById('results'); node; node = node.nextElementSibling) {
    if (parts.length && node.tagName === 'H2') break;
    parts.push(node.innerText);
  }
  return parts.join('\\n');
}"""


@pytest.fixture
def plan_in_review(tenant) -> Plan:
    return submitted(new_plan(tenant, PLAN_TITLE), tenant)


# --- Helpers -------------------------------------------------------------------------------------


def _main(page: Page) -> Locator:
    return page.locator("main")


def _status_tag(page: Page) -> Locator:
    return page.locator("main h1 + p .tag")


def _summary_value(page: Page, key: str) -> Locator:
    return page.locator(".summary-list__row", has=page.locator("dt", has_text=key)).locator("dd")


def _results_table(page: Page) -> Locator:
    return page.get_by_role("region", name="Results", exact=True)


# --- The journey ---------------------------------------------------------------------------------


def _rep_drafts_a_survey(visitor, plan_path: str) -> str:
    page = visitor.page
    # Signed in, the rep lands on their work: the plan waits there for their review.
    assert steps.path(page) == "/your-work/"
    waiting = page.get_by_role("region", name=re.compile(r"^Waiting for you in "))
    expect(waiting.locator("tbody tr")).to_contain_text(PLAN_TITLE)
    steps.follow(visitor, "Review and countersign", within=waiting)
    assert steps.path(page) == plan_path
    expect(_status_tag(page)).to_have_text("In workforce review")
    expect(_main(page)).to_contain_text("Ask the people affected what they think, anonymously.")
    steps.follow(visitor, "Draft a survey about this plan")

    expect(page.get_by_role("heading", level=1)).to_have_text("Draft a survey")
    expect(page.locator(".caption-l")).to_have_text(PLAN_TITLE)
    expect(page.get_by_label("Title", exact=True)).to_have_value(SURVEY_TITLE)
    bank = page.get_by_role("group", name="Questions from the question bank")
    # The defaults are ticked; the rep swaps the data question for the safety one.
    for text in (TOLD, TRAINING, DATA, JOBS):
        expect(bank.get_by_label(text, exact=True)).to_be_checked()
    expect(bank.get_by_label(SAFE, exact=True)).not_to_be_checked()
    bank.get_by_label(DATA, exact=True).uncheck()
    bank.get_by_label(SAFE, exact=True).check()
    page.get_by_label(SHIFT, exact=True).fill("Days\nNights")
    page.get_by_label("A question answered in writing (optional)").fill(WRITTEN)
    expect(page.get_by_label("Fewest responses before any result is shown")).to_have_value("5")
    visitor.submit("Draft the survey")

    expect(page.get_by_role("heading", level=1)).to_have_text(SURVEY_TITLE)
    expect(_main(page)).to_contain_text("The survey is drafted. Both sides approve the questions before it opens.")
    expect(_status_tag(page)).to_have_text("Draft")
    expect(page.locator("main .summary-list").first.get_by_role("link", name=PLAN_TITLE)).to_have_attribute(
        "href", plan_path
    )
    questions = page.locator("main ol.list > li")
    expect(questions).to_have_count(6)
    for text in (TOLD, SAFE, TRAINING, JOBS, WRITTEN, SHIFT):
        expect(questions.filter(has_text=text)).to_have_count(1)
    expect(questions.filter(has_text=DATA)).to_have_count(0)
    expect(questions.filter(has_text=SHIFT)).to_contain_text("optional: Days, Nights")
    expect(questions.filter(has_text=WRITTEN)).to_contain_text("optional, answered in writing")
    # Nobody has approved it, so it cannot open yet.
    expect(_summary_value(page, "Management")).to_have_text("Not yet")
    expect(_summary_value(page, "Workforce representatives")).to_have_text("Not yet")
    expect(page.get_by_role("link", name="Open the survey")).to_have_count(0)
    survey_path = steps.path(page)
    assert re.search(r"/surveys/[0-9a-f-]{36}/$", survey_path), survey_path
    return survey_path


def _approves(visitor, name: str, side: str) -> None:
    page = visitor.page
    steps.follow(visitor, "Read and approve the questions")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Approve the questions for {side}")
    for text in (TOLD, SAFE, TRAINING, JOBS, WRITTEN, SHIFT):
        expect(_main(page)).to_contain_text(text)
    page.get_by_label("Type your full name to approve").fill(name)
    visitor.submit("Approve")
    expect(_main(page)).to_contain_text("Your approval of the questions is recorded.")
    expect(page.get_by_role("link", name="Read and approve the questions")).to_have_count(0)


def _rep_opens_the_survey(visitor, survey_path: str, rep_name: str, manager_name: str) -> None:
    page = visitor.page
    visitor.goto(survey_path)
    expect(_summary_value(page, "Management")).to_contain_text(f"Approved by {manager_name}")
    expect(_summary_value(page, "Workforce representatives")).to_contain_text(f"Approved by {rep_name}")
    steps.follow(visitor, "Open the survey")
    expect(page.get_by_role("heading", level=1)).to_have_text("Open the survey?")
    visitor.submit("Yes, open it")
    assert steps.path(page) == survey_path
    expect(_main(page)).to_contain_text("The survey is open. Print codes or email invitations")
    expect(_status_tag(page)).to_have_text("Open for answers")
    expect(_summary_value(page, "Responses so far")).to_have_text("0")


def _rep_prints_five_codes(visitor) -> list[str]:
    page = visitor.page
    steps.follow(visitor, "Print codes")
    expect(page.get_by_role("heading", level=1)).to_have_text("Print codes")
    page.get_by_label("How many codes?").fill("5")
    visitor.submit("Make the sheet")
    expect(page.get_by_role("heading", level=1)).to_have_text("5 codes to print")
    codes = [c.strip() for c in page.locator(".survey-slip__code").all_inner_texts()]
    assert len(codes) == 5 and len(set(codes)) == 5, codes
    for code in codes:
        assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", code), code
    # Each slip has a QR code for a phone to scan.
    expect(page.locator(".survey-slip__qr svg")).to_have_count(5)
    return codes


def _phone(visitor_factory):
    visitor = visitor_factory()
    visitor.page.set_viewport_size(PHONE)
    return visitor


def _answer_step(visitor, button: str) -> None:
    """Press a button of the public answer pages: the page that comes back must be a 200."""
    page = visitor.page
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button).click()
    response = navigation.value
    assert response is not None and response.status == 200, (
        f"{button} on /s/ answered {response and response.status}: {page.title()!r}"
    )
    visitor.check()


def _person_answers(visitor_factory, code: str, answers: dict[str, str]) -> None:
    """Someone follows the link on their slip on a phone, not signed in, and answers every question."""
    visitor = _phone(visitor_factory)
    page = visitor.page
    visitor.goto(f"/s/#{code}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Answer a workforce survey")
    # The page's script took the code from the fragment into the box, and off the address bar.
    expect(page.get_by_label("Your code")).to_have_value(code)
    assert page.url.endswith("/s/") and "#" not in page.url, page.url
    assert code not in page.url
    _answer_step(visitor, "Continue")

    expect(page.get_by_role("heading", level=1)).to_have_text(SURVEY_TITLE)
    expect(_main(page)).to_contain_text("Anonymous: your answers are saved without your name")
    for question in (TOLD, SAFE, TRAINING, JOBS, SHIFT):
        page.get_by_role("group", name=question).get_by_label(answers[question], exact=True).check()
    if WRITTEN in answers:
        page.get_by_label(WRITTEN).fill(answers[WRITTEN])
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _answer_step(visitor, "Send my answers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your answers are in")
    expect(_main(page)).to_contain_text("Your code has now been used and will not work again.")
    page.context.close()  # done with this phone


def _person_tries_a_used_code(visitor_factory, code: str) -> None:
    visitor = _phone(visitor_factory)
    page = visitor.page
    visitor.goto("/s/")
    expect(page.get_by_label("Your code")).to_have_value("")
    page.get_by_label("Your code").fill(code)
    steps.submit_refused(visitor, "Continue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Answer a workforce survey")
    expect(_main(page)).to_contain_text("This code has already been used. Each code can be used once.")
    expect(page.get_by_role("button", name="Send my answers")).to_have_count(0)
    page.context.close()


def _no_results_while_open(visitor, survey_path: str, answered: int) -> None:
    page = visitor.page
    visitor.goto(survey_path)
    expect(_status_tag(page)).to_have_text("Open for answers")
    expect(_summary_value(page, "Responses so far")).to_have_text(str(answered))
    expect(_summary_value(page, "Reached through")).to_have_text("5 printed codes, 0 emailed invitations")
    expect(page.get_by_role("heading", name="Results")).to_have_count(0)
    expect(_results_table(page)).to_have_count(0)


def _rep_closes_the_survey(visitor, survey_path: str) -> None:
    page = visitor.page
    visitor.goto(survey_path)
    expect(_summary_value(page, "Responses so far")).to_have_text("5")
    steps.follow(visitor, "Close the survey")
    expect(page.get_by_role("heading", level=1)).to_have_text("Close the survey?")
    expect(_main(page)).to_contain_text("5 people have answered.")
    expect(_main(page)).to_contain_text("The results become part of the plan's consultation record")
    visitor.submit("Yes, close it")
    assert steps.path(page) == survey_path
    expect(_main(page)).to_contain_text(
        "The survey is closed. Its results are now part of the plan's consultation record."
    )
    expect(_status_tag(page)).to_have_text("Closed")
    expect(_main(page)).to_contain_text("Closed. Its results are part of the plan's consultation record")


def _results_are_shown(page: Page) -> str:
    """The results of the five answers, as the survey page shows them; returns the section's text."""
    expect(page.get_by_role("heading", name="Results", exact=True)).to_be_visible()
    expect(_main(page)).to_contain_text(
        "5 responses. Management and the workforce representatives see exactly these results."
    )
    rows = _results_table(page).locator("tbody tr")
    expect(rows).to_have_count(len(RESULTS))
    for question, (counts, in_short) in RESULTS.items():
        row = rows.filter(has_text=question)
        expect(row.locator("td").first).to_have_text(counts)
        expect(row.locator("td").last).to_have_text(in_short)
    # By shift: 3 on days and 2 on nights, both under 5, so neither group is shown.
    shifts = page.get_by_role("region", name=SHIFT)
    expect(shifts.locator("thead th")).to_have_text(
        [re.compile("^Question"), re.compile("^Days"), re.compile("^Nights"), re.compile("^Did not say")]
    )
    expect(shifts.locator("thead th").nth(1)).to_contain_text("not shown")
    expect(shifts.locator("thead th").nth(2)).to_contain_text("not shown")
    expect(shifts.locator("tbody td", has_text=re.compile("%"))).to_have_count(0)
    # The written answers, word for word.
    written = page.locator("#results ~ ul blockquote.quote")
    expect(written).to_have_count(2)
    assert sorted(written.all_inner_texts()) == sorted([NIGHTS_WORDS, BREAKS_WORDS])
    text = page.evaluate(RESULTS_TEXT)
    assert "%" in text, text
    return text


def _plan_has_the_survey(visitor, plan_path: str, survey_path: str, status: str = "In workforce review") -> None:
    page = visitor.page
    visitor.goto(plan_path)
    expect(_status_tag(page)).to_have_text(status)
    surveys = page.locator("h2:has-text('Workforce surveys') + p + ul")
    expect(_main(page)).to_contain_text(
        "1 anonymous survey of the workforce is part of this plan's consultation record: "
        "its results are covered by the signatures."
    )
    expect(surveys.locator("li")).to_have_count(1)
    expect(surveys.locator("li")).to_have_text(f"{SURVEY_TITLE} · 5 responses")
    link = surveys.get_by_role("link", name=SURVEY_TITLE)
    assert link.get_attribute("href") == survey_path


def _signs(visitor, plan_path: str, *, link: str, button: str, name: str) -> None:
    page = visitor.page
    visitor.goto(plan_path)
    steps.follow(visitor, link)
    expect(page.get_by_role("heading", level=1)).to_contain_text(PLAN_TITLE)
    page.get_by_label("Sign", exact=True).check()
    expect(page.get_by_label("Your full name")).to_have_value(name)
    visitor.submit(button)
    assert steps.path(page) == plan_path


def test_a_survey_about_a_plan_is_answered_on_phones_and_signed_into_the_plan(
    visitor_factory, tenant, plan_in_review
) -> None:
    plan = plan_in_review
    slug = tenant.organisation.slug
    plan_path = f"/o/{slug}/plans/{plan.pk}/"
    rep_name, manager_name = tenant.rep.full_name, tenant.manager.full_name

    # 1. The rep drafts a survey about the plan.
    rep = visitor_factory()
    steps.sign_in(rep, tenant.rep.email)
    survey_path = _rep_drafts_a_survey(rep, plan_path)

    # 2. Both sides approve the questions; the rep opens the survey.
    _approves(rep, rep_name, "the workforce")
    expect(_summary_value(rep.page, "Workforce representatives")).to_contain_text(f"Approved by {rep_name}")
    expect(_summary_value(rep.page, "Management")).to_have_text("Not yet")
    expect(rep.page.get_by_role("link", name="Open the survey")).to_have_count(0)

    manager = visitor_factory()
    steps.sign_in(manager, tenant.manager.email)
    manager.goto(f"/o/{slug}/")
    steps.nav(manager, "Surveys")
    surveys = manager.page.get_by_role("region", name="Workforce surveys")
    expect(surveys.locator("tbody tr")).to_have_count(1)
    expect(surveys.locator("tbody tr")).to_contain_text("Not open yet")
    steps.follow(manager, SURVEY_TITLE, within=surveys)
    assert steps.path(manager.page) == survey_path
    _approves(manager, manager_name, "management")

    _rep_opens_the_survey(rep, survey_path, rep_name, manager_name)

    # 3. Five codes on a sheet.
    codes = _rep_prints_five_codes(rep)

    # 4. Five people answer on their phones; no result shows while the survey is open.
    for code, answers in zip(codes[:4], ANSWERS[:4], strict=True):
        _person_answers(visitor_factory, code, answers)
    _no_results_while_open(rep, survey_path, 4)
    _person_tries_a_used_code(visitor_factory, codes[0])
    _person_answers(visitor_factory, codes[4], ANSWERS[4])

    # 5. The rep closes it; both sides see the same results.
    _rep_closes_the_survey(rep, survey_path)
    rep_results = _results_are_shown(rep.page)
    manager.goto(survey_path)
    expect(_status_tag(manager.page)).to_have_text("Closed")
    manager_results = _results_are_shown(manager.page)
    assert manager_results == rep_results
    # Closed for good: no more codes to print.
    expect(rep.page.get_by_role("link", name="Print codes")).to_have_count(0)

    # 6. The survey is in the plan's consultation record; both sides sign; the signed snapshot has it.
    _plan_has_the_survey(rep, plan_path, survey_path)
    _plan_has_the_survey(manager, plan_path, survey_path)
    _signs(
        rep,
        plan_path,
        link="Countersign for the workforce",
        button="Record my decision for the workforce",
        name=rep_name,
    )
    expect(_main(rep.page)).to_contain_text("Your signature is recorded.")
    _signs(
        manager, plan_path, link="Sign for management", button="Record my decision for management", name=manager_name
    )
    expect(_main(manager.page)).to_contain_text(f"{PLAN_TITLE} is agreed and final.")
    expect(_status_tag(manager.page)).to_have_text("Final")
    _plan_has_the_survey(rep, plan_path, survey_path, "Final")

    plan.refresh_from_db()
    assert plan.status == AssessmentStatus.FINAL
    with scope(organisation=tenant.organisation):
        signatures = list(workflow.subject_signatures(plan).order_by("signed_at"))
    assert [s.capacity for s in signatures] == [SignatureCapacity.WORKFORCE, SignatureCapacity.MANAGEMENT]
    for signature in signatures:
        signed = signature.snapshot["sections"]["consultation"]["surveys"]
        assert len(signed) == 1, signed
        record = signed[0]
        assert record["survey"] in survey_path and record["title"] == SURVEY_TITLE
        assert record["results"]["responses"] == 5 and record["results"]["shown"] is True
        in_short = {q["text"]: q.get("agree_percent", q.get("yes_percent")) for q in record["results"]["questions"]}
        assert in_short == {TOLD: 60, SAFE: 80, TRAINING: 80, JOBS: 40}, in_short
        assert sorted(record["results"]["comments"]["answers"]) == sorted([NIGHTS_WORDS, BREAKS_WORDS])
    assert signatures[0].content_hash == signatures[1].content_hash

    # Every page was checked by axe-core, none with a console error.
    assert len(rep.checked) >= 15, rep.checked
    assert len(manager.checked) >= 8, manager.checked
