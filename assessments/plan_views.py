"""Plan pages: list, create, the task list of sections, section forms, meetings, the EqIA, versions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from assessments import plans, selectors, workflow
from assessments.models import (
    Characteristic,
    ConsultationMeeting,
    EqiaOutcome,
    Impact,
    Plan,
    PlanKind,
)
from assessments.review_forms import EQIA_OUTCOME_HINTS, MeetingForm, PlanCreateForm, ReviewDateForm, section_form
from portal.forms import apply_errors
from portal.models import Membership
from portal.tenancy import TenantRequest, require


@require_GET
def plan_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = require(request, "view_dashboard")
    items = list(selectors.visible_plans(membership).order_by("title", "-version"))
    latest: dict[Any, int] = {}
    for plan in items:
        latest[plan.family_id] = max(latest.get(plan.family_id, 0), plan.version)
    for plan in items:
        plan.newer_version = plan.version < latest[plan.family_id]  # type: ignore[attr-defined]
    return render(
        request,
        "plans/list.html",
        {"plans": items, "can_edit": membership.can("edit_content"), "today": timezone.localdate()},
    )


@require_http_methods(["GET", "POST"])
def plan_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "edit_content")
    form = PlanCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        plan = plans.plan_create(organisation=request.organisation, actor=request.user, **form.cleaned_data)
        messages.success(
            request,
            _("%(title)s has been started. Fill in each section, then send it for workforce review.")
            % {"title": plan.title},
        )
        return redirect("assessments:plan", org_slug=org_slug, plan_id=plan.pk)
    return render(request, "plans/create.html", {"form": form})


def _section_status(plan: Plan, key: str, problems: dict[str, str]) -> str:
    if key in problems:
        fields = workflow.section_fields(plan.kind).get(key, [])
        started = (
            any(getattr(plan, f) for f in fields) if fields else any(r.impact for r in workflow.eqia_rows(plan.eqia))
        )
        return "in_progress" if started else "not_started"
    return "completed"


@require_GET
def plan_detail(request: TenantRequest, org_slug: str, plan_id: Any) -> HttpResponse:
    """The plan's task list, review state, signatures and change requests."""
    membership = require(request, "view_dashboard")
    plan, versions = selectors.plan_page_for(membership, plan_id)
    problems = dict(reversed(plans.plan_problems(plan)))
    sections = [
        {"key": key, "title": title, "status": _section_status(plan, key, problems), "problem": problems.get(key)}
        for key, title, _fields in workflow.plan_sections(plan.kind)
    ]
    current_hash = workflow.subject_hash(plan)
    capacity = workflow.capacity_for(membership)
    signatures = workflow.signatures_for(plan, current_hash=current_hash)
    own = workflow.own_agreement(signatures, request.user)
    return render(
        request,
        "plans/detail.html",
        {
            "plan": plan,
            "sections": sections,
            "signatures": signatures,
            "current_hash": current_hash,
            "change_requests": selectors.change_requests_for(plan, "plan"),
            "versions": versions,
            "open_comments": plan.open_comments,  # type: ignore[attr-defined]
            "meeting_count": len(workflow.plan_meetings(plan)),
            "can_edit": membership.can("edit_content") and plan.is_editable,
            "can_sign": capacity is not None and plan.status == "in_review" and own is None,
            "can_request_changes": membership.can("countersign_workforce")
            and plan.status == "in_review"
            and own is None,
            "own_agreement": own if plan.status == "in_review" else None,
            "can_answer": membership.can("sign_management") and plan.status != "final",
            "can_amend": membership.can("edit_content")
            and plan.status == "final"
            and plan.version == versions[-1].version,
            "today": timezone.localdate(),
            "blockers": workflow.agreement_blockers(plan),
            "is_workforce": membership.can("countersign_workforce"),
            "actions": selectors.plan_actions(plan),
        },
    )


