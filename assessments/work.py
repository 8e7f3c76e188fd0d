"""What the assessments app puts on a person's "Your work" page (portal.dashboard.register_awaiting).

Each kind has one queryset function that both the list (the page) and the count (the navigation, on
every page) use, so the two always agree. Every queryset is filtered by the person's own active
memberships and roles; they run with scopes disabled because one page spans organisations.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from assessments.models import (
    ActionItem,
    ActionStatus,
    Assessment,
    AssessmentStatus,
    ChangeRequest,
    Citation,
    Evidence,
    Plan,
    PlanCitation,
    ReviewComment,
)
from portal.dashboard import WorkItem
from portal.models import Membership
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


def _orgs(memberships: list[Membership], roles: tuple[str, ...] | None = None) -> dict[Any, Membership]:
    return {m.organisation_id: m for m in memberships if m.is_active() and (roles is None or m.role in roles)}


def _title_of_subject() -> Coalesce:
    """The title of a comment's or change request's assessment or plan, as an annotation."""
    return Coalesce(
        Subquery(Assessment.objects.filter(pk=OuterRef("subject_id")).values("title")[:1]),
        Subquery(Plan.objects.filter(pk=OuterRef("subject_id")).values("title")[:1]),
    )


def _subject_is_current() -> Q:
    return Q(
        subject_type="assessment",
        subject_id__in=Assessment.objects.filter(status__in=CURRENT).values("pk"),
    ) | Q(subject_type="plan", subject_id__in=Plan.objects.filter(status__in=CURRENT).values("pk"))


def _subject_url(organisation: Any, subject_type: str, subject_id: Any) -> str:
    if subject_type == "plan":
        return reverse("assessments:plan", kwargs={"org_slug": organisation.slug, "plan_id": subject_id})
    return reverse("assessments:overview", kwargs={"org_slug": organisation.slug, "assessment_id": subject_id})


def _date(value: Any) -> str:
    return date_format(value, "j F Y")


# --- Signatures and countersignatures -----------------------------------------------------------


def _signature_querysets(
    user: Any, memberships: list[Membership], models: tuple[type[Assessment] | type[Plan], ...] = (Assessment, Plan)
) -> list[QuerySet]:
    """Assessments and plans (or those of `models`) in workforce review in the person's organisations
    (as an owner, manager or representative) that they have not signed since they were sent for review."""
    from portal.models import Signature

    signing = _orgs(memberships, SIGNING)
    if not signing:
        return []
    mine = Signature.objects.filter(subject_id=OuterRef("pk"), signer=user, signed_at__gte=OuterRef("submitted_at"))
    return [
        model.objects.filter(organisation_id__in=signing, status=AssessmentStatus.IN_REVIEW).filter(~Exists(mine))
        for model in models
    ]


def _signature_item(subject: Any, kind: str, signing: dict[Any, Membership]) -> WorkItem:
    membership = signing[subject.organisation_id]
    rep = membership.role == Role.WORKFORCE_REP
    return WorkItem(
        kind="signature",
        organisation=membership.organisation,
        title=subject.title,
        action=_("Review and countersign") if rep else _("Sign for management"),
        url=_subject_url(membership.organisation, kind, subject.pk),
        detail=(
            _("Plan sent for workforce review on %(date)s")
            if kind == "plan"
            else _("Self-assessment sent for workforce review on %(date)s")
        )
        % {"date": _date(timezone.localtime(subject.submitted_at))},
    )


def signature_items(user: Any, memberships: list[Membership]) -> list[WorkItem]:
    """Self-assessments waiting for the person's signature (plans: `plan_items`, one query for both kinds)."""
    signing = _orgs(memberships, SIGNING)
    with scopes_disabled():
        querysets = _signature_querysets(user, memberships, (Assessment,))
        if not querysets:
            return []
        return [
            _signature_item(subject, "assessment", signing)
            for subject in querysets[0].only("id", "organisation_id", "title", "submitted_at")
        ]


def signature_count(user: Any, memberships: list[Membership]) -> list[QuerySet]:
    return _signature_querysets(user, memberships, (Assessment,))


# --- Change requests and comments ---------------------------------------------------------------


