"""Writes for self-assessments, evidence and action items. Each records its audit event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scope

from assessments.models import (
    ActionItem,
    ActionStatus,
    Assessment,
    AssessmentStatus,
    Citation,
    Evidence,
    Response,
    a_year_after,
)
from assessments.response_rows import ResponseRow, carry_over_rows
from assessments.selectors import owner_choices
from assessments.uploads import UploadRejected, safe_display_name, sniff_upload
from portal.audit import audit_record
from portal.models import Membership, Organisation, User
from portal.notifications import Email, notify
from portal.roles import Role
from portal.text import require_single_line
from portal.versions import bump
from portal.webhooks import emit
from principles.models import Criterion, Framework


def _require_editable(assessment: Assessment) -> None:
    if not assessment.is_editable:
        raise ValidationError(
            _("This assessment is %(status)s and cannot be edited until changes are requested.")
            % {"status": assessment.get_status_display().lower()},
            code="not_editable",
        )


def assessment_create(
    *,
    organisation: Organisation,
    actor: User,
    framework: Framework,
    title: str,
    period_start: date,
    period_end: date,
    carry_over_from: Assessment | None = None,
) -> Assessment:
    """Start a cycle with a response for every criterion of the framework version: empty, or, when
    `carry_over_from` (the organisation's latest final assessment) is given, its answers as a starting
    point that counts only once confirmed, its citations of evidence still in date, and its open
    action items moved over (see `carry_over_plan`)."""
    if period_end < period_start:
        raise ValidationError({"period_end": _("The end of the period must be on or after its start")})
    require_single_line(title=(title, _("Title")))
    with scope(organisation=organisation), transaction.atomic():
        previous = None
        if carry_over_from is not None:
            # Locked, so two clicks on "Start" cannot both carry it over.
            previous = (
                Assessment.objects.select_for_update().filter(organisation=organisation, pk=carry_over_from.pk).first()
            )
            if previous is None:
                raise ValidationError(_("Choose a self-assessment of this organisation to start from."))
            _check_carry_over_source(previous)
        assessment = Assessment.objects.create(
            organisation=organisation,
            framework=framework,
            title=title.strip(),
            period_start=period_start,
            period_end=period_end,
            created_by=actor,
            carried_over_from=previous,
        )
        criteria = list(Criterion.objects.filter(framework=framework).order_by("pk"))
        plan = carry_over_plan(previous) if previous is not None else None
        responses = []
        for criterion in criteria:
            before = plan.answers.get(criterion.code) if plan else None
            responses.append(
                Response(
                    organisation=organisation,
                    assessment=assessment,
                    criterion=criterion,
                    maturity=before.maturity if before else None,
                    narrative=before.narrative if before else "",
                    carried_over=before is not None,
                )
            )
        Response.objects.bulk_create(responses)
        after: dict[str, Any] = {
            "title": assessment.title,
            "period_start": period_start,
            "period_end": period_end,
            "framework_version": framework.version,
        }
        if plan is not None and previous is not None:
            after.update(_carry_over(assessment, previous, plan, {r.criterion.code: r for r in responses}))
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="assessment.created",
            target=assessment,
            after=after,
        )
    return assessment


def _check_carry_over_source(previous: Assessment) -> None:
    """Only the organisation's latest final assessment is carried over, and only once."""
    if previous.status != AssessmentStatus.FINAL:
        raise ValidationError(_("Only a final self-assessment can be carried over to the next one."), code="not_final")
    if Assessment.objects.filter(carried_over_from=previous).exists():
        raise ValidationError(
            _("The next self-assessment has already been started from %(title)s.") % {"title": previous.title},
            code="newer_version",
        )
    newer = (
        Assessment.objects.filter(organisation=previous.organisation_id, status=AssessmentStatus.FINAL)
        .order_by("-period_end", "-created_at")
        .values_list("pk", flat=True)
        .first()
    )
    if newer != previous.pk:
        raise ValidationError(
            _("A newer final self-assessment exists: start the next one from that."), code="newer_version"
        )


@dataclass(frozen=True)
class CarryOverPlan:
    """What starting from a final assessment carries over (shown before starting, done by `assessment_create`)."""

    answers: dict[str, Response]  # criterion code -> the final assessment's answer (with citations)
    citations: dict[str, list[Evidence]]  # criterion code -> files still in date, cited again
    expired: list[Evidence]  # files no longer in date: their citations stay behind
    actions: list[ActionItem]  # open action items, moved to the new assessment

    @property
    def citation_count(self) -> int:
        return sum(len(files) for files in self.citations.values())


def _carried(maturity: int | None, has_narrative: bool) -> bool:
    """Whether an answer of the final assessment is carried over: it says something."""
    return maturity is not None or has_narrative


def _in_date(expiry: date | None, today: date) -> bool:
    """Whether a cited file is cited again in the next assessment: no expiry, or expiring after today."""
    return expiry is None or expiry > today


@dataclass(frozen=True)
class ExpiredFile:
    original_name: str
    expiry_date: date


@dataclass(frozen=True)
class CarryOverSummary:
    """`CarryOverPlan` counted, for the page that shows it before starting."""

    answers: int
    citation_count: int
    expired: list[ExpiredFile]  # by name, each file once
    actions: int


def carry_over_summary(previous: Assessment, *, today: date | None = None) -> CarryOverSummary:
    """What `carry_over_plan` would carry over, counted: one hand-written query (`response_rows`)."""
    today = today or timezone.localdate()
    answers: set[Any] = set()
    citation_count, actions = 0, 0
    expired: dict[Any, ExpiredFile] = {}
    for row in carry_over_rows(previous.organisation_id, previous.pk):
        actions = row.open_actions
        if row.response_id is None or not _carried(row.maturity, row.has_narrative):
            continue
        answers.add(row.response_id)
        if row.evidence_id is None:
            continue
        if _in_date(row.expiry_date, today):
            citation_count += 1
        elif row.evidence_id not in expired:
            expired[row.evidence_id] = ExpiredFile(row.original_name, row.expiry_date)  # type: ignore[arg-type]
    return CarryOverSummary(
        len(answers), citation_count, sorted(expired.values(), key=lambda e: e.original_name), actions
    )


def carry_over_plan(previous: Assessment, *, today: date | None = None) -> CarryOverPlan:
    """What would be carried over from `previous`: answered criteria, citations of evidence still in
    date (no expiry, or expiring after today), open action items. Three queries."""
    from django.db.models import Prefetch

    today = today or timezone.localdate()
    answers: dict[str, Response] = {}
    citations: dict[str, list[Evidence]] = {}
    expired: list[Evidence] = []
    rows = (
        Response.objects.filter(assessment=previous)
        .select_related("criterion")
        .prefetch_related(Prefetch("citations", queryset=Citation.objects.select_related("evidence")))
    )
    for response in rows:
        if not _carried(response.maturity, bool(response.narrative)):
            continue
        answers[response.criterion.code] = response
        for citation in response.citations.all():
            evidence = citation.evidence
            if _in_date(evidence.expiry_date, today):
                citations.setdefault(response.criterion.code, []).append(evidence)
            elif evidence not in expired:
                expired.append(evidence)
    actions = list(
        ActionItem.objects.filter(assessment=previous)
        .exclude(status=ActionStatus.DONE)
        .select_related("response__criterion")
        .order_by("due_date", "created_at")
    )
    return CarryOverPlan(answers, citations, sorted(expired, key=lambda e: e.original_name), actions)


def _carry_over(
    assessment: Assessment, previous: Assessment, plan: CarryOverPlan, responses: dict[str, Response]
) -> dict[str, Any]:
    """Cite the in-date files again and move the open actions; returns what the audit event records.
    The final assessment's own rows (responses, citations) are only read: its signed content, and so
    its hash, stay as they were. Action items are not part of what was signed (see
    `workflow.assessment_snapshot`): they are live work, so each moves rather than being copied, and
    nobody gets two of the same to-do."""
    organisation = assessment.organisation
    Citation.objects.bulk_create(
        Citation(organisation=organisation, response=responses[code], evidence=evidence)
        for code, files in plan.citations.items()
        if code in responses
        for evidence in files
    )
    moved = []
    for item in plan.actions:
        code = item.response.criterion.code if item.response is not None else None
        item.assessment = assessment
        item.response = responses.get(code) if code else None
        moved.append(item)
    ActionItem.objects.bulk_update(moved, ["assessment", "response"])
    return {
        "carried_over_from": {"id": str(previous.pk), "title": previous.title},
        "answers_carried_over": sum(1 for code in plan.answers if code in responses),
        "citations_carried_over": plan.citation_count,
        "expired_evidence_left": [e.original_name for e in plan.expired],
        "actions_moved": [{"id": str(a.pk), "title": a.title} for a in moved],
    }


def next_cycle_defaults(previous: Assessment) -> dict[str, Any]:
    """The next cycle's title and period: the year after the previous one's."""
    start, end = a_year_after(previous.period_start), a_year_after(previous.period_end)
    old_year, new_year = str(previous.period_start.year), str(start.year)
    if old_year in previous.title:
        title = previous.title.replace(old_year, new_year)
    else:
        title = _("Self-assessment %(year)s") % {"year": new_year}
    return {"title": title, "period_start": start, "period_end": end}


@dataclass(frozen=True)
class SaveResult:
    response: Response
    changed: bool


def response_save(
    *, response: Response, actor: User, maturity: int | None, narrative: str, evidence_ids: list[Any]
) -> SaveResult:
    """Save one criterion's answer (used by autosave and the full-page form alike)."""
    assessment = response.assessment
    _require_editable(assessment)
    if maturity is not None and not 0 <= maturity <= 4:
        raise ValidationError({"maturity": _("Choose a maturity level from 0 to 4")})
    if "\x00" in narrative:  # as every form field refuses it; PostgreSQL cannot store it
        raise ValidationError({"narrative": _("Null characters are not allowed.")})
    organisation = assessment.organisation
    with scope(organisation=organisation), transaction.atomic():
        # Re-read under a lock: an autosave started before submission or signing must not write.
        _require_editable(Assessment.objects.select_for_update().get(pk=assessment.pk))
        wanted = set(
            Evidence.objects.filter(organisation=organisation, pk__in=evidence_ids).values_list("pk", flat=True)
        )
        if len(wanted) != len({str(e) for e in evidence_ids}):
            raise ValidationError({"evidence": _("Choose evidence from your organisation's library")})
        current = set(Citation.objects.filter(response=response).values_list("evidence_id", flat=True))
        changed_fields = maturity != response.maturity or narrative != response.narrative or wanted != current
        if not changed_fields:
            return SaveResult(response, False)
        before = {"maturity": response.maturity, "evidence": sorted(str(e) for e in current)}
        # Changing an answer carried over from last year confirms it: the person has looked at it.
        confirming = response.awaiting_confirmation
        response.maturity = maturity
        response.narrative = narrative
        response.updated_at = timezone.now()
        response.updated_by = actor
        fields = ["maturity", "narrative", "updated_at", "updated_by"]
        if confirming:
            response.confirmed_at, response.confirmed_by = response.updated_at, actor
            fields += ["confirmed_at", "confirmed_by"]
        response.save(update_fields=fields)
        Citation.objects.filter(response=response, evidence_id__in=current - wanted).delete()
        Citation.objects.bulk_create(
            Citation(organisation=organisation, response=response, evidence_id=e) for e in wanted - current
        )
        after = {"maturity": maturity, "evidence": sorted(str(e) for e in wanted)}
        # Narrative edits are drafts until submission (the submitted snapshot holds them);
        # a change of maturity or of cited evidence is a state change worth its own event.
        if before != after:
            audit_record(
                organisation=organisation,
                actor=actor,
                verb="response.updated",
                target=response,
                target_label=f"{response.criterion.code} {response.criterion.title}"[:300],
                before=before,
                after=after,
            )
        else:
            # Not audited, so nothing else bumps: signed content hashes (workflow.current_subject_hash).
            bump(organisations=[organisation])
        if confirming:
            _record_confirmation(response, actor, changed=True)
    return SaveResult(response, True)


def response_cite(*, response: Response, evidence: Evidence, actor: User) -> SaveResult:
    """Cite one more file on an answer, keeping the rest of it (a file uploaded from the criterion)."""
    with scope(organisation=response.organisation):
        cited = list(Citation.objects.filter(response=response).values_list("evidence_id", flat=True))
    return response_save(
        response=response,
        actor=actor,
        maturity=response.maturity,
        narrative=response.narrative,
        evidence_ids=[*cited, evidence.pk] if evidence.pk not in cited else cited,
    )


def _record_confirmation(response: Response, actor: User, *, changed: bool) -> None:
    audit_record(
        organisation=response.organisation,
        actor=actor,
        verb="response.confirmed",
        target=response,
        target_label=f"{response.criterion.code} {response.criterion.title}"[:300],
        after={"maturity": response.maturity, "changed": changed},
    )


def response_confirm(*, response: Response, actor: User) -> bool:
    """Confirm an answer carried over from the previous assessment as it stands, so it counts as
    answered. Returns whether anything changed (confirming twice, or an answer not carried over,
    changes nothing)."""
    assessment = response.assessment
    _require_editable(assessment)
    with scope(organisation=assessment.organisation), transaction.atomic():
        _require_editable(Assessment.objects.select_for_update().get(pk=assessment.pk))
        now = timezone.now()
        claimed = Response.objects.filter(pk=response.pk, carried_over=True, confirmed_at__isnull=True).update(
            confirmed_at=now, confirmed_by=actor
        )
        if not claimed:
            return False
        response.confirmed_at, response.confirmed_by = now, actor
        _record_confirmation(response, actor, changed=False)
    return True


def responses_confirm(*, assessment: Assessment, actor: User, principle_number: int) -> int:
    """Confirm every answer still waiting for confirmation in one principle; returns how many."""
    with scope(organisation=assessment.organisation):
        waiting = list(
            Response.objects.filter(
                assessment=assessment,
                criterion__principle__number=principle_number,
                carried_over=True,
                confirmed_at__isnull=True,
            ).select_related("criterion", "assessment", "organisation")
        )
    return sum(response_confirm(response=r, actor=actor) for r in waiting)


@dataclass(frozen=True)
class SubmissionProblem:
    response: Response
    message: str  # for a list of problems: names the criterion
    field: str = ""  # where the criterion page shows it: "maturity", "evidence", or "" (the criterion)
    field_message: str = ""  # at that field, beside the criterion's name


def answer_problem(
    *, code: str, title: str, maturity: int | None, evidence_expected: bool, cited: bool, awaiting_confirmation: bool
) -> tuple[str, str, str] | None:
    """What stops one answer from being submitted, if anything: (the message naming the criterion, the
    field of the criterion page it is shown at, the message at that field)."""
    names = {"code": code, "title": title}
    if awaiting_confirmation:
        return (
            _("%(code)s %(title)s: confirm or change the answer carried over from the last assessment") % names,
            "",
            _("Confirm or change the answer carried over from the last assessment"),
        )
    if maturity is None:
        return _("%(code)s %(title)s: choose a maturity level") % names, "maturity", _("Choose a maturity level")
    if maturity >= 3 and evidence_expected and not cited:
        level = {"level": maturity}
        return (
            _("%(code)s %(title)s: cite evidence for maturity %(level)s, or lower the level") % {**names, **level},
            "evidence",
            _("Cite evidence for maturity %(level)s, or lower the level") % level,
        )
    return None


def response_problem(response: Response) -> SubmissionProblem | None:
    """`answer_problem` of a response. Reads the response's criterion and its citations (prefetch them when
    checking many)."""
    criterion = response.criterion
    maturity = response.maturity
    problem = answer_problem(
        code=criterion.code,
        title=criterion.title,
        maturity=maturity,
        evidence_expected=criterion.evidence_expected,
        # read only where the rule looks at them (as before: no query for a response that needs none)
        cited=bool(maturity is not None and maturity >= 3 and criterion.evidence_expected and response.citations.all()),
        awaiting_confirmation=response.awaiting_confirmation,
    )
    return SubmissionProblem(response, *problem) if problem else None


@dataclass(frozen=True)
class RowProblem:
    """`SubmissionProblem` of a response read as a row (`response_rows.ResponseRow`)."""

    row: ResponseRow
    message: str
    field: str = ""
    field_message: str = ""


def row_problems(rows: list[ResponseRow]) -> list[RowProblem]:
    """`submission_problems` from an assessment's rows, in framework order: no query."""
    problems = []
    for row in rows:
        problem = answer_problem(
            code=row.code,
            title=row.title,
            maturity=row.maturity,
            evidence_expected=row.evidence_expected,
            cited=row.cited > 0,
            awaiting_confirmation=row.awaiting_confirmation,
        )
        if problem:
            problems.append(RowProblem(row, *problem))
    return problems


def submission_problems(assessment: Assessment) -> list[SubmissionProblem]:
    """What stops an assessment from going to workforce review, one line per criterion."""
    responses = (
        Response.objects.filter(assessment=assessment)
        .select_related("criterion", "criterion__principle")
        .prefetch_related("citations")
        .order_by("criterion__principle__number", "criterion__position")
    )
    return [problem for response in responses if (problem := response_problem(response)) is not None]


def assessment_submit(*, assessment: Assessment, actor: User) -> list[str]:
    """Send the assessment to workforce review; returns the reps notified. Raises with problems."""
    organisation = assessment.organisation
    with scope(organisation=organisation), transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        _require_editable(locked)
        problems = submission_problems(locked)
        if problems:
            raise ValidationError([p.message for p in problems])
        before = locked.status
        locked.status = AssessmentStatus.IN_REVIEW
        locked.submitted_at = timezone.now()
        locked.submitted_by = actor
        locked.save(update_fields=["status", "submitted_at", "submitted_by"])
        reps = list(
            Membership.objects.filter(organisation=organisation, role=Role.WORKFORCE_REP)
            .select_related("user")
            .order_by("user__email")
        )
        reps = [r for r in reps if r.is_active()]
        path = reverse("assessments:overview", kwargs={"org_slug": organisation.slug, "assessment_id": locked.pk})
        notify(
            kind="signature_requested",
            recipients=[r.user for r in reps],
            organisation=organisation,
            actor=actor,
            text=_("%(who)s sent %(title)s for workforce review at %(org)s: read it, comment, and countersign")
            % {"who": actor.display_name, "title": locked.title, "org": organisation.name},
            url=path,
            key=f"assessment-submitted:{locked.pk}:{locked.submitted_at.isoformat()}",
            target=locked,
            email=Email(
                subject=_("%(org)s: %(title)s is ready for your review")
                % {"org": organisation.name, "title": locked.title},
                template="assessment_submitted",
                context={
                    "title": locked.title,
                    "submitted_by": actor.display_name,
                    "url": settings.SITE_URL + path,
                    "period_start": date_format(locked.period_start, "j F Y"),
                    "period_end": date_format(locked.period_end, "j F Y"),
                },
            ),
        )
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="assessment.submitted",
            target=locked,
            before={"status": before},
            after={"status": locked.status, "notified": [r.user.email for r in reps]},
        )
        emit(organisation, "assessment.submitted", {"id": str(locked.pk), "title": locked.title, "url": path})
    with scope(organisation=assessment.organisation):  # callers outside a request (tasks, commands) have no scope
        assessment.refresh_from_db()
    return [r.user.email for r in reps]


