"""API for the technology register and the new technology agreement (DESIGN.md section 13).

The register: systems (searchable, filtered by status), each with its DPIA's status and what needs
someone now; one system with the agreement's clocks on it and its links; recording notice and the joint
technology committee's meeting; replacing its links; starting its DPIA (a plan of kind `dpia`, reviewed
and signed through the plans' endpoints). The agreement: drafts adapted clause by clause, and signed by
each side against the `content_hash` of the words read.

Views only parse input and call `assessments.technology`, as the web pages do. Who sees what is the
web's rule: any member reads the register; an auditor sees signed agreements only (in force or
superseded), and of the plans a system links to, the final ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from assessments import technology, technology_csv, workflow
from assessments.api import _DATE, _DATETIME
from assessments.models import (
    AgreementStatus,
    AssessmentStatus,
    Plan,
    SystemStatus,
    TechnologyAgreement,
    TechnologySystem,
    WorkerDecision,
)
from assessments.plan_api import StrictSerializer
from portal.api.base import OrganisationGenericView, OrganisationListView, api_signing_context
from portal.api.errors import Conflict, service_error
from portal.models import Signature, SignatureCapacity
from portal.roles import Role
from portal.text import SingleLineValidator

# Service refusals about the item's state: 409 with the service's code (others: see `service_error`).
STATE_CODES = frozenset({"dpia_exists", "has_dpia", "not_draft", "draft_exists", "signed"})


@contextmanager
def _service_errors(rename: Mapping[str, str] | None = None) -> Iterator[None]:
    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            for error in exc.error_list:
                if error.code in STATE_CODES:
                    raise Conflict(" ".join(exc.messages), code=error.code) from None
        raise service_error(exc, rename) from None


# Each choice set is one named component, so `status` and `state` here do not collide with the other
# apps' fields of the same name in the schema's enum naming.


@extend_schema_field(
    {
        "type": "string",
        "enum": list(SystemStatus.values),
        "description": "`planned`, `piloting`, `live` or `retired` (a retired system has no clocks).",
    },
    component_name="TechnologySystemStatusEnum",
)
class SystemStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=SystemStatus.choices, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "enum": list(WorkerDecision.values),
        "description": "A decision about people the system makes or supports: `allocation` (of work), "
        "`performance`, `discipline` or `hiring`.",
    },
    component_name="WorkerDecisionEnum",
)
class WorkerDecisionField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=WorkerDecision.choices, **kwargs)


ATTENTION = ["", "notice", "meeting", "breach"]


@extend_schema_field(
    {
        "type": "string",
        "enum": ATTENTION,
        "description": 'What needs someone now (as "Your work" shows it): `notice` (give notice by '
        "`attention_due`), `meeting` (the joint technology committee is due or late to meet), `breach` (go-live "
        "is inside the notice period and can still be moved); empty: nothing.",
    },
    component_name="TechnologySystemAttentionEnum",
)
class AttentionField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=[(a, a) for a in ATTENTION], **kwargs)


CLOCK_STATES = [technology.KEPT, technology.RUNNING, technology.DUE, technology.LATE, technology.BREACHED]


@extend_schema_field(
    {
        "type": "string",
        "enum": CLOCK_STATES,
        "description": "`kept`; `running` (nothing due yet); `due` (action needed by `due`); `late` (the "
        "committee met late, or has not met and should have); `breached` (go-live inside the notice period).",
    },
    component_name="AgreementClockStateEnum",
)
class ClockStateField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=[(s, s) for s in CLOCK_STATES], **kwargs)


CLOCK_KEYS = [technology.NOTICE, "meeting", "go_live"]


@extend_schema_field(
    {
        "type": "string",
        "enum": CLOCK_KEYS,
        "description": "`notice`: notice before introduction; `meeting`: the joint technology committee's "
        "meeting on the notice; `go_live`: go-live inside the notice period (a breach).",
    },
    component_name="AgreementClockKeyEnum",
)
class ClockKeyField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=[(k, k) for k in CLOCK_KEYS], **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "enum": list(AgreementStatus.values),
        "description": "`draft`: being adapted and signed; `in_force`: both sides signed its words, its "
        "periods are the clocks; `superseded`: a later version signed by both replaced it.",
    },
    component_name="TechnologyAgreementStatusEnum",
)
class AgreementStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=AgreementStatus.choices, **kwargs)


LIBRARY_KEYS = [clause.key for clause in technology.CLAUSE_LIBRARY]


@extend_schema_field(
    {
        "type": "string",
        "enum": LIBRARY_KEYS,
        "description": "A clause of the library: "
        + "; ".join(f"`{c.key}`: {c.title}" for c in technology.CLAUSE_LIBRARY)
        + ". `notice` and `committee` set the clocks' periods.",
    },
    component_name="AgreementClauseKeyEnum",
)
class ClauseKeyField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=[(k, k) for k in LIBRARY_KEYS], **kwargs)


# --- Systems ---------------------------------------------------------------------------------------


def _dpias() -> Prefetch:
    return Prefetch(
        "dpias",
        queryset=Plan.objects.order_by("-version", "-created_at").only("id", "system_id", "status", "version"),
        to_attr="dpias_newest_first",
    )


def _latest_dpia(system: TechnologySystem) -> Plan | None:
    found = getattr(system, "dpias_newest_first", None)
    if found is None:
        return technology.latest_dpia(system)
    return found[0] if found else None


class TechnologySystemSummarySerializer(serializers.ModelSerializer[TechnologySystem]):
    status = SystemStatusField(read_only=True)
    decisions = serializers.ListField(
        child=WorkerDecisionField(), read_only=True, help_text="The decisions about people it makes or supports."
    )
    processes_worker_data = serializers.BooleanField(
        read_only=True,
        help_text="It collects data about workers, monitors people or decides about them: it needs a DPIA.",
    )
    dpia_id = serializers.SerializerMethodField(
        help_text="Its latest data-protection impact assessment (a plan of kind `dpia`: read it at "
        "`plans/{id}/`); null when there is none, or when you may not open it (auditors: final ones only)."
    )
    dpia_status = serializers.SerializerMethodField(help_text="The latest DPIA's review status; null: none started.")
    dpia_state = serializers.SerializerMethodField(
        help_text='The DPIA\'s state in words, e.g. "Needed, not started", "Not needed", "Draft".'
    )
    attention = AttentionField(read_only=True)
    attention_due = serializers.DateField(
        read_only=True, allow_null=True, help_text="When `attention` is due by; null when nothing needs anyone."
    )

    class Meta:
        model = TechnologySystem
        fields = [
            "id",
            "name",
            "supplier_name",
            "purpose",
            "sites",
            "teams",
            "go_live_on",
            "status",
            "worker_data",
            "monitors_people",
            "decisions",
            "processes_worker_data",
            "notice_given_on",
            "committee_met_on",
            "dpia_id",
            "dpia_status",
            "dpia_state",
            "attention",
            "attention_due",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _dpia(self, system: TechnologySystem) -> Plan | None:
        return _latest_dpia(system)

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_dpia_id(self, system: TechnologySystem) -> str | None:
        dpia = self._dpia(system)
        if dpia is None:
            return None
        if self.context.get("final_only") and dpia.status != AssessmentStatus.FINAL:
            return None
        return str(dpia.pk)

    @extend_schema_field(serializers.ChoiceField(choices=AssessmentStatus.choices, allow_null=True))
    def get_dpia_status(self, system: TechnologySystem) -> str | None:
        dpia = self._dpia(system)
        return None if dpia is None else dpia.status

    def get_dpia_state(self, system: TechnologySystem) -> str:
        return str(technology.dpia_state(self._dpia(system), system.processes_worker_data))

    def to_representation(self, system: TechnologySystem) -> dict[str, Any]:
        """What the fields above give, built directly (cheaper than DRF's walk; a test compares the two)."""

        def day(value: Any) -> str | None:
            return None if value is None else _DATE.to_representation(value)

        return {
            "id": str(system.pk),
            "name": system.name,
            "supplier_name": system.supplier_name,
            "purpose": system.purpose,
            "sites": system.sites,
            "teams": system.teams,
            "go_live_on": day(system.go_live_on),
            "status": system.status,
            "worker_data": system.worker_data,
            "monitors_people": bool(system.monitors_people),
            "decisions": list(system.decisions),
            "processes_worker_data": system.processes_worker_data,
            "notice_given_on": day(system.notice_given_on),
            "committee_met_on": day(system.committee_met_on),
            "dpia_id": self.get_dpia_id(system),
            "dpia_status": self.get_dpia_status(system),
            "dpia_state": self.get_dpia_state(system),
            "attention": system.attention,
            "attention_due": day(system.attention_due),
            "created_at": _DATETIME.to_representation(system.created_at),
            "updated_at": _DATETIME.to_representation(system.updated_at),
        }


class ClockSerializer(serializers.Serializer[Any]):
    key = ClockKeyField()
    title = serializers.CharField(help_text='The clause\'s period, e.g. "Notice before introduction (90 days)".')
    state = ClockStateField()
    due = serializers.DateField(
        allow_null=True, help_text="Notice to give by, go-live not before, or the meeting due by; null if not set."
    )
    detail = serializers.CharField(help_text="The clock in a sentence, with its dates.")
    breach = serializers.BooleanField(help_text="`late` or `breached`: written to the audit trail and reported.")


class LinkedPlanSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    title = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AssessmentStatus.choices)


class LinkedCriterionSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The self-assessment criterion's code, e.g. `1.5`.")
    title = serializers.CharField()


class LinkedEvidenceSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(help_text="The file's id in the evidence library.")
    original_name = serializers.CharField()


class SystemLinksSerializer(serializers.Serializer[Any]):
    plans = LinkedPlanSerializer(many=True, help_text="Plans that concern it (auditors: final ones only).")
    criteria = LinkedCriterionSerializer(many=True)
    evidence = LinkedEvidenceSerializer(many=True)


class TechnologySystemSerializer(TechnologySystemSummarySerializer):
    clocks = serializers.SerializerMethodField(
        help_text="The new technology agreement's clocks on it today; empty without an agreement in force, for a "
        "retired system, or for one live before the agreement came into force."
    )
    links = serializers.SerializerMethodField()

    class Meta(TechnologySystemSummarySerializer.Meta):
        fields = [*TechnologySystemSummarySerializer.Meta.fields, "clocks", "links"]
        read_only_fields = fields

    def to_representation(self, system: TechnologySystem) -> dict[str, Any]:
        return {**super().to_representation(system), "clocks": self.get_clocks(system), "links": self.get_links(system)}

    @extend_schema_field(ClockSerializer(many=True))
    def get_clocks(self, system: TechnologySystem) -> list[dict[str, Any]]:
        return [
            {
                "key": clock.key,
                "title": str(clock.title),
                "state": clock.state,
                "due": None if clock.due is None else _DATE.to_representation(clock.due),
                "detail": str(clock.detail),
                "breach": clock.is_breach,
            }
            for clock in technology.system_clocks(system)
        ]

    @extend_schema_field(SystemLinksSerializer)
    def get_links(self, system: TechnologySystem) -> dict[str, Any]:
        links = technology.system_links(system)
        final_only = self.context.get("final_only")
        return {
            "plans": [
                {"id": str(p.pk), "title": p.title, "version": p.version, "status": p.status}
                for p in links["plans"]
                if not final_only or p.status == AssessmentStatus.FINAL
            ],
            "criteria": [{"code": c.code, "title": c.title} for c in links["criteria"]],
            "evidence": [{"id": str(e.pk), "original_name": e.original_name} for e in links["evidence"]],
        }


