"""API for plans (sections, consultation meetings, the equality impact assessment, versions) and for
reviewing assessments and plans (comments, change requests, signatures).

Views only parse input and call what the web pages call: `assessments.plans`, `assessments.workflow`
and `assessments.selectors`. Review endpoints exist for both kinds of subject, as separate paths
(`assessments/<subject_id>/...` and `plans/<subject_id>/...`) served by one view class each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.db.models import QuerySet, prefetch_related_objects
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from assessments import plans, selectors, workflow
from assessments.api import _DATE, _DATETIME, _member_ref, visible_id
from assessments.models import (
    AssessmentStatus,
    ChangeRequest,
    Characteristic,
    ConsultationMeeting,
    ConsultationOutcome,
    EqiaOutcome,
    Impact,
    Plan,
    PlanKind,
    ReviewComment,
)
from portal.api.base import (
    OrganisationGenericView,
    OrganisationListView,
    QueryMixin,
    api_signing_context,
)
from portal.api.errors import service_errors
from portal.canonical import to_jsonable
from portal.models import Signature, SignatureCapacity, SignatureDecision
from portal.text import SingleLineValidator
from principles.models import Criterion

_ALL_SECTIONS = [*workflow.PLAN_SECTIONS, *workflow.DPIA_SECTIONS]
SECTION_KEYS = list(dict.fromkeys(key for key, _title, _fields in _ALL_SECTIONS))
SECTION_FIELD_NAMES = list(dict.fromkeys(name for _key, _title, fields in _ALL_SECTIONS for name in fields))
# A DPIA is started from its system (POST .../technology/systems/<id>/dpia/), never as a plain plan.
CREATABLE_KINDS = [(value, label) for value, label in PlanKind.choices if value != PlanKind.DPIA]


# Service refusals that are about the item's state (409) or about who is asking (403), by the code
# the service gives its ValidationError; anything else is a 400 naming the fields to correct.
class StrictSerializer(serializers.Serializer[Any]):
    """Refuses fields it does not know, so a body cannot smuggle in a signer, a role or an organisation."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            accepted = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in accepted)
            if unknown:
                message = _("This field is not accepted here. Accepted fields: %(fields)s.") % {
                    "fields": ", ".join(sorted(accepted))
                }
                raise serializers.ValidationError({key: [message] for key in unknown})
        return super().to_internal_value(data)


class ReviewPersonSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    full_name = serializers.CharField()


# --- Plans -------------------------------------------------------------------------------------


class PlanSummarySerializer(serializers.ModelSerializer[Plan]):
    created_by = ReviewPersonSerializer(read_only=True, allow_null=True)
    review_due = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="When a final plan is due for review (12 months after it became final unless management "
        "changed it); null until final. Reviewing a plan starts its next version (amend).",
    )

    class Meta:
        model = Plan
        fields = [
            "id",
            "family_id",
            "version",
            "kind",
            "title",
            "status",
            "created_at",
            "created_by",
            "submitted_at",
            "finalised_at",
            "review_due",
        ]
        read_only_fields = fields

    def to_representation(self, plan: Plan) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""
        submitted_at, finalised_at, review_due = plan.submitted_at, plan.finalised_at, plan.review_due
        return {
            "id": str(plan.pk),
            "family_id": str(plan.family_id),
            "version": int(plan.version),
            "kind": plan.kind,
            "title": str(plan.title),
            "status": plan.status,
            "created_at": _DATETIME.to_representation(plan.created_at),
            "created_by": _member_ref(plan.created_by),
            "submitted_at": None if submitted_at is None else _DATETIME.to_representation(submitted_at),
            "finalised_at": None if finalised_at is None else _DATETIME.to_representation(finalised_at),
            "review_due": None if review_due is None else _DATE.to_representation(review_due),
        }


class PlanProblemSerializer(serializers.Serializer[Any]):
    section = serializers.ChoiceField(choices=SECTION_KEYS)
    message = serializers.CharField()


class PlanSerializer(PlanSummarySerializer):
    submitted_by = ReviewPersonSerializer(read_only=True, allow_null=True)
    consultation_outcome = serializers.ChoiceField(
        choices=ConsultationOutcome.choices, allow_blank=True, read_only=True, help_text="Blank: not decided yet."
    )
    evidence = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="The evidence files the plan cites (ids in the evidence library)."
    )
    content_hash = serializers.SerializerMethodField(
        help_text="SHA-256 of exactly what a signature covers now; send it back when signing."
    )
    system = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="A data-protection impact assessment's system in the technology register; null for other plans.",
    )
    problems = serializers.SerializerMethodField(help_text="What stops the plan going to workforce review.")
    blockers = serializers.SerializerMethodField(help_text="Why the plan cannot be agreed as it stands.")

    class Meta(PlanSummarySerializer.Meta):
        fields = [
            *PlanSummarySerializer.Meta.fields,
            "submitted_by",
            "system",
            *SECTION_FIELD_NAMES,
            "evidence",
            "content_hash",
            "problems",
            "blockers",
        ]
        read_only_fields = fields

    # Its extra fields are DRF's own (one plan a request, not a page of them).
    to_representation = serializers.ModelSerializer.to_representation

    def get_content_hash(self, plan: Plan) -> str:
        return workflow.subject_hash(plan)

    @extend_schema_field(PlanProblemSerializer(many=True))
    def get_problems(self, plan: Plan) -> list[dict[str, str]]:
        return [{"section": section, "message": message} for section, message in plans.plan_problems(plan)]

    def get_blockers(self, plan: Plan) -> list[str]:
        return [str(b) for b in workflow.agreement_blockers(plan)]