# --- Evidence -------------------------------------------------------------------------------


def evidence_upload(
    *,
    organisation: Organisation,
    actor: User,
    file: IO[bytes],
    name: str,
    description: str,
    effective_date: date,
    expiry_date: date | None,
) -> Evidence:
    """Check the file by its content, store it privately under a random name, record its hash."""
    if expiry_date is not None and expiry_date < effective_date:
        raise ValidationError({"expiry_date": _("The expiry date must be on or after the effective date")})
    try:
        sniffed = sniff_upload(file=file, name=name, max_bytes=settings.EVIDENCE_MAX_BYTES)
    except UploadRejected as exc:
        raise ValidationError({"file": str(exc)}, code=exc.code) from exc
    display_name = safe_display_name(name)
    stored_name = f"evidence/{organisation.pk}/{uuid.uuid4().hex}.{sniffed.extension}"
    saved = default_storage.save(stored_name, File(file))
    try:
        with scope(organisation=organisation), transaction.atomic():
            evidence = Evidence.objects.create(
                organisation=organisation,
                file=saved,
                original_name=display_name,
                kind=sniffed.kind,
                content_type=sniffed.content_type,
                size=sniffed.size,
                sha256=sniffed.sha256,
                description=description.strip(),
                effective_date=effective_date,
                expiry_date=expiry_date,
                uploaded_by=actor,
            )
            audit_record(
                organisation=organisation,
                actor=actor,
                verb="evidence.uploaded",
                target=evidence,
                target_label=display_name,
                after={
                    "sha256": sniffed.sha256,
                    "size": sniffed.size,
                    "type": sniffed.content_type,
                    "effective_date": effective_date,
                    "expiry_date": expiry_date,
                },
            )
    except Exception:
        default_storage.delete(saved)  # nothing stored half-way
        raise
    return evidence


