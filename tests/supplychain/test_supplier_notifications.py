"""A buyer's request reaches whoever answers it, and the answer reaches the buyer's owners and
managers, in their notifications (issue 16, part 3). The request's own email is the invitation: the
portal adds none for it."""

from __future__ import annotations

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from portal.models import Notification
from portal.roles import Role
from supplychain import services
from supplychain.models import SupplierInvitation
from tests.conftest import client_for
from tests.factories import UserFactory, add_member
from tests.supplychain.test_cascade import Company, start

pytestmark = pytest.mark.django_db


def told(kind: str) -> dict[str, Notification]:
    with scopes_disabled():
        return {n.recipient.email: n for n in Notification.objects.filter(kind=kind).select_related("recipient")}


def staff(company: Company) -> tuple:
    """A manager and a plain member besides the owner."""
    manager, member = UserFactory(), UserFactory()
    add_member(company.org, manager, Role.MANAGER)
    add_member(company.org, member, Role.MEMBER)
    return manager, member


def test_a_request_reaches_the_person_holding_the_address_then_the_organisations_owners_and_managers(
    framework, django_capture_on_commit_callbacks
) -> None:
    alpha, bravo, mallory = Company("Alpha"), Company("Bravo"), Company("Mallory")
    alpha_manager, alpha_member = staff(alpha)
    bravo_manager, bravo_member = staff(bravo)
    alpha.lists(bravo)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        campaign = start(alpha, depth=1)
    # Sent to Bravo's owner's address, not yet known as Bravo: the person holding the address is told.
    received = told("supplier_request_received")
    assert set(received) == {bravo.email}
    line = received[bravo.email]
    assert line.organisation is None and line.url == "/your-work/" and line.actor is None
    assert line.text.startswith("Alpha asks Bravo to commit to the Made Smarter principles (“Commit”)")
    assert [m.to for m in mail.outbox] == [[bravo.email]]  # the invitation only: no second email

    # A duplicate delivery of the sending task, or a resend, tells nobody twice.
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_resend(invitation=invitation, actor=alpha.owner)
    with scopes_disabled():
        assert Notification.objects.filter(kind="supplier_request_received").count() == 1

    # Bravo accepts: Alpha's owner and manager hear of it (daily summary by default: no email now).
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        bravo.accept(campaign)
    answered = told("supplier_request_answered")
    assert set(answered) == {alpha.owner.email, alpha_manager.email}
    assert answered[alpha.owner.email].text.startswith(f"{bravo.owner.display_name} accepted your request “Commit”")
    assert answered[alpha.owner.email].url == f"/o/{alpha.org.slug}/supply-chain/campaigns/{campaign.pk}/"
    assert not [m for m in mail.outbox if alpha.owner.email in m.to]

    # Alpha asks again: the register now links Bravo, so Bravo's owners and managers are told.
    with django_capture_on_commit_callbacks(execute=True):
        again = services.campaign_start(
            organisation=alpha.org,
            actor=alpha.owner,
            title="Commit again",
            message="Please",
            depth=1,
            due_date=campaign.due_date,
            supplier_ids=None,
        )
    with scopes_disabled():
        second = {
            n.recipient.email: n
            for n in Notification.objects.filter(
                kind="supplier_request_received",
                dedupe_key__contains=str(SupplierInvitation.objects.get(campaign=again).pk),
            )
        }
    assert set(second) == {bravo.email, bravo_manager.email}  # not Bravo's member, not Alpha, not Mallory
    assert second[bravo_manager.email].organisation == bravo.org
    assert mallory.email not in told("supplier_request_received")
    assert alpha_member.email not in told("supplier_request_answered")
    # The request shows on "Your work", where the notification leads.
    assert "Commit again" in client_for(bravo_manager).get("/your-work/").content.decode()
    assert bravo_member.email not in told("supplier_request_received")


def test_a_decline_tells_the_buyer_why(framework, django_capture_on_commit_callbacks) -> None:
    alpha, bravo = Company("Alpha"), Company("Bravo")
    alpha.lists(bravo)
    with django_capture_on_commit_callbacks(execute=True):
        campaign = start(alpha, depth=1)
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    services.invitation_decline(
        invitation=invitation, user=bravo.owner, organisation=bravo.org, reason="We do not buy from Alpha"
    )
    (line,) = told("supplier_request_answered").values()
    assert line.recipient == alpha.owner and line.text.endswith("“We do not buy from Alpha”")


def test_an_answer_held_for_confirmation_asks_the_buyer_straight_away(
    framework, django_capture_on_commit_callbacks
) -> None:
    alpha, bravo, mallory = Company("Alpha"), Company("Bravo"), Company("Mallory")
    alpha_manager, alpha_member = staff(alpha)
    alpha.lists(bravo)
    with django_capture_on_commit_callbacks(execute=True):
        campaign = start(alpha, depth=1)
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    token = services.invitation_token(invitation)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(mallory.owner).post(
            f"/supplier-invitations/{token}/",
            {"action": "accept", "organisation": str(mallory.org.pk), "typed_name": "Sam", "job_title": "Owner"},
        )
    held = told("supplier_answer_to_confirm")
    assert set(held) == {alpha.owner.email, alpha_manager.email}
    assert held[alpha.owner.email].url == f"/o/{alpha.org.slug}/supply-chain/requests/{invitation.pk}/answer/"
    assert "confirm or reject the answer" in held[alpha.owner.email].text
    assert told("supplier_request_answered") == {}  # it does not count yet
    emailed = {m.to[0]: m for m in mail.outbox if m.to[0] in (alpha.owner.email, alpha_manager.email)}
    assert set(emailed) == {alpha.owner.email, alpha_manager.email}
    assert emailed[alpha.owner.email].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
