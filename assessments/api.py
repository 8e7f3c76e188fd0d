"""API for self-assessments, their responses, the evidence library and action items.

Each view parses input (through the web's forms where the web has one, so both accept and refuse
the same things) and calls the services and selectors the pages call.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, IntegerField, Prefetch, Q, QuerySet
from django.db.models.functions import Cast
from django.forms import BaseForm
from django.http import Http404, HttpResponseBase
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from assessments import selectors, services
from assessments.forms import ActionItemForm, AssessmentForm, EvidenceForm
from assessments.models import (
    ActionItem,
    ActionStatus,
    Assessment,
    AssessmentStatus,
    Citation,
    Evidence,
)
from assessments.models import Response as CriterionResponse
from portal.api.base import OrganisationGenericView, OrganisationListView
from portal.api.errors import Conflict, service_error, service_errors
from portal.models import Membership, User
from portal.text import SingleLineValidator
from principles.framework import current_framework

# --- Shared pieces ---------------------------------------------------------------------------


class MemberRefSerializer(serializers.Serializer[Any]):
    """A person, by email and name (never by internal id)."""

    email = serializers.EmailField()
    full_name = serializers.CharField(allow_blank=True)


def _member_ref(user: Any) -> dict[str, str] | None:
    """What MemberRefSerializer(allow_null=True) gives, built directly."""
    return None if user is None else {"email": str(user.email), "full_name": str(user.full_name)}


_DATETIME = serializers.DateTimeField()  # formats as every serializer field does
_DATE = serializers.DateField()


def _form_invalid(form: BaseForm, rename: dict[str, str] | None = None) -> serializers.ValidationError:
    """The form's errors in the API's shape: per field, `non_field_errors` for the rest."""
    rename = rename or {}
    fields: dict[str, list[str]] = {}
    for name, errors in form.errors.items():
        key = "non_field_errors" if name == "__all__" else rename.get(name, name)
        fields.setdefault(key, []).extend(str(e) for e in errors)
    return serializers.ValidationError(fields)


def _body(request: Request) -> Any:
    if not isinstance(request.data, dict):
        raise serializers.ValidationError(_("Send a JSON object."))
    return request.data


def _form_data(values: dict[str, Any]) -> dict[str, str]:
    """JSON values as a form would receive them from a page: text (null and absent are empty)."""
    data: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if value is None:
            data[name] = ""
        elif isinstance(value, dict | list):
            errors[name] = [_("Give a single value.")]
        else:
            data[name] = str(value)
    if errors:
        raise serializers.ValidationError(errors)
    return data


# --- Assessments -----------------------------------------------------------------------------


class AssessmentSerializer(serializers.ModelSerializer[Assessment]):
    status = serializers.ChoiceField(choices=AssessmentStatus.choices)
    framework_version = serializers.IntegerField(source="framework.version")
    created_by = MemberRefSerializer(allow_null=True)
    submitted_by = MemberRefSerializer(allow_null=True)
    is_editable = serializers.BooleanField(help_text="Whether answers may be changed (draft or changes requested).")
    carried_over_from = serializers.UUIDField(
        source="carried_over_from_id",
        allow_null=True,
        help_text="The final self-assessment this one was started from, its answers carried over.",
    )

    class Meta:
        model = Assessment
        fields = [
            "id",
            "title",
            "status",
            "period_start",
            "period_end",
            "version",
            "framework_version",
            "is_editable",
            "created_at",
            "created_by",
            "submitted_at",
            "submitted_by",
            "finalised_at",
            "carried_over_from",
        ]

    def to_representation(self, assessment: Assessment) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""
        submitted_at, finalised_at, carried = (
            assessment.submitted_at,
            assessment.finalised_at,
            assessment.carried_over_from_id,
        )
        return {
            "id": str(assessment.pk),
            "title": assessment.title,
            "status": assessment.status,
            "period_start": _DATE.to_representation(assessment.period_start),
            "period_end": _DATE.to_representation(assessment.period_end),
            "version": int(assessment.version),
            "framework_version": int(assessment.framework.version),
            "is_editable": bool(assessment.is_editable),
            "created_at": _DATETIME.to_representation(assessment.created_at),
            "created_by": _member_ref(assessment.created_by),
            "submitted_at": None if submitted_at is None else _DATETIME.to_representation(submitted_at),
            "submitted_by": _member_ref(assessment.submitted_by),
            "finalised_at": None if finalised_at is None else _DATETIME.to_representation(finalised_at),
            "carried_over_from": None if carried is None else str(carried),
        }


# selectors.PrincipleProgress.status
PRINCIPLE_PROGRESS_STATUSES = [
    ("not_started", "Not started"),
    ("in_progress", "In progress"),
    ("completed", "Completed"),
]


class PrincipleProgressSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=PRINCIPLE_PROGRESS_STATUSES)
    total = serializers.IntegerField(help_text="Criteria in this principle.")
    answered = serializers.IntegerField(help_text="Criteria with a maturity level.")
    evidence_missing = serializers.IntegerField(help_text="Answered at maturity 3 or more without cited evidence.")
    expired_evidence = serializers.IntegerField(help_text="Citations of evidence past its expiry date.")
    overdue_actions = serializers.IntegerField()
    average_maturity = serializers.FloatField(allow_null=True)
    to_confirm = serializers.IntegerField(
        help_text="Answers carried over from the last assessment awaiting confirmation (not counted as answered)."
    )


class ProgressSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    answered = serializers.IntegerField(
        help_text="Criteria with a maturity level that counts (answers carried over count once confirmed)."
    )
    to_confirm = serializers.IntegerField(help_text="Answers carried over awaiting confirmation.")
    evidence_missing = serializers.IntegerField()
    overdue_actions = serializers.IntegerField()
    principles_completed = serializers.IntegerField()
    principles = PrincipleProgressSerializer(many=True)


def _progress(assessment: Assessment) -> dict[str, Any]:
    progress = selectors.assessment_progress(assessment)
    return {
        "total": progress.total,
        "answered": progress.answered,
        "to_confirm": progress.to_confirm,
        "evidence_missing": progress.evidence_missing,
        "overdue_actions": progress.overdue_actions,
        "principles_completed": progress.completed,
        "principles": [
            {
                "number": p.principle.number,
                "title": p.principle.title,
                "status": p.status,
                "total": p.total,
                "answered": p.answered,
                "evidence_missing": p.evidence_missing,
                "expired_evidence": p.expired_evidence,
                "overdue_actions": p.overdue_actions,
                "average_maturity": p.average_maturity,
                "to_confirm": p.to_confirm,
            }
            for p in progress.principles
        ],
    }


class AssessmentDetailSerializer(AssessmentSerializer):
    progress = serializers.SerializerMethodField()

    class Meta(AssessmentSerializer.Meta):
        fields = [*AssessmentSerializer.Meta.fields, "progress"]

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, assessment: Assessment) -> dict[str, Any]:
        return ProgressSerializer(_progress(assessment)).data

    def to_representation(self, assessment: Assessment) -> dict[str, Any]:
        return {**super().to_representation(assessment), "progress": self.get_progress(assessment)}


class AssessmentCreateSerializer(serializers.Serializer[Any]):
    """Documents the body; the web's AssessmentForm validates it."""

    title = serializers.CharField(max_length=200, validators=[SingleLineValidator("Title")])
    period_start = serializers.DateField()
    period_end = serializers.DateField()