class TechnologySystemWriteSerializer(StrictSerializer):
    """The register's fields. Notice and the committee's meeting are recorded at `.../notice/`."""

    name = serializers.CharField(
        max_length=200,
        error_messages={"required": "Enter the system's name", "blank": "Enter the system's name"},
        help_text="Unique in your register. One line.",
        validators=[SingleLineValidator("Name")],
    )
    supplier_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, validators=[SingleLineValidator("Supplier")]
    )
    purpose = serializers.CharField(
        max_length=10000, required=False, allow_blank=True, help_text="What it is for.", trim_whitespace=True
    )
    sites = serializers.CharField(max_length=300, required=False, allow_blank=True, help_text="Sites affected.")
    teams = serializers.CharField(max_length=300, required=False, allow_blank=True, help_text="Teams affected.")
    go_live_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Planned or actual go-live (YYYY-MM-DD). Inside the agreement's notice period it is a breach.",
    )
    status = SystemStatusField(required=False, help_text="Default `planned`.")
    worker_data = serializers.CharField(
        max_length=10000, required=False, allow_blank=True, help_text="The data about workers it collects."
    )
    monitors_people = serializers.BooleanField(required=False, help_text="It monitors people.")
    decisions = serializers.ListField(
        child=WorkerDecisionField(),
        required=False,
        max_length=len(WorkerDecision.values) * 2,
        help_text="The decisions about people it makes or supports.",
    )


