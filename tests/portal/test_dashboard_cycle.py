"""The organisation dashboard leads with the current cycle (issue 16, part 2): the getting-started list
of a new organisation, ticked as each step becomes true; the current draft with its next step before
last year's final results; and only what each role may do."""

from __future__ import annotations

import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_scopes import scope

from assessments import services as assessment_services
from portal import services as portal_services
from portal.roles import Role
from tests.assessments.test_plans import complete, new_plan, sign
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.reports.conftest import CONTEXT, make_final, responses_by_code, upload_evidence

# The panels are cached per organisation version: each write below is seen as soon as it commits.
pytestmark = pytest.mark.django_db

STEPS = [
    "Sign the commitment to the principles",
    "Invite a workforce representative",
    "Start the self-assessment",
    "Write a plan with its equality impact assessment",
    "Invite your suppliers",
    "Request an attestation report",
]


def _page(user, organisation) -> str:
    response = client_for(user).get(f"/o/{organisation.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def _getting_started(html: str) -> list[tuple[str, bool, bool]] | None:
    """(label, ticked, linked) per step of the getting-started list, or None when it is not shown."""
    found = re.search(r'id="getting-started-title".*?</ol>', html, re.S)
    if found is None:
        return None
    steps = []
    for item in re.findall(r'<li class="task-list__item.*?</li>', found.group(0), re.S):
        label = re.sub(r"<[^>]+>", " ", item.split('<div class="task-list__status"')[0])
        label = re.sub(r"^\s*\d+\.\s*", "", " ".join(label.split()).split(" Done by:")[0])
        steps.append((label, ">Completed<" in item, 'class="task-list__link"' in item))
    return steps


def _ticked(html: str) -> list[str]:
    return [label for label, ticked, _linked in _getting_started(html) or [] if ticked]


def test_a_new_organisation_sees_the_getting_started_list_and_each_step_ticks_as_it_becomes_true(
    framework, django_capture_on_commit_callbacks
) -> None:
    from principles.services import commitment_sign
    from reports.services import report_request
    from supplychain import services as supplychain_services

    organisation = OrganisationFactory(name="Newco Fabrication")
    owner, manager = UserFactory(full_name="Olive Owner"), UserFactory(full_name="Manny Manager")
    add_member(organisation, owner, Role.OWNER)
    add_member(organisation, manager, Role.MANAGER)

    steps = _getting_started(_page(owner, organisation))
    assert steps is not None, "a new organisation sees the getting-started list"
    assert [label for label, _t, _l in steps] == STEPS  # in order
    assert not any(ticked for _label, ticked, _linked in steps)  # nothing ticked
    assert all(linked for _label, _ticked, linked in steps)  # the owner can do every step

    commitment_sign(
        organisation=organisation,
        framework=framework,
        signer=owner,
        typed_name="Olive Owner",
        job_title="Director",
        extends_to_supply_chain=True,
        context=CONTEXT,
    )
    assert _ticked(_page(owner, organisation)) == STEPS[:1]

    invitation = portal_services.invitation_create(
        organisation=organisation, actor=owner, email="rep@newco.example", role=Role.WORKFORCE_REP
    )
    assert _ticked(_page(owner, organisation)) == STEPS[:2]
    rep = UserFactory(email="rep@newco.example", full_name="Rita Rep")
    portal_services.invitation_accept(invitation=invitation, user=rep)

    assessment = assessment_services.assessment_create(
        organisation=organisation,
        actor=manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    assert _ticked(_page(owner, organisation)) == STEPS[:3]

    tenant = SimpleNamespace(organisation=organisation, owner=owner, manager=manager, rep=rep)
    plan = new_plan(tenant)
    assert _ticked(_page(owner, organisation)) == STEPS[:3], "a plan without its EqIA outcome is not the step"
    complete(plan, tenant)
    assert _ticked(_page(owner, organisation)) == STEPS[:4]

    supplychain_services.supplier_save(
        organisation=organisation, actor=owner, name="Parts Ltd", contact_name="", contact_email="sales@parts.example"
    )
    with django_capture_on_commit_callbacks(execute=True):
        supplychain_services.campaign_start(
            organisation=organisation,
            actor=owner,
            title="Principles 2026",
            message="Please commit to the principles",
            depth=1,
            due_date=timezone.localdate() + timedelta(days=30),
            supplier_ids=None,
        )
    assert _ticked(_page(owner, organisation)) == STEPS[:5]

    with django_capture_on_commit_callbacks(execute=False):
        final = make_final(tenant, assessment, upload_evidence(tenant))
        report_request(organisation=organisation, actor=manager, assessment=final)
    html = _page(owner, organisation)
    assert _getting_started(html) is None, "the list goes once every step is done"
    assert "Getting started" not in html


def test_roles_are_offered_only_the_steps_they_can_do(tenant) -> None:
    """A manager sees the steps an owner does without a link, and who does them; representatives,
    members and auditors, who can do none of them, are not shown the list."""
    steps = _getting_started(_page(tenant.manager, tenant.organisation))
    assert steps is not None
    linked = {label: is_linked for label, _ticked, is_linked in steps}
    assert linked == {
        STEPS[0]: False,  # an owner signs the commitment
        STEPS[1]: False,  # an owner invites (and here a representative already belongs: ticked)
        STEPS[2]: True,
        STEPS[3]: True,
        STEPS[4]: True,
        STEPS[5]: True,
    }
    html = _page(tenant.manager, tenant.organisation)
    assert "Done by: Owner" in html
    assert f"/o/{tenant.organisation.slug}/commitment/sign/" not in html
    assert _ticked(html) == [STEPS[1]]  # the tenant has a workforce representative
    for user in (tenant.rep, tenant.member, tenant.auditor):
        assert _getting_started(_page(user, tenant.organisation)) is None, user


def _draft_with_principle_1_done(tenant, framework):
    draft = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2027",
        period_start=date(2027, 1, 1),
        period_end=date(2027, 12, 31),
    )
    for code, response in responses_by_code(draft).items():
        if code.startswith("1."):
            assessment_services.response_save(
                response=response, actor=tenant.manager, maturity=2, narrative="", evidence_ids=[]
            )
    return draft


def test_a_manager_sees_the_current_draft_first_with_its_next_step_and_last_years_final_below(
    tenant, framework
) -> None:
    final = make_final(tenant, _assessment(tenant, framework, 2026), upload_evidence(tenant))
    draft = _draft_with_principle_1_done(tenant, framework)
    with scope(organisation=tenant.organisation):
        principle_2 = next(r for c, r in responses_by_code(draft).items() if c.startswith("2.")).criterion.principle

    html = _page(tenant.manager, tenant.organisation)
    current = html.index("Current work")
    draft_at = html.index(draft.title)
    results = html.index("Results of your last final self-assessment")
    final_at = html.index(final.title, results)
    assert current < draft_at < results < final_at, "the current draft leads; last year's final results follow"
    assert html.index(final.title) > results, "the final one is named only under its heading"
    step = f"Continue principle 2 of 6: {principle_2.title}"
    assert step not in html  # principle 2 has not been started: it is "Start", not "Continue"
    link = f"/o/{tenant.organisation.slug}/assessments/{draft.pk}/principles/2/"
    assert f'href="{link}">Start principle 2 of 6: {principle_2.title}<' in html
    assert "1 of 6 principles completed" in html
    assert '<svg class="chart chart--stacked"' in html and "Maturity per principle: Self-assessment 2026" in html

    # The representative follows the draft but is not asked to write it.
    rep_html = _page(tenant.rep, tenant.organisation)
    assert "Management is writing it: 1 of 6 principles completed" in rep_html
    assert link not in rep_html
    # An auditor sees finished work only: no draft, no "no current self-assessment", the final results.
    # (The recent-activity feed is left out: what it shows auditors is not this panel's.)
    auditor_html = _section(_page(tenant.auditor, tenant.organisation), "current-work-title")
    assert draft.title not in auditor_html and "no current self-assessment" not in auditor_html
    assert final.title in _section(_page(tenant.auditor, tenant.organisation), "final-results-title")


def _section(html: str, heading_id: str) -> str:
    found = re.search(rf'id="{heading_id}".*?</section>', html, re.S)
    assert found is not None, heading_id
    return found.group(0)


def _assessment(tenant, framework, year: int):
    return assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title=f"Self-assessment {year}",
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
    )


