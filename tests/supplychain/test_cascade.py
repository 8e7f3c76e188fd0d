"""The cascade: who is invited at which tier, once per campaign, through chains, diamonds and cycles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from portal.models import AuditEvent, Organisation
from portal.roles import Role
from portal.signing import SigningContext
from supplychain import services
from supplychain.models import CampaignEdge, InvitationState, Supplier, SupplierInvitation
from supplychain.tasks import send_supplier_invitations, supplier_invitation_reminders, sweep_supplier_invitations
from tests.factories import OrganisationFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db
CONTEXT = SigningContext(ip_address="127.0.0.1", user_agent="pytest")


class Company:
    """An organisation on the portal with an owner, and the email address buyers know it by."""

    def __init__(self, name: str) -> None:
        self.org = OrganisationFactory(name=name)
        self.owner = UserFactory(email=f"owner@{name.lower().replace(' ', '')}.example")
        add_member(self.org, self.owner, Role.OWNER)

    @property
    def email(self) -> str:
        return self.owner.email

    def lists(self, *others: Company) -> list[Supplier]:
        return [
            services.supplier_save(
                organisation=self.org, actor=self.owner, name=o.org.name, contact_name="", contact_email=o.email
            )
            for o in others
        ]

    def accept(self, campaign) -> SupplierInvitation:
        invitation = SupplierInvitation.objects.get(campaign=campaign, email=self.email)
        return services.invitation_accept(
            invitation=invitation,
            user=self.owner,
            organisation=self.org,
            typed_name=self.owner.full_name or "Owner",
            job_title="Owner",
            context=CONTEXT,
        )

    def forward(self, campaign, *to: Company) -> list[SupplierInvitation]:
        invitation = SupplierInvitation.objects.get(campaign=campaign, supplier_organisation=self.org)
        with scope(organisation=self.org):
            ids = list(
                Supplier.objects.filter(organisation=self.org, contact_email__in=[c.email for c in to]).values_list(
                    "pk", flat=True
                )
            )
        return services.invitation_forward(invitation=invitation, actor=self.owner, supplier_ids=ids)


@pytest.fixture
def framework_loaded(framework):
    return framework


def start(buyer: Company, depth: int = 3, **extra):
    return services.campaign_start(
        organisation=buyer.org,
        actor=buyer.owner,
        title="Commit",
        message="Please commit",
        depth=depth,
        due_date=timezone.localdate() + timedelta(days=20),
        supplier_ids=None,
        **extra,
    )


def tiers(campaign) -> dict[str, int]:
    return {i.email: i.tier for i in SupplierInvitation.objects.filter(campaign=campaign)}


def test_a_chain_goes_one_tier_per_acceptance(framework_loaded, django_capture_on_commit_callbacks) -> None:
    a, b, c, d = Company("Alpha"), Company("Bravo"), Company("Charlie"), Company("Delta")
    a.lists(b)
    b.lists(c)
    c.lists(d)
    with django_capture_on_commit_callbacks(execute=True):
        campaign = start(a, depth=3)
    assert tiers(campaign) == {b.email: 1}
    assert [m.to for m in mail.outbox] == [[b.email]]
    b.accept(campaign)
    with django_capture_on_commit_callbacks(execute=True):
        b.forward(campaign, c)
    c.accept(campaign)
    with django_capture_on_commit_callbacks(execute=True):
        c.forward(campaign, d)
    assert tiers(campaign) == {b.email: 1, c.email: 2, d.email: 3}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([b.email, c.email, d.email])
    # The accepting suppliers signed their commitment through the signing primitive.
    from principles.services import active_commitment

    assert active_commitment(b.org) and active_commitment(c.org)


def test_depth_limits_how_far_it_goes(framework_loaded) -> None:
    a, b, c = Company("Alpha"), Company("Bravo"), Company("Charlie")
    a.lists(b)
    b.lists(c)
    campaign = start(a, depth=1)
    b.accept(campaign)
    with pytest.raises(ValidationError, match="no deeper than tier 1"):
        b.forward(campaign, c)
    assert tiers(campaign) == {b.email: 1}


def test_a_diamond_invites_the_shared_supplier_once_and_records_both_paths(framework_loaded) -> None:
    a, b, c, d = Company("Alpha"), Company("Bravo"), Company("Charlie"), Company("Delta")
    a.lists(b, c)
    b.lists(d)
    c.lists(d)
    campaign = start(a, depth=3)
    b.accept(campaign)
    c.accept(campaign)
    assert len(b.forward(campaign, d)) == 1
    assert c.forward(campaign, d) == []
    assert SupplierInvitation.objects.filter(campaign=campaign, email=d.email).count() == 1
    edges = CampaignEdge.objects.filter(campaign=campaign, supplier__contact_email=d.email)
    assert sorted(e.note for e in edges) == ["", "already invited"]


def test_an_organisation_already_invited_by_email_is_recognised_once_it_is_known(framework_loaded) -> None:
    """A buyer's register knows the supplier by email; after it accepts, another path finds the same org."""
    a, b, c = Company("Alpha"), Company("Bravo"), Company("Charlie")
    a.lists(b, c)
    c.lists(b)
    campaign = start(a, depth=3)
    b.accept(campaign)
    c.accept(campaign)
    assert c.forward(campaign, b) == []
    assert SupplierInvitation.objects.filter(campaign=campaign, supplier_organisation=b.org).count() == 1


