"""What the assessments app puts on a person's "Your work" page (portal.dashboard.register_awaiting).

Each kind is one hand-written SELECT (portal.dashboard.WORK_COLUMNS) that the list (the page, the
API) and the count (the navigation, on every page) share, so the two always agree. Every SELECT is
filtered by the person's own active memberships and roles (the organisations' ids in the statement)
and runs with scopes disabled, because one page spans organisations. Hand-written, not the ORM:
compiling the querysets cost more than running them (docs/benchmarks.md, run F).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from assessments.models import (
    ActionItem,
    ActionStatus,
    AssessmentStatus,
    Citation,
    Plan,
    PlanCitation,
)
from portal.dashboard import (
    NULL_DATE,
    NULL_TEXT,
    NULL_TS,
    WorkContext,
    WorkItem,
    WorkQuery,
    WorkRow,
    db_value,
    kind_sql,
    row_uuid,
    sql_in,
)
from portal.roles import Role, role_can

MANAGEMENT = (Role.OWNER, Role.MANAGER)
SIGNING = (Role.WORKFORCE_REP, Role.OWNER, Role.MANAGER)
# Work not yet final: what a person can still act on.
CURRENT = (
    AssessmentStatus.DRAFT,
    AssessmentStatus.IN_REVIEW,
    AssessmentStatus.CHANGES_REQUESTED,
    AssessmentStatus.AGREED,
)
ACTION_DUE_SOON_DAYS = 14
EVIDENCE_EXPIRY_DAYS = 30


def _subject_url(organisation: Any, subject_type: str, subject_id: Any) -> str:
    if subject_type == "plan":
        return reverse("assessments:plan", kwargs={"org_slug": organisation.slug, "plan_id": subject_id})
    return reverse("assessments:overview", kwargs={"org_slug": organisation.slug, "assessment_id": subject_id})


def _date(value: Any) -> str:
    return date_format(value, "j F Y")


def _who(full_name: str | None, email: str | None, nobody: str) -> str:
    """`User.display_name` from its two columns; `nobody` when there is no such person (a NULL key)."""
    if email is None:
        return nobody
    return full_name or email


# The title of a comment's or change request's assessment or plan.
_SUBJECT_TITLE = (
    "COALESCE((SELECT a.title FROM assessments_assessment a WHERE a.id = x.subject_id),"
    " (SELECT p.title FROM assessments_plan p WHERE p.id = x.subject_id))"
)


def _current_subject() -> tuple[str, list[Any]]:
    """The comment's (x) assessment or plan is not yet final."""
    statuses, params = sql_in(CURRENT)
    sql = (
        f"((x.subject_type = 'assessment' AND x.subject_id IN (SELECT a.id FROM assessments_assessment a"  # noqa: S608 - constants
        f" WHERE a.status IN {statuses}))"
        f" OR (x.subject_type = 'plan' AND x.subject_id IN (SELECT p.id FROM assessments_plan p"
        f" WHERE p.status IN {statuses})))"
    )
    return sql, params + params


# --- Signatures and countersignatures -----------------------------------------------------------


def _signature_select(kind: str, table: str, context: WorkContext) -> WorkQuery | None:
    """Assessments or plans (`table`) in workforce review in the person's organisations (as an owner,
    manager or representative) that they have not signed since they were sent for review."""
    signing = context.organisation_ids(SIGNING)
    if not signing:
        return None
    orgs, params = sql_in(signing)
    sql = (
        f"SELECT {kind_sql(kind)}, x.organisation_id, x.id, x.title, {NULL_DATE}, x.submitted_at,"  # noqa: S608 - constants
        f" x.status, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}"
        f" FROM {table} x WHERE x.organisation_id IN {orgs} AND x.status = %s"
        " AND NOT EXISTS (SELECT 1 FROM portal_signature s"
        " WHERE s.subject_id = x.id AND s.signer_id = %s AND s.signed_at >= x.submitted_at)"
    )
    return WorkQuery(sql, [*params, AssessmentStatus.IN_REVIEW.value, context.user.pk])


def _signature_item(row: WorkRow, subject_type: str, context: WorkContext) -> WorkItem:
    membership = context.membership(row.organisation_id)
    rep = membership.role == Role.WORKFORCE_REP
    return WorkItem(
        kind="signature",
        organisation=membership.organisation,
        title=row.title or "",
        action=_("Review and countersign") if rep else _("Sign for management"),
        url=_subject_url(membership.organisation, subject_type, row.id),
        detail=(
            _("Plan sent for workforce review on %(date)s")
            if subject_type == "plan"
            else _("Self-assessment sent for workforce review on %(date)s")
        )
        % {"date": _date(timezone.localtime(row.at))},
    )


