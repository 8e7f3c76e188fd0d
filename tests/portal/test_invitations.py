"""Invitations: email with a signed single-use link, accept for new and existing users, resend, revoke."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from portal import services
from portal.models import AuditEvent, EmailStatus, Invitation, Membership
from portal.roles import Role
from portal.tasks import send_invitation_email, sweep_invitation_emails
from tests.conftest import client_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _invite(owner_client, tenant, email="new.rep@acme.example", role=Role.WORKFORCE_REP):
    return owner_client.post(f"/o/{tenant.organisation.slug}/invitations/new/", {"email": email, "role": role})


def _update(pk, **fields) -> None:
    with scopes_disabled():
        Invitation.objects.filter(pk=pk).update(**fields)


def _link(message) -> str:
    match = re.search(r"http://[^\s]+/invitations/[^\s/]+/", message.body)
    assert match, message.body
    return match.group(0).replace("http://127.0.0.1:8000", "")


def test_invitation_email_has_text_and_html_parts_and_a_working_link(
    tenant, owner_client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(owner_client, tenant)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.rep@acme.example"]
    assert "Acme Precision Engineering" in message.subject
    assert "Workforce representative" in message.body
    assert "You are receiving this because" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Accept the invitation" in html
    with scopes_disabled():
        invitation = Invitation.objects.get(email="new.rep@acme.example")
    assert invitation.email_status == EmailStatus.SENT and invitation.email_sent_at
    page = Client().get(_link(message))
    assert page.status_code == 200
    assert "Join Acme Precision Engineering" in page.content.decode()


def test_new_user_signs_up_through_the_invitation_and_lands_with_the_role(
    tenant, owner_client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(owner_client, tenant)
    link = _link(mail.outbox[0])
    visitor = Client()
    assert "Create an account" in visitor.get(link).content.decode()
    response = visitor.post(
        f"/accounts/signup/?next={link}",
        {
            "email": "new.rep@acme.example",
            "full_name": "Nadia Rep",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": link,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.M).group(1)
    response = visitor.post("/accounts/confirm-email/", {"code": code})
    assert response.status_code == 302 and response["Location"] == link
    accept = visitor.post(link)
    assert accept.status_code == 302 and accept["Location"] == f"/o/{tenant.organisation.slug}/"
    with scope(organisation=tenant.organisation):
        membership = Membership.objects.get(user__email="new.rep@acme.example")
        assert membership.role == Role.WORKFORCE_REP
        assert AuditEvent.objects.filter(verb="invitation.accepted", actor=membership.user).exists()
    # The link is single-use.
    again = visitor.get(link)
    assert again.status_code == 410 and "already been used" in again.content.decode()


def test_existing_user_accepts_after_signing_in(tenant, owner_client, django_capture_on_commit_callbacks) -> None:
    existing = UserFactory(email="already.here@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        _invite(owner_client, tenant, email="Already.Here@example.org", role=Role.MANAGER)
    link = _link(mail.outbox[0])
    client = client_for(existing)
    assert "Accept and join" in client.get(link).content.decode()
    assert client.post(link).status_code == 302
    with scope(organisation=tenant.organisation):
        assert Membership.objects.get(user=existing).role == Role.MANAGER


def test_signed_in_as_someone_else_is_told_clearly(
    tenant, owner_client, outsider, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(owner_client, tenant)
    link = _link(mail.outbox[0])
    client = client_for(outsider)
    html = client.get(link).content.decode()
    assert "sent to new.rep@acme.example, but you are signed in as owner@northern.example" in html
    assert "Accept and join" not in html
    response = client.post(link)
    assert response.status_code == 400
    with scope(organisation=tenant.organisation):
        assert not Membership.objects.filter(user=outsider).exists()


def test_expired_revoked_and_tampered_links_show_clear_pages(tenant) -> None:
    invitation = services.invitation_create(
        organisation=tenant.organisation, actor=tenant.owner, email="late@example.org", role=Role.MEMBER
    )
    token = services.invitation_token(invitation)
    tampered = Client().get(f"/invitations/{token[:-2]}xx/")
    assert tampered.status_code == 404 and "link is not valid" in tampered.content.decode()
    _update(invitation.pk, expires_at=timezone.now() - timedelta(hours=1))
    expired = Client().get(f"/invitations/{token}/")
    assert expired.status_code == 410 and "This invitation has expired" in expired.content.decode()
    _update(invitation.pk, expires_at=timezone.now() + timedelta(days=1))
    services.invitation_revoke(invitation=invitation, actor=tenant.owner)
    revoked = Client().get(f"/invitations/{token}/")
    assert revoked.status_code == 410 and "withdrawn" in revoked.content.decode()


def test_resend_rotates_the_link_and_extends_expiry(tenant, owner_client, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(owner_client, tenant)
    old_link = _link(mail.outbox[0])
    with scopes_disabled():
        invitation = Invitation.objects.get(email="new.rep@acme.example")
    _update(invitation.pk, expires_at=timezone.now() - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/o/{tenant.organisation.slug}/invitations/{invitation.pk}/resend/")
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    new_link = _link(mail.outbox[1])
    assert new_link != old_link
    assert Client().get(old_link).status_code == 404
    assert Client().get(new_link).status_code == 200
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now() + timedelta(days=13)


def test_revoke_needs_confirmation(tenant, owner_client) -> None:
    invitation = services.invitation_create(
        organisation=tenant.organisation, actor=tenant.owner, email="maybe@example.org", role=Role.MEMBER
    )
    url = f"/o/{tenant.organisation.slug}/invitations/{invitation.pk}/revoke/"
    assert "Yes, revoke it" in owner_client.get(url).content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    owner_client.post(url)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_inviting_a_member_or_a_pending_email_is_refused_at_the_field(tenant, owner_client) -> None:
    response = _invite(owner_client, tenant, email=tenant.manager.email.upper())
    html = response.content.decode()
    assert response.status_code == 200 and "is already a member" in html and 'href="#id_email"' in html
    _invite(owner_client, tenant, email="twice@example.org")
    response = _invite(owner_client, tenant, email="twice@example.org")
    assert "already has an invitation waiting" in response.content.decode()
    with scopes_disabled():
        assert Invitation.objects.filter(email="twice@example.org").count() == 1


def test_invalid_invitation_form_keeps_what_was_typed(tenant, owner_client) -> None:
    response = _invite(owner_client, tenant, email="not-an-email", role="")
    html = response.content.decode()
    assert "<title>Error:" in html and 'value="not-an-email"' in html
    assert 'href="#id_role_0"' in html


def test_email_task_is_idempotent(tenant) -> None:
    invitation = services.invitation_create(
        organisation=tenant.organisation, actor=tenant.owner, email="once@example.org", role=Role.MEMBER
    )
    kwargs = {"organisation_id": str(tenant.organisation.pk), "invitation_id": str(invitation.pk)}
    assert send_invitation_email.apply(kwargs=kwargs).get() == "sent"
    assert send_invitation_email.apply(kwargs=kwargs).get() == "not-claimed"
    assert len(mail.outbox) == 1


def test_sweep_recovers_an_email_whose_task_was_lost(tenant, django_capture_on_commit_callbacks) -> None:
    invitation = services.invitation_create(
        organisation=tenant.organisation, actor=tenant.owner, email="lost@example.org", role=Role.MEMBER
    )  # no on-commit run in this test: the task never got to the broker
    assert len(mail.outbox) == 0
    assert sweep_invitation_emails.apply().get() == 0  # too fresh to be called stuck
    _update(invitation.pk, email_queued_at=timezone.now() - timedelta(minutes=5))
    # A worker that died mid-send leaves 'sending' behind; that is recovered too.
    stuck = services.invitation_create(
        organisation=tenant.organisation,
        actor=tenant.owner,
        email="dead.worker@example.org",
        role=Role.MEMBER,
    )
    _update(
        stuck.pk,
        email_status=EmailStatus.SENDING,
        email_claimed_at=timezone.now() - timedelta(minutes=30),
        email_queued_at=timezone.now() - timedelta(minutes=30),
    )
    with django_capture_on_commit_callbacks(execute=True):
        recovered = sweep_invitation_emails.apply().get()
    assert recovered == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["dead.worker@example.org", "lost@example.org"]


def test_failed_email_is_recorded_and_shown_to_the_owner(tenant, monkeypatch) -> None:
    invitation = services.invitation_create(
        organisation=tenant.organisation, actor=tenant.owner, email="bounce@example.org", role=Role.MEMBER
    )

    def broken_send(*args, **kwargs):
        raise OSError("SMTP server refused the connection")

    monkeypatch.setattr("portal.tasks.send_templated_email", broken_send)
    result = send_invitation_email.apply(
        kwargs={"organisation_id": str(tenant.organisation.pk), "invitation_id": str(invitation.pk)}
    )
    invitation.refresh_from_db()
    assert result.get() == "failed"  # in-process: no worker to retry later, so the owner is told now
    assert invitation.email_status == EmailStatus.FAILED and invitation.email_attempts == 1
    assert "SMTP server refused" in invitation.email_error
    page = client_for(tenant.owner).get(f"/o/{tenant.organisation.slug}/members/").content.decode()
    assert "The email could not be sent" in page
    # Resending queues it again, and this time it goes.
    monkeypatch.undo()
    services.invitation_resend(invitation=invitation, actor=tenant.owner)
    invitation.refresh_from_db()
    assert invitation.email_status == EmailStatus.PENDING
