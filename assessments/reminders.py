"""The assessments app's reminders (portal.reminders): actions due within 7 days or overdue,
evidence that current work cites expiring in 30, 14 and 1 days, final plans whose review date
is within 30 days or past, and the new technology agreement's clocks on each registered system
(notice due within 14 days, a committee meeting due within 7 days or late, a go-live date inside the
notice period).

Each scan runs across every organisation (scopes disabled: system work, like the sweeps) and tells
the same people the "Your work" page shows the thing to (assessments.work), once per key.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from assessments.models import ActionItem, ActionStatus, Evidence, Plan, TechnologySystem
from assessments.work import (
    MANAGEMENT,
    PLAN_REVIEW_DAYS,
    SIGNING,
    action_url,
    cited_by_current_work,
    plans_due_for_review,
    technology_url,
)
from portal.models import Membership, Notification, User
from portal.notifications import Email, notify
from portal.reminders import key_date
from portal.roles import role_can
from portal.webhooks import emit

ACTION_DUE_DAYS = 7
EVIDENCE_THRESHOLDS = (30, 14, 1)  # days before expiry


def _date(value: date | None) -> str:
    return date_format(value, "j F Y") if value else ""


def _active_memberships(organisation_ids: set[Any], now: datetime) -> Any:
    return Membership.objects.filter(
        organisation_id__in=organisation_ids,
        user__is_active=True,
        user__deleted_at__isnull=True,
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def _already(keys: list[tuple[Any, str]]) -> set[tuple[Any, str]]:
    """Which (recipient, key) pairs already have their notification (saves a failed insert an hour)."""
    if not keys:
        return set()
    found = Notification.objects.filter(
        recipient_id__in={r for r, _k in keys}, dedupe_key__in={k for _r, k in keys}
    ).values_list("recipient_id", "dedupe_key")
    return set(found)


def action_key(action: ActionItem, threshold: str) -> str:
    return f"action_due:{action.pk}:{action.due_date.isoformat()}:{threshold}"


@scopes_disabled()
def scan_actions(now: datetime) -> int:
    """Remind each open action's owner when it is due within 7 days, and again when it is overdue."""
    today = timezone.localdate(now)
    actions = list(
        ActionItem.objects.exclude(status=ActionStatus.DONE)
        .filter(owner__isnull=False, due_date__lte=today + timedelta(days=ACTION_DUE_DAYS))
        .select_related("organisation", "owner", "response__criterion__principle")
    )
    roles = {
        (m.organisation_id, m.user_id): m.role
        for m in _active_memberships({a.organisation_id for a in actions}, now).filter(
            user_id__in={a.owner_id for a in actions}
        )
    }
    due = []
    for action in actions:
        role = roles.get((action.organisation_id, action.owner_id))
        if role is None:  # no longer a member: the action waits for a new owner, as on "Your work"
            continue
        threshold = "overdue" if action.due_date < today else f"{ACTION_DUE_DAYS}d"
        due.append((action, role, threshold, action_key(action, threshold)))
    done = _already([(a.owner_id, key) for a, _r, _t, key in due])
    made = 0
    for action, role, threshold, key in due:
        if (action.owner_id, key) in done:
            continue
        organisation = action.organisation
        when = _date(action.due_date)
        if threshold == "overdue":
            text = _("Your action “%(title)s” in %(org)s was due on %(date)s and is overdue")
            subject = _("%(org)s: your action “%(title)s” is overdue")
        else:
            text = _("Your action “%(title)s” in %(org)s is due on %(date)s")
            subject = _("%(org)s: your action “%(title)s” is due on %(date)s")
        words = {"title": action.title, "org": organisation.name, "date": when}
        # The notification and its email row commit together, or neither does.
        with transaction.atomic():
            if threshold == "overdue":
                emit(
                    organisation,
                    "action.overdue",
                    {
                        "id": str(action.pk),
                        "title": action.title,
                        "due_date": action.due_date.isoformat(),
                        "url": action_url(action, can_edit=True),
                    },
                    event_id=f"action.overdue:{action.pk}:{action.due_date.isoformat()}",
                )
            made += len(
                notify(
                    kind="action_due",
                    recipients=[action.owner],
                    organisation=organisation,
                    actor=None,
                    text=text % words,
                    url=action_url(action, can_edit=role_can(role, "edit_content")),
                    key=key,
                    email=Email(subject=subject % words, template="reminder"),
                    target=action,
                )
            )
    return made


