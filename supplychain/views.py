"""Supply-chain pages: the register (CSV/XLSX import and export), campaigns and coverage, the supplier's side."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.forms import apply_errors
from portal.models import Membership
from portal.signing import signing_context
from portal.tenancy import AuthenticatedRequest, TenantRequest, require
from portal.xlsx import Sheet, write_xlsx, xlsx_response
from principles.framework import current_framework
from principles.services import active_commitments, commitment_statement
from supplychain import selectors, services
from supplychain.csv_io import COLUMNS, MAX_BYTES, TEMPLATE_CSV, TEMPLATE_ROWS, write_csv
from supplychain.forms import CampaignForm, DeclineForm, HeldAnswerForm, ImportForm, SupplierForm
from supplychain.models import Campaign, InvitationState, Supplier, SupplierImport, SupplierInvitation, SupplierLink

PER_PAGE = 50


def _require_supply_chain(request: TenantRequest) -> Membership:
    """Who sees the supply chain is `view_supply_chain` in portal.roles (not auditors, not members)."""
    return require(request, "view_supply_chain")


# --- Register -------------------------------------------------------------------------------


@require_GET
def supplier_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = _require_supply_chain(request)
    search = request.GET.get("q", "").strip()[:200]
    archived = request.GET.get("archived") == "1"
    page = Paginator(selectors.register(request.organisation, search=search, archived=archived), PER_PAGE).get_page(
        request.GET.get("page")
    )
    query = urlencode({k: v for k, v in (("q", search), ("archived", "1" if archived else "")) if v})
    return render(
        request,
        "supplychain/supplier_list.html",
        {
            "page": page,
            "search": search,
            "archived": archived,
            "query": query,
            "can_edit": membership.can("edit_content"),
        },
    )


@require_http_methods(["GET", "POST"])
def supplier_edit(request: TenantRequest, org_slug: str, supplier_id: Any = None) -> HttpResponse:
    require(request, "edit_content")
    supplier = get_object_or_404(Supplier, organisation=request.organisation, pk=supplier_id) if supplier_id else None
    form = SupplierForm(request.POST or None, instance=supplier)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.supplier_save(
                organisation=request.organisation, actor=request.user, supplier=supplier, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(name)s has been saved.") % {"name": saved.name})
            next_url = request.GET.get("next", "")
            if next_url.startswith(f"/o/{org_slug}/supply-chain/"):  # back to where the user came from, in this org
                return redirect(next_url)
            return redirect("supplychain:suppliers", org_slug=org_slug)
    return render(request, "supplychain/supplier_form.html", {"form": form, "supplier": supplier})


@require_http_methods(["GET", "POST"])
def supplier_archive(request: TenantRequest, org_slug: str, supplier_id: Any) -> HttpResponse:
    require(request, "edit_content")
    supplier = get_object_or_404(
        Supplier.objects.select_related("linked_organisation"), organisation=request.organisation, pk=supplier_id
    )
    if request.method == "POST":
        restore = supplier.archived_at is not None
        services.supplier_archive(supplier=supplier, actor=request.user, archived=not restore)
        messages.success(
            request,
            (
                _("%(name)s is back in your register.")
                if restore
                else _("%(name)s has been archived. It stays in past campaigns.")
            )
            % {"name": supplier.name},
        )
        return redirect("supplychain:suppliers", org_slug=org_slug)
    return render(request, "supplychain/supplier_archive.html", {"supplier": supplier})


@require_GET
def supplier_template(request: TenantRequest, org_slug: str) -> HttpResponse:
    _require_supply_chain(request)
    response = HttpResponse("\ufeff" + TEMPLATE_CSV, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="supplier-register-template.csv"'
    return response


@require_GET
def supplier_template_xlsx(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The import template as an Excel workbook: the same columns and example rows as the CSV one."""
    _require_supply_chain(request)
    data = write_xlsx([Sheet(_("Suppliers"), header=list(COLUMNS), rows=TEMPLATE_ROWS)])
    return xlsx_response(data, filename="supplier-register-template.xlsx")


