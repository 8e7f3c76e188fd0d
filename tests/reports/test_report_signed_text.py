"""The signed text inside the attestation report (issue 17, part 3): each final plan reproduced as its
signatures bind it, with the fingerprint they bind, its consultation meetings (or, in words, their
absence), its equality impact assessment with the outcome's justification, and a signature trail per
item like an e-signature completion certificate. Read back from the PDF's text layer with pypdf."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django_scopes import scope

from assessments import plans, workflow
from assessments.models import AssessmentStatus, Characteristic, ConsultationOutcome, EqiaOutcome, Impact, Plan
from assessments.plans import EqiaRowInput
from portal.models import Signature, SignatureDecision
from portal.signing import SigningContext
from portal.templatetags.portal_tags import when
from reports import signed_text
from reports.models import AttestationReport, ReportStatus
from reports.rendering import report_context
from tests.assessments.test_plans import SECTIONS, fresh, new_plan, rows, upload_evidence
from tests.querycount import counting
from tests.reports.conftest import RESERVATIONS, ready_report, report_bytes, request_and_render
from tests.reports.test_reports import pdf_text, squash, words

pytestmark = [
    pytest.mark.django_db,
    # WeasyPrint 70 opens its bundled sRGB ICC profile for PDF/A output and never closes it.
    pytest.mark.filterwarnings(r"ignore:unclosed file <_io.BufferedReader name=.*sRGB2014\.icc.>:ResourceWarning"),
]

PASSWORD = SigningContext(ip_address="127.0.0.1", user_agent="pytest", auth_methods=["password"])
TWO_FACTOR = SigningContext(ip_address="127.0.0.1", user_agent="pytest", auth_methods=["password", "mfa", "totp"])
# A summer moment, so the trail's time is labelled BST (the assessment is signed now: GMT or BST).
SUMMER = datetime(2026, 7, 14, 13, 5, 30, tzinfo=UTC)
PLAN_RESERVATIONS = "We agree on condition that the night shift is trained first.\nNo overtime for the training."
JUSTIFICATION = "Older operators get lift-assist before the cell goes live, so the plan is adjusted, not stopped."
MEETING = {"held_on": date(2026, 3, 9), "participants": "Unite reps, HR and the line 3 supervisor"}
MEETING_NOTES = "Layouts of the cell and the vendor's risk assessment walked through"
CONDITIONS = "Retraining happens in paid hours and no role is cut before April 2027"


def sign(subject, user, decision=SignatureDecision.SIGN, *, typed_name, context=PASSWORD, **kwargs) -> Signature:
    """tests.assessments.test_plans.sign with the typed name and the way the signer signed in chosen."""
    return workflow.subject_sign(
        subject=subject,
        signer=user,
        decision=decision,
        typed_name=typed_name,
        expected_hash=workflow.subject_hash(subject),
        context=context,
        **kwargs,
    )


@pytest.fixture
def final_plan(tenant) -> Plan:
    """A plan with every section filled, a meeting, cited evidence and an EqIA "Adjust the plan" with its
    justification, signed in summer: the rep with reservations (password only), the manager with
    two-factor authentication. Final."""
    with time_machine.travel(SUMMER, tick=False):
        plan = new_plan(tenant)
        evidence = upload_evidence(tenant, name="cobot-risk-assessment.pdf")
        plans.meeting_add(plan=plan, actor=tenant.manager, notes=MEETING_NOTES, **MEETING)
        plans.plan_update_section(
            plan=plan, actor=tenant.manager, section="technology", values={}, evidence_ids=[evidence.pk]
        )
        owned = EqiaRowInput("age", Impact.NEGATIVE, "Older operators", "Lift-assist at every station", tenant.rep)
        for section, values in SECTIONS.items():
            plans.plan_update_section(plan=plan, actor=tenant.manager, section=section, values=values)
        plans.eqia_save(
            plan=plan,
            actor=tenant.manager,
            rows=rows(age=owned),
            outcome=EqiaOutcome.ADJUST,
            justification=JUSTIFICATION,
        )
        plans.plan_submit(plan=plan, actor=tenant.manager)
        sign(
            plan,
            tenant.rep,
            SignatureDecision.SIGN_WITH_RESERVATIONS,
            typed_name="Rachel Reid",
            job_title="Unite convenor",
            reservations=PLAN_RESERVATIONS,
        )
        sign(plan, tenant.manager, typed_name="Mark Mason", job_title="Operations Director", context=TWO_FACTOR)
    assert plan.status == AssessmentStatus.FINAL
    return plan


def conditional_plan(tenant, *, justification: str = "", declined_with: str = "") -> Plan:
    """A plan agreed with conditions, with no meeting on record and an EqIA outcome "Adjust the plan"
    given without a justification: final. `declined_with`: the rep first declines with these reasons,
    and the plan is sent again unchanged."""
    plan = new_plan(tenant, title="Vision inspection on line 5")
    consultation = {
        **SECTIONS["consultation"],
        "consultation_outcome": ConsultationOutcome.AGREED_WITH_CONDITIONS,
        "consultation_conditions": CONDITIONS,
    }
    for section, values in SECTIONS.items():
        plans.plan_update_section(
            plan=plan,
            actor=tenant.manager,
            section=section,
            values=consultation if section == "consultation" else values,
        )
    plans.eqia_save(
        plan=plan, actor=tenant.manager, rows=rows(), outcome=EqiaOutcome.ADJUST, justification=justification
    )
    plans.plan_submit(plan=plan, actor=tenant.manager)
    if declined_with:
        sign(plan, tenant.rep, SignatureDecision.DECLINE, typed_name="Rachel Reid", reasons=declined_with)
        plans.plan_submit(plan=plan, actor=tenant.manager)
    sign(plan, tenant.rep, typed_name="Rachel Reid")
    sign(plan, tenant.manager, typed_name="Mark Mason")
    assert plan.status == AssessmentStatus.FINAL
    return plan


def rendered_text(tenant, assessment, capture) -> str:
    report = request_and_render(tenant, assessment, capture)
    assert report.status == ReportStatus.READY, report.error
    return pdf_text(report_bytes(report))


def clean(text: str) -> str:
    """The text with whitespace collapsed and without the running header and footer (a page break may
    fall anywhere)."""
    return re.sub(r"Acme Precision Engineering Attestation report Report [0-9a-f-]+ Page \d+ of \d+ ?", "", words(text))


def plans_section(text: str) -> str:
    """The "Agreed plans" section's text (see `clean`)."""
    flat = clean(text)
    return flat[flat.index("Each final plan is reproduced word for word") : flat.rindex("Supply-chain coverage")]


