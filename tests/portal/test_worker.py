"""The production path: tasks published after commit to Redis and run by a real Celery worker."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from portal.models import EmailStatus, Invitation
from portal.tasks import sweep_invitation_emails
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for_status(email: str, status: str, timeout: float = 30) -> Invitation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with scopes_disabled():
            invitation = Invitation.objects.get(email=email)
        if invitation.email_status == status:
            return invitation
        time.sleep(0.2)
    raise AssertionError(f"invitation to {email} still {invitation.email_status} after {timeout}s")


def test_invitation_email_is_sent_by_the_worker_after_commit(tenant, worker, mailbox) -> None:
    response = client_for(tenant.owner).post(
        f"/o/{tenant.organisation.slug}/invitations/new/",
        {"email": "via.worker@example.org", "role": "manager"},
    )
    assert response.status_code == 302
    invitation = _wait_for_status("via.worker@example.org", EmailStatus.SENT)
    assert invitation.email_attempts == 1
    message = mailbox.wait_for("via.worker@example.org")
    assert "Acme Precision Engineering" in message.subject
    assert "Manager" in message.text and "Accept the invitation" in message.html
    link = message.text.split("/invitations/")[1].split()[0]
    assert Client().get(f"/invitations/{link}").status_code == 200
    assert "send_invitation_email" in worker.log.read_text()


def test_sweep_recovers_an_invitation_whose_message_was_lost_from_redis(tenant, worker, mailbox) -> None:
    """As after a Redis restart: the row is pending but no message exists; the sweep re-sends it."""
    from datetime import timedelta

    from django.utils import timezone

    from portal import services

    with scopes_disabled():
        invitation = Invitation.objects.create(
            organisation=tenant.organisation,
            email="lost.in.redis@example.org",
            role="member",
            nonce="0" * 32,
            invited_by=tenant.owner,
            expires_at=timezone.now() + timedelta(days=14),
            email_queued_at=timezone.now() - timedelta(minutes=10),
        )
    assert services.invitation_token(invitation)
    assert sweep_invitation_emails.apply().get() == 1  # as beat would run it; the send goes to the worker
    _wait_for_status("lost.in.redis@example.org", EmailStatus.SENT)
    mailbox.wait_for("lost.in.redis@example.org")


def test_review_request_emails_go_through_the_outbox_and_the_worker(tenant, framework, worker, mailbox) -> None:
    from datetime import date

    from assessments import services
    from tests.assessments.conftest import responses_by_code

    assessment = services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Worker review",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=tenant.manager, maturity=1, narrative="", evidence_ids=[])
    assert services.assessment_submit(assessment=assessment, actor=tenant.manager) == [tenant.rep.email]
    message = mailbox.wait_for(tenant.rep.email, containing="ready for your review")
    assert "Worker review" in message.subject and f"/assessments/{assessment.pk}/" in message.text
    from portal.models import Outbox

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with scopes_disabled():
            if Outbox.objects.get().status == EmailStatus.SENT:
                break
        time.sleep(0.2)
    with scopes_disabled():
        assert Outbox.objects.get().status == EmailStatus.SENT
