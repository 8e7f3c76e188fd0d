"""The technology register and the new technology agreement through their services
(assessments/technology.py): registering systems, the DPIA's review cycle with the workforce's views,
adapting and signing the agreement, and every clock rule as the calendar moves on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope

from assessments import plans, technology, workflow
from assessments.models import (
    AgreementStatus,
    AssessmentStatus,
    EqiaOutcome,
    Plan,
    PlanKind,
    SystemStatus,
    TechnologyAgreement,
    TechnologySystem,
)
from assessments.technology import ClauseInput
from assessments.workflow import subject_hash
from portal.models import AuditEvent, Signature, SignatureCapacity
from portal.signing import SigningContext
from tests.assessments.test_plans import rows, sign

pytestmark = pytest.mark.django_db

CONTEXT = SigningContext(ip_address="127.0.0.1", user_agent="pytest")
TODAY = date(2026, 3, 2)


def register(tenant, **values) -> TechnologySystem:
    defaults = {
        "name": "Line 3 productivity dashboard",
        "supplier_name": "Acme Analytics Ltd",
        "purpose": "Shows output per cell to supervisors",
        "status": SystemStatus.PLANNED,
        "worker_data": "Badge-in times and units per operator",
        "monitors_people": True,
        "decisions": ["performance"],
    }
    defaults.update(values)
    return technology.system_create(organisation=tenant.organisation, actor=tenant.manager, values=defaults)


def agreement_in_force(tenant, notice_days: int = 90, meeting_days: int = 14) -> TechnologyAgreement:
    agreement = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA")
    with scope(organisation=tenant.organisation):
        clauses = [
            ClauseInput(c.title, c.text, c.key, {"notice": notice_days, "committee": meeting_days}.get(c.key, c.days))
            for c in agreement.clauses.all()
        ]
    technology.agreement_update(agreement=agreement, actor=tenant.manager, title="NTA", clauses=clauses)
    for user, capacity in ((tenant.manager, SignatureCapacity.MANAGEMENT), (tenant.rep, SignatureCapacity.WORKFORCE)):
        with scope(organisation=tenant.organisation):
            expected = technology.agreement_hash(agreement)
        technology.agreement_sign(
            agreement=agreement,
            signer=user,
            capacity=capacity,
            typed_name=user.email,
            expected_hash=expected,
            context=CONTEXT,
        )
    return agreement


def reload(system: TechnologySystem) -> TechnologySystem:
    with scope(organisation=system.organisation):
        return TechnologySystem.objects.select_related("organisation").get(pk=system.pk)


def states(system: TechnologySystem, today: date) -> dict[str, str]:
    with scope(organisation=system.organisation):
        return {c.key: c.state for c in technology.system_clocks(reload(system), today=today)}


def audit_verbs(tenant) -> list[str]:
    with scope(organisation=tenant.organisation):
        return list(AuditEvent.objects.filter(organisation=tenant.organisation).values_list("verb", flat=True))


# --- The register ------------------------------------------------------------------------------------


def test_a_system_is_registered_with_what_it_does_to_workers_and_audited(tenant) -> None:
    system = register(tenant, decisions=["hiring", "allocation", "allocation"])
    system = reload(system)
    assert system.monitors_people and system.processes_worker_data
    assert system.decisions == ["allocation", "hiring"]  # once each, in a stable order
    assert "technology.system_registered" in audit_verbs(tenant)


def test_names_are_unique_within_an_organisation_and_errors_name_the_field(tenant) -> None:
    register(tenant)
    with pytest.raises(ValidationError) as error:
        register(tenant)
    assert "name" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        register(tenant, name="Scheduler", decisions=["mind_reading"], status="broken")
    assert set(error.value.message_dict) == {"decisions", "status"}


def test_a_system_with_a_dpia_is_retired_not_deleted(tenant) -> None:
    system = register(tenant)
    technology.dpia_start(system=system, actor=tenant.manager)
    with pytest.raises(ValidationError, match="Mark it retired"):
        technology.system_delete(system=reload(system), actor=tenant.manager)
    other = register(tenant, name="Typo system")
    technology.system_delete(system=other, actor=tenant.manager)
    with scope(organisation=tenant.organisation):
        assert not TechnologySystem.objects.filter(pk=other.pk).exists()


def test_links_take_only_the_organisations_own_plans_and_evidence_and_known_criteria(
    tenant, outsider, framework
) -> None:
    system = register(tenant)
    other_plan = plans.plan_create(
        organisation=outsider.memberships.first().organisation, actor=outsider, kind="digitalisation", title="Theirs"
    )
    with pytest.raises(ValidationError) as error:
        technology.links_set(system=system, actor=tenant.manager, plan_ids=[other_plan.pk], criterion_codes=["9.9"])
    assert set(error.value.message_dict) == {"plans", "criteria"}
    own = plans.plan_create(organisation=tenant.organisation, actor=tenant.manager, kind="digitalisation", title="Ours")
    code = framework.criteria.order_by("position").first().code
    technology.links_set(system=system, actor=tenant.manager, plan_ids=[own.pk], criterion_codes=[code])
    with scope(organisation=tenant.organisation):
        links = technology.system_links(system)
    assert [p.title for p in links["plans"]] == ["Ours"]
    assert [c.code for c in links["criteria"]] == [code]
    assert "technology.links_changed" in audit_verbs(tenant)


# --- The DPIA: a plan of its own kind, the same review --------------------------------------------------

DPIA_TEXT = {
    "processing": {
        "dpia_nature": "Badge-in times and units per operator",
        "dpia_scope": "Line 3, 40 operators",
        "dpia_context": "Unionised site",
        "dpia_purpose": "Balance work between cells",
    },
    "necessity": {"dpia_necessity": "Output per cell is needed; per person is not, so it is aggregated"},
    "risks": {"dpia_risks": "Used for discipline by the back door"},
    "measures": {"dpia_measures": "Cell-level only; no individual league tables"},
    "consultation": {"shared_on": date(2026, 2, 1), "information_disclosed": "The vendor's data sheet"},
}


def written_dpia(tenant, system: TechnologySystem) -> Plan:
    dpia = technology.dpia_start(system=system, actor=tenant.manager)
    for section, values in DPIA_TEXT.items():
        plans.plan_update_section(plan=dpia, actor=tenant.manager, section=section, values=values)
    plans.eqia_save(plan=dpia, actor=tenant.manager, rows=rows(), outcome=EqiaOutcome.NO_MAJOR_CHANGE, justification="")
    return dpia


def test_a_dpia_starts_from_the_register_and_needs_the_workforces_views_before_review(tenant) -> None:
    system = register(tenant)
    dpia = written_dpia(tenant, system)
    assert dpia.kind == PlanKind.DPIA and dpia.system_id == system.pk
    assert dpia.dpia_nature  # started from what the register says
    with scope(organisation=tenant.organisation):
        dpia = Plan.objects.select_related("organisation").get(pk=dpia.pk)
    assert [s for s, _m in plans.plan_problems(dpia)] == ["workforce_views"], plans.plan_problems(dpia)
    with pytest.raises(ValidationError):
        technology.dpia_start(system=reload(system), actor=tenant.manager)  # one per system


def test_the_representative_records_the_workforces_views_and_their_signature_voids_on_change(tenant) -> None:
    system = register(tenant)
    dpia = written_dpia(tenant, system)
    views = {
        "consultation_method": "Two shift meetings and a pulse survey",
        "workers_views": "“We don't want a league table on the wall.”",
        "reps_response": "Agreed if it stays at cell level",
    }
    plans.plan_update_section(plan=dpia, actor=tenant.rep, section="workforce_views", values=views)
    with scope(organisation=tenant.organisation):
        dpia = Plan.objects.select_related("organisation").get(pk=dpia.pk)
    snapshot = workflow.plan_snapshot(dpia)
    assert snapshot["sections"]["workforce_views"]["workers_views"] == views["workers_views"]
    assert "technology" not in snapshot["sections"]  # a DPIA's own sections only
    plans.plan_submit(plan=dpia, actor=tenant.manager)
    signature = sign(dpia, tenant.manager)
    # Back to changes: the management signature no longer matches the words.
    workflow.changes_request(subject=dpia, actor=tenant.rep, reasons="Say how long badge data is kept")
    plans.plan_update_section(
        plan=dpia, actor=tenant.manager, section="measures", values={"dpia_measures": "Kept 30 days, cell level"}
    )
    with scope(organisation=tenant.organisation):
        signature = Signature.objects.get(pk=signature.pk)
        assert not signature.is_valid_for(subject_hash(dpia))
    plans.plan_submit(plan=dpia, actor=tenant.manager)
    sign(dpia, tenant.manager)
    sign(dpia, tenant.rep)
    with scope(organisation=tenant.organisation):
        assert Plan.objects.get(pk=dpia.pk).status == AssessmentStatus.FINAL


def test_existing_plans_hash_as_before(tenant) -> None:
    """Adding DPIAs left every other plan's snapshot as it was signed: no "system" key, the six sections."""
    plan = plans.plan_create(organisation=tenant.organisation, actor=tenant.manager, kind="digitalisation", title="P")
    with scope(organisation=tenant.organisation):
        snapshot = workflow.plan_snapshot(Plan.objects.select_related("organisation").get(pk=plan.pk))
    assert "system" not in snapshot
    assert list(snapshot["sections"]) == [k for k, _t, _f in workflow.PLAN_SECTIONS]


