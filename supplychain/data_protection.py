"""What the supply-chain app adds to data protection: its sections of an organisation's export, and
the retention of expired supplier invitations.

A link has two ends; each end's export shows only what DESIGN.md section 4 lets it see of the other:
a buyer sees a supplier's name, commitment status and, only with its consent, summary maturity.
Invitations further down a campaign, sent by other organisations, are not exported by name.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django_scopes import scopes_disabled

from portal.exports import person
from portal.models import AuditEvent, Organisation
from portal.privacy import DELETED_EMAIL_DOMAIN
from principles.models import Commitment, CommitmentStatus
from supplychain.models import (
    Campaign,
    CampaignEdge,
    InvitationState,
    Supplier,
    SupplierInvitation,
    SupplierLink,
)
from supplychain.selectors import summaries_for


def supplier_rows(organisation: Organisation) -> list[dict[str, Any]]:
    suppliers = Supplier.objects.filter(organisation=organisation).select_related("created_by", "linked_organisation")
    return [
        {
            "id": s.pk,
            "name": s.name,
            "contact_name": s.contact_name,
            "contact_email": s.contact_email,
            "company_number": s.company_number,
            "country": str(s.country),
            "on_the_portal_as": s.linked_organisation.name if s.linked_organisation else None,
            "archived_at": s.archived_at,
            "created_at": s.created_at,
            "created_by": person(s.created_by),
        }
        for s in suppliers.order_by("name", "created_at")
    ]


def _invitation(i: SupplierInvitation) -> dict[str, Any]:
    return {
        "id": i.pk,
        "campaign_id": i.campaign_id,
        "tier": i.tier,
        "supplier_id": i.supplier_id,
        "supplier_name": i.supplier.name,
        "email": i.email,
        "state": i.state,
        "expires_at": i.expires_at,
        "responded_at": i.responded_at,
        "answered_as": i.supplier_organisation.name if i.supplier_organisation else None,
        "decline_reason": i.decline_reason,
        "email_status": i.email_status,
        "email_sent_at": i.email_sent_at,
        "reminders_sent": i.reminders_sent,
        "created_at": i.created_at,
    }


def campaign_rows(organisation: Organisation) -> list[dict[str, Any]]:
    """The organisation's campaigns, with the requests it sent itself (tier 1); deeper tiers are
    other organisations' requests and appear only as counts."""
    with scopes_disabled():
        campaigns = list(
            Campaign.objects.filter(organisation=organisation).select_related("created_by").order_by("created_at")
        )
        invitations = list(
            SupplierInvitation.objects.filter(campaign__in=campaigns, inviter=organisation)
            .select_related("supplier", "supplier_organisation")
            .order_by("tier", "created_at")
        )
        deeper: dict[Any, dict[str, int]] = {}
        for campaign_id, tier, state in (
            SupplierInvitation.objects.filter(campaign__in=campaigns)
            .exclude(inviter=organisation)
            .values_list("campaign_id", "tier", "state")
        ):
            counts = deeper.setdefault(campaign_id, {})
            counts[f"tier {tier} {state}"] = counts.get(f"tier {tier} {state}", 0) + 1
    return [
        {
            "id": c.pk,
            "title": c.title,
            "message": c.message,
            "depth": c.depth,
            "due_date": c.due_date,
            "reminder_days": c.reminder_days,
            "reminders_muted": c.reminders_muted,
            "invitation_ttl_days": c.invitation_ttl_days,
            "repeats": c.repeats_id,
            "created_by": person(c.created_by),
            "created_at": c.created_at,
            "invitations": [_invitation(i) for i in invitations if i.campaign_id == c.pk],
            "deeper_tiers": deeper.get(c.pk, {}),
        }
        for c in campaigns
    ]


def forwarded_rows(organisation: Organisation) -> list[dict[str, Any]]:
    """Requests this organisation passed on to its own suppliers in other organisations' campaigns."""
    with scopes_disabled():
        invitations = (
            SupplierInvitation.objects.filter(inviter=organisation)
            .exclude(campaign__organisation=organisation)
            .select_related("supplier", "supplier_organisation")
            .order_by("created_at")
        )
        return [_invitation(i) for i in invitations]