class SystemQuery(serializers.Serializer[Any]):
    q = serializers.CharField(
        required=False, max_length=200, help_text="Part of a name, supplier, purpose, site or team."
    )
    status = SystemStatusField(required=False)


class NoticeSerializer(StrictSerializer):
    notice_given_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="The day written notice was given to the representatives (not in the future); null clears it. "
        "Omitted: unchanged.",
    )
    committee_met_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="The day the joint technology committee met on the notice (after it, not in the future); "
        "null clears it. Omitted: unchanged.",
    )


class LinksWriteSerializer(StrictSerializer):
    """Everything the system is linked to, replacing what it was linked to (an omitted list: none)."""

    plans = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, max_length=500, help_text="Plan ids."
    )
    criteria = serializers.ListField(
        child=serializers.CharField(max_length=16),
        required=False,
        default=list,
        max_length=500,
        help_text="Self-assessment criterion codes, e.g. `1.5`.",
    )
    evidence = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        max_length=500,
        help_text="Evidence file ids from your library.",
    )


class DpiaStartedSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(help_text="The DPIA's plan id.")
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=AssessmentStatus.choices)
    url = serializers.URLField(
        help_text="The DPIA's address in this API (`plans/{id}/`): write its sections there, and review and "
        "sign it through the plans' endpoints."
    )


def _systems(organisation: Any, *, search: str = "", status: str = "") -> QuerySet[TechnologySystem]:
    return technology.register_rows(organisation, search=search, status=status).prefetch_related(_dpias())


class SystemMixin:
    organisation: Any
    membership: Any

    def get_system(self, system_id: Any) -> TechnologySystem:
        system = _systems(self.organisation).select_related("organisation").filter(pk=system_id).first()
        if system is None:
            raise Http404
        return system

    def serializer_context(self) -> dict[str, Any]:
        return {"final_only": self.membership.role == Role.AUDITOR}

    def system_data(self, system_id: Any) -> dict[str, Any]:
        return TechnologySystemSerializer(self.get_system(system_id), context=self.serializer_context()).data


class SystemListView(SystemMixin, OrganisationListView):
    """The technology register, by name: every system with its DPIA's status and what needs someone now.
    POST registers a system (owners and managers)."""

    actions = {"GET": "view_dashboard", "POST": "edit_content"}
    serializer_class = TechnologySystemSummarySerializer
    query_serializer_class = SystemQuery
    ordering = "name"

    def get_queryset(self) -> QuerySet[TechnologySystem]:
        query = self.query()
        return _systems(self.organisation, search=query.get("q", ""), status=query.get("status", ""))

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), **self.serializer_context()}

    @extend_schema(request=TechnologySystemWriteSerializer, responses={201: TechnologySystemSerializer})
    def post(self, request: Request, org: str) -> Response:
        serializer = TechnologySystemWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with _service_errors():
            system = technology.system_create(
                organisation=self.organisation, actor=request.user, values=dict(serializer.validated_data)
            )
        return Response(self.system_data(system.pk), status=status.HTTP_201_CREATED)