def action_still_applies(notifications: list[Notification]) -> set[Any]:
    """Still open, still the recipient's, still due on the date the reminder named."""
    actions = ActionItem.objects.in_bulk([i for i in (_uuid(n.target_id) for n in notifications) if i])
    keep = set()
    for notification in notifications:
        action = actions.get(_uuid(notification.target_id))
        if (
            action is not None
            and action.status != ActionStatus.DONE
            and action.owner_id == notification.recipient_id
            and action.due_date == key_date(notification)
        ):
            keep.add(notification.pk)
    return keep


def evidence_threshold(expiry: date, today: date) -> int | None:
    """The nearest threshold (30, 14 or 1 days) that `expiry` is within, or None (further off or expired)."""
    left = (expiry - today).days
    if left < 0:
        return None
    within = [t for t in EVIDENCE_THRESHOLDS if left <= t]
    return min(within) if within else None


def evidence_key(evidence: Evidence, threshold: int) -> str:
    return f"evidence_expiring:{evidence.pk}:{evidence.expiry_date}:{threshold}d"


@scopes_disabled()
def scan_evidence(now: datetime) -> int:
    """Remind the organisation's owners and managers (who can replace it, and who see it on "Your
    work") when evidence that current work cites comes within 30, 14 and 1 days of its expiry."""
    today = timezone.localdate(now)
    evidence = list(
        Evidence.objects.filter(
            expiry_date__gte=today, expiry_date__lte=today + timedelta(days=max(EVIDENCE_THRESHOLDS))
        )
        .filter(cited_by_current_work())
        .select_related("organisation")
    )
    people: dict[Any, list[User]] = {}
    for membership in (
        _active_memberships({e.organisation_id for e in evidence}, now)
        .filter(role__in=MANAGEMENT)
        .select_related("user")
        .order_by("user__email")
    ):
        people.setdefault(membership.organisation_id, []).append(membership.user)
    due: list[tuple[Evidence, User, str]] = []
    for item in evidence:
        threshold = evidence_threshold(item.expiry_date, today) if item.expiry_date else None
        if threshold is None:
            continue
        key = evidence_key(item, threshold)
        due.extend((item, user, key) for user in people.get(item.organisation_id, []))
    done = _already([(user.pk, key) for _e, user, key in due])
    made = 0
    for item, user, key in due:
        if (user.pk, key) in done:
            continue
        organisation = item.organisation
        words = {
            "name": item.description or item.original_name,
            "org": organisation.name,
            "date": _date(item.expiry_date),
        }
        with transaction.atomic():
            url = reverse("assessments:evidence_detail", kwargs={"org_slug": organisation.slug, "evidence_id": item.pk})
            emit(
                organisation,
                "evidence.expiring",
                {"id": str(item.pk), "title": words["name"], "expiry_date": str(item.expiry_date), "url": url},
                event_id=key,  # once per evidence and threshold, whoever is reminded
            )
            made += len(
                notify(
                    kind="evidence_expiring",
                    recipients=[user],
                    organisation=organisation,
                    actor=None,
                    text=_("Evidence “%(name)s” in %(org)s expires on %(date)s and current work cites it") % words,
                    url=reverse(
                        "assessments:evidence_detail",
                        kwargs={"org_slug": organisation.slug, "evidence_id": item.pk},
                    ),
                    key=key,
                    email=Email(subject=_("%(org)s: evidence expires on %(date)s") % words, template="reminder"),
                    target=item,
                )
            )
    return made


def evidence_still_applies(notifications: list[Notification]) -> set[Any]:
    """Still there, same expiry date, and still cited by current work (not replaced nor uncited)."""
    ids = [i for i in (_uuid(n.target_id) for n in notifications) if i]
    current = dict(Evidence.objects.filter(pk__in=ids).filter(cited_by_current_work()).values_list("pk", "expiry_date"))
    return {n.pk for n in notifications if current.get(_uuid(n.target_id), False) == key_date(n)}