class AssessmentQuery(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=AssessmentStatus.choices, required=False)


def visible_id(queryset: QuerySet[Any], pk: Any) -> Any:
    """The id of the item the caller may see (404 otherwise), read alone: for lists of what it holds,
    which need nothing else of it (one narrow query, cheaper to build than the item with its people)."""
    found = queryset.filter(pk=pk).order_by().values_list("pk", flat=True).first()
    if found is None:
        raise Http404
    return found


def _assessment_detail(membership: Membership, assessment_id: Any) -> Assessment:
    return selectors.get_assessment_for(membership, assessment_id)


def _assessments(membership: Membership) -> QuerySet[Assessment]:
    return selectors.visible_assessments(membership).select_related("framework", "created_by", "submitted_by")


class AssessmentListView(OrganisationListView):
    """Self-assessment cycles, newest first. Auditors see finalised ones only."""

    actions = {"GET": "view_dashboard", "POST": "edit_content"}
    serializer_class = AssessmentSerializer
    query_serializer_class = AssessmentQuery
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Assessment]:
        queryset = _assessments(self.membership)
        wanted = self.query().get("status")
        return queryset.filter(status=wanted) if wanted else queryset

    @extend_schema(
        request=AssessmentCreateSerializer,
        responses={201: AssessmentDetailSerializer},
        operation_id="assessments_create",
    )
    def post(self, request: Request, org: str) -> Response:
        """Start a cycle against the current framework, with an empty answer for every criterion."""
        framework = current_framework()
        if framework is None:
            raise Conflict(_("No framework is loaded yet, so an assessment cannot be started."))
        body = _body(request)
        form = AssessmentForm(_form_data({name: body.get(name) for name in ("title", "period_start", "period_end")}))
        if not form.is_valid():
            raise _form_invalid(form)
        assessment = services.assessment_create(
            organisation=self.organisation, actor=request.user, framework=framework, **form.cleaned_data
        )
        assessment = _assessments(self.membership).get(pk=assessment.pk)
        location = reverse("api:assessment_detail", kwargs={"org": org, "assessment_id": assessment.pk})
        return Response(
            AssessmentDetailSerializer(assessment).data, status=status.HTTP_201_CREATED, headers={"Location": location}
        )


class AssessmentDetailView(OrganisationGenericView):
    """One cycle with its progress per principle."""

    serializer_class = AssessmentDetailSerializer
    pagination_class = None

    def get(self, request: Request, org: str, assessment_id: Any) -> Response:
        assessment = _assessments(self.membership).filter(pk=assessment_id).first()
        if assessment is None:
            raise Http404
        return Response(AssessmentDetailSerializer(assessment).data)


