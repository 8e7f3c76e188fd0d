"""API for attestation reports: request, progress, download and revoke inside an organisation, and
the public verification of a report by its id (no authentication, throttled per address).

Every rule lives in `reports/services.py`, shared with the web pages: which assessments may be
reported on (`reportable_assessments`), who revokes (`report_can_revoke`), what a download does
(`report_download`, which records auditors' downloads) and the public verify limit
(`verify_rate_limited`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from assessments.models import Assessment
from portal.addresses import requester_key
from portal.api.base import (
    GenericApiView,
    OrganisationGenericView,
    OrganisationListView,
    OrganisationRetrieveView,
)
from portal.api.errors import Conflict
from reports import services
from reports.models import AttestationReport, ReportStatus

# --- Serializers ---------------------------------------------------------------------------------


class ReportPersonSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    full_name = serializers.CharField()


class ReportAssessmentSerializer(serializers.ModelSerializer[Assessment]):
    class Meta:
        model = Assessment
        fields = ["id", "title", "period_start", "period_end", "finalised_at"]


class ReportSerializer(serializers.ModelSerializer[AttestationReport]):
    assessment = ReportAssessmentSerializer()
    status = serializers.ChoiceField(
        choices=ReportStatus.choices,
        help_text="`queued` and `rendering` while the PDF is being made; then `ready` or `failed` (see `error`).",
    )
    error = serializers.CharField(help_text="Why rendering failed; empty otherwise.")
    requested_by = ReportPersonSerializer(allow_null=True)
    page_count = serializers.IntegerField(allow_null=True)
    size = serializers.IntegerField(allow_null=True, help_text="The PDF's size in bytes, once rendered.")
    sha256 = serializers.CharField(help_text="The PDF's SHA-256 fingerprint, once rendered; empty before.")
    rendered_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(help_text="The report is valid for 12 months after it is issued.")
    verify_url = serializers.SerializerMethodField(help_text="The public page anyone can check the report on.")
    revoked = serializers.SerializerMethodField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = ReportPersonSerializer(allow_null=True)
    revoked_reason = serializers.CharField(help_text="Shown on the public verify page; empty unless revoked.")

    class Meta:
        model = AttestationReport
        fields = [
            "id",
            "assessment",
            "status",
            "error",
            "requested_by",
            "requested_at",
            "rendered_at",
            "page_count",
            "size",
            "sha256",
            "expires_at",
            "verify_url",
            "revoked",
            "revoked_at",
            "revoked_by",
            "revoked_reason",
        ]

    def get_verify_url(self, report: AttestationReport) -> str:
        return settings.SITE_URL + reverse("verify:report", kwargs={"report_id": report.pk})

    def get_revoked(self, report: AttestationReport) -> bool:
        return report.revoked_at is not None


class ReportQuery(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=ReportStatus.choices, required=False)
    assessment = serializers.UUIDField(required=False, help_text="Only reports on this assessment.")


class ReportRequestSerializer(serializers.Serializer[Any]):
    assessment = serializers.UUIDField(help_text="The id of a final self-assessment of this organisation.")


class ReportRevokeSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        allow_blank=True, max_length=4000, help_text="Why the report is revoked: the public verify page shows it."
    )


# --- Helpers -------------------------------------------------------------------------------------


def _reports(organisation: Any) -> QuerySet[AttestationReport]:
    return AttestationReport.objects.filter(organisation=organisation).select_related(
        "organisation", "assessment", "requested_by", "revoked_by"
    )


def _refused(exc: DjangoValidationError, *, field: str | None = None, conflict: bool = False) -> Exception:
    """A service's refusal as an API error: per-field messages stay on their fields; a general one
    goes on `field`, or becomes 409 when it is about the report's state."""
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    message = " ".join(exc.messages)
    if conflict:
        return Conflict(message)
    return exceptions.ValidationError({field: [message]} if field else [message])


# --- Views inside an organisation ---------------------------------------------------------------


