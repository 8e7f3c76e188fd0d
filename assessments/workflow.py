"""The review and signing workflow shared by assessments and plans (DESIGN.md section 6).

draft -> in_review -> (changes_requested -> in_review)* -> agreed -> final

An item is agreed when it holds at least one valid management signature and at least one valid
workforce-representative countersignature; it is then final and read-only. A signature is valid
while the item's canonical snapshot still hashes to what was signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope

from assessments.models import (
    Assessment,
    AssessmentStatus,
    ChangeRequest,
    Citation,
    ConsultationMeeting,
    ConsultationOutcome,
    EqiaOutcome,
    EqiaRow,
    EqualityImpactAssessment,
    Plan,
    PlanCitation,
    Response,
    ReviewComment,
    a_year_after,
)
from assessments.response_rows import ResponseRow
from portal.audit import audit_record
from portal.models import Membership, Organisation, Signature, SignatureCapacity, SignatureDecision, User
from portal.notifications import Email, notify
from portal.roles import Role, role_can
from portal.signing import SigningContext, signature_record, snapshot_hash
from portal.webhooks import emit

Subject = Assessment | Plan
AGREEING_DECISIONS = (SignatureDecision.SIGN, SignatureDecision.SIGN_WITH_RESERVATIONS)


def subject_type_of(subject: Subject) -> str:
    return "plan" if isinstance(subject, Plan) else "assessment"


def subject_url(subject: Subject) -> str:
    slug = subject.organisation.slug
    if isinstance(subject, Plan):
        return reverse("assessments:plan", kwargs={"org_slug": slug, "plan_id": subject.pk})
    return reverse("assessments:overview", kwargs={"org_slug": slug, "assessment_id": subject.pk})


def _evidence_entry(evidence: Any) -> dict[str, Any]:
    return {
        "name": evidence.original_name,
        "sha256": evidence.sha256,
        "effective_date": evidence.effective_date,
        "expiry_date": evidence.expiry_date,
    }


def assessment_responses(assessment: Assessment) -> Any:
    """The assessment's responses in framework order with their criteria and cited evidence: what its
    snapshot reads (a queryset, so a page may annotate it and use the same rows for more)."""
    return (
        Response.objects.filter(assessment=assessment)
        .select_related("criterion")
        .prefetch_related(Prefetch("citations", queryset=Citation.objects.select_related("evidence")))
        .order_by("criterion__principle__number", "criterion__position")
    )


def assessment_snapshot(assessment: Assessment, responses: Any = None) -> dict[str, Any]:
    """Everything a signature on an assessment covers, in a stable order. `responses`: the rows of
    `assessment_responses`, when the caller has read them already."""
    if responses is None:
        responses = assessment_responses(assessment)
    return _assessment_snapshot(
        assessment,
        [
            {
                "criterion": r.criterion.code,
                "title": r.criterion.title,
                "maturity": r.maturity,
                "narrative": r.narrative,
                "evidence": sorted(
                    (_evidence_entry(c.evidence) for c in r.citations.all()), key=lambda e: (e["name"], e["sha256"])
                ),
            }
            for r in responses
        ],
    )


def assessment_snapshot_of_rows(assessment: Assessment, rows: list[ResponseRow]) -> dict[str, Any]:
    """`assessment_snapshot` from the assessment's `response_rows.content_rows` (no query): the same
    snapshot, so the same hash."""
    return _assessment_snapshot(
        assessment,
        [
            {
                "criterion": r.code,
                "title": r.title,
                "maturity": r.maturity,
                "narrative": r.narrative,
                "evidence": sorted(r.evidence, key=lambda e: (e["name"], e["sha256"])),
            }
            for r in rows
        ],
    )


def _assessment_snapshot(assessment: Assessment, responses: list[dict[str, Any]]) -> dict[str, Any]:
    framework = assessment.framework
    return {
        "type": "assessment",
        "id": str(assessment.pk),
        "version": assessment.version,
        "organisation": str(assessment.organisation_id),
        "title": assessment.title,
        "period": [assessment.period_start, assessment.period_end],
        "framework": {"code": framework.code, "version": framework.version, "content_hash": framework.content_hash},
        "responses": responses,
    }


PLAN_SECTIONS: list[tuple[str, str, list[str]]] = [
    ("technology", "The technology and why", ["technology", "rationale"]),
    (
        "consultation",
        "Consultation with the workforce",
        ["shared_on", "information_disclosed", "reps_response", "consultation_outcome", "consultation_conditions"],
    ),
    ("health_safety", "Health, safety, welfare and environment", ["hse_impact", "hse_mitigations"]),
    ("skills", "Skills and retraining", ["retraining_who", "retraining_when", "retraining_how"]),
    (
        "data",
        "Employee data use",
        ["data_collected", "data_purpose", "data_access", "data_retention", "data_monitoring_limits"],
    ),
    ("jobs", "Jobs, redeployment and reinvestment", ["jobs_affected", "redeployment", "growth_reinvestment"]),
    ("equality", "Equality impact assessment", []),
]

# A data-protection impact assessment (kind "dpia") of a system in the technology register: the standard
# sections, then how workers and their representatives were consulted and what they said.
DPIA_SECTIONS: list[tuple[str, str, list[str]]] = [
    (
        "processing",
        "Nature, scope, context and purpose of the processing",
        ["dpia_nature", "dpia_scope", "dpia_context", "dpia_purpose"],
    ),
    ("necessity", "Necessity and proportionality", ["dpia_necessity"]),
    ("risks", "Risks to the people whose data it is", ["dpia_risks"]),
    ("measures", "Measures to reduce the risks", ["dpia_measures"]),
    (
        "consultation",
        "Consultation with the workforce",
        ["shared_on", "information_disclosed", "consultation_outcome", "consultation_conditions"],
    ),
    ("workforce_views", "The workforce's views", ["consultation_method", "workers_views", "reps_response"]),
    ("equality", "Equality impact assessment", []),
]

# The sections a workforce representative writes as well as management (role action "record_workforce_views").
WORKFORCE_SECTIONS = frozenset({"workforce_views"})


def plan_sections(kind: str) -> list[tuple[str, str, list[str]]]:
    """(key, title, fields) for each section of a plan of this kind, in order."""
    return DPIA_SECTIONS if kind == "dpia" else PLAN_SECTIONS


def section_fields(kind: str) -> dict[str, list[str]]:
    return {key: fields for key, _title, fields in plan_sections(kind)}


def section_titles(kind: str) -> dict[str, str]:
    return {key: title for key, title, _fields in plan_sections(kind)}


def plan_contents() -> tuple[Prefetch, ...]:
    """Lookups for `prefetch_related` on plans (their EqIA selected with them): with these, reading a plan's
    meetings, EqIA rows and cited evidence for its snapshot, problems and pages runs no further query."""
    return (
        Prefetch(
            "meetings",
            queryset=ConsultationMeeting.objects.order_by("held_on", "participants"),
            to_attr="meetings_in_order",
        ),
        Prefetch(
            "eqia__rows",
            queryset=EqiaRow.objects.select_related("owner").order_by("characteristic"),
            to_attr="rows_in_order",
        ),
        Prefetch("citations", queryset=PlanCitation.objects.select_related("evidence"), to_attr="cited_evidence"),
    )


def plan_meetings(plan: Plan) -> list[ConsultationMeeting]:
    """The plan's meetings by date, then participants (prefetched by `plan_contents`, or read now)."""
    meetings = getattr(plan, "meetings_in_order", None)
    return meetings if meetings is not None else list(plan.meetings.order_by("held_on", "participants"))


