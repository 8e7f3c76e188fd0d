"""The tenancy boundary: outsiders get 404 on every /o/<slug>/ URL, and scoped queries fail loudly."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import ScopeError, scope

from portal.models import AuditEvent, Invitation, Membership
from portal.roles import Role
from tests.conftest import client_for
from tests.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db


# Every tenant URL pattern, web and API, filled with real ids of the organisation's objects and
# requested as every role, an outsider and an ended auditor grant: tests/portal/test_role_walk.py.


def test_outsider_pointing_at_real_objects_of_another_tenant_gets_404(tenant, outsider) -> None:
    """Real ids of the other tenant's member and invitation, through the outsider's own slug too."""
    with scope(organisation=tenant.organisation):
        member = Membership.objects.get(user=tenant.member)
    client = client_for(outsider)
    # The context holds a callable (pages that show no switcher never read the memberships).
    own = client.get("/organisations/").context["my_memberships"]()[0].organisation.slug
    for slug in (tenant.organisation.slug, own):
        assert client.get(f"/o/{slug}/members/{member.pk}/role/").status_code == 404
        assert client.post(f"/o/{slug}/members/{member.pk}/remove/").status_code == 404
    with scope(organisation=tenant.organisation):
        assert Membership.objects.filter(pk=member.pk).exists()


def test_unknown_slug_and_non_member_look_the_same(tenant, outsider) -> None:
    client = client_for(outsider)
    unknown = client.get("/o/no-such-organisation-abc123/")
    real = client.get(f"/o/{tenant.organisation.slug}/")
    assert unknown.status_code == real.status_code == 404
    csrf = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert csrf.sub(b"", unknown.content) == csrf.sub(b"", real.content)


def test_anonymous_visitor_is_sent_to_sign_in(tenant) -> None:
    from django.test import Client

    response = Client().get(f"/o/{tenant.organisation.slug}/members/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_expired_auditor_grant_means_no_access(tenant) -> None:
    auditor = UserFactory(email="late.auditor@audit.example")
    add_member(tenant.organisation, auditor, Role.AUDITOR, expires_at=timezone.now() - timedelta(minutes=1))
    assert client_for(auditor).get(f"/o/{tenant.organisation.slug}/").status_code == 404


def test_an_auditor_signed_in_when_the_grant_is_cut_short_gets_404_everywhere(tenant) -> None:
    """Signed in while the grant ran, then the grant ends early: the next request on any tenant
    URL is the outsider's 404 (not 403), and the organisation leaves the auditor's list."""
    with scope(organisation=tenant.organisation):
        Membership.objects.filter(user=tenant.auditor).update(expires_at=timezone.now() + timedelta(days=30))
    client = client_for(tenant.auditor)
    slug = tenant.organisation.slug
    assert client.get(f"/o/{slug}/").status_code == 200
    assert tenant.organisation.name in client.get("/organisations/").content.decode()

    with scope(organisation=tenant.organisation):
        Membership.objects.filter(user=tenant.auditor).update(expires_at=timezone.now() - timedelta(minutes=1))
    unknown = client.get("/o/no-such-organisation-abc123/")
    csrf = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    # Every tenant URL pattern, filled with real ids, is walked for an expired auditor in
    # tests/portal/test_role_walk.py; here, the pages an auditor had open when the grant ended.
    for url in (f"/o/{slug}/", f"/o/{slug}/assessments/", f"/o/{slug}/audit/", f"/o/{slug}/reports/"):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 404, f"{method.upper()} {url} gave {response.status_code}"
    assert csrf.sub(b"", client.get(f"/o/{slug}/").content) == csrf.sub(b"", unknown.content)
    assert tenant.organisation.name not in client.get("/organisations/").content.decode()


def test_member_of_the_organisation_gets_in(tenant) -> None:
    for role in Role:
        response = client_for(tenant.user(role)).get(f"/o/{tenant.organisation.slug}/")
        assert response.status_code == 200, role


@pytest.mark.parametrize("model", [Membership, Invitation, AuditEvent])
def test_tenant_queries_without_a_scope_raise(tenant, model, no_scope) -> None:
    with pytest.raises(ScopeError):
        list(model.objects.all())


def test_identifiers_in_urls_are_not_guessable(tenant) -> None:
    with scope(organisation=tenant.organisation):
        membership = Membership.objects.first()
    assert isinstance(membership.pk, uuid.UUID)
    assert isinstance(tenant.organisation.pk, uuid.UUID)