def signature_queries(context: WorkContext) -> list[WorkQuery]:
    """Self-assessments waiting for the person's signature (plans: `plan_queries`)."""
    query = _signature_select("signatures", "assessments_assessment", context)
    return [] if query is None else [query]


def signature_item(row: WorkRow, context: WorkContext) -> WorkItem:
    return _signature_item(row, "assessment", context)


# --- Change requests and comments ---------------------------------------------------------------


def _change_request_select(context: WorkContext) -> WorkQuery | None:
    """Representatives' change requests not yet answered, for the owners and managers who answer them."""
    management = context.organisation_ids(MANAGEMENT)
    if not management:
        return None
    orgs, params = sql_in(management)
    sql = (
        f"SELECT {kind_sql('reviews')}, x.organisation_id, x.id, {_SUBJECT_TITLE}, {NULL_DATE}, x.created_at,"  # noqa: S608 - constants
        f" 'change_request', x.subject_type, CAST(x.subject_id AS TEXT), u.full_name, u.email, {NULL_TEXT}"
        " FROM assessments_changerequest x LEFT JOIN portal_user u ON u.id = x.requested_by_id"
        f" WHERE x.organisation_id IN {orgs} AND x.answered_at IS NULL"
    )
    return WorkQuery(sql, params)


def _comment_select(context: WorkContext) -> WorkQuery | None:
    """Open comment threads on current work whose last word is someone else's, started by the other
    side (representatives for management, management for representatives) or by the person."""
    commenting = context.organisation_ids(SIGNING)
    if not commenting:
        return None
    user_id = context.user.pk
    orgs, params = sql_in(commenting)
    current, current_params = _current_subject()
    # The author's role in the comment's organisation.
    author_role = (
        "(SELECT m.role FROM portal_membership m WHERE m.organisation_id = x.organisation_id"
        " AND m.user_id = x.author_id LIMIT 1)"
    )
    sides: list[str] = []
    side_params: list[Any] = []
    for mine, theirs in ((MANAGEMENT, (Role.WORKFORCE_REP,)), ((Role.WORKFORCE_REP,), MANAGEMENT)):
        ids = context.organisation_ids(mine)
        if ids:
            in_orgs, org_params = sql_in(ids)
            in_roles, role_params = sql_in(theirs)
            sides.append(f"(x.organisation_id IN {in_orgs} AND {author_role} IN {in_roles})")
            side_params += org_params + role_params
    sides.append("x.author_id = %s")
    side_params.append(user_id)
    last_author = (
        "COALESCE((SELECT r.author_id FROM assessments_reviewcomment r WHERE r.parent_id = x.id"
        " ORDER BY r.created_at DESC LIMIT 1), x.author_id)"
    )
    sql = (
        f"SELECT {kind_sql('reviews')}, x.organisation_id, x.id, {_SUBJECT_TITLE}, {NULL_DATE}, {NULL_TS},"  # noqa: S608 - constants
        " 'comment', x.subject_type, CAST(x.subject_id AS TEXT), x.anchor, u.full_name, u.email"
        " FROM assessments_reviewcomment x LEFT JOIN portal_user u ON u.id = x.author_id"
        f" WHERE x.organisation_id IN {orgs} AND x.parent_id IS NULL AND x.resolved_at IS NULL AND {current}"
        f" AND ({' OR '.join(sides)}) AND NOT ({last_author} = %s)"
    )
    return WorkQuery(sql, [*params, *current_params, *side_params, user_id])


def review_queries(context: WorkContext) -> list[WorkQuery]:
    return [q for q in (_change_request_select(context), _comment_select(context)) if q is not None]


def review_item(row: WorkRow, context: WorkContext) -> WorkItem:
    organisation = context.organisation(row.organisation_id)
    subject_type, subject_id = row.s2 or "", row_uuid(row.s3)
    if row.s1 == "change_request":
        return WorkItem(
            kind="change_request",
            organisation=organisation,
            title=row.title or "",
            action=_("Answer the change request"),
            url=reverse(
                "assessments:change_request_answer",
                kwargs={
                    "org_slug": organisation.slug,
                    "kind": subject_type,
                    "subject_id": subject_id,
                    "request_id": row.id,
                },
            ),
            detail=_("%(who)s asked for changes on %(date)s")
            % {
                "who": _who(row.s4, row.s5, _("A representative")),
                "date": _date(timezone.localtime(row.at)),
            },
        )
    anchor = row.s4 or ""
    return WorkItem(
        kind="comment",
        organisation=organisation,
        title=row.title or "",
        action=_("Reply to the comment or resolve it"),
        url=_comment_url(organisation, subject_type, subject_id, anchor),
        detail=_("%(who)s commented on %(anchor)s") % {"who": _who(row.s5, row.s6, _("Someone")), "anchor": anchor},
    )


