"""Technology register and new technology agreement pages: the register (search, filter, pages), each
system with its clocks, DPIA and links, notice, deletion; the agreement with its versions, drafting,
adapting its clauses and signing. The rules are assessments/technology.py's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assessments import technology, workflow
from assessments.models import (
    AgreementClause,
    AgreementStatus,
    AssessmentStatus,
    Evidence,
    Plan,
    SystemStatus,
    TechnologyAgreement,
    TechnologySystem,
)
from assessments.technology_forms import (
    AgreementCreateForm,
    AgreementForm,
    AgreementSignForm,
    LinksForm,
    NoticeForm,
    SystemForm,
)
from portal.forms import apply_errors
from portal.models import Membership, Signature, SignatureCapacity
from portal.roles import Role
from portal.signing import signing_context, snapshot_hash
from portal.tenancy import TenantRequest, require
from principles.models import Criterion, Framework

PER_PAGE = 50


def _system(request: TenantRequest, system_id: Any) -> TechnologySystem:
    system = get_object_or_404(TechnologySystem, organisation=request.organisation, pk=system_id)
    system.organisation = request.organisation  # already loaded: the rules read it without a query
    return system


def _sees_plan(membership: Membership, plan: Plan) -> bool:
    """Auditors see finalised work only (assessments.selectors.visible_plans)."""
    return membership.role != Role.AUDITOR or plan.status == AssessmentStatus.FINAL


# --- The register -------------------------------------------------------------------------------------


@require_GET
def system_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = require(request, "view_dashboard")
    search = request.GET.get("q", "").strip()[:200]
    status = request.GET.get("status", "")
    if status not in SystemStatus.values:
        status = ""
    systems = technology.register_rows(request.organisation, search=search, status=status)
    page = Paginator(systems, PER_PAGE).get_page(request.GET.get("page"))
    found = list(page.object_list)
    latest: dict[Any, Plan] = {}
    if found:
        # The latest DPIA of each system on the page, in one query.
        dpias = Plan.objects.filter(organisation=request.organisation, system__in=found).only(
            "id", "organisation_id", "system_id", "status", "version", "created_at"
        )
        for plan in dpias.order_by("system_id", "-version", "-created_at"):
            latest.setdefault(plan.system_id, plan)
    rows = [
        {
            "system": system,
            "dpia_state": technology.dpia_state(latest.get(system.pk), system.processes_worker_data),
        }
        for system in found
    ]
    query = urlencode({k: v for k, v in (("q", search), ("status", status)) if v})
    return render(
        request,
        "technology/list.html",
        {
            "page": page,
            "rows": rows,
            "search": search,
            "status": status,
            "statuses": SystemStatus.choices,
            "query": query,
            "filtered": bool(search or status),
            "can_edit": membership.can("edit_content"),
            "today": timezone.localdate(),
        },
    )


def _system_form_page(request: TenantRequest, org_slug: str, system: TechnologySystem | None) -> HttpResponse:
    initial = SystemForm.initial_from(system) if system is not None else None
    form = SystemForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if system is None:
                saved = technology.system_create(
                    organisation=request.organisation, actor=request.user, values=form.values()
                )
            else:
                saved = technology.system_update(system=system, actor=request.user, values=form.values())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                (_("%(name)s is in the register.") if system is None else _("%(name)s has been saved."))
                % {"name": saved.name},
            )
            return redirect("assessments:technology_system", org_slug=org_slug, system_id=saved.pk)
    return render(request, "technology/system_form.html", {"form": form, "system": system})


@require_http_methods(["GET", "POST"])
def system_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "edit_content")
    return _system_form_page(request, org_slug, None)


@require_http_methods(["GET", "POST"])
def system_edit(request: TenantRequest, org_slug: str, system_id: Any) -> HttpResponse:
    require(request, "edit_content")
    return _system_form_page(request, org_slug, _system(request, system_id))


@require_GET
def system_detail(request: TenantRequest, org_slug: str, system_id: Any) -> HttpResponse:
    membership = require(request, "view_dashboard")
    system = _system(request, system_id)
    dpia = technology.latest_dpia(system)
    agreement = technology.agreement_in_force(request.organisation)
    clocks = technology.system_clocks(system, agreement)
    links = technology.system_links(system)
    can_edit = membership.can("edit_content")
    return render(
        request,
        "technology/system.html",
        {
            "system": system,
            "dpia": dpia,
            "dpia_state": technology.dpia_state(dpia, system.processes_worker_data),
            "can_open_dpia": dpia is not None and _sees_plan(membership, dpia),
            "can_start_dpia": can_edit and dpia is None and system.processes_worker_data,
            "agreement": agreement,
            "clocks": clocks,
            "breaches": [c for c in clocks if c.is_breach],
            "links": links,
            "visible_plans": {p.pk for p in links["plans"] if _sees_plan(membership, p)},
            "can_open_evidence": membership.can("view_evidence_library"),
            "can_edit": can_edit,
        },
    )


@require_http_methods(["GET", "POST"])
def system_notice(request: TenantRequest, org_slug: str, system_id: Any) -> HttpResponse:
    require(request, "edit_content")
    system = _system(request, system_id)
    form = NoticeForm(
        request.POST or None,
        initial={"notice_given_on": system.notice_given_on, "committee_met_on": system.committee_met_on},
    )
    if request.method == "POST" and form.is_valid():
        try:
            technology.notice_record(system=system, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The notice for %(name)s is recorded.") % {"name": system.name})
            return redirect("assessments:technology_system", org_slug=org_slug, system_id=system.pk)
    return render(request, "technology/notice.html", {"form": form, "system": system})


def _criteria() -> list[Criterion]:
    """The criteria of the newest framework, as `technology.links_set` accepts their codes."""
    newest = Framework.objects.order_by("-version").values("pk")[:1]
    return list(Criterion.objects.filter(framework__in=newest).order_by("principle__number", "position"))


@require_http_methods(["GET", "POST"])
def system_links(request: TenantRequest, org_slug: str, system_id: Any) -> HttpResponse:
    require(request, "edit_content")
    system = _system(request, system_id)
    current = technology.system_links(system)
    plans = Plan.objects.filter(organisation=request.organisation).order_by("title", "version")
    evidence = Evidence.objects.filter(organisation=request.organisation).order_by("original_name", "pk")
    form = LinksForm(
        request.POST or None,
        initial={
            "plans": [str(p.pk) for p in current["plans"]],
            "criteria": [c.code for c in current["criteria"]],
            "evidence": [str(e.pk) for e in current["evidence"]],
        },
        plans=[
            (str(p.pk), _("%(title)s (version %(n)d)") % {"title": p.title, "n": p.version})
            for p in plans
            if p.system_id != system.pk  # its own DPIA is already shown with it
        ],
        criteria=[(c.code, f"{c.code} {c.title}") for c in _criteria()],
        evidence=[(str(e.pk), e.original_name) for e in evidence],
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            technology.links_set(
                system=system,
                actor=request.user,
                plan_ids=data.get("plans", []),
                criterion_codes=data.get("criteria", []),
                evidence_ids=data.get("evidence", []),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("What %(name)s is linked to has been saved.") % {"name": system.name})
            return redirect("assessments:technology_system", org_slug=org_slug, system_id=system.pk)
    return render(request, "technology/links.html", {"form": form, "system": system})


@require_http_methods(["GET", "POST"])
def system_delete(request: TenantRequest, org_slug: str, system_id: Any) -> HttpResponse:
    require(request, "edit_content")
    system = _system(request, system_id)
    error = None
    if request.method == "POST":
        try:
            technology.system_delete(system=system, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("%(name)s has been removed from the register.") % {"name": system.name})
            return redirect("assessments:technology", org_slug=org_slug)
    return render(
        request,
        "technology/delete.html",
        {"system": system, "has_dpia": technology.latest_dpia(system) is not None, "error": error},
        status=400 if error else 200,
    )


@require_POST
def system_dpia(request: TenantRequest, org_slug: str, system_id: Any) -> HttpResponse:
    require(request, "edit_content")
    system = _system(request, system_id)
    try:
        plan = technology.dpia_start(system=system, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("assessments:technology_system", org_slug=org_slug, system_id=system.pk)
    messages.success(
        request,
        _(
            "The data-protection impact assessment of %(name)s has started from what the register says. Complete "
            "each section; the representatives record the workforce's views."
        )
        % {"name": system.name},
    )
    return redirect("assessments:plan", org_slug=org_slug, plan_id=plan.pk)


# --- The agreement -----------------------------------------------------------------------------------


def _agreement(request: TenantRequest, agreement_id: Any) -> TechnologyAgreement:
    agreement = get_object_or_404(TechnologyAgreement, organisation=request.organisation, pk=agreement_id)
    agreement.organisation = request.organisation
    return agreement


def _draft_only(request: TenantRequest, org_slug: str, agreement: TechnologyAgreement) -> HttpResponse | None:
    if agreement.status == AgreementStatus.DRAFT:
        return None
    messages.info(request, _("Only a draft agreement can be changed, signed or deleted. Start a new version instead."))
    return redirect("assessments:technology_agreement", org_slug=org_slug)


def _wording(clauses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A snapshot's clauses as they read, "{days}" replaced by the period (as AgreementClause.wording)."""
    return [
        {**c, "wording": c["text"].replace("{days}", str(c["days"]) if c["days"] is not None else "")} for c in clauses
    ]