def plan_signatures(plan: Plan) -> list[Signature]:
    with scope(organisation=plan.organisation):
        return list(Signature.objects.filter(subject_type="plan", subject_id=plan.pk).order_by("signed_at"))


def part(flat: str, start: str, end: str) -> str:
    """The text between two headings (the first `start`, then the first `end` after it)."""
    begin = flat.index(start)
    return flat[begin : flat.index(end, begin + len(start))]


# --- the plan's text as signed ----------------------------------------------------------------


def test_each_final_plan_is_reproduced_word_for_word_with_the_fingerprint_its_signatures_bind(
    tenant, final_assessment, final_plan, django_capture_on_commit_callbacks
) -> None:
    text = rendered_text(tenant, final_assessment, django_capture_on_commit_callbacks)
    plan_text = plans_section(text)
    # Every section under its heading, every field word for word, as the snapshot holds it.
    headings = [
        "The technology and why",
        "Consultation with the workforce",
        "Health, safety, welfare and environment",
        "Skills and retraining",
        "Employee data use",
        "Jobs, redeployment and reinvestment",
        "Equality impact assessment",
    ]
    positions = [plan_text.index(h) for h in headings]
    assert positions == sorted(positions), headings
    for section, values in SECTIONS.items():
        for name, value in values.items():
            if isinstance(value, str) and name != "consultation_outcome":
                assert value in plan_text, (section, name)
    assert "Date the plan was shared with the workforce 2 March 2026" in plan_text
    assert "Outcome of the consultation Agreed" in plan_text
    assert "cobot-risk-assessment.pdf" in plan_text
    # The fingerprint printed for the text is the plan's content hash, the one both signatures bind.
    printed = re.findall(r"This is the text the signatures below are bound to \(fingerprint ([0-9a-f\s]+)\)", plan_text)
    assert len(printed) == 1, printed
    fingerprint = squash(printed[0])
    assert fingerprint == workflow.subject_hash(final_plan)
    signatures = plan_signatures(final_plan)
    assert [s.content_hash for s in signatures] == [fingerprint, fingerprint]
    # The text shown is the snapshot stored with the signatures: every value that enters the hash.
    assert signatures[-1].snapshot["sections"]["technology"]["technology"] in plan_text