class PlanQuery(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=PlanKind.choices, required=False)
    status = serializers.ChoiceField(choices=AssessmentStatus.choices, required=False)
    family_id = serializers.UUIDField(required=False, help_text="Only the versions of this plan.")


class PlanCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(
        choices=CREATABLE_KINDS,
        error_messages={"required": "Choose the kind of plan"},
        help_text="A data-protection impact assessment is started from its system in the technology register.",
    )
    title = serializers.CharField(
        max_length=200,
        error_messages={"required": "Enter a title for the plan", "blank": "Enter a title for the plan"},
        validators=[SingleLineValidator("Title")],
    )


class PlanUpdateSerializer(serializers.ModelSerializer[Plan]):
    """Any of the section fields (as on the section pages), and the evidence the plan cites."""

    evidence = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        help_text="Replaces the evidence the plan cites: ids from your organisation's evidence library.",
    )

    class Meta:
        model = Plan
        fields = [*SECTION_FIELD_NAMES, "evidence"]
        extra_kwargs = {name: {"required": False} for name in SECTION_FIELD_NAMES}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                message = _("This is not a field of any plan section. Plan sections have: %(fields)s.") % {
                    "fields": ", ".join(self.Meta.fields)
                }
                raise serializers.ValidationError({key: [message] for key in unknown})
        return super().to_internal_value(data)


class PlanSubmittedSerializer(serializers.Serializer[Any]):
    plan = PlanSerializer()
    notified = serializers.ListField(
        child=serializers.EmailField(), help_text="The workforce representatives who were emailed."
    )


class PlanMixin:
    membership: Any
    kwargs: dict[str, Any]

    def get_plan(self) -> Plan:
        return selectors.get_plan_for(self.membership, self.kwargs["plan_id"])


