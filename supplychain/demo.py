"""Demo data: a campaign three tiers deep with accepted, declined, waiting and expired requests (Acme's
owner can repeat it), and Northern's repeat of last year's campaign waiting for Pennine's one-step
confirmation."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from portal.demo import DEMO_PASSWORD
from portal.models import Organisation, User
from portal.services import organisation_create
from portal.signing import SigningContext
from supplychain import services
from supplychain.models import Campaign, InvitationState, Supplier, SupplierInvitation


def _org(name: str, email: str, person: str) -> tuple[Organisation, User]:
    user = User.objects.filter(email=email).first() or User.objects.create_user(
        email=email, password=DEMO_PASSWORD, full_name=person
    )
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    with scopes_disabled():
        organisation = Organisation.objects.filter(name=name, memberships__user=user).first()
    if organisation is None:
        organisation = organisation_create(creator=user, name=name, sector="metals", size_band="small")
    return organisation, user


def _register(organisation: Organisation, actor: User, rows: list[tuple[str, str, str]]) -> list[Supplier]:
    out = []
    for name, contact, email in rows:
        with scope(organisation=organisation):
            existing = Supplier.objects.filter(organisation=organisation, contact_email=email).first()
        out.append(
            existing
            or services.supplier_save(
                organisation=organisation, actor=actor, name=name, contact_name=contact, contact_email=email
            )
        )
    return out


def _invitation(campaign: Campaign, email: str) -> SupplierInvitation:
    return SupplierInvitation.objects.get(campaign=campaign, email=email)


@scopes_disabled()  # a demo supply chain spans organisations; each step scopes itself
def demo_supply_chain(acme: Organisation, users: dict[str, User]) -> None:
    with scope(organisation=acme):
        if Campaign.objects.filter(organisation=acme).exists():
            return
    owner = users["owner@acme.example"]
    context = SigningContext(user_agent="demo data")
    northern_owner = users["owner@northern.example"]
    with scopes_disabled():
        northern = Organisation.objects.get(name="Northern Castings", memberships__user=northern_owner)
    pennine, pennine_owner = _org("Pennine Fasteners", "owner@pennine.example", "Priya Patel")
    tyne, tyne_owner = _org("Tyne Coatings", "owner@tyne.example", "Tom Hughes")
    moorland, moorland_owner = _org("Moorland Foundry", "owner@moorland.example", "Megan Lloyd")

    _register(
        acme,
        owner,
        [
            ("Northern Castings", "Nia Northcott", "owner@northern.example"),
            ("Pennine Fasteners", "Priya Patel", "owner@pennine.example"),
            ("Tyne Coatings", "Tom Hughes", "owner@tyne.example"),
            ("Severn Plastics", "Sam Price", "sam.price@severn.example"),
            ("Wolds Electrical", "Wendy Ross", "wendy@wolds.example"),
        ],
    )
    _register(
        northern,
        northern_owner,
        [
            ("Moorland Foundry", "Megan Lloyd", "owner@moorland.example"),
            ("Dales Sand Supplies", "Dev Shah", "dev@dales.example"),
            ("Pennine Fasteners", "Priya Patel", "owner@pennine.example"),  # also Acme's: invited once
        ],
    )
    _register(moorland, moorland_owner, [("Ribble Pattern Makers", "Rob Hall", "rob@ribble.example")])

    campaign = services.campaign_start(
        organisation=acme,
        actor=owner,
        title="Supplier commitment 2026",
        message="We have committed to the Made Smarter Guiding Principles and ask our suppliers to do the same, "
        "so that digital change in our supply chain is agreed with the people it affects.",
        depth=3,
        due_date=timezone.localdate() + timedelta(days=30),
        supplier_ids=None,
    )
    services.invitation_accept(
        invitation=_invitation(campaign, "owner@northern.example"),
        user=northern_owner,
        organisation=northern,
        typed_name="Nia Northcott",
        job_title="Owner",
        context=context,
    )
    services.invitation_accept(
        invitation=_invitation(campaign, "owner@pennine.example"),
        user=pennine_owner,
        organisation=pennine,
        typed_name="Priya Patel",
        job_title="Director",
        context=context,
    )
    services.invitation_decline(
        invitation=_invitation(campaign, "owner@tyne.example"),
        user=tyne_owner,
        organisation=tyne,
        reason="We are being sold; the new owners will decide in spring.",
    )
    SupplierInvitation.objects.filter(campaign=campaign, email="wendy@wolds.example").update(
        expires_at=timezone.now() - timedelta(days=1), state=InvitationState.EXPIRED
    )

    northern_request = _invitation(campaign, "owner@northern.example")
    with scope(organisation=northern):
        chosen = list(Supplier.objects.filter(organisation=northern).values_list("pk", flat=True))
    services.invitation_forward(invitation=northern_request, actor=northern_owner, supplier_ids=chosen)
    services.invitation_accept(
        invitation=_invitation(campaign, "owner@moorland.example"),
        user=moorland_owner,
        organisation=moorland,
        typed_name="Megan Lloyd",
        job_title="Managing Director",
        context=context,
    )
    with scope(organisation=moorland):
        chosen = list(Supplier.objects.filter(organisation=moorland).values_list("pk", flat=True))
    services.invitation_forward(
        invitation=_invitation(campaign, "owner@moorland.example"), actor=moorland_owner, supplier_ids=chosen
    )

    # Northern asked Pennine last year too, and Pennine accepted: this year's request repeats that
    # campaign, so Pennine's owner confirms in one step that the commitment still stands.
    with scope(organisation=northern):
        pennine_row = Supplier.objects.get(organisation=northern, contact_email="owner@pennine.example")
    last_year = services.campaign_start(
        organisation=northern,
        actor=northern_owner,
        title="Northern Castings suppliers 2025",
        message="We are asking the suppliers we buy from directly to commit to the Made Smarter Guiding Principles.",
        depth=1,
        due_date=timezone.localdate() + timedelta(days=21),
        supplier_ids=[pennine_row.pk],
    )
    services.invitation_accept(
        invitation=_invitation(last_year, "owner@pennine.example"),
        user=pennine_owner,
        organisation=pennine,
        context=context,
    )
    a_year_ago = timezone.now() - timedelta(days=365)
    Campaign.objects.filter(pk=last_year.pk).update(created_at=a_year_ago, due_date=(a_year_ago + timedelta(21)).date())
    SupplierInvitation.objects.filter(campaign=last_year).update(
        created_at=a_year_ago, responded_at=a_year_ago + timedelta(days=4)
    )
    # A request still waiting for Pennine Fasteners, so its owner finds it on "Your work".
    services.campaign_start(
        organisation=northern,
        actor=northern_owner,
        title="Northern Castings suppliers 2026",
        message="We are asking the suppliers we buy from directly to commit to the Made Smarter Guiding Principles.",
        depth=1,
        due_date=timezone.localdate() + timedelta(days=21),
        supplier_ids=[pennine_row.pk],
        repeats=last_year,
    )
