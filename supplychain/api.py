"""API for the supply chain: the supplier register and its CSV import, campaigns with their coverage and
what the campaign tree shows the caller, the buyer's resend and revoke, and the supplier's side
(requests received, accepting, declining and passing them on, and what each buyer may see).

Views only parse input and call supplychain.services and supplychain.selectors, as the web views do.
As on the web, only roles with `view_supply_chain` (portal.roles) reach the supply chain (others: 403),
and a buyer sees the companies it asked itself by name and everything deeper only as counts (DESIGN.md section 7).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries
from django_scopes import scopes_disabled
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.base import OrganisationGenericView, OrganisationListView, api_signing_context
from portal.api.errors import Conflict, service_error
from portal.models import EmailStatus, Membership
from portal.services import InvitationLinkError
from portal.text import SingleLineValidator
from supplychain import csv_io, selectors, services
from supplychain.models import (
    Campaign,
    HeldAnswer,
    InvitationState,
    Supplier,
    SupplierImport,
    SupplierInvitation,
    SupplierLink,
)
from supplychain.selectors import STATES, TreeNode

SHOWN_STATES = list(STATES[1:])  # accepted, declined, pending, expired (revoked shows as expired)
_DATETIME = serializers.DateTimeField()  # formats a date-time as every serializer field does

# --- Shared plumbing -----------------------------------------------------------------------------


class SupplyChainAccess:
    """`view_supply_chain` in portal.roles, for every method, as on the web (not auditors, not members)."""

    membership: Membership

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if not self.membership.can("view_supply_chain"):
            raise exceptions.PermissionDenied(_("Your role in this organisation does not cover the supply chain."))


class SupplyChainListView(SupplyChainAccess, OrganisationListView):
    pass


class SupplyChainView(SupplyChainAccess, OrganisationGenericView):
    pagination_class = None


def _valid(serializer_class: type[serializers.Serializer[Any]], data: Any, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _conflict(exc: DjangoValidationError, code: str = "conflict") -> Conflict:
    return Conflict(" ".join(exc.messages), code=code)


_LINK_MESSAGES = {
    "used": gettext_lazy("This request has already been answered."),
    "revoked": gettext_lazy("The buyer has withdrawn this request."),
    "expired": gettext_lazy("This request has expired. Ask the buyer to send it again."),
}


def _link_error(exc: InvitationLinkError) -> exceptions.APIException:
    """Why a request can no longer be answered: 409 with code request_used, request_revoked or request_expired."""
    if exc.reason not in _LINK_MESSAGES:
        return exceptions.NotFound(_("Not found."))
    return Conflict(str(_LINK_MESSAGES[exc.reason]), code=f"request_{exc.reason}")


def _check_register_ids(organisation: Any, ids: list[Any], field: str) -> None:
    """Every id must be a supplier in the organisation's register that is not archived."""
    known = set(selectors.register(organisation).filter(pk__in=ids).values_list("pk", flat=True))
    errors = {
        f"{field}.{index}": [_("No supplier in your register (archived ones excluded) has this id.")]
        for index, value in enumerate(ids)
        if value not in known
    }
    if errors:
        raise exceptions.ValidationError(errors)


class PersonSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    full_name = serializers.CharField()


def _person(user: Any) -> dict[str, str] | None:
    return {"email": user.email, "full_name": user.full_name} if user is not None else None


# --- Register ------------------------------------------------------------------------------------


class SupplierSerializer(serializers.ModelSerializer[Supplier]):
    country = serializers.CharField(source="country.code", help_text="ISO 3166 two-letter code.")
    linked_organisation = serializers.CharField(
        source="linked_organisation.name",
        allow_null=True,
        help_text="The organisation on the portal that answered a request as this supplier, if any.",
    )
    archived = serializers.SerializerMethodField()

    class Meta:
        model = Supplier
        fields = [
            "id",
            "name",
            "contact_name",
            "contact_email",
            "company_number",
            "country",
            "linked_organisation",
            "archived",
            "archived_at",
            "created_at",
        ]

    def get_archived(self, supplier: Supplier) -> bool:
        return supplier.archived_at is not None

    def to_representation(self, supplier: Supplier) -> dict[str, Any]:
        """What the fields above give, built directly: DRF's field-by-field walk was a sixth of a list's
        cost (a test compares the two)."""
        linked = supplier.linked_organisation
        return {
            "id": str(supplier.pk),
            "name": supplier.name,
            "contact_name": supplier.contact_name,
            "contact_email": supplier.contact_email,
            "company_number": supplier.company_number,
            "country": str(supplier.country.code),  # type: ignore[attr-defined]  # a Country, not a str
            "linked_organisation": None if linked is None else linked.name,
            "archived": supplier.archived_at is not None,
            "archived_at": _DATETIME.to_representation(supplier.archived_at) if supplier.archived_at else None,
            "created_at": _DATETIME.to_representation(supplier.created_at),
        }


class SupplierWriteSerializer(serializers.Serializer[Any]):
    """The supplier form's fields and limits."""

    name = serializers.CharField(
        max_length=200,
        error_messages={"required": "Enter the supplier's name", "blank": "Enter the supplier's name"},
        help_text="One line: no line breaks or control characters (it appears in email subjects).",
        validators=[SingleLineValidator("Name")],
    )
    contact_name = serializers.CharField(
        max_length=200, allow_blank=True, default="", validators=[SingleLineValidator("Contact name")]
    )
    contact_email = serializers.EmailField(
        max_length=254,
        help_text="The person who can commit the supplier: invitations go to this address.",
        error_messages={
            "required": "Enter the contact's email address",
            "blank": "Enter the contact's email address",
            "invalid": "Enter an email address in the correct format, like name@example.com",
        },
    )
    company_number = serializers.CharField(
        max_length=16,
        allow_blank=True,
        default="",
        help_text="Optional. Used to recognise the same company in later imports.",
    )
    country = serializers.CharField(
        min_length=2, max_length=2, default="GB", help_text="ISO 3166 two-letter code, e.g. GB or DE."
    )

    def validate_country(self, value: str) -> str:
        code = value.upper()
        if code not in countries:
            raise serializers.ValidationError("Country must be a two-letter code like GB or DE")
        return code