# --- The agreement -----------------------------------------------------------------------------------


def test_the_agreement_starts_from_the_library_and_each_clause_is_adaptable(tenant) -> None:
    agreement = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA 2026")
    with scope(organisation=tenant.organisation):
        clauses = list(agreement.clauses.all())
    assert [c.key for c in clauses] == [c.key for c in technology.CLAUSE_LIBRARY]
    notice = next(c for c in clauses if c.key == "notice")
    assert "90 days" in notice.wording
    adapted = [ClauseInput(c.title, c.text, c.key, c.days) for c in clauses if c.key != "experts"]
    adapted[0] = ClauseInput("Notice", "At least {days} days' written notice.", "notice", 60)
    adapted.append(ClauseInput("Canteen screens", "No output screens in rest areas."))
    technology.agreement_update(agreement=agreement, actor=tenant.rep, title="NTA 2026", clauses=adapted)
    with scope(organisation=tenant.organisation):
        clauses = list(agreement.clauses.all())
        assert technology.periods(agreement).notice_days == 60
    assert clauses[0].wording == "At least 60 days' written notice."
    assert clauses[-1].key == "" and "experts" not in [c.key for c in clauses]


def test_clause_errors_point_at_the_clause(tenant) -> None:
    agreement = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA")
    bad = [
        ClauseInput("Notice", "Some notice.", "notice", 60),  # the number is missing from the words
        ClauseInput("", "Words", ""),
        ClauseInput("Committee", "Meets within {days} days.", "committee", 0),
        ClauseInput("Other", "Within {days} days.", ""),
    ]
    with pytest.raises(ValidationError) as error:
        technology.agreement_update(agreement=agreement, actor=tenant.manager, title="NTA", clauses=bad)
    assert set(error.value.message_dict) == {"clause_1_text", "clause_2_title", "clause_3_days", "clause_4_text"}


