"""A password change or reset revokes the person's API tokens, as it ends their other sessions: after an
account takeover, tokens the intruder made stop working too."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from portal.models import ApiToken, AuditEvent, TokenRevokedReason
from portal.roles import Role
from portal.tokens import token_create, token_revoke
from tests.api.conftest import make_token, token_client
from tests.conftest import client_for
from tests.factories import PASSWORD, OrganisationFactory, add_member

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture
def holder(tenant):
    """The owner of `tenant`, also a manager of a second organisation, with tokens in both, one already
    revoked by hand and one expired."""
    other = OrganisationFactory(name="Second Works Ltd")
    add_member(other, tenant.owner, Role.MANAGER)
    owner = tenant.owner
    tokens = {
        "erp": make_token(owner, tenant.organisation),
        "hr": make_token(owner, other),
    }
    by_hand = token_create(
        user=owner, organisation=tenant.organisation, name="Old script", role="owner", expires_at=None
    )
    token_revoke(token=by_hand.token, actor=owner)
    expired = token_create(
        user=owner, organisation=other, name="Pilot", role="manager", expires_at=timezone.now() + timedelta(days=1)
    )
    ApiToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    for raw in tokens.values():
        assert token_client(raw).get("/api/v1/me/").status_code == 200
    return {"owner": owner, "organisations": [tenant.organisation, other], "raw": tokens, "expired": expired.token}


def revocation_events(organisation, verb: str) -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(organisation=organisation, verb=verb))


def assert_revoked(holder, reason: TokenRevokedReason) -> None:
    for raw in holder["raw"].values():
        refused = token_client(raw).get("/api/v1/me/")
        assert refused.status_code == 401
        assert "revoked when its owner's password changed" in refused.json()["message"]
    with scopes_disabled():
        live = ApiToken.objects.filter(user=holder["owner"], revoked_reason=reason)
        assert live.count() == 2
        # The token revoked by hand keeps its reason; the expired one is left as it was.
        assert ApiToken.objects.get(name="Old script").revoked_reason == TokenRevokedReason.OWNER
        assert ApiToken.objects.get(pk=holder["expired"].pk).revoked_at is None


def assert_a_new_token_works(holder) -> None:
    organisation = holder["organisations"][0]
    fresh = make_token(holder["owner"], organisation)
    assert token_client(fresh).get("/api/v1/me/").status_code == 200


def test_changing_the_password_on_the_web_revokes_every_token(holder) -> None:
    client = client_for(holder["owner"])
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        follow=True,
    )
    assert response.status_code == 200
    assert "Your 2 API tokens were revoked with your old password" in response.content.decode()
    assert_revoked(holder, TokenRevokedReason.PASSWORD_CHANGED)

    # The tokens page says which were revoked, and why.
    page = client.get("/account/tokens/").content.decode()
    assert page.count("when your password was changed") == 2
    assert "Changing or resetting your password revokes all your tokens" in page

    # Each organisation's audit trail records its own token's revocation, in a sentence that reads well.
    for organisation in holder["organisations"]:
        events = revocation_events(organisation, "api_token.revoked_password_changed")
        assert len(events) == 1 and events[0].actor == holder["owner"]
        name, token_label = holder["owner"].display_name, events[0].target_label
        assert token_label.endswith(")") and "token (" in token_label  # its name and public prefix
        # On the dashboard and in the audit trail, one sentence: who, what happened, to which token.
        token_name, prefix = token_label[:-1].rsplit(" (", 1)
        sentence = f"{name} changed their password, which revoked their API token “{token_name}” ({prefix})"
        dashboard = client.get(f"/o/{organisation.slug}/").content.decode()
        assert sentence in html.unescape(dashboard), dashboard
        trail = client.get(f"/o/{organisation.slug}/audit/").content.decode()
        assert sentence in html.unescape(trail)
    assert_a_new_token_works(holder)


def test_resetting_the_password_through_the_emailed_link_revokes_every_token(holder) -> None:
    owner = holder["owner"]
    client = Client()
    assert client.post("/accounts/password/reset/", {"email": owner.email}).status_code == 302
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[-1].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    done = client.post(form.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert_revoked(holder, TokenRevokedReason.PASSWORD_RESET)

    signed_in = Client()
    assert signed_in.post("/accounts/login/", {"login": owner.email, "password": NEW_PASSWORD}).status_code == 302
    page = signed_in.get("/account/tokens/").content.decode()
    assert page.count("when your password was reset") == 2
    for organisation in holder["organisations"]:
        events = revocation_events(organisation, "api_token.revoked_password_reset")
        assert len(events) == 1 and events[0].actor == owner
        trail = signed_in.get(f"/o/{organisation.slug}/audit/").content.decode()
        assert "reset their password, which revoked their API token" in trail
    assert_a_new_token_works(holder)


def test_a_failed_password_change_revokes_nothing(holder) -> None:
    client = client_for(holder["owner"])
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "not my password", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    for raw in holder["raw"].values():
        assert token_client(raw).get("/api/v1/me/").status_code == 200