def eqia_rows(eqia: EqualityImpactAssessment) -> list[EqiaRow]:
    """The EqIA's rows by characteristic, with their owners (prefetched by `plan_contents`, or read now)."""
    rows = getattr(eqia, "rows_in_order", None)
    return rows if rows is not None else list(eqia.rows.select_related("owner").order_by("characteristic"))


def plan_citations(plan: Plan) -> list[PlanCitation]:
    """The plan's citations with their evidence (prefetched by `plan_contents`, or read now)."""
    citations = getattr(plan, "cited_evidence", None)
    return citations if citations is not None else list(plan.citations.select_related("evidence"))


def plan_snapshot(plan: Plan) -> dict[str, Any]:
    """Everything a signature on a plan covers: every section, meetings, the EqIA, cited evidence."""
    snapshot: dict[str, Any] = {
        "type": "plan",
        "id": str(plan.pk),
        "family": str(plan.family_id),
        "version": plan.version,
        "organisation": str(plan.organisation_id),
        "kind": plan.kind,
        "title": plan.title,
        "sections": {},
    }
    if plan.system_id is not None:  # only for a DPIA: other plans' snapshots are as they were signed
        snapshot["system"] = str(plan.system_id)
    for key, _title, fields in plan_sections(plan.kind):
        snapshot["sections"][key] = {name: getattr(plan, name) for name in fields}
    snapshot["sections"]["consultation"]["meetings"] = [
        {"held_on": m.held_on, "participants": m.participants, "notes": m.notes} for m in plan_meetings(plan)
    ]
    if plan.survey_results:  # only then: the snapshots of plans without surveys are as they were signed
        snapshot["sections"]["consultation"]["surveys"] = plan.survey_results
    eqia = getattr(plan, "eqia", None)
    snapshot["sections"]["equality"] = {
        "outcome": eqia.outcome if eqia else "",
        "justification": eqia.justification if eqia else "",
        "rows": [
            {
                "characteristic": r.characteristic,
                "impact": r.impact,
                "evidence": r.evidence,
                "mitigation": r.mitigation,
                "owner": r.recorded_owner_email or (r.owner.email if r.owner else None),
            }
            for r in (eqia_rows(eqia) if eqia else [])
        ],
    }
    snapshot["evidence"] = sorted(
        (_evidence_entry(c.evidence) for c in plan_citations(plan)),
        key=lambda e: (e["name"], e["sha256"]),
    )
    return snapshot


