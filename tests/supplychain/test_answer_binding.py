"""A supplier request's link answers for the invited party only (issue 15, part 1).

The answer takes effect when the person answering holds the address the request was sent to, or
answers for the organisation the buyer's register row is already linked to. Anyone else holding the
link (a forwarded or leaked email) only proposes an answer: the buyer sees who answered and confirms
or rejects it, and until then nothing changes: not the request, not the register, not the coverage.
"""

from __future__ import annotations

import html

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from portal.models import AuditEvent
from supplychain import selectors, services
from supplychain.models import InvitationState, Supplier, SupplierInvitation, SupplierLink
from tests.api.conftest import make_token, token_client
from tests.conftest import client_for
from tests.supplychain.test_cascade import Company, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(framework, django_capture_on_commit_callbacks):
    """Alpha asks Bravo (by Bravo's owner's address); Mallory, a stranger, has the link too."""
    alpha, bravo, mallory = Company("Alpha"), Company("Bravo"), Company("Mallory")
    alpha.lists(bravo)
    campaign = start(alpha, depth=1)
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    return alpha, bravo, mallory, campaign, invitation, services.invitation_token(invitation)


def answer(company: Company, token: str, action: str = "accept", **extra: str):
    client = client_for(company.owner)
    url = f"/supplier-invitations/{token}/"
    assert client.get(url).status_code == 200
    data = {"action": action, "organisation": str(company.org.pk), "typed_name": "Sam Owner", "job_title": "Owner"}
    if action == "decline":
        data["reason"] = "We do not buy from Alpha"
    return client.post(url, {**data, **extra})


def state_of(invitation) -> tuple[str, object, object, int]:
    """The request's state and answering organisation, the register row's link, accepted coverage."""
    with scopes_disabled():
        fresh = SupplierInvitation.objects.get(pk=invitation.pk)
        linked = Supplier.objects.get(pk=invitation.supplier_id).linked_organisation_id
        accepted = sum(t.counts["accepted"] for t in selectors.campaign_coverage(fresh.campaign))
    return fresh.state, fresh.supplier_organisation_id, linked, accepted


def verbs(company: Company) -> list[str]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(organisation=company.org).values_list("verb", flat=True))


# --- Who may answer ------------------------------------------------------------------------------


def test_a_stranger_holding_the_link_does_not_answer_for_the_supplier(
    world, django_capture_on_commit_callbacks
) -> None:
    """The attack: any organisation's owner, given the link, accepted for the invited supplier. The
    campaign showed it accepted, the register row was linked to the stranger, and coverage counted it."""
    alpha, bravo, mallory, campaign, invitation, token = world
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = answer(mallory, token)

    assert response.status_code == 302
    assert state_of(invitation) == (InvitationState.PENDING, None, None, 0)
    with scopes_disabled():
        assert not SupplierLink.objects.filter(supplier_organisation=mallory.org).exists()
        held = SupplierInvitation.objects.get(pk=invitation.pk)
    assert (held.held_answer, held.held_organisation_id, held.held_by_id) == (
        "accept",
        mallory.org.pk,
        mallory.owner.pk,
    )
    # The stranger is told the buyer confirms first; the buyer is emailed to confirm or reject.
    page = response.client.get(response["Location"], follow=True).content.decode()
    assert "will first confirm that Mallory is the supplier it asked" in html.unescape(page)
    [email] = [m for m in mail.outbox if alpha.owner.email in m.to]
    assert email.subject == "Mallory answered your request to Bravo: confirm or reject it"
    assert f"/o/{alpha.org.slug}/supply-chain/requests/{invitation.pk}/answer/" in email.body
    assert "owner@mallory.example" in email.body and bravo.email in email.body
    assert "supplier_request.answer_held" in verbs(alpha) and "supplier_request.answer_held" in verbs(mallory)
    assert "supplier_request.accepted" not in verbs(alpha)
    # The buyer's campaign page says who answered, and that it waits for the buyer.
    campaign_page = client_for(alpha.owner).get(f"/o/{alpha.org.slug}/supply-chain/campaigns/{campaign.pk}/")
    text = html.unescape(campaign_page.content.decode())
    assert "Answer to check" in text and "Mallory accepted" in text and "owner@mallory.example" in text
    assert "Confirm or reject the answer" in text
    # A second stranger cannot pile on while the buyer decides.
    other = Company("Oscar")
    refused = answer(other, token)
    assert refused.status_code == 400
    assert "already answered this request" in html.unescape(refused.content.decode())


def test_a_strangers_decline_is_held_too(world) -> None:
    alpha, bravo, mallory, campaign, invitation, token = world
    assert answer(mallory, token, "decline").status_code == 302
    assert state_of(invitation) == (InvitationState.PENDING, None, None, 0)
    with scopes_disabled():
        held = SupplierInvitation.objects.get(pk=invitation.pk)
    assert (held.held_answer, held.held_reason) == ("decline", "We do not buy from Alpha")


