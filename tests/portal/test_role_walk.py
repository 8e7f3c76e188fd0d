"""Every tenant URL, for every role, against the one roles table (portal.roles.ACTIONS).

The URL patterns come from the resolver: every web page under /o/<slug>/ and every API endpoint
under /api/v1/organisations/<org>/. `ROUTES` names the action each method needs; a pattern
missing from it fails the test, so a new page or endpoint must say who may use it. Each pattern
is filled with real ids of the organisation's own objects (the demo world of tests/api/world.py,
plus a pending invitation, a data export and an expired auditor), so a refusal is a refusal, not
a missing object. Then, as each of the five roles (the auditor with a live grant, and given
finalised work, which is all an auditor sees):

- GET answers 200 or 302 where the table allows the action, 403 where it does not, and 405 where
  the pattern takes no GET;
- each writing method answers 403 where the table refuses it, and nothing in the database
  changes; where it allows it, the answer is not a refusal (the change is rolled back);

and for an outsider (the owner of another organisation) and an auditor whose grant has ended,
every method of every pattern answers 404.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.db.models import Q
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from portal.models import Membership, Organisation, User
from portal.roles import ACTIONS, Role, role_can
from tests.api.world import ACME, FAST_HASHERS, NORTHERN, _lookup, build_world, tasks_in_process

pytestmark = pytest.mark.django_db

WEB = "o/<slug:org_slug>/"
API = "api/v1/organisations/<slug:org>/"
ANY_MEMBER = "any member"  # no action needed beyond an active membership
SIGN = ("sign_management", "countersign_workforce")  # signing: in whichever capacity the role has
ROLES = [Role.OWNER, Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR, Role.MEMBER]
WRITES = ("POST", "PUT", "PATCH", "DELETE")

# pattern -> {method: the action it needs}. A method not listed answers 405.
_GET = "GET"
_POST = "POST"
ROUTES: dict[str, dict[str, str | tuple[str, ...]]] = {
    # portal
    WEB: {_GET: "view_dashboard"},
    WEB + "members/": {_GET: "view_members"},
    WEB + "settings/webhooks/": {_GET: "manage_webhooks"},
    WEB + "settings/webhooks/new/": {_GET: "manage_webhooks", _POST: "manage_webhooks"},
    WEB + "settings/webhooks/<uuid:endpoint_id>/": {_GET: "manage_webhooks"},
    WEB + "settings/webhooks/<uuid:endpoint_id>/secret/": {_GET: "manage_webhooks"},
    WEB + "settings/webhooks/<uuid:endpoint_id>/rotate/": {_GET: "manage_webhooks", _POST: "manage_webhooks"},
    WEB + "settings/webhooks/<uuid:endpoint_id>/pause/": {_POST: "manage_webhooks"},
    WEB + "settings/webhooks/<uuid:endpoint_id>/resume/": {_POST: "manage_webhooks"},
    WEB + "settings/webhooks/<uuid:endpoint_id>/delete/": {_GET: "manage_webhooks", _POST: "manage_webhooks"},
    WEB + "settings/webhooks/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/send-again/": {_POST: "manage_webhooks"},
    WEB + "members/<uuid:membership_id>/role/": {_GET: "manage_members", _POST: "manage_members"},
    WEB + "members/<uuid:membership_id>/remove/": {_GET: "manage_members", _POST: "manage_members"},
    WEB + "leave/": {_GET: ANY_MEMBER, _POST: ANY_MEMBER},
    WEB + "invitations/new/": {_GET: "manage_members", _POST: "manage_members"},
    WEB + "invitations/<uuid:invitation_id>/resend/": {_POST: "manage_members"},
    WEB + "invitations/<uuid:invitation_id>/revoke/": {_GET: "manage_members", _POST: "manage_members"},
    WEB + "audit/": {_GET: "view_audit_trail"},
    WEB + "settings/export/": {_GET: "export_data"},
    WEB + "settings/export/new/": {_GET: "export_data", _POST: "export_data"},
    WEB + "settings/export/<uuid:export_id>/": {_GET: "export_data"},
    WEB + "settings/export/<uuid:export_id>/download/": {_GET: "export_data"},
    API: {_GET: "view_dashboard"},
    API + "members/": {_GET: "view_members"},
    API + "members/<uuid:member_id>/": {_GET: "view_members"},
    API + "audit-events/": {_GET: "view_audit_trail"},
    API + "audit-events/verify/": {_GET: "view_audit_trail"},
    # principles
    WEB + "commitment/": {_GET: "view_dashboard"},
    WEB + "commitment/sign/": {_GET: "sign_commitment", _POST: "sign_commitment"},
    WEB + "commitment/sign/check/": {_GET: "sign_commitment", _POST: "sign_commitment"},
    WEB + "commitment/withdraw/": {_GET: "sign_commitment", _POST: "sign_commitment"},
    WEB + "commitment/reaffirm/": {_GET: "sign_commitment", _POST: "sign_commitment"},
    API + "commitments/": {_GET: "view_dashboard", _POST: "sign_commitment"},
    API + "commitments/<uuid:commitment_id>/": {_GET: "view_dashboard"},
    API + "commitments/<uuid:commitment_id>/withdraw/": {_POST: "sign_commitment"},
    API + "commitments/<uuid:commitment_id>/reaffirm/": {_POST: "sign_commitment"},
    # assessments
    WEB + "assessments/": {_GET: "view_dashboard"},
    WEB + "assessments/actions.xlsx": {_GET: "view_dashboard"},
    WEB + "assessments/<uuid:assessment_id>/export.xlsx": {_GET: "view_dashboard"},
    WEB + "assessments/<uuid:assessment_id>/actions.xlsx": {_GET: "view_dashboard"},
    WEB + "assessments/new/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "assessments/<uuid:assessment_id>/": {_GET: "view_dashboard"},
    WEB + "assessments/<uuid:assessment_id>/next/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "assessments/<uuid:assessment_id>/principles/<int:number>/": {_GET: "view_dashboard"},
    WEB + "assessments/<uuid:assessment_id>/responses/<uuid:response_id>/autosave/": {_POST: "edit_content"},
    WEB + "assessments/<uuid:assessment_id>/responses/<uuid:response_id>/actions/new/": {
        _GET: "edit_content",
        _POST: "edit_content",
    },
    WEB + "assessments/<uuid:assessment_id>/actions/<uuid:action_id>/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "assessments/<uuid:assessment_id>/actions/<uuid:action_id>/delete/": {
        _GET: "edit_content",
        _POST: "edit_content",
    },
    WEB + "assessments/<uuid:assessment_id>/submit/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "evidence/": {_GET: "view_evidence_library"},
    WEB + "evidence/new/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "evidence/<uuid:evidence_id>/": {_GET: "view_evidence_library"},
    WEB + "evidence/<uuid:evidence_id>/download/": {_GET: "download_evidence"},
    WEB + "evidence/<uuid:evidence_id>/delete/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "surveys/": {_GET: "view_dashboard"},
    WEB + "surveys/new/": {_GET: "run_surveys", _POST: "run_surveys"},
    WEB + "surveys/<uuid:survey_id>/": {_GET: "view_dashboard"},
    WEB + "surveys/<uuid:survey_id>/edit/": {_GET: "run_surveys", _POST: "run_surveys"},
    WEB + "surveys/<uuid:survey_id>/approve/": {_GET: SIGN, _POST: SIGN},
    WEB + "surveys/<uuid:survey_id>/open/": {_GET: "run_surveys", _POST: "run_surveys"},
    WEB + "surveys/<uuid:survey_id>/close/": {_GET: "run_surveys", _POST: "run_surveys"},
    WEB + "surveys/<uuid:survey_id>/codes/": {_GET: "run_surveys", _POST: "run_surveys"},
    WEB + "surveys/<uuid:survey_id>/invite/": {_GET: "run_surveys", _POST: "run_surveys"},
    WEB + "technology/": {_GET: "view_dashboard"},
    WEB + "technology/new/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "technology/agreement/": {_GET: "view_dashboard"},
    WEB + "technology/agreement/new/": {_GET: "negotiate_agreement", _POST: "negotiate_agreement"},
    WEB + "technology/agreement/<uuid:agreement_id>/edit/": {
        _GET: "negotiate_agreement",
        _POST: "negotiate_agreement",
    },
    WEB + "technology/agreement/<uuid:agreement_id>/sign/": {_GET: SIGN, _POST: SIGN},
    WEB + "technology/agreement/<uuid:agreement_id>/delete/": {
        _GET: "negotiate_agreement",
        _POST: "negotiate_agreement",
    },
    WEB + "technology/<uuid:system_id>/": {_GET: "view_dashboard"},
    WEB + "technology/<uuid:system_id>/edit/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "technology/<uuid:system_id>/notice/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "technology/<uuid:system_id>/links/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "technology/<uuid:system_id>/delete/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "technology/<uuid:system_id>/dpia/": {_POST: "edit_content"},
    WEB + "technology/import/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "technology/export.csv": {_GET: "view_dashboard"},
    WEB + "technology/export.xlsx": {_GET: "view_dashboard"},
    WEB + "plans/": {_GET: "view_dashboard"},
    WEB + "plans/new/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "plans/<uuid:plan_id>/": {_GET: "view_dashboard"},
    WEB + "plans/<uuid:plan_id>/sections/<slug:section>/": {_GET: "view_dashboard", _POST: "edit_content"},
    WEB + "plans/<uuid:plan_id>/equality/": {_GET: "view_dashboard", _POST: "edit_content"},
    WEB + "plans/<uuid:plan_id>/meetings/new/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "plans/<uuid:plan_id>/meetings/<uuid:meeting_id>/delete/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "plans/<uuid:plan_id>/submit/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "plans/<uuid:plan_id>/amend/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "plans/<uuid:plan_id>/changes/": {_GET: "view_dashboard"},
    WEB + "plans/<uuid:plan_id>/review-date/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "review/<slug:kind>/<uuid:subject_id>/comments/": {_POST: "comment"},
    WEB + "review/<slug:kind>/<uuid:subject_id>/comments/<uuid:comment_id>/resolve/": {_POST: "comment"},
    WEB + "review/<slug:kind>/<uuid:subject_id>/request-changes/": {
        _GET: "countersign_workforce",
        _POST: "countersign_workforce",
    },
    WEB + "review/<slug:kind>/<uuid:subject_id>/requests/<uuid:request_id>/answer/": {
        _GET: "sign_management",
        _POST: "sign_management",
    },
    WEB + "review/<slug:kind>/<uuid:subject_id>/sign/": {_GET: SIGN, _POST: SIGN},
    API + "assessments/": {_GET: "view_dashboard", _POST: "edit_content"},
    API + "assessments/<uuid:assessment_id>/": {_GET: "view_dashboard"},
    API + "assessments/<uuid:assessment_id>/submit/": {_POST: "edit_content"},
    API + "assessments/<uuid:assessment_id>/next/": {_POST: "edit_content"},
    API + "assessments/<uuid:assessment_id>/responses/<str:criterion_code>/confirm/": {_POST: "edit_content"},
    API + "assessments/<uuid:assessment_id>/responses/": {_GET: "view_dashboard"},
    API + "assessments/<uuid:assessment_id>/responses/<str:criterion_code>/": {
        _GET: "view_dashboard",
        "PATCH": "edit_content",
    },
    API + "evidence/": {_GET: "view_evidence_library", _POST: "edit_content"},
    API + "evidence/<uuid:evidence_id>/": {_GET: "view_evidence_library", "DELETE": "edit_content"},
    API + "evidence/<uuid:evidence_id>/download/": {_GET: "download_evidence"},
    API + "action-items/": {_GET: "view_dashboard", _POST: "edit_content"},
    API + "action-items/<uuid:action_item_id>/": {
        _GET: "view_dashboard",
        "PATCH": "edit_content",
        "DELETE": "edit_content",
    },
    API + "plans/": {_GET: "view_dashboard", _POST: "edit_content"},
    API + "plans/<uuid:plan_id>/": {_GET: "view_dashboard", "PATCH": "edit_content"},
    API + "plans/<uuid:plan_id>/submit/": {_POST: "edit_content"},
    API + "plans/<uuid:plan_id>/amend/": {_POST: "edit_content"},
    API + "plans/<uuid:plan_id>/changes/": {_GET: "view_dashboard"},
    API + "plans/<uuid:plan_id>/meetings/": {_GET: "view_dashboard", _POST: "edit_content"},
    API + "plans/<uuid:plan_id>/meetings/<uuid:meeting_id>/": {_GET: "view_dashboard", "DELETE": "edit_content"},
    API + "plans/<uuid:plan_id>/eqia/": {_GET: "view_dashboard", "PUT": "edit_content"},
    API + "surveys/": {_GET: "view_dashboard"},
    API + "surveys/<uuid:survey_id>/": {_GET: "view_dashboard"},
    API + "technology/systems/": {_GET: "view_dashboard", _POST: "edit_content"},
    API + "technology/systems/import/": {_POST: "edit_content"},
    API + "technology/systems/<uuid:system_id>/": {
        _GET: "view_dashboard",
        "PATCH": "edit_content",
        "DELETE": "edit_content",
    },
    API + "technology/systems/<uuid:system_id>/notice/": {_POST: "edit_content"},
    API + "technology/systems/<uuid:system_id>/links/": {"PUT": "edit_content"},
    API + "technology/systems/<uuid:system_id>/dpia/": {_POST: "edit_content"},
    API + "technology/agreements/": {_GET: "view_dashboard", _POST: "negotiate_agreement"},
    API + "technology/agreements/<uuid:agreement_id>/": {
        _GET: "view_dashboard",
        "PATCH": "negotiate_agreement",
        "DELETE": "negotiate_agreement",
    },
    API + "technology/agreements/<uuid:agreement_id>/sign/": {_POST: SIGN},
    **{
        API + f"{kind}/<uuid:subject_id>/{tail}": methods
        for kind in ("assessments", "plans")
        for tail, methods in {
            "comments/": {_GET: "view_dashboard", _POST: "comment"},
            "comments/<uuid:comment_id>/resolve/": {_POST: "comment"},
            "change-requests/": {_GET: "view_dashboard", _POST: "countersign_workforce"},
            "change-requests/<uuid:change_request_id>/answer/": {_POST: "sign_management"},
            "snapshot/": {_GET: "view_dashboard"},
            "signatures/": {_GET: "view_dashboard", _POST: SIGN},
            "signatures/<uuid:signature_id>/": {_GET: "view_dashboard"},
        }.items()
    },
    # supply chain
    WEB + "supply-chain/suppliers/": {_GET: "view_supply_chain"},
    WEB + "supply-chain/suppliers/new/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "supply-chain/suppliers/<uuid:supplier_id>/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "supply-chain/suppliers/<uuid:supplier_id>/archive/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "supply-chain/suppliers/template.csv": {_GET: "view_supply_chain"},
    WEB + "supply-chain/suppliers/template.xlsx": {_GET: "view_supply_chain"},
    WEB + "supply-chain/suppliers/export.csv": {_GET: "view_supply_chain"},
    WEB + "supply-chain/suppliers/export.xlsx": {_GET: "view_supply_chain"},
    WEB + "supply-chain/campaigns/<uuid:campaign_id>/coverage.xlsx": {_GET: "view_supply_chain"},
    WEB + "supply-chain/suppliers/import/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "supply-chain/suppliers/import/<uuid:import_id>/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "supply-chain/campaigns/": {_GET: "view_supply_chain"},
    WEB + "supply-chain/campaigns/new/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "supply-chain/campaigns/new/check/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "supply-chain/campaigns/<uuid:campaign_id>/": {_GET: "view_supply_chain"},
    WEB + "supply-chain/campaigns/<uuid:campaign_id>/coverage.csv": {_GET: "view_supply_chain"},
    WEB + "supply-chain/campaigns/<uuid:campaign_id>/repeat/": {_GET: "edit_content"},
    WEB + "supply-chain/requests/<uuid:invitation_id>/resend/": {_POST: "edit_content"},
    WEB + "supply-chain/requests/<uuid:invitation_id>/revoke/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "supply-chain/requests/<uuid:invitation_id>/forward/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "supply-chain/requests/<uuid:invitation_id>/answer/": {_GET: "edit_content", _POST: "edit_content"},
    WEB + "supply-chain/buyers/": {_GET: "view_supply_chain"},
    WEB + "supply-chain/buyers/<uuid:link_id>/sharing/": {_POST: "edit_content"},
    API + "suppliers/": {"*": "view_supply_chain", _GET: "view_supply_chain", _POST: "edit_content"},
    API + "suppliers/import/": {"*": "view_supply_chain", _POST: "edit_content"},
    API + "suppliers/<uuid:supplier_id>/": {
        "*": "view_supply_chain",
        _GET: "view_supply_chain",
        "PATCH": "edit_content",
    },
    API + "suppliers/<uuid:supplier_id>/archive/": {"*": "view_supply_chain", _POST: "edit_content"},
    API + "suppliers/<uuid:supplier_id>/restore/": {"*": "view_supply_chain", _POST: "edit_content"},
    API + "supplier-imports/<uuid:import_id>/confirm/": {"*": "view_supply_chain", _POST: "edit_content"},
    API + "campaigns/": {"*": "view_supply_chain", _GET: "view_supply_chain", _POST: "edit_content"},
    API + "campaigns/<uuid:campaign_id>/": {"*": "view_supply_chain", _GET: "view_supply_chain"},
    API + "campaigns/<uuid:campaign_id>/coverage/": {"*": "view_supply_chain", _GET: "view_supply_chain"},
    API + "campaigns/<uuid:campaign_id>/repeat/": {"*": "view_supply_chain", _POST: "edit_content"},
    API + "campaigns/<uuid:campaign_id>/invitations/": {"*": "view_supply_chain", _GET: "view_supply_chain"},
    API + "supplier-invitations/<uuid:invitation_id>/resend/": {"*": "view_supply_chain", _POST: "edit_content"},
    API + "supplier-invitations/<uuid:invitation_id>/revoke/": {"*": "view_supply_chain", _POST: "edit_content"},
    API + "supplier-invitations/<uuid:invitation_id>/confirm-answer/": {
        "*": "view_supply_chain",
        _POST: "edit_content",
    },
    API + "supplier-invitations/<uuid:invitation_id>/reject-answer/": {
        "*": "view_supply_chain",
        _POST: "edit_content",
    },
    API + "requests/": {"*": "view_supply_chain", _GET: "view_supply_chain"},
    API + "requests/<uuid:invitation_id>/accept/": {"*": "view_supply_chain", _POST: "edit_content"},
    API + "requests/<uuid:invitation_id>/decline/": {"*": "view_supply_chain", _POST: "edit_content"},
    API + "requests/<uuid:invitation_id>/forward/": {"*": "view_supply_chain", _POST: "edit_content"},
    API + "buyers/": {"*": "view_supply_chain", _GET: "view_supply_chain"},
    API + "buyers/<uuid:link_id>/": {"*": "view_supply_chain", "PATCH": "edit_content"},
    # reports
    WEB + "reports/": {_GET: "download_report"},
    WEB + "reports/new/": {_GET: "request_report", _POST: "request_report"},
    WEB + "reports/<uuid:report_id>/": {_GET: "download_report"},
    WEB + "reports/<uuid:report_id>/download/": {_GET: "download_report"},
    WEB + "reports/<uuid:report_id>/revoke/": {_GET: "revoke_report", _POST: "revoke_report"},
    API + "reports/": {_GET: "download_report", _POST: "request_report"},
    API + "reports/<uuid:report_id>/": {_GET: "download_report"},
    API + "reports/<uuid:report_id>/download/": {_GET: "download_report"},
    API + "reports/<uuid:report_id>/revoke/": {_POST: "revoke_report"},
}

ALLOWED_GET = {200, 302}

# Answers an allowed role may also get because of the object's state, not its role (each one a
# known gap in the world, to close by giving it the object in the right state).
STATE_ANSWERS: dict[str, set[int]] = {
    # The demo's plans have no earlier version to compare with.
    WEB + "plans/<uuid:plan_id>/changes/": {404},
    API + "plans/<uuid:plan_id>/changes/": {404},
    # An in-review plan is not editable (PermissionDenied from the plan's state).
    WEB + "plans/<uuid:plan_id>/sections/<slug:section>/": {403},
    WEB + "plans/<uuid:plan_id>/equality/": {403},
    # Which received requests an organisation may answer or pass on depends on the request's state
    # and its binding to the invited party (issue 15 part 1, changed in parallel).
    WEB + "supply-chain/requests/<uuid:invitation_id>/forward/": {404},
    API + "requests/<uuid:invitation_id>/accept/": {404},
    API + "requests/<uuid:invitation_id>/decline/": {404},
}


def tenant_patterns() -> list[str]:
    """Every web pattern under /o/<slug>/ and API pattern under /api/v1/organisations/<org>/."""
    found: list[str] = []

    def walk(patterns: Any, prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and route.startswith((WEB, API)):
                found.append(route)

    walk(get_resolver().url_patterns, "")
    return found


def allows(role: str, need: str | tuple[str, ...] | None) -> bool:
    if need == ANY_MEMBER:
        return True
    if need is None:
        return False
    return any(role_can(role, action) for action in ((need,) if isinstance(need, str) else need))


# --------------------------------------------------------------------------------------------------
# The world: the demo's Acme with every kind of record, an expired auditor, and an outsider.


@dataclass
class WalkWorld:
    acme: Organisation
    users: dict[str, User]
    tokens: dict[str, str]
    expired_auditor: User
    outsider: User
    outsider_token: str


def _storages(root: Any) -> dict[str, Any]:
    from django.conf import settings

    return {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }


@pytest.fixture(scope="module")
def walk_files(tmp_path_factory: Any) -> Any:
    return tmp_path_factory.mktemp("walk-files")


@pytest.fixture(scope="module")
def walk_world(django_db_setup: Any, django_db_blocker: Any, walk_files: Any) -> Iterator[WalkWorld]:
    with django_db_blocker.unblock(), override_settings(STORAGES=_storages(walk_files), PASSWORD_HASHERS=FAST_HASHERS):
        built = _build()
    yield built
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False)  # the app role owns no sequence


@pytest.fixture(autouse=True)
def _walk_storage(settings: Any, walk_files: Any) -> None:
    settings.STORAGES = _storages(walk_files)


def _build() -> WalkWorld:
    from django_scopes import scopes_disabled

    from portal import exports
    from portal import services as portal_services

    with tasks_in_process():
        world = build_world()
        with scopes_disabled():
            acme = Organisation.objects.get(name=ACME)
            owner = world.callers["owner"].user
            portal_services.invitation_create(
                organisation=acme, actor=owner, email="new.person@acme.example", role=Role.MEMBER
            )
            exports.export_request(organisation=acme, actor=owner)
            _more_rows(acme, owner)
            expired = User.objects.create_user(email="expired.auditor@audit.example", password="x", full_name="Ex")
            Membership.objects.create(
                organisation=acme, user=expired, role=Role.AUDITOR, expires_at=timezone.now() - timedelta(minutes=1)
            )
    return WalkWorld(
        acme=acme,
        users={role.value: world.callers[role.value].user for role in ROLES},
        tokens={role.value: world.callers[role.value].token for role in ROLES},
        expired_auditor=expired,
        outsider=world.callers["supplier_owner"].user,
        outsider_token=world.outsider_token,
    )


def _more_rows(acme: Organisation, owner: User) -> None:
    """What the demo lacks: a request Acme received from a buyer, an answer to one of Acme's requests
    held for Acme to confirm (given through the link by an organisation that was not asked), and a
    file cited by final work."""
    from assessments.models import ConsultationMeeting, Evidence, Plan, PlanCitation
    from supplychain import services as supply
    from supplychain.models import Supplier, SupplierInvitation, SupplierLink

    pennine = Organisation.objects.get(name="Pennine Fasteners")
    buyer = User.objects.get(email="owner@pennine.example")
    acme_as_supplier = Supplier.objects.create(
        organisation=pennine, name=ACME, contact_email=owner.email, linked_organisation=acme
    )
    supply.campaign_start(
        organisation=pennine,
        actor=buyer,
        title="Pennine's suppliers 2027",
        message="Please confirm your commitment.",
        depth=1,
        due_date=timezone.localdate() + timedelta(days=30),
        supplier_ids=[acme_as_supplier.pk],
    )
    SupplierLink.objects.get_or_create(buyer=pennine, supplier_organisation=acme)
    stranger = Organisation.objects.exclude(pk__in=[acme.pk, pennine.pk]).first()
    SupplierInvitation.objects.filter(
        pk=SupplierInvitation.objects.filter(inviter=acme, state="pending").values_list("pk", flat=True)[:1]
    ).update(held_answer="accept", held_organisation=stranger, held_by=buyer, held_at=timezone.now())
    final_plan = Plan.objects.filter(organisation=acme, status="final").first()
    evidence = Evidence.objects.filter(organisation=acme).order_by("uploaded_at").first()
    PlanCitation.objects.get_or_create(organisation=acme, plan=final_plan, evidence=evidence)
    ConsultationMeeting.objects.create(
        organisation=acme, plan=final_plan, held_on=timezone.localdate(), participants="Works council", notes="Agreed."
    )
    # A webhook endpoint with a failed delivery: its pages and "Send again" need both. Made directly, so
    # nothing is sent anywhere while the world is built.
    from portal.models import WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        organisation=acme, url="https://hooks.acme.example/portal", events=["report.ready"], secret="s" * 40
    )
    WebhookDelivery.objects.create(
        organisation=acme,
        endpoint=endpoint,
        event="report.ready",
        event_id="evt_walk",
        payload={"id": "evt_walk", "event": "report.ready"},
        status="failed",
        attempts=3,
        last_status_code=500,
    )


# --------------------------------------------------------------------------------------------------
# Real ids for every path parameter.

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _web_value(acme: Organisation, name: str, route: str, final_only: bool) -> Any:
    from assessments.models import ActionItem, ChangeRequest, Evidence, ReviewComment
    from assessments.models import Response as CriterionResponse
    from portal.models import Invitation, OrganisationExport
    from reports.models import AttestationReport
    from supplychain.models import SupplierInvitation

    def subject() -> Any:
        return _lookup(acme, "subject_id", route, final_only)

    def of_subject(model: Any) -> Any:
        rows = model.objects.filter(organisation=acme)
        return (
            rows.filter(subject_id=subject()).values_list("pk", flat=True).first()
            or rows.values_list("pk", flat=True).first()
        )  # a refused role is refused before the lookup

    if name == "org_slug":
        return acme.slug
    if name == "kind":
        return "plan" if "/plans/" in route else "assessment"
    if name == "number":
        return 1
    if name == "section":
        # The first section of the plan the route gets (a DPIA has sections of its own).
        from assessments.models import Plan
        from assessments.workflow import plan_sections

        kind = (
            Plan.objects.filter(pk=_lookup(acme, "plan_id", route, final_only)).values_list("kind", flat=True).first()
        )
        return plan_sections(kind or "")[0][0]
    if name == "membership_id":
        return _lookup(acme, "member_id", route, final_only)
    if name == "response_id":
        assessment = _lookup(acme, "assessment_id", route, final_only)
        return CriterionResponse.objects.filter(assessment=assessment).values_list("pk", flat=True).first()
    if name == "action_id":
        assessment = _lookup(acme, "assessment_id", route, final_only)
        items = ActionItem.objects.filter(organisation=acme)
        return (items.filter(assessment=assessment) or items).values_list("pk", flat=True).first()
    if name == "comment_id":
        return of_subject(ReviewComment)
    if name in ("request_id", "change_request_id"):
        return of_subject(ChangeRequest)
    if name == "report_id":
        return AttestationReport.objects.filter(organisation=acme, status="ready").values_list("pk", flat=True).first()
    if name == "action_item_id" and final_only:
        final = Q(assessment__status="final") | Q(plan__status="final")
        return ActionItem.objects.filter(final, organisation=acme).values_list("pk", flat=True).first()
    if name == "evidence_id" and final_only:
        cited = Q(citations__response__assessment__status="final") | Q(plan_citations__plan__status="final")
        return Evidence.objects.filter(cited, organisation=acme).values_list("pk", flat=True).first()
    if name == "export_id":
        return OrganisationExport.objects.filter(organisation=acme).values_list("pk", flat=True).first()
    if name == "invitation_id" and route.startswith(WEB + "invitations/"):
        return Invitation.objects.filter(organisation=acme, accepted_at__isnull=True).values_list("pk", flat=True)[0]
    if name == "invitation_id" and route.endswith(("/answer/", "/confirm-answer/", "/reject-answer/")):
        return SupplierInvitation.objects.filter(inviter=acme, held_at__isnull=False).values_list("pk", flat=True)[0]
    if name == "invitation_id" and not route.endswith("/forward/"):
        # The buyer's resend and revoke act on requests Acme sent.
        return SupplierInvitation.objects.filter(inviter=acme).values_list("pk", flat=True).first()
    return _lookup(acme, name, route, final_only)


def fill(acme: Organisation, route: str, role: str) -> str:
    """The pattern with a real id of one of Acme's objects in each parameter (finalised work for auditors)."""
    # Auditors see finalised work only; signatures are on finalised work, which everyone sees.
    final_only = role == Role.AUDITOR or "<uuid:signature_id>" in route

    def value(match: re.Match[str]) -> str:
        found = _web_value(acme, match.group(2), route, final_only)
        if found is None and final_only:  # e.g. no meeting on final plans: the role is refused before the lookup
            found = _web_value(acme, match.group(2), route, False)
        assert found is not None, f"No {match.group(2)} for {route}: give the world one"
        return str(found)

    return "/" + _PARAM.sub(value, route)