class SystemDetailView(SystemMixin, OrganisationGenericView):
    """One system with the agreement's clocks on it today and what it is linked to. PATCH changes any of
    its register fields; DELETE removes one registered by mistake (one with a DPIA stays: retire it)."""

    actions = {"GET": "view_dashboard", "PATCH": "edit_content", "DELETE": "edit_content"}
    serializer_class = TechnologySystemSerializer
    pagination_class = None

    def get(self, request: Request, org: str, system_id: Any) -> Response:
        return Response(self.system_data(system_id))

    @extend_schema(request=TechnologySystemWriteSerializer(partial=True), responses={200: TechnologySystemSerializer})
    def patch(self, request: Request, org: str, system_id: Any) -> Response:
        system = self.get_system(system_id)
        serializer = TechnologySystemWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with _service_errors():
            technology.system_update(system=system, actor=request.user, values=dict(serializer.validated_data))
        return Response(self.system_data(system.pk))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, org: str, system_id: Any) -> Response:
        system = self.get_system(system_id)
        with _service_errors():
            technology.system_delete(system=system, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SystemNoticeView(SystemMixin, OrganisationGenericView):
    """Record the day notice was given to the representatives and the day the joint technology committee
    met on it: the agreement's clocks on the system move with them."""

    actions = {"POST": "edit_content"}
    serializer_class = TechnologySystemSerializer
    pagination_class = None

    @extend_schema(request=NoticeSerializer, responses={200: TechnologySystemSerializer})
    def post(self, request: Request, org: str, system_id: Any) -> Response:
        system = self.get_system(system_id)
        serializer = NoticeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with _service_errors():
            technology.notice_record(
                system=system,
                actor=request.user,
                notice_given_on=data.get("notice_given_on", system.notice_given_on),
                committee_met_on=data.get("committee_met_on", system.committee_met_on),
            )
        return Response(self.system_data(system.pk))


class SystemLinksView(SystemMixin, OrganisationGenericView):
    """Replace the plans, self-assessment criteria and evidence the system is linked to."""

    actions = {"PUT": "edit_content"}
    serializer_class = TechnologySystemSerializer
    pagination_class = None

    @extend_schema(request=LinksWriteSerializer, responses={200: TechnologySystemSerializer})
    def put(self, request: Request, org: str, system_id: Any) -> Response:
        system = self.get_system(system_id)
        serializer = LinksWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with _service_errors():
            technology.links_set(
                system=system,
                actor=request.user,
                plan_ids=data["plans"],
                criterion_codes=data["criteria"],
                evidence_ids=data["evidence"],
            )
        return Response(self.system_data(system.pk))


class SystemDpiaView(SystemMixin, OrganisationGenericView):
    """Start the system's data-protection impact assessment, from what the register says about it, with an
    empty EqIA (once: a system has one DPIA, amended through the plans' `amend/`)."""

    actions = {"POST": "edit_content"}
    serializer_class = DpiaStartedSerializer
    pagination_class = None

    @extend_schema(request=None, responses={201: DpiaStartedSerializer})
    def post(self, request: Request, org: str, system_id: Any) -> Response:
        system = self.get_system(system_id)
        with _service_errors():
            plan = technology.dpia_start(system=system, actor=request.user)
        url = request.build_absolute_uri(reverse("api:plan_detail", kwargs={"org": org, "plan_id": plan.pk}))
        data = {"id": str(plan.pk), "title": str(plan.title), "status": plan.status, "url": url}
        return Response(DpiaStartedSerializer(data).data, status=status.HTTP_201_CREATED, headers={"Location": url})


class SystemImportUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        help_text="A CSV file (UTF-8) in the export's columns: name, supplier, purpose, sites, teams, go_live_on "
        "(YYYY-MM-DD), status, worker_data, monitors_people (yes/no), decisions (semicolon-separated), "
        "notice_given_on, committee_met_on. Only `name` is required; a column left out leaves that field as it "
        "is. Up to 2,000 systems.",
        error_messages={"required": "Choose a CSV file to import", "empty": "The file is empty."},
    )


class SystemImportResultSerializer(serializers.Serializer[Any]):
    total_rows = serializers.IntegerField(help_text="Rows of systems in the file.")
    created = serializers.IntegerField(help_text="Systems added to the register.")
    updated = serializers.IntegerField(help_text="Systems of the same name (any case) that the file changed.")
    unchanged = serializers.IntegerField(help_text="Systems the file already matched exactly.")


