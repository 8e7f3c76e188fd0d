"""Demo data: a half-filled self-assessment with evidence and action items, so a newcomer sees a living portal."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from django_scopes import scope

from assessments import services
from assessments.models import Assessment, Evidence, Response
from portal.models import Organisation, User
from principles.framework import ensure_framework

# A minimal valid PDF: one blank A4 page, with the cross-reference table (byte offsets of objects 1 to 3) and
# startxref that the upload check requires. Edit it and the offsets must be counted again.
_PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n"
    b"2 0 obj\n<</Type/Pages/Kids[3 0 R]/Count 1>>\nendobj\n"
    b"3 0 obj\n<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>\nendobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000054 00000 n \n0000000105 00000 n \n"
    b"trailer\n<</Size 4/Root 1 0 R>>\nstartxref\n170\n%%EOF\n"
)
# maturity and narrative for the first criteria of principles 1 to 3 (the rest stay unanswered)
_ANSWERS = {
    "1.1": (
        3,
        "Plans for the new vision inspection cells were presented to the joint consultation committee "
        "in March, six weeks before the purchase decision.",
    ),
    "1.2": (2, "Unite representatives were consulted on the cell layout; their written response is on file."),
    "1.3": (2, "Agreement is reached for major projects; smaller software changes are not yet discussed."),
    "1.4": (1, "An issues log is planned for the next project."),
    "1.5": (3, "The joint technology forum meets quarterly with two union and two management members."),
    "1.6": (2, "New roles created by the cells were graded with the union before recruitment."),
    "2.1": (
        3,
        "Risk assessments for the cobots were done with the safety representative before installation.",
    ),
    "2.2": (1, "An energy baseline is planned."),
    "3.1": (2, "A skills plan exists for the machining cell only."),
}


def demo_assessment(organisation: Organisation, users: dict[str, User]) -> None:
    framework = ensure_framework()
    owner, manager = users["owner@acme.example"], users["manager@acme.example"]
    with scope(organisation=organisation):
        if Assessment.objects.filter(organisation=organisation).exists():
            return
        today = timezone.localdate()
        assessment = services.assessment_create(
            organisation=organisation,
            actor=manager,
            framework=framework,
            title=f"Self-assessment {today.year}",
            period_start=date(today.year, 1, 1),
            period_end=date(today.year, 12, 31),
        )
        minutes = services.evidence_upload(
            organisation=organisation,
            actor=manager,
            file=io.BytesIO(_PDF),
            name="JCC minutes March.pdf",
            description="Minutes of the joint consultation committee where the inspection cells were presented",
            effective_date=today - timedelta(days=240),
            expiry_date=None,
        )
        forum = services.evidence_upload(
            organisation=organisation,
            actor=manager,
            file=io.BytesIO(b"Joint technology forum\nTerms of reference\n"),
            name="Technology forum terms of reference.txt",
            description="Terms of reference of the joint technology forum",
            effective_date=today - timedelta(days=400),
            expiry_date=None,
        )
        risk = services.evidence_upload(
            organisation=organisation,
            actor=manager,
            file=io.BytesIO(_PDF),
            name="Cobot risk assessment.pdf",
            description="Risk assessment for the collaborative robots, signed by the safety representative",
            effective_date=today - timedelta(days=380),
            expiry_date=today - timedelta(days=15),
        )
        training = services.evidence_upload(
            organisation=organisation,
            actor=manager,
            file=io.BytesIO(_PDF),
            name="Cobot training matrix.pdf",
            description="Training matrix for the line 3 operators, valid until the supplier's next audit",
            effective_date=today - timedelta(days=340),
            expiry_date=today + timedelta(days=12),
        )
        cited = {"1.1": [minutes], "1.5": [forum], "1.6": [training], "2.1": [risk]}
        responses = {
            r.criterion.code: r
            for r in Response.objects.filter(assessment=assessment).select_related("criterion", "assessment")
        }
        for code, (maturity, narrative) in _ANSWERS.items():
            services.response_save(
                response=responses[code],
                actor=manager,
                maturity=maturity,
                narrative=narrative,
                evidence_ids=[e.pk for e in cited.get(code, [])],
            )
        services.action_item_create(
            response=responses["1.4"],
            actor=manager,
            title="Set up an issues log for digital projects",
            owner=manager,
            due_date=today - timedelta(days=10),
        )
        services.action_item_create(
            response=responses["3.1"],
            actor=owner,
            title="Extend the skills plan to the assembly cell",
            owner=owner,
            due_date=today + timedelta(days=5),
        )
        services.action_item_create(
            response=responses["2.2"],
            actor=owner,
            title="Measure the energy baseline of the machine shop",
            owner=manager,
            due_date=today + timedelta(days=45),
        )
        assert Evidence.objects.filter(organisation=organisation).count() == 4


def demo_plans(organisation: Organisation, users: dict[str, User]) -> None:
    """A plan in consultation with the reps, and a final plan the reps signed with reservations."""
    from assessments import plans, surveys, workflow
    from assessments.models import Characteristic, ConsultationOutcome, EqiaOutcome, Impact, Plan
    from portal.models import SignatureDecision
    from portal.signing import SigningContext

    owner, manager, rep = users["owner@acme.example"], users["manager@acme.example"], users["rep@acme.example"]
    context = SigningContext(user_agent="demo data")
    today = timezone.localdate()
    with scope(organisation=organisation):
        if Plan.objects.filter(organisation=organisation).exists():
            return
        sections: dict[str, dict[str, Any]] = {
            "technology": {
                "technology": "Two collaborative robots to load the CNC lathes on line 3.",
                "rationale": "Loading is repetitive and causes strain injuries; the robots free operators "
                "for setting and inspection work.",
            },
            "consultation": {
                "shared_on": today - timedelta(days=60),
                "information_disclosed": "Business case, layout drawings, supplier risk assessment, "
                "the effect on each role on line 3.",
                "reps_response": "Support, provided no operator loses pay and training happens in working hours.",
                "consultation_outcome": ConsultationOutcome.AGREED_WITH_CONDITIONS,
                "consultation_conditions": "No loss of pay; training in working hours.",
            },
            "health_safety": {
                "hse_impact": "Less manual handling; new risk of contact with moving robot arms.",
                "hse_mitigations": "Light curtains, speed limits in shared zones, safety rep sign-off.",
            },
            "skills": {
                "retraining_who": "The eight line 3 operators.",
                "retraining_when": "Before installation.",
                "retraining_how": "Supplier course plus two weeks of paired working.",
            },
            "data": {
                "data_collected": "Robot cycle logs naming the operator on shift.",
                "data_purpose": "Maintenance and throughput only.",
                "data_access": "Maintenance team.",
                "data_retention": "90 days.",
                "data_monitoring_limits": "Never used for individual performance.",
            },
            "jobs": {
                "jobs_affected": "Eight operator roles change; none lost.",
                "redeployment": "Operators move to setting and inspection.",
                "growth_reinvestment": "Savings fund two apprenticeships.",
            },
        }
        rows = [
            plans.EqiaRowInput(c, Impact.NEUTRAL, "No differential effect found in the line 3 workforce.", "", None)
            for c in Characteristic.values
        ]
        rows[Characteristic.values.index(Characteristic.AGE)] = plans.EqiaRowInput(
            Characteristic.AGE,
            Impact.NEGATIVE,
            "Older operators were less confident with the new interface.",
            "Extra paired-working time on request.",
            manager,
        )

        signed = plans.plan_create(
            organisation=organisation, actor=manager, kind="digitalisation", title="Cobots on line 3"
        )
        for key, values in sections.items():
            plans.plan_update_section(plan=signed, actor=manager, section=key, values=values)
        plans.eqia_save(
            plan=signed,
            actor=manager,
            rows=rows,
            outcome=EqiaOutcome.ADJUST,
            justification="Older operators were less confident with the new interface: the plan now gives "
            "paired working time on request and a second training session before go-live.",
        )
        # The consultation the outcome "agreed with conditions" came from (the report lists it).
        plans.meeting_add(
            plan=signed,
            actor=manager,
            held_on=today - timedelta(days=40),
            participants="Manoj Mistry (operations), Rachel Reid (Unite), six line 3 operators",
            notes="Walked through the cobot cells and the monitoring limits. Operators asked that pay is "
            "protected and that the limits are reviewed after six months; both became conditions.",
        )
        plans.meeting_add(
            plan=signed,
            actor=manager,
            held_on=today - timedelta(days=26),
            participants="Manoj Mistry, Rachel Reid, Olivia Owen",
            notes="Agreed the conditions and the retraining schedule in paid hours.",
        )
        plans.plan_submit(plan=signed, actor=manager)
        # The line 3 workforce's own voice, closed while the plan was in review: its results are part of
        # the consultation record both sides sign below.
        demo_survey(signed, manager=manager, rep=rep)
        signed.refresh_from_db()
        workflow.subject_sign(
            subject=signed,
            signer=rep,
            decision=SignatureDecision.SIGN_WITH_RESERVATIONS,
            typed_name="Rachel Reid",
            job_title="Unite workplace representative",
            reservations="We agree on condition that no operator's pay falls. We will review "
            "the monitoring limits in six months.",
            expected_hash=workflow.subject_hash(signed),
            context=context,
        )
        workflow.subject_sign(
            subject=signed,
            signer=owner,
            decision=SignatureDecision.SIGN,
            typed_name="Olivia Owen",
            job_title="Managing Director",
            expected_hash=workflow.subject_hash(signed),
            context=context,
        )

        demo_follow_up_survey(signed, manager=manager, rep=rep)

        # Reviewed a year after it became final by default; the demo brings the date near, so the owner
        # and the manager see "Review the plan" in Your work.
        plans.plan_review_due_set(plan=signed, actor=owner, review_due=today + timedelta(days=21))

        draft = plans.plan_create(
            organisation=organisation, actor=manager, kind="retraining", title="Digital skills for the maintenance team"
        )
        for key, values in sections.items():
            plans.plan_update_section(
                plan=draft,
                actor=manager,
                section=key,
                values={
                    **values,
                    **({"consultation_outcome": "", "consultation_conditions": ""} if key == "consultation" else {}),
                },
            )
        plans.eqia_save(
            plan=draft,
            actor=manager,
            rows=rows,
            outcome=EqiaOutcome.ADJUST,
            justification="Training times move into day shifts so that part-time and night-shift staff can attend.",
        )
        plans.plan_submit(plan=draft, actor=manager)
        surveys.survey_create(
            organisation=organisation,
            actor=rep,
            plan=draft,
            data=surveys.QuestionsInput(
                title="Digital skills: what the maintenance team thinks",
                introduction="Before the plan is agreed, the representatives want to hear from every fitter.",
                bank_keys=["told_before", "training_offered", "training_enough", "job_security"],
                comment_question="What would make the training work for you?",
                groupings={"shift": ["Days", "Nights"]},
            ),
        )
        workflow.comment_add(
            subject=draft,
            author=rep,
            anchor="skills",
            body="Will night-shift fitters get the same course in working hours?",
        )


# Twelve answers from the line 3 workforce: (told before, offered training, job secure, shift, comment).
_DEMO_ANSWERS = [
    ("4", "yes", "4", "Days", "The paired working weeks made the difference."),
    ("5", "yes", "4", "Days", ""),
    ("4", "yes", "3", "Days", "I'd like to know who sees the cycle logs."),
    ("2", "yes", "2", "Nights", "Night shift heard about it last."),
    ("4", "yes", "4", "Days", ""),
    ("3", "no", "3", "Nights", "Training dates clash with nights."),
    ("5", "yes", "5", "Days", ""),
    ("4", "yes", "4", "Days", "Good that nobody is losing their job."),
    ("2", "no", "3", "Nights", ""),
    ("4", "yes", "4", "Days", ""),
    ("3", "yes", "2", "Nights", "Worried the robots will speed up the line."),
    ("4", "yes", "4", "Weekends", ""),
]


def demo_survey(plan: Any, *, manager: User, rep: User) -> None:
    """A survey of the line 3 workforce about `plan`, approved by both sides, answered with printed codes
    and closed while the plan is in review (so its results join the plan's consultation record)."""
    from assessments import surveys
    from assessments.models import QuestionKind
    from portal.models import SignatureCapacity
    from portal.signing import SigningContext

    context = SigningContext(user_agent="demo data")
    survey = surveys.survey_create(
        organisation=plan.organisation,
        actor=rep,
        plan=plan,
        data=surveys.QuestionsInput(
            title="Cobots on line 3: your views",
            introduction="Unite and management want to know what line 3 thinks before the plan is signed.",
            bank_keys=["told_before", "training_offered", "job_security"],
            comment_question="Is there anything else management should know?",
            groupings={"shift": ["Days", "Nights", "Weekends"]},
        ),
    )
    surveys.survey_approve(
        survey=survey, signer=rep, capacity=SignatureCapacity.WORKFORCE, typed_name="Rachel Reid", context=context
    )
    surveys.survey_approve(
        survey=survey, signer=manager, capacity=SignatureCapacity.MANAGEMENT, typed_name="Manoj Mistry", context=context
    )
    survey = surveys.survey_open(survey=survey, actor=rep)
    codes = surveys.codes_print(survey=survey, actor=rep, count=len(_DEMO_ANSWERS) + 3)
    questions = surveys.survey_questions(survey)
    likert = [q for q in questions if q.kind == QuestionKind.LIKERT]
    yes_no = next(q for q in questions if q.kind == QuestionKind.YES_NO)
    shift = next(q for q in questions if q.kind == QuestionKind.GROUP)
    comment = next(q for q in questions if q.kind == QuestionKind.TEXT)
    for code, (told, trained, secure, group, text) in zip(codes, _DEMO_ANSWERS, strict=False):
        posted = {
            f"q-{likert[0].pk}": told,
            f"q-{yes_no.pk}": trained,
            f"q-{likert[1].pk}": secure,
            f"q-{shift.pk}": group,
            f"q-{comment.pk}": text,
        }
        surveys.respond(code=code, answers=surveys.clean_answers(survey, posted))
    surveys.survey_close(survey=survey, actor=rep)


def demo_follow_up_survey(plan: Any, *, manager: User, rep: User) -> None:
    """The same questions again, now the cobots are in: open, with three answers so far (too few for a
    result), so the demo shows a survey taking answers and, once closed, before and after."""
    from assessments import surveys
    from assessments.models import Survey
    from portal.models import SignatureCapacity
    from portal.signing import SigningContext

    context = SigningContext(user_agent="demo data")
    earlier = Survey.objects.get(organisation=plan.organisation, plan=plan, status="closed")
    data = surveys.questions_input(earlier)
    data.title = "Cobots on line 3: three months on"
    survey = surveys.survey_create(organisation=plan.organisation, actor=rep, plan=plan, repeats=earlier, data=data)
    surveys.survey_approve(
        survey=survey, signer=rep, capacity=SignatureCapacity.WORKFORCE, typed_name="Rachel Reid", context=context
    )
    surveys.survey_approve(
        survey=survey, signer=manager, capacity=SignatureCapacity.MANAGEMENT, typed_name="Manoj Mistry", context=context
    )
    survey = surveys.survey_open(survey=survey, actor=manager)
    codes = surveys.codes_print(survey=survey, actor=rep, count=20)
    by_position = surveys.survey_questions(survey)  # told, training, job security, written answer, shift
    for code, values in zip(
        codes, (("4", "yes", "4", "", "Days"), ("5", "yes", "4", "", "Nights"), ("3", "yes", "3", "", "")), strict=False
    ):
        answers = dict(zip([f"q-{q.pk}" for q in by_position], values, strict=True))
        surveys.respond(code=code, answers=surveys.clean_answers(survey, answers))


def demo_technology(organisation: Organisation, users: dict[str, User]) -> None:
    """The technology register with one system in each state, under a new technology agreement both sides
    signed: a planned dashboard whose committee meeting is due (on "Your work"), with its DPIA in draft and
    the workforce's views recorded; a piloting scheduler with a final DPIA; a live system from before the
    agreement; a retired one."""
    from assessments import plans, technology, workflow
    from assessments.models import Characteristic, EqiaOutcome, Impact, SystemStatus, TechnologySystem
    from assessments.technology import ClauseInput
    from portal.models import SignatureCapacity, SignatureDecision
    from portal.signing import SigningContext

    owner, manager, rep = users["owner@acme.example"], users["manager@acme.example"], users["rep@acme.example"]
    context = SigningContext(user_agent="demo data")
    today = timezone.localdate()
    with scope(organisation=organisation):
        if TechnologySystem.objects.filter(organisation=organisation).exists():
            return
        # Systems that were there before the agreement.
        technology.system_create(
            organisation=organisation,
            actor=manager,
            values={
                "name": "Time and attendance (ERP)",
                "supplier_name": "Sage",
                "purpose": "Clocking in and out, holiday and absence records for payroll.",
                "sites": "Sheffield",
                "teams": "Everyone",
                "status": SystemStatus.LIVE,
                "go_live_on": today - timedelta(days=730),
                "worker_data": "Clock-in and clock-out times, absence reasons, holiday balances.",
                "monitors_people": True,
                "decisions": [],
            },
        )
        technology.system_create(
            organisation=organisation,
            actor=manager,
            values={
                "name": "Job card scanner",
                "supplier_name": "DocuScan",
                "purpose": "Scanned paper job cards into the ERP; replaced by tablets at each cell.",
                "sites": "Sheffield",
                "teams": "Machining",
                "status": SystemStatus.RETIRED,
                "go_live_on": today - timedelta(days=2000),
                "worker_data": "Operator initials on each job card.",
            },
        )

        agreement = technology.agreement_create(
            organisation=organisation, actor=manager, title="New technology agreement"
        )
        clauses = [
            ClauseInput(c.title, c.text, c.key, 60 if c.key == technology.NOTICE else c.days)
            for c in agreement.clauses.all()
        ]
        technology.agreement_update(agreement=agreement, actor=rep, title="New technology agreement", clauses=clauses)
        for signer, capacity, name, job in (
            (rep, SignatureCapacity.WORKFORCE, "Rachel Reid", "Unite workplace representative"),
            (owner, SignatureCapacity.MANAGEMENT, "Olivia Owen", "Managing Director"),
        ):
            technology.agreement_sign(
                agreement=agreement,
                signer=signer,
                capacity=capacity,
                typed_name=name,
                job_title=job,
                expected_hash=technology.agreement_hash(agreement),
                context=context,
            )

        eqia_rows = [
            plans.EqiaRowInput(c, Impact.NEUTRAL, "No differential effect found in the affected teams.", "", None)
            for c in Characteristic.values
        ]
        eqia_rows[Characteristic.values.index(Characteristic.CARING)] = plans.EqiaRowInput(
            Characteristic.CARING,
            Impact.NEGATIVE,
            "Shift changes at short notice fall hardest on people with caring responsibilities.",
            "Changes are offered, never imposed, with 14 days' notice.",
            manager,
        )

        # Piloting, with notice given and the committee met in time, and its DPIA agreed by both sides.
        scheduler = technology.system_create(
            organisation=organisation,
            actor=manager,
            values={
                "name": "Fatigue-aware shift scheduler",
                "supplier_name": "RotaWise",
                "purpose": "Proposes shift patterns that limit consecutive nights and long runs of overtime.",
                "sites": "Sheffield",
                "teams": "Machining, assembly",
                "status": SystemStatus.PILOTING,
                "go_live_on": today - timedelta(days=10),
                "worker_data": "Shift history, overtime hours, stated availability.",
                "monitors_people": False,
                "decisions": ["allocation"],
            },
        )
        technology.notice_record(
            system=scheduler,
            actor=manager,
            notice_given_on=today - timedelta(days=75),
            committee_met_on=today - timedelta(days=68),
        )
        dpia = technology.dpia_start(system=scheduler, actor=manager)
        dpia_sections: dict[str, dict[str, Any]] = {
            "processing": {
                "dpia_nature": "Shift history, overtime hours and stated availability of 120 shift workers.",
                "dpia_scope": "Machining and assembly at Sheffield; kept 12 months.",
                "dpia_context": "Unionised site; the shift pattern is a collective agreement matter.",
                "dpia_purpose": "Propose rotas that keep within the fatigue limits agreed with the union.",
            },
            "necessity": {"dpia_necessity": "Rotas already use this data by hand; no new data is collected."},
            "risks": {"dpia_risks": "Proposals could be treated as instructions, or availability used against people."},
            "measures": {
                "dpia_measures": "Supervisors approve every rota; availability is never used in performance reviews."
            },
            "consultation": {
                "shared_on": today - timedelta(days=75),
                "information_disclosed": "The supplier's data sheet, the fatigue rules and a sample rota.",
                "consultation_outcome": "agreed",
            },
        }
        for section, values in dpia_sections.items():
            plans.plan_update_section(plan=dpia, actor=manager, section=section, values=values)
        plans.plan_update_section(
            plan=dpia,
            actor=rep,
            section="workforce_views",
            values={
                "consultation_method": "Two meetings on each shift and a joint technology committee meeting.",
                "workers_views": "“Fine if it stops the back-to-back nights, as long as we can still swap "
                "shifts between ourselves.”",
                "reps_response": "Agreed, with swaps between workers kept outside the system.",
            },
        )
        plans.meeting_add(
            plan=dpia,
            actor=manager,
            held_on=today - timedelta(days=68),
            participants="Manoj Mistry (operations), Rachel Reid (Unite), two shift leaders",
            notes="The joint technology committee went through the DPIA and a sample rota. Agreed that swaps "
            "between workers stay outside the system.",
        )
        plans.eqia_save(
            plan=dpia,
            actor=manager,
            rows=eqia_rows,
            outcome=EqiaOutcome.ADJUST,
            justification="Changes are offered, never imposed, with 14 days' notice.",
        )
        plans.plan_submit(plan=dpia, actor=manager)
        for signer, name in ((rep, "Rachel Reid"), (owner, "Olivia Owen")):
            workflow.subject_sign(
                subject=dpia,
                signer=signer,
                decision=SignatureDecision.SIGN,
                typed_name=name,
                expected_hash=workflow.subject_hash(dpia),
                context=context,
            )

        # Planned, notice given five days ago: the committee meeting is due (on "Your work"); the DPIA is
        # being written and the representative has recorded what workers said.
        dashboard = technology.system_create(
            organisation=organisation,
            actor=manager,
            values={
                "name": "Line 3 cell output dashboard",
                "supplier_name": "Acme Analytics Ltd",
                "purpose": "Shows units per hour for each cell on screens by the line.",
                "sites": "Sheffield",
                "teams": "Line 3",
                "status": SystemStatus.PLANNED,
                "go_live_on": today + timedelta(days=70),
                "worker_data": "Units per hour per cell, with the operators signed in to the cell.",
                "monitors_people": True,
                "decisions": ["performance", "allocation"],
            },
        )
        technology.notice_record(
            system=dashboard, actor=manager, notice_given_on=today - timedelta(days=5), committee_met_on=None
        )
        draft = technology.dpia_start(system=dashboard, actor=manager)
        plans.plan_update_section(
            plan=draft,
            actor=manager,
            section="risks",
            values={"dpia_risks": "Cell figures could be read as individual performance, or shown as a league table."},
        )
        plans.plan_update_section(
            plan=draft,
            actor=rep,
            section="workforce_views",
            values={
                "consultation_method": "A meeting with the line 3 operators on each shift.",
                "workers_views": "“We don't want our names on a screen by the line.”",
                "reps_response": "",
            },
        )
