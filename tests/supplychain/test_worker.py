"""A campaign on the production path: invitation rows handed to a real Celery worker through Redis."""

from __future__ import annotations

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
