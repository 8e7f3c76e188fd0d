"""API for the portal app: who am I, organisations, members (read) and the audit trail (read)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from portal import selectors
from portal.activity import verb_label
from portal.api.base import (
    GenericApiView,
    ListView,
    OrganisationGenericView,
    OrganisationListView,
    OrganisationRetrieveView,
    token_of,
)
from portal.audit import audit_verify_chain
from portal.models import AuditEvent, Membership, Organisation
from portal.roles import Role
from portal.tokens import token_membership

_DATETIME = serializers.DateTimeField()  # formats a date-time as every serializer field does


class OrganisationSerializer(serializers.ModelSerializer[Organisation]):
    role = serializers.SerializerMethodField(help_text="Your role here (the token's role when a token is used).")

    class Meta:
        model = Organisation
        fields = ["id", "slug", "name", "company_number", "sector", "size_band", "country", "created_at", "role"]

    def get_role(self, organisation: Organisation) -> str:
        return str(self.context["roles"].get(organisation.pk, ""))


class MeSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    full_name = serializers.CharField()
    authenticated_by = serializers.ChoiceField(choices=["api_token", "session"])
    token_name = serializers.CharField(allow_null=True)
    token_organisation = serializers.CharField(allow_null=True, help_text="The slug of the token's organisation.")
    token_role = serializers.CharField(allow_null=True)
    token_expires_at = serializers.DateTimeField(allow_null=True)


class MeView(GenericApiView):
    """The person the request acts as, and the token it carries."""

    serializer_class = MeSerializer
    pagination_class = None

    def get(self, request: Request) -> Response:
        token = token_of(request)
        user = request.user
        data = {
            "email": user.email,
            "full_name": user.full_name,
            "authenticated_by": "api_token" if token else "session",
            "token_name": token.name if token else None,
            "token_organisation": token.organisation.slug if token else None,
            "token_role": token.role if token else None,
            "token_expires_at": token.expires_at if token else None,
        }
        return Response(MeSerializer(data).data)


class MyOrganisationsView(ListView):
    """Organisations you can reach: with a token, only the token's own."""

    serializer_class = OrganisationSerializer
    ordering = "name"

    def _roles(self) -> dict[Any, str]:
        if not hasattr(self, "_role_map"):
            token = token_of(self.request)
            if token is not None:
                roles = {token.organisation_id: token.role} if token_membership(token) is not None else {}
            else:
                roles = {m.organisation_id: m.role for m in selectors.memberships_of_user(self.request.user)}
            self._role_map = roles
        return self._role_map

    def get_queryset(self) -> QuerySet[Organisation]:
        return Organisation.objects.filter(pk__in=list(self._roles()))

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "roles": self._roles()}


class OrganisationDetailView(OrganisationGenericView):
    serializer_class = OrganisationSerializer
    pagination_class = None

    def get(self, request: Request, org: str) -> Response:
        roles = {self.organisation.pk: self.membership.role}
        return Response(self.get_serializer(self.organisation, context={"roles": roles, "request": request}).data)


class MemberSerializer(serializers.ModelSerializer[Membership]):
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    joined_at = serializers.DateTimeField(source="created_at")
    access_expires_at = serializers.DateTimeField(source="expires_at", allow_null=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "joined_at", "access_expires_at"]

    def to_representation(self, membership: Membership) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""
        user, expires = membership.user, membership.expires_at
        return {
            "id": str(membership.pk),
            "email": user.email,
            "full_name": user.full_name,
            "role": membership.role,
            "joined_at": _DATETIME.to_representation(membership.created_at),
            "access_expires_at": None if expires is None else _DATETIME.to_representation(expires),
        }


class MemberQuery(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=Role.choices, required=False)


class MemberListView(OrganisationListView):
    """Everyone in the organisation and their role (changing them stays on the members page)."""

    actions = {"GET": "view_members"}
    serializer_class = MemberSerializer
    query_serializer_class = MemberQuery
    ordering = "created_at"

    def get_queryset(self) -> QuerySet[Membership]:
        queryset = selectors.organisation_members(self.organisation).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )
        role = self.query().get("role")
        return queryset.filter(role=role) if role else queryset


class MemberDetailView(OrganisationRetrieveView):
    actions = {"GET": "view_members"}
    serializer_class = MemberSerializer
    lookup_url_kwarg = "member_id"

    def get_queryset(self) -> QuerySet[Membership]:
        return selectors.organisation_members(self.organisation).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    verb_label = serializers.SerializerMethodField()
    actor = serializers.CharField(source="actor_label", help_text="The actor's email address, or `system`.")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "sequence",
            "created_at",
            "actor",
            "verb",
            "verb_label",
            "target_type",
            "target_id",
            "target_label",
            "before",
            "after",
            "request_id",
            "prev_hash",
            "hash",
        ]

    def get_verb_label(self, event: AuditEvent) -> str:
        return verb_label(event.verb)

    def to_representation(self, event: AuditEvent) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""
        return {
            "id": str(event.pk),
            "sequence": int(event.sequence),
            "created_at": _DATETIME.to_representation(event.created_at),
            "actor": event.actor_label,
            "verb": event.verb,
            "verb_label": verb_label(event.verb),
            "target_type": event.target_type,
            "target_id": event.target_id,
            "target_label": event.target_label,
            "before": event.before,
            "after": event.after,
            "request_id": event.request_id,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }


class AuditQuery(serializers.Serializer[Any]):
    verb = serializers.CharField(required=False, max_length=64, help_text="Exactly this verb, e.g. `plan.submitted`.")
    q = serializers.CharField(required=False, max_length=200, help_text="Search actors, targets and verbs.")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": "The end date must be on or after the start date."})
        return attrs


class AuditEventListView(OrganisationListView):
    """The organisation's audit trail, newest first; each event's hash covers the one before."""

    actions = {"GET": "view_audit_trail"}
    serializer_class = AuditEventSerializer
    query_serializer_class = AuditQuery
    ordering = "-sequence"

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return selectors.audit_events(self.organisation, filters=self.query())


class ChainSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    events_checked = serializers.IntegerField()
    broken_at = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)


class AuditVerifyView(OrganisationGenericView):
    """Walk the whole chain now and say whether it holds, or where it breaks."""

    actions = {"GET": "view_audit_trail"}
    serializer_class = ChainSerializer
    pagination_class = None

    def get(self, request: Request, org: str) -> Response:
        result = audit_verify_chain(organisation=self.organisation)
        return Response(
            ChainSerializer(
                {
                    "ok": result.ok,
                    "events_checked": result.events_checked,
                    "broken_at": result.broken_at,
                    "reason": result.reason,
                }
            ).data
        )


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the project's own static files (drf-spectacular-sidecar), no CDN.

    Swagger UI sets one inline style, so this page alone allows inline styles; scripts stay 'self'.
    """

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY.replace(
            "style-src 'self'", "style-src 'self' 'unsafe-inline'"
        )
        return response