# --------------------------------------------------------------------------------------------------
# Callers


def _web_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api_client(token: str | None = None, user: User | None = None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    else:
        client.force_login(user)
    return client


def _request(client: Any, method: str, url: str) -> int:
    call = getattr(client, method.lower())
    response = call(url) if method == "GET" or not url.startswith("/api/") else call(url, {}, format="json")
    if getattr(response, "streaming", False):
        # Reading a download to its end closes its file, as a WSGI server would (close() would also
        # fire request_finished, which closes the test transaction's connection on PostgreSQL).
        b"".join(response.streaming_content)
    return int(response.status_code)


def _client_for(world: WalkWorld, route: str, who: str) -> Any:
    api = route.startswith(API)
    if who == "outsider":
        return _api_client(token=world.outsider_token) if api else _web_client(world.outsider)
    if who == "expired_auditor":
        return _api_client(user=world.expired_auditor) if api else _web_client(world.expired_auditor)
    return _api_client(token=world.tokens[who]) if api else _web_client(world.users[who])


def _fingerprint() -> dict[str, str]:
    """A digest of every row the portal's apps hold (except when tokens were last used)."""
    digests = {}
    for model in apps.get_models():
        if model._meta.app_label not in ("portal", "principles", "assessments", "supplychain", "reports"):
            continue
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ("last_used_at", "last_login")]
        rows = model._base_manager.order_by("pk").values_list(*fields)
        digests[model._meta.label] = hashlib.sha256(repr(list(rows)).encode()).hexdigest()
    return digests