def _register_rows(request: TenantRequest) -> list[list[object]]:
    """The register (not archived suppliers) in the import's columns, so an export imports back unchanged."""
    return [
        [s.name, s.contact_name, s.contact_email, s.company_number, s.country]
        for s in selectors.register(request.organisation)
    ]


@require_GET
def supplier_export(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The register as CSV, in the import's columns (importing it back adds nothing: every row is there)."""
    _require_supply_chain(request)
    response = HttpResponse(
        write_csv(header=list(COLUMNS), rows=_register_rows(request)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="supplier-register.csv"'
    return response


@require_GET
def supplier_export_xlsx(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The register as an Excel workbook: the same rows as `supplier_export`."""
    _require_supply_chain(request)
    data = write_xlsx([Sheet(_("Suppliers"), header=list(COLUMNS), rows=_register_rows(request))])
    return xlsx_response(data, filename="supplier-register.xlsx")


@require_http_methods(["GET", "POST"])
def supplier_import(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "edit_content")
    form = ImportForm(request.POST or None, request.FILES or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        pending, preview = services.import_preview(
            organisation=request.organisation,
            actor=request.user,
            data=upload.read(MAX_BYTES + 1),  # enough to know it is too big, never the whole of a huge file
            file_name=upload.name,
        )
        if pending is not None:
            return redirect("supplychain:import_preview", org_slug=org_slug, import_id=pending.pk)
        for problem in preview.file_errors:
            form.add_error("file", problem)
    return render(request, "supplychain/import.html", {"form": form, "preview": preview})


@require_http_methods(["GET", "POST"])
def import_preview(request: TenantRequest, org_slug: str, import_id: Any) -> HttpResponse:
    require(request, "edit_content")
    pending = get_object_or_404(SupplierImport, organisation=request.organisation, pk=import_id)
    if request.method == "POST":
        try:
            count = services.import_confirm(pending=pending, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                ngettext(
                    "%(n)s supplier has been added to your register.",
                    "%(n)s suppliers have been added to your register.",
                    count,
                )
                % {"n": count},
            )
        return redirect("supplychain:suppliers", org_slug=org_slug)
    return render(request, "supplychain/import_preview.html", {"pending": pending})


# --- Campaigns ------------------------------------------------------------------------------

_DRAFT = "campaign_draft"


@require_GET
def campaign_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = _require_supply_chain(request)
    campaigns = list(selectors.campaigns_of(request.organisation).order_by("-created_at"))
    return render(
        request,
        "supplychain/campaign_list.html",
        {
            "campaigns": campaigns,
            "can_edit": membership.can("edit_content"),
            "received": selectors.requests_received(request.organisation),
        },
    )


@require_http_methods(["GET", "POST"])
def campaign_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "edit_content")
    suppliers = list(selectors.register(request.organisation))
    draft = request.session.get(_DRAFT, {}).get(str(request.organisation.pk))
    initial = None
    chosen = request.POST.getlist("suppliers")
    if draft and request.method == "GET":  # "Change" on the check page keeps what was typed
        initial = {
            **draft,
            "reminder_days": ", ".join(str(d) for d in draft["reminder_days"]),
            "everyone": "all" if draft["supplier_ids"] is None else "chosen",
        }
        chosen = draft["supplier_ids"] or []
    form = CampaignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        everyone = form.cleaned_data["everyone"]
        if not everyone and not chosen:
            form.add_error(None, _("Choose at least one supplier, or ask every supplier in your register"))
        elif not suppliers:
            form.add_error(None, _("Your register has no suppliers yet. Add or import some first."))
        else:
            earlier = request.session.get(_DRAFT, {}).get(str(request.organisation.pk)) or {}
            draft = {
                **form.cleaned_data,
                "due_date": form.cleaned_data["due_date"].isoformat(),
                "supplier_ids": None if everyone else chosen,
                # A repeat, changed on the form, is still a repeat (with the link lifetime it had).
                **{k: earlier[k] for k in ("repeats", "invitation_ttl_days") if k in earlier},
            }
            request.session[_DRAFT] = {str(request.organisation.pk): draft}
            return redirect("supplychain:campaign_check", org_slug=org_slug)
    return render(request, "supplychain/campaign_form.html", {"form": form, "suppliers": suppliers, "chosen": chosen})


@require_http_methods(["GET", "POST"])
def campaign_check(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Check your answers before the emails go out."""
    require(request, "edit_content")
    draft = request.session.get(_DRAFT, {}).get(str(request.organisation.pk))
    if not draft:
        return redirect("supplychain:campaign_create", org_slug=org_slug)
    register = selectors.register(request.organisation)
    suppliers = list(register if draft["supplier_ids"] is None else register.filter(pk__in=draft["supplier_ids"]))
    repeats = None
    if draft.get("repeats"):
        repeats = selectors.campaigns_of(request.organisation).filter(pk=draft["repeats"]).first()
    if request.method == "POST":
        from datetime import date

        try:
            campaign = services.campaign_start(
                organisation=request.organisation,
                actor=request.user,
                title=draft["title"],
                message=draft["message"],
                depth=draft["depth"],
                due_date=date.fromisoformat(draft["due_date"]),
                supplier_ids=draft["supplier_ids"],
                reminder_days=draft["reminder_days"],
                reminders_muted=draft["reminders_muted"],
                invitation_ttl_days=draft.get("invitation_ttl_days", services.DEFAULT_INVITATION_TTL_DAYS),
                repeats=repeats,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("supplychain:campaign_create", org_slug=org_slug)
        request.session.pop(_DRAFT, None)
        messages.success(
            request,
            ngettext(
                "The campaign has started: %(n)s supplier is being emailed.",
                "The campaign has started: %(n)s suppliers are being emailed.",
                campaign.invitations.count(),
            )
            % {"n": campaign.invitations.count()},
        )
        return redirect("supplychain:campaign", org_slug=org_slug, campaign_id=campaign.pk)
    from datetime import date

    context = {"draft": draft, "due_date": date.fromisoformat(draft["due_date"]), "suppliers": suppliers}
    return render(request, "supplychain/campaign_check.html", {**context, "repeats": repeats})


@require_GET
def campaign_repeat(request: TenantRequest, org_slug: str, campaign_id: Any) -> HttpResponse:
    """ "Repeat this campaign": a new one pre-filled with the same suppliers and settings, on the check page."""
    require(request, "edit_content")
    campaign = get_object_or_404(selectors.campaigns_of(request.organisation), pk=campaign_id)
    request.session[_DRAFT] = {str(request.organisation.pk): selectors.repeat_draft(campaign)}
    return redirect("supplychain:campaign_check", org_slug=org_slug)


def _campaign_for_viewer(request: TenantRequest, campaign_id: Any) -> Campaign:
    """The campaign's owner, or a supplier that forwarded it, may see it (each its own part)."""
    return selectors.campaign_for_viewer(campaign_id, viewer=request.organisation)


@require_GET
def campaign_detail(request: TenantRequest, org_slug: str, campaign_id: Any) -> HttpResponse:
    membership = _require_supply_chain(request)
    campaign = _campaign_for_viewer(request, campaign_id)
    owner = campaign.organisation_id == request.organisation.pk
    rows = selectors.campaign_rows(campaign)  # one read of the whole campaign for the coverage and the tree
    return render(
        request,
        "supplychain/campaign_detail.html",
        {
            "campaign": campaign,
            "owner": owner,
            "coverage": selectors.campaign_coverage(campaign, rows=rows) if owner else None,
            "tree": selectors.campaign_tree(campaign, viewer=request.organisation, rows=rows),
            "can_edit": membership.can("edit_content"),
            "now": timezone.now(),
            "repeats": (
                selectors.campaigns_of(request.organisation).filter(pk=campaign.repeats_id).only("id", "title").first()
                if owner and campaign.repeats_id
                else None
            ),
        },
    )


_COVERAGE_HEADER = [
    "tier",
    "supplier",
    "contact_email",
    "company_number",
    "state",
    "answered_at",
    "decline_reason",
    "below_invited",
    "below_accepted",
    "below_declined",
    "below_pending",
    "below_expired",
]


def _coverage_rows(request: TenantRequest, campaign_id: Any) -> tuple[Campaign, list[list[object]]]:
    """The campaign's requests as the viewer may see them, one row each (answered_at a datetime)."""
    _require_supply_chain(request)
    campaign = _campaign_for_viewer(request, campaign_id)
    rows: list[list[object]] = []
    for node in selectors.campaign_tree(campaign, viewer=request.organisation):
        inv = node.invitation
        rows.append(
            [
                inv.tier,
                inv.supplier.name,
                inv.supplier.contact_email,
                inv.supplier.company_number,
                node.state,
                inv.responded_at,
                inv.decline_reason,
                node.below["invited"],
                node.below["accepted"],
                node.below["declined"],
                node.below["pending"],
                node.below["expired"],
            ]
        )
    return campaign, rows


@require_GET
def campaign_export(request: TenantRequest, org_slug: str, campaign_id: Any) -> HttpResponse:
    campaign, rows = _coverage_rows(request, campaign_id)
    # The CSV writes the answer's time as ISO 8601 text in UTC, as it always has.
    rows = [[value.isoformat() if isinstance(value, datetime) else value for value in row] for row in rows]
    text = write_csv(header=_COVERAGE_HEADER, rows=rows)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}.csv"'
    return response


@require_GET
def campaign_export_xlsx(request: TenantRequest, org_slug: str, campaign_id: Any) -> HttpResponse:
    """The coverage CSV's rows as an Excel workbook; answered_at is a date and time in UK time."""
    campaign, rows = _coverage_rows(request, campaign_id)
    data = write_xlsx([Sheet(_("Coverage"), header=_COVERAGE_HEADER, rows=rows)])
    return xlsx_response(data, filename=f"campaign-{campaign.pk}.xlsx")


def _own_invitation(request: TenantRequest, invitation_id: Any) -> SupplierInvitation:
    return get_object_or_404(
        selectors.invitations_sent(request.organisation).select_related("campaign", "supplier", "inviter"),
        pk=invitation_id,
    )


@require_POST
def invitation_resend(request: TenantRequest, org_slug: str, invitation_id: Any) -> HttpResponse:
    require(request, "edit_content")
    invitation = _own_invitation(request, invitation_id)
    try:
        services.invitation_resend(invitation=invitation, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("A new link has been sent to %(email)s.") % {"email": invitation.email})
    return redirect("supplychain:campaign", org_slug=org_slug, campaign_id=invitation.campaign_id)


@require_http_methods(["GET", "POST"])
def invitation_revoke(request: TenantRequest, org_slug: str, invitation_id: Any) -> HttpResponse:
    require(request, "edit_content")
    invitation = _own_invitation(request, invitation_id)
    if request.method == "POST":
        try:
            services.invitation_revoke(invitation=invitation, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, _("The request to %(name)s has been revoked.") % {"name": invitation.supplier.name}
            )
        return redirect("supplychain:campaign", org_slug=org_slug, campaign_id=invitation.campaign_id)
    return render(request, "supplychain/invitation_revoke.html", {"invitation": invitation})


@require_http_methods(["GET", "POST"])
def held_answer(request: TenantRequest, org_slug: str, invitation_id: Any) -> HttpResponse:
    """An answer through the link from an organisation that is not the invited party: confirm or reject it."""
    require(request, "edit_content")
    invitation = get_object_or_404(
        selectors.invitations_sent(request.organisation).select_related(
            "campaign", "supplier", "inviter", "held_organisation", "held_by"
        ),
        pk=invitation_id,
        held_at__isnull=False,
    )
    form = HeldAnswerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        answering = invitation.held_organisation.name if invitation.held_organisation else ""
        confirm = form.cleaned_data["decision"] == "confirm"
        try:
            if confirm:
                services.held_answer_confirm(invitation=invitation, actor=request.user)
            else:
                services.held_answer_reject(invitation=invitation, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                (
                    _("You confirmed the answer from %(org)s. It now counts as %(supplier)s's answer.")
                    if confirm
                    else _(
                        "You rejected the answer from %(org)s. The request keeps waiting for %(supplier)s, "
                        "and the link still works for them."
                    )
                )
                % {"org": answering, "supplier": invitation.supplier.name},
            )
        return redirect("supplychain:campaign", org_slug=org_slug, campaign_id=invitation.campaign_id)
    return render(
        request,
        "supplychain/held_answer.html",
        {"invitation": invitation, "form": form},
        status=400 if form.errors else 200,
    )


# --- The supplier's side --------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def request_forward(request: TenantRequest, org_slug: str, invitation_id: Any) -> HttpResponse:
    """After accepting, pass the request on to your own suppliers (one tier down)."""
    require(request, "edit_content")
    invitation = get_object_or_404(
        SupplierInvitation.objects.select_related("campaign", "inviter"),
        supplier_organisation=request.organisation,
        pk=invitation_id,
        state=InvitationState.ACCEPTED,
    )
    if invitation.tier >= invitation.campaign.depth:
        raise Http404
    suppliers = list(selectors.register(request.organisation))
    error = None
    if request.method == "POST":
        try:
            created = services.invitation_forward(
                invitation=invitation, actor=request.user, supplier_ids=request.POST.getlist("suppliers")
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("Your request has gone to %(n)s of your suppliers.") % {"n": len(created)})
            return redirect("supplychain:campaigns", org_slug=org_slug)
    return render(
        request,
        "supplychain/forward.html",
        {"invitation": invitation, "suppliers": suppliers, "error": error, "chosen": request.POST.getlist("suppliers")},
        status=400 if error else 200,
    )


@require_GET
def buyers(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = _require_supply_chain(request)
    return render(
        request,
        "supplychain/buyers.html",
        {"links": selectors.buyer_links(request.organisation), "can_edit": membership.can("edit_content")},
    )


@require_POST
def buyer_sharing(request: TenantRequest, org_slug: str, link_id: Any) -> HttpResponse:
    require(request, "edit_content")
    link = get_object_or_404(
        SupplierLink.objects.select_related("buyer"), supplier_organisation=request.organisation, pk=link_id
    )
    share = request.POST.get("share") == "1"
    services.link_set_sharing(link=link, actor=request.user, share=share)
    messages.success(
        request,
        (
            _("%(buyer)s can now see your summary maturity.")
            if share
            else _("%(buyer)s no longer sees your summary maturity.")
        )
        % {"buyer": link.buyer.name},
    )
    return redirect("supplychain:buyers", org_slug=org_slug)


def _held_message(invitation: SupplierInvitation, organisation_name: str) -> str:
    return _(
        "Your answer has gone to %(buyer)s. The request was sent to another email address, so %(buyer)s will "
        "first confirm that %(org)s is the supplier it asked. Until then your answer does not count."
    ) % {"buyer": invitation.inviter.name, "org": organisation_name}


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_landing(request: AuthenticatedRequest, token: str) -> HttpResponse:
    """The link in the email: who is asking, what accepting means, then accept or decline."""
    try:
        invitation = services.invitation_from_token(token)
    except services.InvitationLinkError as exc:
        return render(
            request,
            "supplychain/invitation_unusable.html",
            {"reason": exc.reason, "invitation": exc.invitation},
            status=410 if exc.invitation else 404,
        )
    context: dict[str, Any] = {
        "invitation": invitation,
        "campaign": invitation.campaign,
        "token": token,
        "decline_form": DeclineForm(),
        "depth_left": invitation.campaign.depth - invitation.tier,
    }
    if not request.user.is_authenticated:
        return render(request, "supplychain/invitation_landing.html", context)
    from portal.selectors import memberships_of_user

    memberships = memberships_of_user(request.user)
    request.my_memberships = memberships  # type: ignore[attr-defined]  # the header's switcher reuses them
    choices = [
        m
        for m in memberships
        if services.may_answer(invitation=invitation, organisation_id=m.organisation_id, role=m.role)
    ]
    framework = current_framework()
    committed = active_commitments([m.organisation for m in choices])  # one query for all of them
    # Not the invited address, nor the organisation the buyer's register knows: the buyer confirms.
    holds_address = services.holds_invited_address(invitation, request.user)
    invited = set() if holds_address or not choices else services.invited_organisation_ids(invitation)
    for m in choices:
        m.committed = committed.get(m.organisation_id)  # type: ignore[attr-defined]
        m.needs_confirmation = not holds_address and m.organisation_id not in invited  # type: ignore[attr-defined]
        # The exact statement an owner signs for this organisation (the signing primitive records it).
        m.statement = (  # type: ignore[attr-defined]
            commitment_statement(organisation=m.organisation, framework=framework, extends_to_supply_chain=True)
            if framework and not m.committed  # type: ignore[attr-defined]
            else ""
        )
    context["choices"] = choices
    # Nothing to sign for any of them: answering only confirms the commitment already made.
    context["all_committed"] = bool(choices) and all(m.committed for m in choices)  # type: ignore[attr-defined]
    context["none_committed"] = not any(m.committed for m in choices)  # type: ignore[attr-defined]
    # Already committed, and accepted this inviter's request in the campaign this one repeats: one step.
    earlier = selectors.earlier_answers(invitation, [m.organisation_id for m in choices if m.committed])  # type: ignore[attr-defined]
    for m in choices:
        m.earlier = earlier.get(m.organisation_id)  # type: ignore[attr-defined]
    context["confirm_choices"] = [m for m in choices if m.earlier]  # type: ignore[attr-defined]
    if request.method == "POST":
        chosen = next((m for m in choices if str(m.organisation_id) == request.POST.get("organisation")), None)
        action = request.POST.get("action")
        if chosen is None:
            context["error"] = _("Choose the organisation you are answering for")
        elif action == "decline":
            form = DeclineForm(request.POST)
            context["decline_form"] = form
            if form.is_valid():
                try:
                    services.invitation_decline(
                        invitation=invitation,
                        user=request.user,
                        organisation=chosen.organisation,
                        reason=form.cleaned_data["reason"],
                    )
                except services.InvitationLinkError as exc:
                    return render(
                        request,
                        "supplychain/invitation_unusable.html",
                        {"reason": exc.reason, "invitation": invitation},
                        status=410,
                    )
                except ValidationError as exc:
                    context["error"] = " ".join(exc.messages)
                else:
                    if invitation.held_at:
                        messages.success(request, _held_message(invitation, chosen.organisation.name))
                    else:
                        messages.success(
                            request,
                            _("You declined the request from %(buyer)s. They have been told your reason.")
                            % {"buyer": invitation.inviter.name},
                        )
                    return redirect("portal:dashboard", org_slug=chosen.organisation.slug)
        else:
            try:
                services.invitation_accept(
                    invitation=invitation,
                    user=request.user,
                    organisation=chosen.organisation,
                    typed_name=request.POST.get("typed_name", ""),
                    job_title=request.POST.get("job_title", ""),
                    context=signing_context(request),
                )
            except services.InvitationLinkError as exc:
                return render(
                    request,
                    "supplychain/invitation_unusable.html",
                    {"reason": exc.reason, "invitation": invitation},
                    status=410,
                )
            except ValidationError as exc:
                context["error"] = " ".join(exc.messages)
            else:
                if invitation.held_at:
                    messages.success(request, _held_message(invitation, chosen.organisation.name))
                    return redirect("portal:dashboard", org_slug=chosen.organisation.slug)
                messages.success(
                    request,
                    _("You accepted the request from %(buyer)s. Your commitment is shared with them.")
                    % {"buyer": invitation.inviter.name},
                )
                if invitation.tier < invitation.campaign.depth:
                    return redirect(
                        "supplychain:forward", org_slug=chosen.organisation.slug, invitation_id=invitation.pk
                    )
                return redirect("portal:dashboard", org_slug=chosen.organisation.slug)
        context["chosen"] = request.POST.get("organisation")
        context["typed_name"] = request.POST.get("typed_name", "")
        context["job_title"] = request.POST.get("job_title", "")
    return render(request, "supplychain/invitation_landing.html", context, status=400 if context.get("error") else 200)