def evidence_locked_by(evidence: Evidence) -> list[Assessment]:
    """Submitted or signed assessments citing this file: while they exist it cannot be deleted."""
    return list(
        Assessment.objects.filter(responses__citations__evidence=evidence)
        .exclude(status__in=[AssessmentStatus.DRAFT, AssessmentStatus.CHANGES_REQUESTED])
        .distinct()
    )


def evidence_download_allow(*, membership: Membership, evidence: Evidence, actor: User) -> None:
    """May this member download the file? Auditors see finished work only: a file cited by a final
    assessment or plan (anything else is 404 to them), and each of their downloads is audit-logged."""
    if membership.role != Role.AUDITOR:
        return
    from assessments.models import PlanCitation

    cited_by_final = Citation.objects.filter(evidence=evidence, response__assessment__status=AssessmentStatus.FINAL)
    cited_by_plan = PlanCitation.objects.filter(evidence=evidence, plan__status=AssessmentStatus.FINAL)
    if not (cited_by_final.exists() or cited_by_plan.exists()):
        raise Http404
    audit_record(
        organisation=evidence.organisation,
        actor=actor,
        verb="auditor.downloaded",
        target=evidence,
        target_label=evidence.original_name,
    )


def evidence_downloadable_from(*, membership: Membership, assessment: Assessment) -> bool:
    """May this member download the files `assessment` cites? The rule of `evidence_download_allow`,
    asked before any file is: auditors, only those of final work."""
    if not membership.can("download_evidence"):
        return False
    return membership.role != Role.AUDITOR or assessment.status == AssessmentStatus.FINAL