class SupplierQuery(serializers.Serializer[Any]):
    search = serializers.CharField(
        required=False, max_length=200, help_text="Part of a name, contact email or company number."
    )
    archived = serializers.BooleanField(
        required=False, default=False, help_text="`true` lists the archived suppliers instead of the current ones."
    )


@extend_schema_view(get=extend_schema(operation_id="suppliers_list"))
class SupplierListView(SupplyChainListView):
    """The supplier register (current suppliers, or the archived ones), and adding a supplier."""

    actions = {"GET": "view_dashboard", "POST": "edit_content"}
    serializer_class = SupplierSerializer
    query_serializer_class = SupplierQuery
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Supplier]:
        query = self.query()
        return selectors.register(
            self.organisation, search=query.get("search", "").strip(), archived=query.get("archived", False)
        )

    @extend_schema(
        request=SupplierWriteSerializer, responses={201: SupplierSerializer}, operation_id="suppliers_create"
    )
    def post(self, request: Request, org: str) -> Response:
        data = _valid(SupplierWriteSerializer, request.data)
        supplier = services.supplier_save(organisation=self.organisation, actor=request.user, **data)
        return Response(SupplierSerializer(supplier).data, status=201)


class SupplierMixin:
    organisation: Any

    def supplier(self, supplier_id: Any) -> Supplier:
        return get_object_or_404(
            Supplier.objects.select_related("linked_organisation"), organisation=self.organisation, pk=supplier_id
        )


class SupplierDetailView(SupplierMixin, SupplyChainView):
    """One supplier; PATCH changes any of its fields (the register never holds the same company twice)."""

    actions = {"GET": "view_dashboard", "PATCH": "edit_content"}
    serializer_class = SupplierSerializer

    @extend_schema(operation_id="suppliers_retrieve")
    def get(self, request: Request, org: str, supplier_id: Any) -> Response:
        return Response(SupplierSerializer(self.supplier(supplier_id)).data)

    @extend_schema(
        request=SupplierWriteSerializer(partial=True),
        responses={200: SupplierSerializer},
        operation_id="suppliers_partial_update",
    )
    def patch(self, request: Request, org: str, supplier_id: Any) -> Response:
        supplier = self.supplier(supplier_id)
        data = _valid(SupplierWriteSerializer, request.data, partial=True)
        current = {
            "name": supplier.name,
            "contact_name": supplier.contact_name,
            "contact_email": supplier.contact_email,
            "company_number": supplier.company_number,
            "country": str(supplier.country),
        }
        saved = services.supplier_save(
            organisation=self.organisation, actor=request.user, supplier=supplier, **{**current, **data}
        )
        return Response(SupplierSerializer(saved).data)


class SupplierArchiveView(SupplierMixin, SupplyChainView):
    """Archive a supplier: it leaves the register and new campaigns, and stays in past ones."""

    actions = {"POST": "edit_content"}
    serializer_class = SupplierSerializer

    def change(self, request: Request, supplier_id: Any, *, archived: bool) -> Response:
        supplier = self.supplier(supplier_id)
        if (supplier.archived_at is not None) == archived:
            message = _("%(name)s is already archived.") if archived else _("%(name)s is not archived.")
            raise Conflict(message % {"name": supplier.name})
        services.supplier_archive(supplier=supplier, actor=request.user, archived=archived)
        return Response(SupplierSerializer(supplier).data)

    @extend_schema(request=None, responses={200: SupplierSerializer}, operation_id="suppliers_archive")
    def post(self, request: Request, org: str, supplier_id: Any) -> Response:
        return self.change(request, supplier_id, archived=True)


class SupplierRestoreView(SupplierArchiveView):
    """Bring an archived supplier back into the register."""

    @extend_schema(request=None, responses={200: SupplierSerializer}, operation_id="suppliers_restore")
    def post(self, request: Request, org: str, supplier_id: Any) -> Response:
        return self.change(request, supplier_id, archived=False)


# --- CSV import ----------------------------------------------------------------------------------


class ImportUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        help_text="A CSV file in the template's columns (name, contact_name, contact_email, company_number, "
        "country), UTF-8, up to 10,000 suppliers.",
        error_messages={"required": "Choose a CSV file to import", "empty": "The file is empty."},
    )


class ImportRowSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField(help_text="The row's line in the file as a spreadsheet shows it (header is 1).")
    name = serializers.CharField()
    contact_name = serializers.CharField(allow_blank=True)
    contact_email = serializers.EmailField()
    company_number = serializers.CharField(allow_blank=True)
    country = serializers.CharField()


class ImportLineSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField()
    reason = serializers.CharField()


class ImportPreviewSerializer(serializers.ModelSerializer[SupplierImport]):
    to_import = serializers.SerializerMethodField(help_text="New suppliers that confirming would add.")
    already_in_register = serializers.SerializerMethodField(help_text="Rows skipped: already in the register.")
    rows = ImportRowSerializer(many=True, help_text="The suppliers to import.")
    skipped = ImportLineSerializer(many=True, help_text="The rows already in the register, and why.")

    class Meta:
        model = SupplierImport
        fields = ["id", "file_name", "total_rows", "to_import", "already_in_register", "rows", "skipped", "created_at"]

    def get_to_import(self, pending: SupplierImport) -> int:
        return len(pending.rows)

    def get_already_in_register(self, pending: SupplierImport) -> int:
        return len(pending.skipped)


