"""The technology register journey, in real browsers, under a new technology agreement both sides signed
(90 days' notice, the joint technology committee within 14 days): a manager registers a system that
monitors workers and writes its DPIA; the representative records what workers said, in their words, and
after the manager sends it for review and signs, countersigns it into a final DPIA; the manager records
that notice was given today; the system shows its clocks, and the committee meeting due in 14 days is on
"Your work" for both of them. axe-core checks every page (Visitor.check).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from django_scopes import scope
from playwright.sync_api import Page, expect

from assessments import technology
from assessments.models import AssessmentStatus, Plan, TechnologySystem
from tests.assessments.test_technology import agreement_in_force
from tests.browser import steps

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SYSTEM = "Line 3 cell output dashboard"
DPIA = f"DPIA: {SYSTEM}"
WORKERS_SAID = "“We don't want our names on a screen by the line.”"
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


def _main(page: Page):
    return page.locator("main")


def _section(visitor, title: str) -> None:
    steps.follow(visitor, re.compile(rf"^\d+\. {re.escape(title)}"))
    expect(visitor.page.get_by_role("heading", level=1)).to_have_text(title)


def _fill(page: Page, values: dict[str, str]) -> None:
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)


def _manager_registers_the_system(visitor, go_live: str) -> str:
    page = visitor.page
    visitor.goto("/")
    steps.nav(visitor, "Technology")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Technology")
    steps.follow(visitor, "Register a system")
    _fill(
        page,
        {
            "Name of the system": SYSTEM,
            "Supplier (optional)": "Acme Analytics Ltd",
            "What it is for (optional)": "Shows units per hour for each cell on screens by the line.",
            "Teams affected (optional)": "Line 3",
            "Data it collects about workers (optional)": "Units per hour per cell, with the operators signed in.",
        },
    )
    page.get_by_label("Go-live date (optional)").fill(go_live)
    page.get_by_role("group", name="Does it monitor people?").get_by_label("Yes", exact=True).check()
    page.get_by_label("Performance", exact=True).check()
    visitor.submit("Register the system")
    expect(page.get_by_role("heading", level=1)).to_have_text(SYSTEM)
    system_path = steps.path(page)
    assert re.search(r"/technology/[0-9a-f-]{36}/$", system_path), system_path
    # Under the agreement in force, notice is now due (90 days before go-live).
    expect(_main(page)).to_contain_text("Give notice by")
    return system_path


def _manager_writes_the_dpia(visitor) -> str:
    page = visitor.page
    with page.expect_navigation():
        page.get_by_role("button", name="Start the DPIA").click()
    visitor.check()
    expect(page.get_by_role("heading", level=1)).to_have_text(DPIA)
    dpia_path = steps.path(page)

    _section(visitor, "Nature, scope, context and purpose of the processing")
    # Started from what the register says.
    expect(page.get_by_label("Nature of the processing", exact=True)).to_have_value(
        "Units per hour per cell, with the operators signed in."
    )
    _fill(
        page,
        {
            "Scope of the processing": "Line 3, 40 operators on three shifts; kept 30 days.",
            "Context of the processing": "Unionised site; output figures were never shown before.",
        },
    )
    visitor.submit("Save")
    for title, label, text in (
        (
            "Necessity and proportionality",
            "Why the processing is necessary and proportionate",
            "Cell output is needed to balance work; individual figures are not, so none are shown.",
        ),
        (
            "Risks to the people whose data it is",
            "Risks to the people whose data it is",
            "Cell figures read as individual performance, or shown as a league table.",
        ),
        (
            "Measures to reduce the risks",
            "Measures to reduce the risks",
            "Cell level only; no names on screens; never used in discipline.",
        ),
    ):
        _section(visitor, title)
        page.get_by_label(label, exact=True).fill(text)
        visitor.submit("Save")
        expect(_main(page)).to_contain_text(f"{title} has been saved.")
    _section(visitor, "Consultation with the workforce")
    page.get_by_label("Date the plan was shared with the workforce").fill(timezone.localdate().isoformat())
    page.get_by_label("Information disclosed", exact=True).fill("The supplier's data sheet and a mock-up screen.")
    page.get_by_label("Agreed", exact=True).check()
    visitor.submit("Save")

    _section(visitor, "Equality impact assessment")
    for key in CHARACTERISTICS:
        page.locator(f"#eqia-{key}").get_by_label("Neutral", exact=True).check()
    page.get_by_label("No major change needed").check()
    visitor.submit("Save the assessment")
    expect(_main(page)).to_contain_text("The equality impact assessment has been saved.")
    # Only the workforce's views are missing.
    steps.follow(visitor, "Check and send for review")
    expect(page.locator(".error-summary")).to_contain_text("Record how workers were consulted and what they said")
    expect(page.get_by_role("button", name="Send for workforce review")).to_have_count(0)
    return dpia_path


def _rep_records_the_workforces_views(visitor, system_path: str, dpia_path: str) -> None:
    page = visitor.page
    visitor.goto(system_path)
    expect(_main(page)).to_contain_text("Monitors people")
    steps.follow(visitor, DPIA)
    assert steps.path(page) == dpia_path
    _section(visitor, "The workforce's views")
    _fill(
        page,
        {
            "How workers and their representatives were consulted": "A meeting with each shift on line 3.",
            "What workers said, in their words where given": WORKERS_SAID,
            "The representatives' response": "Agreed, provided figures stay at cell level.",
        },
    )
    visitor.submit("Save")
    expect(_main(page)).to_contain_text("The workforce's views has been saved.")
    # The representative writes nothing else.
    _section(visitor, "Risks to the people whose data it is")
    expect(page.get_by_label("Risks to the people whose data it is", exact=True)).to_have_count(0)


def _manager_sends_and_signs(visitor, dpia_path: str) -> None:
    page = visitor.page
    visitor.goto(dpia_path)
    steps.follow(visitor, "Check and send for review")
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(_main(page)).to_contain_text("The workforce's views")
    visitor.submit("Send for workforce review")
    expect(_main(page)).to_contain_text(f"{DPIA} has been sent for workforce review")
    steps.follow(visitor, "Sign for management")
    expect(_main(page)).to_contain_text(WORKERS_SAID)
    page.get_by_label("Sign", exact=True).check()
    visitor.submit("Record my decision for management")
    assert steps.path(page) == dpia_path


def _rep_countersigns(visitor, dpia_path: str) -> None:
    page = visitor.page
    visitor.goto("/your-work/")
    waiting = page.get_by_role("region", name=re.compile(r"^Waiting for you in "))
    expect(waiting.locator("tbody tr").filter(has_text=DPIA)).to_have_count(1)
    steps.follow(visitor, "Review and countersign", within=waiting)
    assert steps.path(page) == dpia_path
    steps.follow(visitor, "Countersign for the workforce")
    # What the representative signs holds the workers' own words.
    expect(_main(page)).to_contain_text(WORKERS_SAID)
    page.get_by_label("Sign", exact=True).check()
    visitor.submit("Record my decision for the workforce")
    assert steps.path(page) == dpia_path
    expect(page.locator("main h1 + p .tag")).to_have_text("Final")


def _manager_gives_notice(visitor, system_path: str, meeting_due: str) -> None:
    page = visitor.page
    visitor.goto(system_path)
    expect(_main(page)).to_contain_text("Final")  # the DPIA's state on the system
    steps.follow(visitor, "Record notice")
    page.get_by_label("Date notice was given to the representatives (optional)").fill(timezone.localdate().isoformat())
    visitor.submit("Save")
    assert steps.path(page) == system_path
    expect(_main(page)).to_contain_text(f"The committee is due to meet by {meeting_due}.")


def _meeting_is_on_your_work(visitor, meeting_due: str) -> None:
    page = visitor.page
    visitor.goto("/your-work/")
    waiting = page.get_by_role("region", name=re.compile(r"^Waiting for you in "))
    row = waiting.locator("tbody tr").filter(has_text=SYSTEM)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"The joint technology committee is due to meet by {meeting_due}")
    steps.follow(visitor, "Hold the joint technology committee meeting", within=waiting)
    expect(page.get_by_role("heading", level=1)).to_have_text(SYSTEM)


def test_a_system_that_monitors_workers_gets_its_dpia_with_the_workforces_views_and_its_clocks(
    visitor_factory, tenant
) -> None:
    agreement_in_force(tenant)
    today = timezone.localdate()
    meeting_due = date_format(today + timedelta(days=14), "j F Y")

    manager = visitor_factory()
    steps.sign_in(manager, tenant.manager.email)
    system_path = _manager_registers_the_system(manager, (today + timedelta(days=120)).isoformat())
    dpia_path = _manager_writes_the_dpia(manager)

    rep = visitor_factory()
    steps.sign_in(rep, tenant.rep.email)
    _rep_records_the_workforces_views(rep, system_path, dpia_path)

    _manager_sends_and_signs(manager, dpia_path)
    _rep_countersigns(rep, dpia_path)

    _manager_gives_notice(manager, system_path, meeting_due)
    _meeting_is_on_your_work(manager, meeting_due)
    _meeting_is_on_your_work(rep, meeting_due)

    with scope(organisation=tenant.organisation):
        system = TechnologySystem.objects.get(name=SYSTEM)
        dpia = Plan.objects.get(system=system)
        assert dpia.status == AssessmentStatus.FINAL and dpia.workers_views == WORKERS_SAID
        assert system.monitors_people and system.notice_given_on == today and system.attention == "meeting"


def test_every_other_register_agreement_and_webhook_page_is_accessible(visitor_factory, tenant, framework) -> None:
    """The pages the journey above does not pass through, each in the state that shows the most (errors
    included), checked by axe-core as an owner sees them: change, links, remove, import; the agreement
    with a draft beside the one in force, its new-version, change, sign and delete pages; and the
    webhook pages with an endpoint and a failed delivery."""
    from portal import webhooks
    from portal.models import WebhookDelivery
    from tests.assessments.test_technology import register

    agreement_in_force(tenant)
    system = register(tenant, go_live_on=timezone.localdate() + timedelta(days=30))
    draft = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA 2027")
    endpoint = webhooks.endpoint_create(
        organisation=tenant.organisation,
        actor=tenant.owner,
        url="https://hooks.acme.example/portal",
        events=["report.ready"],
    )
    with scope(organisation=tenant.organisation):
        WebhookDelivery.objects.create(
            organisation=tenant.organisation,
            endpoint=endpoint,
            event="report.ready",
            event_id="evt_1",
            payload={"id": "evt_1"},
            status="failed",
            attempts=3,
            last_status_code=500,
            last_error="HTTP 500: down for maintenance",
        )
    slug = tenant.organisation.slug
    owner = visitor_factory()
    steps.sign_in(owner, tenant.owner.email)
    base = f"/o/{slug}/technology/"
    for path in (
        f"{base}{system.pk}/edit/",
        f"{base}{system.pk}/links/",
        f"{base}{system.pk}/delete/",
        f"{base}import/",
        f"{base}agreement/",
        f"{base}agreement/{draft.pk}/edit/",
        f"{base}agreement/{draft.pk}/sign/",
        f"{base}agreement/{draft.pk}/delete/",
        f"/o/{slug}/settings/webhooks/",
        f"/o/{slug}/settings/webhooks/new/",
        f"/o/{slug}/settings/webhooks/{endpoint.pk}/",
        f"/o/{slug}/settings/webhooks/{endpoint.pk}/rotate/",
        f"/o/{slug}/settings/webhooks/{endpoint.pk}/delete/",
    ):
        owner.goto(path)
    # Errors, as people meet them: a system without a name; a clause emptied; a webhook to a private address.
    owner.goto(f"{base}{system.pk}/edit/")
    owner.page.get_by_label("Name of the system").fill("")
    owner.submit("Save")
    expect(owner.page.locator(".error-summary")).to_contain_text("Enter the system's name")
    owner.goto(f"{base}agreement/{draft.pk}/edit/")
    owner.page.get_by_label("Wording").first.fill("")
    owner.submit("Save the draft")
    expect(owner.page.locator(".error-summary")).to_be_visible()
    owner.goto(f"/o/{slug}/settings/webhooks/new/")
    owner.page.get_by_label("URL", exact=False).first.fill("https://10.0.0.5/hook")
    owner.page.get_by_label("An attestation report is ready").check()
    owner.submit("Add the endpoint")
    expect(owner.page.locator(".error-summary")).to_contain_text("private")