def subject_snapshot(subject: Subject) -> dict[str, Any]:
    with scope(organisation=subject.organisation):
        return plan_snapshot(subject) if isinstance(subject, Plan) else assessment_snapshot(subject)


def subject_hash(subject: Subject) -> str:
    return snapshot_hash(subject_snapshot(subject))


# --- The current content hash, cached -----------------------------------------------------------
#
# A list of signatures says whether each still matches the content, which needs the hash of the whole
# subject (every answer and its cited evidence, or every plan section, meeting and EqIA row): 3-4
# queries and the canonical JSON on every request. `current_subject_hash` keeps it in the cache under
# the organisation's version (`portal.versions`), read *before* the subject was loaded:
#
# * every audited change bumps the organisation (`audit_record`), and the writes that change a
#   snapshot without an audit event bump it themselves (`services.response_save` for a narrative,
#   `plans.plan_update_section` for cited evidence alone);
# * a plan's EqIA row whose owner's email was not recorded at signing reads the owner's *current*
#   email, which changes with no organisation write: the entry names those people, and is used only
#   while their versions (bumped whenever a person is saved) are the ones it was built with;
# * inside a transaction with writes waiting to commit (or a test case's), the hash is computed.


SUBJECT_HASH_TIMEOUT = 3600  # also bounds how long a hash outlives a bump lost with a failed cache write


def subject_content_version(organisation: Any) -> str | None:
    """The organisation's version, to read before loading a subject whose hash `current_subject_hash`
    is asked for (None: do not use the cache now)."""
    from portal.header import cache_trusted
    from portal.versions import versions

    return versions(organisations=[organisation]) if cache_trusted() else None


def _hash_key(subject: Subject, organisation_version: str) -> str:
    return f"subject-hash:1:{subject_type_of(subject)}:{subject.pk}:{organisation_version}"


def _owners_by_current_email(subject: Subject) -> list[str]:
    """The people whose current email the plan's snapshot reads (EqIA rows with no recorded email)."""
    if not isinstance(subject, Plan):
        return []
    eqia = getattr(subject, "eqia", None)
    rows = eqia_rows(eqia) if eqia else []
    return sorted({str(r.owner_id) for r in rows if r.owner_id is not None and not r.recorded_owner_email})