class SupplierImportView(SupplyChainView):
    """Check a CSV file of suppliers. Nothing is added until the preview is confirmed.

    A file that cannot be read is refused with `fields.file`; rows with problems are refused with
    one field per cell, `rows.<line>.<column>` (`rows.<line>` for the row as a whole), using the
    line numbers a spreadsheet shows, so the file can be corrected and sent again."""

    actions = {"POST": "edit_content"}
    serializer_class = ImportPreviewSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportPreviewSerializer},
        operation_id="supplier_imports_create",
    )
    def post(self, request: Request, org: str) -> Response:
        upload = _valid(ImportUploadSerializer, request.data)["file"]
        pending, preview = services.import_preview(
            organisation=self.organisation,
            actor=request.user,
            data=upload.read(csv_io.MAX_BYTES + 1),  # enough to know it is too big, never the whole of a huge file
            file_name=upload.name or "",
        )
        if pending is None:
            raise exceptions.ValidationError({"file": preview.file_errors})
        if preview.errors:
            # The preview waiting for confirmation is rolled back with this request.
            fields: dict[str, Any] = {
                "non_field_errors": [
                    _(
                        "%(n)s of %(total)s rows have problems, listed by line. Nothing was imported: correct "
                        "them and upload the file again."
                    )
                    % {"n": len(preview.errors), "total": preview.total_rows}
                ]
            }
            for error in preview.errors:
                for column, message in error.problems or (("", error.reason),):
                    key = f"rows.{error.line}.{column}" if column else f"rows.{error.line}"
                    fields.setdefault(key, []).append(message)
            raise exceptions.ValidationError(fields)
        return Response(ImportPreviewSerializer(pending).data, status=201)


class ImportResultSerializer(serializers.ModelSerializer[SupplierImport]):
    imported = serializers.IntegerField(source="imported_count", help_text="Suppliers added to the register.")
    already_in_register = serializers.SerializerMethodField(
        help_text="Rows not added because the register already holds them (including any added meanwhile)."
    )
    rejected = serializers.SerializerMethodField(help_text="Rows with problems, which were not imported.")

    class Meta:
        model = SupplierImport
        fields = ["id", "file_name", "total_rows", "imported", "already_in_register", "rejected", "imported_at"]

    def get_already_in_register(self, pending: SupplierImport) -> int:
        return len(pending.skipped) + len(pending.rows) - (pending.imported_count or 0)

    def get_rejected(self, pending: SupplierImport) -> int:
        return len(pending.errors)


class SupplierImportConfirmView(SupplyChainView):
    """Add a previewed file's suppliers to the register (once: a second confirmation is a conflict)."""

    actions = {"POST": "edit_content"}
    serializer_class = ImportResultSerializer

    @extend_schema(request=None, responses={200: ImportResultSerializer}, operation_id="supplier_imports_confirm")
    def post(self, request: Request, org: str, import_id: Any) -> Response:
        pending = get_object_or_404(SupplierImport, organisation=self.organisation, pk=import_id)
        try:
            services.import_confirm(pending=pending, actor=request.user)
        except DjangoValidationError as exc:
            raise _conflict(exc, "already_imported") from None
        pending.refresh_from_db()
        return Response(ImportResultSerializer(pending).data)


# --- Campaigns -----------------------------------------------------------------------------------


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    organisation_name = serializers.CharField(
        source="organisation.name", help_text="The organisation that started the campaign."
    )
    owner = serializers.SerializerMethodField(help_text="Whether your organisation started the campaign.")
    created_by = serializers.SerializerMethodField(help_text="Who started it; shown only to its own organisation.")
    reminder_days = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Days after sending when suppliers who have not replied are reminded.",
    )
    repeats = serializers.SerializerMethodField(
        help_text="The campaign this one repeats to the same suppliers (its id); shown only to its own organisation."
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "title",
            "message",
            "depth",
            "due_date",
            "reminder_days",
            "reminders_muted",
            "invitation_ttl_days",
            "organisation_name",
            "owner",
            "created_by",
            "created_at",
            "repeats",
        ]

    def get_owner(self, campaign: Campaign) -> bool:
        return bool(campaign.organisation_id == self.context["viewer"])

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_created_by(self, campaign: Campaign) -> dict[str, str] | None:
        if campaign.organisation_id != self.context["viewer"]:
            return None
        return _person(campaign.created_by)

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_repeats(self, campaign: Campaign) -> str | None:
        if campaign.organisation_id != self.context["viewer"] or campaign.repeats_id is None:
            return None
        return str(campaign.repeats_id)