def test_both_sides_sign_and_a_change_after_one_signature_needs_it_again(tenant) -> None:
    agreement = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA")
    with scope(organisation=tenant.organisation):
        before = technology.agreement_hash(agreement)
        clauses = [ClauseInput(c.title, c.text, c.key, c.days) for c in agreement.clauses.all()]
    technology.agreement_sign(
        agreement=agreement,
        signer=tenant.manager,
        capacity=SignatureCapacity.MANAGEMENT,
        typed_name="Mo",
        expected_hash=before,
        context=CONTEXT,
    )
    clauses[0] = ClauseInput(clauses[0].title, clauses[0].text, "notice", 30)
    technology.agreement_update(agreement=agreement, actor=tenant.rep, title="NTA", clauses=clauses)
    with scope(organisation=tenant.organisation):
        after = technology.agreement_hash(agreement)
        assert technology.current_signatures(agreement)[SignatureCapacity.MANAGEMENT] is None
    with pytest.raises(ValidationError, match="changed while you were reading"):
        technology.agreement_sign(
            agreement=agreement,
            signer=tenant.rep,
            capacity=SignatureCapacity.WORKFORCE,
            typed_name="Rae",
            expected_hash=before,
            context=CONTEXT,
        )
    technology.agreement_sign(
        agreement=agreement,
        signer=tenant.rep,
        capacity=SignatureCapacity.WORKFORCE,
        typed_name="Rae",
        expected_hash=after,
        context=CONTEXT,
    )
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.DRAFT  # management signed other words
    technology.agreement_sign(
        agreement=agreement,
        signer=tenant.manager,
        capacity=SignatureCapacity.MANAGEMENT,
        typed_name="Mo",
        expected_hash=after,
        context=CONTEXT,
    )
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.IN_FORCE and agreement.content_hash == after
    with pytest.raises(ValidationError, match="start a new version"):
        technology.agreement_update(agreement=agreement, actor=tenant.manager, title="NTA", clauses=clauses)
    # A new version supersedes it once signed.
    second = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA 2027")
    with scope(organisation=tenant.organisation):
        assert second.version == 2 and second.clauses.count() == len(clauses)
        assert technology.agreement_in_force(tenant.organisation).pk == agreement.pk
    assert "technology.agreement_in_force" in audit_verbs(tenant)