def plan_review_key(plan: Plan, threshold: str) -> str:
    return f"plan_review_due:{plan.pk}:{plan.review_due}:{threshold}"


@scopes_disabled()
def scan_plan_reviews(now: datetime) -> int:
    """Remind the organisation's owners and managers (who see it on "Your work" and start the review)
    when a final plan's review date comes within 30 days, and again once it has passed, until a newer
    version of the plan exists."""
    today = timezone.localdate(now)
    plans = list(plans_due_for_review(horizon=today + timedelta(days=PLAN_REVIEW_DAYS)).select_related("organisation"))
    people: dict[Any, list[User]] = {}
    for membership in (
        _active_memberships({p.organisation_id for p in plans}, now)
        .filter(role__in=MANAGEMENT)
        .select_related("user")
        .order_by("user__email")
    ):
        people.setdefault(membership.organisation_id, []).append(membership.user)
    due: list[tuple[Plan, User, str, str]] = []
    for plan in plans:
        threshold = "overdue" if plan.review_due < today else f"{PLAN_REVIEW_DAYS}d"
        key = plan_review_key(plan, threshold)
        due.extend((plan, user, threshold, key) for user in people.get(plan.organisation_id, []))
    done = _already([(user.pk, key) for _p, user, _t, key in due])
    made = 0
    for plan, user, threshold, key in due:
        if (user.pk, key) in done:
            continue
        organisation = plan.organisation
        words = {"title": plan.title, "org": organisation.name, "date": _date(plan.review_due)}
        if threshold == "overdue":
            text = _("The plan “%(title)s” in %(org)s was due for review on %(date)s")
            subject = _("%(org)s: the plan “%(title)s” is overdue for review")
        else:
            text = _("The plan “%(title)s” in %(org)s is due for review on %(date)s")
            subject = _("%(org)s: the plan “%(title)s” is due for review on %(date)s")
        with transaction.atomic():
            made += len(
                notify(
                    kind="plan_review_due",
                    recipients=[user],
                    organisation=organisation,
                    actor=None,
                    text=text % words,
                    url=reverse("assessments:plan", kwargs={"org_slug": organisation.slug, "plan_id": plan.pk}),
                    key=key,
                    email=Email(subject=subject % words, template="reminder"),
                    target=plan,
                )
            )
    return made


def plan_review_still_applies(notifications: list[Notification]) -> set[Any]:
    """Still final, still due for review on the date the reminder named, and no newer version yet."""
    ids = [i for i in (_uuid(n.target_id) for n in notifications) if i]
    due = dict(plans_due_for_review(horizon=date.max).filter(pk__in=ids).values_list("pk", "review_due"))
    return {n.pk for n in notifications if due.get(_uuid(n.target_id), False) == key_date(n)}


# --- The new technology agreement's clocks -------------------------------------------------------

TECHNOLOGY_NOTICE_DAYS = 14  # remind when notice must be given within this many days
TECHNOLOGY_MEETING_DAYS = 7  # remind when the committee must meet within this many days
# Each threshold of a technology reminder, and the attention (TechnologySystem.attention) it is about.
TECHNOLOGY_THRESHOLDS = {
    f"notice_{TECHNOLOGY_NOTICE_DAYS}d": "notice",
    f"meeting_{TECHNOLOGY_MEETING_DAYS}d": "meeting",
    "meeting_late": "meeting",
    "breach": "breach",
}


def technology_threshold(system: TechnologySystem, today: date) -> str | None:
    """Which reminder the system's attention calls for today, or None (not yet near enough)."""
    due = system.attention_due
    if due is None:
        return None
    if system.attention == "notice":
        return f"notice_{TECHNOLOGY_NOTICE_DAYS}d" if due <= today + timedelta(days=TECHNOLOGY_NOTICE_DAYS) else None
    if system.attention == "meeting":
        if due < today:
            return "meeting_late"
        return f"meeting_{TECHNOLOGY_MEETING_DAYS}d" if due <= today + timedelta(days=TECHNOLOGY_MEETING_DAYS) else None
    if system.attention == "breach":
        return "breach"
    return None


