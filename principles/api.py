"""API for the principles app: the current framework (any signed-in caller) and the organisation's
commitment to it (list, read, sign, withdraw). Signing and withdrawing go through
`principles/services.py`, exactly as the commitment pages do."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.base import (
    GenericApiView,
    OrganisationGenericView,
    OrganisationListView,
    OrganisationRetrieveView,
    api_signing_context,
)
from portal.api.errors import Conflict
from portal.models import Signature, SignatureDecision
from principles import services
from principles.framework import current_framework, principles_with_criteria
from principles.models import Commitment, CommitmentStatus, Criterion, Framework, Principle

# --- The framework -------------------------------------------------------------------------------


class CriterionSerializer(serializers.ModelSerializer[Criterion]):
    evidence_examples = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Criterion
        fields = [
            "code",
            "position",
            "title",
            "guidance",
            "source_sentence",
            "evidence_expected",
            "evidence_examples",
        ]


class PrincipleSerializer(serializers.ModelSerializer[Principle]):
    text = serializers.CharField(help_text="The principle's text, verbatim.")
    criteria = CriterionSerializer(many=True)

    class Meta:
        model = Principle
        fields = ["number", "title", "summary", "text", "criteria"]


class MaturityLevelSerializer(serializers.Serializer[Any]):
    level = serializers.IntegerField(min_value=0, max_value=4)
    label = serializers.CharField()
    descriptor = serializers.CharField()


class FrameworkSerializer(serializers.ModelSerializer[Framework]):
    published = serializers.DateField(allow_null=True)
    content_hash = serializers.CharField(help_text="SHA-256 of the framework file's canonical JSON.")
    maturity_scale = MaturityLevelSerializer(many=True, source="maturity_levels")
    principles = serializers.SerializerMethodField()

    class Meta:
        model = Framework
        fields = ["code", "version", "title", "source", "published", "content_hash", "maturity_scale", "principles"]

    @extend_schema_field(PrincipleSerializer(many=True))
    def get_principles(self, framework: Framework) -> Any:
        return PrincipleSerializer(principles_with_criteria(framework), many=True).data


class FrameworkView(GenericApiView):
    """The current framework: its principles (verbatim), their criteria, and the maturity scale."""

    serializer_class = FrameworkSerializer
    pagination_class = None

    def get(self, request: Request) -> Response:
        framework = current_framework()
        if framework is None:
            raise exceptions.NotFound(_("No framework has been loaded yet."))
        return Response(FrameworkSerializer(framework).data)


# --- Commitments ---------------------------------------------------------------------------------


_DATETIME = serializers.DateTimeField()  # formats as every serializer field does
_DATE = serializers.DateField()


class CommitmentPersonSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    full_name = serializers.CharField()


class CommitmentFrameworkSerializer(serializers.ModelSerializer[Framework]):
    class Meta:
        model = Framework
        fields = ["code", "version", "title", "content_hash"]


class CommitmentSignatureSerializer(serializers.ModelSerializer[Signature]):
    signer_email = serializers.EmailField()
    signer_name = serializers.SerializerMethodField(help_text="The signer's name on their account.")
    decision = serializers.ChoiceField(choices=SignatureDecision.choices)
    content_hash = serializers.CharField(help_text="SHA-256 of the canonical snapshot that was signed.")
    auth_methods = serializers.ListField(
        child=serializers.CharField(), help_text="How the signer authenticated, e.g. `password`, `totp`, `api_token`."
    )

    class Meta:
        model = Signature
        fields = [
            "id",
            "signer_email",
            "signer_name",
            "typed_name",
            "job_title",
            "decision",
            "statement",
            "content_hash",
            "signed_at",
            "auth_methods",
            "mfa_used",
        ]

    def get_signer_name(self, signature: Signature) -> str:
        return signature.signer.full_name if signature.signer else ""


class CommitmentSerializer(serializers.ModelSerializer[Commitment]):
    status = serializers.ChoiceField(choices=CommitmentStatus.choices)
    framework = CommitmentFrameworkSerializer()
    statement = serializers.CharField(help_text="The words signed.")
    signature = CommitmentSignatureSerializer()
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    withdrawn_by = CommitmentPersonSerializer(allow_null=True)
    withdrawal_reason = serializers.CharField(help_text="Empty unless withdrawn.")
    signed_at = serializers.DateTimeField(help_text="When this commitment was signed (or reaffirmed).")
    reaffirmation_due = serializers.DateField(
        allow_null=True,
        read_only=True,
        help_text="The anniversary of the signature, by when an active commitment is to be reaffirmed; "
        "null unless active.",
    )
    reaffirmation_open = serializers.SerializerMethodField(
        help_text="Whether the owners are asked to reaffirm it now (from 11 months after it was signed)."
    )
    reaffirms = serializers.UUIDField(
        source="reaffirms_id", allow_null=True, read_only=True, help_text="The commitment this one reaffirmed, if any."
    )

    class Meta:
        model = Commitment
        fields = [
            "id",
            "status",
            "framework",
            "statement",
            "extends_to_supply_chain",
            "signed_at",
            "signature",
            "withdrawn_at",
            "withdrawn_by",
            "withdrawal_reason",
            "reaffirmation_due",
            "reaffirmation_open",
            "reaffirms",
        ]

    def get_reaffirmation_open(self, commitment: Commitment) -> bool:
        return commitment.reaffirmation_open()

    def to_representation(self, commitment: Commitment) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk over the nested
        serializers; a test compares the two)."""
        framework, signature, withdrawn_by = commitment.framework, commitment.signature, commitment.withdrawn_by
        withdrawn_at, due, reaffirms = commitment.withdrawn_at, commitment.reaffirmation_due, commitment.reaffirms_id
        return {
            "id": str(commitment.pk),
            "status": commitment.status,
            "framework": {
                "code": str(framework.code),
                "version": int(framework.version),
                "title": str(framework.title),
                "content_hash": str(framework.content_hash),
            },
            "statement": str(commitment.statement),
            "extends_to_supply_chain": bool(commitment.extends_to_supply_chain),
            "signed_at": _DATETIME.to_representation(commitment.signed_at),
            "signature": {
                "id": str(signature.pk),
                "signer_email": str(signature.signer_email),
                "signer_name": signature.signer.full_name if signature.signer else "",
                "typed_name": str(signature.typed_name),
                "job_title": str(signature.job_title),
                "decision": signature.decision,
                "statement": str(signature.statement),
                "content_hash": str(signature.content_hash),
                "signed_at": _DATETIME.to_representation(signature.signed_at),
                "auth_methods": [str(method) for method in signature.auth_methods],
                "mfa_used": bool(signature.mfa_used),
            },
            "withdrawn_at": None if withdrawn_at is None else _DATETIME.to_representation(withdrawn_at),
            "withdrawn_by": None
            if withdrawn_by is None
            else {"email": str(withdrawn_by.email), "full_name": str(withdrawn_by.full_name)},
            "withdrawal_reason": str(commitment.withdrawal_reason),
            "reaffirmation_due": None if due is None else _DATE.to_representation(due),
            "reaffirmation_open": self.get_reaffirmation_open(commitment),
            "reaffirms": None if reaffirms is None else str(reaffirms),
        }