def current_subject_hash(subject: Subject, organisation_version: str | None) -> str:
    """`subject_hash(subject)`, from the cache when current. `organisation_version`: what
    `subject_content_version` answered before the subject was loaded (None: computed, not cached)."""
    from django.core.cache import cache

    from portal.header import cache_trusted
    from portal.versions import versions

    if organisation_version is None or not cache_trusted():
        return subject_hash(subject)
    key = _hash_key(subject, organisation_version)
    entry = cache.get(key)
    people: list[str] = entry["people"] if entry else []
    # Read before the data, so that a hash built from data older than a bump is never current.
    people_version = versions(people=people) if people else ""
    if entry is not None and entry["people_version"] == people_version:
        return str(entry["hash"])
    content_hash = subject_hash(subject)
    owners = _owners_by_current_email(subject)
    # Their versions were read before the rows only if the last entry named the same people; else the
    # entry is kept without, and the next request reads their versions first and hashes once more.
    cache.set(
        key,
        {"hash": content_hash, "people": owners, "people_version": people_version if owners == people else None},
        timeout=SUBJECT_HASH_TIMEOUT,
    )
    return content_hash


@dataclass(frozen=True)
class SignatureView:
    signature: Signature
    valid: bool  # the content still hashes to what was signed
    current_round: bool = True  # signed since the item was last sent for review

    @property
    def counts(self) -> bool:
        return self.valid and self.current_round


def signatures_for(subject: Subject, *, current_hash: str | None = None) -> list[SignatureView]:
    """The item's signatures, each marked void when the content no longer matches what was signed."""
    current = current_hash or subject_hash(subject)
    with scope(organisation=subject.organisation):
        # Not the stored snapshots: a page shows each signature's standing, which its content hash gives;
        # each snapshot is the whole signed content, parsed from JSON for nothing.
        signatures = subject_signatures(subject).defer("snapshot").order_by("signed_at")
        return [signature_view(s, subject, current) for s in signatures]


def subject_signatures(subject: Subject) -> Any:
    """The item's signatures (a queryset, for pages of them); see `signature_view` for their standing."""
    return Signature.objects.filter(
        organisation=subject.organisation, subject_type=subject_type_of(subject), subject_id=subject.pk
    )


def signature_view(signature: Signature, subject: Subject, current_hash: str) -> SignatureView:
    since = subject.submitted_at
    return SignatureView(signature, signature.is_valid_for(current_hash), since is None or signature.signed_at >= since)


def own_agreement(signatures: list[SignatureView], user: User) -> SignatureView | None:
    """The person's signature agreeing to the item that counts in this review round, if any: they are not
    asked to sign again, nor offered "Request changes" beside it."""
    return next(
        (
            v
            for v in signatures
            if v.signature.signer_id == user.pk and v.counts and v.signature.decision in AGREEING_DECISIONS
        ),
        None,
    )


def agreed_this_round(subject: Subject, user: User) -> Signature | None:
    """`own_agreement` in one query, for pages that do not list the signatures: the person's agreeing
    signature given since the item was last sent for review (while it is in review, content is locked)."""
    if subject.submitted_at is None:
        return None
    return (
        subject_signatures(subject)
        .filter(signer=user, decision__in=AGREEING_DECISIONS, signed_at__gte=subject.submitted_at)
        .order_by("-signed_at")
        .first()
    )


def eqia_owner_names(plan: Plan) -> dict[str, str]:
    """The names of the people a plan's snapshot names by email as owners of EqIA mitigations (read with
    the EqIA rows: no query when they are prefetched by `plan_contents`)."""
    eqia = getattr(plan, "eqia", None)
    return {
        (r.recorded_owner_email or r.owner.email): r.owner.display_name
        for r in (eqia_rows(eqia) if eqia else [])
        if r.owner is not None
    }


def agreement_blockers(subject: Subject) -> list[str]:
    """Why the item cannot be agreed as it stands (plans only: consultation and EqIA outcomes)."""
    if not isinstance(subject, Plan):
        return []
    blockers = []
    if subject.consultation_outcome == ConsultationOutcome.NOT_AGREED:
        blockers.append(_("The consultation outcome is “not agreed”: the workforce has not agreed this plan."))
    eqia = getattr(subject, "eqia", None)
    if eqia is not None and eqia.outcome == EqiaOutcome.STOP:
        blockers.append(_("The equality impact assessment concludes the plan should be stopped and removed."))
    return blockers


# --- Notifications --------------------------------------------------------------------------


