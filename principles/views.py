"""The public framework page and the organisation's commitment pages."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_scopes import scope

from portal.dashboard import cached_per_organisation
from portal.signing import signing_context, snapshot_hash
from portal.tenancy import TenantRequest, require
from principles import services
from principles.forms import CommitmentForm, ReaffirmForm, WithdrawForm
from principles.framework import current_framework, principles_with_criteria
from principles.models import Commitment, Framework

_SESSION_KEY = "commitment_draft"


@require_GET
def framework_detail(request: HttpRequest, code: str | None = None, version: int | None = None) -> HttpResponse:
    if code is None or version is None:
        framework = current_framework()
    else:
        framework = Framework.objects.filter(code=code, version=version).first()
    if framework is None:
        raise Http404
    versions = list(Framework.objects.filter(code=framework.code).order_by("-version").values("version", "loaded_at"))
    principles = principles_with_criteria(framework)
    return render(
        request,
        "principles/framework.html",
        {
            "framework": framework,
            "principles": principles,
            "versions": versions,
            # Counted from the prefetched criteria, not with another query.
            "criteria_count": sum(len(principle.criteria.all()) for principle in principles),
        },
    )


@require_GET
def commitment(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = require(request, "view_dashboard")
    organisation = request.organisation

    def build() -> str:
        history = list(
            Commitment.objects.filter(organisation=organisation)
            .select_related("framework", "signature", "withdrawn_by")
            .order_by("-signed_at")
        )
        active = next((c for c in history if c.status == "active"), None)
        by_reaffirmed = {c.reaffirms_id: c for c in history if c.reaffirms_id}
        for c in history:  # when each reaffirmed one was signed again, without a query per commitment
            c.reaffirmed_on = by_reaffirmed[c.pk].signed_at if c.pk in by_reaffirmed else None  # type: ignore[attr-defined]
        return render_to_string(
            "principles/_commitment.html",
            {
                "commitment": active,
                "history": [c for c in history if c is not active],
                "can_sign": membership.can("sign_commitment"),
                "framework": current_framework(),
                "reaffirm_open": active is not None and active.reaffirmation_open(),
            },
            request=request,
        )

    # Kept per organisation version, role and date like the dashboard's panels: every signature,
    # reaffirmation and withdrawal is audited, and "reaffirm by" opens with the date.
    return render(
        request, "principles/commitment.html", {"content_html": cached_per_organisation(request, "commitment", build)}
    )


def _framework_or_404() -> Framework:
    framework = current_framework()
    if framework is None:
        raise Http404
    return framework


@require_http_methods(["GET", "POST"])
def commitment_sign(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "sign_commitment")
    organisation = request.organisation
    if services.active_commitment(organisation):
        messages.info(request, _("%(org)s has already signed the commitment.") % {"org": organisation.name})
        return redirect("principles:commitment", org_slug=org_slug)
    framework = _framework_or_404()
    initial = request.session.get(_SESSION_KEY, {}).get(str(organisation.pk)) or {"typed_name": request.user.full_name}
    form = CommitmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        drafts = request.session.get(_SESSION_KEY, {})
        drafts[str(organisation.pk)] = form.cleaned_data
        request.session[_SESSION_KEY] = drafts
        return redirect("principles:commitment_confirm", org_slug=org_slug)
    return render(
        request,
        "principles/commitment_sign.html",
        {"form": form, "framework": framework, "principles": framework.data["principles"]},
    )


@require_http_methods(["GET", "POST"])
def commitment_confirm(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Check your answers: exactly what will be signed, and its fingerprint."""
    require(request, "sign_commitment")
    organisation = request.organisation
    draft = request.session.get(_SESSION_KEY, {}).get(str(organisation.pk))
    if not draft:
        return redirect("principles:commitment_sign", org_slug=org_slug)
    framework = _framework_or_404()
    statement = services.commitment_statement(
        organisation=organisation,
        framework=framework,
        extends_to_supply_chain=draft["extends_to_supply_chain"],
    )
    snapshot = services.commitment_snapshot(
        organisation=organisation,
        framework=framework,
        statement=statement,
        extends_to_supply_chain=draft["extends_to_supply_chain"],
        typed_name=draft["typed_name"],
        job_title=draft["job_title"],
    )
    content_hash = snapshot_hash(snapshot)
    error = None
    if request.method == "POST":
        try:
            services.commitment_sign(
                organisation=organisation,
                framework=framework,
                signer=request.user,
                typed_name=draft["typed_name"],
                job_title=draft["job_title"],
                extends_to_supply_chain=draft["extends_to_supply_chain"],
                expected_hash=request.POST.get("content_hash", ""),
                context=signing_context(request),
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            request.session[_SESSION_KEY].pop(str(organisation.pk), None)
            request.session.modified = True
            messages.success(
                request,
                _("%(org)s is committed to the Made Smarter Guiding Principles. Next, start a self-assessment.")
                % {"org": organisation.name},
            )
            return redirect("principles:commitment", org_slug=org_slug)
    return render(
        request,
        "principles/commitment_confirm.html",
        {
            "draft": draft,
            "statement": statement,
            "content_hash": content_hash,
            "framework": framework,
            "error": error,
        },
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def commitment_reaffirm(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Sign the commitment again, a year on, in one step: today's statement, then your name."""
    require(request, "sign_commitment")
    organisation = request.organisation
    active = services.active_commitment(organisation)
    if active is None:
        messages.info(request, _("%(org)s has no signed commitment to reaffirm.") % {"org": organisation.name})
        return redirect("principles:commitment", org_slug=org_slug)
    framework = _framework_or_404()
    statement = services.reaffirmation_statement(active, framework)
    previous = active.signature
    initial = {
        "typed_name": request.user.full_name,
        "job_title": previous.job_title if previous.signer_id == request.user.pk else "",
    }
    form = ReaffirmForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.commitment_sign(
                organisation=organisation,
                framework=framework,
                signer=request.user,
                typed_name=form.cleaned_data["typed_name"],
                job_title=form.cleaned_data["job_title"],
                extends_to_supply_chain=active.extends_to_supply_chain,
                expected_statement_hash=request.POST.get("statement_hash", ""),
                reaffirms=active,
                context=signing_context(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("%(org)s has reaffirmed its commitment to the principles for another year.")
                % {"org": organisation.name},
            )
            return redirect("principles:commitment", org_slug=org_slug)
    return render(
        request,
        "principles/commitment_reaffirm.html",
        {
            "form": form,
            "commitment": active,
            "statement": statement,
            "statement_hash": services.statement_hash(statement),
            "framework": framework,
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def commitment_withdraw(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "sign_commitment")
    with scope(organisation=request.organisation):
        active = get_object_or_404(Commitment, organisation=request.organisation, status="active")
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.commitment_withdraw(commitment=active, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The commitment has been withdrawn. The reason is recorded."))
            return redirect("principles:commitment", org_slug=org_slug)
    return render(request, "principles/commitment_withdraw.html", {"form": form, "commitment": active})