def received_rows(organisation: Organisation) -> list[dict[str, Any]]:
    """Requests this organisation answered as a supplier: who asked, and its own answer."""
    with scopes_disabled():
        invitations = (
            SupplierInvitation.objects.filter(supplier_organisation=organisation)
            .select_related("inviter", "campaign", "responded_by")
            .order_by("created_at")
        )
        return [
            {
                "id": i.pk,
                "from": i.inviter.name,
                "campaign_title": i.campaign.title,
                "tier": i.tier,
                "state": i.state,
                "responded_at": i.responded_at,
                "responded_by": person(i.responded_by),
                "decline_reason": i.decline_reason,
                "created_at": i.created_at,
            }
            for i in invitations
        ]


def link_rows(organisation: Organisation) -> list[dict[str, Any]]:
    with scopes_disabled():
        as_buyer = list(
            SupplierLink.objects.filter(buyer=organisation)
            .select_related("supplier_organisation")
            .order_by("created_at")
        )
        as_supplier = list(
            SupplierLink.objects.filter(supplier_organisation=organisation)
            .select_related("buyer")
            .order_by("created_at")
        )
        committed = set(
            Commitment.objects.filter(
                organisation__in=[link.supplier_organisation_id for link in as_buyer], status=CommitmentStatus.ACTIVE
            ).values_list("organisation_id", flat=True)
        )
    summaries = summaries_for([link.supplier_organisation_id for link in as_buyer if link.share_maturity])
    rows: list[dict[str, Any]] = [
        {
            "id": link.pk,
            "we_are": "buyer",
            "supplier": link.supplier_organisation.name,
            "supplier_committed": link.supplier_organisation_id in committed,
            "supplier_shares_maturity": link.share_maturity,
            "supplier_summary_maturity": summaries.get(link.supplier_organisation_id),
            "created_at": link.created_at,
            "updated_at": link.updated_at,
        }
        for link in as_buyer
    ]
    rows += [
        {
            "id": link.pk,
            "we_are": "supplier",
            "buyer": link.buyer.name,
            "we_share_maturity": link.share_maturity,
            "created_at": link.created_at,
            "updated_at": link.updated_at,
        }
        for link in as_supplier
    ]
    return rows


def supplier_invitation_retention(now: datetime) -> dict[str, int]:
    """Supplier invitations that expired longer ago than PORTAL_INVITATION_RETENTION_DAYS: deleted, or
    anonymised (address, link and target gone; tier and state kept for coverage) where the audit trail
    or a campaign's path records refer to them."""
    cutoff = now - timedelta(days=settings.PORTAL_INVITATION_RETENTION_DAYS)
    with scopes_disabled():
        old = list(
            SupplierInvitation.objects.filter(expires_at__lt=cutoff)
            .filter(Q(state=InvitationState.EXPIRED) | Q(state=InvitationState.PENDING))
            .exclude(email__endswith=f"@{DELETED_EMAIL_DOMAIN}")
            .values_list("id", flat=True)[:5000]
        )
        ids = [str(pk) for pk in old]
        referenced = set(
            AuditEvent.objects.filter(target_type="supplierinvitation", target_id__in=ids).values_list(
                "target_id", flat=True
            )
        )
        referenced |= {
            str(pk) for pk in CampaignEdge.objects.filter(invitation_id__in=old).values_list("invitation_id", flat=True)
        }
        referenced |= {
            str(pk) for pk in SupplierInvitation.objects.filter(parent_id__in=old).values_list("parent_id", flat=True)
        }
        keep = [pk for pk in old if str(pk) in referenced]
        deleted, _by_model = SupplierInvitation.objects.filter(
            pk__in=[pk for pk in old if str(pk) not in referenced]
        ).delete()
        for pk in keep:
            SupplierInvitation.objects.filter(pk=pk).update(
                email=f"expired-{pk.hex}@{DELETED_EMAIL_DOMAIN}",
                target_key=f"expired:{pk}",
                nonce=secrets.token_hex(16),
                state=InvitationState.EXPIRED,
                email_error="",
            )
    return {"supplier_invitations_deleted": deleted, "supplier_invitations_anonymised": len(keep)}
