"""Reads for assessments: visibility per role, progress, maturity per principle. Fixed query counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from assessments.models import (
    ActionItem,
    ActionStatus,
    Assessment,
    AssessmentStatus,
    ChangeRequest,
    Citation,
    Evidence,
    Plan,
    Response,
    ReviewComment,
)
from assessments.response_rows import ResponseRow, response_rows
from portal.dashboard import db_value
from portal.models import Membership, Organisation
from portal.roles import Role
from principles.framework import principles_of
from principles.models import Principle


def visible_assessments(membership: Membership):
    """Auditors see finished work only; everyone else in the organisation sees every cycle."""
    qs = Assessment.objects.filter(organisation=membership.organisation_id)
    if membership.role == Role.AUDITOR:
        qs = qs.filter(status=AssessmentStatus.FINAL)
    return qs


def get_assessment_for(membership: Membership, assessment_id: Any) -> Assessment:
    assessment = (
        visible_assessments(membership)
        .select_related("framework", "organisation", "submitted_by", "carried_over_from")
        .filter(pk=assessment_id)
        .first()
    )
    if assessment is None:
        raise Http404
    return assessment


@dataclass
class PrincipleProgress:
    principle: Principle
    total: int = 0
    answered: int = 0
    evidence_missing: int = 0
    overdue_actions: int = 0
    maturity_sum: int = 0
    expired_evidence: int = 0
    to_confirm: int = 0  # carried over from the last assessment, not yet confirmed (not counted as answered)

    @property
    def status(self) -> str:
        if self.answered == 0 and not self.to_confirm:
            return "not_started"
        if self.answered < self.total or self.evidence_missing:
            return "in_progress"
        return "completed"

    @property
    def average_maturity(self) -> float | None:
        return round(self.maturity_sum / self.answered, 1) if self.answered else None


@dataclass
class AssessmentProgress:
    principles: list[PrincipleProgress] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(p.total for p in self.principles)

    @property
    def answered(self) -> int:
        return sum(p.answered for p in self.principles)

    @property
    def evidence_missing(self) -> int:
        return sum(p.evidence_missing for p in self.principles)

    @property
    def overdue_actions(self) -> int:
        return sum(p.overdue_actions for p in self.principles)

    @property
    def to_confirm(self) -> int:
        return sum(p.to_confirm for p in self.principles)

    @property
    def expired_evidence(self) -> int:
        return sum(p.expired_evidence for p in self.principles)

    @property
    def completed(self) -> int:
        return sum(1 for p in self.principles if p.status == "completed")


def _count_of(queryset: QuerySet, column: str) -> Coalesce:
    """How many rows of `queryset` each outer row has, as a correlated subquery (0 when none)."""
    counted = queryset.order_by().values(column).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def progress_of(assessment: Assessment, rows: list[ResponseRow]) -> AssessmentProgress:
    """The assessment's progress from its rows (`response_rows.response_rows` or `content_rows`): no query."""
    principles = principles_of(assessment.framework_id)
    by_id = {p.pk: PrincipleProgress(principle=p) for p in principles}
    for row in rows:
        _tally(
            by_id[row.principle_id],
            evidence_expected=row.evidence_expected,
            maturity=row.maturity,
            cited=row.cited,
            expired=row.expired,
            overdue=row.overdue,
            awaiting_confirmation=row.awaiting_confirmation,
        )
    return AssessmentProgress(principles=[by_id[p.pk] for p in principles])


def assessment_progress(assessment: Assessment) -> AssessmentProgress:
    """Answered, evidence missing and overdue actions per principle, in one query (one row per response
    carrying its counts; the principles from memory)."""
    return assessments_progress([assessment])[assessment.pk]