class CommitmentSignSerializer(serializers.Serializer[Any]):
    typed_name = serializers.CharField(
        max_length=150, allow_blank=True, help_text="Your full name: typing it is your signature."
    )
    job_title = serializers.CharField(max_length=150, allow_blank=True)
    extends_to_supply_chain = serializers.BooleanField(
        default=False, help_text="We will extend these principles to our supply chain."
    )
    confirm = serializers.BooleanField(
        help_text="Must be true: you have read the commitment statement (shown on the commitment page, and "
        "returned as `statement`) and sign it on behalf of the organisation."
    )
    content_hash = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        required=False,
        help_text="Optional: the fingerprint you were shown. If the content has changed since, nothing is signed.",
    )

    def validate_confirm(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(_("Confirm that you sign the commitment on behalf of the organisation."))
        return value


class CommitmentReaffirmSerializer(serializers.Serializer[Any]):
    typed_name = serializers.CharField(
        max_length=150, allow_blank=True, help_text="Your full name: typing it is your signature."
    )
    job_title = serializers.CharField(max_length=150, allow_blank=True)
    confirm = serializers.BooleanField(
        help_text="Must be true: you have read today's commitment statement and sign it again on behalf of the "
        "organisation."
    )
    statement_hash = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        required=False,
        help_text="Optional: the SHA-256 of the statement you were shown. If it has changed since, nothing is signed.",
    )

    def validate_confirm(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(
                _("Confirm that you sign the commitment again on behalf of the organisation.")
            )
        return value


class CommitmentWithdrawSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        max_length=4000, allow_blank=True, help_text="Recorded in the audit trail and shown with the commitment."
    )


def _commitments(organisation: Any) -> QuerySet[Commitment]:
    return Commitment.objects.filter(organisation=organisation).select_related(
        "framework", "signature", "signature__signer", "withdrawn_by"
    )


