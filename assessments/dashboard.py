"""The self-assessment and plans panel on the organisation dashboard.

It leads with the current cycle: the newest self-assessment not yet final and the plans not yet final,
each with its status and its next step in words (what this person can do now, or who it waits for),
then keeps the last final self-assessment's results below. Four queries whatever the data: the two
assessments, their progress, the current plans, the overdue actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from assessments import selectors
from assessments.charts import Bar, maturity_chart_svg
from assessments.models import Assessment, AssessmentStatus, EqualityImpactAssessment, Plan
from assessments.plans import plan_problems
from assessments.selectors import AssessmentProgress
from assessments.services import next_cycle_defaults
from portal.dashboard import Panel
from portal.roles import Role


@dataclass(frozen=True)
class NextStep:
    text: str
    url: str
    yours: bool  # this person can do it now (a button); else it says who it waits for (a link to see it)


@dataclass(frozen=True)
class CurrentItem:
    kind: str  # "assessment" or "plan"
    item: Assessment | Plan
    url: str
    next_step: NextStep
    progress: AssessmentProgress | None = None


def _url(name: str, slug: str, **kwargs: Any) -> str:
    return reverse(f"assessments:{name}", kwargs={"org_slug": slug, **kwargs})


def _review_step(subject: Assessment | Plan, membership: Any, url: str, kind: str) -> NextStep:
    """The next step of an item in workforce review: sign, or wait for the other side."""
    slug = membership.organisation.slug
    sign = _url("sign", slug, kind=kind, subject_id=subject.pk)
    management, workforce = subject.management_signed, subject.workforce_signed  # type: ignore[union-attr]
    if membership.can("countersign_workforce") and not workforce:
        return NextStep(_("Countersign for the workforce, or ask for changes"), sign, True)
    if membership.can("sign_management") and not management:
        return NextStep(_("Sign for management"), sign, True)
    if management and not workforce:
        return NextStep(_("Waiting for the workforce representatives' countersignature"), url, False)
    if workforce and not management:
        return NextStep(_("Waiting for management's signature"), url, False)
    if management and workforce:
        return NextStep(_("Signed by both sides: being made final"), url, False)
    return NextStep(_("Waiting for the signatures of management and the workforce representatives"), url, False)


def assessment_next_step(assessment: Assessment, progress: AssessmentProgress, membership: Any) -> NextStep:
    slug = membership.organisation.slug
    url = _url("overview", slug, assessment_id=assessment.pk)
    if assessment.status == AssessmentStatus.IN_REVIEW:
        return _review_step(assessment, membership, url, "assessment")
    if assessment.status == AssessmentStatus.AGREED:
        return NextStep(_("Agreed: being made final"), url, False)
    can_edit = membership.can("edit_content")
    if assessment.status == AssessmentStatus.CHANGES_REQUESTED:
        if can_edit:
            return NextStep(_("Make the changes the representatives asked for, then send it back"), url, True)
        return NextStep(_("Waiting for management to make the changes asked for"), url, False)
    # A draft: the first principle not completed, else it is ready to send.
    count = len(progress.principles)
    todo = next((p for p in progress.principles if p.status != "completed"), None)
    if not can_edit:
        return NextStep(
            _("Management is writing it: %(done)s of %(n)s principles completed")
            % {"done": progress.completed, "n": count},
            url,
            False,
        )
    if todo is None:
        return NextStep(_("Send for workforce review"), _url("submit", slug, assessment_id=assessment.pk), True)
    if todo.to_confirm:
        verb = _("Confirm or change the answers carried over in principle %(n)s of %(of)s")
    elif todo.answered == 0:
        verb = _("Start principle %(n)s of %(of)s")
    else:
        verb = _("Continue principle %(n)s of %(of)s")
    return NextStep(
        verb % {"n": todo.principle.number, "of": count} + ": " + todo.principle.title,
        _url("principle", slug, assessment_id=assessment.pk, number=todo.principle.number),
        True,
    )


def plan_next_step(plan: Plan, membership: Any) -> NextStep:
    slug = membership.organisation.slug
    url = _url("plan", slug, plan_id=plan.pk)
    if plan.status == AssessmentStatus.IN_REVIEW:
        return _review_step(plan, membership, url, "plan")
    if plan.status == AssessmentStatus.AGREED:
        return NextStep(_("Agreed: being made final"), url, False)
    can_edit = membership.can("edit_content")
    if plan.status == AssessmentStatus.CHANGES_REQUESTED:
        if can_edit:
            return NextStep(_("Make the changes the representatives asked for, then send it back"), url, True)
        return NextStep(_("Waiting for management to make the changes asked for"), url, False)
    if not can_edit:
        return NextStep(_("Management is writing it"), url, False)
    problems = plan_problems(plan, eqia_unassessed=plan.eqia_unassessed)  # type: ignore[attr-defined]
    if not problems:
        return NextStep(_("Send for workforce review"), _url("plan_submit", slug, plan_id=plan.pk), True)
    section, message = problems[0]
    if section == "equality":
        return NextStep(message, _url("plan_eqia", slug, plan_id=plan.pk), True)
    return NextStep(message, _url("plan_section", slug, plan_id=plan.pk, section=section), True)


def _dashboard_data(request: HttpRequest) -> dict[str, Any]:
    """What both panels show, read once per request (the two panels share the queries)."""
    cached = getattr(request, "_assessments_dashboard", None)
    if cached is not None:
        return cached
    membership = request.membership  # type: ignore[attr-defined]
    organisation = request.organisation  # type: ignore[attr-defined]
    slug = organisation.slug
    current, final = selectors.dashboard_assessments(membership)
    progress = selectors.assessments_progress([a for a in (current, final) if a is not None])
    items: list[CurrentItem] = []
    if current is not None:
        items.append(
            CurrentItem(
                "assessment",
                current,
                _url("overview", slug, assessment_id=current.pk),
                assessment_next_step(current, progress[current.pk], membership),
                progress[current.pk],
            )
        )
    for plan in selectors.current_plans(membership):
        items.append(CurrentItem("plan", plan, _url("plan", slug, plan_id=plan.pk), plan_next_step(plan, membership)))
    chart = None
    if final is not None:
        chart = maturity_chart_svg(
            [
                Bar(f"{p.principle.number}. {p.principle.title}", p.average_maturity)
                for p in progress[final.pk].principles
            ],
            title=_("Maturity per principle: %(title)s") % {"title": final.title},
            layout="stacked",  # legible on a phone; the report keeps the wide chart
        )
    data = {
        "current": current,
        "items": items,
        "final": final,
        "final_progress": progress.get(final.pk) if final else None,
        "chart": chart,
        "sees_drafts": membership.role != Role.AUDITOR,
        "overdue": selectors.overdue_action_items(organisation) if membership.role != Role.AUDITOR else [],
        "can_edit": membership.can("edit_content"),
        # With nothing in progress, next year's self-assessment can start from the last final one.
        "next_cycle": next_cycle_defaults(final)
        if final is not None and current is None and membership.can("edit_content")
        else None,
    }
    request._assessments_dashboard = data  # type: ignore[attr-defined]
    return data


def current_work_panel(request: HttpRequest) -> Panel:
    """First on the dashboard: the current self-assessment and plans, each with its next step."""
    return Panel("assessments/_dashboard_current.html", _dashboard_data(request))


def final_results_panel(request: HttpRequest) -> Panel:
    """Below: the results of the last final self-assessment."""
    return Panel("assessments/_dashboard_panel.html", _dashboard_data(request))


# Getting-started steps (registered in apps.py).


def assessment_started(organisation: Any) -> Exists:
    return Exists(Assessment.objects.filter(organisation=organisation))


def plan_with_eqia(organisation: Any) -> Exists:
    """A plan whose equality impact assessment has reached an outcome."""
    return Exists(EqualityImpactAssessment.objects.filter(organisation=organisation).exclude(outcome=""))