def _quote(text: str, limit: int = 4000) -> str:
    """Text for an email, cut only when very long and then visibly so."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + " […]"


def _members_with(organisation: Organisation, roles: tuple[str, ...], *, exclude: User | None = None) -> list[User]:
    members = Membership.objects.filter(organisation=organisation, role__in=roles).select_related("user")
    return [m.user for m in members if m.is_active() and (exclude is None or m.user_id != exclude.pk)]


def _notify(
    *,
    subject: Subject,
    recipients: list[User],
    kind: str,
    text: str,
    key: str,
    subject_line: str,
    message: str,
    actor: User,
) -> None:
    """Tell `recipients` (never the actor) in their notifications, and by email as each prefers for `kind`:
    `text` is the line in their list, `message` the email's fuller words."""
    path = subject_url(subject)
    notify(
        kind=kind,
        recipients=recipients,
        organisation=subject.organisation,
        actor=actor,
        text=text,
        url=path,
        key=key,
        target=subject,
        email=Email(
            subject=subject_line,
            template="review_notification",
            context={
                "message": message,
                "url": settings.SITE_URL + path,
                "title": subject.title,
                "actor": actor.display_name,
            },
        ),
    )


MANAGEMENT = (Role.OWNER, Role.MANAGER)
WORKFORCE = (Role.WORKFORCE_REP,)


# --- Comments and change requests -----------------------------------------------------------


def _membership(organisation: Organisation, user: User) -> Membership:
    membership = Membership.objects.filter(organisation=organisation, user=user).first()
    if membership is None or not membership.is_active():
        raise ValidationError(_("Only members of the organisation can do this."))
    return membership


def comment_add(
    *, subject: Subject, author: User, anchor: str, body: str, parent: ReviewComment | None = None
) -> ReviewComment:
    """Comment on a criterion or section (or reply to a comment); the other side is told by email."""
    if not body.strip():
        raise ValidationError({"body": _("Write your comment")})
    organisation = subject.organisation
    with scope(organisation=organisation), transaction.atomic():
        membership = _membership(organisation, author)
        if not role_can(membership.role, "comment"):
            raise ValidationError(_("Your role cannot comment here."))
        if parent is not None:
            anchor = parent.anchor
            parent = parent.parent or parent  # one level of threading: replies join the thread
        comment = ReviewComment.objects.create(
            organisation=organisation,
            subject_type=subject_type_of(subject),
            subject_id=subject.pk,
            anchor=anchor,
            parent=parent,
            author=author,
            body=body.strip(),
        )
        audit_record(
            organisation=organisation,
            actor=author,
            verb="comment.added",
            target=comment,
            target_label=f"{subject.title}: {anchor}",
            after={"anchor": anchor, "body": comment.body, "reply_to": str(parent.pk) if parent else None},
        )
        if membership.role in WORKFORCE:
            recipients = _members_with(organisation, MANAGEMENT, exclude=author)
        else:
            recipients = _members_with(organisation, WORKFORCE, exclude=author)
        if parent is not None and parent.author and parent.author != author and parent.author not in recipients:
            recipients.append(parent.author)
        _notify(
            subject=subject,
            recipients=recipients,
            kind="comment",
            text=_("%(who)s commented on %(anchor)s of %(title)s: “%(body)s”")
            % {"who": author.display_name, "anchor": anchor, "title": subject.title, "body": _quote(comment.body, 200)},
            key=f"comment:{comment.pk}",
            actor=author,
            subject_line=_("%(org)s: new comment on %(title)s") % {"org": organisation.name, "title": subject.title},
            message=_("%(who)s commented on %(anchor)s: “%(body)s”")
            % {"who": author.display_name, "anchor": anchor, "body": _quote(comment.body)},
        )
    return comment


def comment_resolve(*, comment: ReviewComment, actor: User) -> ReviewComment:
    with scope(organisation=comment.organisation), transaction.atomic():
        membership = _membership(comment.organisation, actor)
        if not role_can(membership.role, "comment"):
            raise ValidationError(_("Your role cannot resolve comments."))
        if comment.resolved_at is None:
            comment.resolved_at, comment.resolved_by = timezone.now(), actor
            comment.save(update_fields=["resolved_at", "resolved_by"])
            audit_record(
                organisation=comment.organisation,
                actor=actor,
                verb="comment.resolved",
                target=comment,
                target_label=comment.anchor,
            )
    return comment