def _comment_url(organisation: Any, subject_type: str, subject_id: Any, anchor: str) -> str:
    slug = organisation.slug
    if subject_type == "plan":
        if anchor == "equality":
            url = reverse("assessments:plan_eqia", kwargs={"org_slug": slug, "plan_id": subject_id})
        else:
            url = reverse(
                "assessments:plan_section", kwargs={"org_slug": slug, "plan_id": subject_id, "section": anchor}
            )
    else:
        number = anchor.split(".")[0]
        if not number.isdigit():
            return _subject_url(organisation, "assessment", subject_id)
        url = reverse(
            "assessments:principle",
            kwargs={"org_slug": slug, "assessment_id": subject_id, "number": int(number)},
        )
    return f"{url}#comments-{anchor}"


# --- Action items -------------------------------------------------------------------------------


def action_queries(context: WorkContext) -> list[WorkQuery]:
    """Open actions the person owns, due within two weeks or overdue, in their organisations."""
    member = context.organisation_ids()
    if not member:
        return []
    orgs, params = sql_in(member)
    soon = context.today + timedelta(days=ACTION_DUE_SOON_DAYS)
    sql = (
        f"SELECT {kind_sql('actions')}, x.organisation_id, x.id, x.title, x.due_date, {NULL_TS},"  # noqa: S608 - constants
        " CAST(x.assessment_id AS TEXT), CAST(x.plan_id AS TEXT), CAST(x.response_id AS TEXT),"
        f" CAST(pr.number AS TEXT), {NULL_TEXT}, {NULL_TEXT}"
        " FROM assessments_actionitem x"
        " LEFT JOIN assessments_response r ON r.id = x.response_id"
        " LEFT JOIN principles_criterion c ON c.id = r.criterion_id"
        " LEFT JOIN principles_principle pr ON pr.id = c.principle_id"
        f" WHERE x.organisation_id IN {orgs} AND x.owner_id = %s AND x.due_date <= %s AND NOT (x.status = %s)"
    )
    return [WorkQuery(sql, [*params, context.user.pk, db_value(soon), ActionStatus.DONE.value])]


def action_item(row: WorkRow, context: WorkContext) -> WorkItem:
    membership = context.membership(row.organisation_id)
    can_edit = role_can(membership.role, "edit_content")
    overdue = row.due is not None and row.due < context.today
    if can_edit:
        what = _("Overdue: do it and mark it done") if overdue else _("Do it and mark it done")
    else:
        what = (
            _("Overdue: do it, then ask a manager to mark it done")
            if overdue
            else _("Do it, then ask a manager to mark it done")
        )
    return WorkItem(
        kind="action",
        organisation=membership.organisation,
        title=row.title or "",
        action=what,
        url=_action_url(
            membership.organisation.slug,
            row.id,
            assessment_id=row_uuid(row.s1),
            plan_id=row_uuid(row.s2),
            principle=int(row.s4) if row.s3 is not None and row.s4 is not None else None,
            can_edit=can_edit,
        ),
        due=row.due,
        detail=_("An action you own"),
    )


def action_url(action: ActionItem, *, can_edit: bool) -> str:
    """Where the action's owner deals with it: its edit page when they may edit, else where it is shown.
    `action` comes with its organisation and response__criterion__principle."""
    return _action_url(
        action.organisation.slug,
        action.pk,
        assessment_id=action.assessment_id,
        plan_id=action.plan_id,
        principle=action.response.criterion.principle.number if action.response is not None else None,
        can_edit=can_edit,
    )


def _action_url(
    slug: str, action_id: Any, *, assessment_id: Any, plan_id: Any, principle: int | None, can_edit: bool
) -> str:
    if assessment_id and can_edit:
        return reverse(
            "assessments:action_edit",
            kwargs={"org_slug": slug, "assessment_id": assessment_id, "action_id": action_id},
        )
    if assessment_id and principle is not None:
        return reverse(
            "assessments:principle", kwargs={"org_slug": slug, "assessment_id": assessment_id, "number": principle}
        )
    if plan_id:
        return reverse("assessments:plan_eqia", kwargs={"org_slug": slug, "plan_id": plan_id})
    return reverse("assessments:list", kwargs={"org_slug": slug})


# --- Evidence expiring --------------------------------------------------------------------------