def test_a_plan_changed_after_signing_shows_the_text_as_signed_and_its_signatures_stay_void(
    tenant, final_assessment, final_plan, django_capture_on_commit_callbacks
) -> None:
    signed_hash = workflow.subject_hash(final_plan)
    with scope(organisation=tenant.organisation):
        Plan.objects.filter(pk=final_plan.pk).update(technology="Six robots and no people")
    changed_hash = workflow.subject_hash(fresh(final_plan))
    assert changed_hash != signed_hash
    plan_text = plans_section(rendered_text(tenant, final_assessment, django_capture_on_commit_callbacks))
    dense = squash(plan_text)
    # The reader sees what was signed, not the changed content, and is told it changed.
    assert SECTIONS["technology"]["technology"] in plan_text and "Six robots and no people" not in plan_text
    assert squash(f"This is the text the signatures below are bound to (fingerprint {signed_hash})") in dense
    assert "The plan’s content has changed since it was signed" in plan_text and changed_hash in squash(plan_text)
    trail = plan_text[plan_text.index("Signature trail") :]
    void = "Void: the content changed after it was signed, so this signature no longer counts towards agreement"
    assert trail.count(void) == 2 and "Valid: counts towards agreement" not in trail


# --- consultation meetings --------------------------------------------------------------------


def test_meetings_are_listed_and_an_agreement_with_conditions_without_meetings_is_said_in_words(
    tenant, final_assessment, final_plan, django_capture_on_commit_callbacks
) -> None:
    conditional_plan(tenant)
    text = rendered_text(tenant, final_assessment, django_capture_on_commit_callbacks)
    plan_text = plans_section(text)
    with_meeting = part(plan_text, "Cobots on line 3", "Vision inspection on line 5")
    assert "9 March 2026" in with_meeting
    assert MEETING["participants"] in with_meeting and MEETING_NOTES in with_meeting
    without = plan_text[plan_text.index("Vision inspection on line 5") :]
    assert "Outcome of the consultation Agreed with conditions" in without and CONDITIONS in without
    assert (
        "No consultation meetings recorded, although the consultation outcome is recorded as “Agreed with conditions”."
        in without
    )
    assert "Consultation meetings 0" not in words(text) and "Consultation meetings: 0" not in words(text)


# --- equality impact assessment ----------------------------------------------------------------


def test_the_eqia_outcome_comes_with_its_justification_or_says_none_was_recorded(
    tenant, final_assessment, final_plan, django_capture_on_commit_callbacks
) -> None:
    conditional_plan(tenant, justification="")
    plan_text = plans_section(rendered_text(tenant, final_assessment, django_capture_on_commit_callbacks))
    justified = part(
        part(plan_text, "Cobots on line 3", "Vision inspection on line 5"), "Equality impact", "Evidence cited"
    )
    assert f"Outcome Adjust the plan Justification {JUSTIFICATION}" in justified
    # The rows: characteristic, impact, evidence, mitigation and owner.
    owner = f"{tenant.rep.display_name}({tenant.rep.email})"  # the address may wrap anywhere
    assert squash(f"Age Negative Older operators Lift-assist at every station {owner}") in squash(justified)
    bare = part(plan_text[plan_text.index("Vision inspection on line 5") :], "Equality impact", "Evidence cited")
    assert "Outcome Adjust the plan Justification No justification recorded" in bare


def test_the_signed_eqia_lists_the_characteristics_in_the_equality_acts_order(tenant, final_plan) -> None:
    """The snapshot keeps its rows by code (the signatures' hashes depend on it); the report lists them as
    every page does: the Act's nine characteristics, then working patterns and caring responsibilities."""
    (shown,) = signed_text.plans_context(tenant.organisation)
    rows = shown["eqia"]["rows"]
    assert [str(r["characteristic_label"]) for r in rows] == [str(label) for _v, label in Characteristic.choices]
    assert rows[0]["owner"] == tenant.rep.display_name  # the age row's owner, named


# --- the signature trail ----------------------------------------------------------------------