def webhook_data(subject: Subject, **extra: Any) -> dict[str, Any]:
    """A webhook's data about an assessment or plan (portal.webhooks.emit)."""
    return {
        "type": subject_type_of(subject),
        "id": str(subject.pk),
        "title": subject.title,
        "url": subject_url(subject),
        **extra,
    }


def _set_status(subject: Subject, status: str, actor: User, verb: str, extra: dict[str, Any] | None = None) -> None:
    before = subject.status
    if status == AssessmentStatus.CHANGES_REQUESTED:
        # The signatures given in this round stop counting: the item must be signed again once changed.
        voided = (
            Signature.objects.filter(
                organisation=subject.organisation,
                subject_type=subject_type_of(subject),
                subject_id=subject.pk,
                decision__in=AGREEING_DECISIONS,
                signed_at__gte=subject.submitted_at,
            ).count()
            if subject.submitted_at
            else 0
        )
        if voided:
            emit(subject.organisation, "signature.voided", webhook_data(subject, signatures=voided))
    subject.status = status
    fields = ["status"]
    if status == AssessmentStatus.FINAL:
        subject.finalised_at = timezone.now()
        fields.append("finalised_at")
        if isinstance(subject, Plan):
            # A final plan is reviewed a year on by default (management may change the date).
            subject.review_due = a_year_after(timezone.localdate(subject.finalised_at))
            fields.append("review_due")
            extra = {**(extra or {}), "review_due": subject.review_due}
    subject.save(update_fields=fields)
    audit_record(
        organisation=subject.organisation,
        actor=actor,
        verb=verb,
        target=subject,
        target_label=subject.title,
        before={"status": before},
        after={"status": status, **(extra or {})},
    )
    events: dict[tuple[str, str], str] = {
        (AssessmentStatus.AGREED, "assessment"): "assessment.agreed",
        (AssessmentStatus.FINAL, "assessment"): "assessment.final",
        (AssessmentStatus.AGREED, "plan"): "plan.agreed",
    }
    event = events.get((status, subject_type_of(subject)))
    if event:
        emit(subject.organisation, event, webhook_data(subject))


def changes_request(*, subject: Subject, actor: User, reasons: str) -> ChangeRequest:
    """A workforce representative sends the item back to management with reasons."""
    if not reasons.strip():
        raise ValidationError({"reasons": _("Say what needs to change, and why")})
    organisation = subject.organisation
    with scope(organisation=organisation), transaction.atomic():
        membership = _membership(organisation, actor)
        if membership.role not in WORKFORCE:
            raise ValidationError(_("Only workforce representatives request changes."))
        locked = type(subject).objects.select_for_update().get(pk=subject.pk)
        if locked.status != AssessmentStatus.IN_REVIEW:
            raise ValidationError(
                _("Changes can only be requested while the item is in workforce review."), code="not_in_review"
            )
        request = ChangeRequest.objects.create(
            organisation=organisation,
            subject_type=subject_type_of(subject),
            subject_id=subject.pk,
            requested_by=actor,
            reasons=reasons.strip(),
        )
        _set_status(
            locked,
            AssessmentStatus.CHANGES_REQUESTED,
            actor,
            f"{subject_type_of(subject)}.changes_requested",
            {"reasons": request.reasons},
        )
        _notify(
            subject=locked,
            recipients=_members_with(organisation, MANAGEMENT),
            kind="changes_requested",
            text=_("%(who)s asked for changes to %(title)s: “%(reasons)s”")
            % {"who": actor.display_name, "title": subject.title, "reasons": _quote(request.reasons, 200)},
            key=f"changes:{request.pk}",
            actor=actor,
            subject_line=_("%(org)s: changes requested to %(title)s")
            % {"org": organisation.name, "title": subject.title},
            message=_("%(who)s asked for changes: “%(reasons)s”")
            % {"who": actor.display_name, "reasons": _quote(request.reasons)},
        )
    with scope(organisation=subject.organisation):  # callers outside a request (tasks, commands) have no scope
        subject.refresh_from_db()
    return request