def _change_request_queryset(user: Any, memberships: list[Membership]) -> QuerySet | None:
    """Representatives' change requests not yet answered, for the owners and managers who answer them."""
    management = _orgs(memberships, MANAGEMENT)
    if not management:
        return None
    return ChangeRequest.objects.filter(organisation_id__in=management, answered_at__isnull=True)


def _comment_queryset(user: Any, memberships: list[Membership]) -> QuerySet | None:
    """Open comment threads on current work whose last word is someone else's, started by the other
    side (representatives for management, management for representatives) or by the person."""
    commenting = _orgs(memberships, SIGNING)
    if not commenting:
        return None
    other_side = Q()
    for organisation_id, membership in commenting.items():
        roles = (Role.WORKFORCE_REP,) if membership.role in MANAGEMENT else MANAGEMENT
        other_side |= Q(organisation_id=organisation_id, author_role__in=roles)
    author_role = Membership.objects.filter(organisation_id=OuterRef("organisation_id"), user=OuterRef("author_id"))
    last_reply = ReviewComment.objects.filter(parent=OuterRef("pk")).order_by("-created_at")
    return (
        ReviewComment.objects.filter(organisation_id__in=commenting, parent__isnull=True, resolved_at__isnull=True)
        .filter(_subject_is_current())
        .alias(
            author_role=Subquery(author_role.values("role")[:1]),
            last_author=Coalesce(
                Subquery(last_reply.values("author_id")[:1]), F("author_id"), output_field=BigIntegerField()
            ),
        )
        .filter(other_side | Q(author=user))
        .exclude(last_author=user.pk)
    )


def review_items(user: Any, memberships: list[Membership]) -> list[WorkItem]:
    items = []
    # The organisations come with the memberships: no need to read them again with each row.
    organisations = {m.organisation_id: m.organisation for m in memberships}
    with scopes_disabled():
        change_requests = _change_request_queryset(user, memberships)
        if change_requests is not None:
            for request in change_requests.select_related("requested_by").annotate(subject_title=_title_of_subject()):
                organisation = organisations[request.organisation_id]
                items.append(
                    WorkItem(
                        kind="change_request",
                        organisation=organisation,
                        title=request.subject_title or "",
                        action=_("Answer the change request"),
                        url=reverse(
                            "assessments:change_request_answer",
                            kwargs={
                                "org_slug": organisation.slug,
                                "kind": request.subject_type,
                                "subject_id": request.subject_id,
                                "request_id": request.pk,
                            },
                        ),
                        detail=_("%(who)s asked for changes on %(date)s")
                        % {
                            "who": request.requested_by.display_name if request.requested_by else _("A representative"),
                            "date": _date(timezone.localtime(request.created_at)),
                        },
                    )
                )
        comments = _comment_queryset(user, memberships)
        if comments is not None:
            for comment in comments.select_related("author").annotate(subject_title=_title_of_subject()):
                organisation = organisations[comment.organisation_id]
                comment.organisation = organisation  # for `_comment_url`, without a query
                items.append(
                    WorkItem(
                        kind="comment",
                        organisation=organisation,
                        title=comment.subject_title or "",
                        action=_("Reply to the comment or resolve it"),
                        url=_comment_url(comment),
                        detail=_("%(who)s commented on %(anchor)s")
                        % {
                            "who": comment.author.display_name if comment.author else _("Someone"),
                            "anchor": comment.anchor,
                        },
                    )
                )
    return items


def _comment_url(comment: ReviewComment) -> str:
    slug = comment.organisation.slug
    if comment.subject_type == "plan":
        if comment.anchor == "equality":
            url = reverse("assessments:plan_eqia", kwargs={"org_slug": slug, "plan_id": comment.subject_id})
        else:
            url = reverse(
                "assessments:plan_section",
                kwargs={"org_slug": slug, "plan_id": comment.subject_id, "section": comment.anchor},
            )
    else:
        number = comment.anchor.split(".")[0]
        if not number.isdigit():
            return _subject_url(comment.organisation, "assessment", comment.subject_id)
        url = reverse(
            "assessments:principle",
            kwargs={"org_slug": slug, "assessment_id": comment.subject_id, "number": int(number)},
        )
    return f"{url}#comments-{comment.anchor}"


