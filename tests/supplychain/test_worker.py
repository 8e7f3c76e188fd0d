"""A campaign on the production path: invitation rows handed to a real Celery worker through Redis."""

from __future__ import annotations

import html
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from supplychain.models import SupplierInvitation
from tests.conftest import client_for
from tests.supplychain.test_cascade import Company

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_sent(campaign, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if SupplierInvitation.objects.filter(campaign=campaign, email_status="sent").count() == count:
            return
        time.sleep(0.2)
    states = list(SupplierInvitation.objects.filter(campaign=campaign).values_list("email", "email_status"))
    raise AssertionError(f"not all {count} invitations sent: {states}")


def test_a_two_tier_campaign_runs_on_the_worker(framework, worker, mailbox) -> None:
    buyer, b, c, d = Company("Alpha"), Company("Bravo"), Company("Charlie"), Company("Delta")
    buyer.lists(b, c)
    b.lists(d)
    client = client_for(buyer.owner)
    slug = buyer.org.slug
    client.post(
        f"/o/{slug}/supply-chain/campaigns/new/",
        {
            "title": "Worker run",
            "message": "Please commit",
            "depth": "2",
            "due_date": (timezone.localdate() + timedelta(days=10)).isoformat(),
            "reminder_days": "3, 8",
            "everyone": "all",
        },
    )
    response = client.post(f"/o/{slug}/supply-chain/campaigns/new/check/")
    assert response.status_code == 302
    campaign = SupplierInvitation.objects.get(email=b.email).campaign
    _wait_sent(campaign, 2)
    for company in (b, c):
        message = mailbox.wait_for(company.email, containing="Please commit")
        assert "/supplier-invitations/" in message.text and "Accept" not in message.subject
    b.accept(campaign)
    b.forward(campaign, d)
    _wait_sent(campaign, 3)
    message = mailbox.wait_for(d.email, containing="Please commit")
    assert "Bravo" in message.subject
    assert "send_supplier_invitations" in worker.log.read_text()
    assert list(
        SupplierInvitation.objects.filter(campaign=campaign).order_by("tier", "email").values_list("tier", "state")
    ) == [(1, "accepted"), (1, "pending"), (2, "pending")]


def test_an_invitation_whose_email_can_never_be_built_fails_at_once_and_the_buyer_sees_why(framework, worker) -> None:
    """Old data: a supplier named with a line break, from before names were checked. Django refuses
    the subject; the row used to go back to pending with the error, to be retried for ever."""
    from supplychain.models import Supplier
    from supplychain.tasks import sweep_supplier_invitations
    from tests.api.conftest import make_token, token_client
    from tests.supplychain.test_cascade import start

    buyer, bravo = Company("Alpha"), Company("Bravo")
    [listed] = buyer.lists(bravo)
    Supplier.objects.filter(pk=listed.pk).update(name="CRLF Ltd\r\nBcc: victim@evil.example")
    campaign = start(buyer, depth=1)

    deadline = time.monotonic() + 30
    while SupplierInvitation.objects.get(campaign=campaign).email_status != "failed":
        assert time.monotonic() < deadline, list(
            SupplierInvitation.objects.filter(campaign=campaign).values("email_status", "email_attempts", "email_error")
        )
        time.sleep(0.2)
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    assert (invitation.state, invitation.email_attempts) == ("pending", 1)
    assert invitation.email_error.startswith("BadHeaderError")
    # The sweep leaves it alone however long it waits: nothing a retry can mend.
    SupplierInvitation.objects.filter(pk=invitation.pk).update(email_queued_at=timezone.now() - timedelta(hours=1))
    assert sweep_supplier_invitations() == 0

    reason = "the supplier's name in your register has a line break or a hidden control character"
    page = client_for(buyer.owner).get(f"/o/{buyer.org.slug}/supply-chain/campaigns/{campaign.pk}/")
    assert "Email could not be sent" in page.content.decode()
    assert html.escape(reason) in page.content.decode()
    listed_api = token_client(make_token(buyer.owner, buyer.org)).get(
        f"/api/v1/organisations/{buyer.org.slug}/campaigns/{campaign.pk}/invitations/"
    )
    [row] = listed_api.json()["results"]
    assert row["email_status"] == "failed" and reason in row["email_problem"]