def test_a_cycle_terminates(framework_loaded) -> None:
    a, b, c = Company("Alpha"), Company("Bravo"), Company("Charlie")
    a.lists(b)
    b.lists(c)
    c.lists(a, b)  # back to the buyer and back to its own buyer
    campaign = start(a, depth=5)
    b.accept(campaign)
    b.forward(campaign, c)
    c.accept(campaign)
    # Alpha is the campaign's own organisation once it is known on the register...
    with scopes_disabled():
        Supplier.objects.filter(organisation=c.org, contact_email=a.email).update(linked_organisation=a.org)
    assert c.forward(campaign, a, b) == []
    assert tiers(campaign) == {b.email: 1, c.email: 2}
    notes = set(CampaignEdge.objects.filter(campaign=campaign, from_organisation=c.org).values_list("note", flat=True))
    assert notes == {"the campaign's own organisation", "already invited"}


def test_a_declined_supplier_passes_nothing_on(framework_loaded) -> None:
    a, b, c = Company("Alpha"), Company("Bravo"), Company("Charlie")
    a.lists(b)
    b.lists(c)
    campaign = start(a, depth=3)
    invitation = SupplierInvitation.objects.get(campaign=campaign, email=b.email)
    services.invitation_decline(invitation=invitation, user=b.owner, organisation=b.org, reason="Not this year")
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.DECLINED and invitation.decline_reason == "Not this year"
    with pytest.raises(ValidationError, match="Only an accepted request"):
        services.invitation_forward(invitation=invitation, actor=b.owner, supplier_ids=[])
    assert tiers(campaign) == {b.email: 1}
    with pytest.raises(ValidationError, match="Say why"):
        services.invitation_decline(
            invitation=SupplierInvitation.objects.get(pk=invitation.pk), user=b.owner, organisation=b.org, reason=" "
        )


def test_answer_once_share_with_many_buyers(framework_loaded) -> None:
    """A supplier already committed only confirms for the next buyer: no second commitment."""
    a, x, s = Company("Alpha"), Company("Xray"), Company("Supplier")
    a.lists(s)
    x.lists(s)
    first = start(a)
    s.accept(first)
    second = start(x)
    s.accept(second)
    from principles.models import Commitment

    with scope(organisation=s.org):
        assert Commitment.objects.filter(organisation=s.org).count() == 1
    from supplychain.models import SupplierLink

    assert SupplierLink.objects.filter(supplier_organisation=s.org).count() == 2


def test_only_owners_sign_and_members_cannot_accept(framework_loaded) -> None:
    a, b = Company("Alpha"), Company("Bravo")
    a.lists(b)
    campaign = start(a)
    manager = UserFactory()
    add_member(b.org, manager, Role.MANAGER)
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    with pytest.raises(ValidationError, match="owner or manager"):
        services.invitation_accept(
            invitation=invitation, user=manager, organisation=b.org, typed_name="M", job_title="M", context=CONTEXT
        )  # not committed yet: only an owner signs
    stranger = UserFactory()
    with pytest.raises(ValidationError):
        services.invitation_accept(
            invitation=invitation, user=stranger, organisation=b.org, typed_name="S", job_title="S", context=CONTEXT
        )


def test_the_send_task_twice_sends_one_email_per_invitation(framework_loaded) -> None:
    a, b, c = Company("Alpha"), Company("Bravo"), Company("Charlie")
    a.lists(b, c)
    campaign = start(a)  # no on-commit run here: nothing sent yet
    ids = [str(i) for i in SupplierInvitation.objects.filter(campaign=campaign).values_list("pk", flat=True)]
    assert send_supplier_invitations.apply(kwargs={"invitation_ids": ids}).get() == {"sent": 2}
    assert send_supplier_invitations.apply(kwargs={"invitation_ids": ids}).get() == {"not-claimed": 2}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([b.email, c.email])
    message = mail.outbox[0]
    assert "/supplier-invitations/" in message.body and message.alternatives[0][1] == "text/html"
    assert "Please commit" in message.body