def test_the_holder_of_the_invited_address_answers_at_once(world) -> None:
    alpha, bravo, mallory, campaign, invitation, token = world
    response = answer(bravo, token)
    assert response.status_code == 302
    assert state_of(invitation) == (InvitationState.ACCEPTED, bravo.org.pk, bravo.org.pk, 1)
    page = client_for(alpha.owner).get(f"/o/{alpha.org.slug}/supply-chain/campaigns/{campaign.pk}/")
    text = html.unescape(page.content.decode())
    assert f"for Bravo by {bravo.owner.display_name} ({bravo.email})" in text  # who answered, for whom


def test_a_member_of_the_organisation_the_register_row_is_linked_to_answers_at_once(framework) -> None:
    """Bravo answered Alpha before, so Alpha's register row is linked to Bravo; a new campaign goes to
    an address no one at Bravo signs in with (a shared mailbox), and Bravo's owner answers from the link."""
    alpha, bravo = Company("Alpha"), Company("Bravo")
    [row] = alpha.lists(bravo)
    with scopes_disabled():
        Supplier.objects.filter(pk=row.pk).update(linked_organisation=bravo.org, contact_email="sales@bravo.example")
    campaign = start(alpha, depth=1)
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    assert invitation.email == "sales@bravo.example"
    assert answer(bravo, services.invitation_token(invitation)).status_code == 302
    assert state_of(invitation) == (InvitationState.ACCEPTED, bravo.org.pk, bravo.org.pk, 1)


# --- The buyer decides ---------------------------------------------------------------------------


def test_the_buyer_confirms_a_held_answer_and_it_counts_as_given(world) -> None:
    alpha, bravo, mallory, campaign, invitation, token = world
    answer(mallory, token)
    client = client_for(alpha.owner)
    url = f"/o/{alpha.org.slug}/supply-chain/requests/{invitation.pk}/answer/"
    page = client.get(url)
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert "Is Mallory the supplier you asked as Bravo?" in text
    assert "owner@mallory.example" in text and bravo.email in text
    missing = client.post(url, {})
    assert missing.status_code == 400
    assert "Choose whether to confirm or reject the answer" in html.unescape(missing.content.decode())

    response = client.post(url, {"decision": "confirm"})

    assert response.status_code == 302
    assert state_of(invitation) == (InvitationState.ACCEPTED, mallory.org.pk, mallory.org.pk, 1)
    with scopes_disabled():
        fresh = SupplierInvitation.objects.get(pk=invitation.pk)
        assert SupplierLink.objects.filter(buyer=alpha.org, supplier_organisation=mallory.org).exists()
    assert fresh.responded_by_id == mallory.owner.pk and fresh.held_at is None
    assert {"supplier_request.answer_confirmed", "supplier_request.accepted"} <= set(verbs(alpha))
    assert {"supplier_request.answer_confirmed", "supplier_request.accepted"} <= set(verbs(mallory))
    banner = html.unescape(client.get(response["Location"]).content.decode())
    assert "You confirmed the answer from Mallory" in banner
    assert client.get(url).status_code == 404  # nothing left to decide


def test_the_buyer_rejects_a_held_answer_and_the_invited_supplier_can_still_answer(world) -> None:
    alpha, bravo, mallory, campaign, invitation, token = world
    answer(mallory, token)
    client = client_for(alpha.owner)
    response = client.post(f"/o/{alpha.org.slug}/supply-chain/requests/{invitation.pk}/answer/", {"decision": "reject"})
    assert response.status_code == 302
    assert state_of(invitation) == (InvitationState.PENDING, None, None, 0)
    with scopes_disabled():
        assert SupplierInvitation.objects.get(pk=invitation.pk).held_at is None
    assert "supplier_request.answer_rejected" in verbs(alpha) and "supplier_request.answer_rejected" in verbs(mallory)
    assert answer(bravo, token).status_code == 302
    assert state_of(invitation) == (InvitationState.ACCEPTED, bravo.org.pk, bravo.org.pk, 1)


def test_the_invited_supplier_answering_supersedes_a_held_answer(world) -> None:
    alpha, bravo, mallory, campaign, invitation, token = world
    answer(mallory, token)
    assert answer(bravo, token).status_code == 302
    assert state_of(invitation) == (InvitationState.ACCEPTED, bravo.org.pk, bravo.org.pk, 1)
    with scopes_disabled():
        assert SupplierInvitation.objects.get(pk=invitation.pk).held_at is None


