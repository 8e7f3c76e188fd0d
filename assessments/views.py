"""Pages for self-assessments, the evidence library and action items. Thin: services do the work."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assessments import selectors, services, workflow
from assessments.forms import ActionItemForm, AssessmentForm, EvidenceForm
from assessments.models import ActionItem, AssessmentStatus, Evidence, Response
from assessments.response_rows import content_rows, response_rows
from portal.forms import apply_errors
from portal.models import Membership
from portal.signing import snapshot_hash
from portal.tenancy import TenantRequest, require
from principles.framework import current_framework, principles_of
from principles.models import Principle

EVIDENCE_PER_PAGE = 25


def _members(request: TenantRequest) -> list[Any]:
    """Who an action can be given to."""
    return selectors.owner_choices(request.organisation)


# --- Cycles ---------------------------------------------------------------------------------


@require_GET
def assessment_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = require(request, "view_dashboard")
    assessments = list(selectors.visible_assessments(membership).select_related("framework"))
    # Offered here when nothing is in progress; the final one's own page offers it in any case.
    in_progress = any(a.status != "final" for a in assessments)
    source = selectors.carry_over_source(assessments) if membership.can("edit_content") and not in_progress else None
    return render(
        request,
        "assessments/list.html",
        {
            "assessments": assessments,
            "can_edit": membership.can("edit_content"),
            "carry_over_source": source,
            "next_cycle": services.next_cycle_defaults(source) if source else None,
        },
    )


@require_http_methods(["GET", "POST"])
def assessment_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "edit_content")
    framework = current_framework()
    if framework is None:
        raise Http404
    today = timezone.localdate()
    form = AssessmentForm(
        request.POST or None,
        initial={
            "title": _("Self-assessment %(year)s") % {"year": today.year},
            "period_start": today.replace(month=1, day=1),
            "period_end": today.replace(month=12, day=31),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.assessment_create(
                organisation=request.organisation,
                actor=request.user,
                framework=framework,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(title)s has been started. Work through the six principles in any order.")
                % {"title": assessment.title},
            )
            return redirect("assessments:overview", org_slug=org_slug, assessment_id=assessment.pk)
    return render(request, "assessments/create.html", {"form": form, "framework": framework})


@require_http_methods(["GET", "POST"])
def assessment_next(request: TenantRequest, org_slug: str, assessment_id: Any) -> HttpResponse:
    """Start the next self-assessment from the latest final one: check what is carried over, then start."""
    membership = require(request, "edit_content")
    previous = selectors.get_assessment_for(membership, assessment_id)
    if not selectors.carries_over(previous):
        messages.info(
            request,
            _("The next self-assessment starts from the latest final one, once. %(title)s cannot be carried over.")
            % {"title": previous.title},
        )
        return redirect("assessments:overview", org_slug=org_slug, assessment_id=previous.pk)
    framework = current_framework()
    if framework is None:
        raise Http404
    form = AssessmentForm(request.POST or None, initial=services.next_cycle_defaults(previous))
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.assessment_create(
                organisation=request.organisation,
                actor=request.user,
                framework=framework,
                carry_over_from=previous,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "%(title)s has been started from %(previous)s. Answers carried over count once you confirm "
                    "or change them."
                )
                % {"title": assessment.title, "previous": previous.title},
            )
            return redirect("assessments:overview", org_slug=org_slug, assessment_id=assessment.pk)
    in_progress = list(
        selectors.visible_assessments(membership).exclude(status="final").order_by("-created_at").only("pk", "title")
    )
    return render(
        request,
        "assessments/next.html",
        {
            "previous": previous,
            "form": form,
            "framework": framework,
            "carried": services.carry_over_summary(previous),
            "in_progress": in_progress,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_GET
def assessment_overview(request: TenantRequest, org_slug: str, assessment_id: Any) -> HttpResponse:
    """The task list: the six principles with a status each, and the way to submit."""
    membership = require(request, "view_dashboard")
    assessment = selectors.get_assessment_for(membership, assessment_id)
    # A draft has never been sent for review (nothing sets an assessment back to draft): it has no
    # signatures and no change requests, and the page shows neither, so neither is read nor hashed, and
    # its progress is counted in one query of values. Otherwise the same rows serve both the progress
    # and the snapshot the signatures are checked against.
    reviewed = assessment.status != AssessmentStatus.DRAFT
    signatures: list[Any] = []
    if reviewed:
        rows = content_rows(request.organisation.pk, assessment.pk, timezone.localdate())
        progress = selectors.progress_of(assessment, rows)
        signatures = workflow.signatures_for(
            assessment, current_hash=snapshot_hash(workflow.assessment_snapshot_of_rows(assessment, rows))
        )
    else:
        progress = selectors.assessment_progress(assessment)
    own = workflow.own_agreement(signatures, request.user)
    capacity = workflow.capacity_for(membership)
    can_start_next = (
        membership.can("edit_content") and assessment.status == "final" and selectors.carries_over(assessment)
    )
    return render(
        request,
        "assessments/overview.html",
        {
            "assessment": assessment,
            "progress": progress,
            "next_cycle": services.next_cycle_defaults(assessment) if can_start_next else None,
            "can_edit": membership.can("edit_content") and assessment.is_editable,
            "signatures": signatures,
            "change_requests": selectors.change_requests_for(assessment, "assessment") if reviewed else [],
            "can_sign": capacity is not None and assessment.status == "in_review" and own is None,
            "can_request_changes": membership.can("countersign_workforce")
            and assessment.status == "in_review"
            and own is None,
            "own_agreement": own if assessment.status == "in_review" else None,
            "can_answer": membership.can("sign_management") and assessment.status != "final",
            "is_workforce": membership.can("countersign_workforce"),
            "blockers": [],
            "kind": "assessment",
        },
    )


def _principles(assessment: Any, number: int) -> tuple[list[Principle], Principle]:
    """The framework's principles in order (for the page's navigation), and the one numbered `number`."""
    principles = principles_of(assessment.framework_id)
    principle = next((p for p in principles if p.number == number), None)
    if principle is None:
        raise Http404
    return principles, principle


def _response_values(request: TenantRequest, response: Response) -> tuple[int | None, str, list[str]]:
    """One criterion's fields from a POST (named r-<response id>-...)."""
    prefix = f"r-{response.pk}-"
    raw = request.POST.get(prefix + "maturity", "")
    try:
        maturity = int(raw) if raw != "" else None
    except ValueError:
        raise ValidationError({"maturity": _("Choose a maturity level from 0 to 4")}) from None
    return (
        maturity,
        request.POST.get(prefix + "narrative", "").strip(),
        request.POST.getlist(prefix + "evidence"),
    )