def assessments_progress(assessments: list[Assessment]) -> dict[Any, AssessmentProgress]:
    """`assessment_progress` of several assessments, by id, in one query (a query per organisation)."""
    if not assessments:
        return {}
    today = timezone.localdate()
    by_assessment: dict[Any, list[ResponseRow]] = {a.pk: [] for a in assessments}
    for organisation_id in dict.fromkeys(a.organisation_id for a in assessments):
        ids = [a.pk for a in assessments if a.organisation_id == organisation_id]
        for row in response_rows(organisation_id, ids, today):
            by_assessment[row.assessment_id].append(row)
    return {a.pk: progress_of(a, by_assessment[a.pk]) for a in assessments}


def _tally(
    progress: PrincipleProgress,
    *,
    evidence_expected: bool,
    maturity: int | None,
    cited: int,
    expired: int,
    overdue: int,
    awaiting_confirmation: bool = False,
) -> None:
    """Add one response to its principle's progress. An answer carried over from the last assessment
    counts as answered (and towards the maturity) only once a person has confirmed or changed it."""
    progress.total += 1
    progress.expired_evidence += expired
    progress.overdue_actions += overdue
    if awaiting_confirmation:
        progress.to_confirm += 1
        return
    if maturity is not None:
        progress.answered += 1
        progress.maturity_sum += maturity
        if maturity >= 3 and evidence_expected and not cited:
            progress.evidence_missing += 1


def principle_responses(assessment: Assessment, principle: Principle) -> list[Response]:
    """The principle's responses with criterion, cited evidence and action items, in three queries."""
    return list(
        Response.objects.filter(assessment=assessment, criterion__principle=principle)
        .select_related("criterion")
        .prefetch_related(
            Prefetch(
                "citations",
                queryset=Citation.objects.select_related("evidence").order_by("evidence__original_name"),
            ),
            Prefetch("action_items", queryset=ActionItem.objects.select_related("owner").order_by("due_date")),
        )
        .order_by("criterion__position")
    )


def require_evidence_library(membership: Membership) -> None:
    """Who browses the library is `view_evidence_library` in portal.roles: not auditors (they reach
    files through finalised work, see `services.evidence_download_allow`), not plain members."""
    if not membership.can("view_evidence_library"):
        raise PermissionDenied


def evidence_library(organisation: Organisation, *, search: str = ""):
    qs = Evidence.objects.filter(organisation=organisation).select_related("uploaded_by")
    if search:
        qs = qs.filter(Q(original_name__icontains=search) | Q(description__icontains=search))
    return qs.annotate(citation_count=Count("citations")).order_by("-uploaded_at")


def overdue_action_items(organisation: Organisation, *, limit: int = 5) -> list[ActionItem]:
    return list(
        ActionItem.objects.filter(organisation=organisation, due_date__lt=timezone.localdate())
        .exclude(status=ActionStatus.DONE)
        .select_related("owner", "response__criterion__principle", "assessment")
        .order_by("due_date")[:limit]
    )


def visible_action_items(membership: Membership):
    """Action items of the assessments and plans this member may see (auditors: finished work only)."""
    qs = ActionItem.objects.filter(organisation=membership.organisation_id)
    if membership.role == Role.AUDITOR:
        qs = qs.filter(Q(assessment__status=AssessmentStatus.FINAL) | Q(plan__status=AssessmentStatus.FINAL))
    return qs


def current_assessment(organisation: Organisation, membership: Membership) -> Assessment | None:
    """The newest cycle this member may see."""
    return visible_assessments(membership).select_related("framework").order_by("-created_at").first()


# "Newest": the latest period, then the latest started (Assessment.Meta.ordering).
_NEWEST = ("-period_end", "-created_at")


def _signed_this_round(subject_type: str, capacity: str) -> Exists:
    """Whether the outer item in review holds an agreeing signature in `capacity` given since it was
    last sent for review (what `workflow._agree_if_complete` counts)."""
    from portal.models import Signature, SignatureDecision

    return Exists(
        Signature.objects.filter(
            subject_type=subject_type,
            subject_id=OuterRef("pk"),
            capacity=capacity,
            decision__in=(SignatureDecision.SIGN, SignatureDecision.SIGN_WITH_RESERVATIONS),
            signed_at__gte=OuterRef("submitted_at"),
        )
    )


