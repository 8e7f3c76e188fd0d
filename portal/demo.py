"""Demo data for `make run`: two organisations and a user of every role. Safe to run again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from portal import services
from portal.audit import audit_record
from portal.models import Membership, Organisation, User
from portal.roles import Role

DEMO_PASSWORD = "demo-portal-2026"  # noqa: S105 - printed for newcomers; demo data only


@dataclass(frozen=True)
class DemoLogin:
    email: str
    name: str
    organisation: str
    role: str


DEMO_ORGANISATION = "Acme Precision Engineering"
SECOND_ORGANISATION = "Northern Castings"

DEMO_USERS = [
    DemoLogin("owner@acme.example", "Olivia Owen", DEMO_ORGANISATION, Role.OWNER),
    DemoLogin("manager@acme.example", "Manoj Mistry", DEMO_ORGANISATION, Role.MANAGER),
    DemoLogin("rep@acme.example", "Rachel Reid", DEMO_ORGANISATION, Role.WORKFORCE_REP),
    DemoLogin("auditor@audit.example", "Aled Roberts", DEMO_ORGANISATION, Role.AUDITOR),
    DemoLogin("owner@northern.example", "Nia Northcott", SECOND_ORGANISATION, Role.OWNER),
]


def _user(login: DemoLogin) -> User:
    user = User.objects.filter(email=login.email).first()
    if user is None:
        user = User.objects.create_user(email=login.email, password=DEMO_PASSWORD, full_name=login.name)
    EmailAddress.objects.update_or_create(user=user, email=login.email, defaults={"verified": True, "primary": True})
    return user


def _organisation(name: str, owner: User, **details: str) -> Organisation:
    with scopes_disabled():
        existing = Organisation.objects.filter(name=name, memberships__user=owner).first()
    if existing:
        return existing
    return services.organisation_create(creator=owner, name=name, **details)


DemoStep = Callable[[Organisation, dict[str, User]], None]
_steps: list[tuple[int, str, DemoStep]] = []


def register_demo_step(*, order: int, name: str, step: DemoStep) -> None:
    """Apps add their demo data (run after the organisations and users exist) from AppConfig.ready()."""
    global _steps
    _steps = sorted([s for s in _steps if s[1] != name] + [(order, name, step)], key=lambda s: s[0])


@transaction.atomic
def load_demo() -> list[DemoLogin]:
    users = {login.email: _user(login) for login in DEMO_USERS}
    acme = _organisation(
        DEMO_ORGANISATION,
        users["owner@acme.example"],
        sector="machinery",
        size_band="medium",
        country="GB",
        company_number="01234567",
    )
    _organisation(
        SECOND_ORGANISATION,
        users["owner@northern.example"],
        sector="metals",
        size_band="small",
        country="GB",
        company_number="07654321",
    )
    owner = users["owner@acme.example"]  # invites the demo shift lead below
    with scope(organisation=acme):
        for login in DEMO_USERS:
            if login.organisation != DEMO_ORGANISATION or login.role == Role.OWNER:
                continue
            user = users[login.email]
            if Membership.objects.filter(organisation=acme, user=user).exists():
                continue
            expires = timezone.now() + timedelta(days=90) if login.role == Role.AUDITOR else None
            membership = Membership.objects.create(organisation=acme, user=user, role=login.role, expires_at=expires)
            audit_record(
                organisation=acme,
                actor=owner,
                verb="invitation.accepted",
                target=membership,
                target_label=user.email,
                after={"email": user.email, "role": login.role},
            )
        if not acme.invitations.filter(email="shift.lead@acme.example").exists():
            services.invitation_create(
                organisation=acme, actor=owner, email="shift.lead@acme.example", role=Role.MEMBER
            )
    for _order, _name, step in _steps:
        step(acme, users)
    return DEMO_USERS