# --------------------------------------------------------------------------------------------------
# The tests


def test_every_tenant_pattern_says_who_may_use_it() -> None:
    patterns = tenant_patterns()
    missing = [p for p in patterns if p not in ROUTES]
    assert not missing, (
        "These tenant URL patterns have no entry in ROUTES (tests/portal/test_role_walk.py): say which "
        "action of portal.roles.ACTIONS each method needs:\n  " + "\n  ".join(missing)
    )
    stale = [p for p in ROUTES if p not in patterns]
    assert not stale, "ROUTES names patterns the URLconf no longer has:\n  " + "\n  ".join(stale)
    unknown = {a for methods in ROUTES.values() for need in methods.values() for a in (need,) if a != ANY_MEMBER}
    unknown = {a for need in unknown for a in ((need,) if isinstance(need, str) else need)} - set(ACTIONS)
    assert not unknown, f"ROUTES names actions portal.roles.ACTIONS does not have: {unknown}"


@pytest.mark.parametrize("role", [r.value for r in ROLES])
def test_each_role_gets_what_the_roles_table_says(walk_world: WalkWorld, role: str) -> None:
    wrong: list[str] = []
    clients: dict[bool, Any] = {}
    urls = {route: fill(walk_world.acme, route, role) for route in ROUTES}

    def client(route: str) -> Any:
        return clients.setdefault(route.startswith(API), _client_for(walk_world, route, role))

    for route, methods in ROUTES.items():
        need = methods.get("GET")
        got = _request(client(route), "GET", urls[route])
        if "*" in methods and not allows(role, methods["*"]):
            expected = {403}  # refused whatever the method
        elif need is None:
            expected = {405}
        else:
            expected = ALLOWED_GET | STATE_ANSWERS.get(route, set()) if allows(role, need) else {403}
        if got not in expected:
            wrong.append(f"GET {urls[route]} ({route}, needs {need}): {got}, expected {sorted(expected)}")
    # Writes the role is refused: 403, and nothing changes. (Some GETs write: downloads and auditors'
    # views are recorded in the audit trail; so the digest is taken after them.)
    before = _fingerprint()
    for route, methods in ROUTES.items():
        for method in WRITES:
            need = methods.get(method)
            if need is None or (allows(role, need) and allows(role, methods.get("*", ANY_MEMBER))):
                continue
            got = _request(client(route), method, urls[route])
            if got != 403:
                wrong.append(f"{method} {urls[route]} ({route}, needs {need}): {got}, expected 403")
    changed = [label for label, digest in _fingerprint().items() if before[label] != digest]
    assert not wrong, f"As {role}, {len(wrong)} answers differ from portal.roles.ACTIONS:\n  " + "\n  ".join(wrong)
    assert not changed, f"As {role}, refused writes changed: {changed}"


