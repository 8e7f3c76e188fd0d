"""Reads for assessments: visibility per role, progress, maturity per principle. Fixed query counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
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
from portal.models import Membership, Organisation
from portal.roles import Role
from principles.models import Principle


def visible_assessments(membership: Membership):
    """Auditors see finished work only; everyone else in the organisation sees every cycle."""
    qs = Assessment.objects.filter(organisation=membership.organisation_id)
    if membership.role == Role.AUDITOR:
        qs = qs.filter(status=AssessmentStatus.FINAL)
    return qs


def get_assessment_for(membership: Membership, assessment_id: Any) -> Assessment:
    assessment = (
        visible_assessments(membership).select_related("framework", "organisation").filter(pk=assessment_id).first()
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

    @property
    def status(self) -> str:
        if self.answered == 0:
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
    def completed(self) -> int:
        return sum(1 for p in self.principles if p.status == "completed")


def assessment_progress(assessment: Assessment) -> AssessmentProgress:
    """Answered, evidence missing and overdue actions per principle, in four queries."""
    today = timezone.localdate()
    principles = list(Principle.objects.filter(framework=assessment.framework_id).order_by("number"))
    by_id = {p.pk: PrincipleProgress(principle=p) for p in principles}
    rows = (
        Response.objects.filter(assessment=assessment)
        # "id" keeps one row per response (values() + annotate() would otherwise group equal rows)
        .values("id", "criterion__principle_id", "criterion__evidence_expected", "maturity")
        .annotate(
            cited=Count("citations"),
            expired=Count("citations", filter=Q(citations__evidence__expiry_date__lt=today)),
        )
    )
    for row in rows:
        progress = by_id[row["criterion__principle_id"]]
        progress.total += 1
        progress.expired_evidence += row["expired"]
        if row["maturity"] is not None:
            progress.answered += 1
            progress.maturity_sum += row["maturity"]
            if row["maturity"] >= 3 and row["criterion__evidence_expected"] and not row["cited"]:
                progress.evidence_missing += 1
    overdue = (
        ActionItem.objects.filter(assessment=assessment, due_date__lt=today)
        .exclude(status=ActionStatus.DONE)
        .values("response__criterion__principle_id")
        .annotate(n=Count("id"))
    )
    for row in overdue:
        by_id[row["response__criterion__principle_id"]].overdue_actions = row["n"]
    return AssessmentProgress(principles=[by_id[p.pk] for p in principles])


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
    """Auditors reach evidence through finalised work only (see `services.evidence_download_allow`),
    never through the library or a file's page."""
    if membership.role == Role.AUDITOR:
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
    """The newest cycle this member may see (for the dashboard)."""
    return visible_assessments(membership).select_related("framework").order_by("-created_at").first()


def visible_plans(membership: Membership):
    qs = Plan.objects.filter(organisation=membership.organisation_id)
    if membership.role == Role.AUDITOR:
        qs = qs.filter(status=AssessmentStatus.FINAL)
    return qs


def get_plan_for(membership: Membership, plan_id: Any) -> Plan:
    plan = (
        visible_plans(membership)
        .select_related("organisation", "eqia", "created_by", "submitted_by")
        .filter(pk=plan_id)
        .first()
    )
    if plan is None:
        raise Http404
    return plan


def plan_versions(membership: Membership, plan: Plan) -> dict[int, Plan]:
    """Every version of the plan this member may see, by version number."""
    return {p.version: p for p in visible_plans(membership).filter(family_id=plan.family_id)}


def eqia_owner_choices(organisation: Organisation) -> list[Any]:
    """Who may own an EqIA mitigation: the organisation's current members, except auditors."""
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


def comments_by_anchor(subject: Any, subject_type: str) -> dict[str, list[ReviewComment]]:
    """Top-level comments per criterion or section, each with its replies, in two queries."""
    comments = list(
        ReviewComment.objects.filter(subject_type=subject_type, subject_id=subject.pk, parent__isnull=True)
        .select_related("author", "resolved_by")
        .prefetch_related(
            Prefetch("replies", queryset=ReviewComment.objects.select_related("author").order_by("created_at"))
        )
        .order_by("created_at")
    )
    grouped: dict[str, list[ReviewComment]] = {}
    for comment in comments:
        grouped.setdefault(comment.anchor, []).append(comment)
    return grouped


def change_requests_for(subject: Any, subject_type: str) -> list[ChangeRequest]:
    return list(
        ChangeRequest.objects.filter(subject_type=subject_type, subject_id=subject.pk)
        .select_related("requested_by", "answered_by")
        .order_by("-created_at")
    )


@dataclass
class AwaitingItem:
    organisation: Organisation
    kind: str  # "assessment" or "plan"
    item: Any
    action: str  # what the user is asked to do


def _awaiting_querysets(user: Any, signing: dict[Any, Membership]) -> tuple[QuerySet, QuerySet]:
    """Assessments and plans in workforce review in these organisations that this person has not
    signed since they were submitted."""
    from portal.models import Signature

    mine = Signature.objects.filter(subject_id=OuterRef("pk"), signer=user, signed_at__gte=OuterRef("submitted_at"))
    return (
        Assessment.objects.filter(organisation_id__in=signing, status=AssessmentStatus.IN_REVIEW).filter(~Exists(mine)),
        Plan.objects.filter(organisation_id__in=signing, status=AssessmentStatus.IN_REVIEW).filter(~Exists(mine)),
    )


def _signing(memberships: list[Membership]) -> dict[Any, Membership]:
    return {m.organisation_id: m for m in memberships if m.role in (Role.WORKFORCE_REP, Role.OWNER, Role.MANAGER)}


def awaiting_count(user: Any, memberships: list[Membership]) -> int:
    """How many items `awaiting_user` would list, in one query (the header's badge)."""
    from django_scopes import scopes_disabled

    signing = _signing(memberships)
    if not signing:
        return 0
    with scopes_disabled():
        assessments, plans = _awaiting_querysets(user, signing)
        return assessments.order_by().values("pk").union(plans.order_by().values("pk"), all=True).count()


def awaiting_user(user: Any, memberships: list[Membership]) -> list[AwaitingItem]:
    """Items in workforce review that wait for this person's countersignature or signature,
    across every organisation they belong to (two queries, however many items)."""
    from django_scopes import scopes_disabled

    signing = _signing(memberships)
    if not signing:
        return []
    with scopes_disabled():
        assessments_qs, plans_qs = _awaiting_querysets(user, signing)
        assessments = list(assessments_qs.select_related("organisation"))
        plans = list(plans_qs.select_related("organisation"))
    items = []
    for kind, objects in (("assessment", assessments), ("plan", plans)):
        for obj in objects:
            role = signing[obj.organisation_id].role
            action = "countersign" if role == Role.WORKFORCE_REP else "sign"
            items.append(AwaitingItem(obj.organisation, kind, obj, action))
    return sorted(items, key=lambda i: (i.organisation.name, i.item.title))
