"""Pages of the portal app. Thin: they parse input, call services and selectors, and render."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import InterfaceError, OperationalError, connection, transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scopes_disabled

from portal import exports, privacy, selectors, services
from portal.activity import verb_choices
from portal.api.errors import database_unavailable_message, is_api_path, json_error
from portal.audit import audit_verify_chain
from portal.dashboard import (
    audit_trail_table_html,
    awaiting_by_organisation,
    awaiting_items,
    dashboard_activity_html,
    dashboard_panels_html,
    dashboard_people,
    getting_started_items,
)
from portal.forms import (
    AccountDeleteForm,
    ApiTokenForm,
    AuditFilterForm,
    InvitationForm,
    OrganisationForm,
    ProfileForm,
    RoleForm,
    apply_errors,
)
from portal.header import header_state
from portal.models import ApiToken, Invitation, Membership, Organisation, OrganisationExport
from portal.roles import ROLE_DESCRIPTIONS, Role
from portal.services import InvitationLinkError
from portal.tenancy import AuthenticatedRequest, TenantRequest, require
from portal.tokens import TOKEN_ROLES, token_create, token_revoke, tokens_of_user
from portal.versions import bump

logger = logging.getLogger(__name__)


# --- Outside any organisation ---------------------------------------------------------------


@require_GET
def home(request: AuthenticatedRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "portal/landing.html")
    memberships = selectors.memberships_of_user(request.user)
    invitations = selectors.open_invitations_for_email(request.user.email)
    if len(memberships) == 1 and not invitations:
        return redirect("portal:dashboard", org_slug=memberships[0].organisation.slug)
    return redirect("organisation_list")


@login_required
@require_GET
def your_work(request: AuthenticatedRequest) -> HttpResponse:
    """What needs this person, in every organisation they belong to, grouped and soonest due first."""
    # The memberships and the unread count from the header's cached state (no query), or read together.
    state = header_state(request.user, with_unread=True)
    request.header_state = state  # type: ignore[attr-defined]  # the header's switcher reuses it
    items = awaiting_items(request.user, state.memberships)
    # The header's badges count exactly these items: no need to read or count them again.
    request.my_invitations = [i.obj for i in items if i.kind == "invitation"]  # type: ignore[attr-defined]
    request.my_header_counts = state.counts_for(len(items))  # type: ignore[attr-defined]
    return render(
        request,
        "portal/your_work.html",
        {
            "groups": awaiting_by_organisation(items),
            "item_count": len(items),
            "my_awaiting_count": len(items),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_GET
def organisation_list(request: AuthenticatedRequest) -> HttpResponse:
    # The lists come from the context processor (my_memberships, my_invitations): the header
    # needs them too, and this way they are read once.
    return render(request, "portal/organisation_list.html")


@login_required
@require_http_methods(["GET", "POST"])
def organisation_create(request: AuthenticatedRequest) -> HttpResponse:
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organisation = services.organisation_create(creator=request.user, **form.cleaned_data)
        next_url = request.GET.get("next", "")
        if next_url.startswith("/") and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            messages.success(request, _("%(name)s has been created.") % {"name": organisation.name})
            return redirect(next_url)
        messages.success(
            request,
            _(
                "%(name)s has been created. You are its owner: invite your colleagues "
                "and a workforce representative next."
            )
            % {"name": organisation.name},
        )
        return redirect("portal:dashboard", org_slug=organisation.slug)
    return render(request, "portal/organisation_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def account(request: AuthenticatedRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        # Not audited: the pages of the person's organisations that name them (the dashboard's overdue
        # actions name their owners) are built again.
        with scopes_disabled():
            bump(organisations=Membership.objects.filter(user=request.user).values_list("organisation_id", flat=True))
        messages.success(request, _("Your name has been updated."))
        return redirect("account")
    return render(request, "portal/account.html", {"form": form})


@login_required
@require_GET
def account_data(request: AuthenticatedRequest) -> HttpResponse:
    """What the portal holds about you, and the button to download it."""
    return render(request, "portal/account_data.html")


@login_required
@never_cache
@require_GET
def account_data_download(request: AuthenticatedRequest) -> HttpResponse:
    data = privacy.personal_data(request.user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2), content_type="application/json"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="my-data-{stamp}.json"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def account_delete(request: AuthenticatedRequest) -> HttpResponse:
    """Confirm, then anonymise the account; refused while the person is an organisation's only owner."""
    blockers = privacy.account_delete_blockers(request.user)
    form = AccountDeleteForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and not blockers and form.is_valid():
        try:
            privacy.account_delete(user=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            logout(request)
            return redirect("account_deleted")
    error = (
        _("You are the only owner of %(orgs)s. Make someone else an owner there first, then delete your account.")
        % {"orgs": ", ".join(o.name for o in blockers)}
        if blockers and request.method == "POST"
        else None
    )
    return render(
        request,
        "portal/account_delete.html",
        {"form": form, "blockers": blockers, "error": error},
        status=400 if (request.method == "POST" and (blockers or form.errors)) else 200,
    )


@never_cache
@require_GET
def account_deleted(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/account_deleted.html")


def _token_access_choices(memberships: list[Membership]) -> list[tuple[str, str]]:
    choices = []
    for membership in memberships:
        for role in TOKEN_ROLES[membership.role]:
            choices.append(
                (f"{membership.organisation_id}:{role}", f"{membership.organisation.name}: {Role(role).label}")
            )
    return choices


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def api_tokens(request: AuthenticatedRequest) -> HttpResponse:
    """Personal API tokens: make one (shown once), see when each was last used, revoke."""
    memberships = selectors.memberships_of_user(request.user)
    request.my_memberships = memberships  # type: ignore[attr-defined]  # the header's switcher reuses them
    form = ApiTokenForm(request.POST or None, access_choices=_token_access_choices(memberships))
    if request.method == "POST" and form.is_valid():
        organisation_id, _sep, role = form.cleaned_data["access"].partition(":")
        organisation = get_object_or_404(Organisation, pk=organisation_id)
        try:
            created = token_create(
                user=request.user,
                organisation=organisation,
                name=form.cleaned_data["name"],
                role=role,
                expires_at=form.expires_at(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            # Shown on this response only: never stored, never redirected to, never cached.
            return render(request, "portal/api_token_created.html", {"token": created.token, "raw": created.raw})
    return render(
        request,
        "portal/api_tokens.html",
        {"form": form, "tokens": tokens_of_user(request.user), "now": timezone.now()},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def api_token_revoke(request: AuthenticatedRequest, token_id: Any) -> HttpResponse:
    with scopes_disabled():  # the person's own token, in whichever of their organisations
        token = get_object_or_404(ApiToken.objects.select_related("organisation"), pk=token_id, user=request.user)
    if request.method == "POST":
        token_revoke(token=token, actor=request.user)
        messages.success(
            request,
            _("The token ‘%(name)s’ has been revoked. Anything using it will stop working.") % {"name": token.name},
        )
        return redirect("api_tokens")
    return render(request, "portal/api_token_revoke.html", {"token": token})


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: AuthenticatedRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_from_token(token)
    except InvitationLinkError as exc:
        return render(
            request,
            "portal/invitation_unusable.html",
            {"reason": exc.reason, "invitation": exc.invitation},
            status=410 if exc.invitation else 404,
        )
    context = {
        "invitation": invitation,
        "organisation": invitation.organisation,
        "role_label": Role(invitation.role).label,
        "role_description": ROLE_DESCRIPTIONS[Role(invitation.role)],
        "token": token,
    }
    if not request.user.is_authenticated:
        request.session["invitation_email"] = invitation.email
        return render(request, "portal/invitation_accept.html", context)
    if request.method == "POST":
        try:
            membership = services.invitation_accept(invitation=invitation, user=request.user)
        except InvitationLinkError as exc:
            return render(
                request,
                "portal/invitation_unusable.html",
                {"reason": exc.reason, "invitation": invitation},
                status=410,
            )
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
            return render(request, "portal/invitation_accept.html", context, status=400)
        messages.success(
            request,
            _("You have joined %(name)s as %(role)s.")
            % {"name": membership.organisation.name, "role": membership.get_role_display()},
        )
        return redirect("portal:dashboard", org_slug=membership.organisation.slug)
    if request.user.email.lower() != invitation.email.lower():
        context["error"] = _(
            "This invitation was sent to %(invited)s, but you are signed in as %(current)s. "
            "Sign out, then open the link again and sign in or create an account as %(invited)s."
        ) % {"invited": invitation.email, "current": request.user.email}
    return render(request, "portal/invitation_accept.html", context)


@never_cache
@require_GET
@transaction.non_atomic_requests  # report the database down (503), not fail opening a transaction
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # report, do not crash: this is the page that says what is down
        logger.warning("healthz database check failed: %s", exc)
        checks["database"] = "error"
    try:
        cache.set("healthz", "1", 5)
        checks["cache"] = "ok" if cache.get("healthz") == "1" else "error"
    except Exception as exc:
        logger.warning("healthz cache check failed: %s", exc)
        checks["cache"] = "error"
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = "in-process"
    else:
        from portal.celery import app

        try:
            with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:
            logger.warning("healthz broker check failed: %s", exc)
            checks["broker"] = "error"
    healthy = all(value != "error" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)


@never_cache
@require_GET
@transaction.non_atomic_requests  # report the database down (503), not fail opening a transaction
def healthz_database(request: HttpRequest) -> JsonResponse:
    """The database alone, in one query: a load balancer's cheap probe, and the floor that
    `bench/pages.py` measures every page against (the cost of any database page on the machine)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        logger.warning("healthz database check failed: %s", exc)
        return JsonResponse({"status": "error", "checks": {"database": "error"}}, status=503)
    return JsonResponse({"status": "ok", "checks": {"database": "ok"}})


# --- Inside an organisation (/o/<slug>/): the middleware has checked membership -------------


@require_GET
def dashboard(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = require(request, "view_dashboard")
    can_manage = membership.can("manage_members")
    people = dashboard_people(request, limit=10, with_invitations=can_manage)
    getting_started = getting_started_items(membership, people.facts)
    panels = dashboard_panels_html(request)
    return render(
        request,
        "portal/dashboard.html",
        {
            "getting_started": getting_started,
            "getting_started_done": sum(1 for item in getting_started or [] if item.done),
            "panels": panels,
            "members": people.members,
            "member_count": people.member_count,
            "invitations": people.invitations,
            "activity_html": dashboard_activity_html(request) if membership.can("view_audit_trail") else "",
            "can_manage": can_manage,
        },
    )


@require_GET
def members(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = require(request, "view_members")
    organisation = request.organisation
    can_manage = membership.can("manage_members")
    return render(
        request,
        "portal/members.html",
        {
            "members": list(selectors.organisation_members(organisation)),
            "invitations": list(selectors.organisation_invitations(organisation)) if can_manage else [],
            "can_manage": can_manage,
            "can_export": exports.export_can_manage(membership),
        },
    )


def _member(request: TenantRequest, membership_id) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "organisation"),
        organisation=request.organisation,
        pk=membership_id,
    )


@require_http_methods(["GET", "POST"])
def member_role(request: TenantRequest, org_slug: str, membership_id) -> HttpResponse:
    require(request, "manage_members")
    member = _member(request, membership_id)
    form = RoleForm(request.POST or None, initial={"role": member.role})
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_change_role(membership=member, role=form.cleaned_data["role"], actor=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s is now %(role)s.") % {"name": member.user.display_name, "role": member.get_role_display()},
            )
            return redirect("portal:members", org_slug=org_slug)
    return render(request, "portal/member_role.html", {"member": member, "form": form})


@require_http_methods(["GET", "POST"])
def member_remove(request: TenantRequest, org_slug: str, membership_id) -> HttpResponse:
    require(request, "manage_members")
    member = _member(request, membership_id)
    error = None
    if request.method == "POST":
        try:
            services.membership_remove(membership=member, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request,
                _("%(name)s has been removed from %(org)s.")
                % {"name": member.user.display_name, "org": request.organisation.name},
            )
            return redirect("portal:members", org_slug=org_slug)
    return render(
        request, "portal/member_remove.html", {"member": member, "error": error}, status=400 if error else 200
    )


@require_http_methods(["GET", "POST"])
def leave(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = request.membership
    error = None
    if request.method == "POST":
        try:
            services.membership_leave(membership=membership)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("You have left %(org)s.") % {"org": request.organisation.name})
            return redirect("organisation_list")
    return render(request, "portal/leave.html", {"error": error}, status=400 if error else 200)


@require_http_methods(["GET", "POST"])
def invitation_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "manage_members")
    # "?role=workforce_rep": the dashboard's getting-started step preselects the role it asks for.
    role = request.GET.get("role")
    form = InvitationForm(request.POST or None, initial={"role": role} if role in Role.values else None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                organisation=request.organisation, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s as %(role)s. The link expires in %(days)s days.")
                % {
                    "email": invitation.email,
                    "role": invitation.get_role_display(),
                    "days": settings.INVITATION_TTL_DAYS,
                },
            )
            return redirect("portal:members", org_slug=org_slug)
    return render(request, "portal/invitation_form.html", {"form": form})


def _invitation(request: TenantRequest, invitation_id) -> Invitation:
    return get_object_or_404(
        Invitation.objects.select_related("organisation", "invited_by"),
        organisation=request.organisation,
        pk=invitation_id,
    )


@require_POST
def invitation_resend(request: TenantRequest, org_slug: str, invitation_id) -> HttpResponse:
    require(request, "manage_members")
    invitation = _invitation(request, invitation_id)
    try:
        services.invitation_resend(invitation=invitation, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("A new link has been sent to %(email)s. The previous link no longer works.")
            % {"email": invitation.email},
        )
    return redirect("portal:members", org_slug=org_slug)


@require_http_methods(["GET", "POST"])
def invitation_revoke(request: TenantRequest, org_slug: str, invitation_id) -> HttpResponse:
    require(request, "manage_members")
    invitation = _invitation(request, invitation_id)
    if request.method == "POST":
        try:
            services.invitation_revoke(invitation=invitation, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("The invitation to %(email)s has been revoked. Its link no longer works.")
                % {"email": invitation.email},
            )
        return redirect("portal:members", org_slug=org_slug)
    if not invitation.is_open and invitation.status != "expired":
        raise Http404
    return render(request, "portal/invitation_revoke.html", {"invitation": invitation})


@require_GET
def audit_trail(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "view_audit_trail")
    organisation = request.organisation
    form = AuditFilterForm(request.GET or None, verbs=verb_choices())
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    verification = audit_verify_chain(organisation=organisation) if request.GET.get("verify") else None
    return render(
        request,
        "portal/audit_trail.html",
        {"form": form, "verification": verification, "table_html": audit_trail_table_html(request, filters)},
    )


# --- Organisation data export (owners only) --------------------------------------------------


@require_GET
def export_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "export_data")
    return render(
        request,
        "portal/export_list.html",
        {
            "exports": list(exports.exports_of(request.organisation)[:20]),
            "retention_days": settings.PORTAL_EXPORT_RETENTION_DAYS,
        },
    )


@require_http_methods(["GET", "POST"])
def export_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Check your answers: what the export holds, who is told, how long it is kept; then request it."""
    require(request, "export_data")
    if request.method == "POST":
        try:
            export = exports.export_request(organisation=request.organisation, actor=request.user)
        except ValidationError as exc:
            raise PermissionDenied(" ".join(exc.messages)) from None
        messages.success(request, _("Your export has been requested. We will email you when it is ready."))
        return redirect("portal:export_detail", org_slug=org_slug, export_id=export.pk)
    return render(
        request,
        "portal/export_create.html",
        {"sections": exports.export_sections(), "retention_days": settings.PORTAL_EXPORT_RETENTION_DAYS},
    )


def _export(request: TenantRequest, export_id: Any) -> OrganisationExport:
    return get_object_or_404(
        OrganisationExport.objects.select_related("requested_by"), organisation=request.organisation, pk=export_id
    )


@require_GET
def export_detail(request: TenantRequest, org_slug: str, export_id: Any) -> HttpResponse:
    require(request, "export_data")
    export = _export(request, export_id)
    template = "portal/_export_status.html" if request.headers.get("HX-Request") else "portal/export_detail.html"
    return render(request, template, {"export": export})


@require_GET
def export_download(request: TenantRequest, org_slug: str, export_id: Any) -> FileResponse:
    membership = require(request, "export_data")
    export = _export(request, export_id)
    export.organisation = request.organisation
    try:
        download = exports.export_download(export=export, membership=membership, actor=request.user)
    except (exports.ExportNotReady, FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(
        download.handle, as_attachment=True, content_type="application/zip", filename=download.filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request):
        return json_error(400, _("The request could not be read."))
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request):
        return json_error(403, _("You do not have access to this."))
    return render(request, "403.html", status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request):
        return json_error(404, _("There is no API endpoint at this address. See /api/docs/."))
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Exception())


def error_500(request: HttpRequest) -> HttpResponse:
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        # The database cannot be reached (restarting, failing over): say so, and that it is temporary.
        return error_503_database(request)
    if is_api_path(request):
        return json_error(500, _("Something went wrong on our side. It has been logged; try again later."))
    from django.views.defaults import server_error

    return server_error(request)


def error_503_database(request: HttpRequest) -> HttpResponse:
    """The page for a request that failed because the database is unreachable: rendered without it."""
    if is_api_path(request):
        response: HttpResponse = json_error(503, database_unavailable_message())
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = "30"
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api_path(request):
        return json_error(403, _("The CSRF check failed: send the X-CSRFToken header with session requests."))
    return render(request, "403_csrf.html", status=403)