class PlanListView(OrganisationListView):
    """Plans you can see (auditors: final ones only), newest first; managers and owners start new ones."""

    actions = {"GET": "view_dashboard", "POST": "edit_content"}
    serializer_class = PlanSummarySerializer
    query_serializer_class = PlanQuery
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Plan]:
        queryset = selectors.visible_plans(self.membership).select_related("created_by")
        query = self.query()
        for name in ("kind", "status", "family_id"):
            if query.get(name):
                queryset = queryset.filter(**{name: query[name]})
        return queryset

    @extend_schema(request=PlanCreateSerializer, responses={201: PlanSerializer})
    def post(self, request: Request, org: str) -> Response:
        serializer = PlanCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = plans.plan_create(organisation=self.organisation, actor=request.user, **serializer.validated_data)
        plan = selectors.get_plan_for(self.membership, plan.pk)
        return Response(PlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class PlanDetailView(PlanMixin, OrganisationGenericView):
    """One plan with every section; PATCH any section fields while it is a draft or has changes requested."""

    actions = {"GET": "view_dashboard", "PATCH": "edit_content"}
    serializer_class = PlanSerializer
    pagination_class = None

    def get(self, request: Request, org: str, plan_id: Any) -> Response:
        return Response(PlanSerializer(self.get_plan()).data)

    @extend_schema(request=PlanUpdateSerializer, responses={200: PlanSerializer})
    def patch(self, request: Request, org: str, plan_id: Any) -> Response:
        plan = self.get_plan()
        serializer = PlanUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        evidence = values.pop("evidence", None)
        if not values and evidence is None:
            raise serializers.ValidationError(_("Send at least one section field, or the evidence the plan cites."))
        kind_sections = workflow.plan_sections(plan.kind)
        own_fields = {name for _key, _title, fields in kind_sections for name in fields}
        foreign = sorted(name for name in values if name not in own_fields)
        if foreign:
            raise serializers.ValidationError(
                {
                    name: [_("A %(kind)s has no such field.") % {"kind": plan.get_kind_display().lower()}]
                    for name in foreign
                }
            )
        sections = [key for key, _title, fields in kind_sections if any(f in values for f in fields)]
        with service_errors():
            # Evidence rides with the first section saved, as on the section pages (any of them).
            for index, section in enumerate(sections or [kind_sections[0][0]]):
                plans.plan_update_section(
                    plan=Plan.objects.get(pk=plan.pk),
                    actor=request.user,
                    section=section,
                    values={f: values[f] for f in workflow.section_fields(plan.kind)[section] if f in values},
                    evidence_ids=evidence if index == 0 else None,
                )
        return Response(PlanSerializer(self.get_plan()).data)


class PlanSubmitView(PlanMixin, OrganisationGenericView):
    """Send the plan for workforce review; the representatives are emailed."""

    actions = {"POST": "edit_content"}
    serializer_class = PlanSubmittedSerializer
    pagination_class = None

    @extend_schema(request=None, responses={200: PlanSubmittedSerializer})
    def post(self, request: Request, org: str, plan_id: Any) -> Response:
        plan = self.get_plan()
        with service_errors():
            problems: dict[str, list[str]] = {}
            if plan.is_editable:
                for section, message in plans.plan_problems(plan):
                    problems.setdefault(section, []).append(message)
            if problems:
                raise serializers.ValidationError(problems)
            notified = plans.plan_submit(plan=plan, actor=request.user)
        return Response(PlanSubmittedSerializer({"plan": self.get_plan(), "notified": notified}).data)


class PlanAmendView(PlanMixin, OrganisationGenericView):
    """Start the next version of a final plan, copying every section; the final one stays as signed."""

    actions = {"POST": "edit_content"}
    serializer_class = PlanSerializer
    pagination_class = None

    @extend_schema(request=None, responses={201: PlanSerializer})
    def post(self, request: Request, org: str, plan_id: Any) -> Response:
        plan = self.get_plan()
        with service_errors():
            new = plans.plan_amend(plan=plan, actor=request.user)
        new = selectors.get_plan_for(self.membership, new.pk)
        return Response(PlanSerializer(new).data, status=status.HTTP_201_CREATED)


class DiffLineSerializer(serializers.Serializer[Any]):
    change = serializers.ChoiceField(choices=["unchanged", "removed", "added"])
    text = serializers.CharField(allow_blank=True)


class SectionDiffSerializer(serializers.Serializer[Any]):
    section = serializers.ChoiceField(choices=SECTION_KEYS)
    title = serializers.CharField()
    changed = serializers.BooleanField()
    lines = DiffLineSerializer(many=True)


class PlanChangesSerializer(serializers.Serializer[Any]):
    old_version = serializers.IntegerField()
    new_version = serializers.IntegerField()
    sections = SectionDiffSerializer(many=True)


class PlanChangesQuery(serializers.Serializer[Any]):
    against = serializers.IntegerField(
        min_value=1, required=False, help_text="The version to compare with (default: the one before this)."
    )


_LINE_CHANGE = {" ": "unchanged", "-": "removed", "+": "added"}


class PlanChangesView(QueryMixin, PlanMixin, OrganisationGenericView):
    """What changed between two versions, section by section, in the words of the section pages."""

    serializer_class = PlanChangesSerializer
    query_serializer_class = PlanChangesQuery
    pagination_class = None

    def get(self, request: Request, org: str, plan_id: Any) -> Response:
        plan = self.get_plan()
        family = selectors.plan_versions(self.membership, plan)
        query = self.query()
        against = query.get("against", plan.version - 1)
        if against not in family or against == plan.version:
            if "against" in query:
                raise serializers.ValidationError(
                    {"against": [_("Choose another version of this plan that you can see.")]}
                )
            raise exceptions.NotFound(_("There is no earlier version of this plan to compare with."))
        old, new = sorted([family[against], plan], key=lambda p: p.version)
        prefetch_related_objects([old, new], *workflow.plan_contents())  # as the web page: one read for both
        sections = [
            {
                "section": diff.key,
                "title": diff.title,
                "changed": diff.changed,
                "lines": [{"change": _LINE_CHANGE[kind], "text": text} for kind, text in diff.lines],
            }
            for diff in plans.plan_diff(old, new)
        ]
        data = {"old_version": old.version, "new_version": new.version, "sections": sections}
        return Response(PlanChangesSerializer(data).data)


# --- Consultation meetings ------------------------------------------------------------------


class MeetingSerializer(serializers.ModelSerializer[ConsultationMeeting]):
    class Meta:
        model = ConsultationMeeting
        fields = ["id", "held_on", "participants", "notes"]
        read_only_fields = fields

    def to_representation(self, meeting: ConsultationMeeting) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""
        return {
            "id": str(meeting.pk),
            "held_on": _DATE.to_representation(meeting.held_on),
            "participants": str(meeting.participants),
            "notes": str(meeting.notes),
        }


class MeetingCreateSerializer(StrictSerializer):
    held_on = serializers.DateField(error_messages={"required": "Enter the date of the meeting"})
    participants = serializers.CharField(
        allow_blank=True,
        help_text="Names and roles, including the representatives.",
        error_messages={"required": "Say who took part"},
    )
    notes = serializers.CharField(allow_blank=True, required=False, default="")


class MeetingListView(PlanMixin, OrganisationListView):
    """The plan's consultation meetings, by date; add one while the plan is editable."""

    actions = {"GET": "view_dashboard", "POST": "edit_content"}
    serializer_class = MeetingSerializer
    ordering = "held_on"

    def get_queryset(self) -> QuerySet[ConsultationMeeting]:
        plan_id = visible_id(selectors.visible_plans(self.membership), self.kwargs["plan_id"])
        return ConsultationMeeting.objects.filter(plan_id=plan_id)

    @extend_schema(request=MeetingCreateSerializer, responses={201: MeetingSerializer})
    def post(self, request: Request, org: str, plan_id: Any) -> Response:
        plan = self.get_plan()
        serializer = MeetingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            meeting = plans.meeting_add(plan=plan, actor=request.user, **serializer.validated_data)
        return Response(MeetingSerializer(meeting).data, status=status.HTTP_201_CREATED)


class MeetingDetailView(PlanMixin, OrganisationGenericView):
    actions = {"GET": "view_dashboard", "DELETE": "edit_content"}
    serializer_class = MeetingSerializer
    pagination_class = None

    def get_meeting(self) -> ConsultationMeeting:
        plan = self.get_plan()
        meeting = (
            ConsultationMeeting.objects.filter(plan=plan, pk=self.kwargs["meeting_id"]).select_related("plan").first()
        )
        if meeting is None:
            raise exceptions.NotFound(_("Not found."))
        return meeting

    def get(self, request: Request, org: str, plan_id: Any, meeting_id: Any) -> Response:
        return Response(MeetingSerializer(self.get_meeting()).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, org: str, plan_id: Any, meeting_id: Any) -> Response:
        meeting = self.get_meeting()
        with service_errors():
            plans.meeting_delete(meeting=meeting, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Equality impact assessment ----------------------------------------------------------------


class EqiaRowSerializer(serializers.Serializer[Any]):
    characteristic = serializers.ChoiceField(choices=Characteristic.choices)
    characteristic_label = serializers.CharField()
    impact = serializers.ChoiceField(choices=Impact.choices, allow_blank=True, help_text="Blank: not assessed yet.")
    evidence = serializers.CharField(allow_blank=True)
    mitigation = serializers.CharField(allow_blank=True)
    owner = ReviewPersonSerializer(allow_null=True)


class EqiaSerializer(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=EqiaOutcome.choices, allow_blank=True, help_text="Blank: not chosen.")
    outcome_label = serializers.CharField(allow_blank=True)
    justification = serializers.CharField(allow_blank=True)
    rows = EqiaRowSerializer(many=True)


class EqiaRowInputSerializer(StrictSerializer):
    characteristic = serializers.ChoiceField(choices=Characteristic.choices)
    impact = serializers.ChoiceField(choices=Impact.choices, allow_blank=True, required=False, default="")
    evidence = serializers.CharField(allow_blank=True, required=False, default="")
    mitigation = serializers.CharField(allow_blank=True, required=False, default="")
    owner = serializers.EmailField(
        allow_null=True,
        required=False,
        default=None,
        help_text="Who owns the mitigation: the email of a current member who is not an auditor.",
    )


class EqiaInputSerializer(StrictSerializer):
    outcome = serializers.ChoiceField(choices=EqiaOutcome.choices, allow_blank=True, required=False, default="")
    justification = serializers.CharField(allow_blank=True, required=False, default="")
    rows = EqiaRowInputSerializer(many=True, help_text="One row for each protected characteristic.")

    def validate_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: set[str] = set()
        errors: list[dict[str, Any]] = []
        for row in rows:
            duplicate = row["characteristic"] in seen
            seen.add(row["characteristic"])
            errors.append({"characteristic": [_("This characteristic is given twice.")]} if duplicate else {})
        if any(errors):
            raise serializers.ValidationError(errors)
        missing = [c for c in Characteristic.values if c not in seen]
        if missing:
            raise serializers.ValidationError(
                _("Give one row for every characteristic. Missing: %(missing)s.") % {"missing": ", ".join(missing)}
            )
        return rows


def _eqia_data(plan: Plan) -> dict[str, Any]:
    eqia = plan.eqia
    by_characteristic = {r.characteristic: r for r in eqia.rows.select_related("owner")}
    rows = [
        {
            "characteristic": value,
            "characteristic_label": str(label),
            "impact": by_characteristic[value].impact,
            "evidence": by_characteristic[value].evidence,
            "mitigation": by_characteristic[value].mitigation,
            "owner": by_characteristic[value].owner,
        }
        for value, label in Characteristic.choices
        if value in by_characteristic
    ]
    return {
        "outcome": eqia.outcome,
        "outcome_label": str(EqiaOutcome(eqia.outcome).label) if eqia.outcome else "",
        "justification": eqia.justification,
        "rows": rows,
    }


class EqiaView(PlanMixin, OrganisationGenericView):
    """The plan's equality impact assessment: the impact on each protected characteristic, and the outcome.

    PUT replaces it whole (one row per characteristic). Choosing "adjust" turns each mitigation into an
    action item; "continue" needs a justification; a negative impact needs a mitigation unless the plan stops.
    """

    actions = {"GET": "view_dashboard", "PUT": "edit_content"}
    serializer_class = EqiaSerializer
    pagination_class = None

    def get(self, request: Request, org: str, plan_id: Any) -> Response:
        return Response(EqiaSerializer(_eqia_data(self.get_plan())).data)

    @extend_schema(request=EqiaInputSerializer, responses={200: EqiaSerializer})
    def put(self, request: Request, org: str, plan_id: Any) -> Response:
        plan = self.get_plan()
        serializer = EqiaInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        owners = {user.email.lower(): user for user in selectors.owner_choices(self.organisation)}
        errors: dict[str, list[str]] = {}
        inputs = []
        for index, row in enumerate(data["rows"]):
            owner = None
            if row["owner"]:
                owner = owners.get(row["owner"].lower())
                if owner is None:
                    errors[f"rows.{index}.owner"] = [_("Choose an owner from the organisation's members")]
            inputs.append(
                plans.EqiaRowInput(
                    characteristic=row["characteristic"],
                    impact=row["impact"],
                    evidence=row["evidence"],
                    mitigation=row["mitigation"],
                    owner=owner,
                )
            )
        if errors:
            raise serializers.ValidationError(errors)
        fields = {
            f"{row.characteristic}-{name}": f"rows.{index}.{name}"
            for index, row in enumerate(inputs)
            for name in ("impact", "evidence", "mitigation", "owner")
        }
        with service_errors(fields):
            plans.eqia_save(
                plan=Plan.objects.get(pk=plan.pk),
                actor=request.user,
                rows=inputs,
                outcome=data["outcome"],
                justification=data["justification"],
            )
        return Response(EqiaSerializer(_eqia_data(self.get_plan())).data)


# --- Review: comments, change requests and signatures, on assessments and on plans ------------------


class SubjectMixin:
    """The assessment or plan named by `subject_id`, as the caller may see it (`subject_kind` per path)."""

    subject_kind: ClassVar[str] = "plan"
    # Lists read the item's row alone on GET (`_subject_to_read`): they need no more of it.
    reads_row_alone: ClassVar[bool] = False
    membership: Any
    organisation: Any
    kwargs: dict[str, Any]
    _subject: workflow.Subject

    def get_subject(self) -> Any:
        if not hasattr(self, "_subject"):
            request = getattr(self, "request", None)
            if self._reads_row_alone() and request is not None and request.method == "GET":
                self._subject = self._subject_to_read()
            elif self.subject_kind == "assessment":
                self._subject = selectors.get_assessment_for(self.membership, self.kwargs["subject_id"])
            else:
                self._subject = selectors.get_plan_for(self.membership, self.kwargs["subject_id"])
        return self._subject

    def _reads_row_alone(self) -> bool:
        return self.reads_row_alone

    def _subject_to_read(self) -> Any:
        """For reading its comments, change requests or signatures: the item's row alone, the same one
        the selectors find (anything else it needs, such as a snapshot's framework, is read when used)."""
        visible = selectors.visible_assessments if self.subject_kind == "assessment" else selectors.visible_plans
        subject = visible(self.membership).filter(pk=self.kwargs["subject_id"]).first()
        if subject is None:
            raise Http404
        subject.organisation = self.organisation  # the one the request is in, already loaded
        return subject


class CommentSerializer(serializers.ModelSerializer[ReviewComment]):
    parent = serializers.UUIDField(
        source="parent_id", allow_null=True, read_only=True, help_text="The comment this replies to."
    )
    author = ReviewPersonSerializer(read_only=True, allow_null=True)
    resolved_by = ReviewPersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ReviewComment
        fields = ["id", "anchor", "parent", "author", "body", "created_at", "resolved_at", "resolved_by"]
        read_only_fields = fields

    def to_representation(self, comment: ReviewComment) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""
        parent, resolved_at = comment.parent_id, comment.resolved_at
        return {
            "id": str(comment.pk),
            "anchor": str(comment.anchor),
            "parent": None if parent is None else str(parent),
            "author": _member_ref(comment.author),
            "body": str(comment.body),
            "created_at": _DATETIME.to_representation(comment.created_at),
            "resolved_at": None if resolved_at is None else _DATETIME.to_representation(resolved_at),
            "resolved_by": _member_ref(comment.resolved_by),
        }


class CommentQuery(serializers.Serializer[Any]):
    anchor = serializers.CharField(required=False, max_length=40, help_text="A criterion code or a plan section.")
    resolved = serializers.BooleanField(required=False, allow_null=True, default=None)


class CommentCreateSerializer(StrictSerializer):
    anchor = serializers.CharField(
        max_length=40,
        required=False,
        default="",
        allow_blank=True,
        help_text="What the comment is about: a criterion code (e.g. `1.1`) on an assessment, or a section key "
        "(e.g. `consultation`, `equality`) on a plan. A reply takes its parent's.",
    )
    body = serializers.CharField(
        max_length=5000, error_messages={"required": "Write your comment", "blank": "Write your comment"}
    )
    parent = serializers.UUIDField(required=False, allow_null=True, default=None, help_text="Reply to this comment.")


class CommentListView(SubjectMixin, OrganisationListView):
    """Comments and replies, oldest first; owners, managers and representatives add them (the other side is
    emailed)."""

    actions = {"GET": "view_dashboard", "POST": "comment"}
    reads_row_alone = True
    serializer_class = CommentSerializer
    query_serializer_class = CommentQuery
    ordering = "created_at"

    def get_queryset(self) -> QuerySet[ReviewComment]:
        queryset = selectors.subject_comments(self.get_subject(), self.subject_kind)
        query = self.query()
        if query.get("anchor"):
            queryset = queryset.filter(anchor=query["anchor"])
        if query.get("resolved") is not None:
            queryset = queryset.filter(resolved_at__isnull=not query["resolved"])
        return queryset

    def _anchor_exists(self, subject: Any, anchor: str) -> bool:
        if self.subject_kind == "plan":
            return anchor in workflow.section_fields(subject.kind)
        return bool(Criterion.objects.filter(framework=subject.framework_id, code=anchor).exists())

    @extend_schema(request=CommentCreateSerializer, responses={201: CommentSerializer})
    def post(self, request: Request, org: str, subject_id: Any) -> Response:
        subject = self.get_subject()
        serializer = CommentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        parent = None
        if data["parent"] is not None:
            parent = selectors.subject_comments(subject, self.subject_kind).filter(pk=data["parent"]).first()
            if parent is None:
                raise serializers.ValidationError({"parent": [_("There is no such comment on this item.")]})
        elif not self._anchor_exists(subject, data["anchor"]):
            choices = _("a section key") if self.subject_kind == "plan" else _("a criterion code")
            raise serializers.ValidationError({"anchor": [_("Name %(what)s of this item.") % {"what": choices}]})
        with service_errors():
            comment = workflow.comment_add(
                subject=subject, author=request.user, anchor=data["anchor"], body=data["body"], parent=parent
            )
        comment = selectors.subject_comments(subject, self.subject_kind).get(pk=comment.pk)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentResolveView(SubjectMixin, OrganisationGenericView):
    """Mark a comment as resolved (already resolved: unchanged)."""

    actions = {"POST": "comment"}
    serializer_class = CommentSerializer
    pagination_class = None

    @extend_schema(request=None, responses={200: CommentSerializer})
    def post(self, request: Request, org: str, subject_id: Any, comment_id: Any) -> Response:
        comments = selectors.subject_comments(self.get_subject(), self.subject_kind)
        comment = comments.filter(pk=comment_id).first()
        if comment is None:
            raise exceptions.NotFound(_("Not found."))
        with service_errors():
            workflow.comment_resolve(comment=comment, actor=request.user)
        return Response(CommentSerializer(comments.get(pk=comment_id)).data)


class ChangeRequestSerializer(serializers.ModelSerializer[ChangeRequest]):
    requested_by = ReviewPersonSerializer(read_only=True, allow_null=True)
    answered_by = ReviewPersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ChangeRequest
        fields = ["id", "reasons", "requested_by", "created_at", "answer", "answered_by", "answered_at"]
        read_only_fields = fields

    def to_representation(self, change_request: ChangeRequest) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""
        answered_at = change_request.answered_at
        return {
            "id": str(change_request.pk),
            "reasons": str(change_request.reasons),
            "requested_by": _member_ref(change_request.requested_by),
            "created_at": _DATETIME.to_representation(change_request.created_at),
            "answer": str(change_request.answer),
            "answered_by": _member_ref(change_request.answered_by),
            "answered_at": None if answered_at is None else _DATETIME.to_representation(answered_at),
        }


class ChangeRequestCreateSerializer(StrictSerializer):
    reasons = serializers.CharField(
        max_length=10000,
        error_messages={"required": "Say what needs to change, and why", "blank": "Say what needs to change, and why"},
    )


class ChangeRequestAnswerSerializer(StrictSerializer):
    answer = serializers.CharField(
        max_length=10000, error_messages={"required": "Write your answer", "blank": "Write your answer"}
    )


class ChangeRequestListView(SubjectMixin, OrganisationListView):
    """Requests for changes, newest first. A workforce representative sends an item in review back to
    management with reasons; it becomes editable again."""

    actions = {"GET": "view_dashboard", "POST": "countersign_workforce"}
    reads_row_alone = True
    serializer_class = ChangeRequestSerializer
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet[ChangeRequest]:
        return selectors.subject_change_requests(self.get_subject(), self.subject_kind)

    @extend_schema(request=ChangeRequestCreateSerializer, responses={201: ChangeRequestSerializer})
    def post(self, request: Request, org: str, subject_id: Any) -> Response:
        subject = self.get_subject()
        serializer = ChangeRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            change_request = workflow.changes_request(
                subject=subject, actor=request.user, reasons=serializer.validated_data["reasons"]
            )
        change_request = self.get_queryset().get(pk=change_request.pk)
        return Response(ChangeRequestSerializer(change_request).data, status=status.HTTP_201_CREATED)


class ChangeRequestAnswerView(SubjectMixin, OrganisationGenericView):
    """Management answers a change request; the representative who asked is emailed."""

    actions = {"POST": "sign_management"}
    serializer_class = ChangeRequestSerializer
    pagination_class = None

    @extend_schema(request=ChangeRequestAnswerSerializer, responses={200: ChangeRequestSerializer})
    def post(self, request: Request, org: str, subject_id: Any, change_request_id: Any) -> Response:
        requests = selectors.subject_change_requests(self.get_subject(), self.subject_kind)
        change_request = requests.filter(pk=change_request_id).first()
        if change_request is None:
            raise exceptions.NotFound(_("Not found."))
        serializer = ChangeRequestAnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            workflow.change_request_answer(
                change_request=change_request, actor=request.user, answer=serializer.validated_data["answer"]
            )
        return Response(ChangeRequestSerializer(requests.get(pk=change_request_id)).data)


class SignatureSerializer(serializers.ModelSerializer[Signature]):
    valid = serializers.SerializerMethodField(help_text="The content still hashes to what was signed.")
    current_round = serializers.SerializerMethodField(help_text="Signed since the item was last sent for review.")
    counts = serializers.SerializerMethodField(help_text="Valid and of the current round: it counts towards agreement.")
    auth_methods = serializers.ListField(
        child=serializers.CharField(), help_text="How the signer authenticated, e.g. `api_token`, `password`, `totp`."
    )

    class Meta:
        model = Signature
        fields = [
            "id",
            "subject_version",
            "capacity",
            "decision",
            "statement",
            "typed_name",
            "job_title",
            "signer_email",
            "signer_role",
            "reservations",
            "reasons",
            "signed_at",
            "content_hash",
            "auth_methods",
            "mfa_used",
            "valid",
            "current_round",
            "counts",
        ]
        read_only_fields = fields

    def _view(self, signature: Signature) -> workflow.SignatureView:
        return workflow.signature_view(signature, self.context["subject"], self.context["current_hash"])

    def get_valid(self, signature: Signature) -> bool:
        return self._view(signature).valid

    def get_current_round(self, signature: Signature) -> bool:
        return self._view(signature).current_round

    def get_counts(self, signature: Signature) -> bool:
        return self._view(signature).counts

    def to_representation(self, signature: Signature) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""
        view = self._view(signature)
        return {
            "id": str(signature.pk),
            "subject_version": int(signature.subject_version),
            "capacity": signature.capacity,
            "decision": signature.decision,
            "statement": str(signature.statement),
            "typed_name": str(signature.typed_name),
            "job_title": str(signature.job_title),
            "signer_email": str(signature.signer_email),
            "signer_role": signature.signer_role,
            "reservations": str(signature.reservations),
            "reasons": str(signature.reasons),
            "signed_at": _DATETIME.to_representation(signature.signed_at),
            "content_hash": str(signature.content_hash),
            "auth_methods": [str(method) for method in signature.auth_methods],
            "mfa_used": bool(signature.mfa_used),
            "valid": view.valid,
            "current_round": view.current_round,
            "counts": view.counts,
        }


class SignCreateSerializer(StrictSerializer):
    """Your decision. The signer is always you (the token's owner), in the capacity your role gives."""

    decision = serializers.ChoiceField(
        choices=SignatureDecision.choices,
        error_messages={"required": "Choose whether to sign, sign with reservations or decline"},
    )
    typed_name = serializers.CharField(
        max_length=150,
        help_text="Your full name: typing it is your signature.",
        error_messages={"required": "Type your full name to sign", "blank": "Type your full name to sign"},
    )
    job_title = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    reservations = serializers.CharField(
        max_length=10000, required=False, allow_blank=True, default="", help_text="Needed to sign with reservations."
    )
    reasons = serializers.CharField(
        max_length=10000, required=False, allow_blank=True, default="", help_text="Needed to decline."
    )
    content_hash = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        help_text="The `content_hash` of what you read (from `.../snapshot/`). If the item changed since, "
        "nothing is signed (409 `content_changed`).",
    )


class SubjectSnapshotSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=AssessmentStatus.choices)
    content_hash = serializers.CharField(help_text="SHA-256 of the canonical snapshot: send it when signing.")
    snapshot = serializers.DictField(help_text="Exactly what a signature covers, as hashed.")
    capacity = serializers.ChoiceField(
        choices=SignatureCapacity.choices, allow_null=True, help_text="The side you would sign for; null: you cannot."
    )
    statement = serializers.CharField(allow_null=True, help_text="The statement you would sign.")
    blockers = serializers.ListField(child=serializers.CharField(), help_text="Why it cannot be agreed as it stands.")