def test_the_signature_trail_shows_who_signed_how_when_and_their_reservations_word_for_word(
    tenant, final_assessment, final_plan, django_capture_on_commit_callbacks
) -> None:
    reasons = "The conditions are not written down yet.\nWrite them into the plan first."
    conditional_plan(tenant, declined_with=reasons)
    text = rendered_text(tenant, final_assessment, django_capture_on_commit_callbacks)
    plan_text = plans_section(text)
    trail = plan_text[plan_text.index("Signature trail") :]
    rep, manager = plan_signatures(final_plan)
    # In summer the portal's time zone is BST; each moment with seconds.
    assert when(rep.signed_at, "seconds") == "14 July 2026, 14:05:30 BST"
    rep_entry = part(trail, "For the workforce: Rachel Reid", "For management: Mark Mason")
    assert "Decision Signed with reservations" in rep_entry
    assert "Time 14 July 2026, 14:05:30 BST" in rep_entry
    assert "Typed name Rachel Reid" in rep_entry
    assert f"Portal account {tenant.rep.display_name} ({tenant.rep.email})" in rep_entry
    assert "Signed for The workforce, as Workforce representative in the portal" in rep_entry
    assert "Job title Unite convenor" in rep_entry
    assert "Authentication Password only" in rep_entry
    assert "Status Valid: counts towards agreement" in rep_entry
    assert rep.content_hash in squash(rep_entry)
    # The reservations word for word, line break and all.
    for line in PLAN_RESERVATIONS.splitlines():
        assert line in rep_entry
    manager_entry = trail[trail.index("For management: Mark Mason") :]
    assert "Decision Signed" in manager_entry and "Typed name Mark Mason" in manager_entry
    assert "Authentication Password + two-factor authentication (authenticator app)" in manager_entry
    assert "Signed for Management, as Manager in the portal" in manager_entry
    assert manager.content_hash in squash(manager_entry)
    # A decline of an earlier review round stays on the trail, with its reasons word for word.
    second = plan_text[plan_text.index("Signature trail", plan_text.index("Vision inspection on line 5")) :]
    declined = part(second, "For the workforce: Rachel Reid", "For the workforce: Rachel Reid")
    assert "Decision Declined to sign" in declined
    assert "Status Given in an earlier review round: does not count towards agreement" in declined
    for line in reasons.splitlines():
        assert line in declined
    assert second.count("Status Valid: counts towards agreement") == 2
    # The assessment's agreement gets the same trail (signed now: its own zone label).
    flat = clean(text)
    agreement = flat[
        flat.index("Decisions of management and of the workforce on this assessment") : flat.rindex(
            "Criteria, evidence and actions"
        )
    ]
    with scope(organisation=tenant.organisation):
        assessment_signatures = list(
            Signature.objects.filter(subject_type="assessment", subject_id=final_assessment.pk).order_by("signed_at")
        )
    for signature in assessment_signatures:
        moment = when(signature.signed_at, "seconds")
        assert re.fullmatch(r"\d{1,2} \w+ \d{4}, \d{2}:\d{2}:\d{2} (GMT|BST)", moment)
        assert f"Time {moment}" in agreement and f"Typed name {signature.typed_name}" in agreement
    assert RESERVATIONS in agreement and agreement.count("Authentication Not recorded (no two-factor") == 2


# --- queries ---------------------------------------------------------------------------------


def test_the_plans_context_reads_the_same_queries_for_one_plan_as_for_three(
    tenant, final_assessment, final_plan
) -> None:
    stored = ready_report(tenant, final_assessment)

    def queries() -> tuple[int, int, int]:
        """Queries of the plans' context alone, of the report's whole context, and the plans shown."""
        with scope(organisation=tenant.organisation):
            report = AttestationReport.objects.select_related("organisation", "assessment").get(pk=stored.pk)
        with counting() as plans_only:
            shown = signed_text.plans_context(tenant.organisation)
        with counting() as whole:
            report_context(report)
        return len(plans_only), len(whole), len(shown)

    queries()  # the framework's principles are cached after the first read
    plans_one, whole_one, shown = queries()
    assert shown == 1
    conditional_plan(tenant)
    conditional_plan(tenant, justification="Reasons")
    plans_three, whole_three, shown = queries()
    assert shown == 3
    # The plans with their EqIAs, meetings, EqIA rows, cited evidence, and all their signatures.
    assert plans_three == plans_one == 5
    assert whole_three == whole_one