def cited_by_current_work() -> Q:
    """Evidence (the outer row) that an assessment or plan not yet final cites."""
    return Q(Exists(Citation.objects.filter(evidence=OuterRef("pk"), response__assessment__status__in=CURRENT))) | Q(
        Exists(PlanCitation.objects.filter(evidence=OuterRef("pk"), plan__status__in=CURRENT))
    )


def evidence_queries(context: WorkContext) -> list[WorkQuery]:
    """Evidence expiring within 30 days or expired, that the person uploaded or that work not yet final
    cites (as `cited_by_current_work`), for the owners and managers who can replace it."""
    editing = context.organisation_ids(MANAGEMENT)
    if not editing:
        return []
    orgs, params = sql_in(editing)
    statuses, status_params = sql_in(CURRENT)
    horizon = context.today + timedelta(days=EVIDENCE_EXPIRY_DAYS)
    sql = (
        f"SELECT {kind_sql('evidence')}, x.organisation_id, x.id, x.description, x.expiry_date, {NULL_TS},"  # noqa: S608 - constants
        f" x.original_name, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}"
        " FROM assessments_evidence x"
        f" WHERE x.organisation_id IN {orgs} AND x.expiry_date <= %s AND (x.uploaded_by_id = %s"
        " OR EXISTS (SELECT 1 FROM assessments_citation ci JOIN assessments_response r ON r.id = ci.response_id"
        " JOIN assessments_assessment a ON a.id = r.assessment_id"
        f" WHERE ci.evidence_id = x.id AND a.status IN {statuses})"
        " OR EXISTS (SELECT 1 FROM assessments_plancitation pc JOIN assessments_plan p ON p.id = pc.plan_id"
        f" WHERE pc.evidence_id = x.id AND p.status IN {statuses}))"
    )
    return [WorkQuery(sql, [*params, db_value(horizon), context.user.pk, *status_params, *status_params])]


def evidence_item(row: WorkRow, context: WorkContext) -> WorkItem:
    organisation = context.organisation(row.organisation_id)
    expired = row.due is not None and row.due < context.today
    return WorkItem(
        kind="evidence",
        organisation=organisation,
        title=row.title or row.s1 or "",
        action=_("Expired: upload a current version") if expired else _("Upload a current version"),
        url=reverse("assessments:evidence_detail", kwargs={"org_slug": organisation.slug, "evidence_id": row.id}),
        due=row.due,
        detail=(_("Expired on %(date)s") if expired else _("Expires on %(date)s")) % {"date": _date(row.due)},
    )


# --- Plans due for review -----------------------------------------------------------------------

PLAN_REVIEW_DAYS = 30


def plans_due_for_review(*, horizon: Any) -> QuerySet:
    """Final plans whose review date is on or before `horizon`, until a newer version of the plan exists
    (in progress or final): reviewing is amending. Shared by "Your work" (as SQL, `plan_queries`) and
    the reminders."""
    newer = Plan.objects.filter(
        organisation=OuterRef("organisation"), family_id=OuterRef("family_id"), version__gt=OuterRef("version")
    )
    return Plan.objects.filter(status=AssessmentStatus.FINAL, review_due__lte=horizon).filter(~Exists(newer))


def plan_queries(context: WorkContext) -> list[WorkQuery]:
    """Plans waiting for the person's signature, and final plans due for review within 30 days or past
    (as `plans_due_for_review`) in the organisations the person owns or manages."""
    queries = []
    sign = _signature_select("plans", "assessments_plan", context)
    if sign is not None:
        queries.append(sign)
    management = context.organisation_ids(MANAGEMENT)
    if management:
        orgs, params = sql_in(management)
        horizon = context.today + timedelta(days=PLAN_REVIEW_DAYS)
        sql = (
            f"SELECT {kind_sql('plans')}, x.organisation_id, x.id, x.title, x.review_due, {NULL_TS},"  # noqa: S608 - constants
            f" x.status, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}"
            f" FROM assessments_plan x WHERE x.organisation_id IN {orgs} AND x.status = %s AND x.review_due <= %s"
            " AND NOT EXISTS (SELECT 1 FROM assessments_plan n WHERE n.organisation_id = x.organisation_id"
            " AND n.family_id = x.family_id AND n.version > x.version)"
        )
        queries.append(WorkQuery(sql, [*params, AssessmentStatus.FINAL.value, db_value(horizon)]))
    return queries