def evidence_file_response(evidence: Evidence) -> FileResponse:
    """The stored file as a private attachment that no browser renders or sniffs."""
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def evidence_delete(*, evidence: Evidence, actor: User) -> None:
    organisation = evidence.organisation
    with scope(organisation=organisation), transaction.atomic():
        locked = evidence_locked_by(evidence)
        if locked:
            raise ValidationError(
                _("This file is cited by %(titles)s, which has been submitted or signed, so it cannot be deleted.")
                % {"titles": ", ".join(a.title for a in locked)}
            )
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="evidence.deleted",
            target=evidence,
            target_label=evidence.original_name,
            before={"sha256": evidence.sha256, "description": evidence.description},
        )
        name = evidence.file.name or ""
        evidence.delete()
        transaction.on_commit(lambda: default_storage.delete(name))


# --- Action items ---------------------------------------------------------------------------


def _check_owner(organisation: Organisation, owner: User | None, *, current: User | None = None) -> None:
    """An action's owner is someone who can act on it (`selectors.owner_choices`); an owner given
    before this rule may stay while the action is edited."""
    if owner is None or (current is not None and owner.pk == current.pk):
        return
    if owner.pk not in {user.pk for user in owner_choices(organisation)}:
        raise ValidationError({"owner": _("Choose an owner from the organisation's members who can act on it")})


