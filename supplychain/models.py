"""Supplier registers, cascade campaigns, supplier invitations (cross-tenant) and buyer-supplier links."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from django_scopes import ScopedManager

from portal.models import EmailStatus, Organisation


class Supplier(models.Model):
    """A company on an organisation's supplier register."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="suppliers")
    name = models.CharField(_("supplier name"), max_length=200)
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact email"))
    company_number = models.CharField(_("company number"), max_length=16, blank=True)
    country = CountryField(_("country"), default="GB")
    # "cn:<company number>" or "dn:<email domain>|<normalised name>": re-imports match on it.
    match_key = models.CharField(max_length=500)
    # The organisation on the portal this supplier turned out to be (set when it accepts).
    linked_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "match_key"], name="supplier_once_per_register")]
        ordering = ["name"]
        indexes = [models.Index(fields=["organisation", "archived_at", "name"])]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    """A buyer's request, cascaded tier by tier down its supply chain."""

    # Row-level security (portal.rls): the buyer's, and seen too by every supplier that answered it.
    RLS_ALSO_VISIBLE_WHEN = (
        "EXISTS (SELECT 1 FROM supplychain_supplierinvitation taking_part "
        "WHERE taking_part.campaign_id = supplychain_campaign.id "
        "AND taking_part.supplier_organisation_id = ANY ((SELECT portal_rls_orgs())::uuid[]))"
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="campaigns")
    title = models.CharField(_("title"), max_length=200)
    message = models.TextField(_("message to suppliers"))
    depth = models.PositiveSmallIntegerField(_("how many tiers deep"), default=2)
    due_date = models.DateField(_("reply by"))
    reminder_days = models.JSONField(default=list)  # days after sending, e.g. [3, 8, 15]
    reminders_muted = models.BooleanField(_("send no reminders"), default=False)
    invitation_ttl_days = models.PositiveSmallIntegerField(default=30)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # The campaign this one repeats, to the same suppliers (a year on, say); suppliers who accepted it
    # then confirm in one step.
    repeats = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="repeated_by")

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(depth__gte=1, depth__lte=5), name="campaign_depth_1_to_5")]

    def __str__(self) -> str:
        return self.title


class InvitationState(models.TextChoices):
    PENDING = "pending", _("Waiting for a reply")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class HeldAnswer(models.TextChoices):
    ACCEPT = "accept", _("Accept")
    DECLINE = "decline", _("Decline")


class SupplierInvitation(models.Model):
    """One supplier invited once in a campaign. Cross-tenant: seen by the inviter and the invited.

    Not scoped by django-scopes (it has two tenants); every read goes through supplychain.selectors,
    which filters by the organisation on one end explicitly.
    """

    # Row-level security (portal.rls): the inviting buyer and the invited supplier both see it.
    RLS_TENANT_COLUMNS = ("inviter", "supplier_organisation")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="invitations")
    inviter = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="supplier_invitations_sent")
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="invitations")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    tier = models.PositiveSmallIntegerField()
    # Who the invitation is for, however it is reached: "org:<id>" once known, else "email:<address>".
    target_key = models.CharField(max_length=320)
    email = models.EmailField()
    nonce = models.CharField(max_length=32)
    state = models.CharField(max_length=10, choices=InvitationState.choices, default=InvitationState.PENDING)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    supplier_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="supplier_invitations_received"
    )
    decline_reason = models.TextField(blank=True)
    # An answer through the link from someone who neither holds the invited address nor belongs to
    # the organisation the register row is linked to: held, changing nothing (state, coverage, the
    # register), until the inviter confirms that this organisation is the supplier it asked.
    held_answer = models.CharField(max_length=10, choices=HeldAnswer.choices, blank=True)
    held_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_at = models.DateTimeField(null=True, blank=True)
    held_reason = models.TextField(blank=True)
    # The email is a row with a status (DESIGN.md section 9).
    email_status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    email_queued_at = models.DateTimeField(null=True, blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveIntegerField(default=0)
    email_error = models.TextField(blank=True)
    reminders_sent = models.JSONField(default=list)  # the reminder days already sent
    last_reminder_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Reached by two paths, an organisation is invited once per campaign.
            models.UniqueConstraint(fields=["campaign", "target_key"], name="invited_once_per_campaign"),
        ]
        indexes = [
            models.Index(fields=["email_status", "email_queued_at"]),
            models.Index(fields=["state", "expires_at"]),
            models.Index(fields=["campaign", "tier", "state"]),
        ]
        ordering = ["tier", "created_at"]

    def __str__(self) -> str:
        return f"Tier {self.tier} invitation to {self.email}"


class CampaignEdge(models.Model):
    """Every path by which a supplier was asked, including the ones that found it already invited."""

    # Row-level security (portal.rls): the organisation whose supplier the edge reaches.
    RLS_TENANT_COLUMNS = ("from_organisation",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="edges")
    from_organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="+")
    invitation = models.ForeignKey(SupplierInvitation, null=True, on_delete=models.CASCADE, related_name="edges")
    tier = models.PositiveSmallIntegerField()
    note = models.CharField(max_length=40, blank=True)  # "", "already invited", "the campaign's own organisation"
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "from_organisation", "supplier"], name="one_edge_per_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.from_organisation_id} -> {self.supplier_id}"


class SupplierLink(models.Model):
    """A supplier answered a buyer: what the buyer may see of it beyond commitment status."""

    # Row-level security (portal.rls): a link is seen by both ends.
    RLS_TENANT_COLUMNS = ("buyer", "supplier_organisation")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    buyer = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="supplier_links")
    supplier_organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="buyer_links")
    share_maturity = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["buyer", "supplier_organisation"], name="one_link_per_pair")]

    def __str__(self) -> str:
        return f"{self.supplier_organisation_id} supplies {self.buyer_id}"


class SupplierImport(models.Model):
    """A CSV import waiting for the user to confirm its preview; valid rows are kept here meanwhile."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=200)
    rows = models.JSONField(default=list)
    errors = models.JSONField(default=list)
    skipped = models.JSONField(default=list)
    total_rows = models.PositiveIntegerField(default=0)
    imported_count = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    imported_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    def __str__(self) -> str:
        return f"Import of {self.file_name}"