def _plan(request: TenantRequest, plan_id: Any) -> Plan:
    return selectors.get_plan_for(require(request, "view_dashboard"), plan_id)


@require_http_methods(["GET", "POST"])
def plan_section(request: TenantRequest, org_slug: str, plan_id: Any, section: str) -> HttpResponse:
    membership = require(request, "view_dashboard")
    plan = selectors.get_plan_for(membership, plan_id)
    if section == "equality":
        return redirect("assessments:plan_eqia", org_slug=org_slug, plan_id=plan.pk)
    fields = workflow.section_fields(plan.kind)
    if section not in fields:
        raise Http404
    title = workflow.section_titles(plan.kind)[section]
    can_cite = membership.can("edit_content") and plan.is_editable
    # A DPIA's record of the workforce's views is written by their representatives as well.
    can_edit = plan.is_editable and (
        membership.can("edit_content")
        or (section in workflow.WORKFORCE_SECTIONS and membership.can("record_workforce_views"))
    )
    form_class = section_form(fields[section])
    form = form_class(request.POST or None, instance=plan)
    evidence = list(selectors.evidence_library(request.organisation)) if can_cite else []
    cited_evidence = [c.evidence for c in plan.citations.select_related("evidence").order_by("evidence__original_name")]
    cited = {e.pk for e in cited_evidence}
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        if form.is_valid():
            try:
                plans.plan_update_section(
                    plan=Plan.objects.get(pk=plan.pk),
                    actor=request.user,
                    section=section,
                    values=form.cleaned_data,
                    evidence_ids=request.POST.getlist("evidence")
                    if can_cite and "evidence-shown" in request.POST
                    else None,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("%(section)s has been saved.") % {"section": title})
                return redirect("assessments:plan", org_slug=org_slug, plan_id=plan.pk)
    comments = selectors.comments_by_anchor(plan, "plan", anchor=section).get(section, [])
    return render(
        request,
        "plans/section.html",
        {
            "plan": plan,
            "section": section,
            "section_title": title,
            "form": form,
            "can_edit": can_edit,
            "can_cite": can_cite,
            "evidence_library": evidence,
            "cited": cited,
            "cited_evidence": cited_evidence,
            "comments": comments,
            "meetings": list(plan.meetings.all()) if section == "consultation" else [],
            "can_comment": membership.can("comment") and plan.status in ("in_review", "changes_requested", "draft"),
            "can_resolve": membership.can("comment"),
            "values": [
                (
                    plan._meta.get_field(n).verbose_name,  # type: ignore[union-attr]
                    getattr(plan, f"get_{n}_display")() if n == "consultation_outcome" else getattr(plan, n),
                )
                for n in fields[section]
            ],
        },
    )