class SubmitResultSerializer(serializers.Serializer[Any]):
    assessment = AssessmentDetailSerializer()
    notified = serializers.ListField(
        child=serializers.EmailField(), help_text="The workforce representatives emailed to review it."
    )


class AssessmentSubmitView(OrganisationGenericView):
    """Send the assessment to workforce review. Refused (400) with one message per criterion still
    missing a maturity level or the evidence its level needs; 409 if it was already submitted."""

    actions = {"POST": "edit_content"}
    serializer_class = SubmitResultSerializer
    pagination_class = None

    def _refuse(self, assessment: Assessment) -> Exception:
        if not assessment.is_editable:
            return Conflict(
                _("This assessment is %(status)s and cannot be submitted again.")
                % {"status": assessment.get_status_display().lower()}
            )
        problems = services.submission_problems(assessment)
        fields: dict[str, Any] = {f"responses.{p.response.criterion.code}": [p.message] for p in problems}
        fields["non_field_errors"] = [
            ngettext(
                "%(n)s criterion needs attention before this assessment can be submitted: %(list)s",
                "%(n)s criteria need attention before this assessment can be submitted: %(list)s",
                len(problems),
            )
            % {"n": len(problems), "list": "; ".join(p.message for p in problems)}
        ]
        return serializers.ValidationError(fields)

    @extend_schema(request=None, responses={200: SubmitResultSerializer}, operation_id="assessments_submit")
    def post(self, request: Request, org: str, assessment_id: Any) -> Response:
        assessment = _assessment_detail(self.membership, assessment_id)
        if not assessment.is_editable or services.submission_problems(assessment):
            raise self._refuse(assessment)
        try:
            notified = services.assessment_submit(assessment=assessment, actor=request.user)
        except DjangoValidationError:
            # Changed since the check above (another request submitted or edited it).
            assessment.refresh_from_db()
            raise self._refuse(assessment) from None
        assessment = _assessments(self.membership).get(pk=assessment.pk)
        return Response(SubmitResultSerializer({"assessment": assessment, "notified": notified}).data)


# --- Responses -------------------------------------------------------------------------------


class CriterionResponseSerializer(serializers.ModelSerializer[CriterionResponse]):
    criterion_code = serializers.CharField(source="criterion.code")
    criterion_title = serializers.CharField(source="criterion.title")
    principle_number = serializers.IntegerField(source="criterion.principle.number")
    evidence_expected = serializers.BooleanField(source="criterion.evidence_expected")
    maturity = serializers.IntegerField(allow_null=True, min_value=0, max_value=4)
    evidence_ids = serializers.SerializerMethodField(help_text="The evidence files cited.")
    updated_by = MemberRefSerializer(allow_null=True)
    carried_over = serializers.BooleanField(
        help_text="Copied from the previous final self-assessment as a starting point."
    )
    awaiting_confirmation = serializers.BooleanField(
        help_text="Carried over and not yet confirmed or changed: it does not count as answered (progress, "
        "submission) until then. Confirm it with POST .../confirm/, or change it with PATCH."
    )
    confirmed_at = serializers.DateTimeField(allow_null=True)
    confirmed_by = MemberRefSerializer(allow_null=True)

    class Meta:
        model = CriterionResponse
        fields = [
            "id",
            "criterion_code",
            "criterion_title",
            "principle_number",
            "evidence_expected",
            "maturity",
            "narrative",
            "evidence_ids",
            "updated_at",
            "updated_by",
            "carried_over",
            "awaiting_confirmation",
            "confirmed_at",
            "confirmed_by",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_evidence_ids(self, response: CriterionResponse) -> list[str]:
        return sorted(str(c.evidence_id) for c in _cited(response))

    def to_representation(self, response: CriterionResponse) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""
        criterion, confirmed_at = response.criterion, response.confirmed_at
        return {
            "id": str(response.pk),
            "criterion_code": criterion.code,
            "criterion_title": criterion.title,
            "principle_number": int(criterion.principle.number),
            "evidence_expected": bool(criterion.evidence_expected),
            "maturity": None if response.maturity is None else int(response.maturity),
            "narrative": response.narrative,
            "evidence_ids": self.get_evidence_ids(response),
            "updated_at": None if response.updated_at is None else _DATETIME.to_representation(response.updated_at),
            "updated_by": _member_ref(response.updated_by),
            "carried_over": bool(response.carried_over),
            "awaiting_confirmation": bool(response.awaiting_confirmation),
            "confirmed_at": None if confirmed_at is None else _DATETIME.to_representation(confirmed_at),
            "confirmed_by": _member_ref(response.confirmed_by),
        }


_MATURITY = _("Choose a maturity level from 0 to 4")


class ResponsePatchSerializer(serializers.Serializer[Any]):
    """Any of the three; what is left out stays as it is."""

    maturity = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        max_value=4,
        required=False,
        error_messages={"min_value": _MATURITY, "max_value": _MATURITY, "invalid": _MATURITY},
        help_text="0 to 4, or null for not answered yet.",
    )
    narrative = serializers.CharField(allow_blank=True, required=False, trim_whitespace=True)
    evidence_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, help_text="Every file to cite (replaces the current list)."
    )


