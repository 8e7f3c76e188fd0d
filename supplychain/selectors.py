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

    nodes = []
    for inv in invitations:
        if inv.inviter_id != viewer.pk:
            continue
        node = TreeNode(inv, _effective_state(inv.state, inv.expires_at, now))
        count_below(inv, node.below, {inv.pk})
        nodes.append(node)
    return nodes


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


def supplier_summary(link: SupplierLink | None) -> dict[str, Any] | None:
    """What a buyer may see of a supplier beyond commitment status: its latest final maturity, if shared."""
    if link is None or not link.share_maturity:
        return None
    from django_scopes import scope

    from assessments.models import Assessment, AssessmentStatus
    from assessments.selectors import assessment_progress

    organisation = link.supplier_organisation
    with scope(organisation=organisation):
        assessment = (
            Assessment.objects.filter(organisation=organisation, status=AssessmentStatus.FINAL)
            .order_by("-finalised_at")
            .first()
        )
        if assessment is None:
            return {"assessment": None}
        progress = assessment_progress(assessment)
    return {
        "assessment": assessment.title,
        "principles": [(p.principle.title, p.average_maturity) for p in progress.principles],
    }