class CommitmentListView(OrganisationListView):
    """The organisation's commitments, newest first (the active one and any withdrawn); POST signs
    the commitment (owners only)."""

    actions = {"GET": "view_dashboard", "POST": "sign_commitment"}
    serializer_class = CommitmentSerializer
    ordering = "-signed_at"

    def get_queryset(self) -> QuerySet[Commitment]:
        return _commitments(self.organisation)

    @extend_schema(
        request=CommitmentSignSerializer,
        responses={201: CommitmentSerializer},
        operation_id="commitments_sign",
        description="Sign the organisation's commitment to the current framework, as yourself (the signature "
        "records the authentication method `api_token`). 409 if a commitment is already active.",
    )
    def post(self, request: Request, org: str) -> Response:
        body = CommitmentSignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if services.active_commitment(self.organisation):
            raise Conflict(_("%(org)s has already signed the commitment.") % {"org": self.organisation.name})
        framework = current_framework()
        if framework is None:
            raise Http404
        try:
            commitment = services.commitment_sign(
                organisation=self.organisation,
                framework=framework,
                signer=request.user,
                typed_name=data["typed_name"],
                job_title=data["job_title"],
                extends_to_supply_chain=data["extends_to_supply_chain"],
                expected_hash=data.get("content_hash"),
                context=api_signing_context(request),
            )
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise exceptions.ValidationError(exc.message_dict) from None
            if services.active_commitment(self.organisation):  # signed meanwhile by someone else
                raise Conflict(" ".join(exc.messages)) from None
            # Otherwise what the signer was shown has changed since (the only other refusal).
            raise exceptions.ValidationError(
                {"content_hash" if "content_hash" in data else "non_field_errors": exc.messages}
            ) from None
        commitment = _commitments(self.organisation).get(pk=commitment.pk)
        location = reverse("api:commitment_detail", kwargs={"org": org, "commitment_id": commitment.pk})
        return Response(CommitmentSerializer(commitment).data, status=201, headers={"Location": location})


class CommitmentDetailView(OrganisationRetrieveView):
    """One commitment, with its signature."""

    actions = {"GET": "view_dashboard"}
    serializer_class = CommitmentSerializer
    lookup_url_kwarg = "commitment_id"

    def get_queryset(self) -> QuerySet[Commitment]:
        return _commitments(self.organisation)


class CommitmentWithdrawView(OrganisationGenericView):
    """Withdraw the active commitment (owners only); the reason is kept and shown."""

    actions = {"POST": "sign_commitment"}
    serializer_class = CommitmentWithdrawSerializer
    pagination_class = None

    @extend_schema(
        request=CommitmentWithdrawSerializer,
        responses={200: CommitmentSerializer},
        operation_id="commitments_withdraw",
    )
    def post(self, request: Request, org: str, commitment_id: Any) -> Response:
        commitment = get_object_or_404(_commitments(self.organisation), pk=commitment_id)
        body = CommitmentWithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.commitment_withdraw(
                commitment=commitment, actor=request.user, reason=body.validated_data["reason"]
            )
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise exceptions.ValidationError(exc.message_dict) from None
            raise Conflict(" ".join(exc.messages)) from None
        return Response(CommitmentSerializer(_commitments(self.organisation).get(pk=commitment.pk)).data)


class CommitmentReaffirmView(OrganisationGenericView):
    """Reaffirm the active commitment a year on (owners only): a new commitment is signed with today's
    statement and the same supply-chain choice, and the old one is kept as reaffirmed."""

    actions = {"POST": "sign_commitment"}
    serializer_class = CommitmentReaffirmSerializer
    pagination_class = None

    @extend_schema(
        request=CommitmentReaffirmSerializer,
        responses={201: CommitmentSerializer},
        operation_id="commitments_reaffirm",
        description="Sign the commitment again (the signature records the authentication method `api_token`). "
        "409 if this commitment is no longer the active one.",
    )
    def post(self, request: Request, org: str, commitment_id: Any) -> Response:
        commitment = get_object_or_404(_commitments(self.organisation), pk=commitment_id)
        body = CommitmentReaffirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if commitment.status != CommitmentStatus.ACTIVE:
            raise Conflict(_("This commitment is no longer the active one: it was withdrawn or reaffirmed."))
        framework = current_framework()
        if framework is None:
            raise Http404
        try:
            new = services.commitment_sign(
                organisation=self.organisation,
                framework=framework,
                signer=request.user,
                typed_name=data["typed_name"],
                job_title=data["job_title"],
                extends_to_supply_chain=commitment.extends_to_supply_chain,
                expected_statement_hash=data.get("statement_hash"),
                reaffirms=commitment,
                context=api_signing_context(request),
            )
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise exceptions.ValidationError(exc.message_dict) from None
            if "statement_hash" in data and services.active_commitment(self.organisation) == commitment:
                raise exceptions.ValidationError({"statement_hash": exc.messages}) from None
            raise Conflict(" ".join(exc.messages)) from None
        new = _commitments(self.organisation).get(pk=new.pk)
        location = reverse("api:commitment_detail", kwargs={"org": org, "commitment_id": new.pk})
        return Response(CommitmentSerializer(new).data, status=201, headers={"Location": location})