def action_assigned_notify(*, item: ActionItem, actor: User, key: str) -> None:
    """Tell an action's owner it is theirs (nobody is told of an action they gave themselves)."""
    owner = item.owner
    if owner is None or owner.pk == actor.pk:
        return
    slug = item.organisation.slug
    if item.assessment is not None and item.response is not None:
        where = item.assessment.title
        url = reverse(
            "assessments:principle",
            kwargs={
                "org_slug": slug,
                "assessment_id": item.assessment_id,
                "number": item.response.criterion.principle.number,
            },
        )
    elif item.plan is not None:
        where = item.plan.title
        url = reverse("assessments:plan_eqia", kwargs={"org_slug": slug, "plan_id": item.plan_id})
    else:
        where, url = item.organisation.name, reverse("assessments:list", kwargs={"org_slug": slug})
    notify(
        kind="action_assigned",
        recipients=[owner],
        organisation=item.organisation,
        actor=actor,
        text=_("%(who)s assigned you the action “%(title)s” in %(where)s, due %(due)s")
        % {"who": actor.display_name, "title": item.title, "where": where, "due": date_format(item.due_date, "j F Y")},
        url=url,
        key=key,
        target=item,
    )


def action_item_create(
    *, response: Response, actor: User, title: str, owner: User | None, due_date: date
) -> ActionItem:
    organisation = response.organisation
    require_single_line(title=(title, _("Title")))  # it goes into its reminders' and notification's subjects
    with scope(organisation=organisation), transaction.atomic():
        _check_owner(organisation, owner)
        item = ActionItem.objects.create(
            organisation=organisation,
            assessment=response.assessment,
            response=response,
            title=title.strip(),
            owner=owner,
            due_date=due_date,
            created_by=actor,
        )
        event = audit_record(
            organisation=organisation,
            actor=actor,
            verb="action.created",
            target=item,
            target_label=item.title,
            after={
                "criterion": response.criterion.code,
                "owner": owner.email if owner else None,
                "due_date": due_date,
            },
        )
        action_assigned_notify(item=item, actor=actor, key=f"action-assigned:{event.pk}")
    return item


