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


def _orm_own_invitations(campaign, viewer) -> list[SupplierInvitation]:
    """The query `selectors.own_invitations` writes by hand, as the ORM made it before."""
    from django.db.models import Exists, OuterRef
    from django_scopes import scopes_disabled

    from supplychain.models import SupplierLink

    shares = SupplierLink.objects.filter(
        buyer=viewer, share_maturity=True, supplier_organisation=OuterRef("supplier_organisation")
    )
    with scopes_disabled():
        return list(
            SupplierInvitation.objects.filter(campaign=campaign, inviter_id=viewer.pk)
            .select_related("supplier", "supplier_organisation", "responded_by", "held_organisation", "held_by")
            .annotate(shares_maturity=Exists(shares))
            .order_by("tier", "supplier__name")
        )


def test_own_invitations_are_the_orms_rows(framework, django_assert_num_queries) -> None:
    """The hand-written query reads what the ORM's did, in its order, with nothing left to load."""
    from supplychain.models import SupplierLink

    buyer = Company("Alpha")
    accepting, sharing, waiting, held = (Company(n) for n in ("Bravo", "Charlie", "Delta <&> Co", "Echo"))
    below = [Company(f"Below{i}") for i in range(2)]
    buyer.lists(accepting, sharing, waiting, held)
    campaign = start(buyer, depth=3)
    accepting.accept(campaign)
    sharing.accept(campaign)
    link = SupplierLink.objects.get(buyer=buyer.org, supplier_organisation=sharing.org)
    services.link_set_sharing(link=link, actor=sharing.owner, share=True)
    accepting.lists(*below)
    accepting.forward(campaign, *below)
    SupplierInvitation.objects.filter(campaign=campaign, email=held.email).update(
        held_at=timezone.now(), held_answer="accept", held_organisation=below[0].org, held_by=below[0].owner
    )
    fields = [f.attname for f in SupplierInvitation._meta.concrete_fields]
    for viewer in (buyer.org, accepting.org, waiting.org):
        ours = selectors.own_invitations(campaign, viewer=viewer)
        theirs = _orm_own_invitations(campaign, viewer)
        assert [i.pk for i in ours] == [i.pk for i in theirs]
        assert len(ours) == {buyer.org: 4, accepting.org: 2, waiting.org: 0}[viewer]
        with django_assert_num_queries(0):  # every column the page and the CSV read is loaded
            for mine, orm in zip(ours, theirs, strict=True):
                for name in (*selectors._TREE_FIELDS, "supplier_id", "supplier_organisation_id", "responded_by_id"):
                    first, *rest = name.split("__")
                    a, b = getattr(mine, first), getattr(orm, first)
                    for part in rest:
                        a, b = getattr(a, part) if a is not None else None, getattr(b, part) if b is not None else None
                    assert a == b, (name, a, b)
                assert mine.shares_maturity == orm.shares_maturity
                assert mine.supplier.name == orm.supplier.name
                assert (mine.responded_by.display_name if mine.responded_by else None) == (
                    orm.responded_by.display_name if orm.responded_by else None
                )
        assert {f for f in fields if f not in ours[0].get_deferred_fields()} if ours else True
    sharing_row = next(i for i in selectors.own_invitations(campaign, viewer=buyer.org) if i.email == sharing.email)
    assert sharing_row.shares_maturity is True
    held_row = next(i for i in selectors.own_invitations(campaign, viewer=buyer.org) if i.email == held.email)
    assert held_row.held_organisation.name == "Below0" and held_row.held_by.email == below[0].owner.email
    assert held_row.responded_by is None and held_row.supplier_organisation is None
