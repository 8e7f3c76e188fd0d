"""The commitment asks to be reaffirmed yearly: owners see it on "Your work" from 11 months after
signing, reaffirm it in one step, and the item goes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape
from django_scopes import scope, scopes_disabled

from portal.activity import sentence
from portal.dashboard import awaiting_count, awaiting_items
from portal.models import AuditEvent
from portal.roles import Role
from portal.selectors import memberships_of_user
from portal.signing import SigningContext
from principles import services
from principles.models import Commitment, add_months
from tests.conftest import client_for
from tests.factories import OrganisationFactory, add_member
from tests.querycount import assert_queries

# The dashboard is cached per organisation version: each write is seen as soon as it commits.
pytestmark = pytest.mark.django_db


def _items(user):
    items = awaiting_items(user, memberships_of_user(user))
    assert awaiting_count(user, memberships_of_user(user)) == len(items)  # the count agrees with the page
    return [i for i in items if i.kind == "commitment_reaffirm"]


def _sign(organisation, owner, framework, *, days_ago: int = 0) -> Commitment:
    commitment = services.commitment_sign(
        organisation=organisation,
        framework=framework,
        signer=owner,
        typed_name="Olivia Owen",
        job_title="Managing Director",
        extends_to_supply_chain=True,
        context=SigningContext(),
    )
    if days_ago:
        with scopes_disabled():
            Commitment.objects.filter(pk=commitment.pk).update(signed_at=timezone.now() - timedelta(days=days_ago))
            commitment.refresh_from_db()
    return commitment


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 12, 6), -11) == date(2026, 1, 6)
    assert add_months(date(2026, 3, 15), -3) == date(2025, 12, 15)


def test_a_commitment_signed_eleven_months_ago_waits_for_its_owners_only(tenant, framework, outsider) -> None:
    recent = _sign(tenant.organisation, tenant.owner, framework, days_ago=300)
    assert _items(tenant.owner) == []  # ten months: not yet
    assert recent.reaffirmation_open() is False
    with scopes_disabled():
        Commitment.objects.filter(pk=recent.pk).update(signed_at=timezone.now() - timedelta(days=345))
        recent.refresh_from_db()
    [item] = _items(tenant.owner)
    assert item.action == "Reaffirm the commitment" and item.organisation == tenant.organisation
    assert item.due == recent.reaffirmation_due == add_months(timezone.localdate(recent.signed_at), 12)
    assert item.url == f"/o/{tenant.organisation.slug}/commitment/reaffirm/"
    # Only those who may sign the commitment (owners); nobody in another organisation.
    for person in (tenant.manager, tenant.rep, tenant.auditor, tenant.member, outsider):
        assert _items(person) == []
    # Another organisation's owner with its own old commitment sees only their own.
    other = OrganisationFactory(name="Elsewhere Ltd")
    add_member(other, outsider, Role.OWNER)
    _sign(other, outsider, framework, days_ago=400)
    assert [i.organisation for i in _items(outsider)] == [other]
    assert [i.organisation for i in _items(tenant.owner)] == [tenant.organisation]


def test_reaffirming_in_one_step_makes_a_new_commitment_audited_in_words(tenant, framework) -> None:
    old = _sign(tenant.organisation, tenant.owner, framework, days_ago=350)
    owner = client_for(tenant.owner)
    slug = tenant.organisation.slug
    assert "Reaffirm the commitment" in owner.get("/your-work/").content.decode()
    assert "The commitment is reaffirmed every year" in owner.get(f"/o/{slug}/").content.decode()
    page = owner.get(f"/o/{slug}/commitment/reaffirm/")
    html = page.content.decode()
    assert page.status_code == 200 and escape(page.context["statement"]) in html  # the current statement, shown
    assert 'value="Managing Director"' in html  # the same signer's job title, pre-filled
    response = owner.post(
        f"/o/{slug}/commitment/reaffirm/",
        {
            "typed_name": "Olivia Owen",
            "job_title": "Managing Director",
            "statement_hash": page.context["statement_hash"],
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/o/{slug}/commitment/"
    with scope(organisation=tenant.organisation):
        new = Commitment.objects.get(status="active")
        old.refresh_from_db()
        event = AuditEvent.objects.get(verb="commitment.reaffirmed")
    assert new.pk != old.pk and new.reaffirms_id == old.pk and old.status == "reaffirmed"
    assert new.signature_id != old.signature_id and new.extends_to_supply_chain
    assert new.reaffirmation_due == add_months(timezone.localdate(), 12)
    text = sentence(event)
    assert text.startswith(tenant.owner.display_name) and "reaffirmed the commitment" in text
    assert "commitment." not in text and str(new.pk) not in text
    assert _items(tenant.owner) == []  # done: gone
    page = owner.get(f"/o/{slug}/commitment/").content.decode()
    assert "Reaffirmed" in page and "Withdrawn" not in page
    # The dashboard still shows the organisation as committed (no getting-started "sign" step back).
    dashboard = owner.get(f"/o/{slug}/")
    assert dashboard.status_code == 200 and "Not signed" not in dashboard.content.decode()
    assert "The commitment is reaffirmed every year" not in dashboard.content.decode()


def test_reaffirming_refuses_a_changed_statement_and_other_roles(tenant, framework) -> None:
    _sign(tenant.organisation, tenant.owner, framework, days_ago=350)
    slug = tenant.organisation.slug
    response = client_for(tenant.owner).post(
        f"/o/{slug}/commitment/reaffirm/",
        {"typed_name": "Olivia Owen", "job_title": "MD", "statement_hash": "0" * 64},
    )
    assert response.status_code == 400 and "has changed since" in response.content.decode()
    assert client_for(tenant.manager).get(f"/o/{slug}/commitment/reaffirm/").status_code == 403
    with scope(organisation=tenant.organisation):
        assert Commitment.objects.filter(status="active").count() == 1
        assert not AuditEvent.objects.filter(verb="commitment.reaffirmed").exists()


def test_a_withdrawn_commitment_cannot_be_reaffirmed(tenant, framework) -> None:
    old = _sign(tenant.organisation, tenant.owner, framework, days_ago=350)
    services.commitment_withdraw(commitment=old, actor=tenant.owner, reason="Sold the business")
    assert _items(tenant.owner) == []
    with pytest.raises(Exception, match="no longer the active one"):
        services.commitment_sign(
            organisation=tenant.organisation,
            framework=framework,
            signer=tenant.owner,
            typed_name="Olivia Owen",
            job_title="MD",
            extends_to_supply_chain=True,
            reaffirms=old,
            context=SigningContext(),
        )


def test_the_api_says_when_it_was_signed_and_when_reaffirmation_is_due_and_reaffirms(tenant, framework) -> None:
    from rest_framework.test import APIClient

    old = _sign(tenant.organisation, tenant.owner, framework, days_ago=350)
    api = APIClient()
    api.force_authenticate(tenant.owner)
    base = f"/api/v1/organisations/{tenant.organisation.slug}/commitments/"
    [row] = api.get(base).json()["results"]
    assert row["signed_at"] and row["reaffirmation_due"] == old.reaffirmation_due.isoformat()
    assert row["reaffirmation_open"] is True and row["reaffirms"] is None
    manager = APIClient()
    manager.force_authenticate(tenant.manager)
    body = {"typed_name": "Olivia Owen", "job_title": "MD", "confirm": True}
    assert manager.post(f"{base}{old.pk}/reaffirm/", body, format="json").status_code == 403
    response = api.post(f"{base}{old.pk}/reaffirm/", body, format="json")
    assert response.status_code == 201, response.json()
    new = response.json()
    assert new["reaffirms"] == str(old.pk) and new["status"] == "active" and new["reaffirmation_open"] is False
    assert api.post(f"{base}{old.pk}/reaffirm/", body, format="json").status_code == 409  # not active now
    old_row = api.get(f"{base}{old.pk}/").json()
    assert old_row["status"] == "reaffirmed" and old_row["reaffirmation_due"] is None


def test_query_count_of_your_work_does_not_grow_with_commitments_to_reaffirm(tenant, framework) -> None:
    _sign(tenant.organisation, tenant.owner, framework, days_ago=350)
    owner = client_for(tenant.owner)
    owner.get("/your-work/")
    with assert_queries(3, "your work, owner") as counted:
        one = owner.get("/your-work/").content.decode()
    for n in range(3):
        other = OrganisationFactory(name=f"Other {n}")
        add_member(other, tenant.owner, Role.OWNER)
        _sign(other, tenant.owner, framework, days_ago=360)
    with assert_queries(len(counted), "your work, owner, more organisations"):
        four = owner.get("/your-work/").content.decode()
    assert one.count("Reaffirm the commitment") == 1 and four.count("Reaffirm the commitment") == 4
    assert 'class="header__badge">4' in four
