"""A buyer repeats a supplier campaign to the same suppliers; a supplier that accepted the one repeated
confirms in one step, and the binding rules of a request's link still hold."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from django_scopes import scope, scopes_disabled

from portal.activity import sentence
from portal.models import AuditEvent, Signature
from portal.roles import Role
from principles.models import Commitment
from supplychain import services
from supplychain.models import Campaign, InvitationState, Supplier, SupplierInvitation
from tests.api.conftest import make_token, token_client
from tests.conftest import client_for
from tests.factories import UserFactory, add_member
from tests.supplychain.test_cascade import Company

pytestmark = pytest.mark.django_db


def _start(buyer: Company, suppliers: list[Supplier], **extra) -> Campaign:
    return services.campaign_start(
        organisation=buyer.org,
        actor=buyer.owner,
        title=extra.pop("title", "Supplier commitment"),
        message="Please commit again",
        depth=extra.pop("depth", 2),
        due_date=timezone.localdate() + timedelta(days=21),
        supplier_ids=[s.pk for s in suppliers],
        **extra,
    )


@pytest.fixture
def world(framework):
    """Alpha asked Bravo and Mallory (not Delta, also in its register); both accepted."""
    alpha, bravo, mallory, delta = Company("Alpha"), Company("Bravo"), Company("Mallory"), Company("Delta")
    to_bravo, to_mallory, _to_delta = alpha.lists(bravo, mallory, delta)
    first = _start(alpha, [to_bravo, to_mallory], reminder_days=[2, 5], invitation_ttl_days=10, depth=1)
    bravo.accept(first)
    mallory.accept(first)
    return alpha, bravo, mallory, delta, first


def _repeat_on_the_web(alpha: Company, first: Campaign) -> Campaign:
    owner = client_for(alpha.owner)
    slug = alpha.org.slug
    detail = owner.get(f"/o/{slug}/supply-chain/campaigns/{first.pk}/").content.decode()
    assert "Repeat this campaign" in detail
    response = owner.get(f"/o/{slug}/supply-chain/campaigns/{first.pk}/repeat/")
    assert response.status_code == 302 and response["Location"] == f"/o/{slug}/supply-chain/campaigns/new/check/"
    check = owner.get(response["Location"]).content.decode()
    assert "Bravo" in check and "Mallory" in check and "Delta" not in check  # the same suppliers
    assert "This repeats the campaign" in check and "2, 5 days after the invitation" in check
    with scopes_disabled():
        assert Campaign.objects.count() == 1  # nothing is sent before the check page's button
    started = owner.post(f"/o/{slug}/supply-chain/campaigns/new/check/")
    assert started.status_code == 302
    with scopes_disabled():
        return Campaign.objects.exclude(pk=first.pk).get()


def test_repeating_prefills_the_same_suppliers_and_settings_and_is_audited(world) -> None:
    alpha, bravo, mallory, _delta, first = world
    again = _repeat_on_the_web(alpha, first)
    assert again.repeats_id == first.pk and again.title == first.title and again.message == first.message
    assert (again.depth, again.reminder_days, again.reminders_muted, again.invitation_ttl_days) == (
        1,
        [2, 5],
        False,
        10,
    )
    assert (again.due_date - timezone.localdate()).days == (first.due_date - timezone.localdate(first.created_at)).days
    with scopes_disabled():
        asked = set(SupplierInvitation.objects.filter(campaign=again).values_list("supplier__name", flat=True))
        # Known now by their organisations: the requests go to them, not only to an address.
        keys = set(SupplierInvitation.objects.filter(campaign=again).values_list("target_key", flat=True))
        event = AuditEvent.objects.get(organisation=alpha.org, verb="campaign.repeated")
    assert asked == {"Bravo", "Mallory"}
    assert keys == {f"org:{bravo.org.pk}", f"org:{mallory.org.pk}"}
    text = sentence(event)
    assert "repeated the supplier campaign “Supplier commitment” to the same suppliers" in text
    assert str(again.pk) not in text and "campaign." not in text
    page = client_for(alpha.owner).get(f"/o/{alpha.org.slug}/supply-chain/campaigns/{again.pk}/").content.decode()
    assert "Repeats" in page


def test_only_the_buyers_editors_repeat_it(world) -> None:
    alpha, bravo, _mallory, _delta, first = world
    rep, member = UserFactory(), UserFactory()
    add_member(alpha.org, rep, Role.WORKFORCE_REP)
    add_member(alpha.org, member, Role.MEMBER)
    url = f"/o/{alpha.org.slug}/supply-chain/campaigns/{first.pk}/repeat/"
    assert client_for(rep).get(url).status_code == 403
    assert "Repeat this campaign" not in client_for(rep).get(url.removesuffix("repeat/")).content.decode()
    assert client_for(member).get(url).status_code == 403
    # The supplier sees the campaign it accepted, but it is not its campaign to repeat.
    supplier_url = f"/o/{bravo.org.slug}/supply-chain/campaigns/{first.pk}/"
    assert "Repeat this campaign" not in client_for(bravo.owner).get(supplier_url).content.decode()
    assert client_for(bravo.owner).get(supplier_url + "repeat/").status_code == 404
    with pytest.raises(Exception, match="Only a campaign your organisation started"):
        _start(bravo, [], repeats=first)


def test_a_supplier_that_accepted_before_confirms_in_one_step(world) -> None:
    alpha, bravo, _mallory, _delta, first = world
    again = _repeat_on_the_web(alpha, first)
    with scopes_disabled():
        invitation = SupplierInvitation.objects.get(
            campaign=again, supplier_organisation__isnull=True, email=bravo.email
        )
        before = SupplierInvitation.objects.get(campaign=first, supplier_organisation=bravo.org)
    url = f"/supplier-invitations/{services.invitation_token(invitation)}/"
    client = client_for(bravo.owner)
    page = html.unescape(client.get(url).content.decode())
    when = date_format(timezone.localtime(before.responded_at), "j F Y")
    assert f"You committed on {when} for Alpha: confirm your commitment still stands." in page
    assert "Confirm our commitment still stands" in page
    with scopes_disabled():
        signatures = Signature.objects.filter(organisation=bravo.org).count()
    # The single button: the organisation and the answer, nothing typed.
    response = client.post(url, {"organisation": str(bravo.org.pk), "action": "accept"})
    assert response.status_code == 302
    with scopes_disabled():
        invitation.refresh_from_db()
        assert Signature.objects.filter(organisation=bravo.org).count() == signatures  # nothing signed again
        assert Commitment.objects.filter(organisation=bravo.org, status="active").count() == 1
    assert invitation.state == InvitationState.ACCEPTED and invitation.supplier_organisation_id == bravo.org.pk
    assert invitation.held_at is None


def test_a_stranger_confirming_in_one_step_is_still_held_for_the_buyer(world) -> None:
    """Mallory accepted the first campaign for itself, then got hold of Bravo's new link."""
    alpha, bravo, mallory, _delta, first = world
    again = _repeat_on_the_web(alpha, first)
    with scopes_disabled():
        invitation = SupplierInvitation.objects.get(campaign=again, target_key=f"org:{bravo.org.pk}")
    url = f"/supplier-invitations/{services.invitation_token(invitation)}/"
    client = client_for(mallory.owner)
    page = html.unescape(client.get(url).content.decode())
    assert "confirm your commitment still stands" in page  # Mallory did commit for Alpha before...
    assert "Alpha confirms your answer before it counts" in page  # ...but this request is not Mallory's
    response = client.post(url, {"organisation": str(mallory.org.pk), "action": "accept"})
    assert response.status_code == 302
    with scopes_disabled():
        invitation.refresh_from_db()
    assert invitation.state == InvitationState.PENDING and invitation.supplier_organisation_id is None
    assert invitation.held_organisation_id == mallory.org.pk and invitation.held_answer == "accept"


