"""The campaign page counts its coverage per tier from the same rows as its tree (one read of the
campaign, `selectors.campaign_rows`): the same counts as the coverage query the API and reports use,
in every state, and the page shows them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from supplychain import selectors, services
from supplychain.models import InvitationState, SupplierInvitation
from tests.conftest import client_for
from tests.supplychain.test_cascade import Company, start

pytestmark = pytest.mark.django_db


def _counts(coverage) -> list[tuple[int, dict[str, int]]]:
    return [(t.tier, dict(t.counts)) for t in coverage]


def test_coverage_from_the_rows_is_the_coverage_query_in_every_state(framework) -> None:
    buyer = Company("Alpha")
    accepting, declining, waiting, lapsed, revoked, expired = (
        Company(n) for n in ("Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf")
    )
    below = [Company(f"Below{i}") for i in range(3)]
    buyer.lists(accepting, declining, waiting, lapsed, revoked, expired)
    campaign = start(buyer, depth=3)
    accepting.accept(campaign)
    accepting.lists(*below)
    accepting.forward(campaign, *below)
    below[0].accept(campaign)
    invitations = {i.email: i for i in SupplierInvitation.objects.filter(campaign=campaign)}
    services.invitation_decline(
        invitation=invitations[declining.email], user=declining.owner, organisation=declining.org, reason="No"
    )
    SupplierInvitation.objects.filter(pk=invitations[lapsed.email].pk).update(
        expires_at=timezone.now() - timedelta(days=1)  # still pending, its link lapsed: shown as expired
    )
    services.invitation_revoke(invitation=invitations[revoked.email], actor=buyer.owner)
    SupplierInvitation.objects.filter(pk=invitations[expired.email].pk).update(state=InvitationState.EXPIRED)

    from_rows = _counts(selectors.campaign_coverage(campaign, rows=selectors.campaign_rows(campaign)))
    assert from_rows == _counts(selectors.campaign_coverage(campaign))
    assert from_rows == [
        (1, {"invited": 6, "accepted": 1, "declined": 1, "pending": 1, "expired": 3}),
        (2, {"invited": 3, "accepted": 1, "declined": 0, "pending": 2, "expired": 0}),
        (3, {"invited": 0, "accepted": 0, "declined": 0, "pending": 0, "expired": 0}),
    ]
    page = client_for(buyer.owner).get(f"/o/{buyer.org.slug}/supply-chain/campaigns/{campaign.pk}/")
    html = page.content.decode()
    assert '<td class="table__cell table__cell--numeric">6</td>' in html
    assert (
        '<td class="table__cell table__cell--numeric nowrap">3 <span class="secondary-text">(50%)</span></td>' in html
    )
    assert (
        '<td class="table__cell table__cell--numeric nowrap">2 <span class="secondary-text">(67%)</span></td>' in html
    )
    # The tree's counts below the accepting supplier come from the same rows.
    assert "Below: 3 invited, 1 accepted, 0 declined, 2 waiting, 0 expired" in html


def test_an_empty_campaign_has_every_tier_at_nought(framework) -> None:
    buyer = Company("Alpha")
    buyer.lists(Company("Bravo"))
    campaign = start(buyer, depth=2)
    SupplierInvitation.objects.filter(campaign=campaign).delete()
    assert selectors.campaign_rows(campaign) == []
    assert _counts(selectors.campaign_coverage(campaign, rows=[])) == _counts(selectors.campaign_coverage(campaign))
    assert [t.tier for t in selectors.campaign_coverage(campaign, rows=[])] == [1, 2]
