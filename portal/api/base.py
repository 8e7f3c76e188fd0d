"""The API's plumbing, shared by every app's `api.py`: authentication, tenancy, idempotency,
pagination and throttling. API views only parse input and call the services the web views call.

A view for something inside an organisation subclasses `OrganisationAPIView` (or one of the
generic variants) and names the role action it needs per method (`actions = {"GET": ...}`);
the organisation comes from the `org` URL argument, and an outsider gets 404, exactly as on the
web. Each request runs in one transaction of its own, opened after authentication and the
Idempotency-Key check, so a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import re
from contextlib import ExitStack
from datetime import timedelta
from typing import Any, ClassVar

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled
from rest_framework import exceptions, generics, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import rls
from portal.api.authentication import (  # noqa: F401 - re-exported for the apps' api modules
    Cursor,
    api_signing_context,
    principal_of,
    token_of,
)
from portal.api.errors import Conflict, Unprocessable
from portal.models import IdempotencyRecord, Membership, Organisation
from portal.tenancy import membership_for
from portal.tokens import TokenRefused, token_grant

# --- Idempotency-Key -------------------------------------------------------------------------

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
IDEMPOTENCY_RETENTION = timedelta(hours=24)
# A claim this old without a response belongs to a process that died; the key may be used again.
IDEMPOTENCY_ABANDONED = timedelta(minutes=10)


class _Replay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}?{request.META.get('QUERY_STRING', '')}\n".encode())
    data = request.data
    if hasattr(data, "lists"):
        items: list[Any] = []
        for key, values in sorted(data.lists()):
            for value in values:
                if hasattr(value, "read"):
                    items.append([key, "file", getattr(value, "name", ""), getattr(value, "size", 0)])
                else:
                    items.append([key, str(value)])
        payload: Any = items
    else:
        payload = data
    digest.update(json.dumps(payload, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _claim(request: Request) -> IdempotencyRecord | None:
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key is None:
        return None
    if not _KEY.match(key):
        raise exceptions.ValidationError(
            {"Idempotency-Key": [_("Use 1 to 200 visible ASCII characters, such as a UUID.")]}
        )
    principal = principal_of(request)
    if principal is None:
        return None
    fingerprint = _fingerprint(request)
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(principal=principal, key=key, fingerprint=fingerprint)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
        if existing is None:
            continue
        stale = (not existing.completed and existing.created_at < now - IDEMPOTENCY_ABANDONED) or (
            existing.created_at < now - IDEMPOTENCY_RETENTION
        )
        if stale:
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise Unprocessable(
                _("This Idempotency-Key was used for a different request. Use a new key for a new request."),
                code="idempotency_key_reused",
            )
        if not existing.completed:
            raise Conflict(
                _("A request with this Idempotency-Key is still being processed. Retry when it has finished."),
                code="idempotency_in_progress",
            )
        raise _Replay(existing)
    raise Conflict(_("A request with this Idempotency-Key is being processed."), code="idempotency_in_progress")


def _remember(record: IdempotencyRecord, response: Response) -> None:
    """Store a success's response, in the same transaction as the work it reports: both or neither."""
    record.completed = True
    record.status_code = response.status_code
    record.body = response.data
    record.location = response.get("Location", "")[:500]
    record.save(update_fields=["completed", "status_code", "body", "location"])


def _release(record: IdempotencyRecord) -> None:
    """Only a success is remembered: a refused request may be corrected and sent again with the same key."""
    IdempotencyRecord.objects.filter(pk=record.pk, completed=False).delete()


def _replayed(record: IdempotencyRecord) -> Response:
    headers = {"Idempotent-Replayed": "true"}
    if record.location:
        headers["Location"] = record.location
    return Response(record.body, status=record.status_code or 200, headers=headers)


# --- Views -------------------------------------------------------------------------------------


class ApiMixin:
    """Runs each request as: authenticate, check, claim the Idempotency-Key, then the handler in a
    transaction of its own. Views are excluded from ATOMIC_REQUESTS so the claim commits first and
    a concurrent duplicate sees it (409) instead of waiting."""

    exit_stack: ExitStack
    # OPTIONS answers 405: the schema at /api/schema/ describes every operation.
    metadata_class = None

    @classmethod
    def as_view(cls, *args: Any, **kwargs: Any) -> Any:
        view = super().as_view(*args, **kwargs)  # type: ignore[misc]
        return transaction.non_atomic_requests(view)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        view: Any = self
        view.args, view.kwargs = args, kwargs
        drf_request = view.initialize_request(request, *args, **kwargs)
        view.request = drf_request
        view.headers = view.default_response_headers
        record = None
        with ExitStack() as stack:
            self.exit_stack = stack
            try:
                view.initial(drf_request, *args, **kwargs)
                principal = principal_of(drf_request)
                if principal is not None:
                    # Its idempotency records are visible to this request only (row-level security).
                    stack.enter_context(rls.acting_as(principal))
                method = (drf_request.method or "").lower()
                handler = getattr(view, method, view.http_method_not_allowed)
                if method not in view.http_method_names:
                    handler = view.http_method_not_allowed
                record = _claim(drf_request)
                with transaction.atomic():
                    response = handler(drf_request, *args, **kwargs)
                    if record is not None and 200 <= response.status_code < 300:
                        _remember(record, response)
            except _Replay as replay:
                response = _replayed(replay.record)
            except Exception as exc:
                if record is not None:
                    record.completed = False  # whatever was remembered was rolled back with the work
                response = view.handle_exception(exc)
            if record is not None and not record.completed:
                _release(record)
            view.response = view.finalize_response(drf_request, response, *args, **kwargs)
            return view.response