class SubjectSnapshotView(SubjectMixin, OrganisationGenericView):
    """Exactly what a signature would cover now, and its SHA-256 (the signing page's content)."""

    serializer_class = SubjectSnapshotSerializer
    pagination_class = None

    def get(self, request: Request, org: str, subject_id: Any) -> Response:
        subject = self.get_subject()
        snapshot = workflow.subject_snapshot(subject)
        capacity = workflow.capacity_for(self.membership)
        from portal.signing import snapshot_hash

        data = {
            "status": subject.status,
            "content_hash": snapshot_hash(snapshot),
            "snapshot": to_jsonable(snapshot),
            "capacity": capacity,
            "statement": workflow.signing_statement(subject, capacity) if capacity else None,
            "blockers": [str(b) for b in workflow.agreement_blockers(subject)],
        }
        return Response(SubjectSnapshotSerializer(data).data)


class SignatureContextMixin(SubjectMixin):
    _content_version: str | None = None

    def get_subject(self) -> Any:
        if not hasattr(self, "_subject"):
            # Read before the subject: a hash cached under it is never built from older content.
            self._content_version = workflow.subject_content_version(self.membership.organisation_id)
        return super().get_subject()

    def _reads_row_alone(self) -> bool:
        # Uncached, the snapshot reads the rest of the item: then it is read with the row, in one query.
        return self.reads_row_alone and self._content_version is not None

    def signature_context(self, subject: Any) -> dict[str, Any]:
        return {"subject": subject, "current_hash": workflow.current_subject_hash(subject, self._content_version)}