# --- The clocks, with the calendar moved on --------------------------------------------------------------


def test_no_clocks_without_an_agreement_in_force(tenant) -> None:
    system = register(tenant, go_live_on=TODAY + timedelta(days=10))
    assert states(system, TODAY) == {}
    assert reload(system).attention == ""


def test_notice_on_time_then_meeting_on_time_keeps_every_clock(tenant) -> None:
    with time_machine.travel(TODAY, tick=False):
        agreement_in_force(tenant)
        system = register(tenant, go_live_on=TODAY + timedelta(days=120))
        assert reload(system).attention == "notice"
        assert reload(system).attention_due == TODAY + timedelta(days=30)
        technology.notice_record(system=system, actor=tenant.manager, notice_given_on=TODAY, committee_met_on=None)
        assert reload(system).attention == "meeting"
        assert reload(system).attention_due == TODAY + timedelta(days=14)
    with time_machine.travel(TODAY + timedelta(days=10), tick=False):
        technology.notice_record(
            system=reload(system),
            actor=tenant.manager,
            notice_given_on=TODAY,
            committee_met_on=TODAY + timedelta(days=10),
        )
        assert reload(system).attention == ""
    assert states(system, TODAY + timedelta(days=100)) == {"notice": "kept", "meeting": "kept"}
    assert "technology.clock_breached" not in audit_verbs(tenant)


def test_a_meeting_not_held_in_time_is_late_and_recorded_once_by_the_daily_sweep(tenant) -> None:
    with time_machine.travel(TODAY, tick=False):
        agreement_in_force(tenant)
        system = register(tenant, go_live_on=TODAY + timedelta(days=120))
        technology.notice_record(system=system, actor=tenant.manager, notice_given_on=TODAY, committee_met_on=None)
    assert states(system, TODAY + timedelta(days=14))["meeting"] == "due"
    later = TODAY + timedelta(days=15)
    assert states(system, later)["meeting"] == "late"
    with time_machine.travel(later, tick=False):
        assert technology.sweep_clocks() == 1
        assert technology.sweep_clocks() == 0  # once
    assert audit_verbs(tenant).count("technology.clock_breached") == 1
    assert reload(system).attention == "meeting"  # still to be held
    with time_machine.travel(later + timedelta(days=1), tick=False):
        technology.notice_record(
            system=reload(system), actor=tenant.manager, notice_given_on=TODAY, committee_met_on=later
        )
    assert states(system, later + timedelta(days=1))["meeting"] == "late"  # held, but late: stays on record
    assert reload(system).attention == ""


def test_go_live_inside_the_notice_period_is_a_breach_flagged_and_audited(tenant) -> None:
    with time_machine.travel(TODAY, tick=False):
        agreement_in_force(tenant)
        system = register(tenant, go_live_on=TODAY + timedelta(days=120))
        technology.notice_record(system=system, actor=tenant.manager, notice_given_on=TODAY, committee_met_on=None)
        technology.system_update(
            system=reload(system), actor=tenant.manager, values={"go_live_on": TODAY + timedelta(days=45)}
        )
        clocks = {c.key: c for c in technology.system_clocks(reload(system))}
        assert clocks["go_live"].state == "breached"
        assert "inside the notice period" in clocks["go_live"].detail
        assert reload(system).attention == "breach"  # it can still be moved
        assert audit_verbs(tenant).count("technology.clock_breached") == 1
        technology.system_update(
            system=reload(system), actor=tenant.manager, values={"go_live_on": TODAY + timedelta(days=95)}
        )
        assert reload(system).attention == "meeting"
        assert "go_live" not in states(system, TODAY)


def test_notice_never_given_becomes_a_breach_as_go_live_nears(tenant) -> None:
    with time_machine.travel(TODAY, tick=False):
        agreement_in_force(tenant)
        system = register(tenant, go_live_on=TODAY + timedelta(days=100))
    assert states(system, TODAY + timedelta(days=10)) == {"notice": "due"}
    assert states(system, TODAY + timedelta(days=11)) == {"go_live": "breached"}
    with time_machine.travel(TODAY + timedelta(days=11), tick=False):
        assert technology.sweep_clocks() == 1
        assert reload(system).attention == "breach"