@require_http_methods(["GET", "POST"])
def principle_page(request: TenantRequest, org_slug: str, assessment_id: Any, number: int) -> HttpResponse:
    membership = require(request, "view_dashboard")
    assessment = selectors.get_assessment_for(membership, assessment_id)
    principles, principle = _principles(assessment, number)
    responses = selectors.principle_responses(assessment, principle)
    can_edit = membership.can("edit_content") and assessment.is_editable
    errors: dict[Any, str] = {}
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        saved = 0
        confirm = request.POST.get("confirm", "")
        for response in responses:
            try:
                maturity, narrative, evidence = _response_values(request, response)
                result = services.response_save(
                    response=response,
                    actor=request.user,
                    maturity=maturity,
                    narrative=narrative,
                    evidence_ids=evidence,
                )
                saved += result.changed
            except ValidationError as exc:
                errors[response.pk] = " ".join(exc.messages)
        if not errors and (confirm or "confirm_all" in request.POST):
            return _confirm(request, assessment, principle, responses, confirm)
        if not errors:
            messages.success(request, _("Your answers for %(title)s have been saved.") % {"title": principle.title})
            if "next" in request.POST and number < 6:
                return redirect(
                    "assessments:principle", org_slug=org_slug, assessment_id=assessment.pk, number=number + 1
                )
            if "next" in request.POST:
                return redirect("assessments:overview", org_slug=org_slug, assessment_id=assessment.pk)
            return redirect(request.path)
        responses = selectors.principle_responses(assessment, principle)
    library = selectors.evidence_to_cite(request.organisation) if can_edit else []
    # Reached from "Check and send" (?check=1): each criterion that stops sending says why at its field.
    problems = (
        {p.response.pk: p for r in responses if (p := services.response_problem(r)) is not None}
        if can_edit and request.GET.get("check") and not errors
        else {}
    )
    comments = selectors.comments_by_anchor(assessment, "assessment")
    for response in responses:
        response.comments = comments.get(response.criterion.code, [])  # type: ignore[attr-defined]
        # Which files of the library each criterion cites, looked up once (the page ticks one box per
        # file per criterion).
        response.cited_ids = {c.evidence_id for c in response.citations.all()}  # type: ignore[attr-defined]
    return render(
        request,
        "assessments/principle.html",
        {
            "assessment": assessment,
            "principle": principle,
            "responses": responses,
            "can_edit": can_edit,
            "evidence_library": library,
            "levels": assessment.framework.maturity_levels,
            "errors": errors,
            "problems": problems,
            "principles": principles,
            "today": timezone.localdate(),
            "can_comment": membership.can("comment") and assessment.status != "final",
            "can_resolve": membership.can("comment"),
            "kind": "assessment",
            "to_confirm": sum(1 for r in responses if r.awaiting_confirmation),
            # Cited files, for readers: their pages for those who browse the library, their downloads
            # as services.evidence_download_allow will let them.
            "can_open_evidence": membership.can("view_evidence_library"),
            "can_download_evidence": services.evidence_downloadable_from(membership=membership, assessment=assessment),
        },
        status=400 if errors else 200,
    )