def test_with_only_a_final_assessment_there_is_no_current_one_and_editors_are_offered_to_start(
    tenant, framework
) -> None:
    final = make_final(tenant, _assessment(tenant, framework, 2026), upload_evidence(tenant))
    create = f"/o/{tenant.organisation.slug}/assessments/new/"
    html = _page(tenant.manager, tenant.organisation)
    assert f"There is no current self-assessment. The last one, {final.title}, is final." in html
    # The next cycle starts from the final one (issue 16 part 5), or from nothing.
    carry = f"/o/{tenant.organisation.slug}/assessments/{final.pk}/next/"
    assert f'href="{carry}">Start the 2027 self-assessment<' in html
    assert f'href="{create}">Start a blank one<' in html
    member_html = _page(tenant.member, tenant.organisation)
    assert "There is no current self-assessment" in member_html and create not in member_html
    assert carry not in member_html


def test_a_plan_in_review_says_whose_signature_it_waits_for(tenant, framework) -> None:
    plan = new_plan(tenant)
    html = _page(tenant.manager, tenant.organisation)
    section = f"/o/{tenant.organisation.slug}/plans/{plan.pk}/sections/technology/"
    assert f'href="{section}">Describe the technology and why it is being introduced<' in html

    complete(plan, tenant)
    html = _page(tenant.manager, tenant.organisation)
    assert f'href="/o/{tenant.organisation.slug}/plans/{plan.pk}/submit/">Send for workforce review<' in html

    from assessments import plans

    plans.plan_submit(plan=plan, actor=tenant.manager)
    sign_url = f"/o/{tenant.organisation.slug}/review/plan/{plan.pk}/sign/"
    assert f'href="{sign_url}">Sign for management<' in _page(tenant.manager, tenant.organisation)
    assert f'href="{sign_url}">Countersign for the workforce, or ask for changes<' in _page(
        tenant.rep, tenant.organisation
    )
    sign(plan, tenant.manager)
    manager_html = _page(tenant.manager, tenant.organisation)
    assert "Waiting for the workforce representatives&#x27; countersignature" in manager_html
    assert sign_url not in manager_html
    assert "Waiting for the workforce representatives&#x27; countersignature" in _page(
        tenant.owner, tenant.organisation
    ), "management has signed: another manager is not asked to sign again"
    assert sign_url in _page(tenant.rep, tenant.organisation)
    assert "Waiting for the workforce representatives&#x27; countersignature" in _page(
        tenant.member, tenant.organisation
    )


def test_the_invite_step_opens_the_invitation_form_with_the_representative_role_chosen(tenant) -> None:
    html = client_for(tenant.owner).get(f"/o/{tenant.organisation.slug}/invitations/new/?role=workforce_rep")
    checked = re.findall(r'<input[^>]*type="radio"[^>]*>', html.content.decode())
    chosen = [i for i in checked if "checked" in i]
    assert len(chosen) == 1 and 'value="workforce_rep"' in chosen[0], chosen