@require_http_methods(["GET", "POST"])
def meeting_add(request: TenantRequest, org_slug: str, plan_id: Any) -> HttpResponse:
    require(request, "edit_content")
    plan = _plan(request, plan_id)
    form = MeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plans.meeting_add(plan=plan, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The meeting has been added to the consultation record."))
            return redirect("assessments:plan_section", org_slug=org_slug, plan_id=plan.pk, section="consultation")
    return render(request, "plans/meeting_form.html", {"form": form, "plan": plan})


@require_http_methods(["GET", "POST"])
def meeting_delete(request: TenantRequest, org_slug: str, plan_id: Any, meeting_id: Any) -> HttpResponse:
    require(request, "edit_content")
    plan = _plan(request, plan_id)
    meeting = get_object_or_404(ConsultationMeeting.objects.select_related("plan"), plan=plan, pk=meeting_id)
    if request.method == "POST":
        try:
            plans.meeting_delete(meeting=meeting, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The meeting has been removed."))
        return redirect("assessments:plan_section", org_slug=org_slug, plan_id=plan.pk, section="consultation")
    return render(request, "plans/meeting_delete.html", {"plan": plan, "meeting": meeting})


@require_http_methods(["GET", "POST"])
def plan_eqia(request: TenantRequest, org_slug: str, plan_id: Any) -> HttpResponse:
    membership = require(request, "view_dashboard")
    plan = selectors.get_plan_for(membership, plan_id)
    can_edit = membership.can("edit_content") and plan.is_editable
    members = selectors.owner_choices(request.organisation)
    eqia = plan.eqia
    rows = {r.characteristic: r for r in eqia.rows.select_related("owner")}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        by_pk = {str(u.pk): u for u in members}
        inputs = []
        for characteristic in Characteristic.values:
            owner_id = request.POST.get(f"{characteristic}-owner", "")
            if owner_id and owner_id not in by_pk:
                errors[f"{characteristic}-owner"] = _("Choose an owner from the organisation's members")
            inputs.append(
                plans.EqiaRowInput(
                    characteristic=characteristic,
                    impact=request.POST.get(f"{characteristic}-impact", ""),
                    evidence=request.POST.get(f"{characteristic}-evidence", ""),
                    mitigation=request.POST.get(f"{characteristic}-mitigation", ""),
                    owner=by_pk.get(owner_id),
                )
            )
        outcome, justification = request.POST.get("outcome", ""), request.POST.get("justification", "")
        if not errors:
            try:
                plans.eqia_save(
                    plan=Plan.objects.get(pk=plan.pk),
                    actor=request.user,
                    rows=inputs,
                    outcome=outcome,
                    justification=justification,
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    errors = {k: " ".join(v) for k, v in exc.message_dict.items()}
                else:
                    errors = {"outcome": " ".join(exc.messages)}
            else:
                messages.success(request, _("The equality impact assessment has been saved."))
                return redirect("assessments:plan", org_slug=org_slug, plan_id=plan.pk)
        values = {"rows": {i.characteristic: i for i in inputs}, "outcome": outcome, "justification": justification}
    table = []
    for characteristic, label in Characteristic.choices:
        posted = values.get("rows", {}).get(characteristic)
        saved = rows[characteristic]
        table.append(
            {
                "key": characteristic,
                "label": label,
                "impact": posted.impact if posted else saved.impact,
                "evidence": posted.evidence if posted else saved.evidence,
                "mitigation": posted.mitigation if posted else saved.mitigation,
                "owner_id": str(posted.owner.pk)
                if posted and posted.owner
                else (str(saved.owner_id) if saved.owner_id and not posted else ""),
                "owner": saved.owner,
                "errors": {f: errors.get(f"{characteristic}-{f}") for f in ("impact", "mitigation", "owner")},
            }
        )
    return render(
        request,
        "plans/eqia.html",
        {
            "plan": plan,
            "eqia": eqia,
            "table": table,
            "can_edit": can_edit,
            "errors": errors,
            "members": members,
            "impacts": Impact.choices,
            "outcomes": [(v, label, EQIA_OUTCOME_HINTS[EqiaOutcome(v)]) for v, label in EqiaOutcome.choices],
            "outcome": values.get("outcome", eqia.outcome),
            "justification": values.get("justification", eqia.justification),
            "comments": selectors.comments_by_anchor(plan, "plan", anchor="equality").get("equality", []),
            "can_comment": membership.can("comment") and plan.status != "final",
            "can_resolve": membership.can("comment"),
        },
        status=400 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
def plan_submit(request: TenantRequest, org_slug: str, plan_id: Any) -> HttpResponse:
    require(request, "edit_content")
    plan = _plan(request, plan_id)
    if not plan.is_editable:
        messages.info(request, _("This plan has already been sent for review."))
        return redirect("assessments:plan", org_slug=org_slug, plan_id=plan.pk)
    problems = plans.plan_problems(plan)
    if request.method == "POST" and not problems:
        notified = plans.plan_submit(plan=plan, actor=request.user)
        if notified:
            messages.success(
                request,
                ngettext(
                    "%(title)s has been sent for workforce review. %(n)s representative has been emailed.",
                    "%(title)s has been sent for workforce review. %(n)s representatives have been emailed.",
                    len(notified),
                )
                % {"title": plan.title, "n": len(notified)},
            )
        else:
            messages.warning(
                request,
                _(
                    "%(title)s is in workforce review, but there is no workforce representative to "
                    "email. Invite one from the Members page."
                )
                % {"title": plan.title},
            )
        return redirect("assessments:plan", org_slug=org_slug, plan_id=plan.pk)
    reps = [
        m
        for m in Membership.objects.filter(organisation=request.organisation, role="workforce_rep").select_related(
            "user"
        )
        if m.is_active()
    ]
    return render(
        request,
        "plans/submit.html",
        {
            "plan": plan,
            "problems": problems,
            "reps": reps,
            "tried": request.method == "POST",
            "dpia_rows": _dpia_summary(plan) if plan.kind == PlanKind.DPIA else [],
        },
        status=400 if request.method == "POST" and problems else 200,
    )


def _dpia_summary(plan: Plan) -> list[tuple[str, str, str]]:
    """(section, title, the start of its first answer) for a DPIA's check page, equality aside."""
    rows = []
    for key, title, fields in workflow.plan_sections(plan.kind):
        if key == "equality":
            continue
        text = next((str(getattr(plan, f)) for f in fields if getattr(plan, f) and f != "shared_on"), "")
        rows.append((key, title, text))
    return rows


@require_http_methods(["GET", "POST"])
def plan_amend(request: TenantRequest, org_slug: str, plan_id: Any) -> HttpResponse:
    require(request, "edit_content")
    plan = _plan(request, plan_id)
    if request.method == "POST":
        try:
            new = plans.plan_amend(plan=plan, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("assessments:plan", org_slug=org_slug, plan_id=plan.pk)
        messages.success(
            request,
            _("Version %(n)s has been started from the final plan. Version %(old)s stays as signed.")
            % {"n": new.version, "old": plan.version},
        )
        return redirect("assessments:plan", org_slug=org_slug, plan_id=new.pk)
    return render(request, "plans/amend.html", {"plan": plan})


@require_http_methods(["GET", "POST"])
def plan_review_date(request: TenantRequest, org_slug: str, plan_id: Any) -> HttpResponse:
    """Change when a final plan is next reviewed."""
    require(request, "edit_content")
    plan = _plan(request, plan_id)
    if plan.status != "final":
        messages.info(request, _("Only a final plan has a review date."))
        return redirect("assessments:plan", org_slug=org_slug, plan_id=plan.pk)
    form = ReviewDateForm(request.POST or None, initial={"review_due": plan.review_due})
    if request.method == "POST" and form.is_valid():
        try:
            plans.plan_review_due_set(plan=plan, actor=request.user, review_due=form.cleaned_data["review_due"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The plan will be due for review on %(date)s.")
                % {"date": date_format(form.cleaned_data["review_due"], "j F Y")},
            )
            return redirect("assessments:plan", org_slug=org_slug, plan_id=plan.pk)
    return render(
        request,
        "plans/review_date.html",
        {"plan": plan, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_GET
def plan_diff(request: TenantRequest, org_slug: str, plan_id: Any) -> HttpResponse:
    membership = require(request, "view_dashboard")
    plan = selectors.get_plan_for(membership, plan_id)
    family = selectors.plan_versions(membership, plan)
    try:
        against = int(request.GET.get("against", plan.version - 1))
    except ValueError:
        raise Http404 from None
    if against not in family or against == plan.version:
        raise Http404
    old, new = sorted([family[against], plan], key=lambda p: p.version)
    prefetch_related_objects([old, new], *workflow.plan_contents())
    return render(
        request,
        "plans/diff.html",
        {"plan": plan, "old": old, "new": new, "diffs": plans.plan_diff(old, new), "versions": sorted(family)},
    )