class CampaignCreateSerializer(serializers.Serializer[Any]):
    """The campaign form's questions."""

    title = serializers.CharField(
        max_length=200,
        help_text="For your own reference, e.g. Supplier commitment 2026. One line: no line breaks or control "
        "characters.",
        error_messages={"required": "Enter a title", "blank": "Enter a title"},
        validators=[SingleLineValidator("Title")],
    )
    message = serializers.CharField(
        help_text="Why you are asking, and what you hope they will do. It is in the email they receive.",
        error_messages={"required": "Write a message to your suppliers", "blank": "Write a message to your suppliers"},
    )
    depth = serializers.IntegerField(
        min_value=1,
        max_value=5,
        help_text="How many tiers down the request goes: 1 is your direct suppliers only.",
        error_messages={
            "required": "Choose how many tiers the request goes down",
            "min_value": "Choose a depth from 1 to 5 tiers",
            "max_value": "Choose a depth from 1 to 5 tiers",
        },
    )
    due_date = serializers.DateField(
        help_text="Reply by this date (in the future).",
        error_messages={"required": "Enter the date you need replies by", "invalid": "Enter a real date"},
    )
    reminder_days = serializers.ListField(
        child=serializers.IntegerField(
            min_value=1,
            max_value=60,
            error_messages={
                "min_value": "Reminder days must be between 1 and 60",
                "max_value": "Reminder days must be between 1 and 60",
            },
        ),
        required=False,
        max_length=60,
        help_text="Remind suppliers who have not replied this many days after the invitation (default 3, 8, 15).",
    )
    reminders_muted = serializers.BooleanField(default=False, help_text="Send no reminders.")
    invitation_ttl_days = serializers.IntegerField(
        min_value=1,
        max_value=services.MAX_INVITATION_TTL_DAYS,
        default=services.DEFAULT_INVITATION_TTL_DAYS,
        help_text="How many days each invitation link stays open.",
    )
    all_suppliers = serializers.BooleanField(
        default=False, help_text="Ask every supplier in your register (leave `supplier_ids` out)."
    )
    supplier_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=10_000,
        help_text="The suppliers in your register to ask, when not all of them.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("all_suppliers") and attrs.get("supplier_ids"):
            raise serializers.ValidationError(
                {"supplier_ids": "Leave supplier_ids out when all_suppliers is true, or set all_suppliers to false"}
            )
        if not attrs.get("all_suppliers") and not attrs.get("supplier_ids"):
            raise serializers.ValidationError(
                {"supplier_ids": "Choose at least one supplier, or ask every supplier in your register"}
            )
        return attrs


@extend_schema_view(get=extend_schema(operation_id="campaigns_list"))
class CampaignListView(SupplyChainListView):
    """The campaigns your organisation started, newest first, and starting one (emails go out after it is saved)."""

    actions = {"GET": "view_dashboard", "POST": "edit_content"}
    serializer_class = CampaignSerializer
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Campaign]:
        return selectors.campaigns_of(self.organisation).select_related("organisation", "created_by")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "viewer": self.organisation.pk}

    @extend_schema(
        request=CampaignCreateSerializer, responses={201: CampaignSerializer}, operation_id="campaigns_create"
    )
    def post(self, request: Request, org: str) -> Response:
        data = _valid(CampaignCreateSerializer, request.data)
        everyone = data["all_suppliers"]
        ids = None if everyone else data["supplier_ids"]
        if ids is not None:
            _check_register_ids(self.organisation, ids, "supplier_ids")
        try:
            campaign = services.campaign_start(
                organisation=self.organisation,
                actor=request.user,
                title=data["title"],
                message=data["message"],
                depth=data["depth"],
                due_date=data["due_date"],
                supplier_ids=ids,
                reminder_days=data.get("reminder_days"),
                reminders_muted=data["reminders_muted"],
                invitation_ttl_days=data["invitation_ttl_days"],
            )
        except DjangoValidationError as exc:
            raise service_error(exc, {"suppliers": "all_suppliers" if everyone else "supplier_ids"}) from None
        return Response(CampaignSerializer(campaign, context={"viewer": self.organisation.pk}).data, status=201)


class CampaignMixin:
    organisation: Any
    _campaign: Campaign

    def campaign(self, campaign_id: Any) -> Campaign:
        """The campaign, if you started it or accepted it as a supplier (404 otherwise)."""
        if not hasattr(self, "_campaign"):
            self._campaign = selectors.campaign_for_viewer(campaign_id, viewer=self.organisation)
        return self._campaign


class CampaignDetailView(CampaignMixin, SupplyChainView):
    """A campaign you started, or one you accepted as a supplier."""

    serializer_class = CampaignSerializer

    @extend_schema(operation_id="campaigns_retrieve")
    def get(self, request: Request, org: str, campaign_id: Any) -> Response:
        campaign = self.campaign(campaign_id)
        return Response(CampaignSerializer(campaign, context={"viewer": self.organisation.pk}).data)


class CampaignRepeatSerializer(serializers.Serializer[Any]):
    """What may differ from the campaign repeated; everything else (suppliers, depth, reminders, link
    lifetime) is the same."""

    title = serializers.CharField(
        max_length=200,
        required=False,
        help_text="Default: the repeated campaign's title, with this year in place of the year it named.",
        validators=[SingleLineValidator("Title")],
    )
    message = serializers.CharField(required=False, help_text="Default: the repeated campaign's message.")
    due_date = serializers.DateField(
        required=False,
        help_text="Default: as long from today as the repeated campaign gave its suppliers.",
        error_messages={"invalid": "Enter a real date"},
    )


