"""Tenancy: resolve /o/<slug>/ once, check membership, render the whole response inside the scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django_scopes import scope

from portal.header import active_membership, header_state
from portal.models import Membership, Organisation


def membership_for(*, user: Any, organisation: Organisation) -> Membership | None:
    """The user's active membership of the organisation, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    with scope(organisation=organisation):
        membership = Membership.objects.filter(organisation=organisation, user=user).select_related("user").first()
    if membership is None or not membership.is_active(timezone.now()):
        return None
    membership.organisation = organisation  # already loaded: no query to read it back
    return membership


class TenantMiddleware:
    """For URLs carrying `org_slug`: 404 unless the user is an active member; then scope everything.

    Non-members and unknown slugs get the same 404, so nobody learns which organisations exist.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.organisation = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        slug = match.kwargs.get("org_slug")
        if slug is None:
            return self.get_response(request)

        if not request.user.is_authenticated:
            # Anonymous visitors are sent to sign in; whether the organisation exists stays hidden.
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        # Every active membership of the user with its organisation: the person's header state, from
        # the cache when current (no query), else one query. It finds this organisation and the role,
        # and the header's switcher and counts reuse it. A removed member's organisation has been
        # bumped, so the next request reads the database and answers 404.
        state = header_state(request.user)
        request.header_state = state  # type: ignore[attr-defined]
        membership = active_membership(state, slug)
        if membership is None:
            return self._not_found(request)
        organisation = membership.organisation

        request.organisation = organisation  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        with scope(organisation=organisation):
            response = self.get_response(request)
            render = getattr(response, "render", None)
            if callable(render) and not getattr(response, "is_rendered", True):
                response = render()
            if (
                membership.role == "auditor"
                and request.method == "GET"
                and response.status_code == 200
                and not request.headers.get("HX-Request")
                and not response.has_header("Content-Disposition")  # downloads record their own event
            ):
                # Every auditor view is itself recorded in the audit trail.
                from portal.audit import audit_record

                audit_record(
                    organisation=organisation,  # type: ignore[arg-type]
                    actor=request.user,  # type: ignore[arg-type]
                    verb="auditor.viewed",
                    target_label=request.path[:300],
                )
            return response

    def _not_found(self, request: HttpRequest) -> HttpResponse:
        from django.views.defaults import page_not_found

        return page_not_found(request, Http404())


class TenantRequest(HttpRequest):
    """A request inside /o/<slug>/: the middleware has set these, and the user is signed in."""

    organisation: Organisation
    membership: Membership
    user: Any


class AuthenticatedRequest(HttpRequest):
    user: Any


def require(request: HttpRequest, action: str) -> Membership:
    """The membership if its role may do `action`; 403 for members whose role may not.

    Outsiders never get here: the middleware has already answered them with 404.
    """
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    if not membership.can(action):
        raise PermissionDenied
    return membership