def technology_key(system: TechnologySystem, threshold: str) -> str:
    return f"technology_clock:{system.pk}:{system.attention_due}:{threshold}"


def _technology_words(system: TechnologySystem, threshold: str) -> tuple[str, str]:
    """(the reminder's sentence, its email's subject)."""
    words = {
        "name": system.name,
        "org": system.organisation.name,
        "date": _date(system.attention_due),
        "live": _date(system.go_live_on),
    }
    if threshold == "breach":
        return (
            _(
                "Go-live of “%(name)s” in %(org)s on %(date)s is inside the notice period of the new technology "
                "agreement: move it or agree it"
            )
            % words,
            _("%(org)s: go-live of “%(name)s” is inside the notice period") % words,
        )
    if threshold == "meeting_late":
        return (
            _("The joint technology committee in %(org)s was due to meet on “%(name)s” by %(date)s") % words,
            _("%(org)s: the committee meeting on “%(name)s” is late") % words,
        )
    if TECHNOLOGY_THRESHOLDS[threshold] == "meeting":
        return (
            _("The joint technology committee in %(org)s is due to meet on “%(name)s” by %(date)s") % words,
            _("%(org)s: the committee is due to meet on “%(name)s” by %(date)s") % words,
        )
    return (
        _("Notice of “%(name)s” in %(org)s is due to the representatives by %(date)s, for go-live on %(live)s") % words,
        _("%(org)s: give notice of “%(name)s” by %(date)s") % words,
    )


@scopes_disabled()
def scan_technology(now: datetime) -> int:
    """First move every system's clocks on with the calendar (assessments.technology.sweep_clocks: the
    daily sweep runs with each scan, so each sees fresh attention and records breaches that time alone
    caused), then remind the organisation's owners, managers and representatives (who see it on "Your
    work") when notice is due within 14 days, a committee meeting within 7 days and again once it is
    late, and when go-live falls inside the notice period."""
    from assessments.technology import sweep_clocks

    today = timezone.localdate(now)
    sweep_clocks(today)
    systems = list(
        TechnologySystem.objects.exclude(attention="")
        .filter(attention_due__isnull=False)
        .select_related("organisation")
        .order_by("attention_due", "name")
    )
    people: dict[Any, list[User]] = {}
    for membership in (
        _active_memberships({s.organisation_id for s in systems}, now)
        .filter(role__in=SIGNING)
        .select_related("user")
        .order_by("user__email")
    ):
        people.setdefault(membership.organisation_id, []).append(membership.user)
    due: list[tuple[TechnologySystem, User, str, str]] = []
    for system in systems:
        threshold = technology_threshold(system, today)
        if threshold is None:
            continue
        key = technology_key(system, threshold)
        due.extend((system, user, threshold, key) for user in people.get(system.organisation_id, []))
    done = _already([(user.pk, key) for _s, user, _t, key in due])
    made = 0
    for system, user, threshold, key in due:
        if (user.pk, key) in done:
            continue
        text, subject = _technology_words(system, threshold)
        with transaction.atomic():
            made += len(
                notify(
                    kind="technology_clock",
                    recipients=[user],
                    organisation=system.organisation,
                    actor=None,
                    text=text,
                    url=technology_url(system.organisation, system.pk),
                    key=key,
                    email=Email(subject=subject, template="reminder"),
                    target=system,
                )
            )
    return made


def technology_still_applies(notifications: list[Notification]) -> set[Any]:
    """The system still needs the same thing (notice, the meeting, a go-live moved) by the date the
    reminder named: notice recorded, the committee met or go-live moved out of the period drop it."""
    ids = [i for i in (_uuid(n.target_id) for n in notifications) if i]
    current = {
        pk: (attention, due)
        for pk, attention, due in TechnologySystem.objects.filter(pk__in=ids).values_list(
            "pk", "attention", "attention_due"
        )
    }
    keep = set()
    for notification in notifications:
        threshold = notification.dedupe_key.rsplit(":", 1)[-1]
        wanted = (TECHNOLOGY_THRESHOLDS.get(threshold), key_date(notification))
        if current.get(_uuid(notification.target_id)) == wanted:
            keep.add(notification.pk)
    return keep


def _uuid(value: str) -> Any:
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        return None
