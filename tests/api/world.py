"""A populated portal for whole-API tests: the demo data (every kind of record, in every state),
a token per role, and real ids to put in each path parameter.

Built once per test module (committed to the test database, flushed afterwards); each test then
runs in its own transaction, so whatever one test changes is rolled back before the next.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django_scopes import scopes_disabled

from portal.models import ApiToken, Membership, Organisation, User
from portal.roles import Role
from portal.tokens import token_create

ACME = "Acme Precision Engineering"
NORTHERN = "Northern Castings"

# The callers: five roles in Acme (a buyer), and Northern's owner (a supplier that received requests).
CALLERS = ["owner", "manager", "workforce_rep", "auditor", "member", "supplier_owner"]


@dataclass
class Caller:
    name: str
    user: User
    organisation: Organisation
    role: str
    token: str


@dataclass
class World:
    callers: dict[str, Caller] = field(default_factory=dict)
    outsider_token: str = ""
    two_organisations: User | None = None  # a member of both, for the organisations list

    def ids(self, caller: Caller, path: str) -> dict[str, str]:
        """A real id for every path parameter of `path`, as seen by `caller`."""
        return {name: self._id(caller, name, path) for name in _path_params(path)}

    def _id(self, caller: Caller, name: str, path: str) -> str:
        organisation = caller.organisation
        final_only = caller.role == Role.AUDITOR
        with scopes_disabled():
            if name == "notification_id":
                # The caller's own, about the token's organisation.
                from portal.models import Notification

                value = _first(Notification.objects.filter(recipient=caller.user, organisation=organisation))
            else:
                value = _lookup(organisation, name, path, final_only)
        return str(value) if value is not None else str(uuid.UUID(int=0))


def _path_params(path: str) -> list[str]:
    import re

    return re.findall(r"{(\w+)}", path)


def _first(queryset: Any) -> Any:
    row = queryset.values_list("pk", flat=True).first()
    return row


def _lookup(organisation: Organisation, name: str, path: str, final_only: bool) -> Any:
    from assessments.models import (
        ActionItem,
        Assessment,
        ChangeRequest,
        ConsultationMeeting,
        Evidence,
        Plan,
        ReviewComment,
    )
    from portal.models import Signature
    from principles.models import Commitment, Criterion
    from reports.models import AttestationReport
    from supplychain.models import Campaign, Supplier, SupplierImport, SupplierInvitation, SupplierLink

    def assessment() -> Any:
        qs = Assessment.objects.filter(organisation=organisation)
        return _first(qs.filter(status="final") if final_only else qs.exclude(status="final")) or _first(qs)

    def plan() -> Any:
        qs = Plan.objects.filter(organisation=organisation)
        return _first(qs.filter(status="final") if final_only else qs.filter(status="in_review")) or _first(qs)

    if name == "org":
        return organisation.slug
    if name == "subject_id":
        return plan() if "/plans/" in path else assessment()
    if name == "assessment_id":
        return assessment()
    if name == "plan_id":
        return plan()
    if name == "criterion_code":
        return Criterion.objects.order_by("code").values_list("code", flat=True).first()
    if name == "member_id":
        return _first(Membership.objects.filter(organisation=organisation))
    if name == "evidence_id":
        qs = Evidence.objects.filter(organisation=organisation)
        if final_only:
            qs = qs.filter(citations__response__assessment__status="final")
        return _first(qs)
    if name == "action_item_id":
        return _first(ActionItem.objects.filter(organisation=organisation))
    if name == "meeting_id":
        return _first(ConsultationMeeting.objects.filter(organisation=organisation, plan_id=plan()))
    if name == "comment_id":
        return _first(ReviewComment.objects.filter(organisation=organisation))
    if name == "change_request_id":
        return _first(ChangeRequest.objects.filter(organisation=organisation))
    if name == "signature_id":
        subject = plan() if "/plans/" in path else assessment()
        return _first(Signature.objects.filter(organisation=organisation, subject_id=subject))
    if name == "commitment_id":
        return _first(Commitment.objects.filter(organisation=organisation))
    if name == "supplier_id":
        return _first(Supplier.objects.filter(organisation=organisation))
    if name == "campaign_id":
        return _first(Campaign.objects.filter(organisation=organisation).order_by("created_at"))
    if name == "invitation_id":
        if "/requests/" in path:
            return _first(SupplierInvitation.objects.filter(supplier__linked_organisation=organisation)) or _first(
                SupplierInvitation.objects.filter(supplier_organisation=organisation)
            )
        return _first(SupplierInvitation.objects.filter(inviter=organisation))
    if name == "import_id":
        return _first(SupplierImport.objects.filter(organisation=organisation))
    if name == "link_id":
        return _first(SupplierLink.objects.filter(supplier_organisation=organisation))
    if name == "report_id":
        return _first(AttestationReport.objects.filter(organisation=organisation))
    if name == "survey_id":
        from assessments.models import Survey

        surveys = Survey.objects.filter(organisation=organisation)
        # Auditors see closed surveys only; everyone else gets the draft, whose pages all answer.
        return _first(surveys.filter(status="closed" if final_only else "draft")) or _first(surveys)
    if name in ("endpoint_id", "delivery_id"):
        from portal.models import WebhookDelivery, WebhookEndpoint

        model = WebhookEndpoint if name == "endpoint_id" else WebhookDelivery
        return _first(model.objects.filter(organisation=organisation))
    if name == "system_id":
        from assessments.models import TechnologySystem

        systems = TechnologySystem.objects.filter(organisation=organisation).order_by("name")
        # One without a DPIA, so starting one and deleting the system both get past their checks.
        return _first(systems.filter(dpias__isnull=True)) or _first(systems)
    if name == "agreement_id":
        from assessments.models import TechnologyAgreement

        agreements = TechnologyAgreement.objects.filter(organisation=organisation)
        # Auditors see signed versions only; everyone else gets the draft, which every operation changes.
        return _first(agreements.exclude(status="draft") if final_only else agreements.filter(status="draft")) or (
            _first(agreements)
        )
    raise AssertionError(f"No test id for path parameter {name!r} in {path}: add it to tests/api/world.py")


@contextmanager
def tasks_in_process() -> Iterator[None]:
    """For a module's committed world built outside any test: tasks run in-process (the demo renders a
    report), whatever the test session's default."""
    from portal.celery import app

    with warnings.catch_warnings():
        # Without libharfbuzz-subset0 (.ci/run and the Dockerfile install it) WeasyPrint warns once,
        # on import, and the warning-as-error would fail the demo report's rendering.
        warnings.simplefilter("ignore", DeprecationWarning)
        import weasyprint  # noqa: F401

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