class CampaignRepeatView(CampaignMixin, SupplyChainView):
    """Repeat a campaign your organisation started: a new campaign to the same tier-1 suppliers (those
    still in your register) with the same settings. Suppliers who accepted the one repeated confirm in
    one step."""

    actions = {"POST": "edit_content"}
    serializer_class = CampaignRepeatSerializer

    @extend_schema(
        request=CampaignRepeatSerializer, responses={201: CampaignSerializer}, operation_id="campaigns_repeat"
    )
    def post(self, request: Request, org: str, campaign_id: Any) -> Response:
        from datetime import date

        campaign = self.campaign(campaign_id)
        if campaign.organisation_id != self.organisation.pk:  # a supplier sees it, but did not start it
            raise exceptions.NotFound(_("Not found."))
        data = _valid(CampaignRepeatSerializer, request.data)
        draft = selectors.repeat_draft(campaign)
        try:
            new = services.campaign_start(
                organisation=self.organisation,
                actor=request.user,
                title=data.get("title", draft["title"]),
                message=data.get("message", draft["message"]),
                depth=draft["depth"],
                due_date=data.get("due_date") or date.fromisoformat(draft["due_date"]),
                supplier_ids=draft["supplier_ids"],
                reminder_days=draft["reminder_days"],
                reminders_muted=draft["reminders_muted"],
                invitation_ttl_days=draft["invitation_ttl_days"],
                repeats=campaign,
            )
        except DjangoValidationError as exc:
            raise service_error(exc, {"suppliers": "non_field_errors"}) from None
        return Response(CampaignSerializer(new, context={"viewer": self.organisation.pk}).data, status=201)


class TierCoverageSerializer(serializers.Serializer[Any]):
    tier = serializers.IntegerField()
    invited = serializers.IntegerField()
    accepted = serializers.IntegerField()
    declined = serializers.IntegerField()
    pending = serializers.IntegerField()
    expired = serializers.IntegerField(help_text="Includes requests that were revoked.")
    accepted_percent = serializers.IntegerField(help_text="Of the suppliers invited at this tier.")
    declined_percent = serializers.IntegerField()
    pending_percent = serializers.IntegerField()
    expired_percent = serializers.IntegerField()


class CoverageSerializer(serializers.Serializer[Any]):
    campaign_id = serializers.UUIDField()
    tiers = TierCoverageSerializer(many=True)


class CampaignCoverageView(CampaignMixin, SupplyChainView):
    """Replies at each tier, for the whole campaign: only the organisation that started it sees these."""

    serializer_class = CoverageSerializer

    @extend_schema(operation_id="campaigns_coverage")
    def get(self, request: Request, org: str, campaign_id: Any) -> Response:
        campaign = self.campaign(campaign_id)
        if campaign.organisation_id != self.organisation.pk:
            raise exceptions.PermissionDenied(_("Only the organisation that started the campaign sees its coverage."))
        tiers = []
        for tier in selectors.campaign_coverage(campaign):
            row: dict[str, int] = {"tier": tier.tier, **tier.counts}
            for state in SHOWN_STATES:
                row[f"{state}_percent"] = tier.percent(state)
            tiers.append(row)
        return Response(CoverageSerializer({"campaign_id": campaign.pk, "tiers": tiers}).data)


class SupplierRefSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()


class BelowSerializer(serializers.Serializer[Any]):
    invited = serializers.IntegerField()
    accepted = serializers.IntegerField()
    declined = serializers.IntegerField()
    pending = serializers.IntegerField()
    expired = serializers.IntegerField()


class PrincipleMaturitySerializer(serializers.Serializer[Any]):
    principle = serializers.CharField()
    maturity = serializers.FloatField(allow_null=True, help_text="Average maturity of the principle's criteria.")


class SharedSummarySerializer(serializers.Serializer[Any]):
    assessment = serializers.CharField(
        allow_null=True, help_text="The supplier's latest final self-assessment, or null if it has none yet."
    )
    principles = PrincipleMaturitySerializer(many=True)


class OrganisationRefSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()


class AnsweredBySerializer(serializers.Serializer[Any]):
    organisation = OrganisationRefSerializer(allow_null=True, help_text="The organisation the answer was given for.")
    person = PersonSerializer(allow_null=True, help_text="Who answered (null if their account was deleted).")


class HeldAnswerSerializer(serializers.Serializer[Any]):
    answer = serializers.ChoiceField(choices=HeldAnswer.choices)
    organisation = OrganisationRefSerializer(allow_null=True)
    person = PersonSerializer(allow_null=True)
    answered_at = serializers.DateTimeField()
    decline_reason = serializers.CharField(allow_blank=True)


def _org_ref(organisation: Any) -> dict[str, Any] | None:
    return {"id": organisation.pk, "name": organisation.name} if organisation is not None else None


def _answered_by(inv: SupplierInvitation) -> dict[str, Any] | None:
    if inv.responded_at is None:
        return None
    return {"organisation": _org_ref(inv.supplier_organisation), "person": _person(inv.responded_by)}


def _held(inv: SupplierInvitation) -> dict[str, Any] | None:
    if inv.held_at is None or inv.state not in (InvitationState.PENDING, InvitationState.EXPIRED):
        return None
    return {
        "answer": inv.held_answer,
        "organisation": _org_ref(inv.held_organisation),
        "person": _person(inv.held_by),
        "answered_at": inv.held_at,
        "decline_reason": inv.held_reason,
    }


_ANSWERED_BY_HELP = "Who answered (organisation and person), once the request is answered."
_HELD_HELP = (
    "An answer through the link from an organisation whose people are not the invited address (nor the "
    "organisation your register links to the supplier): it does not count until you confirm it "
    "(`confirm-answer`) or reject it (`reject-answer`). Null when there is none."
)