@require_GET
def agreement_page(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = require(request, "view_dashboard")
    agreements = TechnologyAgreement.objects.filter(organisation=request.organisation).order_by("-version")
    if membership.role == Role.AUDITOR:
        agreements = agreements.exclude(status=AgreementStatus.DRAFT)  # signed work only
    found = list(
        agreements.prefetch_related(
            Prefetch("clauses", queryset=AgreementClause.objects.order_by("position"), to_attr="clauses_in_order")
        )
    )
    by_subject: dict[Any, list[Signature]] = {a.pk: [] for a in found}
    if found:
        for signature in (
            Signature.objects.filter(
                organisation=request.organisation, subject_type="agreement", subject_id__in=list(by_subject)
            )
            .defer("snapshot")
            .order_by("signed_at")
        ):
            by_subject[signature.subject_id].append(signature)
    draft = next((a for a in found if a.status == AgreementStatus.DRAFT), None)
    in_force = next((a for a in found if a.status == AgreementStatus.IN_FORCE), None)
    older = [a for a in found if a.status == AgreementStatus.SUPERSEDED]
    for agreement in found:
        current = (
            technology.agreement_hash(agreement)
            if agreement.status == AgreementStatus.DRAFT
            else agreement.content_hash
        )
        signed = technology.current_signatures(agreement, by_subject[agreement.pk], current)
        agreement.management = signed[SignatureCapacity.MANAGEMENT]  # type: ignore[attr-defined]
        agreement.workforce = signed[SignatureCapacity.WORKFORCE]  # type: ignore[attr-defined]
        agreement.sides = [  # type: ignore[attr-defined]
            (_("Management"), agreement.management),  # type: ignore[attr-defined]
            (_("Workforce representatives"), agreement.workforce),  # type: ignore[attr-defined]
        ]
        agreement.stale_signatures = len(by_subject[agreement.pk]) - sum(  # type: ignore[attr-defined]
            1 for s in signed.values() if s is not None
        )
    capacity = workflow.capacity_for(membership)
    can_negotiate = membership.can("negotiate_agreement")
    return render(
        request,
        "technology/agreement.html",
        {
            "draft": draft,
            "in_force": in_force,
            "older": older,
            "capacity": capacity,
            "can_sign": draft is not None
            and capacity is not None
            and getattr(draft, "management" if capacity == SignatureCapacity.MANAGEMENT else "workforce") is None,
            "can_negotiate": can_negotiate,
        },
    )


@require_http_methods(["GET", "POST"])
def agreement_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "negotiate_agreement")
    if technology.agreement_draft(request.organisation) is not None:
        messages.info(request, _("A draft agreement already exists: change it, or delete it first."))
        return redirect("assessments:technology_agreement", org_slug=org_slug)
    in_force = technology.agreement_in_force(request.organisation)
    initial = {"title": in_force.title} if in_force is not None else None
    form = AgreementCreateForm(request.POST or None, initial=initial, copying=in_force is not None)
    if request.method == "POST" and form.is_valid():
        try:
            agreement = technology.agreement_create(
                organisation=request.organisation,
                actor=request.user,
                title=form.cleaned_data["title"],
                clause_keys=None if in_force is not None else list(form.cleaned_data["clauses"]),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Version %(n)d is drafted. Adapt its clauses with the other side, then both sides sign it.")
                % {"n": agreement.version},
            )
            return redirect("assessments:technology_agreement_edit", org_slug=org_slug, agreement_id=agreement.pk)
    return render(request, "technology/agreement_create.html", {"form": form, "in_force": in_force})