def review_count(user: Any, memberships: list[Membership]) -> list[QuerySet]:
    return [
        qs
        for qs in (_change_request_queryset(user, memberships), _comment_queryset(user, memberships))
        if qs is not None
    ]


# --- Action items -------------------------------------------------------------------------------


def _action_queryset(user: Any, memberships: list[Membership]) -> QuerySet | None:
    """Open actions the person owns, due within two weeks or overdue, on work not yet final."""
    orgs = _orgs(memberships)
    if not orgs:
        return None
    soon = timezone.localdate() + timedelta(days=ACTION_DUE_SOON_DAYS)
    return ActionItem.objects.filter(organisation_id__in=orgs, owner=user, due_date__lte=soon).exclude(
        status=ActionStatus.DONE
    )


def action_items(user: Any, memberships: list[Membership]) -> list[WorkItem]:
    orgs = _orgs(memberships)
    today = timezone.localdate()
    items = []
    with scopes_disabled():
        qs = _action_queryset(user, memberships)
        if qs is None:
            return []
        for action in qs.select_related("response__criterion__principle"):
            action.organisation = orgs[action.organisation_id].organisation  # loaded with the memberships
            can_edit = role_can(orgs[action.organisation_id].role, "edit_content")
            url = action_url(action, can_edit=can_edit)
            overdue = action.due_date < today
            if can_edit:
                what = _("Overdue: do it and mark it done") if overdue else _("Do it and mark it done")
            else:
                what = (
                    _("Overdue: do it, then ask a manager to mark it done")
                    if overdue
                    else _("Do it, then ask a manager to mark it done")
                )
            items.append(
                WorkItem(
                    kind="action",
                    organisation=action.organisation,
                    title=action.title,
                    action=what,
                    url=url,
                    due=action.due_date,
                    detail=_("An action you own"),
                )
            )
    return items


def action_url(action: ActionItem, *, can_edit: bool) -> str:
    """Where the action's owner deals with it: its edit page when they may edit, else where it is shown.
    `action` comes with its organisation and response__criterion__principle."""
    slug = action.organisation.slug
    if action.assessment_id and can_edit:
        return reverse(
            "assessments:action_edit",
            kwargs={"org_slug": slug, "assessment_id": action.assessment_id, "action_id": action.pk},
        )
    if action.assessment_id and action.response is not None:
        return reverse(
            "assessments:principle",
            kwargs={
                "org_slug": slug,
                "assessment_id": action.assessment_id,
                "number": action.response.criterion.principle.number,
            },
        )
    if action.plan_id:
        return reverse("assessments:plan_eqia", kwargs={"org_slug": slug, "plan_id": action.plan_id})
    return reverse("assessments:list", kwargs={"org_slug": slug})


def action_count(user: Any, memberships: list[Membership]) -> list[QuerySet]:
    qs = _action_queryset(user, memberships)
    return [] if qs is None else [qs]


# --- Evidence expiring --------------------------------------------------------------------------


def cited_by_current_work() -> Q:
    """Evidence (the outer row) that an assessment or plan not yet final cites."""
    return Q(Exists(Citation.objects.filter(evidence=OuterRef("pk"), response__assessment__status__in=CURRENT))) | Q(
        Exists(PlanCitation.objects.filter(evidence=OuterRef("pk"), plan__status__in=CURRENT))
    )


def _evidence_queryset(user: Any, memberships: list[Membership]) -> QuerySet | None:
    """Evidence expiring within 30 days or expired, that the person uploaded or that work not yet final
    cites, for the owners and managers who can replace it."""
    editing = _orgs(memberships, MANAGEMENT)
    if not editing:
        return None
    cited = cited_by_current_work()
    horizon = timezone.localdate() + timedelta(days=EVIDENCE_EXPIRY_DAYS)
    return Evidence.objects.filter(organisation_id__in=editing, expiry_date__lte=horizon).filter(
        Q(uploaded_by=user) | cited
    )