def _cited(response: CriterionResponse) -> list[Citation]:
    """The answer's citations: prefetched as a list by `_responses` (no queryset cloned per row), else read now."""
    cited: list[Citation] | None = getattr(response, "cited", None)
    return list(response.citations.all()) if cited is None else cited


def _responses(assessment: Any) -> QuerySet[CriterionResponse]:
    return (
        CriterionResponse.objects.filter(assessment=assessment)
        .select_related("criterion__principle", "updated_by", "confirmed_by")
        .prefetch_related(
            Prefetch("citations", queryset=Citation.objects.only("id", "response_id", "evidence_id"), to_attr="cited")
        )
        .annotate(sequence=Cast(F("criterion__principle__number") * 1000 + F("criterion__position"), IntegerField()))
    )


class ResponseQuery(serializers.Serializer[Any]):
    principle = serializers.IntegerField(required=False, min_value=1, help_text="Only this principle's criteria.")


# What a row of the list reads: the answer, and only the columns shown of its criterion and people.
_RESPONSE_ROW = (
    *(f.name for f in CriterionResponse._meta.concrete_fields),
    "criterion__code",
    "criterion__title",
    "criterion__evidence_expected",
    "criterion__principle__number",
    "updated_by__email",
    "updated_by__full_name",
    "confirmed_by__email",
    "confirmed_by__full_name",
)


class ResponseListView(OrganisationListView):
    """The answer to every criterion, in the framework's order."""

    serializer_class = CriterionResponseSerializer
    query_serializer_class = ResponseQuery
    ordering = "sequence"

    def get_queryset(self) -> QuerySet[CriterionResponse]:
        queryset = _responses(
            visible_id(selectors.visible_assessments(self.membership), self.kwargs["assessment_id"])
        ).only(*_RESPONSE_ROW)
        number = self.query().get("principle")
        return queryset.filter(criterion__principle__number=number) if number else queryset


def _criterion_response(membership: Membership, assessment_id: Any, criterion_code: str) -> CriterionResponse:
    assessment = _assessment_detail(membership, assessment_id)
    response = _responses(assessment).filter(criterion__code=criterion_code).first()
    if response is None:
        raise Http404
    response.assessment = assessment
    return response


class ResponseDetailView(OrganisationGenericView):
    """One criterion's answer. PATCH saves it as the page's autosave does; 409 once the assessment
    has been submitted (until changes are requested)."""

    actions = {"GET": "view_dashboard", "PATCH": "edit_content"}
    serializer_class = CriterionResponseSerializer
    pagination_class = None

    def _response(self, assessment_id: Any, criterion_code: str) -> CriterionResponse:
        return _criterion_response(self.membership, assessment_id, criterion_code)

    def get(self, request: Request, org: str, assessment_id: Any, criterion_code: str) -> Response:
        return Response(CriterionResponseSerializer(self._response(assessment_id, criterion_code)).data)

    @extend_schema(request=ResponsePatchSerializer, responses={200: CriterionResponseSerializer})
    def patch(self, request: Request, org: str, assessment_id: Any, criterion_code: str) -> Response:
        response = self._response(assessment_id, criterion_code)
        assessment = response.assessment
        if not assessment.is_editable:
            raise Conflict(
                _("This assessment is %(status)s and cannot be edited until changes are requested.")
                % {"status": assessment.get_status_display().lower()}
            )
        body = ResponsePatchSerializer(data=_body(request))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        evidence_ids = data.get("evidence_ids")
        if evidence_ids is None:
            evidence_ids = [c.evidence_id for c in _cited(response)]
        try:
            services.response_save(
                response=response,
                actor=request.user,
                maturity=data.get("maturity", response.maturity),
                narrative=data.get("narrative", response.narrative),
                evidence_ids=list(evidence_ids),
            )
        except DjangoValidationError as exc:
            if not Assessment.objects.get(pk=assessment.pk).is_editable:
                raise Conflict(" ".join(exc.messages)) from None
            raise service_error(exc, {"evidence": "evidence_ids"}) from None
        return Response(CriterionResponseSerializer(self._response(assessment_id, criterion_code)).data)


class ResponseConfirmView(OrganisationGenericView):
    """Confirm an answer carried over from the previous self-assessment as it stands, so it counts as
    answered. Idempotent: confirming it again, or an answer that was not carried over, changes nothing
    and answers 200 with the answer. 409 once the assessment has been submitted (until changes are
    requested)."""

    actions = {"POST": "edit_content"}
    serializer_class = CriterionResponseSerializer
    pagination_class = None

    @extend_schema(request=None, responses={200: CriterionResponseSerializer}, operation_id="responses_confirm")
    def post(self, request: Request, org: str, assessment_id: Any, criterion_code: str) -> Response:
        response = _criterion_response(self.membership, assessment_id, criterion_code)
        with service_errors():
            services.response_confirm(response=response, actor=request.user)
        return Response(
            CriterionResponseSerializer(_criterion_response(self.membership, assessment_id, criterion_code)).data
        )