def plan_item(row: WorkRow, context: WorkContext) -> WorkItem:
    """A plan to sign (in workforce review) or to review (final, review date near)."""
    if row.s1 == AssessmentStatus.IN_REVIEW:
        return _signature_item(row, "plan", context)
    organisation = context.organisation(row.organisation_id)
    overdue = row.due is not None and row.due < context.today
    return WorkItem(
        kind="plan_review",
        organisation=organisation,
        title=row.title or "",
        action=_("Review the plan"),
        url=reverse("assessments:plan_amend", kwargs={"org_slug": organisation.slug, "plan_id": row.id}),
        due=row.due,
        detail=(_("The review was due on %(date)s") if overdue else _("Due for review on %(date)s"))
        % {"date": _date(row.due)},
    )


# --- Workforce surveys waiting for one side's approval ---------------------------------------------


def survey_queries(context: WorkContext) -> list[WorkQuery]:
    """Draft surveys in the person's organisations whose questions their side (management for owners
    and managers, the workforce for representatives) has not approved since the words last changed."""
    queries = []
    for roles, capacity in ((MANAGEMENT, "management"), ((Role.WORKFORCE_REP,), "workforce")):
        ids = context.organisation_ids(roles)
        if not ids:
            continue
        orgs, params = sql_in(ids)
        sql = (
            f"SELECT {kind_sql('surveys')}, x.organisation_id, x.id, x.title, {NULL_DATE}, x.questions_changed_at,"  # noqa: S608 - constants
            f" CAST(%s AS TEXT), {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}"
            f" FROM assessments_survey x WHERE x.organisation_id IN {orgs} AND x.status = 'draft'"
            " AND NOT EXISTS (SELECT 1 FROM portal_signature s WHERE s.subject_type = 'survey'"
            " AND s.subject_id = x.id AND s.capacity = %s AND s.signed_at >= x.questions_changed_at)"
        )
        queries.append(WorkQuery(sql, [capacity, *params, capacity]))
    return queries


def survey_item(row: WorkRow, context: WorkContext) -> WorkItem:
    organisation = context.organisation(row.organisation_id)
    return WorkItem(
        kind="survey_approval",
        organisation=organisation,
        title=row.title or "",
        action=_("Approve the questions for the workforce")
        if row.s1 == "workforce"
        else _("Approve the questions for management"),
        url=reverse("assessments:survey_approve", kwargs={"org_slug": organisation.slug, "survey_id": row.id}),
        detail=_("Workforce survey drafted or changed on %(date)s") % {"date": _date(timezone.localtime(row.at))},
    )


# --- The technology register's clocks (the new technology agreement) ------------------------------


def technology_queries(context: WorkContext) -> list[WorkQuery]:
    """Systems whose agreement clocks need someone (`TechnologySystem.attention`, kept by
    assessments.technology.refresh_attention and the daily sweep): notice to give, a joint technology
    committee meeting due or late, a go-live date inside the notice period. For owners, managers and
    representatives, who are both sides of the agreement."""
    both_sides = context.organisation_ids(SIGNING)
    if not both_sides:
        return []
    orgs, params = sql_in(both_sides)
    sql = (
        f"SELECT {kind_sql('technology')}, x.organisation_id, x.id, x.name, x.attention_due, {NULL_TS},"  # noqa: S608 - constants
        f" x.attention, CAST(x.go_live_on AS TEXT), {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}"
        f" FROM assessments_technologysystem x WHERE x.organisation_id IN {orgs} AND x.attention <> ''"
    )
    return [WorkQuery(sql, params)]


def technology_url(organisation: Any, system_id: Any) -> str:
    return reverse("assessments:technology_system", kwargs={"org_slug": organisation.slug, "system_id": system_id})


def technology_item(row: WorkRow, context: WorkContext) -> WorkItem:
    organisation = context.organisation(row.organisation_id)
    go_live = date.fromisoformat(row.s2[:10]) if row.s2 else None
    due = row.due
    if row.s1 == "notice":
        action = _("Give notice of the new technology")
        detail = _("Give notice to the representatives by %(date)s for go-live on %(live)s") % {
            "date": _date(due),
            "live": _date(go_live) if go_live else "",
        }
    elif row.s1 == "meeting":
        action = _("Hold the joint technology committee meeting")
        past = due is not None and due < context.today
        detail = (
            _("The joint technology committee was due to meet by %(date)s")
            if past
            else _("The joint technology committee is due to meet by %(date)s")
        ) % {"date": _date(due)}
    else:
        action = _("Move the go-live date or agree it")
        detail = _("Go-live on %(live)s is inside the notice period: move it or agree it") % {
            "live": _date(go_live or due)
        }
    return WorkItem(
        kind="technology",
        organisation=organisation,
        title=row.title or "",
        action=action,
        url=technology_url(organisation, row.id),
        due=due,
        detail=detail,
    )