def change_request_answer(*, change_request: ChangeRequest, actor: User, answer: str) -> ChangeRequest:
    """Management answers what was asked; the representative who asked is told."""
    if not answer.strip():
        raise ValidationError({"answer": _("Write your answer")})
    organisation = change_request.organisation
    with scope(organisation=organisation), transaction.atomic():
        membership = _membership(organisation, actor)
        if membership.role not in MANAGEMENT:
            raise ValidationError(_("Only owners and managers answer change requests."))
        change_request.answer, change_request.answered_by, change_request.answered_at = (
            answer.strip(),
            actor,
            timezone.now(),
        )
        change_request.save(update_fields=["answer", "answered_by", "answered_at"])
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="changes.answered",
            target=change_request,
            after={"answer": change_request.answer},
        )
        subject = subject_for(change_request.subject_type, change_request.subject_id)
        if change_request.requested_by:
            _notify(
                subject=subject,
                recipients=[change_request.requested_by],
                kind="comment",
                text=_("%(who)s answered your change request on %(title)s: “%(answer)s”")
                % {"who": actor.display_name, "title": subject.title, "answer": _quote(change_request.answer, 200)},
                key=f"answer:{change_request.pk}",
                actor=actor,
                subject_line=_("%(org)s: your change request was answered") % {"org": organisation.name},
                message=_("%(who)s answered your request on %(title)s: “%(answer)s”")
                % {"who": actor.display_name, "title": subject.title, "answer": _quote(change_request.answer)},
            )
    return change_request


def subject_for(subject_type: str, subject_id: Any) -> Subject:
    model = Plan if subject_type == "plan" else Assessment
    return model.objects.select_related("organisation").get(pk=subject_id)


# --- Signing --------------------------------------------------------------------------------


def signing_statement(subject: Subject, capacity: str) -> str:
    kind = _("plan") if isinstance(subject, Plan) else _("self-assessment")
    if capacity == SignatureCapacity.WORKFORCE:
        return _(
            "As a workforce representative of %(org)s, I have read this %(kind)s, “%(title)s”, exactly as shown, "
            "and record the workforce's decision on it."
        ) % {"org": subject.organisation.name, "kind": kind, "title": subject.title}
    return _(
        "For the management of %(org)s, I confirm this %(kind)s, “%(title)s”, exactly as shown, and that it "
        "was shared with the workforce and their representatives before being agreed."
    ) % {"org": subject.organisation.name, "kind": kind, "title": subject.title}


def capacity_for(membership: Membership) -> str | None:
    if role_can(membership.role, "countersign_workforce"):
        return SignatureCapacity.WORKFORCE
    if role_can(membership.role, "sign_management"):
        return SignatureCapacity.MANAGEMENT
    return None