@require_http_methods(["GET", "POST"])
def agreement_edit(request: TenantRequest, org_slug: str, agreement_id: Any) -> HttpResponse:
    require(request, "negotiate_agreement")
    agreement = _agreement(request, agreement_id)
    if (refused := _draft_only(request, org_slug, agreement)) is not None:
        return refused
    clauses = list(AgreementClause.objects.filter(agreement=agreement).order_by("position"))
    form = AgreementForm(request.POST or None, initial={"title": agreement.title}, clauses=clauses)
    if request.method == "POST" and form.is_valid():
        had_signatures = any(technology.current_signatures(agreement).values())
        inputs, rows = form.clause_inputs()
        try:
            saved = technology.agreement_update(
                agreement=agreement, actor=request.user, title=form.cleaned_data["title"], clauses=inputs
            )
        except ValidationError as exc:
            form.apply_service_errors(exc, rows)
        else:
            voided = had_signatures and not any(technology.current_signatures(saved).values())
            messages.success(
                request,
                _("The draft is saved. The signatures given before no longer match it: both sides sign again.")
                if voided
                else _("The draft is saved."),
            )
            return redirect("assessments:technology_agreement", org_slug=org_slug)
    return render(
        request,
        "technology/agreement_form.html",
        {"form": form, "agreement": agreement, "rows": form.clause_rows()},
    )