class AssessmentNextSerializer(serializers.Serializer[Any]):
    """Documents the body; each field left out takes its default: the previous cycle's title and period,
    a year on."""

    title = serializers.CharField(max_length=200, required=False, validators=[SingleLineValidator("Title")])
    period_start = serializers.DateField(required=False)
    period_end = serializers.DateField(required=False)


class AssessmentNextView(OrganisationGenericView):
    """Start the next self-assessment from this one, the organisation's latest final assessment: its
    answers are carried over awaiting confirmation, its citations of files still in date are carried,
    its open action items move to the new one. 409 if it is not final, not the latest, or the next
    one was already started from it."""

    actions = {"POST": "edit_content"}
    serializer_class = AssessmentDetailSerializer
    pagination_class = None

    @extend_schema(
        request=AssessmentNextSerializer, responses={201: AssessmentDetailSerializer}, operation_id="assessments_next"
    )
    def post(self, request: Request, org: str, assessment_id: Any) -> Response:
        previous = _assessment_detail(self.membership, assessment_id)
        framework = current_framework()
        if framework is None:
            raise Conflict(_("No framework is loaded yet, so an assessment cannot be started."))
        body = _body(request) if request.data else {}
        defaults = services.next_cycle_defaults(previous)
        values = {name: body.get(name, defaults[name]) for name in ("title", "period_start", "period_end")}
        form = AssessmentForm(_form_data(values))
        if not form.is_valid():
            raise _form_invalid(form)
        with service_errors():
            assessment = services.assessment_create(
                organisation=self.organisation,
                actor=request.user,
                framework=framework,
                carry_over_from=previous,
                **form.cleaned_data,
            )
        assessment = _assessments(self.membership).get(pk=assessment.pk)
        location = reverse("api:assessment_detail", kwargs={"org": org, "assessment_id": assessment.pk})
        return Response(
            AssessmentDetailSerializer(assessment).data, status=status.HTTP_201_CREATED, headers={"Location": location}
        )


# --- Evidence ----------------------------------------------------------------------------------


class EvidenceSerializer(serializers.ModelSerializer[Evidence]):
    name = serializers.CharField(source="original_name")
    is_expired = serializers.SerializerMethodField()
    uploaded_by = MemberRefSerializer(allow_null=True)
    citation_count = serializers.IntegerField(help_text="Answers citing this file.")

    class Meta:
        model = Evidence
        fields = [
            "id",
            "name",
            "kind",
            "content_type",
            "size",
            "sha256",
            "description",
            "effective_date",
            "expiry_date",
            "is_expired",
            "uploaded_at",
            "uploaded_by",
            "citation_count",
        ]

    def get_is_expired(self, evidence: Evidence) -> bool:
        return evidence.is_expired()

    def to_representation(self, evidence: Evidence) -> dict[str, Any]:
        """What the fields above give, built directly: DRF's walk over them was over a third of the
        list's cost (a test compares the two)."""
        expiry = evidence.expiry_date
        return {
            "id": str(evidence.pk),
            "name": evidence.original_name,
            "kind": evidence.kind,
            "content_type": evidence.content_type,
            "size": int(evidence.size),
            "sha256": evidence.sha256,
            "description": evidence.description,
            "effective_date": _DATE.to_representation(evidence.effective_date),
            "expiry_date": None if expiry is None else _DATE.to_representation(expiry),
            "is_expired": evidence.is_expired(),
            "uploaded_at": _DATETIME.to_representation(evidence.uploaded_at),
            "uploaded_by": _member_ref(evidence.uploaded_by),
            "citation_count": int(evidence.citation_count),  # type: ignore[attr-defined]  # annotated
        }


class EvidenceCitationSerializer(serializers.Serializer[Any]):
    assessment_id = serializers.UUIDField()
    assessment_title = serializers.CharField()
    assessment_status = serializers.ChoiceField(choices=AssessmentStatus.choices)
    criterion_code = serializers.CharField()


class EvidenceDetailSerializer(EvidenceSerializer):
    cited_by = serializers.SerializerMethodField()
    deletable = serializers.SerializerMethodField(
        help_text="False while a submitted or signed assessment cites the file."
    )

    class Meta(EvidenceSerializer.Meta):
        fields = [*EvidenceSerializer.Meta.fields, "cited_by", "deletable"]

    @extend_schema_field(EvidenceCitationSerializer(many=True))
    def get_cited_by(self, evidence: Evidence) -> list[dict[str, Any]]:
        responses = (
            CriterionResponse.objects.filter(citations__evidence=evidence)
            .select_related("criterion__principle", "assessment")
            .order_by("assessment__created_at", "criterion__principle__number", "criterion__position")
        )
        return [
            {
                "assessment_id": r.assessment_id,
                "assessment_title": r.assessment.title,
                "assessment_status": r.assessment.status,
                "criterion_code": r.criterion.code,
            }
            for r in responses
        ]

    def get_deletable(self, evidence: Evidence) -> bool:
        return not services.evidence_locked_by(evidence)

    def to_representation(self, evidence: Evidence) -> dict[str, Any]:
        return {
            **super().to_representation(evidence),
            "cited_by": self.get_cited_by(evidence),
            "deletable": self.get_deletable(evidence),
        }