@pytest.mark.parametrize("role", [r.value for r in ROLES])
def test_writes_the_table_allows_are_not_refused(walk_world: WalkWorld, role: str) -> None:
    """Each allowed write, with an empty body, gets past the role check (whatever the body's fate);
    each is rolled back so the next starts from the same world."""
    wrong: list[str] = []
    clients: dict[bool, Any] = {}
    for route, methods in ROUTES.items():
        api = route.startswith(API)
        client = clients.setdefault(api, _client_for(walk_world, route, role))
        url = fill(walk_world.acme, route, role)
        for method in WRITES:
            need = methods.get(method)
            if need is None or not (allows(role, need) and allows(role, methods.get("*", ANY_MEMBER))):
                continue
            with transaction.atomic():
                got = _request(client, method, url)
                transaction.set_rollback(True)
            if got in {403, 404, 405} - STATE_ANSWERS.get(route, set()):
                wrong.append(f"{method} {url} ({route}, needs {need}): {got}")
    assert not wrong, f"As {role}, writes the table allows were refused:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize("who", ["outsider", "expired_auditor"])
def test_outsiders_and_ended_grants_get_404_everywhere(walk_world: WalkWorld, who: str) -> None:
    """Real ids of Acme's objects: the 404 is the boundary, not a missing object."""
    wrong: list[str] = []
    clients: dict[bool, Any] = {}
    before = _fingerprint()
    for route, methods in ROUTES.items():
        api = route.startswith(API)
        client = clients.setdefault(api, _client_for(walk_world, route, who))
        url = fill(walk_world.acme, route, Role.OWNER)
        for method in ("GET", *(m for m in WRITES if m in methods)):  # "*" is no method
            got = _request(client, method, url)
            if got != 404:
                wrong.append(f"{method} {url} ({route}): {got}")
    assert not wrong, f"As {who}, these did not answer 404:\n  " + "\n  ".join(wrong)
    assert [label for label, digest in _fingerprint().items() if before[label] != digest] == []


def test_the_world_is_what_the_walk_assumes(walk_world: WalkWorld) -> None:
    from django_scopes import scopes_disabled

    with scopes_disabled():
        roles = dict(Membership.objects.filter(organisation=walk_world.acme).values_list("user__email", "role"))
        assert roles[walk_world.expired_auditor.email] == Role.AUDITOR
        assert not Membership.objects.filter(organisation=walk_world.acme, user=walk_world.outsider).exists()
        assert Organisation.objects.get(name=NORTHERN).pk != walk_world.acme.pk
    for role in ROLES:
        assert roles[walk_world.users[role.value].email] == role
    assert uuid.UUID(fill(walk_world.acme, API + "plans/<uuid:plan_id>/", Role.OWNER).rstrip("/").rsplit("/", 1)[1])