def test_a_supplier_new_to_the_buyer_answers_in_full(world) -> None:
    alpha, _bravo, _mallory, delta, first = world
    with scope(organisation=alpha.org):
        to_delta = Supplier.objects.get(organisation=alpha.org, name="Delta")
    again = _start(alpha, [to_delta], repeats=first, depth=1)
    with scopes_disabled():
        invitation = SupplierInvitation.objects.get(campaign=again)
    page = client_for(delta.owner).get(f"/supplier-invitations/{services.invitation_token(invitation)}/")
    html_text = page.content.decode()
    assert "confirm your commitment still stands" not in html_text and "Accept and commit" in html_text


def test_the_api_repeats_a_campaign_once_per_idempotency_key(world) -> None:
    alpha, bravo, _mallory, _delta, first = world
    api = token_client(make_token(alpha.owner, alpha.org))
    url = f"/api/v1/organisations/{alpha.org.slug}/campaigns/{first.pk}/repeat/"
    response = api.post(url, {"title": "Supplier commitment, again"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["repeats"] == str(first.pk) and body["title"] == "Supplier commitment, again"
    assert body["reminder_days"] == [2, 5] and body["invitation_ttl_days"] == 10 and body["depth"] == 1
    replay = api.post(url, {"title": "Supplier commitment, again"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.status_code == 201 and replay.json()["id"] == body["id"]
    with scopes_disabled():
        assert Campaign.objects.filter(repeats=first).count() == 1
        assert SupplierInvitation.objects.filter(campaign_id=body["id"]).count() == 2
    detail = api.get(f"/api/v1/organisations/{alpha.org.slug}/campaigns/{body['id']}/").json()
    assert detail["repeats"] == str(first.pk)
    # The supplier can read the campaign it accepted, but not repeat it; another buyer cannot see it.
    supplier_api = token_client(make_token(bravo.owner, bravo.org))
    assert (
        supplier_api.post(
            f"/api/v1/organisations/{bravo.org.slug}/campaigns/{first.pk}/repeat/", {}, format="json"
        ).status_code
        == 404
    )
    rep = UserFactory()
    add_member(alpha.org, rep, Role.WORKFORCE_REP)
    assert token_client(make_token(rep, alpha.org)).post(url, {}, format="json").status_code == 403
    bad = api.post(url, {"due_date": "2001-01-01"}, format="json")
    assert bad.status_code == 400 and "due_date" in str(bad.json())