def _confirm(
    request: TenantRequest, assessment: Any, principle: Principle, responses: list[Response], confirm: str
) -> HttpResponse:
    """After the page's answers are saved (nothing typed is lost): confirm one carried-over answer as it
    stands ("confirm" names its response), or every one left in the principle ("confirm_all")."""
    if "confirm_all" in request.POST:
        count = services.responses_confirm(assessment=assessment, actor=request.user, principle_number=principle.number)
        messages.success(
            request,
            ngettext(
                "%(n)s answer carried over in %(title)s has been confirmed.",
                "%(n)s answers carried over in %(title)s have been confirmed.",
                count,
            )
            % {"n": count, "title": principle.title},
        )
        return redirect(request.path)
    response = next((r for r in responses if str(r.pk) == confirm), None)
    if response is None:
        raise Http404
    services.response_confirm(response=response, actor=request.user)
    messages.success(request, _("The answer to %(code)s has been confirmed.") % {"code": response.criterion.code})
    return redirect(f"{request.path}#{response.criterion.anchor}")


@require_POST
def response_autosave(request: TenantRequest, org_slug: str, assessment_id: Any, response_id: Any) -> HttpResponse:
    """htmx: save one criterion and answer with its status line."""
    membership = require(request, "edit_content")
    assessment = selectors.get_assessment_for(membership, assessment_id)
    response = get_object_or_404(
        Response.objects.select_related("criterion", "assessment"), assessment=assessment, pk=response_id
    )
    try:
        maturity, narrative, evidence = _response_values(request, response)
        services.response_save(
            response=response,
            actor=request.user,
            maturity=maturity,
            narrative=narrative,
            evidence_ids=evidence,
        )
    except ValidationError as exc:
        return render(request, "assessments/_autosave_status.html", {"error": " ".join(exc.messages)}, status=422)
    return render(request, "assessments/_autosave_status.html", {"saved_at": timezone.localtime()})


@require_http_methods(["GET", "POST"])
def assessment_submit(request: TenantRequest, org_slug: str, assessment_id: Any) -> HttpResponse:
    """Check your answers, then send to workforce review."""
    membership = require(request, "edit_content")
    assessment = selectors.get_assessment_for(membership, assessment_id)
    if not assessment.is_editable:
        messages.info(request, _("This assessment has already been submitted."))
        return redirect("assessments:overview", org_slug=org_slug, assessment_id=assessment.pk)
    rows = response_rows(request.organisation.pk, [assessment.pk], timezone.localdate())
    problems = services.row_problems(rows)
    reps = [
        m
        for m in Membership.objects.filter(organisation=request.organisation, role="workforce_rep").select_related(
            "user"
        )
        if m.is_active()
    ]
    if request.method == "POST" and not problems:
        try:
            notified = services.assessment_submit(assessment=assessment, actor=request.user)
        except ValidationError:
            rows = response_rows(request.organisation.pk, [assessment.pk], timezone.localdate())
            problems = services.row_problems(rows)
        else:
            if notified:
                messages.success(
                    request,
                    ngettext(
                        "%(title)s has been sent for workforce review. %(n)s representative has been emailed.",
                        "%(title)s has been sent for workforce review. %(n)s representatives have been emailed.",
                        len(notified),
                    )
                    % {"title": assessment.title, "n": len(notified)},
                )
            else:
                messages.warning(
                    request,
                    _(
                        "%(title)s is in workforce review, but the organisation has no workforce representative "
                        "to email. Invite one from the Members page."
                    )
                    % {"title": assessment.title},
                )
            return redirect("assessments:overview", org_slug=org_slug, assessment_id=assessment.pk)
    progress = selectors.progress_of(assessment, rows)
    return render(
        request,
        "assessments/submit.html",
        {
            "assessment": assessment,
            "problems": problems,
            "reps": reps,
            "progress": progress,
            "tried": request.method == "POST",
        },
        status=400 if request.method == "POST" and problems else 200,
    )


