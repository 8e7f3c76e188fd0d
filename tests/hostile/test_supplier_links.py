"""A forwarded or leaked supplier request link, used by a stranger who signs up and creates an
organisation for the purpose (issue 15, part 1): the answer does not take effect, nothing of the
buyer's changes, and the stranger cannot confirm its own answer for the buyer, on the web or the API."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from portal.models import Membership, User
from supplychain import selectors, services
from supplychain.models import Supplier, SupplierInvitation, SupplierLink
from tests.api.conftest import make_token, token_client
from tests.conftest import client_for
from tests.supplychain.test_cascade import Company, start

pytestmark = pytest.mark.django_db


def buyer_side(invitation: SupplierInvitation) -> tuple:
    with scopes_disabled():
        fresh = SupplierInvitation.objects.get(pk=invitation.pk)
        return (
            fresh.state,
            fresh.supplier_organisation_id,
            Supplier.objects.get(pk=invitation.supplier_id).linked_organisation_id,
            SupplierLink.objects.filter(buyer=invitation.inviter_id).count(),
            [t.counts for t in selectors.campaign_coverage(fresh.campaign)],
        )


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_a_stranger_with_a_fresh_organisation_cannot_answer_a_leaked_link(action, framework) -> None:
    alpha, bravo = Company("Alpha"), Company("Bravo")
    alpha.lists(bravo)
    campaign = start(alpha, depth=2)
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    before = buyer_side(invitation)
    stranger = User.objects.create_user(email="mallory@evil.example", password="x", full_name="Mallory")
    client = client_for(stranger)
    created = client.post(
        "/organisations/new/", {"name": "Bravo Ltd", "sector": "machinery", "size_band": "small", "country": "GB"}
    )
    assert created.status_code == 302
    with scopes_disabled():
        own = Membership.objects.get(user=stranger).organisation
    url = f"/supplier-invitations/{services.invitation_token(invitation)}/"
    assert client.get(url).status_code == 200
    client.post(
        url,
        {
            "action": action,
            "organisation": str(own.pk),
            "typed_name": "Mallory",
            "job_title": "Owner",
            "reason": "Not interested",
        },
    )
    # Same look-alike name, same link: still not the invited party. Nothing of the buyer's changed.
    assert buyer_side(invitation) == before
    # Nor can the stranger confirm its own answer, under either organisation's address.
    api = token_client(make_token(stranger, own))
    for slug in (alpha.org.slug, own.slug):
        page = f"/o/{slug}/supply-chain/requests/{invitation.pk}/answer/"
        assert client.post(page, {"decision": "confirm"}).status_code == 404
        endpoint = f"/api/v1/organisations/{slug}/supplier-invitations/{invitation.pk}/confirm-answer/"
        assert api.post(endpoint).status_code == 404
    assert buyer_side(invitation) == before