class ReportListView(OrganisationListView):
    """The organisation's attestation reports, newest first; POST requests a new one."""

    actions = {"GET": "download_report", "POST": "request_report"}
    serializer_class = ReportSerializer
    query_serializer_class = ReportQuery
    ordering = "-requested_at"

    def get_queryset(self) -> QuerySet[AttestationReport]:
        queryset = _reports(self.organisation)
        query = self.query()
        if query.get("status"):
            queryset = queryset.filter(status=query["status"])
        if query.get("assessment"):
            queryset = queryset.filter(assessment_id=query["assessment"])
        return queryset

    @extend_schema(
        request=ReportRequestSerializer,
        responses={201: ReportSerializer},
        operation_id="reports_request",
        description="Request a report on a final self-assessment. It is rendered in the background: poll the "
        "report until `status` is `ready` (or `failed`).",
    )
    def post(self, request: Request, org: str) -> Response:
        body = ReportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        wanted = body.validated_data["assessment"]
        assessment = services.reportable_assessments(self.organisation).filter(pk=wanted).first()
        if assessment is None:
            exists = Assessment.objects.filter(organisation=self.organisation, pk=wanted).exists()
            message = (
                _("Reports are made from a final self-assessment, agreed with the workforce.")
                if exists
                else _("Choose the final self-assessment the report is about")
            )
            raise exceptions.ValidationError({"assessment": [message]})
        try:
            report = services.report_request(organisation=self.organisation, actor=request.user, assessment=assessment)
        except DjangoValidationError as exc:
            raise _refused(exc, field="assessment") from None
        report = _reports(self.organisation).get(pk=report.pk)
        location = reverse("api:report_detail", kwargs={"org": org, "report_id": report.pk})
        return Response(ReportSerializer(report).data, status=201, headers={"Location": location})


class ReportDetailView(OrganisationRetrieveView):
    """One report: its rendering status, fingerprint and revocation."""

    actions = {"GET": "download_report"}
    serializer_class = ReportSerializer
    lookup_url_kwarg = "report_id"

    def get_queryset(self) -> QuerySet[AttestationReport]:
        return _reports(self.organisation)


class ReportDownloadView(OrganisationGenericView):
    """The report's PDF, once it is ready. An auditor's download is recorded in the audit trail."""

    actions = {"GET": "download_report"}
    serializer_class = ReportSerializer
    pagination_class = None

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # `Accept: application/pdf` is what a download client sends; errors are still JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY}, operation_id="reports_download")
    def get(self, request: Request, org: str, report_id: Any) -> FileResponse:
        report = get_object_or_404(_reports(self.organisation), pk=report_id)
        try:
            download = services.report_download(report=report, membership=self.membership, actor=request.user)
        except services.ReportNotReady as exc:
            if exc.status == ReportStatus.FAILED:
                raise Conflict(_("The report could not be made, so there is no PDF. Request it again.")) from None
            raise Conflict(_("The report is still rendering. Try again in a few seconds.")) from None
        except (FileNotFoundError, ValueError):
            raise exceptions.NotFound(_("Not found.")) from None
        response = FileResponse(
            download.handle, as_attachment=True, content_type="application/pdf", filename=download.filename
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


class ReportRevokeView(OrganisationGenericView):
    """Revoke a report (owners only): the public verify page then says so, with the reason."""

    actions = {"POST": "revoke_report"}
    serializer_class = ReportRevokeSerializer
    pagination_class = None

    @extend_schema(request=ReportRevokeSerializer, responses={200: ReportSerializer}, operation_id="reports_revoke")
    def post(self, request: Request, org: str, report_id: Any) -> Response:
        report = get_object_or_404(_reports(self.organisation), pk=report_id)
        body = ReportRevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.report_revoke(report=report, actor=request.user, reason=body.validated_data["reason"])
        except DjangoValidationError as exc:
            raise _refused(exc, conflict=True) from None
        return Response(ReportSerializer(_reports(self.organisation).get(pk=report.pk)).data)


# --- Public verification ------------------------------------------------------------------------


class VerificationSerializer(serializers.Serializer[Any]):
    report_id = serializers.UUIDField()
    status = serializers.ChoiceField(
        choices=["valid", "audit_failed", "superseded", "revoked", "expired", "not_ready"],
        help_text="The strongest that applies: `revoked` (see `revoked_reason`); `expired` 12 months after issue; "
        "`superseded` by a newer report on the same assessment that is not revoked; `audit_failed`: otherwise "
        "current, but issued while the check of the organisation's audit trail failed (never plainly valid); "
        "`valid`; `not_ready` while it has not been issued yet.",
    )
    issuer_name = serializers.CharField()
    issuer_company_number = serializers.CharField(allow_blank=True)
    issued_at = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    sha256 = serializers.CharField(allow_null=True, help_text="The issued PDF's SHA-256 fingerprint.")
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_reason = serializers.CharField(allow_blank=True)
    superseded_by = serializers.UUIDField(allow_null=True)
    superseded_at = serializers.DateTimeField(allow_null=True)
    audit_chain_ok = serializers.BooleanField(
        allow_null=True,
        help_text="Whether the audit trail's check passed when the report was issued (null: not issued, or "
        "issued before the portal recorded it).",
    )
    audit_broken_at = serializers.IntegerField(
        allow_null=True, help_text="When the check failed: the audit event at which the chain was broken."
    )


class VerifyFileSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="The PDF you received. It is checked against the fingerprint, not stored.")