# --- Action items ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def action_create(request: TenantRequest, org_slug: str, assessment_id: Any, response_id: Any) -> HttpResponse:
    membership = require(request, "edit_content")
    assessment = selectors.get_assessment_for(membership, assessment_id)
    response = get_object_or_404(
        Response.objects.select_related("criterion__principle"), assessment=assessment, pk=response_id
    )
    form = ActionItemForm(request.POST or None, members=_members(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.action_item_create(response=response, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Action added to %(code)s.") % {"code": response.criterion.code})
            return redirect(_criterion_url(org_slug, assessment, response))
    return render(
        request,
        "assessments/action_form.html",
        {"form": form, "assessment": assessment, "response": response},
    )


def _criterion_url(org_slug: str, assessment: Any, response: Any) -> str:
    return (
        reverse(
            "assessments:principle",
            kwargs={
                "org_slug": org_slug,
                "assessment_id": assessment.pk,
                "number": response.criterion.principle.number,
            },
        )
        + "#"
        + response.criterion.anchor
    )


def _action(request: TenantRequest, assessment: Any, action_id: Any) -> ActionItem:
    return get_object_or_404(
        ActionItem.objects.select_related("response__criterion__principle", "owner"),
        assessment=assessment,
        pk=action_id,
    )


@require_http_methods(["GET", "POST"])
def action_edit(request: TenantRequest, org_slug: str, assessment_id: Any, action_id: Any) -> HttpResponse:
    membership = require(request, "edit_content")
    assessment = selectors.get_assessment_for(membership, assessment_id)
    item = _action(request, assessment, action_id)
    form = ActionItemForm(request.POST or None, instance=item, members=_members(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.action_item_update(
                item=ActionItem.objects.get(pk=item.pk), actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The action has been updated."))
            return redirect(_criterion_url(org_slug, assessment, item.response))
    return render(
        request,
        "assessments/action_form.html",
        {"form": form, "assessment": assessment, "response": item.response, "item": item},
    )


@require_http_methods(["GET", "POST"])
def action_delete(request: TenantRequest, org_slug: str, assessment_id: Any, action_id: Any) -> HttpResponse:
    membership = require(request, "edit_content")
    assessment = selectors.get_assessment_for(membership, assessment_id)
    item = _action(request, assessment, action_id)
    if request.method == "POST":
        services.action_item_delete(item=item, actor=request.user)
        messages.success(request, _("The action “%(title)s” has been deleted.") % {"title": item.title})
        return redirect(_criterion_url(org_slug, assessment, item.response))
    return render(request, "assessments/action_delete.html", {"assessment": assessment, "item": item})


# --- Evidence library -----------------------------------------------------------------------


@require_GET
def evidence_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = require(request, "view_evidence_library")
    search = request.GET.get("q", "").strip()[:200]
    page = Paginator(selectors.evidence_library(request.organisation, search=search), EVIDENCE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "assessments/evidence_list.html",
        {
            "page": page,
            "search": search,
            "query": f"q={search}" if search else "",
            "can_edit": membership.can("edit_content"),
            "today": timezone.localdate(),
        },
    )


def _citing_response(request: TenantRequest) -> Response | None:
    """The answer an upload was started from ("Upload evidence for criterion 4.1"), while it can still
    be changed; None for an upload into the library alone."""
    try:
        response_id = uuid.UUID(request.GET.get("response", ""))
    except ValueError:
        return None
    response = (
        Response.objects.select_related("assessment", "criterion__principle")
        .filter(organisation=request.organisation, pk=response_id)
        .first()
    )
    return response if response is not None and response.assessment.is_editable else None


@require_http_methods(["GET", "POST"])
def evidence_upload(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "edit_content")
    form = EvidenceForm(request.POST or None, request.FILES or None)
    citing = _citing_response(request)
    next_url = request.GET.get("next", "")
    if citing is not None:
        next_url = _criterion_url(org_slug, citing.assessment, citing)
    elif not next_url.startswith(f"/o/{org_slug}/"):
        next_url = ""  # only ever back into this organisation: no open redirects
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            evidence = services.evidence_upload(
                organisation=request.organisation,
                actor=request.user,
                file=upload,
                name=upload.name,
                description=form.cleaned_data["description"],
                effective_date=form.cleaned_data["effective_date"],
                expiry_date=form.cleaned_data["expiry_date"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            _uploaded(request, evidence, citing)
            return redirect(next_url or reverse("assessments:evidence_list", kwargs={"org_slug": org_slug}))
    return render(
        request,
        "assessments/evidence_upload.html",
        {
            "form": form,
            "next": next_url,
            "citing": citing,
            "max_mb": settings.EVIDENCE_MAX_BYTES // (1024 * 1024),
        },
    )


def _uploaded(request: TenantRequest, evidence: Evidence, citing: Response | None) -> None:
    """Say what became of the file, citing it on the answer it was uploaded for."""
    names = {"name": evidence.original_name}
    if citing is None:
        messages.success(request, _("%(name)s has been added to the evidence library.") % names)
        return
    names["code"] = citing.criterion.code
    try:
        services.response_cite(response=citing, evidence=evidence, actor=request.user)
    except ValidationError as exc:  # sent for review or signed since the page was opened
        messages.warning(
            request,
            _("%(name)s has been added to the evidence library, but not cited on %(code)s: %(reason)s")
            % {**names, "reason": " ".join(exc.messages)},
        )
    else:
        messages.success(request, _("%(name)s has been added to the evidence library and cited on %(code)s.") % names)


def _evidence(request: TenantRequest, evidence_id: Any) -> Evidence:
    return get_object_or_404(
        Evidence.objects.select_related("uploaded_by"), organisation=request.organisation, pk=evidence_id
    )


@require_GET
def evidence_detail(request: TenantRequest, org_slug: str, evidence_id: Any) -> HttpResponse:
    membership = require(request, "view_evidence_library")
    evidence = _evidence(request, evidence_id)
    citations = list(
        Response.objects.filter(citations__evidence=evidence)
        .select_related("criterion__principle", "assessment")
        .order_by("assessment__created_at", "criterion__principle__number", "criterion__position")
    )
    return render(
        request,
        "assessments/evidence_detail.html",
        {
            "evidence": evidence,
            "citations": citations,
            "locked_by": services.evidence_locked_by(evidence),
            "can_edit": membership.can("edit_content"),
            "today": timezone.localdate(),
        },
    )


@require_GET
def evidence_download(request: TenantRequest, org_slug: str, evidence_id: Any) -> FileResponse:
    membership = require(request, "download_evidence")
    evidence = _evidence(request, evidence_id)
    services.evidence_download_allow(membership=membership, evidence=evidence, actor=request.user)
    return services.evidence_file_response(evidence)


@require_http_methods(["GET", "POST"])
def evidence_delete(request: TenantRequest, org_slug: str, evidence_id: Any) -> HttpResponse:
    require(request, "edit_content")
    evidence = _evidence(request, evidence_id)
    error = None
    if request.method == "POST":
        try:
            services.evidence_delete(evidence=evidence, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("%(name)s has been deleted.") % {"name": evidence.original_name})
            return redirect("assessments:evidence_list", org_slug=org_slug)
    citation_count = evidence.citations.count()
    return render(
        request,
        "assessments/evidence_delete.html",
        {
            "evidence": evidence,
            "error": error,
            "citation_count": citation_count,
            "locked_by": services.evidence_locked_by(evidence),
        },
        status=400 if error else 200,
    )