class EvidenceUploadSerializer(serializers.Serializer[Any]):
    """Documents the multipart body; the web's EvidenceForm and the upload checks validate it."""

    file = serializers.FileField(
        help_text="PDF, PNG, JPEG, Word (DOCX), Excel (XLSX), CSV or plain text; its type is checked by content."
    )
    description = serializers.CharField(max_length=500)
    effective_date = serializers.DateField()
    expiry_date = serializers.DateField(required=False, allow_null=True)


class EvidenceQuery(serializers.Serializer[Any]):
    search = serializers.CharField(required=False, max_length=200, help_text="Search names and descriptions.")


class EvidenceListView(OrganisationListView):
    """The evidence library, newest first (not for auditors, who reach files through finalised work)."""

    actions = {"GET": "view_evidence_library", "POST": "edit_content"}
    serializer_class = EvidenceSerializer
    query_serializer_class = EvidenceQuery
    ordering = "-uploaded_at"
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Evidence]:
        search = (self.query().get("search") or "").strip()
        return selectors.evidence_library(self.organisation, search=search)

    @extend_schema(
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={201: EvidenceDetailSerializer},
        operation_id="evidence_upload",
    )
    def post(self, request: Request, org: str) -> Response:
        """Upload a file (multipart/form-data). Its type is decided from its content, as on the web."""
        form = EvidenceForm(request.data, request.FILES)
        if not form.is_valid():
            raise _form_invalid(form)
        upload = form.cleaned_data["file"]
        evidence = services.evidence_upload(
            organisation=self.organisation,
            actor=request.user,
            file=upload,
            name=upload.name,
            description=form.cleaned_data["description"],
            effective_date=form.cleaned_data["effective_date"],
            expiry_date=form.cleaned_data["expiry_date"],
        )
        evidence = selectors.evidence_library(self.organisation).get(pk=evidence.pk)
        location = reverse("api:evidence_detail", kwargs={"org": org, "evidence_id": evidence.pk})
        return Response(
            EvidenceDetailSerializer(evidence).data, status=status.HTTP_201_CREATED, headers={"Location": location}
        )


class EvidenceDetailView(OrganisationGenericView):
    """One file's record and where it is cited; DELETE removes it unless submitted work cites it (409)."""

    actions = {"GET": "view_evidence_library", "DELETE": "edit_content"}
    serializer_class = EvidenceDetailSerializer
    pagination_class = None

    def _evidence(self, evidence_id: Any) -> Evidence:
        evidence = selectors.evidence_library(self.organisation).filter(pk=evidence_id).first()
        if evidence is None:
            raise Http404
        return evidence

    def get(self, request: Request, org: str, evidence_id: Any) -> Response:
        return Response(EvidenceDetailSerializer(self._evidence(evidence_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, org: str, evidence_id: Any) -> Response:
        evidence = self._evidence(evidence_id)
        try:
            services.evidence_delete(evidence=evidence, actor=request.user)
        except DjangoValidationError as exc:
            raise Conflict(" ".join(exc.messages)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class EvidenceDownloadView(OrganisationGenericView):
    """The file itself, as an attachment. Auditors may download only files cited by final work, and
    each of their downloads is recorded in the audit trail."""

    actions = {"GET": "download_evidence"}
    serializer_class = EvidenceSerializer
    pagination_class = None

    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY}, operation_id="evidence_download")
    def get(self, request: Request, org: str, evidence_id: Any) -> HttpResponseBase:
        evidence = Evidence.objects.filter(organisation=self.organisation, pk=evidence_id).first()
        if evidence is None:
            raise Http404
        services.evidence_download_allow(membership=self.membership, evidence=evidence, actor=request.user)
        return services.evidence_file_response(evidence)


# --- Action items --------------------------------------------------------------------------------


class ActionItemSerializer(serializers.ModelSerializer[ActionItem]):
    status = serializers.ChoiceField(choices=ActionStatus.choices)
    owner = MemberRefSerializer(allow_null=True)
    is_overdue = serializers.SerializerMethodField()
    assessment_id = serializers.UUIDField(allow_null=True)
    criterion_code = serializers.CharField(source="response.criterion.code", allow_null=True, default=None)
    plan_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "title",
            "status",
            "owner",
            "due_date",
            "is_overdue",
            "assessment_id",
            "criterion_code",
            "plan_id",
            "source",
            "created_at",
            "completed_at",
        ]

    def get_is_overdue(self, item: ActionItem) -> bool:
        return item.is_overdue()

    def to_representation(self, item: ActionItem) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""
        response, completed_at = item.response, item.completed_at
        return {
            "id": str(item.pk),
            "title": item.title,
            "status": item.status,
            "owner": _member_ref(item.owner),
            "due_date": _DATE.to_representation(item.due_date),
            "is_overdue": item.is_overdue(),
            "assessment_id": None if item.assessment_id is None else str(item.assessment_id),
            "criterion_code": None if response is None else response.criterion.code,
            "plan_id": None if item.plan_id is None else str(item.plan_id),
            "source": item.source,
            "created_at": _DATETIME.to_representation(item.created_at),
            "completed_at": None if completed_at is None else _DATETIME.to_representation(completed_at),
        }