class SignatureListView(SignatureContextMixin, OrganisationListView):
    """Signatures in the order given, each with whether it still matches the content. POST signs (or
    declines) as you: the signer is the token's owner, the capacity comes from your role."""

    actions = {"GET": "view_dashboard", "POST": "view_dashboard"}
    reads_row_alone = True
    serializer_class = SignatureSerializer
    ordering = "signed_at"

    def get_queryset(self) -> QuerySet[Signature]:
        return workflow.subject_signatures(self.get_subject())

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), **self.signature_context(self.get_subject())}

    @extend_schema(request=SignCreateSerializer, responses={201: SignatureSerializer})
    def post(self, request: Request, org: str, subject_id: Any) -> Response:
        subject = self.get_subject()
        if workflow.capacity_for(self.membership) is None:
            raise exceptions.PermissionDenied(_("Your role cannot sign this."))
        serializer = SignCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        expected_hash = data.pop("content_hash")
        with service_errors():
            signature = workflow.subject_sign(
                subject=subject,
                signer=request.user,
                expected_hash=expected_hash,
                context=api_signing_context(request),
                **data,
            )
        return Response(
            SignatureSerializer(signature, context=self.signature_context(subject)).data,
            status=status.HTTP_201_CREATED,
        )


class SignatureDetailView(SignatureContextMixin, OrganisationGenericView):
    serializer_class = SignatureSerializer
    pagination_class = None

    def get(self, request: Request, org: str, subject_id: Any, signature_id: Any) -> Response:
        subject = self.get_subject()
        signature = workflow.subject_signatures(subject).filter(pk=signature_id).first()
        if signature is None:
            raise exceptions.NotFound(_("Not found."))
        return Response(SignatureSerializer(signature, context=self.signature_context(subject)).data)


