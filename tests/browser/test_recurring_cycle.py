"""The yearly cycle in a real browser, every page checked by axe-core: an owner finds "Reaffirm the
commitment" on Your work and reaffirms it in one step; a buyer repeats a campaign through its check
page; a supplier that accepted last time confirms in one step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from portal.signing import SigningContext
from principles.models import Commitment
from principles.services import commitment_sign
from supplychain import services as supply
from supplychain.models import Campaign, InvitationState, SupplierInvitation
from tests.browser.steps import submit_refused
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, add_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(visitor, email: str) -> None:
    visitor.goto("/accounts/login/")
    visitor.page.get_by_label("Email").fill(email)
    visitor.page.get_by_label("Password").fill(PASSWORD)
    visitor.submit("Sign in")


def _company(name: str, email: str):
    organisation = OrganisationFactory(name=name)
    owner = UserFactory(email=email)
    add_member(organisation, owner, "owner")
    return organisation, owner


def test_reaffirm_and_repeat_in_the_browser(visitor_factory, framework) -> None:
    acme, owner = _company("Acme Precision Engineering", "owner@acme.example")
    bolts, bolts_owner = _company("Bolts Ltd", "owner@bolts.example")
    commitment = commitment_sign(
        organisation=acme,
        framework=framework,
        signer=owner,
        typed_name="Olivia Owen",
        job_title="Managing Director",
        extends_to_supply_chain=True,
        context=SigningContext(),
    )
    with scopes_disabled():
        Commitment.objects.filter(pk=commitment.pk).update(signed_at=timezone.now() - timedelta(days=350))
    row = supply.supplier_save(
        organisation=acme, actor=owner, name="Bolts Ltd", contact_name="Sam", contact_email=bolts_owner.email
    )
    first = supply.campaign_start(
        organisation=acme,
        actor=owner,
        title="Supplier commitment",
        message="Please commit.",
        depth=1,
        due_date=timezone.localdate() + timedelta(days=20),
        supplier_ids=[row.pk],
    )
    with scopes_disabled():
        invitation = SupplierInvitation.objects.get(campaign=first)
    supply.invitation_accept(
        invitation=invitation,
        user=bolts_owner,
        organisation=bolts,
        typed_name="Sam Bolt",
        job_title="Director",
        context=SigningContext(),
    )

    visitor = visitor_factory()
    _sign_in(visitor, owner.email)  # something waits: they land on Your work
    visitor.page.get_by_role("link", name="Reaffirm the commitment").click()
    visitor.check()
    assert "/commitment/reaffirm/" in visitor.page.url
    visitor.page.get_by_label("Your full name").fill("")
    submit_refused(visitor, "Reaffirm the commitment")  # the error summary, checked by axe too
    assert visitor.page.title().startswith("Error:")
    visitor.page.get_by_label("Your full name").fill("Olivia Owen")
    visitor.page.get_by_label("Job title").fill("Managing Director")
    visitor.submit("Reaffirm the commitment")
    assert "reaffirmed its commitment" in visitor.page.content()
    with scopes_disabled():
        assert Commitment.objects.filter(organisation=acme, status="reaffirmed").count() == 1

    visitor.goto(f"/o/{acme.slug}/supply-chain/campaigns/{first.pk}/")
    visitor.page.get_by_role("link", name="Repeat this campaign").click()
    visitor.check()
    assert "Check your campaign before it starts" in visitor.page.content()
    visitor.submit("Start the campaign and send 1 email")
    with scopes_disabled():
        again = Campaign.objects.get(repeats=first)
        request = SupplierInvitation.objects.get(campaign=again)

    supplier = visitor_factory()
    _sign_in(supplier, bolts_owner.email)
    supplier.goto(f"/supplier-invitations/{supply.invitation_token(request)}/")
    assert "confirm your commitment still stands" in supplier.page.content()
    supplier.submit("Confirm our commitment still stands for Bolts Ltd")
    with scopes_disabled():
        request.refresh_from_db()
    assert request.state == InvitationState.ACCEPTED