class CampaignInvitationSerializer(serializers.Serializer[Any]):
    """One supplier your organisation asked, by name; the tiers below it only as counts."""

    id = serializers.UUIDField()
    tier = serializers.IntegerField()
    state = serializers.ChoiceField(
        choices=SHOWN_STATES, help_text="As shown: a request past its expiry, or revoked, is `expired`."
    )
    revoked = serializers.BooleanField()
    supplier = SupplierRefSerializer(help_text="The supplier in your register.")
    email = serializers.EmailField()
    email_status = serializers.ChoiceField(choices=EmailStatus.choices)
    email_problem = serializers.CharField(
        allow_blank=True,
        help_text="Why the email failed (`email_status` is `failed`), and what to correct before sending it again.",
    )
    expires_at = serializers.DateTimeField()
    responded_at = serializers.DateTimeField(allow_null=True)
    decline_reason = serializers.CharField(allow_blank=True)
    answered_by = AnsweredBySerializer(allow_null=True, help_text=_ANSWERED_BY_HELP)
    held_answer = HeldAnswerSerializer(allow_null=True, help_text=_HELD_HELP)
    shared_summary = SharedSummarySerializer(
        allow_null=True, help_text="Its summary maturity, only if it accepted and chose to share it with you."
    )
    below = BelowSerializer(help_text="Suppliers further down reached through this one, as counts only.")


def _node(node: TreeNode) -> dict[str, Any]:
    inv = node.invitation
    summary = None
    if node.summary is not None:
        summary = {
            "assessment": node.summary["assessment"],
            "principles": [{"principle": title, "maturity": value} for title, value in node.summary["principles"]],
        }
    return {
        "id": inv.pk,
        "tier": inv.tier,
        "state": node.state,
        "revoked": inv.state == InvitationState.REVOKED,
        "supplier": {"id": inv.supplier.pk, "name": inv.supplier.name},
        "email": inv.email,
        "email_status": inv.email_status,
        "email_problem": node.email_problem,
        "expires_at": inv.expires_at,
        "responded_at": inv.responded_at,
        "decline_reason": inv.decline_reason if node.state == "declined" else "",
        "answered_by": _answered_by(inv),
        "held_answer": _held(inv),
        "shared_summary": summary,
        "below": node.below,
    }


class CampaignInvitationQuery(serializers.Serializer[Any]):
    state = serializers.ChoiceField(choices=SHOWN_STATES, required=False, help_text="The state as shown.")
    tier = serializers.IntegerField(min_value=1, max_value=5, required=False)


@extend_schema_view(get=extend_schema(operation_id="campaigns_invitations_list"))
class CampaignInvitationListView(CampaignMixin, SupplyChainListView):
    """The suppliers your organisation asked in this campaign (the buyer's tier 1, or those a supplier
    passed the request on to), with what each tier below them did as counts, never by name."""

    serializer_class = CampaignInvitationSerializer
    query_serializer_class = CampaignInvitationQuery
    ordering = "created_at"

    def get_queryset(self) -> QuerySet[SupplierInvitation]:
        campaign = self.campaign(self.kwargs["campaign_id"])
        query = self.query()
        queryset = (
            selectors.invitations_sent(self.organisation)
            .filter(campaign=campaign)
            .select_related("supplier", "supplier_organisation", "responded_by", "held_organisation", "held_by")
        )
        if query.get("state"):
            queryset = queryset.filter(selectors.state_filter(query["state"]))
        if query.get("tier"):
            queryset = queryset.filter(tier=query["tier"])
        return queryset

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        nodes = selectors.campaign_tree_nodes(
            self.campaign(self.kwargs["campaign_id"]), viewer=self.organisation, invitations=list(page or [])
        )
        return self.get_paginated_response(CampaignInvitationSerializer([_node(n) for n in nodes], many=True).data)


# --- Resend and revoke (the sender's side) -------------------------------------------------------


class SentInvitationSerializer(serializers.ModelSerializer[SupplierInvitation]):
    campaign_id = serializers.UUIDField()
    supplier = SupplierRefSerializer()
    state = serializers.ChoiceField(choices=InvitationState.choices)
    email_status = serializers.ChoiceField(choices=EmailStatus.choices)
    answered_by = serializers.SerializerMethodField(help_text=_ANSWERED_BY_HELP)
    held_answer = serializers.SerializerMethodField(help_text=_HELD_HELP)

    @extend_schema_field(AnsweredBySerializer(allow_null=True))
    def get_answered_by(self, inv: SupplierInvitation) -> Any:
        answered = _answered_by(inv)
        return AnsweredBySerializer(answered).data if answered else None

    @extend_schema_field(HeldAnswerSerializer(allow_null=True))
    def get_held_answer(self, inv: SupplierInvitation) -> Any:
        held = _held(inv)
        return HeldAnswerSerializer(held).data if held else None

    class Meta:
        model = SupplierInvitation
        fields = [
            "id",
            "campaign_id",
            "tier",
            "supplier",
            "email",
            "state",
            "email_status",
            "expires_at",
            "responded_at",
            "answered_by",
            "held_answer",
            "created_at",
        ]


class SentInvitationActionView(SupplyChainView):
    actions = {"POST": "edit_content"}
    serializer_class = SentInvitationSerializer

    def invitation(self, invitation_id: Any) -> SupplierInvitation:
        return get_object_or_404(
            selectors.invitations_sent(self.organisation).select_related(
                "campaign",
                "supplier",
                "inviter",
                "supplier_organisation",
                "responded_by",
                "held_organisation",
                "held_by",
            ),
            pk=invitation_id,
        )


class InvitationResendView(SentInvitationActionView):
    """Send a request again: a fresh link (the old one stops working) to the register's current address."""

    @extend_schema(request=None, responses={200: SentInvitationSerializer}, operation_id="supplier_invitations_resend")
    def post(self, request: Request, org: str, invitation_id: Any) -> Response:
        invitation = self.invitation(invitation_id)
        try:
            services.invitation_resend(invitation=invitation, actor=request.user)
        except DjangoValidationError as exc:
            raise _conflict(exc) from None
        return Response(SentInvitationSerializer(invitation).data)