@require_http_methods(["GET", "POST"])
def agreement_sign(request: TenantRequest, org_slug: str, agreement_id: Any) -> HttpResponse:
    membership = require(request, "view_dashboard")
    capacity = workflow.capacity_for(membership)
    if capacity is None:
        raise PermissionDenied
    agreement = _agreement(request, agreement_id)
    if (refused := _draft_only(request, org_slug, agreement)) is not None:
        return refused
    snapshot = technology.agreement_snapshot(agreement)
    content_hash = snapshot_hash(snapshot)
    signed = technology.current_signatures(agreement, technology.agreement_signatures(agreement), content_hash)
    if signed[capacity] is not None:
        messages.info(request, _("Your side has already signed these words."))
        return redirect("assessments:technology_agreement", org_slug=org_slug)
    form = AgreementSignForm(request.POST or None, initial={"typed_name": request.user.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            technology.agreement_sign(
                agreement=agreement,
                signer=request.user,
                capacity=capacity,
                expected_hash=request.POST.get("content_hash", ""),
                context=signing_context(request),
                **form.cleaned_data,
            )
        except ValidationError as exc:
            if exc.code == "content_changed":
                form.add_error(None, exc.messages[0])
            else:
                apply_errors(form, exc)
        else:
            if agreement.status == AgreementStatus.IN_FORCE:
                messages.success(
                    request,
                    _(
                        "Both sides have signed: the agreement is in force from today. Its periods now set the "
                        "clocks on every system in the register."
                    ),
                )
            else:
                messages.success(
                    request,
                    _("Your signature is recorded. The agreement comes into force when the other side signs it."),
                )
            return redirect("assessments:technology_agreement", org_slug=org_slug)
    return render(
        request,
        "technology/agreement_sign.html",
        {
            "form": form,
            "agreement": agreement,
            "clauses": _wording(snapshot["clauses"]),
            "content_hash": content_hash,
            "capacity": capacity,
            "other_side": signed[
                SignatureCapacity.WORKFORCE
                if capacity == SignatureCapacity.MANAGEMENT
                else SignatureCapacity.MANAGEMENT
            ],
            "statement": technology.signing_statement(agreement, capacity),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
def agreement_delete(request: TenantRequest, org_slug: str, agreement_id: Any) -> HttpResponse:
    require(request, "negotiate_agreement")
    agreement = _agreement(request, agreement_id)
    if (refused := _draft_only(request, org_slug, agreement)) is not None:
        return refused
    if request.method == "POST":
        try:
            technology.agreement_delete(agreement=agreement, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The draft agreement has been deleted."))
        return redirect("assessments:technology_agreement", org_slug=org_slug)
    clause_count = AgreementClause.objects.filter(agreement=agreement).count()
    return render(request, "technology/agreement_delete.html", {"agreement": agreement, "clause_count": clause_count})