class SystemImportView(OrganisationGenericView):
    """Register or update every system in a CSV file (matched by name), all or nothing.

    A file that cannot be read is refused with `fields.file`; if any row is refused, nothing is saved and
    each problem is a field `rows.<line>.<column>` (`rows.<line>` for the row as a whole), with the line
    numbers a spreadsheet shows (the header is line 1)."""

    actions = {"POST": "edit_content"}
    serializer_class = SystemImportResultSerializer
    pagination_class = None
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": SystemImportUploadSerializer},
        responses={200: SystemImportResultSerializer},
    )
    def post(self, request: Request, org: str) -> Response:
        serializer = SystemImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        result = technology_csv.import_register(
            organisation=self.organisation,
            actor=request.user,
            data=upload.read(technology_csv.MAX_BYTES + 1),  # enough to know it is too big
        )
        if result.file_errors:
            raise exceptions.ValidationError({"file": result.file_errors})
        if result.errors:
            fields: dict[str, Any] = {
                "non_field_errors": [
                    _(
                        "%(n)s of %(total)s rows have problems, listed by line and column. Nothing was imported: "
                        "correct them and upload the file again."
                    )
                    % {"n": len(result.errors), "total": result.total_rows}
                ]
            }
            for error in result.errors:
                for column, message in error.problems:
                    key = f"rows.{error.line}.{column}" if column else f"rows.{error.line}"
                    fields.setdefault(key, []).append(message)
            raise exceptions.ValidationError(fields)
        data = {
            "total_rows": result.total_rows,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
        return Response(SystemImportResultSerializer(data).data)


# --- The agreement ---------------------------------------------------------------------------------


class AgreementSummarySerializer(serializers.ModelSerializer[TechnologyAgreement]):
    status = AgreementStatusField(read_only=True)
    in_force_on = serializers.DateField(
        read_only=True, allow_null=True, help_text="The day both sides had signed it; null for a draft."
    )
    changed_at = serializers.DateTimeField(
        read_only=True, help_text="When its words last changed: a signature given before then is on other words."
    )

    class Meta:
        model = TechnologyAgreement
        fields = ["id", "title", "version", "status", "created_at", "changed_at", "in_force_on"]
        read_only_fields = fields


class ClauseSerializer(serializers.Serializer[Any]):
    position = serializers.IntegerField()
    key = serializers.CharField(
        allow_blank=True, help_text="The library clause it was adapted from; empty for the parties' own clause."
    )
    title = serializers.CharField()
    text = serializers.CharField(help_text="Its words as adapted, with `{days}` where the number of days goes.")
    days = serializers.IntegerField(
        allow_null=True, help_text="The period it sets (the `notice` and `committee` clauses only)."
    )
    wording = serializers.CharField(help_text="Its words as signed and read: `text` with the days filled in.")


class AgreementSignatureSerializer(serializers.ModelSerializer[Signature]):
    content_hash = serializers.CharField(read_only=True, help_text="SHA-256 of the words signed.")

    class Meta:
        model = Signature
        fields = ["typed_name", "job_title", "signer_email", "statement", "signed_at", "content_hash"]
        read_only_fields = fields


class AgreementSignaturesSerializer(serializers.Serializer[Any]):
    """Each side's signature that still matches the agreement's words; null where there is none."""

    management = AgreementSignatureSerializer(allow_null=True, read_only=True)
    workforce = AgreementSignatureSerializer(allow_null=True, read_only=True)


class AgreementSerializer(AgreementSummarySerializer):
    clauses = serializers.SerializerMethodField()
    content_hash = serializers.SerializerMethodField(
        help_text="SHA-256 of exactly what a signature covers now (title, version, every clause's words): send "
        "it back when signing."
    )
    signatures = serializers.SerializerMethodField()
    capacity = serializers.SerializerMethodField(help_text="The side you would sign for; null: your role cannot sign.")
    statement = serializers.SerializerMethodField(help_text="The statement you would sign; null: you cannot sign.")

    class Meta(AgreementSummarySerializer.Meta):
        fields = [
            *AgreementSummarySerializer.Meta.fields,
            "clauses",
            "content_hash",
            "signatures",
            "capacity",
            "statement",
        ]
        read_only_fields = fields

    @extend_schema_field(ClauseSerializer(many=True))
    def get_clauses(self, agreement: TechnologyAgreement) -> list[dict[str, Any]]:
        return [
            {
                "position": c.position,
                "key": c.key,
                "title": c.title,
                "text": c.text,
                "days": c.days,
                "wording": c.wording,
            }
            for c in agreement.clauses.all()
        ]

    def get_content_hash(self, agreement: TechnologyAgreement) -> str:
        return technology.agreement_hash(agreement)

    @extend_schema_field(AgreementSignaturesSerializer)
    def get_signatures(self, agreement: TechnologyAgreement) -> dict[str, Any]:
        found = technology.current_signatures(agreement)
        return {
            "management": _signature(found[SignatureCapacity.MANAGEMENT]),
            "workforce": _signature(found[SignatureCapacity.WORKFORCE]),
        }

    @extend_schema_field(serializers.ChoiceField(choices=SignatureCapacity.choices, allow_null=True))
    def get_capacity(self, agreement: TechnologyAgreement) -> str | None:
        membership = self.context.get("membership")
        return None if membership is None else workflow.capacity_for(membership)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_statement(self, agreement: TechnologyAgreement) -> str | None:
        capacity = self.get_capacity(agreement)
        return None if capacity is None else technology.signing_statement(agreement, capacity)


def _signature(signature: Signature | None) -> dict[str, Any] | None:
    return None if signature is None else dict(AgreementSignatureSerializer(signature).data)


class AgreementCreateSerializer(StrictSerializer):
    title = serializers.CharField(
        max_length=200,
        error_messages={"required": "Enter a title for the agreement", "blank": "Enter a title for the agreement"},
        validators=[SingleLineValidator("Title")],
    )
    clause_keys = serializers.ListField(
        child=ClauseKeyField(),
        required=False,
        max_length=len(LIBRARY_KEYS),
        help_text="The library's clauses to start from, in order. Omitted: a new version of the agreement in "
        "force with its clauses, or, without one, every clause of the library.",
    )


class ClauseWriteSerializer(StrictSerializer):
    key = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="Keep the library clause's key (see the agreement's `clauses`) so a `notice` or `committee` "
        "clause still sets its clock; empty for a clause of your own.",
    )
    title = serializers.CharField(max_length=200, allow_blank=True, validators=[SingleLineValidator("Heading")])
    text = serializers.CharField(
        max_length=20000, allow_blank=True, help_text="Its words, with `{days}` where the number of days goes."
    )
    days = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=technology.MAX_CLAUSE_DAYS,
        help_text="The `notice` and `committee` clauses' period (required for them, ignored for others).",
    )


class AgreementUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False, validators=[SingleLineValidator("Title")])
    clauses = ClauseWriteSerializer(
        many=True,
        required=False,
        max_length=50,
        help_text="Every clause, in order, replacing the draft's clauses. Omitted: unchanged.",
    )


class AgreementSignSerializer(StrictSerializer):
    """Your signature for your side. The signer is always you (the token's owner), in the capacity your role
    gives: management (owners, managers) or the workforce (representatives)."""

    typed_name = serializers.CharField(
        max_length=150,
        help_text="Your full name: typing it is your signature.",
        error_messages={"required": "Type your full name to sign", "blank": "Type your full name to sign"},
    )
    job_title = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    content_hash = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        help_text="The agreement's `content_hash` as you read it. If its words changed since, nothing is signed "
        "(409 `content_changed`).",
    )


def _agreements(membership: Any) -> QuerySet[TechnologyAgreement]:
    queryset = TechnologyAgreement.objects.filter(organisation=membership.organisation_id)
    if membership.role == Role.AUDITOR:
        queryset = queryset.exclude(status=AgreementStatus.DRAFT)
    return queryset


class AgreementMixin:
    membership: Any

    def get_agreement(self, agreement_id: Any) -> TechnologyAgreement:
        agreement = (
            _agreements(self.membership)
            .select_related("organisation")
            .prefetch_related("clauses")
            .filter(pk=agreement_id)
            .first()
        )
        if agreement is None:
            raise Http404
        return agreement

    def agreement_data(self, agreement_id: Any) -> dict[str, Any]:
        return AgreementSerializer(self.get_agreement(agreement_id), context={"membership": self.membership}).data


class AgreementListView(AgreementMixin, OrganisationListView):
    """The new technology agreement's versions, newest first (auditors: signed ones only). POST drafts the
    next version (one draft at a time)."""

    actions = {"GET": "view_dashboard", "POST": "negotiate_agreement"}
    serializer_class = AgreementSummarySerializer
    ordering = "-version"

    def get_queryset(self) -> QuerySet[TechnologyAgreement]:
        return _agreements(self.membership)

    @extend_schema(request=AgreementCreateSerializer, responses={201: AgreementSerializer})
    def post(self, request: Request, org: str) -> Response:
        serializer = AgreementCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with _service_errors({"clauses": "clause_keys"}):
            agreement = technology.agreement_create(
                organisation=self.organisation,
                actor=request.user,
                title=data["title"],
                clause_keys=data.get("clause_keys"),
            )
        return Response(self.agreement_data(agreement.pk), status=status.HTTP_201_CREATED)