def subject_sign(
    *,
    subject: Subject,
    signer: User,
    decision: str,
    typed_name: str,
    job_title: str = "",
    reservations: str = "",
    reasons: str = "",
    expected_hash: str,
    context: SigningContext,
) -> Signature:
    """Sign, sign with reservations, or decline. Reaching agreement makes the item final."""
    organisation = subject.organisation
    subject_type = subject_type_of(subject)
    with scope(organisation=organisation), transaction.atomic():
        membership = _membership(organisation, signer)
        capacity = capacity_for(membership)
        if capacity is None:
            raise ValidationError(_("Your role cannot sign this."), code="cannot_sign")
        locked = type(subject).objects.select_for_update().select_related("organisation").get(pk=subject.pk)
        if locked.status != AssessmentStatus.IN_REVIEW:
            raise ValidationError(_("Only an item in workforce review can be signed."), code="not_in_review")
        snapshot = subject_snapshot(locked)
        current_hash = snapshot_hash(snapshot)
        if expected_hash != current_hash:
            raise ValidationError(
                _("The content changed while you were reading it. Read it again, then sign."), code="content_changed"
            )
        previous = Signature.objects.filter(
            organisation=organisation, subject_type=subject_type, subject_id=subject.pk, signer=signer
        )
        if previous.exclude(capacity=capacity).exists():
            raise ValidationError(
                _("You have already signed this for the other side. Nobody signs one item for both."),
                code="separation_of_duties",
            )
        this_round = [s for s in previous if locked.submitted_at is None or s.signed_at >= locked.submitted_at]
        if any(s.is_valid_for(current_hash) and s.decision in AGREEING_DECISIONS for s in this_round):
            raise ValidationError(_("You have already signed this."), code="already_signed")
        if decision in AGREEING_DECISIONS:
            blockers = agreement_blockers(locked)
            if blockers:
                raise ValidationError([ValidationError(b, code="agreement_blocked") for b in blockers])
        signature = signature_record(
            organisation=organisation,
            subject_type=subject_type,
            subject_id=subject.pk,
            subject_version=locked.version,
            snapshot=snapshot,
            signer=signer,
            capacity=capacity,
            decision=decision,
            statement=signing_statement(locked, capacity),
            typed_name=typed_name,
            job_title=job_title,
            reservations=reservations,
            reasons=reasons,
            context=context,
        )
        other = WORKFORCE if capacity == SignatureCapacity.MANAGEMENT else MANAGEMENT
        label = {
            SignatureDecision.SIGN: _("signed"),
            SignatureDecision.SIGN_WITH_RESERVATIONS: _("signed with reservations"),
            SignatureDecision.DECLINE: _("declined to sign"),
        }[SignatureDecision(decision)]
        if decision == SignatureDecision.DECLINE:
            ChangeRequest.objects.create(
                organisation=organisation,
                subject_type=subject_type,
                subject_id=subject.pk,
                requested_by=signer,
                reasons=signature.reasons,
            )
            _set_status(
                locked,
                AssessmentStatus.CHANGES_REQUESTED,
                signer,
                f"{subject_type}.changes_requested",
                {"reasons": signature.reasons, "declined": True},
            )
        else:
            emit(
                organisation,
                "signature.given",
                webhook_data(locked, signature=str(signature.pk), capacity=capacity, decision=decision),
            )
            _agree_if_complete(locked, signer, current_hash)
        message = _("%(who)s %(label)s “%(title)s”.") % {
            "who": signature.typed_name,
            "label": label,
            "title": locked.title,
        }
        if signature.reservations:
            message += " " + _("Reservations: “%(text)s”") % {"text": _quote(signature.reservations)}
        if signature.reasons:
            message += " " + _("Reasons: “%(text)s”") % {"text": _quote(signature.reasons)}
        if decision == SignatureDecision.DECLINE:
            kind = "changes_requested"
            text = _("%(who)s declined to sign %(title)s and asked for changes") % {
                "who": signer.display_name,
                "title": locked.title,
            }
        elif locked.status == AssessmentStatus.FINAL:
            kind = "agreed"
            text = _("%(who)s %(label)s %(title)s: it is now agreed and final") % {
                "who": signer.display_name,
                "label": label,
                "title": locked.title,
            }
        else:
            kind = "signature_requested"
            text = _("%(who)s %(label)s %(title)s: it now waits for your side's signature") % {
                "who": signer.display_name,
                "label": label,
                "title": locked.title,
            }
        _notify(
            subject=locked,
            recipients=_members_with(organisation, other),
            kind=kind,
            text=text,
            key=f"signature:{signature.pk}",
            actor=signer,
            subject_line=_("%(org)s: %(title)s was %(label)s")
            % {"org": organisation.name, "title": locked.title, "label": label},
            message=message,
        )
    with scope(organisation=subject.organisation):  # callers outside a request (tasks, commands) have no scope
        subject.refresh_from_db()
    return signature


def _agree_if_complete(subject: Subject, actor: User, current_hash: str) -> bool:
    # Only signatures given since the item was last sent for review count: a representative who
    # signed, then asked for changes, signs again on what comes back.
    signatures = Signature.objects.filter(
        organisation=subject.organisation,
        subject_type=subject_type_of(subject),
        subject_id=subject.pk,
        decision__in=AGREEING_DECISIONS,
        signed_at__gte=subject.submitted_at,
    )
    valid = [s for s in signatures if s.is_valid_for(current_hash)]
    if not ({s.capacity for s in valid} >= {SignatureCapacity.MANAGEMENT, SignatureCapacity.WORKFORCE}):
        return False
    kind = subject_type_of(subject)
    _set_status(subject, AssessmentStatus.AGREED, actor, f"{kind}.agreed", {"content_hash": current_hash})
    _set_status(subject, AssessmentStatus.FINAL, actor, f"{kind}.finalised", {"content_hash": current_hash})
    return True