def action_item_update(
    *, item: ActionItem, actor: User, title: str, owner: User | None, due_date: date, status: str
) -> ActionItem:
    organisation = item.organisation
    if status not in ActionStatus.values:
        raise ValidationError({"status": _("Choose a status from the list")})
    require_single_line(title=(title, _("Title")))
    with scope(organisation=organisation), transaction.atomic():
        _check_owner(organisation, owner, current=item.owner)
        before = {
            "title": item.title,
            "owner": item.owner.email if item.owner else None,
            "due_date": item.due_date,
            "status": item.status,
        }
        item.title, item.owner, item.due_date = title.strip(), owner, due_date
        if status != item.status:
            item.completed_at = timezone.now() if status == ActionStatus.DONE else None
        item.status = status
        item.save()
        after = {
            "title": item.title,
            "owner": owner.email if owner else None,
            "due_date": due_date,
            "status": status,
        }
        event = audit_record(
            organisation=organisation,
            actor=actor,
            verb="action.updated",
            target=item,
            target_label=item.title,
            before=before,
            after=after,
        )
        if owner is not None and before["owner"] != after["owner"]:  # given to someone new
            action_assigned_notify(item=item, actor=actor, key=f"action-assigned:{event.pk}")
    return item


def action_item_delete(*, item: ActionItem, actor: User) -> None:
    organisation = item.organisation
    with scope(organisation=organisation), transaction.atomic():
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="action.deleted",
            target=item,
            target_label=item.title,
            before={"title": item.title, "status": item.status},
        )
        item.delete()