class VerifyFileResultSerializer(serializers.Serializer[Any]):
    matches = serializers.BooleanField(help_text="True when the file is exactly the issued report, byte for byte.")
    verification = VerificationSerializer()


def _verification_data(verification: services.Verification) -> dict[str, Any]:
    report = verification.report
    issued = report.status == ReportStatus.READY
    newer = verification.superseded_by
    return {
        "report_id": report.pk,
        "status": verification.status,
        "issuer_name": report.organisation.name,
        "issuer_company_number": report.organisation.company_number,
        "issued_at": report.rendered_at if issued else None,
        "valid_until": report.expires_at if issued else None,
        "sha256": report.sha256 if issued else None,
        "revoked_at": report.revoked_at,
        "revoked_reason": report.revoked_reason,
        "superseded_by": newer.pk if newer else None,
        "superseded_at": newer.rendered_at if newer else None,
        "audit_chain_ok": report.audit_chain_ok if issued else None,
        "audit_broken_at": report.audit_broken_at if issued else None,
    }


class VerifyRateThrottle(BaseThrottle):
    """The public verify page's own limit (`services.VERIFY_LIMIT_PER_MINUTE` per person or address), shared with
    the API."""

    def allow_request(self, request: Request, view: Any) -> bool:
        return not services.verify_rate_limited(requester_key(request._request))

    def wait(self) -> float:
        return 60.0


class VerifyView(GenericApiView):
    """Public, without authentication: who issued a report, when, its fingerprint and whether it
    still stands; POST a PDF to check it is exactly the issued report."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]
    serializer_class = VerificationSerializer
    pagination_class = None

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), VerifyRateThrottle()]

    def _verification(self, report_id: Any) -> services.Verification:
        verification = services.report_verification(report_id)
        if verification is None:
            raise exceptions.NotFound(_("There is no report with this id."))
        return verification

    @extend_schema(auth=[], operation_id="verify_report")
    def get(self, request: Request, report_id: Any) -> Response:
        return Response(VerificationSerializer(_verification_data(self._verification(report_id))).data)

    @extend_schema(
        auth=[],
        request={"multipart/form-data": VerifyFileSerializer},
        responses={200: VerifyFileResultSerializer},
        operation_id="verify_report_file",
    )
    def post(self, request: Request, report_id: Any) -> Response:
        verification = self._verification(report_id)
        body = VerifyFileSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        if upload.size > services.VERIFY_MAX_BYTES:
            raise exceptions.ValidationError(
                {"file": [_("The file is larger than any report: it cannot be the issued report.")]}
            )
        if verification.status == "not_ready":
            raise Conflict(_("This report has not been issued yet"))
        matches = services.file_matches(verification.report, upload)
        return Response(
            VerifyFileResultSerializer({"matches": matches, "verification": _verification_data(verification)}).data
        )