class InvitationRevokeView(SentInvitationActionView):
    """Withdraw a request still waiting for a reply: its link stops working."""

    @extend_schema(request=None, responses={200: SentInvitationSerializer}, operation_id="supplier_invitations_revoke")
    def post(self, request: Request, org: str, invitation_id: Any) -> Response:
        invitation = self.invitation(invitation_id)
        try:
            services.invitation_revoke(invitation=invitation, actor=request.user)
        except DjangoValidationError as exc:
            raise _conflict(exc) from None
        return Response(SentInvitationSerializer(invitation).data)


class HeldAnswerConfirmView(SentInvitationActionView):
    """Confirm that the organisation that answered through the link (`held_answer`) is the supplier you
    asked: its answer takes effect as given (accepted or declined), and counts in coverage from now."""

    @extend_schema(
        request=None, responses={200: SentInvitationSerializer}, operation_id="supplier_invitations_confirm_answer"
    )
    def post(self, request: Request, org: str, invitation_id: Any) -> Response:
        invitation = self.invitation(invitation_id)
        try:
            services.held_answer_confirm(invitation=invitation, actor=request.user)
        except DjangoValidationError as exc:
            raise _conflict(exc) from None
        return Response(SentInvitationSerializer(self.invitation(invitation_id)).data)


class HeldAnswerRejectView(SentInvitationActionView):
    """Reject an answer given through the link by an organisation that is not the supplier you asked:
    nothing changes, and the request keeps waiting for the invited supplier."""

    @extend_schema(
        request=None, responses={200: SentInvitationSerializer}, operation_id="supplier_invitations_reject_answer"
    )
    def post(self, request: Request, org: str, invitation_id: Any) -> Response:
        invitation = self.invitation(invitation_id)
        try:
            services.held_answer_reject(invitation=invitation, actor=request.user)
        except DjangoValidationError as exc:
            raise _conflict(exc) from None
        return Response(SentInvitationSerializer(self.invitation(invitation_id)).data)


# --- The supplier's side -------------------------------------------------------------------------


class RequestCampaignSerializer(serializers.ModelSerializer[Campaign]):
    class Meta:
        model = Campaign
        fields = ["id", "title", "message", "depth", "due_date"]


class ReceivedRequestSerializer(serializers.ModelSerializer[SupplierInvitation]):
    campaign = RequestCampaignSerializer()
    buyer = serializers.CharField(source="inviter.name", help_text="The organisation that asked you.")
    on_behalf_of = serializers.SerializerMethodField(
        help_text="The organisation that started the campaign, when it is not the one that asked you."
    )
    state = serializers.ChoiceField(choices=InvitationState.choices)
    forwarded = serializers.IntegerField(help_text="How many of your suppliers you passed it on to.")
    can_pass_on = serializers.SerializerMethodField(
        help_text="Accepted, and the campaign goes deeper than your tier: pass it on to your suppliers."
    )

    class Meta:
        model = SupplierInvitation
        fields = [
            "id",
            "campaign",
            "buyer",
            "on_behalf_of",
            "tier",
            "state",
            "expires_at",
            "responded_at",
            "decline_reason",
            "forwarded",
            "can_pass_on",
        ]

    def get_on_behalf_of(self, invitation: SupplierInvitation) -> str | None:
        if invitation.campaign.organisation_id == invitation.inviter_id:
            return None
        return str(invitation.campaign.organisation.name)

    def get_can_pass_on(self, invitation: SupplierInvitation) -> bool:
        return invitation.state == InvitationState.ACCEPTED and invitation.tier < invitation.campaign.depth


class RequestMixin:
    organisation: Any
    membership: Membership
    request: Request

    def requests(self) -> QuerySet[SupplierInvitation]:
        return selectors.requests_addressed(self.organisation, user=self.request.user)

    def addressed(self, invitation_id: Any) -> SupplierInvitation:
        # Another organisation's request, addressed to this one or to this person: read across
        # tenants on purpose, by the recipient's own filter (row-level security would hide it).
        with scopes_disabled():
            invitation = get_object_or_404(self.requests(), pk=invitation_id)
        if not services.may_answer(
            invitation=invitation, organisation_id=self.organisation.pk, role=self.membership.role
        ):
            raise exceptions.PermissionDenied(_("Only an owner or manager can answer a request for the organisation."))
        try:
            services.invitation_check_open(invitation)
        except InvitationLinkError as exc:
            raise _link_error(exc) from None
        return invitation

    def answered(self, invitation: SupplierInvitation) -> Response:
        with scopes_disabled():
            data = ReceivedRequestSerializer(self.requests().get(pk=invitation.pk)).data
        return Response(data)


@extend_schema_view(get=extend_schema(operation_id="requests_list"))
class RequestListView(RequestMixin, SupplyChainListView):
    """Requests from buyers: those your organisation answered, and those waiting for its answer
    (addressed to the organisation, or to your own email address as the emailed link is)."""

    serializer_class = ReceivedRequestSerializer
    ordering = "-created_at"

    def get_queryset(self) -> QuerySet[SupplierInvitation]:
        return self.requests()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with scopes_disabled():  # other organisations' requests, by the recipient's filter (RequestMixin)
            return super().list(request, *args, **kwargs)


class AcceptSerializer(serializers.Serializer[Any]):
    typed_name = serializers.CharField(
        max_length=200,
        allow_blank=True,
        default="",
        help_text="Your full name, to sign the commitment (needed unless the organisation has already signed it).",
    )
    job_title = serializers.CharField(
        max_length=200, allow_blank=True, default="", help_text="Your job title, to sign the commitment."
    )


