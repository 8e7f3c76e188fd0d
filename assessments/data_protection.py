"""What the assessments app adds to data protection: its sections of an organisation's export (with the
evidence files), a person's comments and change requests, and what deleting an account must keep."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django_scopes import scopes_disabled

from assessments.models import (
    ActionItem,
    Assessment,
    ChangeRequest,
    ConsultationMeeting,
    EqiaRow,
    Evidence,
    Plan,
    Response,
    ReviewComment,
    Survey,
    SurveyQuestion,
    SystemLink,
    TechnologyAgreement,
    TechnologySystem,
)
from assessments.workflow import plan_sections
from portal.exports import ExportFile, person, safe_file_name
from portal.models import Organisation, Signature, User


def evidence_path(evidence: Evidence) -> str:
    return f"evidence/{evidence.pk}-{safe_file_name(evidence.original_name)}"


def _action(item: ActionItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "title": item.title,
        "source": item.source,
        "owner": person(item.owner),
        "due_date": item.due_date,
        "status": item.status,
        "created_by": person(item.created_by),
        "created_at": item.created_at,
        "completed_at": item.completed_at,
        "response_id": item.response_id,
    }


def assessment_rows(organisation: Organisation) -> list[dict[str, Any]]:
    responses = Response.objects.select_related("criterion", "updated_by").prefetch_related("citations")
    assessments = (
        Assessment.objects.filter(organisation=organisation)
        .select_related("framework", "created_by", "submitted_by")
        .prefetch_related(
            Prefetch("responses", queryset=responses),
            Prefetch("action_items", queryset=ActionItem.objects.select_related("owner", "created_by")),
        )
        .order_by("created_at")
    )
    return [
        {
            "id": a.pk,
            "title": a.title,
            "framework": {"code": a.framework.code, "version": a.framework.version},
            "period_start": a.period_start,
            "period_end": a.period_end,
            "status": a.status,
            "version": a.version,
            "created_by": person(a.created_by),
            "created_at": a.created_at,
            "submitted_by": person(a.submitted_by),
            "submitted_at": a.submitted_at,
            "finalised_at": a.finalised_at,
            "responses": [
                {
                    "criterion": r.criterion.code,
                    "maturity": r.maturity,
                    "narrative": r.narrative,
                    "evidence": sorted(str(c.evidence_id) for c in r.citations.all()),
                    "updated_at": r.updated_at,
                    "updated_by": person(r.updated_by),
                }
                for r in sorted(a.responses.all(), key=lambda r: r.criterion.code)
            ],
            "action_items": [_action(item) for item in a.action_items.all()],
        }
        for a in assessments
    ]


def evidence_rows(organisation: Organisation) -> list[dict[str, Any]]:
    return [
        {
            "id": e.pk,
            "file": evidence_path(e),
            "original_name": e.original_name,
            "kind": e.kind,
            "content_type": e.content_type,
            "size": e.size,
            "sha256": e.sha256,
            "description": e.description,
            "effective_date": e.effective_date,
            "expiry_date": e.expiry_date,
            "uploaded_by": person(e.uploaded_by),
            "uploaded_at": e.uploaded_at,
        }
        for e in Evidence.objects.filter(organisation=organisation)
        .select_related("uploaded_by")
        .order_by("uploaded_at")
    ]


def evidence_files(organisation: Organisation) -> list[ExportFile]:
    return [
        ExportFile(path=evidence_path(e), storage_name=e.file.name)
        for e in Evidence.objects.filter(organisation=organisation).exclude(file="").order_by("uploaded_at")
    ]


def plan_rows(organisation: Organisation) -> list[dict[str, Any]]:
    plans = (
        Plan.objects.filter(organisation=organisation)
        .select_related("eqia", "created_by", "submitted_by")
        .prefetch_related(
            "citations",
            Prefetch("meetings", queryset=ConsultationMeeting.objects.order_by("held_on")),
            Prefetch("eqia__rows", queryset=EqiaRow.objects.select_related("owner").order_by("characteristic")),
            Prefetch("action_items", queryset=ActionItem.objects.select_related("owner", "created_by")),
        )
        .order_by("created_at")
    )
    rows = []
    for plan in plans:
        eqia = getattr(plan, "eqia", None)
        rows.append(
            {
                "id": plan.pk,
                "family_id": plan.family_id,
                "version": plan.version,
                "kind": plan.kind,
                "title": plan.title,
                "status": plan.status,
                "sections": {
                    key: {name: getattr(plan, name) for name in fields} for key, _t, fields in plan_sections(plan.kind)
                },
                "evidence": sorted(str(c.evidence_id) for c in plan.citations.all()),
                "meetings": [
                    {"id": m.pk, "held_on": m.held_on, "participants": m.participants, "notes": m.notes}
                    for m in plan.meetings.all()
                ],
                "eqia": {
                    "outcome": eqia.outcome,
                    "justification": eqia.justification,
                    "rows": [
                        {
                            "characteristic": r.characteristic,
                            "impact": r.impact,
                            "evidence": r.evidence,
                            "mitigation": r.mitigation,
                            "owner": person(r.owner),
                        }
                        for r in eqia.rows.all()
                    ],
                }
                if eqia
                else None,
                "action_items": [_action(item) for item in plan.action_items.all()],
                "survey_results": plan.survey_results,
                "created_by": person(plan.created_by),
                "created_at": plan.created_at,
                "submitted_by": person(plan.submitted_by),
                "submitted_at": plan.submitted_at,
                "finalised_at": plan.finalised_at,
            }
        )
    return rows


def survey_rows(organisation: Organisation) -> list[dict[str, Any]]:
    """Workforce surveys with their questions and aggregate results: never a response or a code (a closed
    survey keeps none, and an open one's answers are not results until it closes)."""
    surveys = (
        Survey.objects.filter(organisation=organisation)
        .select_related("created_by")
        .prefetch_related(Prefetch("questions", queryset=SurveyQuestion.objects.order_by("position")))
        .order_by("created_at")
    )
    return [
        {
            "id": survey.pk,
            "title": survey.title,
            "introduction": survey.introduction,
            "status": survey.status,
            "plan_id": survey.plan_id,
            "repeats": survey.repeats_id,
            "threshold": survey.threshold,
            "questions": [
                {"position": q.position, "kind": q.kind, "text": q.text, "principle": q.principle, "options": q.options}
                for q in survey.questions.all()
            ],
            "created_by": person(survey.created_by),
            "created_at": survey.created_at,
            "opened_on": survey.opened_on,
            "closed_on": survey.closed_on,
            "codes_printed": survey.codes_printed,
            "invitations_sent": survey.invitations_sent,
            "results": survey.results,
            "results_hash": survey.results_hash,
            "bound_to_plan": survey.bound_to_plan,
        }
        for survey in surveys
    ]


def technology_rows(organisation: Organisation) -> list[dict[str, Any]]:
    """The technology register and the new technology agreements, one row each (`type` says which):
    each system with every field, what it is linked to and its DPIAs (plans, in plans.json); each
    agreement with its clauses and a summary of its signatures (in full in signatures.json)."""
    from assessments.technology import agreement_hash

    links = SystemLink.objects.select_related("criterion").order_by("id")
    systems = (
        TechnologySystem.objects.filter(organisation=organisation)
        .select_related("created_by")
        .prefetch_related(
            Prefetch("links", queryset=links), Prefetch("dpias", queryset=Plan.objects.order_by("version"))
        )
        .order_by("name")
    )
    rows: list[dict[str, Any]] = [
        {
            "type": "system",
            "id": system.pk,
            "name": system.name,
            "supplier_name": system.supplier_name,
            "purpose": system.purpose,
            "sites": system.sites,
            "teams": system.teams,
            "go_live_on": system.go_live_on,
            "status": system.status,
            "worker_data": system.worker_data,
            "monitors_people": system.monitors_people,
            "decisions": system.decisions,
            "notice_given_on": system.notice_given_on,
            "committee_met_on": system.committee_met_on,
            "attention": system.attention,
            "attention_due": system.attention_due,
            "breaches_recorded": system.breaches_recorded,
            "links": {
                "plans": sorted(str(link.plan_id) for link in system.links.all() if link.plan_id),
                "criteria": sorted(link.criterion.code for link in system.links.all() if link.criterion_id),
                "evidence": sorted(str(link.evidence_id) for link in system.links.all() if link.evidence_id),
            },
            "dpia_ids": [str(plan.pk) for plan in system.dpias.all()],
            "created_by": person(system.created_by),
            "created_at": system.created_at,
            "updated_at": system.updated_at,
        }
        for system in systems
    ]
    agreements = list(
        TechnologyAgreement.objects.filter(organisation=organisation)
        .select_related("created_by")
        .prefetch_related("clauses")
        .order_by("version")
    )
    signatures: dict[Any, list[Signature]] = {}
    for signature in (
        Signature.objects.filter(
            organisation=organisation, subject_type="agreement", subject_id__in=[a.pk for a in agreements]
        )
        .select_related("signer")
        .order_by("signed_at")
    ):
        signatures.setdefault(signature.subject_id, []).append(signature)
    for agreement in agreements:
        current = agreement_hash(agreement)
        rows.append(
            {
                "type": "agreement",
                "id": agreement.pk,
                "title": agreement.title,
                "version": agreement.version,
                "status": agreement.status,
                "in_force_on": agreement.in_force_on,
                "content_hash": agreement.content_hash,
                "current_hash": current,
                "clauses": [
                    {"position": c.position, "key": c.key, "title": c.title, "text": c.text, "days": c.days}
                    for c in agreement.clauses.all()
                ],
                "signatures": [
                    {
                        "id": s.pk,
                        "capacity": s.capacity,
                        "decision": s.decision,
                        "signer": person(s.signer),
                        "typed_name": s.typed_name,
                        "job_title": s.job_title,
                        "signed_at": s.signed_at,
                        "content_hash": s.content_hash,
                        "counts": s.is_valid_for(current),  # signed the words as they stand
                    }
                    for s in signatures.get(agreement.pk, [])
                ],
                "created_by": person(agreement.created_by),
                "created_at": agreement.created_at,
                "changed_at": agreement.changed_at,
            }
        )
    return rows


def _comment(c: ReviewComment) -> dict[str, Any]:
    return {
        "id": c.pk,
        "subject_type": c.subject_type,
        "subject_id": c.subject_id,
        "anchor": c.anchor,
        "reply_to": c.parent_id,
        "body": c.body,
        "created_at": c.created_at,
        "resolved_at": c.resolved_at,
    }


def comment_rows(organisation: Organisation) -> list[dict[str, Any]]:
    comments = (
        ReviewComment.objects.filter(organisation=organisation)
        .select_related("author", "resolved_by")
        .order_by("created_at")
    )
    return [{**_comment(c), "author": person(c.author), "resolved_by": person(c.resolved_by)} for c in comments]


def _change_request(c: ChangeRequest) -> dict[str, Any]:
    return {
        "id": c.pk,
        "subject_type": c.subject_type,
        "subject_id": c.subject_id,
        "reasons": c.reasons,
        "created_at": c.created_at,
        "answer": c.answer,
        "answered_at": c.answered_at,
    }


def change_request_rows(organisation: Organisation) -> list[dict[str, Any]]:
    requests = (
        ChangeRequest.objects.filter(organisation=organisation)
        .select_related("requested_by", "answered_by")
        .order_by("created_at")
    )
    return [
        {**_change_request(c), "requested_by": person(c.requested_by), "answered_by": person(c.answered_by)}
        for c in requests
    ]


# --- A person's own data -------------------------------------------------------------------


def comments_written(user: User) -> list[dict[str, Any]]:
    with scopes_disabled():
        comments = ReviewComment.objects.filter(author=user).select_related("organisation").order_by("created_at")
        return [
            {**_comment(c), "organisation": {"id": c.organisation_id, "name": c.organisation.name}} for c in comments
        ]


def change_requests_made(user: User) -> list[dict[str, Any]]:
    with scopes_disabled():
        requests = ChangeRequest.objects.filter(requested_by=user).select_related("organisation").order_by("created_at")
        return [
            {**_change_request(c), "organisation": {"id": c.organisation_id, "name": c.organisation.name}}
            for c in requests
        ]


def keep_signed_eqia_owners(user: User) -> None:
    """A signed plan's snapshot names its EqIA owners by email. Before the owner's email is replaced,
    record it on the rows of plans that have been signed, so those signatures still verify."""
    with scopes_disabled():
        signed = Signature.objects.filter(subject_type="plan").values("subject_id")
        EqiaRow.objects.filter(owner=user, recorded_owner_email="", eqia__plan_id__in=signed).update(
            recorded_owner_email=user.email
        )