class AgreementDetailView(AgreementMixin, OrganisationGenericView):
    """One version of the agreement: every clause's words, its `content_hash` and each side's signature on
    those words. PATCH adapts a draft (any change asks both sides to sign again); DELETE discards a draft."""

    actions = {"GET": "view_dashboard", "PATCH": "negotiate_agreement", "DELETE": "negotiate_agreement"}
    serializer_class = AgreementSerializer
    pagination_class = None

    def get(self, request: Request, org: str, agreement_id: Any) -> Response:
        return Response(self.agreement_data(agreement_id))

    @extend_schema(request=AgreementUpdateSerializer, responses={200: AgreementSerializer})
    def patch(self, request: Request, org: str, agreement_id: Any) -> Response:
        agreement = self.get_agreement(agreement_id)
        serializer = AgreementUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "clauses" in data:
            clauses = [technology.ClauseInput(c["title"], c["text"], c["key"], c["days"]) for c in data["clauses"]]
        else:
            clauses = [technology.ClauseInput(c.title, c.text, c.key, c.days) for c in agreement.clauses.all()]
        # The service names a clause's field `clause_<n>_<field>`, counting from 1.
        rename = {
            f"clause_{n + 1}_{name}": f"clauses.{n}.{name}"
            for n in range(len(clauses))
            for name in ("title", "text", "days")
        }
        with _service_errors(rename):
            technology.agreement_update(
                agreement=agreement, actor=request.user, title=data.get("title", agreement.title), clauses=clauses
            )
        return Response(self.agreement_data(agreement.pk))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, org: str, agreement_id: Any) -> Response:
        agreement = self.get_agreement(agreement_id)
        with _service_errors():
            technology.agreement_delete(agreement=agreement, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AgreementSignView(AgreementMixin, OrganisationGenericView):
    """Sign the draft for your side, against the `content_hash` you read. Once both sides have signed its
    current words it is in force: the version it replaces is superseded and every system's clocks follow
    its periods. Nobody signs one agreement for both sides (403 `separation_of_duties`)."""

    # Who may sign is the capacity the role gives (`sign_management` or `countersign_workforce`).
    actions = {"POST": "view_dashboard"}
    serializer_class = AgreementSerializer
    pagination_class = None

    @extend_schema(request=AgreementSignSerializer, responses={201: AgreementSerializer})
    def post(self, request: Request, org: str, agreement_id: Any) -> Response:
        capacity = workflow.capacity_for(self.membership)
        if capacity is None:
            raise exceptions.PermissionDenied(_("Your role cannot sign the agreement."))
        agreement = self.get_agreement(agreement_id)
        serializer = AgreementSignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with _service_errors():
            technology.agreement_sign(
                agreement=agreement,
                signer=request.user,
                capacity=capacity,
                typed_name=data["typed_name"],
                job_title=data["job_title"],
                expected_hash=data["content_hash"],
                context=api_signing_context(request),
            )
        return Response(self.agreement_data(agreement.pk), status=status.HTTP_201_CREATED)


# --- URLs ------------------------------------------------------------------------------------------

org = "organisations/<slug:org>/"
system = f"{org}technology/systems/<uuid:system_id>/"
agreement = f"{org}technology/agreements/<uuid:agreement_id>/"

urlpatterns = [
    path(f"{org}technology/systems/", SystemListView.as_view(), name="technology_system_list"),
    path(f"{org}technology/systems/import/", SystemImportView.as_view(), name="technology_system_import"),
    path(system, SystemDetailView.as_view(), name="technology_system_detail"),
    path(f"{system}notice/", SystemNoticeView.as_view(), name="technology_system_notice"),
    path(f"{system}links/", SystemLinksView.as_view(), name="technology_system_links"),
    path(f"{system}dpia/", SystemDpiaView.as_view(), name="technology_system_dpia"),
    path(f"{org}technology/agreements/", AgreementListView.as_view(), name="technology_agreement_list"),
    path(agreement, AgreementDetailView.as_view(), name="technology_agreement_detail"),
    path(f"{agreement}sign/", AgreementSignView.as_view(), name="technology_agreement_sign"),
]