def test_the_sweep_recovers_invitations_whose_task_was_lost(
    framework_loaded, django_capture_on_commit_callbacks
) -> None:
    a, b = Company("Alpha"), Company("Bravo")
    a.lists(b)
    campaign = start(a)
    SupplierInvitation.objects.filter(campaign=campaign).update(email_queued_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_supplier_invitations.apply().get() == 1
    assert [m.to for m in mail.outbox] == [[b.email]]


def test_reminders_follow_the_cadence_once_each_and_not_when_muted(framework_loaded) -> None:
    a, b, c = Company("Alpha"), Company("Bravo"), Company("Charlie")
    a.lists(b)
    campaign = start(a, reminder_days=[3, 8])
    ids = [str(i.pk) for i in SupplierInvitation.objects.filter(campaign=campaign)]
    send_supplier_invitations.apply(kwargs={"invitation_ids": ids})
    mail.outbox.clear()
    assert supplier_invitation_reminders.apply().get() == {"expired": 0, "reminded": 0}
    SupplierInvitation.objects.filter(campaign=campaign).update(email_sent_at=timezone.now() - timedelta(days=4))
    assert supplier_invitation_reminders.apply().get()["reminded"] == 1
    assert supplier_invitation_reminders.apply().get()["reminded"] == 0  # day 3 is not sent twice
    assert "Reminder" in mail.outbox[0].subject
    assert SupplierInvitation.objects.get(campaign=campaign).reminders_sent == [3]
    c.lists(b)
    muted = start(c, reminders_muted=True)
    SupplierInvitation.objects.filter(campaign=muted).update(
        email_status="sent", email_sent_at=timezone.now() - timedelta(days=20)
    )
    assert supplier_invitation_reminders.apply().get()["reminded"] == 0


def test_a_reminder_that_can_never_be_built_marks_the_invitation_failed_not_retried(framework_loaded) -> None:
    """Old data: the supplier's name was given a line break after the invitation went out."""
    a, b = Company("Alpha"), Company("Bravo")
    [listed] = a.lists(b)
    campaign = start(a, reminder_days=[3, 8])
    Supplier.objects.filter(pk=listed.pk).update(name="Bravo\r\nBcc: victim@evil.example")
    SupplierInvitation.objects.filter(campaign=campaign).update(
        email_status="sent", email_sent_at=timezone.now() - timedelta(days=9)
    )
    assert supplier_invitation_reminders.apply().get()["reminded"] == 0
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    assert invitation.email_status == "failed" and invitation.email_error.startswith("BadHeaderError")
    assert invitation.state == "pending"
    # Not tried again at the next run, nor re-enqueued by the sweep.
    assert supplier_invitation_reminders.apply().get()["reminded"] == 0
    assert SupplierInvitation.objects.get(pk=invitation.pk).email_status == "failed"
    assert sweep_supplier_invitations.apply().get() == 0


def test_expiry_runs_on_the_schedule_and_expired_links_say_so(framework_loaded, client) -> None:
    a, b = Company("Alpha"), Company("Bravo")
    a.lists(b)
    campaign = start(a)
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    token = services.invitation_token(invitation)
    SupplierInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert supplier_invitation_reminders.apply().get()["expired"] == 1
    response = client.get(f"/supplier-invitations/{token}/")
    assert response.status_code == 410
    services.invitation_resend(invitation=SupplierInvitation.objects.get(pk=invitation.pk), actor=a.owner)
    assert client.get(f"/supplier-invitations/{token}/").status_code == 404  # the old link no longer works
    fresh = services.invitation_token(SupplierInvitation.objects.get(pk=invitation.pk))
    assert client.get(f"/supplier-invitations/{fresh}/").status_code == 200


def test_every_step_is_in_the_audit_trails_of_both_ends(framework_loaded) -> None:
    a, b = Company("Alpha"), Company("Bravo")
    a.lists(b)
    campaign = start(a)
    b.accept(campaign)
    with scopes_disabled():
        buyer_verbs = set(AuditEvent.objects.filter(organisation=a.org).values_list("verb", flat=True))
        supplier_verbs = set(AuditEvent.objects.filter(organisation=b.org).values_list("verb", flat=True))
    assert {"campaign.started", "supplier_request.accepted"} <= buyer_verbs
    assert {"commitment.signed", "supplier_request.accepted"} <= supplier_verbs
    assert isinstance(a.org, Organisation)
