"""API for workforce surveys: read-only. The list, and one survey with its questions, both sides'
approvals and, once closed, its frozen aggregate results (`aggregate_results`).

No endpoint reads a response: a survey's only results are `Survey.results`, computed with suppression
when it closed (the individual answers are deleted then), and null before. Who sees which survey is the
web's rule (`surveys.visible_surveys`): any member, except that an auditor sees closed surveys only.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from assessments import surveys
from assessments.api import _DATE, _DATETIME
from assessments.models import QuestionKind, Survey, SurveyQuestion, SurveyStatus
from portal.api.base import OrganisationGenericView, OrganisationListView
from portal.models import Signature, SignatureCapacity

# Each choice set is one named component, so the survey's and the question's `status` and `kind` do
# not collide with the other apps' fields of the same name in the schema's enum naming.


@extend_schema_field(
    {
        "type": "string",
        "enum": list(SurveyStatus.values),
        "description": "`draft`: being written and approved; `open`: taking answers; `closed`: results frozen.",
    },
    component_name="SurveyStatusEnum",
)
class SurveyStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=SurveyStatus.choices, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "enum": list(QuestionKind.values),
        "description": "`likert`: agree or disagree (five points); `yes_no`; `text`: a written answer "
        "(optional); `group`: a grouping question (optional), answered from `options`.",
    },
    component_name="SurveyQuestionKindEnum",
)
class QuestionKindField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=QuestionKind.choices, **kwargs)


# --- The survey ---------------------------------------------------------------------------------


class SurveySummarySerializer(serializers.ModelSerializer[Survey]):
    status = SurveyStatusField(read_only=True)
    plan_id = serializers.UUIDField(read_only=True, allow_null=True, help_text="The plan the survey is about, if any.")
    repeats_id = serializers.UUIDField(
        read_only=True,
        allow_null=True,
        help_text="The earlier survey this one repeats (after the change went live), for before-and-after results.",
    )
    threshold = serializers.IntegerField(
        read_only=True, help_text="The fewest responses for any result to be shown (never under 5)."
    )
    bound_to_plan = serializers.BooleanField(
        read_only=True,
        help_text="Closed while its plan was open to review: the results are part of the plan's consultation "
        "record, which both sides sign.",
    )
    results_hash = serializers.SerializerMethodField(
        help_text="SHA-256 of the frozen results (`aggregate_results`, as canonical JSON); null until closed."
    )

    class Meta:
        model = Survey
        fields = [
            "id",
            "title",
            "status",
            "threshold",
            "plan_id",
            "repeats_id",
            "created_at",
            "opened_on",
            "closed_on",
            "codes_printed",
            "invitations_sent",
            "bound_to_plan",
            "results_hash",
        ]
        read_only_fields = fields

    def to_representation(self, survey: Survey) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""
        opened_on, closed_on = survey.opened_on, survey.closed_on
        return {
            "id": str(survey.pk),
            "title": str(survey.title),
            "status": survey.status,
            "threshold": int(survey.threshold),
            "plan_id": None if survey.plan_id is None else str(survey.plan_id),
            "repeats_id": None if survey.repeats_id is None else str(survey.repeats_id),
            "created_at": _DATETIME.to_representation(survey.created_at),
            "opened_on": None if opened_on is None else _DATE.to_representation(opened_on),
            "closed_on": None if closed_on is None else _DATE.to_representation(closed_on),
            "codes_printed": int(survey.codes_printed),
            "invitations_sent": int(survey.invitations_sent),
            "bound_to_plan": bool(survey.bound_to_plan),
            "results_hash": self.get_results_hash(survey),
        }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_results_hash(self, survey: Survey) -> str | None:
        return survey.results_hash or None


class SurveyQuestionSerializer(serializers.ModelSerializer[SurveyQuestion]):
    kind = QuestionKindField(read_only=True)
    principle = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The principle (1 to 6) a question from the bank is about."
    )
    options = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="A grouping question's answers; empty otherwise."
    )

    class Meta:
        model = SurveyQuestion
        fields = ["id", "position", "kind", "text", "principle", "options"]
        read_only_fields = fields


class SurveyApprovalSerializer(serializers.ModelSerializer[Signature]):
    content_hash = serializers.CharField(read_only=True, help_text="SHA-256 of the questions as approved.")

    class Meta:
        model = Signature
        fields = ["typed_name", "signed_at", "content_hash"]
        read_only_fields = fields


class SurveyApprovalsSerializer(serializers.Serializer[Any]):
    """Each side's approval that still matches the questions; null where there is none."""

    management = SurveyApprovalSerializer(allow_null=True, read_only=True)
    workforce = SurveyApprovalSerializer(allow_null=True, read_only=True)


# --- Results (documentation of the frozen JSON; returned exactly as stored) ----------------------


class SurveyResultTallySerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(help_text="The question's id.")
    text = serializers.CharField()
    kind = QuestionKindField()
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Responses by answer: `5` (strongly agree) to `1` (strongly disagree), or `yes` and `no`.",
    )
    answered = serializers.IntegerField()
    agree_percent = serializers.IntegerField(
        required=False, allow_null=True, help_text="Agree-or-disagree questions: who agreed or strongly agreed."
    )
    mean = serializers.FloatField(
        required=False, allow_null=True, help_text="Agree-or-disagree questions: from 1 to 5."
    )
    yes_percent = serializers.IntegerField(required=False, allow_null=True, help_text="Yes-or-no questions.")