_OWNER_HELP = "The owner by their email address in this organisation; null for no owner yet."
_OWNER_ID_HELP = "Or the owner's membership id (from the members list) instead of owner_email."


class ActionItemCreateSerializer(serializers.Serializer[Any]):
    """Documents the body; the web's ActionItemForm validates it."""

    assessment_id = serializers.UUIDField()
    criterion_code = serializers.CharField(max_length=16, help_text="The criterion the action raises, e.g. `1.2`.")
    title = serializers.CharField(max_length=300)
    due_date = serializers.DateField()
    owner_email = serializers.EmailField(required=False, allow_null=True, help_text=_OWNER_HELP)
    owner_membership_id = serializers.UUIDField(required=False, allow_null=True, help_text=_OWNER_ID_HELP)


class _ActionItemTarget(serializers.Serializer[Any]):
    assessment_id = serializers.UUIDField()
    criterion_code = serializers.CharField(max_length=16)


class ActionItemPatchSerializer(serializers.Serializer[Any]):
    """Any of these; what is left out stays as it is."""

    title = serializers.CharField(max_length=300, required=False)
    due_date = serializers.DateField(required=False)
    status = serializers.ChoiceField(choices=ActionStatus.choices, required=False)
    owner_email = serializers.EmailField(required=False, allow_null=True, help_text=_OWNER_HELP)
    owner_membership_id = serializers.UUIDField(required=False, allow_null=True, help_text=_OWNER_ID_HELP)


class ActionItemQuery(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=ActionStatus.choices, required=False)
    overdue = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: past due and not done; false: the others."
    )
    assessment = serializers.UUIDField(required=False, help_text="Only this assessment's actions.")


_NOT_A_MEMBER = _("Choose an owner from the organisation's members")


def _owner(organisation: Any, data: Any) -> tuple[bool, User | None]:
    """(given, owner) from `owner_email` or `owner_membership_id`; refuses anyone not a member here."""
    has_email, has_id = "owner_email" in data, "owner_membership_id" in data
    if has_email and has_id and data["owner_email"] not in (None, "") and data["owner_membership_id"] not in (None, ""):
        raise serializers.ValidationError({"owner_email": [_("Give owner_email or owner_membership_id, not both.")]})
    if not (has_email or has_id):
        return False, None
    members = Membership.objects.filter(organisation=organisation).select_related("user")
    if has_email and data["owner_email"] not in (None, ""):
        field = serializers.EmailField()
        try:
            email = field.run_validation(data["owner_email"])
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"owner_email": exc.detail}) from None
        membership = members.filter(user__email__iexact=email).first()
        if membership is None:
            raise serializers.ValidationError({"owner_email": [_NOT_A_MEMBER]})
        return True, membership.user
    if has_id and data["owner_membership_id"] not in (None, ""):
        try:
            membership_id = serializers.UUIDField().run_validation(data["owner_membership_id"])
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"owner_membership_id": exc.detail}) from None
        membership = members.filter(pk=membership_id).first()
        if membership is None:
            raise serializers.ValidationError({"owner_membership_id": [_NOT_A_MEMBER]})
        return True, membership.user
    return True, None


def _members(organisation: Any) -> list[User]:
    """Who an action can be given to."""
    return selectors.owner_choices(organisation)


def _action_items(membership: Membership) -> QuerySet[ActionItem]:
    return selectors.visible_action_items(membership).select_related("owner", "response__criterion")