# --- URLs ------------------------------------------------------------------------------------

org = "organisations/<slug:org>/"
plan = f"{org}plans/<uuid:plan_id>/"


def _review_patterns(kind: str, segment: str) -> list[Any]:
    subject = f"{org}{segment}/<uuid:subject_id>/"
    views = {"subject_kind": kind}
    return [
        path(f"{subject}comments/", CommentListView.as_view(**views), name=f"{kind}_comment_list"),
        path(
            f"{subject}comments/<uuid:comment_id>/resolve/",
            CommentResolveView.as_view(**views),
            name=f"{kind}_comment_resolve",
        ),
        path(f"{subject}change-requests/", ChangeRequestListView.as_view(**views), name=f"{kind}_change_request_list"),
        path(
            f"{subject}change-requests/<uuid:change_request_id>/answer/",
            ChangeRequestAnswerView.as_view(**views),
            name=f"{kind}_change_request_answer",
        ),
        path(f"{subject}snapshot/", SubjectSnapshotView.as_view(**views), name=f"{kind}_snapshot"),
        path(f"{subject}signatures/", SignatureListView.as_view(**views), name=f"{kind}_signature_list"),
        path(
            f"{subject}signatures/<uuid:signature_id>/",
            SignatureDetailView.as_view(**views),
            name=f"{kind}_signature_detail",
        ),
    ]


urlpatterns = [
    path(f"{org}plans/", PlanListView.as_view(), name="plan_list"),
    path(plan, PlanDetailView.as_view(), name="plan_detail"),
    path(f"{plan}submit/", PlanSubmitView.as_view(), name="plan_submit"),
    path(f"{plan}amend/", PlanAmendView.as_view(), name="plan_amend"),
    path(f"{plan}changes/", PlanChangesView.as_view(), name="plan_changes"),
    path(f"{plan}meetings/", MeetingListView.as_view(), name="plan_meeting_list"),
    path(f"{plan}meetings/<uuid:meeting_id>/", MeetingDetailView.as_view(), name="plan_meeting_detail"),
    path(f"{plan}eqia/", EqiaView.as_view(), name="plan_eqia"),
    *_review_patterns("assessment", "assessments"),
    *_review_patterns("plan", "plans"),
]