def test_systems_live_before_the_agreement_and_retired_systems_have_no_clocks(tenant) -> None:
    old = register(tenant, name="Old ERP", status=SystemStatus.LIVE, go_live_on=TODAY - timedelta(days=400))
    with time_machine.travel(TODAY, tick=False):
        agreement_in_force(tenant)
    retired = register(tenant, name="Retired", status=SystemStatus.RETIRED, go_live_on=TODAY + timedelta(days=5))
    assert states(old, TODAY) == {}
    assert states(retired, TODAY) == {}


def test_a_new_agreement_in_force_moves_every_clock_to_its_periods(tenant) -> None:
    with time_machine.travel(TODAY, tick=False):
        agreement_in_force(tenant, notice_days=30)
        system = register(tenant, go_live_on=TODAY + timedelta(days=40))
        technology.notice_record(system=system, actor=tenant.manager, notice_given_on=TODAY, committee_met_on=None)
        assert "go_live" not in states(system, TODAY)
        # The parties agree a longer notice period: the planned go-live is now inside it.
        agreement_in_force(tenant, notice_days=60)
        assert states(system, TODAY)["go_live"] == "breached"
        assert reload(system).attention == "breach"
    assert timezone.now()  # travel ended


def test_words_changed_in_the_database_after_signing_void_both_signatures(tenant) -> None:
    """Someone with the application's own database role rewrites a clause of the agreement in force:
    `verify_signatures` names both signatures as void."""
    from assessments.models import AgreementClause
    from assessments.signatures import void_signatures

    agreement = agreement_in_force(tenant)
    with scope(organisation=tenant.organisation):
        assert list(void_signatures(tenant.organisation)) == []
        AgreementClause.objects.filter(agreement=agreement, key="notice").update(days=7)
        void = list(void_signatures(tenant.organisation))
    assert {v.signature.capacity for v in void} == {SignatureCapacity.MANAGEMENT, SignatureCapacity.WORKFORCE}
    assert {v.reason for v in void} == {"the agreement changed after it was signed"}


def test_each_person_signs_only_for_their_own_side(tenant) -> None:
    agreement = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA")
    with scope(organisation=tenant.organisation):
        expected = technology.agreement_hash(agreement)
    technology.agreement_sign(
        agreement=agreement,
        signer=tenant.owner,
        capacity=SignatureCapacity.MANAGEMENT,
        typed_name="Owen",
        expected_hash=expected,
        context=CONTEXT,
    )
    for user in (tenant.owner, tenant.auditor, tenant.member):
        with pytest.raises(ValidationError, match="does not sign for this side"):
            technology.agreement_sign(
                agreement=agreement,
                signer=user,
                capacity=SignatureCapacity.WORKFORCE,
                typed_name="Someone",
                expected_hash=expected,
                context=CONTEXT,
            )
    with pytest.raises(ValidationError, match="does not sign for this side"):
        technology.agreement_sign(
            agreement=agreement,
            signer=tenant.rep,
            capacity=SignatureCapacity.MANAGEMENT,
            typed_name="Rae",
            expected_hash=expected,
            context=CONTEXT,
        )


def test_a_signed_draft_is_never_discarded_with_its_signature(tenant) -> None:
    """A signature records what someone agreed to: the service, the page and the API refuse to delete a
    draft anyone has signed, and the signature stays."""
    from tests.conftest import client_for

    agreement = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA")
    with scope(organisation=tenant.organisation):
        expected = technology.agreement_hash(agreement)
    signature = technology.agreement_sign(
        agreement=agreement,
        signer=tenant.rep,
        capacity=SignatureCapacity.WORKFORCE,
        typed_name="Rae",
        expected_hash=expected,
        context=CONTEXT,
    )
    with pytest.raises(ValidationError, match="already signed this draft"):
        technology.agreement_delete(agreement=agreement, actor=tenant.manager)
    slug = tenant.organisation.slug
    page = client_for(tenant.manager).post(f"/o/{slug}/technology/agreement/{agreement.pk}/delete/", follow=True)
    assert "already signed this draft" in page.content.decode()
    with scope(organisation=tenant.organisation):
        assert TechnologyAgreement.objects.filter(pk=agreement.pk).exists()
        assert Signature.objects.filter(pk=signature.pk).exists()


def test_a_dpia_of_a_system_with_the_longest_name_still_starts(tenant) -> None:
    system = register(tenant, name="N" * 200)
    dpia = technology.dpia_start(system=system, actor=tenant.manager)
    assert dpia.title == ("DPIA: " + "N" * 200)[:200]
    with scope(organisation=tenant.organisation):
        event = AuditEvent.objects.filter(verb="plan.created").order_by("-sequence").first()
    assert event is not None and event.after["system"] == "N" * 200