def test_a_stranger_cannot_confirm_its_own_answer_for_the_buyer(world) -> None:
    alpha, bravo, mallory, campaign, invitation, token = world
    answer(mallory, token)
    client = client_for(mallory.owner)
    for slug in (alpha.org.slug, mallory.org.slug):
        url = f"/o/{slug}/supply-chain/requests/{invitation.pk}/answer/"
        assert client.get(url).status_code == 404
        assert client.post(url, {"decision": "confirm"}).status_code == 404
    api = token_client(make_token(mallory.owner, mallory.org))
    for slug in (alpha.org.slug, mallory.org.slug):
        confirm = api.post(f"/api/v1/organisations/{slug}/supplier-invitations/{invitation.pk}/confirm-answer/")
        assert confirm.status_code == 404
    with pytest.raises(Exception, match="owner or manager of Alpha"):
        services.held_answer_confirm(invitation=invitation, actor=mallory.owner)
    assert state_of(invitation) == (InvitationState.PENDING, None, None, 0)


# --- The API -------------------------------------------------------------------------------------


def test_api_the_invited_party_answers_and_a_stranger_cannot_reach_the_request(world) -> None:
    alpha, bravo, mallory, campaign, invitation, token = world
    stranger = token_client(make_token(mallory.owner, mallory.org))
    base = f"/api/v1/organisations/{mallory.org.slug}/requests/"
    assert stranger.get(base).json()["results"] == []
    refused = stranger.post(f"{base}{invitation.pk}/accept/", {"typed_name": "M", "job_title": "Owner"}, format="json")
    assert refused.status_code == 404
    assert state_of(invitation) == (InvitationState.PENDING, None, None, 0)
    invited = token_client(make_token(bravo.owner, bravo.org))
    accepted = invited.post(
        f"/api/v1/organisations/{bravo.org.slug}/requests/{invitation.pk}/accept/",
        {"typed_name": "Bob Owner", "job_title": "Owner"},
        format="json",
    )
    assert accepted.status_code == 200, accepted.content[:300]
    assert state_of(invitation) == (InvitationState.ACCEPTED, bravo.org.pk, bravo.org.pk, 1)
    listed = token_client(make_token(alpha.owner, alpha.org)).get(
        f"/api/v1/organisations/{alpha.org.slug}/campaigns/{campaign.pk}/invitations/"
    )
    [row] = listed.json()["results"]
    assert row["answered_by"] == {
        "organisation": {"id": str(bravo.org.pk), "name": "Bravo"},
        "person": {"email": bravo.email, "full_name": bravo.owner.full_name},
    }
    assert row["held_answer"] is None


def test_api_a_member_of_the_linked_organisation_answers(framework) -> None:
    alpha, bravo = Company("Alpha"), Company("Bravo")
    [row] = alpha.lists(bravo)
    with scopes_disabled():
        Supplier.objects.filter(pk=row.pk).update(linked_organisation=bravo.org, contact_email="sales@bravo.example")
    campaign = start(alpha, depth=1)
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    response = token_client(make_token(bravo.owner, bravo.org)).post(
        f"/api/v1/organisations/{bravo.org.slug}/requests/{invitation.pk}/decline/",
        {"reason": "Not this year"},
        format="json",
    )
    assert response.status_code == 200, response.content[:300]
    assert state_of(invitation) == (InvitationState.DECLINED, bravo.org.pk, bravo.org.pk, 0)


@pytest.mark.parametrize("decision", ["confirm", "reject"])
def test_api_the_buyer_sees_a_held_answer_and_confirms_or_rejects_it(world, decision) -> None:
    alpha, bravo, mallory, campaign, invitation, token = world
    answer(mallory, token)
    buyer = token_client(make_token(alpha.owner, alpha.org))
    base = f"/api/v1/organisations/{alpha.org.slug}/"
    [row] = buyer.get(f"{base}campaigns/{campaign.pk}/invitations/").json()["results"]
    assert row["state"] == "pending" and row["answered_by"] is None
    held = row["held_answer"]
    assert held["answer"] == "accept" and held["organisation"] == {"id": str(mallory.org.pk), "name": "Mallory"}
    assert held["person"]["email"] == "owner@mallory.example"
    response = buyer.post(f"{base}supplier-invitations/{invitation.pk}/{decision}-answer/")
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    if decision == "confirm":
        assert body["state"] == "accepted" and body["held_answer"] is None
        assert body["answered_by"]["organisation"]["name"] == "Mallory"
        assert state_of(invitation) == (InvitationState.ACCEPTED, mallory.org.pk, mallory.org.pk, 1)
    else:
        assert body["state"] == "pending" and body["held_answer"] is None and body["answered_by"] is None
        assert state_of(invitation) == (InvitationState.PENDING, None, None, 0)
    again = buyer.post(f"{base}supplier-invitations/{invitation.pk}/{decision}-answer/")
    assert again.status_code == 409
