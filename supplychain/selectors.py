"""Reads for the supply chain. Cross-tenant reads are explicit: each filters by one end's organisation."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from portal.models import Organisation
from supplychain.models import Campaign, InvitationState, Supplier, SupplierInvitation, SupplierLink

STATES = ("invited", "accepted", "declined", "pending", "expired")


def register(organisation: Organisation, *, search: str = "", archived: bool = False) -> QuerySet[Supplier]:
    qs = Supplier.objects.filter(organisation=organisation, archived_at__isnull=not archived)
    if search:
        qs = qs.filter(
            Q(name__icontains=search) | Q(contact_email__icontains=search) | Q(company_number__icontains=search)
        )
    return qs.select_related("linked_organisation").order_by("name")


@dataclass
class TierCoverage:
    tier: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))

    def percent(self, state: str) -> int:
        invited = self.counts["invited"]
        return round(100 * self.counts[state] / invited) if invited else 0

    @property
    def rows(self) -> list[tuple[str, int, int]]:
        return [(s, self.counts[s], self.percent(s)) for s in STATES[1:]]


def _effective_state(state: str, expires_at: Any, now: Any) -> str:
    if state == InvitationState.PENDING and expires_at <= now:
        return "expired"
    if state == InvitationState.REVOKED:
        return "expired"
    return state


def campaign_coverage(campaign: Campaign) -> list[TierCoverage]:
    """Invited, accepted, declined, pending and expired per tier (one query)."""
    now = timezone.now()
    tiers = {t: TierCoverage(t) for t in range(1, campaign.depth + 1)}
    rows = (
        SupplierInvitation.objects.filter(campaign=campaign)
        .values("tier", "state", "expires_at")
        .annotate(n=Count("id"))
    )
    for row in rows:
        tier = tiers.setdefault(row["tier"], TierCoverage(row["tier"]))
        tier.counts["invited"] += row["n"]
        tier.counts[_effective_state(row["state"], row["expires_at"], now)] += row["n"]
    return [tiers[t] for t in sorted(tiers)]


@dataclass
class TreeNode:
    invitation: SupplierInvitation
    state: str
    summary: dict[str, Any] | None = None  # the supplier's summary maturity, only where it consents
    below: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))  # deeper tiers, as counts only
    children: list[TreeNode] = field(default_factory=list)


def campaign_tree(campaign: Campaign, *, viewer: Organisation) -> list[TreeNode]:
    """The viewer's own invitations in the campaign, named; everything further down only as counts."""
    now = timezone.now()
    invitations = list(
        SupplierInvitation.objects.filter(campaign=campaign)
        .select_related("supplier", "supplier_organisation")
        .order_by("tier", "supplier__name")
    )
    children: dict[Any, list[SupplierInvitation]] = defaultdict(list)
    for inv in invitations:
        children[inv.parent_id].append(inv)

    def count_below(node: SupplierInvitation, into: dict[str, int], seen: set) -> None:
        for child in children.get(node.pk, []):
            if child.pk in seen:
                continue
            seen.add(child.pk)
            into["invited"] += 1
            into[_effective_state(child.state, child.expires_at, now)] += 1
            count_below(child, into, seen)

    shared = {
        link.supplier_organisation_id: link
        for link in SupplierLink.objects.filter(buyer=viewer, share_maturity=True).select_related(
            "supplier_organisation"
        )
    }
    nodes = []
    for inv in invitations:
        if inv.inviter_id != viewer.pk:
            continue
        node = TreeNode(inv, _effective_state(inv.state, inv.expires_at, now))
        count_below(inv, node.below, {inv.pk})
        nodes.append(node)
    summaries = summaries_for(
        [
            n.invitation.supplier_organisation_id
            for n in nodes
            if n.state == "accepted" and n.invitation.supplier_organisation_id in shared
        ]
    )
    for node in nodes:
        if node.state == "accepted":
            node.summary = summaries.get(node.invitation.supplier_organisation_id)
    return nodes


def summaries_for(organisation_ids: list[Any]) -> dict[Any, dict[str, Any]]:
    """Summary maturity (per principle, of the latest final self-assessment) of several suppliers that
    consented to share it, in two queries however many there are. Cross-tenant on purpose."""
    if not organisation_ids:
        return {}
    from django.db.models import Avg
    from django_scopes import scopes_disabled

    from assessments.models import Assessment, AssessmentStatus, Response

    with scopes_disabled():
        latest: dict[Any, Any] = {}
        for assessment in (
            Assessment.objects.filter(organisation_id__in=organisation_ids, status=AssessmentStatus.FINAL)
            .order_by("organisation_id", "-finalised_at")
            .only("id", "organisation_id", "title")
        ):
            latest.setdefault(assessment.organisation_id, assessment)
        rows = (
            Response.objects.filter(assessment__in=[a.pk for a in latest.values()])
            .values("assessment_id", "criterion__principle__number", "criterion__principle__title")
            .annotate(avg=Avg("maturity"))
            .order_by("assessment_id", "criterion__principle__number")
        )
        by_assessment: dict[Any, list[tuple[str, Any]]] = {}
        for row in rows:
            value = round(row["avg"], 1) if row["avg"] is not None else None
            by_assessment.setdefault(row["assessment_id"], []).append((row["criterion__principle__title"], value))
    return {
        org_id: {
            "assessment": latest[org_id].title if org_id in latest else None,
            "principles": by_assessment.get(latest[org_id].pk, []) if org_id in latest else [],
        }
        for org_id in organisation_ids
    }


def requests_received(organisation: Organisation) -> list[SupplierInvitation]:
    """Requests this organisation answered as a supplier, with the buyer and campaign."""
    return list(
        SupplierInvitation.objects.filter(supplier_organisation=organisation)
        .select_related("campaign", "campaign__organisation", "inviter")
        .annotate(forwarded=Count("children"))
        .order_by("-responded_at")
    )


def buyer_links(organisation: Organisation) -> list[SupplierLink]:
    return list(
        SupplierLink.objects.filter(supplier_organisation=organisation).select_related("buyer").order_by("buyer__name")
    )