class ActionItemListView(OrganisationListView):
    """Action items, newest first. Auditors see those of finalised assessments and plans only."""

    actions = {"GET": "view_dashboard", "POST": "edit_content"}
    serializer_class = ActionItemSerializer
    query_serializer_class = ActionItemQuery
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet[ActionItem]:
        queryset = _action_items(self.membership)
        query = self.query()
        if query.get("status"):
            queryset = queryset.filter(status=query["status"])
        if query.get("assessment"):
            queryset = queryset.filter(assessment_id=query["assessment"])
        overdue = Q(due_date__lt=timezone.localdate()) & ~Q(status=ActionStatus.DONE)
        if query.get("overdue") is True:
            queryset = queryset.filter(overdue)
        elif query.get("overdue") is False:
            queryset = queryset.exclude(overdue)
        return queryset

    @extend_schema(
        request=ActionItemCreateSerializer, responses={201: ActionItemSerializer}, operation_id="action_items_create"
    )
    def post(self, request: Request, org: str) -> Response:
        """Add an action to a criterion of an assessment."""
        data = _body(request)
        where = _ActionItemTarget(data=data)
        where.is_valid(raise_exception=True)
        assessment = (
            selectors.visible_assessments(self.membership).filter(pk=where.validated_data["assessment_id"]).first()
        )
        if assessment is None:
            raise serializers.ValidationError(
                {"assessment_id": [_("No assessment with this id in this organisation.")]}
            )
        response = (
            CriterionResponse.objects.select_related("criterion", "assessment", "organisation")
            .filter(assessment=assessment, criterion__code=where.validated_data["criterion_code"])
            .first()
        )
        if response is None:
            raise serializers.ValidationError(
                {"criterion_code": [_("This assessment has no criterion with this code.")]}
            )
        _given, owner = _owner(self.organisation, data)
        form = ActionItemForm(
            {
                **_form_data({"title": data.get("title"), "due_date": data.get("due_date")}),
                "owner": str(owner.pk) if owner else "",
            },
            members=_members(self.organisation),
        )
        if not form.is_valid():
            raise _form_invalid(form, {"owner": "owner_email"})
        try:
            item = services.action_item_create(response=response, actor=request.user, **form.cleaned_data)
        except DjangoValidationError as exc:
            raise service_error(exc, {"owner": "owner_email"}) from None
        item = _action_items(self.membership).get(pk=item.pk)
        location = reverse("api:action_item_detail", kwargs={"org": org, "action_item_id": item.pk})
        return Response(ActionItemSerializer(item).data, status=status.HTTP_201_CREATED, headers={"Location": location})


class ActionItemDetailView(OrganisationGenericView):
    """One action item. PATCH and DELETE work on an assessment's actions; a plan's actions come from
    its equality impact assessment and are changed there (409)."""

    actions = {"GET": "view_dashboard", "PATCH": "edit_content", "DELETE": "edit_content"}
    serializer_class = ActionItemSerializer
    pagination_class = None

    def _item(self, action_item_id: Any, *, editing: bool = False) -> ActionItem:
        item = _action_items(self.membership).filter(pk=action_item_id).first()
        if item is None:
            raise Http404
        if editing and item.assessment_id is None:
            raise Conflict(_("This action comes from a plan's equality impact assessment: change it on the plan."))
        return item

    def get(self, request: Request, org: str, action_item_id: Any) -> Response:
        return Response(ActionItemSerializer(self._item(action_item_id)).data)

    @extend_schema(request=ActionItemPatchSerializer, responses={200: ActionItemSerializer})
    def patch(self, request: Request, org: str, action_item_id: Any) -> Response:
        item = self._item(action_item_id, editing=True)
        data = _body(request)
        given, owner = _owner(self.organisation, data)
        if not given:
            owner = item.owner
        form = ActionItemForm(
            {
                **_form_data(
                    {
                        "title": data.get("title", item.title),
                        "due_date": data.get("due_date", item.due_date.isoformat()),
                        "status": data.get("status", item.status),
                    }
                ),
                "owner": str(owner.pk) if owner else "",
            },
            instance=item,
            members=_members(self.organisation),
        )
        if not form.is_valid():
            raise _form_invalid(form, {"owner": "owner_email"})
        try:
            services.action_item_update(
                item=ActionItem.objects.get(pk=item.pk), actor=request.user, **form.cleaned_data
            )
        except DjangoValidationError as exc:
            raise service_error(exc, {"owner": "owner_email"}) from None
        return Response(ActionItemSerializer(self._item(action_item_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, org: str, action_item_id: Any) -> Response:
        item = self._item(action_item_id, editing=True)
        services.action_item_delete(item=item, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- URLs --------------------------------------------------------------------------------------

org = "organisations/<slug:org>/"
assessment = f"{org}assessments/<uuid:assessment_id>/"

urlpatterns = [
    path(f"{org}assessments/", AssessmentListView.as_view(), name="assessment_list"),
    path(assessment, AssessmentDetailView.as_view(), name="assessment_detail"),
    path(f"{assessment}submit/", AssessmentSubmitView.as_view(), name="assessment_submit"),
    path(f"{assessment}responses/", ResponseListView.as_view(), name="response_list"),
    path(f"{assessment}next/", AssessmentNextView.as_view(), name="assessment_next"),
    path(f"{assessment}responses/<str:criterion_code>/", ResponseDetailView.as_view(), name="response_detail"),
    path(
        f"{assessment}responses/<str:criterion_code>/confirm/", ResponseConfirmView.as_view(), name="response_confirm"
    ),
    path(f"{org}evidence/", EvidenceListView.as_view(), name="evidence_list"),
    path(f"{org}evidence/<uuid:evidence_id>/", EvidenceDetailView.as_view(), name="evidence_detail"),
    path(f"{org}evidence/<uuid:evidence_id>/download/", EvidenceDownloadView.as_view(), name="evidence_download"),
    path(f"{org}action-items/", ActionItemListView.as_view(), name="action_item_list"),
    path(f"{org}action-items/<uuid:action_item_id>/", ActionItemDetailView.as_view(), name="action_item_detail"),
]
