"""Reads for assessments: visibility per role, progress, maturity per principle. Fixed query counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
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
from principles.models import Criterion, Principle


def visible_assessments(membership: Membership):
    """Auditors see finished work only; everyone else in the organisation sees every cycle."""
    qs = Assessment.objects.filter(organisation=membership.organisation_id)
    if membership.role == Role.AUDITOR:
        qs = qs.filter(status=AssessmentStatus.FINAL)
    return qs


def get_assessment_for(membership: Membership, assessment_id: Any) -> Assessment:
    """The assessment as `visible_assessments` lets the member see it, with its framework, organisation,
    sender and the assessment it was carried over from; 404 if none. One query, hand-written
    (portal/rows.py): every assessment page reads it and the ORM's compiling of its four joins cost
    several times running it. It names the organisation (row-level security applies as well)."""
    from django.contrib.auth import get_user_model

    from portal.dashboard import db_value
    from portal.rows import Loader, columns, fetch
    from principles.models import Framework

    User = get_user_model()
    q = connection.ops.quote_name
    assessments = q(Assessment._meta.db_table)
    try:
        key = db_value(Assessment._meta.pk.to_python(assessment_id))
    except ValidationError:
        raise Http404 from None
    auditor = ' AND a."status" = %s' if membership.role == Role.AUDITOR else ""
    rows = fetch(
        f"SELECT {columns(Assessment, 'a')}, {columns(Framework, 'f')}, {columns(Organisation, 'o')}, "  # noqa: S608 - fixed SQL, values as parameters
        f"{columns(User, 'su')}, {columns(Assessment, 'co')} FROM {assessments} a "
        f'JOIN {q(Framework._meta.db_table)} f ON f."id" = a."framework_id" '
        f'JOIN {q(Organisation._meta.db_table)} o ON o."id" = a."organisation_id" '
        f'LEFT JOIN {q(User._meta.db_table)} su ON su."id" = a."submitted_by_id" '
        f'LEFT JOIN {assessments} co ON co."id" = a."carried_over_from_id" '
        f'WHERE a."organisation_id" = %s AND a."id" = %s{auditor}',
        [db_value(membership.organisation_id), key] + ([AssessmentStatus.FINAL.value] if auditor else []),
    )
    if not rows:
        raise Http404
    row = rows[0]
    load, load_framework, load_org, load_user = (
        Loader(Assessment),
        Loader(Framework),
        Loader(Organisation),
        Loader(User),
    )
    at = load.width
    assessment = load(row)
    assessment.framework = load_framework(row, at)
    at += load_framework.width
    assessment.organisation = load_org(row, at)
    at += load_org.width
    assessment.submitted_by = load_user(row, at)
    assessment.carried_over_from = load(row, at + load_user.width)
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
    """The principle's responses with criterion, cited evidence (by file name) and action items (by due
    date) with their owners, in three queries.

    Hand-written (portal/rows.py): the page reads them on every view and the ORM's compiling of the
    three (joins, a prefetch each) cost several times running them. Each statement names the
    organisation (row-level security applies as well: the request's connection)."""
    from django.contrib.auth import get_user_model

    from portal.dashboard import db_value
    from portal.rows import Loader, columns, fetch, prefetched

    User = get_user_model()
    q = connection.ops.quote_name
    org, subject, number = db_value(assessment.organisation_id), db_value(assessment.pk), db_value(principle.pk)
    # The principle's responses of the assessment, as a condition on `r` (the same three values in each).
    of_page = 'r."organisation_id" = %s AND r."assessment_id" = %s AND c."principle_id" = %s'
    response_table, criterion_table = q(Response._meta.db_table), q(Criterion._meta.db_table)
    on_criterion = f'JOIN {criterion_table} c ON c."id" = r."criterion_id"'
    rows = fetch(
        f"SELECT {columns(Response, 'r')}, {columns(Criterion, 'c')} FROM {response_table} r {on_criterion} "  # noqa: S608 - fixed SQL, values as parameters
        f'WHERE {of_page} ORDER BY c."position", r."id"',
        [org, subject, number],
    )
    load_response, load_criterion = Loader(Response), Loader(Criterion)
    responses: list[Response] = []
    by_id: dict[Any, Response] = {}
    for row in rows:
        response = load_response(row)
        response.criterion = load_criterion(row, load_response.width)
        response.assessment = assessment
        responses.append(response)
        by_id[response.pk] = response
    citations: dict[Any, list[Citation]] = {pk: [] for pk in by_id}
    actions: dict[Any, list[ActionItem]] = {pk: [] for pk in by_id}
    if responses:
        load_citation, load_evidence = Loader(Citation), Loader(Evidence)
        for row in fetch(
            f"SELECT {columns(Citation, 'ci')}, {columns(Evidence, 'e')} FROM {q(Citation._meta.db_table)} ci "  # noqa: S608 - fixed SQL, values as parameters
            f'JOIN {q(Evidence._meta.db_table)} e ON e."id" = ci."evidence_id" '
            f'JOIN {response_table} r ON r."id" = ci."response_id" {on_criterion} '
            f'WHERE ci."organisation_id" = %s AND {of_page} ORDER BY e."original_name", ci."id"',
            [org, org, subject, number],
        ):
            citation = load_citation(row)
            citation.evidence = load_evidence(row, load_citation.width)
            citation.response = by_id[citation.response_id]
            citations[citation.response_id].append(citation)
        load_action, load_user = Loader(ActionItem), Loader(User)
        for row in fetch(
            f"SELECT {columns(ActionItem, 'a')}, {columns(User, 'u')} FROM {q(ActionItem._meta.db_table)} a "  # noqa: S608 - fixed SQL, values as parameters
            f'LEFT JOIN {q(User._meta.db_table)} u ON u."id" = a."owner_id" '
            f'JOIN {response_table} r ON r."id" = a."response_id" {on_criterion} '
            f'WHERE a."organisation_id" = %s AND {of_page} ORDER BY a."due_date", a."id"',
            [org, org, subject, number],
        ):
            action = load_action(row)
            action.owner = load_user(row, load_action.width)
            action.response = by_id[action.response_id]
            actions[action.response_id].append(action)
    for response in responses:
        prefetched(response, "citations", citations[response.pk])
        prefetched(response, "action_items", actions[response.pk])
    return responses


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


def evidence_to_cite(organisation: Organisation) -> list[Evidence]:
    """The library's files as the forms that cite them list them (newest first, as `evidence_library`),
    without the uploader and the citation count those forms do not show. One query, hand-written
    (portal/rows.py): the principle page reads it on every view of an editable assessment."""
    from portal.dashboard import db_value
    from portal.rows import Loader, columns, fetch

    load = Loader(Evidence)
    return [
        load(row)
        for row in fetch(
            f"SELECT {columns(Evidence, 'e')} FROM {connection.ops.quote_name(Evidence._meta.db_table)} e "  # noqa: S608 - fixed SQL, values as parameters
            'WHERE e."organisation_id" = %s ORDER BY e."uploaded_at" DESC, e."id"',
            [db_value(organisation.pk)],
        )
    ]


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
    and its contents read, as `workflow.plan_contents` prefetches them) and every version of it this
    member may see, oldest first. One query reads all the versions, three more the plan's contents.

    Hand-written (portal/rows.py): the ORM's compiling of these four (five joins and a subquery, three
    prefetches) cost several times running them. Each statement names the organisation (row-level
    security applies as well: the request's connection)."""
    from django.contrib.auth import get_user_model

    from assessments.models import ConsultationMeeting, EqiaRow, EqualityImpactAssessment, PlanCitation
    from portal.dashboard import db_value
    from portal.rows import Loader, columns, fetch

    User = get_user_model()
    q = connection.ops.quote_name
    org = db_value(membership.organisation_id)
    plans, users, eqias = q(Plan._meta.db_table), q(User._meta.db_table), q(EqualityImpactAssessment._meta.db_table)
    comments = q(ReviewComment._meta.db_table)
    auditor = ' AND p."status" = %s' if membership.role == Role.AUDITOR else ""
    try:
        plan_key = db_value(Plan._meta.pk.to_python(plan_id))
    except ValidationError:
        raise Http404 from None
    rows = fetch(
        f"SELECT {columns(Plan, 'p')}, {columns(Organisation, 'o')}, {columns(EqualityImpactAssessment, 'q')}, "  # noqa: S608 - fixed SQL, values as parameters
        f"{columns(User, 'cu')}, {columns(User, 'su')}, "
        f'(SELECT COUNT(*) FROM {comments} rc WHERE rc."organisation_id" = p."organisation_id" '
        'AND rc."subject_type" = %s AND rc."subject_id" = p."id" AND rc."parent_id" IS NULL '
        f'AND rc."resolved_at" IS NULL) '
        f'FROM {plans} p JOIN {q(Organisation._meta.db_table)} o ON o."id" = p."organisation_id" '
        f'LEFT JOIN {eqias} q ON q."plan_id" = p."id" '
        f'LEFT JOIN {users} cu ON cu."id" = p."created_by_id" LEFT JOIN {users} su ON su."id" = p."submitted_by_id" '
        f'WHERE p."organisation_id" = %s AND p."family_id" = (SELECT f."family_id" FROM {plans} f '
        f'WHERE f."organisation_id" = %s AND f."id" = %s){auditor} ORDER BY p."version"',
        ["plan", org, org, plan_key] + ([AssessmentStatus.FINAL.value] if auditor else []),
    )
    load_plan, load_org, load_eqia, load_user = (
        Loader(Plan),
        Loader(Organisation),
        Loader(EqualityImpactAssessment),
        Loader(User),
    )
    at_org = load_plan.width
    at_eqia = at_org + load_org.width
    at_created = at_eqia + load_eqia.width
    at_submitted = at_created + load_user.width
    at_count = at_submitted + load_user.width
    versions: list[Plan] = []
    organisation = None
    for row in rows:
        plan = load_plan(row)
        organisation = organisation or load_org(row, at_org)
        plan.organisation = organisation
        eqia = load_eqia(row, at_eqia)
        Plan.eqia.related.set_cached_value(plan, eqia)  # None: the plan has none (no query to find out)
        if eqia is not None:
            eqia.plan = plan
        plan.created_by = load_user(row, at_created)
        plan.submitted_by = load_user(row, at_submitted)
        plan.open_comments = int(row[at_count])  # type: ignore[attr-defined]
        versions.append(plan)
    plan = next((p for p in versions if p.pk == plan_id or str(p.pk) == str(plan_id)), None)
    if plan is None:
        raise Http404
    key = db_value(plan.pk)
    load_meeting = Loader(ConsultationMeeting)
    plan.meetings_in_order = [  # type: ignore[attr-defined]
        load_meeting(row)
        for row in fetch(
            f"SELECT {columns(ConsultationMeeting, 'm')} FROM {q(ConsultationMeeting._meta.db_table)} m "  # noqa: S608 - fixed SQL, values as parameters
            'WHERE m."organisation_id" = %s AND m."plan_id" = %s ORDER BY m."held_on", m."participants"',
            [org, key],
        )
    ]
    eqia = getattr(plan, "eqia", None)
    if eqia is not None:
        load_row = Loader(EqiaRow)
        eqia.rows_in_order = []  # type: ignore[attr-defined]
        for row in fetch(
            f"SELECT {columns(EqiaRow, 'r')}, {columns(User, 'u')} FROM {q(EqiaRow._meta.db_table)} r "  # noqa: S608 - fixed SQL, values as parameters
            f'LEFT JOIN {users} u ON u."id" = r."owner_id" '
            'WHERE r."organisation_id" = %s AND r."eqia_id" = %s ORDER BY r."characteristic"',
            [org, db_value(eqia.pk)],
        ):
            eqia_row = load_row(row)
            eqia_row.owner = load_user(row, load_row.width)
            eqia.rows_in_order.append(eqia_row)  # type: ignore[attr-defined]
    load_citation, load_evidence = Loader(PlanCitation), Loader(Evidence)
    plan.cited_evidence = []  # type: ignore[attr-defined]
    for row in fetch(
        f"SELECT {columns(PlanCitation, 'c')}, {columns(Evidence, 'e')} FROM {q(PlanCitation._meta.db_table)} c "  # noqa: S608 - fixed SQL, values as parameters
        f'JOIN {q(Evidence._meta.db_table)} e ON e."id" = c."evidence_id" '
        'WHERE c."organisation_id" = %s AND c."plan_id" = %s',
        [org, key],
    ):
        citation = load_citation(row)
        citation.evidence = load_evidence(row, load_citation.width)
        citation.plan = plan
        plan.cited_evidence.append(citation)  # type: ignore[attr-defined]
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
    its replies, oldest first, as `thread_replies`: one query (hand-written, portal/rows.py: the
    principle and plan pages read it on every view), the threads built here."""
    from django.contrib.auth import get_user_model

    from portal.dashboard import db_value
    from portal.rows import Loader, columns, fetch

    User = get_user_model()
    q = connection.ops.quote_name
    users = q(User._meta.db_table)
    sql = (
        f"SELECT {columns(ReviewComment, 'rc')}, {columns(User, 'au')}, {columns(User, 'ru')} "  # noqa: S608 - fixed SQL, values as parameters
        f"FROM {q(ReviewComment._meta.db_table)} rc "
        f'LEFT JOIN {users} au ON au."id" = rc."author_id" LEFT JOIN {users} ru ON ru."id" = rc."resolved_by_id" '
    )
    where = 'WHERE rc."organisation_id" = %s AND rc."subject_type" = %s AND rc."subject_id" = %s'
    params = [db_value(subject.organisation_id), subject_type, db_value(subject.pk)]
    if anchor is not None:
        sql += f'LEFT JOIN {q(ReviewComment._meta.db_table)} parent ON parent."id" = rc."parent_id" '
        where += ' AND ((rc."parent_id" IS NULL AND rc."anchor" = %s) OR parent."anchor" = %s)'
        params += [anchor, anchor]
    load_comment, load_user = Loader(ReviewComment), Loader(User)
    replies: dict[Any, list[ReviewComment]] = {}
    top: list[ReviewComment] = []
    for row in fetch(f'{sql}{where} ORDER BY rc."created_at", rc."id"', params):
        comment = load_comment(row)
        comment.author = load_user(row, load_comment.width)
        comment.resolved_by = load_user(row, load_comment.width + load_user.width)
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
    """The item's change requests, newest first, with who asked and who answered. One query,
    hand-written (portal/rows.py): the plan page and a reviewed assessment's overview read it."""
    from django.contrib.auth import get_user_model

    from portal.dashboard import db_value
    from portal.rows import Loader, columns, fetch

    User = get_user_model()
    q = connection.ops.quote_name
    users = q(User._meta.db_table)
    load, load_user = Loader(ChangeRequest), Loader(User)
    requests = []
    for row in fetch(
        f"SELECT {columns(ChangeRequest, 'cr')}, {columns(User, 'rq')}, {columns(User, 'an')} "  # noqa: S608 - fixed SQL, values as parameters
        f"FROM {q(ChangeRequest._meta.db_table)} cr "
        f'LEFT JOIN {users} rq ON rq."id" = cr."requested_by_id" LEFT JOIN {users} an ON an."id" = cr."answered_by_id" '
        'WHERE cr."organisation_id" = %s AND cr."subject_type" = %s AND cr."subject_id" = %s '
        'ORDER BY cr."created_at" DESC, cr."id"',
        [db_value(subject.organisation_id), subject_type, db_value(subject.pk)],
    ):
        request = load(row)
        request.requested_by = load_user(row, load.width)
        request.answered_by = load_user(row, load.width + load_user.width)
        requests.append(request)
    return requests


def plan_actions(plan: Plan) -> list[ActionItem]:
    """The plan's action items (from its EqIA), soonest due first, with their owners. One query,
    hand-written (portal/rows.py): the plan page reads it on every view."""
    from django.contrib.auth import get_user_model

    from portal.dashboard import db_value
    from portal.rows import Loader, columns, fetch

    User = get_user_model()
    q = connection.ops.quote_name
    load, load_user = Loader(ActionItem), Loader(User)
    items = []
    for row in fetch(
        f"SELECT {columns(ActionItem, 'a')}, {columns(User, 'u')} FROM {q(ActionItem._meta.db_table)} a "  # noqa: S608 - fixed SQL, values as parameters
        f'LEFT JOIN {q(User._meta.db_table)} u ON u."id" = a."owner_id" '
        'WHERE a."organisation_id" = %s AND a."plan_id" = %s ORDER BY a."due_date", a."id"',
        [db_value(plan.organisation_id), db_value(plan.pk)],
    ):
        item = load(row)
        item.owner = load_user(row, load.width)
        item.plan = plan
        items.append(item)
    return items


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