def _with_signatures(qs: QuerySet, subject_type: str) -> QuerySet:
    from portal.models import SignatureCapacity

    return qs.annotate(
        management_signed=_signed_this_round(subject_type, SignatureCapacity.MANAGEMENT),
        workforce_signed=_signed_this_round(subject_type, SignatureCapacity.WORKFORCE),
    )


def dashboard_assessments(membership: Membership) -> tuple[Assessment | None, Assessment | None]:
    """The current cycle (the newest one not yet final) and the last final one, as this member may
    see them (an auditor: no current cycle), each annotated with `management_signed` and
    `workforce_signed` for this review round: one query."""
    visible = visible_assessments(membership)
    current = visible.exclude(status=AssessmentStatus.FINAL).order_by(*_NEWEST).values("pk")[:1]
    final = visible.filter(status=AssessmentStatus.FINAL).order_by(*_NEWEST).values("pk")[:1]
    rows = _with_signatures(
        visible.filter(Q(pk=Subquery(current)) | Q(pk=Subquery(final))).select_related("framework"), "assessment"
    )
    found = list(rows)
    return (
        next((a for a in found if a.status != AssessmentStatus.FINAL), None),
        next((a for a in found if a.status == AssessmentStatus.FINAL), None),
    )


def current_plans(membership: Membership, *, limit: int = 5) -> list[Plan]:
    """Plans not yet final, newest first, with their EqIA, whether any EqIA row is still unassessed
    (`eqia_unassessed`) and this round's signatures: one query (none for an auditor, who sees only
    final plans)."""
    from assessments.models import EqiaRow

    if membership.role == Role.AUDITOR:
        return []
    unassessed = EqiaRow.objects.filter(eqia__plan=OuterRef("pk"), impact="")
    qs = (
        visible_plans(membership)
        .exclude(status=AssessmentStatus.FINAL)
        .select_related("eqia", "organisation")
        .annotate(eqia_unassessed=Exists(unassessed))
        .order_by("-created_at")
    )
    return list(_with_signatures(qs, "plan")[:limit])


def visible_plans(membership: Membership):
    qs = Plan.objects.filter(organisation=membership.organisation_id)
    if membership.role == Role.AUDITOR:
        qs = qs.filter(status=AssessmentStatus.FINAL)
    return qs


def _plans_with_people(membership: Membership) -> QuerySet:
    return visible_plans(membership).select_related("organisation", "eqia", "created_by", "submitted_by")


def get_plan_for(membership: Membership, plan_id: Any) -> Plan:
    """The plan, with its EqIA and the people named on it."""
    plan = _plans_with_people(membership).filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    return plan


def plan_page_for(membership: Membership, plan_id: Any) -> tuple[Plan, list[Plan]]:
    """For the plan's page: the plan (as `get_plan_for`, its unresolved comments counted as `open_comments`
    and its contents prefetched, see `workflow.plan_contents`) and every version of it this member may
    see, oldest first. One query reads all the versions, three more the plan's contents."""
    from assessments.workflow import plan_contents

    family = Plan.objects.filter(pk=plan_id).values("family_id")
    versions = list(
        _plans_with_people(membership)
        .filter(family_id=Subquery(family))
        .annotate(open_comments=open_comment_count("plan"))
        .order_by("version")
    )
    plan = next((p for p in versions if str(p.pk) == str(plan_id)), None)
    if plan is None:
        raise Http404
    prefetch_related_objects([plan], *plan_contents())
    return plan, versions


def plan_versions(membership: Membership, plan: Plan) -> dict[int, Plan]:
    """Every version of the plan this member may see, by version number."""
    versions = visible_plans(membership).filter(family_id=plan.family_id).select_related("organisation", "eqia")
    return {p.version: p for p in versions}