class RequestAcceptView(RequestMixin, SupplyChainView):
    """Accept a request for your organisation. Not yet committed: you sign the commitment (owners only),
    extending it to your supply chain; already committed: you confirm it, and the buyer sees it."""

    actions = {"POST": "edit_content"}
    serializer_class = ReceivedRequestSerializer

    @extend_schema(request=AcceptSerializer, responses={200: ReceivedRequestSerializer}, operation_id="requests_accept")
    def post(self, request: Request, org: str, invitation_id: Any) -> Response:
        invitation = self.addressed(invitation_id)
        data = _valid(AcceptSerializer, request.data)
        if not self.membership.can(services.accept_action(self.organisation)):
            raise exceptions.PermissionDenied(
                _("Accepting signs the organisation's commitment, which only an owner can do.")
            )
        try:
            services.invitation_accept(
                invitation=invitation,
                user=request.user,
                organisation=self.organisation,
                typed_name=data["typed_name"],
                job_title=data["job_title"],
                context=api_signing_context(request),
            )
        except InvitationLinkError as exc:
            raise _link_error(exc) from None
        return self.answered(invitation)


class DeclineSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        max_length=5000,
        help_text="Why you are declining. The buyer sees this.",
        error_messages={
            "required": "Say why you are declining, so the buyer understands",
            "blank": "Say why you are declining, so the buyer understands",
        },
    )


class RequestDeclineView(RequestMixin, SupplyChainView):
    """Decline a request for your organisation, saying why (the buyer sees the reason)."""

    actions = {"POST": "edit_content"}
    serializer_class = ReceivedRequestSerializer

    @extend_schema(
        request=DeclineSerializer, responses={200: ReceivedRequestSerializer}, operation_id="requests_decline"
    )
    def post(self, request: Request, org: str, invitation_id: Any) -> Response:
        invitation = self.addressed(invitation_id)
        data = _valid(DeclineSerializer, request.data)
        try:
            services.invitation_decline(
                invitation=invitation, user=request.user, organisation=self.organisation, reason=data["reason"]
            )
        except InvitationLinkError as exc:
            raise _link_error(exc) from None
        return self.answered(invitation)


class ForwardSerializer(serializers.Serializer[Any]):
    supplier_ids = serializers.ListField(
        child=serializers.UUIDField(),
        min_length=1,
        max_length=10_000,
        help_text="Suppliers in your register to pass the request on to.",
        error_messages={"min_length": "Choose at least one supplier from your register"},
    )


class ForwardResultSerializer(serializers.Serializer[Any]):
    invited = serializers.IntegerField(help_text="Newly invited (suppliers already asked in the campaign are not).")
    invitations = SentInvitationSerializer(many=True)


class RequestForwardView(RequestMixin, SupplyChainView):
    """Pass an accepted request on to your own suppliers, one tier down (up to the campaign's depth)."""

    actions = {"POST": "edit_content"}
    serializer_class = ForwardResultSerializer

    @extend_schema(request=ForwardSerializer, responses={200: ForwardResultSerializer}, operation_id="requests_forward")
    def post(self, request: Request, org: str, invitation_id: Any) -> Response:
        ids = _valid(ForwardSerializer, request.data)["supplier_ids"]
        invitation = get_object_or_404(
            self.requests().filter(supplier_organisation=self.organisation, state=InvitationState.ACCEPTED),
            pk=invitation_id,
        )
        _check_register_ids(self.organisation, ids, "supplier_ids")
        try:
            created = services.invitation_forward(invitation=invitation, actor=request.user, supplier_ids=ids)
        except DjangoValidationError as exc:
            if getattr(exc, "error_dict", None):
                raise service_error(exc, {"suppliers": "supplier_ids"}) from None
            raise _conflict(exc) from None
        sent = list(
            selectors.invitations_sent(self.organisation)
            .filter(pk__in=[i.pk for i in created])
            .select_related("supplier")
            .order_by("created_at")
        )
        return Response(ForwardResultSerializer({"invited": len(sent), "invitations": sent}).data)


class BuyerLinkSerializer(serializers.ModelSerializer[SupplierLink]):
    buyer = serializers.CharField(source="buyer.name", help_text="The buyer your organisation answered.")
    share_maturity = serializers.BooleanField(
        help_text="Whether this buyer sees your summary maturity (your choice, per buyer, revocable)."
    )

    class Meta:
        model = SupplierLink
        fields = ["id", "buyer", "share_maturity", "created_at", "updated_at"]
        read_only_fields = ["id", "buyer", "created_at", "updated_at"]


class SharingSerializer(serializers.Serializer[Any]):
    share_maturity = serializers.BooleanField(help_text="`true` lets this buyer see your summary maturity.")


@extend_schema_view(get=extend_schema(operation_id="buyers_list"))
class BuyerListView(SupplyChainListView):
    """The buyers your organisation answered as a supplier, and whether each sees your summary maturity."""

    serializer_class = BuyerLinkSerializer
    ordering = "created_at"

    def get_queryset(self) -> QuerySet[SupplierLink]:
        return selectors.buyer_links_queryset(self.organisation)


class BuyerDetailView(SupplyChainView):
    """Choose whether this buyer sees your summary maturity."""

    actions = {"PATCH": "edit_content"}
    serializer_class = BuyerLinkSerializer

    @extend_schema(
        request=SharingSerializer, responses={200: BuyerLinkSerializer}, operation_id="buyers_partial_update"
    )
    def patch(self, request: Request, org: str, link_id: Any) -> Response:
        share = _valid(SharingSerializer, request.data)["share_maturity"]
        link = get_object_or_404(selectors.buyer_links_queryset(self.organisation), pk=link_id)
        services.link_set_sharing(link=link, actor=request.user, share=share)
        return Response(BuyerLinkSerializer(link).data)