class SurveyResultQuestionSerializer(SurveyResultTallySerializer):
    position = serializers.IntegerField()
    principle = serializers.IntegerField(allow_null=True)


class SurveyResultGroupOptionSerializer(serializers.Serializer[Any]):
    label = serializers.CharField(
        help_text="An answer to the grouping question; `not_given` for those who did not say."
    )
    shown = serializers.BooleanField(
        help_text="False when the group is too small, or would let a small group be worked out by subtraction."
    )
    responses = serializers.IntegerField(allow_null=True, help_text="Null when the group is not shown.")
    questions = SurveyResultTallySerializer(many=True, help_text="Empty when the group is not shown.")


class SurveyResultGroupSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(help_text="The grouping question's id.")
    question = serializers.CharField()
    options = SurveyResultGroupOptionSerializer(many=True)


class SurveyResultCommentsSerializer(serializers.Serializer[Any]):
    question = serializers.CharField()
    answers = serializers.ListField(
        child=serializers.CharField(), help_text="The written answers, in an order that says nothing of when."
    )


class SurveyResultsSerializer(serializers.Serializer[Any]):
    responses = serializers.IntegerField(help_text="How many people answered.")
    threshold = serializers.IntegerField(help_text="The fewest responses for a result, as applied when it closed.")
    shown = serializers.BooleanField(help_text="False below the threshold: then every list is empty.")
    questions = SurveyResultQuestionSerializer(many=True)
    groups = SurveyResultGroupSerializer(many=True)
    comments = SurveyResultCommentsSerializer(
        allow_null=True, help_text="Null when the survey asked for no written answer, or below the threshold."
    )


class SurveySerializer(SurveySummarySerializer):
    questions = serializers.SerializerMethodField()
    approvals = serializers.SerializerMethodField()
    # Not `results`: in this API a top-level `results` is always a page of a list.
    aggregate_results = serializers.SerializerMethodField(
        help_text="The aggregate results, frozen when the survey closed (suppressed where someone could be "
        "singled out); null until then. No individual response is ever returned."
    )

    class Meta(SurveySummarySerializer.Meta):
        fields = [
            *SurveySummarySerializer.Meta.fields[:2],
            "introduction",
            *SurveySummarySerializer.Meta.fields[2:],
            "questions",
            "approvals",
            "aggregate_results",
        ]
        read_only_fields = fields

    # Its extra fields are DRF's own (one survey a request, not a page of them).
    to_representation = serializers.ModelSerializer.to_representation

    @extend_schema_field(SurveyQuestionSerializer(many=True))
    def get_questions(self, survey: Survey) -> list[dict[str, Any]]:
        return SurveyQuestionSerializer(surveys.survey_questions(survey), many=True).data  # type: ignore[return-value]

    @extend_schema_field(SurveyApprovalsSerializer)
    def get_approvals(self, survey: Survey) -> dict[str, Any]:
        approvals = surveys.current_approvals(survey)
        return {
            "management": _approval(approvals[SignatureCapacity.MANAGEMENT]),
            "workforce": _approval(approvals[SignatureCapacity.WORKFORCE]),
        }

    @extend_schema_field(SurveyResultsSerializer(allow_null=True))
    def get_aggregate_results(self, survey: Survey) -> dict[str, Any] | None:
        return survey.results if survey.status == SurveyStatus.CLOSED else None


def _approval(signature: Signature | None) -> dict[str, Any] | None:
    return None if signature is None else dict(SurveyApprovalSerializer(signature).data)


class SurveyQuery(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=SurveyStatus.choices, required=False)


# --- Views ----------------------------------------------------------------------------------------


class SurveyListView(OrganisationListView):
    """Surveys you can see (auditors: closed ones only), newest first."""

    actions = {"GET": "view_dashboard"}
    serializer_class = SurveySummarySerializer
    query_serializer_class = SurveyQuery
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Survey]:
        queryset = surveys.visible_surveys(self.membership)
        status = self.query().get("status")
        return queryset.filter(status=status) if status else queryset


class SurveyDetailView(OrganisationGenericView):
    """One survey: its questions, both sides' approvals and, once closed, its aggregate results."""

    actions = {"GET": "view_dashboard"}
    serializer_class = SurveySerializer
    pagination_class = None

    def get(self, request: Request, org: str, survey_id: Any) -> Response:
        survey = (
            surveys.visible_surveys(self.membership)
            .select_related("organisation")
            .prefetch_related(
                Prefetch(
                    "questions", queryset=SurveyQuestion.objects.order_by("position"), to_attr="questions_in_order"
                )
            )
            .filter(pk=survey_id)
            .first()
        )
        if survey is None:
            raise Http404
        return Response(SurveySerializer(survey).data)


# --- URLs ------------------------------------------------------------------------------------

org = "organisations/<slug:org>/"

urlpatterns = [
    path(f"{org}surveys/", SurveyListView.as_view(), name="survey_list"),
    path(f"{org}surveys/<uuid:survey_id>/", SurveyDetailView.as_view(), name="survey_detail"),
]