class ApiView(ApiMixin, APIView):
    pass


class GenericApiView(ApiMixin, generics.GenericAPIView):  # type: ignore[type-arg]
    pass


class OrganisationMixin(ApiMixin):
    """Views under /api/v1/organisations/<org>/: members only (404 otherwise), scoped, role-checked.

    `actions` maps an HTTP method to the role action it needs (portal.roles.PERMISSIONS).
    `self.membership` is the caller's membership, its role narrowed to the token's if a token is used.
    """

    actions: ClassVar[dict[str, str]] = {"GET": "view_dashboard"}
    organisation: Organisation
    membership: Membership

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        self.organisation, self.membership = resolve_organisation(request, kwargs.get("org", ""))
        self.exit_stack.enter_context(scope(organisation=self.organisation))
        action = self.actions.get(request.method or "", self.actions.get("*"))
        if action is not None and not self.membership.can(action):
            raise exceptions.PermissionDenied(_("Your role in this organisation does not allow this."))

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        membership = getattr(self, "membership", None)
        if (
            membership is not None
            and membership.role == "auditor"
            and request.method == "GET"
            and response.status_code == 200
            and not response.has_header("Content-Disposition")  # downloads record their own event
        ):
            from portal.audit import audit_record

            audit_record(
                organisation=self.organisation,
                actor=request.user,
                verb="auditor.viewed",
                target_label=f"API {request.path}"[:300],
            )
        return response


def _membership_by_slug(user: Any, slug: str) -> Membership | None:
    """The user's active membership of the organisation named by `slug`, with the organisation, in
    one query (what `membership_for` answers after reading the organisation first)."""
    if not slug or not getattr(user, "is_authenticated", False):
        return None
    with scopes_disabled():
        membership = (
            Membership.objects.filter(user=user, organisation__slug=slug).select_related("organisation").first()
        )
    if membership is None or not membership.is_active(timezone.now()):
        return None
    membership.user = user  # already loaded: no query to read it back
    return membership


def resolve_organisation(request: Request, slug: str) -> tuple[Organisation, Membership]:
    """The organisation and the caller's (narrowed) membership; 404 for outsiders, as on the web.

    With a token, no query more: the membership was read with the token (`portal.tokens`, from the
    cache or in the token's one statement). With a session: the membership with its organisation."""
    token = token_of(request)
    if token is None:
        membership = _membership_by_slug(request.user, slug)
        if membership is None:
            raise exceptions.NotFound(_("Not found."))
        return membership.organisation, membership
    organisation: Organisation | None = (
        token.organisation  # read with the token
        if token.organisation.slug == slug
        else Organisation.objects.filter(slug=slug).first()
    )
    if organisation is None:
        raise exceptions.NotFound(_("Not found."))
    try:
        grant = token_grant(token, organisation)
    except TokenRefused as exc:
        raise exceptions.PermissionDenied(str(exc), code="token_role_exceeded") from None
    if grant is not None:
        return organisation, grant.membership
    if membership_for(user=request.user, organisation=organisation) is not None:
        # The person belongs here too, so saying why discloses nothing.
        raise exceptions.PermissionDenied(
            _("This API token works only in %(org)s. Create a token for %(other)s on your account page.")
            % {"org": token.organisation.name, "other": organisation.name},
            code="token_wrong_organisation",
        )
    raise exceptions.NotFound(_("Not found."))


class OrganisationAPIView(OrganisationMixin, APIView):
    pass


class OrganisationGenericView(OrganisationMixin, generics.GenericAPIView):  # type: ignore[type-arg]
    pass


class OrganisationViewSet(OrganisationMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    pass


class QueryMixin:
    """`query_serializer_class` validates the query string (400 with per-field errors)."""

    query_serializer_class: ClassVar[type[serializers.Serializer[Any]] | None] = None
    request: Request

    def query(self) -> dict[str, Any]:
        if self.query_serializer_class is None:
            return {}
        serializer = self.query_serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class ListView(QueryMixin, ApiMixin, generics.ListAPIView):  # type: ignore[type-arg]
    """A cursor-paginated list outside any organisation."""


class OrganisationListView(QueryMixin, OrganisationMixin, generics.ListAPIView):  # type: ignore[type-arg]
    """A cursor-paginated list inside an organisation: define `get_queryset` (use `self.query()`)."""


class OrganisationRetrieveView(OrganisationMixin, generics.RetrieveAPIView):  # type: ignore[type-arg]
    """One object inside an organisation: define `get_queryset`; `lookup_url_kwarg` names the id."""

    pagination_class = None