def evidence_items(user: Any, memberships: list[Membership]) -> list[WorkItem]:
    today = timezone.localdate()
    editing = _orgs(memberships, MANAGEMENT)
    items = []
    with scopes_disabled():
        qs = _evidence_queryset(user, memberships)
        if qs is None:
            return []
        for evidence in qs.only("id", "organisation_id", "description", "original_name", "expiry_date"):
            organisation = editing[evidence.organisation_id].organisation  # loaded with the memberships
            expired = evidence.expiry_date < today
            items.append(
                WorkItem(
                    kind="evidence",
                    organisation=organisation,
                    title=evidence.description or evidence.original_name,
                    action=_("Expired: upload a current version") if expired else _("Upload a current version"),
                    url=reverse(
                        "assessments:evidence_detail",
                        kwargs={"org_slug": organisation.slug, "evidence_id": evidence.pk},
                    ),
                    due=evidence.expiry_date,
                    detail=(_("Expired on %(date)s") if expired else _("Expires on %(date)s"))
                    % {"date": _date(evidence.expiry_date)},
                )
            )
    return items


def evidence_count(user: Any, memberships: list[Membership]) -> list[QuerySet]:
    qs = _evidence_queryset(user, memberships)
    return [] if qs is None else [qs]


# --- Plans due for review -----------------------------------------------------------------------

PLAN_REVIEW_DAYS = 30


def plans_due_for_review(*, horizon: Any) -> QuerySet:
    """Final plans whose review date is on or before `horizon`, until a newer version of the plan exists
    (in progress or final): reviewing is amending. Shared by "Your work" and the reminders."""
    newer = Plan.objects.filter(
        organisation=OuterRef("organisation"), family_id=OuterRef("family_id"), version__gt=OuterRef("version")
    )
    return Plan.objects.filter(status=AssessmentStatus.FINAL, review_due__lte=horizon).filter(~Exists(newer))


def _plan_review_queryset(user: Any, memberships: list[Membership]) -> QuerySet | None:
    """Plans due for review within 30 days or past, in the organisations the person owns or manages."""
    management = _orgs(memberships, MANAGEMENT)
    if not management:
        return None
    horizon = timezone.localdate() + timedelta(days=PLAN_REVIEW_DAYS)
    return plans_due_for_review(horizon=horizon).filter(organisation_id__in=management)


def _plan_review_item(plan: Plan, today: Any) -> WorkItem:
    overdue = plan.review_due < today
    return WorkItem(
        kind="plan_review",
        organisation=plan.organisation,
        title=plan.title,
        action=_("Review the plan"),
        url=reverse("assessments:plan_amend", kwargs={"org_slug": plan.organisation.slug, "plan_id": plan.pk}),
        due=plan.review_due,
        detail=(_("The review was due on %(date)s") if overdue else _("Due for review on %(date)s"))
        % {"date": _date(plan.review_due)},
        obj=plan,
    )


def _plan_querysets(user: Any, memberships: list[Membership]) -> list[QuerySet]:
    """Plans waiting for the person's signature, and final plans due for review."""
    review = _plan_review_queryset(user, memberships)
    return _signature_querysets(user, memberships, (Plan,)) + ([review] if review is not None else [])


def plan_items(user: Any, memberships: list[Membership]) -> list[WorkItem]:
    """Plans that wait for the person: to sign (in workforce review) or to review (final, review date
    near). Both kinds come from one query (the page's query budget), told apart by the plan's status."""
    signing = _orgs(memberships, SIGNING)
    today = timezone.localdate()
    with scopes_disabled():
        querysets = _plan_querysets(user, memberships)
        if not querysets:
            return []
        combined = querysets[0] if len(querysets) == 1 else querysets[0] | querysets[1]
        return [
            _signature_item(plan, "plan", signing)
            if plan.status == AssessmentStatus.IN_REVIEW
            else _plan_review_item(plan, today)
            for plan in _with_organisations(combined, memberships)
        ]


def _with_organisations(plans: QuerySet, memberships: list[Membership]) -> list[Plan]:
    """The plans, each with its organisation from the memberships (loaded already: not read again)."""
    organisations = {m.organisation_id: m.organisation for m in memberships}
    rows = list(plans)
    for plan in rows:
        plan.organisation = organisations[plan.organisation_id]
    return rows


def plan_count(user: Any, memberships: list[Membership]) -> list[QuerySet]:
    return _plan_querysets(user, memberships)
