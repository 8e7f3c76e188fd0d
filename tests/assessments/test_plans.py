"""Plans with their consultation record and equality impact assessment (DESIGN.md section 6), through
the services: what must be filled in, what blocks agreement, signing, amending and comparing versions."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_scopes import scope

from assessments import plans, services, workflow
from assessments.models import (
    ActionItem,
    AssessmentStatus,
    Characteristic,
    ConsultationMeeting,
    ConsultationOutcome,
    EqiaOutcome,
    EqiaRow,
    Impact,
    Plan,
    PlanCitation,
    PlanKind,
)
from assessments.plans import EqiaRowInput
from assessments.workflow import plan_snapshot, signatures_for, subject_hash
from portal.models import Outbox, Signature, SignatureDecision
from portal.signing import SigningContext
from tests.assessments.conftest import PDF

pytestmark = pytest.mark.django_db

CONTEXT = SigningContext(ip_address="127.0.0.1", user_agent="pytest")

EQUALITY_ACT_2010 = [
    "age",
    "disability",
    "gender_reassignment",
    "marriage_civil_partnership",
    "pregnancy_maternity",
    "race",
    "religion_belief",
    "sex",
    "sexual_orientation",
]

SECTIONS = {
    "technology": {"technology": "Two collaborative robots on line 3", "rationale": "Heavy castings hurt backs"},
    "consultation": {
        "shared_on": date(2026, 3, 2),
        "information_disclosed": "Business case, layouts and the vendor's risk assessment",
        "reps_response": "Supportive if nobody loses their job",
        "consultation_outcome": ConsultationOutcome.AGREED,
    },
    "health_safety": {"hse_impact": "Less manual lifting", "hse_mitigations": "Light curtains around the cell"},
    "skills": {"retraining_who": "Line 3 operators", "retraining_when": "April", "retraining_how": "Vendor course"},
    "data": {"data_collected": "Cycle times per cell", "data_purpose": "Maintenance planning only"},
    "jobs": {"jobs_affected": "Six operator roles change", "redeployment": "No redundancies"},
}


# --- helpers --------------------------------------------------------------------------------


def new_plan(tenant, title: str = "Cobots on line 3") -> Plan:
    return plans.plan_create(
        organisation=tenant.organisation, actor=tenant.manager, kind=PlanKind.DIGITALISATION, title=title
    )


def rows(impact: str = Impact.NEUTRAL, **overrides: EqiaRowInput) -> list[EqiaRowInput]:
    """One row per characteristic: `impact` everywhere except the characteristics overridden."""
    return [
        overrides.get(
            c, EqiaRowInput(characteristic=c, impact=impact, evidence="Staff survey", mitigation="", owner=None)
        )
        for c in Characteristic.values
    ]


def fill(plan: Plan, tenant, **section_overrides: dict) -> None:
    for section, values in SECTIONS.items():
        plans.plan_update_section(
            plan=plan, actor=tenant.manager, section=section, values={**values, **section_overrides.get(section, {})}
        )


def complete(
    plan: Plan, tenant, *, consultation: dict | None = None, eqia_rows=None, outcome=EqiaOutcome.NO_MAJOR_CHANGE
) -> Plan:
    fill(plan, tenant, consultation=consultation or {})
    plans.eqia_save(
        plan=plan, actor=tenant.manager, rows=eqia_rows or rows(), outcome=outcome, justification="Reasons given"
    )
    return plan


def submitted(plan: Plan, tenant, **kwargs) -> Plan:
    complete(plan, tenant, **kwargs)
    plans.plan_submit(plan=plan, actor=tenant.manager)
    assert plan.status == AssessmentStatus.IN_REVIEW
    return plan


def sign(subject, user, decision: str = SignatureDecision.SIGN, **kwargs):
    return workflow.subject_sign(
        subject=subject,
        signer=user,
        decision=decision,
        typed_name=user.full_name or user.email,
        expected_hash=subject_hash(subject),
        context=CONTEXT,
        **kwargs,
    )


def fresh(plan: Plan) -> Plan:
    with scope(organisation=plan.organisation):
        return Plan.objects.select_related("organisation").get(pk=plan.pk)


def problems(plan: Plan) -> list[tuple[str, str]]:
    with scope(organisation=plan.organisation):
        return plans.plan_problems(fresh(plan))


def upload_evidence(tenant, name: str = "risk-assessment.pdf"):
    return services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name=name,
        description="Vendor risk assessment",
        effective_date=timezone.localdate(),
        expiry_date=None,
    )


@pytest.fixture
def plan(tenant) -> Plan:
    return new_plan(tenant)


@pytest.fixture
def final_plan(tenant, plan) -> Plan:
    """A plan with a meeting, cited evidence and an owned EqIA mitigation, signed by both sides."""
    evidence = upload_evidence(tenant)
    plans.meeting_add(
        plan=plan, actor=tenant.manager, held_on=date(2026, 3, 9), participants="Unite reps, HR", notes="Layouts"
    )
    plans.plan_update_section(
        plan=plan, actor=tenant.manager, section="technology", values={}, evidence_ids=[evidence.pk]
    )
    mitigation = EqiaRowInput("age", Impact.NEGATIVE, "Older operators", "Lift-assist at every station", tenant.rep)
    submitted(plan, tenant, eqia_rows=rows(age=mitigation), outcome=EqiaOutcome.ADJUST)
    sign(plan, tenant.rep, SignatureDecision.SIGN_WITH_RESERVATIONS, reservations="Review after six months.")
    sign(plan, tenant.manager)
    assert plan.status == AssessmentStatus.FINAL
    return plan


# --- creating and completing ----------------------------------------------------------------


def test_a_new_plan_has_an_eqia_row_for_every_characteristic(tenant, plan) -> None:
    assert (plan.status, plan.version) == (AssessmentStatus.DRAFT, 1)
    with scope(organisation=tenant.organisation):
        characteristics = sorted(plan.eqia.rows.values_list("characteristic", flat=True))
        assert not plan.eqia.rows.exclude(impact="").exists()
    assert len(characteristics) == 11
    assert characteristics == sorted([*EQUALITY_ACT_2010, "working_patterns", "caring_responsibilities"])


def test_problems_name_each_missing_section_until_the_plan_can_be_submitted(
    tenant, plan, django_capture_on_commit_callbacks
) -> None:
    every = ["technology", "consultation", "health_safety", "skills", "data", "jobs", "equality"]
    assert [section for section, _message in problems(plan)] == every
    with pytest.raises(ValidationError) as refused:
        plans.plan_submit(plan=plan, actor=tenant.manager)
    assert len(refused.value.messages) == 7

    for done, (section, values) in enumerate(SECTIONS.items(), start=1):
        plans.plan_update_section(plan=plan, actor=tenant.manager, section=section, values=values)
        assert [s for s, _m in problems(plan)] == every[done:]

    # Every impact assessed, but no outcome chosen yet.
    plans.eqia_save(plan=plan, actor=tenant.manager, rows=rows(), outcome="", justification="")
    (problem,) = problems(plan)
    assert problem == ("equality", "Choose the outcome of the equality impact assessment")

    plans.eqia_save(plan=plan, actor=tenant.manager, rows=rows(), outcome=EqiaOutcome.NO_MAJOR_CHANGE, justification="")
    assert problems(plan) == []
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notified = plans.plan_submit(plan=plan, actor=tenant.manager)
    assert notified == [tenant.rep.email]
    assert plan.status == AssessmentStatus.IN_REVIEW and plan.submitted_by == tenant.manager
    assert [m.to for m in mail.outbox] == [[tenant.rep.email]]
    assert "Cobots on line 3 is ready for your review" in mail.outbox[0].subject
    assert f"/plans/{plan.pk}/" in mail.outbox[0].body
    with scope(organisation=tenant.organisation):
        assert Outbox.objects.get().status == "sent"
    with pytest.raises(ValidationError, match="cannot be edited"):
        plans.plan_update_section(plan=plan, actor=tenant.manager, section="jobs", values={"jobs_affected": "None"})


def test_agreement_with_conditions_needs_the_conditions_written_down(tenant, plan) -> None:
    values = {**SECTIONS["consultation"], "consultation_outcome": ConsultationOutcome.AGREED_WITH_CONDITIONS}
    with pytest.raises(ValidationError) as refused:
        plans.plan_update_section(plan=plan, actor=tenant.manager, section="consultation", values=values)
    assert "consultation_conditions" in refused.value.message_dict
    assert fresh(plan).consultation_outcome == ""

    values["consultation_conditions"] = "A review with the reps after six months"
    plans.plan_update_section(plan=plan, actor=tenant.manager, section="consultation", values=values)
    saved = fresh(plan)
    assert saved.consultation_outcome == ConsultationOutcome.AGREED_WITH_CONDITIONS
    assert saved.consultation_conditions == "A review with the reps after six months"


def test_a_consultation_not_agreed_keeps_the_plan_from_being_agreed(tenant, plan) -> None:
    submitted(plan, tenant, consultation={"consultation_outcome": ConsultationOutcome.NOT_AGREED})
    assert any("consultation" in b for b in workflow.agreement_blockers(plan))
    for user, decision, extra in [
        (tenant.rep, SignatureDecision.SIGN, {}),
        (tenant.rep, SignatureDecision.SIGN_WITH_RESERVATIONS, {"reservations": "Fine really"}),
        (tenant.manager, SignatureDecision.SIGN, {}),
    ]:
        with pytest.raises(ValidationError, match="consultation"):
            sign(plan, user, decision, **extra)
    with scope(organisation=tenant.organisation):
        assert not Signature.objects.exists()

    sign(plan, tenant.rep, SignatureDecision.DECLINE, reasons="We did not agree to this plan.")
    assert plan.status == AssessmentStatus.CHANGES_REQUESTED


# --- equality impact assessment -------------------------------------------------------------


def test_a_negative_impact_needs_a_mitigation(tenant, plan) -> None:
    bare = EqiaRowInput("disability", Impact.NEGATIVE, "Reach heights", "  ", tenant.manager)
    with pytest.raises(ValidationError) as refused:
        plans.eqia_save(
            plan=plan, actor=tenant.manager, rows=rows(disability=bare), outcome=EqiaOutcome.ADJUST, justification=""
        )
    assert "disability-mitigation" in refused.value.message_dict
    with scope(organisation=tenant.organisation):
        assert not EqiaRow.objects.exclude(impact="").exists()

    mitigated = EqiaRowInput("disability", Impact.NEGATIVE, "Reach heights", "Adjustable stations", tenant.manager)
    plans.eqia_save(
        plan=plan, actor=tenant.manager, rows=rows(disability=mitigated), outcome=EqiaOutcome.ADJUST, justification=""
    )
    with scope(organisation=tenant.organisation):
        row = EqiaRow.objects.get(eqia__plan=plan, characteristic="disability")
    assert (row.impact, row.mitigation, row.owner) == ("negative", "Adjustable stations", tenant.manager)


def test_continuing_despite_adverse_impact_needs_a_justification(tenant, plan) -> None:
    negative = EqiaRowInput("age", Impact.NEGATIVE, "Older operators", "Lift-assist", None)
    with pytest.raises(ValidationError) as refused:
        plans.eqia_save(
            plan=plan, actor=tenant.manager, rows=rows(age=negative), outcome=EqiaOutcome.CONTINUE, justification=" "
        )
    assert "justification" in refused.value.message_dict

    plans.eqia_save(
        plan=plan,
        actor=tenant.manager,
        rows=rows(age=negative),
        outcome=EqiaOutcome.CONTINUE,
        justification="The safety gain outweighs it",
    )
    with scope(organisation=tenant.organisation):
        eqia = fresh(plan).eqia
    assert (eqia.outcome, eqia.justification) == ("continue", "The safety gain outweighs it")


def test_an_eqia_that_says_stop_keeps_the_plan_from_being_agreed(tenant, plan) -> None:
    negative = EqiaRowInput("pregnancy_maternity", Impact.NEGATIVE, "Solvent exposure", "", None)
    submitted(plan, tenant, eqia_rows=rows(pregnancy_maternity=negative), outcome=EqiaOutcome.STOP)
    for user in (tenant.rep, tenant.manager):
        with pytest.raises(ValidationError, match="equality impact assessment"):
            sign(plan, user)
    assert plan.status == AssessmentStatus.IN_REVIEW
    sign(plan, tenant.manager, SignatureDecision.DECLINE, reasons="We will stop this plan.")
    assert plan.status == AssessmentStatus.CHANGES_REQUESTED


def test_adjusting_the_plan_turns_each_mitigation_into_one_action(tenant, plan) -> None:
    chosen = rows(
        age=EqiaRowInput("age", Impact.NEGATIVE, "Older operators", "Lift-assist at every station", tenant.rep),
        working_patterns=EqiaRowInput("working_patterns", Impact.UNKNOWN, "", "Ask the night shift", tenant.owner),
    )
    for _ in range(2):  # saving again does not duplicate the actions
        plans.eqia_save(plan=plan, actor=tenant.manager, rows=chosen, outcome=EqiaOutcome.ADJUST, justification="")
        with scope(organisation=tenant.organisation):
            actions = {a.source: a for a in ActionItem.objects.all()}
        assert set(actions) == {"eqia:age", "eqia:working_patterns"}
        assert all(a.plan_id == plan.pk for a in actions.values())
        assert actions["eqia:age"].owner == tenant.rep and actions["eqia:working_patterns"].owner == tenant.owner
        assert "Lift-assist at every station" in actions["eqia:age"].title


def test_an_eqia_owner_must_be_a_member(tenant, plan, outsider) -> None:
    foreign = EqiaRowInput("race", Impact.NEGATIVE, "Language", "Translated training", outsider)
    with pytest.raises(ValidationError) as refused:
        plans.eqia_save(
            plan=plan, actor=tenant.manager, rows=rows(race=foreign), outcome=EqiaOutcome.ADJUST, justification=""
        )
    assert "race-owner" in refused.value.message_dict
    with scope(organisation=tenant.organisation):
        assert not ActionItem.objects.exists()


# --- signing, amending and comparing --------------------------------------------------------


def test_a_final_plan_is_read_only_and_amending_starts_version_two(tenant, final_plan) -> None:
    v1 = final_plan
    assert v1.finalised_at is not None
    with scope(organisation=tenant.organisation):
        reservation = Signature.objects.get(decision="sign_with_reservations")
    assert reservation.reservations == "Review after six months."
    before = plan_snapshot_in_scope(v1)

    with pytest.raises(ValidationError, match="cannot be edited"):
        plans.plan_update_section(plan=v1, actor=tenant.manager, section="jobs", values={"jobs_affected": "All"})
    with pytest.raises(ValidationError, match="cannot be edited"):
        plans.meeting_add(plan=v1, actor=tenant.manager, held_on=date(2026, 4, 1), participants="HR", notes="")
    with pytest.raises(ValidationError, match="cannot be edited"):
        plans.eqia_save(
            plan=v1, actor=tenant.manager, rows=rows(), outcome=EqiaOutcome.NO_MAJOR_CHANGE, justification=""
        )

    v2 = plans.plan_amend(plan=v1, actor=tenant.manager)
    assert (v2.version, v2.status, v2.family_id) == (2, AssessmentStatus.DRAFT, v1.family_id)
    assert v2.pk != v1.pk
    after_v2 = plan_snapshot_in_scope(v2)
    assert after_v2["sections"] == before["sections"]  # every section, meeting and EqIA row copied
    assert after_v2["evidence"] == before["evidence"] and len(after_v2["evidence"]) == 1
    with scope(organisation=tenant.organisation):
        assert ConsultationMeeting.objects.filter(plan=v2).count() == 1
        assert PlanCitation.objects.filter(plan=v2).count() == 1
        assert EqiaRow.objects.filter(eqia__plan=v2).count() == 11
        assert EqiaRow.objects.get(eqia__plan=v2, characteristic="age").owner == tenant.rep

    # Version 2 is editable; version 1 stays exactly as signed.
    plans.plan_update_section(plan=v2, actor=tenant.manager, section="jobs", values={"jobs_affected": "Eight roles"})
    v1 = fresh(v1)
    assert v1.status == AssessmentStatus.FINAL and v1.jobs_affected == SECTIONS["jobs"]["jobs_affected"]
    assert plan_snapshot_in_scope(v1) == before
    views = signatures_for(v1)
    assert len(views) == 2 and all(v.valid for v in views)
    assert signatures_for(v2) == []

    with pytest.raises(ValidationError, match="newer version"):
        plans.plan_amend(plan=v1, actor=tenant.manager)
    with pytest.raises(ValidationError, match="Only a final plan"):
        plans.plan_amend(plan=v2, actor=tenant.manager)


def plan_snapshot_in_scope(plan: Plan) -> dict:
    with scope(organisation=plan.organisation):
        return plan_snapshot(fresh(plan))


def test_the_diff_shows_what_changed_between_versions(tenant, final_plan) -> None:
    v2 = plans.plan_amend(plan=final_plan, actor=tenant.manager)
    plans.plan_update_section(
        plan=v2,
        actor=tenant.manager,
        section="technology",
        values={"technology": "Three collaborative robots on lines 3 and 4"},
    )
    diffs = {d.key: d for d in plans.plan_diff(fresh(final_plan), fresh(v2))}
    assert list(diffs) == ["technology", "consultation", "health_safety", "skills", "data", "jobs", "equality"]

    technology = diffs["technology"]
    assert technology.changed
    assert ("-", "Two collaborative robots on line 3") in technology.lines
    assert ("+", "Three collaborative robots on lines 3 and 4") in technology.lines
    assert (" ", "Heavy castings hurt backs") in technology.lines  # the rationale did not change
    for key, diff in diffs.items():
        if key != "technology":
            assert not diff.changed, key
            assert {kind for kind, _text in diff.lines} <= {" "}, key


def test_editing_an_eqia_row_after_signing_voids_the_signatures(tenant, final_plan) -> None:
    assert all(v.valid for v in signatures_for(final_plan))
    with scope(organisation=tenant.organisation):
        EqiaRow.objects.filter(eqia__plan=final_plan, characteristic="sex").update(impact=Impact.POSITIVE)
    views = signatures_for(final_plan)
    assert len(views) == 2 and not any(v.valid for v in views)

    out = io.StringIO()
    with pytest.raises(CommandError, match="2 signature"):
        call_command("verify_signatures", stdout=out)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("VOID")]
    assert len(lines) == 2 and all("the plan changed after it was signed" in line for line in lines)


@pytest.mark.parametrize("edit", ["section", "meeting", "eqia"])
def test_an_edit_from_a_copy_loaded_before_signing_cannot_change_the_final_plan(tenant, plan, edit) -> None:
    """Edits re-read the plan under a lock, so a copy loaded before signing cannot write."""
    complete(plan, tenant)
    stale = fresh(plan)  # e.g. loaded by an edit request still running while the plan is submitted and signed
    plans.plan_submit(plan=plan, actor=tenant.manager)
    sign(plan, tenant.rep)
    sign(plan, tenant.manager)
    assert plan.status == AssessmentStatus.FINAL
    signed = plan_snapshot_in_scope(plan)

    try:
        if edit == "section":
            plans.plan_update_section(plan=stale, actor=tenant.manager, section="jobs", values={"jobs_affected": "All"})
        elif edit == "meeting":
            plans.meeting_add(plan=stale, actor=tenant.manager, held_on=date(2026, 5, 1), participants="HR", notes="")
        else:
            plans.eqia_save(
                plan=stale,
                actor=tenant.manager,
                rows=rows(Impact.UNKNOWN),
                outcome=EqiaOutcome.ADJUST,
                justification="",
            )
    except ValidationError:
        pass
    current = fresh(plan)
    assert current.status == AssessmentStatus.FINAL and current.finalised_at is not None
    assert plan_snapshot_in_scope(current) == signed
    assert all(v.valid for v in signatures_for(current))


def test_the_diff_names_eqia_owners_and_lists_characteristics_in_the_acts_order(tenant) -> None:
    tenant.manager.full_name = "Mark Mensah"
    tenant.manager.save(update_fields=["full_name"])
    owned = EqiaRowInput(
        "caring_responsibilities", Impact.NEGATIVE, "Survey", "Fixed shifts on request", tenant.manager
    )
    v1 = submitted(new_plan(tenant), tenant, eqia_rows=rows(caring_responsibilities=owned))
    sign(v1, tenant.rep)
    sign(v1, tenant.manager)
    v2 = plans.plan_amend(plan=v1, actor=tenant.manager)
    with scope(organisation=tenant.organisation):
        equality = {d.key: d for d in plans.plan_diff(fresh(v1), fresh(v2))}["equality"]
    texts = [text for _kind, text in equality.lines]
    assert "Owner: Mark Mensah" in texts and f"Owner: {tenant.manager.email}" not in texts
    labels = [str(label) for _value, label in Characteristic.choices]
    assert [t[:-1] for t in texts if t[:-1] in labels] == labels  # "Age:", ..., "Caring responsibilities:"