# What tests/conftest.py gives every test; a module's world is built outside any test, and the default
# hasher (a million PBKDF2 rounds a password) was about a fifth of building it.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def build_world() -> World:
    """Load the demo data, add a plain member, a pending supplier import, and a token per caller."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        return _build_world()


def _build_world() -> World:
    from portal.celery import app
    from portal.demo import load_demo
    from supplychain import services as supply

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        load_demo()
    finally:
        app.conf.task_always_eager = previous
    world = World()
    with scopes_disabled():
        acme = Organisation.objects.get(name=ACME)
        northern = Organisation.objects.get(name=NORTHERN)
        member = User.objects.create_user(email="member@acme.example", password="x", full_name="Mo Member")
        Membership.objects.create(organisation=acme, user=member, role=Role.MEMBER)
        owner = User.objects.get(email="owner@acme.example")
        csv = b"name,contact_email\nHumber Plastics,buyer@humber.example\nCalder Springs,sales@calder.example\n"
        supply.import_preview(organisation=acme, actor=owner, file_name="more.csv", data=csv)
        _more_rows(acme, northern, owner)
        consultant = User.objects.create_user(email="consultant@example.org", password="x", full_name="Cal Consultant")
        Membership.objects.create(organisation=acme, user=consultant, role=Role.MEMBER)
        Membership.objects.create(organisation=northern, user=consultant, role=Role.MEMBER)
        world.two_organisations = consultant
        people = {
            "owner": User.objects.get(email="owner@acme.example"),
            "manager": User.objects.get(email="manager@acme.example"),
            "workforce_rep": User.objects.get(email="rep@acme.example"),
            "auditor": User.objects.get(email="auditor@audit.example"),
            "member": member,
        }
        for name, user in people.items():
            world.callers[name] = _caller(name, user, acme)
        northern_owner = User.objects.get(email="owner@northern.example")
        world.callers["supplier_owner"] = _caller("supplier_owner", northern_owner, northern)
        world.outsider_token = world.callers["supplier_owner"].token
        _notifications(world)
    return world


def _notifications(world: World) -> None:
    """Three notifications for each caller about the token's organisation (one already read), so the
    notification list has rows on every page size and each caller has an id to mark read."""
    from django.utils import timezone

    from portal.models import Notification
    from portal.notifications import notify

    for caller in world.callers.values():
        for n in range(3):
            notify(
                kind="comment",
                recipients=[caller.user],
                organisation=caller.organisation,
                actor=None,
                text=f"Comment {n + 1} on the works council's questions",
                url=f"/o/{caller.organisation.slug}/",
                key=f"world:comment:{n}",
            )
        Notification.objects.filter(recipient=caller.user, dedupe_key="world:comment:0").update(read_at=timezone.now())


def _more_rows(acme: Organisation, northern: Organisation, owner: User) -> None:
    """Enough rows that every list has at least two, through the services where they exist."""
    from datetime import timedelta

    from django.utils import timezone

    from assessments.models import ChangeRequest, ConsultationMeeting, ReviewComment
    from portal.signing import SigningContext
    from principles import services as commitments
    from principles.models import Commitment
    from reports.models import AttestationReport
    from supplychain import services as supply
    from supplychain.models import Supplier, SupplierLink

    today = timezone.localdate()
    context = SigningContext(user_agent="api world")
    # A second commitment: the first withdrawn, then signed again.
    active = Commitment.objects.get(organisation=acme, status="active")
    commitments.commitment_withdraw(commitment=active, actor=owner, reason="Re-signed for the new framework year.")
    commitments.commitment_sign(
        organisation=acme,
        framework=active.framework,
        signer=owner,
        typed_name="Olivia Owen",
        job_title="Managing Director",
        extends_to_supply_chain=True,
        context=context,
    )
    # A second campaign, which sends Northern Castings a second request.
    northern_supplier = Supplier.objects.get(organisation=acme, name="Northern Castings")
    supply.campaign_start(
        organisation=acme,
        actor=owner,
        title="Supplier commitment 2027",
        message="Please confirm your commitment for 2027.",
        depth=1,
        due_date=today + timedelta(days=30),
        supplier_ids=[northern_supplier.pk],
    )
    # Northern Castings supplies a second buyer.
    SupplierLink.objects.get_or_create(
        buyer=Organisation.objects.get(name="Pennine Fasteners"), supplier_organisation=northern
    )
    lookup = World()
    probe = Caller(name="probe", user=owner, organisation=acme, role=Role.OWNER, token="")
    plan_id = lookup.ids(probe, "/plans/{plan_id}/")["plan_id"]
    assessment_id = lookup.ids(probe, "/assessments/{assessment_id}/")["assessment_id"]
    for days_ago in (14, 7):
        ConsultationMeeting.objects.create(
            organisation=acme,
            plan_id=plan_id,
            held_on=today - timedelta(days=days_ago),
            participants="Works council and the operations director",
            notes="Walked through the plan section by section.",
        )
    rep = User.objects.get(email="rep@acme.example")
    for subject_type, subject_id, anchor in (("assessment", assessment_id, "1.1"), ("plan", plan_id, "consultation")):
        for n in range(2):
            ReviewComment.objects.create(
                organisation=acme,
                subject_type=subject_type,
                subject_id=subject_id,
                anchor=anchor,
                author=rep,
                body=f"Question {n + 1} from the works council.",
            )
            ChangeRequest.objects.create(
                organisation=acme,
                subject_type=subject_type,
                subject_id=subject_id,
                requested_by=rep,
                reasons=f"Change {n + 1}: say who is retrained first.",
            )
    _technology(acme, owner, today)
    final = _final_assessment(acme)
    AttestationReport.objects.create(
        organisation=acme, assessment_id=final, status="failed", error="Rendering stopped: test row", requested_by=owner
    )


def _technology(acme: Organisation, owner: User, today: Any) -> None:
    """Two systems (one with notice given and its DPIA started) and two versions of the new technology
    agreement: one in force, signed by both sides, and a draft of the next. What the demo already has
    is kept."""
    from datetime import timedelta

    from assessments import technology
    from assessments.models import AgreementStatus, TechnologyAgreement, TechnologySystem
    from portal.models import SignatureCapacity
    from portal.signing import SigningContext

    manager = User.objects.get(email="manager@acme.example")
    rep = User.objects.get(email="rep@acme.example")
    systems = {
        "Shift allocation app": {
            "supplier_name": "Rota Systems Ltd",
            "purpose": "Offers open shifts to operators by skill",
            "sites": "Sheffield",
            "teams": "Machining; Assembly",
            "status": "piloting",
            "go_live_on": today + timedelta(days=120),
            "worker_data": "Skills, availability and shift history",
            "monitors_people": False,
            "decisions": ["allocation"],
        },
        "Wearable exposure sensors": {
            "supplier_name": "Safe Air GmbH",
            "purpose": "Measures dust and noise exposure on line 3",
            "status": "planned",
            "worker_data": "Exposure readings per badge",
            "monitors_people": True,
        },
    }
    for name, values in systems.items():
        if not TechnologySystem.objects.filter(organisation=acme, name=name).exists():
            system = technology.system_create(organisation=acme, actor=owner, values={"name": name, **values})
            if name == "Shift allocation app":
                technology.notice_record(
                    system=system, actor=owner, notice_given_on=today - timedelta(days=10), committee_met_on=None
                )
                technology.dpia_start(system=system, actor=owner)
    agreements = TechnologyAgreement.objects.filter(organisation=acme)
    if not agreements.filter(status=AgreementStatus.IN_FORCE).exists():
        draft = technology.agreement_draft(acme) or technology.agreement_create(
            organisation=acme, actor=owner, title="New technology agreement"
        )
        for user, capacity in ((manager, SignatureCapacity.MANAGEMENT), (rep, SignatureCapacity.WORKFORCE)):
            if technology.current_signatures(draft)[capacity] is None:
                technology.agreement_sign(
                    agreement=draft,
                    signer=user,
                    capacity=capacity,
                    typed_name=user.full_name or user.email,
                    expected_hash=technology.agreement_hash(draft),
                    context=SigningContext(user_agent="api world"),
                )
    if technology.agreement_draft(acme) is None:
        technology.agreement_create(organisation=acme, actor=owner, title="New technology agreement: 2027 review")


def _final_assessment(organisation: Organisation) -> Any:
    from assessments.models import Assessment

    return Assessment.objects.filter(organisation=organisation, status="final").values_list("pk", flat=True).first()


def _caller(name: str, user: User, organisation: Organisation) -> Caller:
    role = Membership.objects.get(organisation=organisation, user=user).role
    raw = token_create(user=user, organisation=organisation, name=f"fuzz {name}", role=role, expires_at=None).raw
    return Caller(name=name, user=user, organisation=organisation, role=role, token=raw)


__all__ = ["CALLERS", "ApiToken", "Caller", "World", "build_world"]