def owner_choices(organisation: Organisation) -> list[Any]:
    """Who may own an action item or an EqIA mitigation: the organisation's current members who can act
    on it, so not auditors (their access is read-only and ends on a set date)."""
    memberships = Membership.objects.filter(organisation=organisation).exclude(role=Role.AUDITOR).select_related("user")
    return [m.user for m in memberships if m.is_active()]


def subject_comments(subject: Any, subject_type: str):
    """Every comment and reply on an assessment or plan, with the people named (for pages of them)."""
    return ReviewComment.objects.filter(subject_type=subject_type, subject_id=subject.pk).select_related(
        "author", "resolved_by"
    )


def subject_change_requests(subject: Any, subject_type: str):
    return ChangeRequest.objects.filter(subject_type=subject_type, subject_id=subject.pk).select_related(
        "requested_by", "answered_by"
    )


def comments_by_anchor(subject: Any, subject_type: str, *, anchor: str | None = None) -> dict[str, list[ReviewComment]]:
    """Top-level comments per criterion or section (only `anchor`'s when given), oldest first, each with
    its replies, oldest first, as `thread_replies`: one query, the threads built here."""
    comments = ReviewComment.objects.filter(subject_type=subject_type, subject_id=subject.pk)
    if anchor is not None:
        comments = comments.filter(Q(parent__isnull=True, anchor=anchor) | Q(parent__anchor=anchor))
    replies: dict[Any, list[ReviewComment]] = {}
    top: list[ReviewComment] = []
    for comment in comments.select_related("author", "resolved_by").order_by("created_at"):
        if comment.parent_id is None:
            top.append(comment)
        else:
            replies.setdefault(comment.parent_id, []).append(comment)
    grouped: dict[str, list[ReviewComment]] = {}
    for comment in top:
        comment.thread_replies = replies.get(comment.pk, [])  # type: ignore[attr-defined]
        grouped.setdefault(comment.anchor, []).append(comment)
    return grouped


def open_comment_count(subject_type: str) -> Coalesce:
    """Unresolved top-level comments on the outer assessment or plan, as an annotation."""
    comments = ReviewComment.objects.filter(
        subject_type=subject_type, subject_id=OuterRef("pk"), parent__isnull=True, resolved_at__isnull=True
    )
    return _count_of(comments, "subject_id")


def change_requests_for(subject: Any, subject_type: str) -> list[ChangeRequest]:
    return list(
        ChangeRequest.objects.filter(subject_type=subject_type, subject_id=subject.pk)
        .select_related("requested_by", "answered_by")
        .order_by("-created_at")
    )


def carries_over(assessment: Assessment) -> bool:
    """Whether the next self-assessment can start from this one: it is the organisation's latest final
    assessment and nothing has been started from it yet (what `services.assessment_create` checks). One
    query, hand-written (its ORM form cost more to compile than to run), naming the organisation."""
    if assessment.status != AssessmentStatus.FINAL:
        return False
    org, pk = db_value(assessment.organisation_id), db_value(assessment.pk)
    sql = (
        "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM assessments_assessment s"
        " WHERE s.organisation_id = %s AND s.carried_over_from_id = %s)"
        " AND %s = (SELECT l.id FROM assessments_assessment l WHERE l.organisation_id = %s AND l.status = %s"
        " ORDER BY l.period_end DESC, l.created_at DESC LIMIT 1)"  # _NEWEST
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [org, pk, pk, org, AssessmentStatus.FINAL.value])
        return cursor.fetchone() is not None


def carry_over_source(assessments: list[Assessment]) -> Assessment | None:
    """Of an organisation's assessments (all of them, newest first, as the list page reads them), the one
    the next self-assessment can start from, if any: no query."""
    final = next((a for a in assessments if a.status == AssessmentStatus.FINAL), None)
    if final is None or any(a.carried_over_from_id == final.pk for a in assessments):
        return None
    return final
