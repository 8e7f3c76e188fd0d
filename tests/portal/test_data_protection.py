"""Data protection (issue 9 part 6): an owner's export of all the organisation's data, a person's own
data and the deletion of their account, and the retention of expired invitations, sessions and exports.

The export is checked file by file: every JSON file's count against the manifest, every file's SHA-256
against the manifest, the evidence and report bytes against what was stored, and not a byte of the
other organisation. Deleting an account is checked against what must survive it: the audit chain and
every signature still verify.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments import plans as plan_services
from assessments import services as assessment_services
from assessments import workflow
from assessments.models import ChangeRequest, EqiaRow, Plan, PlanKind, ReviewComment
from assessments.signatures import void_signatures
from portal import exports, privacy
from portal.audit import audit_verify_chain
from portal.models import (
    ApiToken,
    AuditEvent,
    ExportStatus,
    Invitation,
    Membership,
    OrganisationExport,
    Outbox,
    Signature,
    User,
)
from portal.roles import Role
from portal.signing import signature_record
from portal.tasks import apply_retention, build_organisation_export
from tests.api.conftest import make_token
from tests.conftest import client_for
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, add_member
from tests.reports.conftest import (
    CONTEXT,
    EVIDENCE_PDF,
    RESERVATIONS,
    make_final,
    ready_report,
    upload_evidence,
)
from tests.sample_files import pdf

pytestmark = pytest.mark.django_db

OTHER_MARKER = "NORTHERN-ONLY-MARKER"
OTHER_BYTES = pdf("NORTHERN-ONLY-EVIDENCE-BYTES")
REPORT_PDF = b"%PDF-1.7\n% stand-in attestation report for the export\n%%EOF\n"
COMMENT = "Shift patterns must be agreed with the branch first"


# --- the world: an organisation with one of everything, and another one beside it -------------


def export_url(tenant, suffix: str = "") -> str:
    return f"/o/{tenant.organisation.slug}/settings/export/{suffix}"


def _assessment(tenant, framework, title: str = "Self-assessment 2026"):
    return assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title=title,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )


def _signed_plan(tenant) -> Plan:
    """A plan with a meeting, an EqIA whose row on age is owned by the rep, a comment by the rep, a
    change request, and the owner's signature on its current content."""
    plan = plan_services.plan_create(
        organisation=tenant.organisation, actor=tenant.manager, kind=PlanKind.DIGITALISATION, title="Cobots on line 3"
    )
    plan_services.plan_update_section(
        plan=plan,
        actor=tenant.manager,
        section="technology",
        values={"technology": "Two collaborative robots", "rationale": "Lifting injuries"},
    )
    plan_services.meeting_add(
        plan=plan, actor=tenant.manager, held_on=date(2026, 3, 2), participants="Works council", notes="Agreed pilot"
    )
    with scope(organisation=tenant.organisation):
        EqiaRow.objects.filter(eqia__plan=plan, characteristic="age").update(
            owner=tenant.rep, impact="negative", mitigation="Ergonomic training for older workers"
        )
        plan = Plan.objects.select_related("organisation", "eqia").get(pk=plan.pk)
    workflow.comment_add(subject=plan, author=tenant.rep, anchor="technology", body=COMMENT)
    with scope(organisation=tenant.organisation):
        ChangeRequest.objects.create(
            organisation=tenant.organisation,
            subject_type="plan",
            subject_id=plan.pk,
            requested_by=tenant.rep,
            reasons="Add the night shift",
        )
    signature_record(
        organisation=tenant.organisation,
        subject_type="plan",
        subject_id=plan.pk,
        snapshot=workflow.subject_snapshot(plan),
        signer=tenant.owner,
        capacity="management",
        decision="sign",
        statement="I agree this plan for management.",
        typed_name="Olivia Owen",
        context=CONTEXT,
    )
    return plan


def _other_organisation(framework):
    """Northern Castings: an owner, an assessment, evidence and a supplier, all carrying a marker."""
    other = OrganisationFactory(name=f"Northern Castings {OTHER_MARKER}")
    owner = UserFactory(email="owner@northern.example", full_name=f"Nora {OTHER_MARKER}")
    add_member(other, owner, Role.OWNER)
    assessment_services.assessment_create(
        organisation=other,
        actor=owner,
        framework=framework,
        title=f"Assessment {OTHER_MARKER}",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    assessment_services.evidence_upload(
        organisation=other,
        actor=owner,
        file=io.BytesIO(OTHER_BYTES),
        name=f"{OTHER_MARKER}.pdf",
        description=f"Evidence {OTHER_MARKER}",
        effective_date=date(2026, 1, 5),
        expiry_date=None,
    )
    from supplychain import services as supplychain_services

    supplychain_services.supplier_save(
        organisation=other,
        actor=owner,
        name=f"Supplier {OTHER_MARKER}",
        contact_name="",
        contact_email="buyer-contact@northern.example",
    )
    return other


@pytest.fixture
def world(tenant, framework, django_capture_on_commit_callbacks):
    """Everything an organisation can hold, and a second organisation that must never show."""
    from principles.services import commitment_sign

    with django_capture_on_commit_callbacks(execute=True):
        evidence = upload_evidence(tenant)
        final = make_final(tenant, _assessment(tenant, framework), evidence)
        commitment_sign(
            organisation=tenant.organisation,
            framework=framework,
            signer=tenant.owner,
            typed_name="Olivia Owen",
            job_title="Managing Director",
            extends_to_supply_chain=True,
            context=CONTEXT,
        )
        plan = _signed_plan(tenant)
        report = ready_report(tenant, final, content=REPORT_PDF)
        from portal import services as portal_services

        portal_services.invitation_create(
            organisation=tenant.organisation, actor=tenant.owner, email="new.starter@acme.example", role=Role.MEMBER
        )
        from supplychain import services as supplychain_services

        supplychain_services.supplier_save(
            organisation=tenant.organisation,
            actor=tenant.owner,
            name="Bolt Supplies Ltd",
            contact_name="Sam",
            contact_email="sam@bolts.example",
        )
        supplychain_services.campaign_start(
            organisation=tenant.organisation,
            actor=tenant.owner,
            title="Principles 2026",
            message="Please commit to the principles",
            depth=2,
            due_date=timezone.localdate() + timedelta(days=30),
            supplier_ids=None,
        )
        other = _other_organisation(framework)
    return {"evidence": evidence, "final": final, "plan": plan, "report": report, "other": other}


def _zip_of(response) -> zipfile.ZipFile:
    """The downloaded zip. The response is closed as the test client closes its own, without the
    request_finished handler that would close the test transaction's connection on PostgreSQL."""
    data = b"".join(response.streaming_content)
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    return zipfile.ZipFile(io.BytesIO(data))


def _track_session(client: Client, user: User) -> str:
    """Record the client's session as a signed-in device, as allauth does when someone signs in."""
    from allauth.usersessions.models import UserSession

    key = client.session.session_key
    UserSession.objects.create(user=user, session_key=key, ip="203.0.113.9", user_agent="pytest-browser")
    return key


def _request_export(client: Client, tenant, capture=None) -> OrganisationExport:
    if capture is None:  # a transactional test: the request's commit publishes the task
        response = client.post(export_url(tenant, "new/"))
    else:
        with capture(execute=True):
            response = client.post(export_url(tenant, "new/"))
    assert response.status_code == 302, response.status_code
    with scopes_disabled():
        export = OrganisationExport.objects.filter(organisation=tenant.organisation).latest("requested_at")
    assert response["Location"] == export_url(tenant, f"{export.pk}/")
    return export


def _refreshed(export: OrganisationExport) -> OrganisationExport:
    with scopes_disabled():
        return OrganisationExport.objects.select_related("organisation").get(pk=export.pk)


def _check_zip(archive: zipfile.ZipFile, tenant, world) -> dict:
    """Every file listed in the manifest with its right hash, counts matching the JSON files."""
    names = set(archive.namelist())
    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["path"]: f for f in manifest["files"]}
    assert names == set(listed) | {"manifest.json"}
    for path, entry in listed.items():
        data = archive.read(path)
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], path
        assert len(data) == entry["size"], path
    for section, count in manifest["counts"].items():
        assert len(json.loads(archive.read(f"{section}.json"))) == count, section
    assert manifest["missing_files"] == []
    assert manifest["organisation"]["id"] == str(tenant.organisation.pk)
    # Not a byte of the other organisation, in any file.
    for path in names:
        data = archive.read(path)
        assert OTHER_MARKER.encode() not in data, path
        assert b"northern.example" not in data, path
        assert str(world["other"].pk).encode() not in data, path
    return manifest


# --- the organisation export ------------------------------------------------------------------


def test_owner_exports_everything_of_the_organisation_and_nothing_of_anyone_else(
    tenant, world, django_capture_on_commit_callbacks
) -> None:
    client = client_for(tenant.owner)
    listing = client.get(export_url(tenant))
    assert listing.status_code == 200 and "Request an export" in listing.content.decode()
    check = client.get(export_url(tenant, "new/"))
    assert check.status_code == 200 and "evidence.json" in check.content.decode()
    mail.outbox.clear()
    export = _request_export(client, tenant, django_capture_on_commit_callbacks)
    export = _refreshed(export)  # built in-process (eager) after the request's commit
    assert export.status == ExportStatus.READY, export.error
    assert export.expires_at - export.completed_at == timedelta(days=7)
    detail = client.get(export_url(tenant, f"{export.pk}/"), HTTP_HX_REQUEST="true")
    assert "Download the zip file" in detail.content.decode() and "hx-trigger" not in detail.content.decode()

    response = client.get(export_url(tenant, f"{export.pk}/download/"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;") and "no-store" in response["Cache-Control"]
    archive = _zip_of(response)
    manifest = _check_zip(archive, tenant, world)

    expected_sections = {
        "organisation",
        "members",
        "invitations",
        "commitments",
        "assessments",
        "evidence",
        "plans",
        "surveys",
        "technology",
        "comments",
        "change_requests",
        "signatures",
        "suppliers",
        "campaigns",
        "supplier_requests_forwarded",
        "supplier_requests_received",
        "supplier_links",
        "reports",
        "audit_events",
    }
    assert set(manifest["counts"]) == expected_sections
    data = {name: json.loads(archive.read(f"{name}.json")) for name in expected_sections}
    assert {m["email"] for m in data["members"]} == {
        u.email for u in (tenant.owner, tenant.manager, tenant.rep, tenant.auditor, tenant.member)
    }
    assert {m["role"] for m in data["members"]} == set(Role.values)
    assert [i["email"] for i in data["invitations"]] == ["new.starter@acme.example"]
    assert len(data["commitments"]) == 1 and data["commitments"][0]["status"] == "active"
    (assessment,) = data["assessments"]
    assert assessment["status"] == "final" and len(assessment["responses"]) > 10
    assert any(r["evidence"] == [str(world["evidence"].pk)] for r in assessment["responses"])
    (plan,) = data["plans"]
    assert plan["meetings"][0]["participants"] == "Works council"
    age = next(r for r in plan["eqia"]["rows"] if r["characteristic"] == "age")
    assert age["impact"] == "negative" and age["owner"]["email"] == tenant.rep.email
    assert (
        data["surveys"] == []
    )  # their aggregates are exported when there are some (tests/assessments/test_surveys.py)
    assert data["technology"] == []  # systems and agreements when there are some (test_technology_records.py)
    assert [c["body"] for c in data["comments"]] == [COMMENT]
    assert [c["reasons"] for c in data["change_requests"]] == ["Add the night shift"]
    # The commitment, the assessment's two signatures and the plan's one; reservations word for word.
    assert len(data["signatures"]) == 4
    assert any(s["reservations"] == RESERVATIONS for s in data["signatures"])
    assert {s["contact_email"] for s in data["suppliers"]} == {"sam@bolts.example"}
    (campaign,) = data["campaigns"]
    assert [i["email"] for i in campaign["invitations"]] == ["sam@bolts.example"]
    assert data["reports"][0]["sha256"] == hashlib.sha256(REPORT_PDF).hexdigest()
    verbs = [e["verb"] for e in data["audit_events"]]
    assert "evidence.uploaded" in verbs and verbs[-1] == "export.requested"
    assert [e["sequence"] for e in data["audit_events"]] == list(range(1, len(verbs) + 1))
    # Beside the raw rows, each event in words, as the audit trail shows it: no keys, no bare ids.
    from portal.activity import looks_like_an_id

    for event in data["audit_events"]:
        assert event["sentence"] and event["verb"] not in event["sentence"], event
        assert not looks_like_an_id(event["sentence"]), event
    uploaded = next(e for e in data["audit_events"] if e["verb"] == "evidence.uploaded")
    assert uploaded["sentence"].startswith(tenant.manager.display_name) and "uploaded" in uploaded["sentence"]
    assert data["audit_events"][-1]["sentence"].startswith(tenant.owner.display_name)

    # The files themselves, byte for byte.
    (evidence_meta,) = data["evidence"]
    assert archive.read(evidence_meta["file"]) == EVIDENCE_PDF
    assert evidence_meta["sha256"] == hashlib.sha256(EVIDENCE_PDF).hexdigest()
    assert archive.read(f"reports/{world['report'].pk}.pdf") == REPORT_PDF

    # Downloaded: in the audit trail, and the chain still holds. The owner was emailed.
    with scope(organisation=tenant.organisation):
        last = AuditEvent.objects.order_by("-sequence").first()
    assert last.verb == "export.downloaded" and last.actor == tenant.owner
    assert audit_verify_chain(organisation=tenant.organisation).ok
    (email,) = [m for m in mail.outbox if "data export is ready" in m.subject]
    assert email.to == [tenant.owner.email] and str(export.pk) in email.body


@pytest.mark.parametrize("role", [Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR, Role.MEMBER])
def test_only_owners_request_see_or_download_exports(tenant, world, role, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.export_request(organisation=tenant.organisation, actor=tenant.owner)
    client = client_for(tenant.user(role))
    for suffix in ("", "new/", f"{export.pk}/", f"{export.pk}/download/"):
        assert client.get(export_url(tenant, suffix)).status_code == 403, suffix
    assert client.post(export_url(tenant, "new/")).status_code == 403
    with pytest.raises(ValidationError):
        exports.export_request(organisation=tenant.organisation, actor=tenant.user(role))
    with scopes_disabled():
        assert OrganisationExport.objects.count() == 1
    # No link to the exports (the members page's table of roles still names the action, as the owner's).
    members = f"/o/{tenant.organisation.slug}/members/"
    link = f'href="{export_url(tenant)}"'
    assert link not in client.get(members).content.decode()
    assert link in client_for(tenant.owner).get(members).content.decode()


def test_outsiders_and_visitors_learn_nothing_of_exports(tenant, world, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.export_request(organisation=tenant.organisation, actor=tenant.owner)
    (other_owner,) = User.objects.filter(email="owner@northern.example")
    outsider = client_for(other_owner)
    for suffix in ("", "new/", f"{export.pk}/", f"{export.pk}/download/"):
        assert outsider.get(export_url(tenant, suffix)).status_code == 404, suffix
        assert Client().get(export_url(tenant, suffix)).status_code == 302, suffix
    # The other organisation's own owner cannot reach this export through their own organisation.
    other_url = f"/o/{world['other'].slug}/settings/export/{export.pk}/download/"
    assert outsider.get(other_url).status_code == 404


def test_a_second_request_while_one_is_being_made_returns_the_same_export(tenant, world) -> None:
    from unittest import mock

    with mock.patch.object(build_organisation_export, "publish"):
        first = exports.export_request(organisation=tenant.organisation, actor=tenant.owner)
        second = exports.export_request(organisation=tenant.organisation, actor=tenant.owner)
    assert first.pk == second.pk and first.status == ExportStatus.QUEUED
    page = client_for(tenant.owner).get(export_url(tenant, f"{first.pk}/"))
    assert 'hx-trigger="every 2s"' in page.content.decode()  # progress polls until it is ready
    assert client_for(tenant.owner).get(export_url(tenant, f"{first.pk}/download/")).status_code == 404


def test_an_export_that_fails_says_so(tenant, world, monkeypatch, django_capture_on_commit_callbacks) -> None:
    def broken(organisation):
        raise RuntimeError("disk full")

    monkeypatch.setitem(exports._sections, "broken", (5, broken))
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.export_request(organisation=tenant.organisation, actor=tenant.owner)
    export = _refreshed(export)
    assert export.status == ExportStatus.FAILED and "disk full" in export.error
    page = client_for(tenant.owner).get(export_url(tenant, f"{export.pk}/"))
    assert "could not be made" in page.content.decode()


def test_an_expired_export_is_deleted_by_the_retention_sweep(tenant, world, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        old = exports.export_request(organisation=tenant.organisation, actor=tenant.owner)
    old = _refreshed(old)
    with django_capture_on_commit_callbacks(execute=True):
        with scopes_disabled():
            OrganisationExport.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        fresh = exports.export_request(organisation=tenant.organisation, actor=tenant.owner)
    fresh = _refreshed(fresh)
    assert default_storage.exists(old.file.name) and default_storage.exists(fresh.file.name)
    client = client_for(tenant.owner)
    assert client.get(export_url(tenant, f"{old.pk}/download/")).status_code == 404  # past its expiry already

    removed = privacy.retention_apply()
    assert removed["exports_deleted"] == 1
    assert not default_storage.exists(old.file.name) and default_storage.exists(fresh.file.name)
    old = _refreshed(old)
    assert old.status == ExportStatus.EXPIRED and not old.file and old.file_deleted_at
    assert "has expired" in client.get(export_url(tenant, f"{old.pk}/")).content.decode()
    assert privacy.retention_apply()["exports_deleted"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_export_and_emails_the_owner(tenant, framework, worker, mailbox, settings) -> None:
    # Runs in the PostgreSQL + Redis pass; on SQLite the `worker` fixture skips with its reason.
    # The worker process stores and reads files where the settings say, not in this test's folder.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(Path(settings.VAR_DIR) / "private")},
        },
    }
    evidence = upload_evidence(tenant)
    other = _other_organisation(framework)
    client = client_for(tenant.owner)
    export = _request_export(client, tenant)
    try:
        deadline = time.monotonic() + 120
        while export.status not in (ExportStatus.READY, ExportStatus.FAILED) and time.monotonic() < deadline:
            time.sleep(0.5)
            export = _refreshed(export)
        assert export.status == ExportStatus.READY, (export.status, export.error, worker.log.read_text()[-3000:])
        assert "build_organisation_export" in worker.log.read_text()
        archive = _zip_of(client.get(export_url(tenant, f"{export.pk}/download/")))
        _check_zip(archive, tenant, {"other": other})
        (meta,) = json.loads(archive.read("evidence.json"))
        assert archive.read(meta["file"]) == EVIDENCE_PDF and meta["id"] == str(evidence.pk)
        # The worker queued the email as an outbox row, and published its task, as in production,
        # to the queue it consumes itself: it sends the email without any help from the sweep.
        message = mailbox.wait_for(tenant.owner.email, containing="data export is ready")
        assert str(export.pk) in message.text
        deadline = time.monotonic() + 30
        while True:
            with scopes_disabled():
                (queued,) = Outbox.objects.filter(to_email=tenant.owner.email, template="export_ready")
            if queued.status == "sent" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert (queued.status, queued.attempts) == ("sent", 1)
    finally:
        with scopes_disabled():
            names = [e.file.name for e in other.evidence.all()] + [evidence.file.name]
        names.append(_refreshed(export).file.name)
        for name in filter(None, names):
            stored = Path(default_storage.path(name))
            default_storage.delete(name)
            if stored.parent.exists() and not any(stored.parent.iterdir()):
                stored.parent.rmdir()  # the organisation's folder, made by this test


# --- a person's own data --------------------------------------------------------------------


def test_a_person_downloads_their_own_data_and_nobody_elses(tenant, world) -> None:
    make_token(tenant.rep, tenant.organisation)
    client = client_for(tenant.rep)
    _track_session(client, tenant.rep)
    assert client.get("/account/data/").status_code == 200
    response = client.get("/account/data/download/")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"] and response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert data["profile"][0]["email"] == tenant.rep.email
    assert data["profile"][0]["email_addresses"] == [{"email": tenant.rep.email, "verified": True, "primary": True}]
    assert [(m["organisation"]["name"], m["role"]) for m in data["memberships"]] == [
        (tenant.organisation.name, Role.WORKFORCE_REP)
    ]
    (signature,) = data["signatures"]
    assert signature["typed_name"] == "Rachel Reid" and signature["reservations"] == RESERVATIONS
    assert [c["body"] for c in data["comments"]] == [COMMENT]
    assert [c["reasons"] for c in data["change_requests"]] == ["Add the night shift"]
    assert data["audit_events"] and all(e["actor_label"] == tenant.rep.email for e in data["audit_events"])
    (token,) = data["api_tokens"]
    assert token["organisation"]["name"] == tenant.organisation.name
    text = response.content.decode()
    with scopes_disabled():
        stored = ApiToken.objects.get(user=tenant.rep)
    assert stored.key_hash not in text and "key_hash" not in text and "session_key" not in text
    assert [(d["ip"], d["user_agent"]) for d in data["sessions"]] == [("203.0.113.9", "pytest-browser")]
    # Nothing of anyone else: the owner's signatures, the other organisation.
    assert "Olivia Owen" not in text and OTHER_MARKER not in text
    assert Client().get("/account/data/download/").status_code == 302


# --- deleting an account --------------------------------------------------------------------


def test_deleting_an_account_anonymises_it_and_every_record_still_verifies(tenant, world) -> None:
    rep = tenant.rep
    old_email = rep.email
    make_token(rep, tenant.organisation)
    client = client_for(rep)
    tracked = _track_session(client, rep)
    other_device = client_for(rep)  # signed in, but not listed as a device: its password hash stops it
    page = client.get("/account/delete/")
    assert page.status_code == 200 and "This cannot be undone" in page.content.decode()
    assert audit_verify_chain(organisation=tenant.organisation).ok
    assert list(void_signatures(tenant.organisation)) == []

    response = client.post("/account/delete/", {"confirmation": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/account/deleted/"
    assert "has been deleted" in client.get("/account/deleted/").content.decode()

    rep.refresh_from_db()
    assert rep.full_name.startswith("Deleted user ") and rep.email.endswith("@deleted.invalid")
    assert old_email not in rep.email and not rep.has_usable_password() and not rep.is_active and rep.deleted_at
    from allauth.account.models import EmailAddress
    from allauth.usersessions.models import UserSession

    assert not EmailAddress.objects.filter(user=rep).exists()
    assert not UserSession.objects.filter(user=rep).exists()
    assert not Session.objects.filter(session_key=tracked).exists()
    with scopes_disabled():
        assert not Membership.objects.filter(user=rep).exists()
        assert ApiToken.objects.get(user=rep).revoked_at is not None
        # What they signed and wrote stays, attributed to the anonymised account.
        signature = Signature.objects.get(signer=rep)
        assert signature.typed_name == "Rachel Reid" and signature.reservations == RESERVATIONS
        assert ReviewComment.objects.get(body=COMMENT).author == rep
        event = AuditEvent.objects.get(verb="account.deleted")
        assert event.actor == rep and event.actor_label == rep.email and event.before == {"role": Role.WORKFORCE_REP}
        # The signed plan names the EqIA owner by the email it was signed with.
        row = EqiaRow.objects.get(eqia__plan=world["plan"], characteristic="age")
        assert row.owner == rep and row.recorded_owner_email == old_email
    # Both devices are signed out; the old password no longer signs in.
    assert client.get("/account/").status_code == 302
    assert other_device.get("/account/").status_code == 302
    assert not Client().login(email=old_email, password=PASSWORD)

    # The audit chain and every signature still verify (what verify_audit_trail and verify_signatures run).
    assert audit_verify_chain(organisation=tenant.organisation).ok
    assert list(void_signatures(tenant.organisation)) == []
    call_command("verify_audit_trail", stdout=io.StringIO())
    call_command("verify_signatures", stdout=io.StringIO())

    # Pages show the anonymised account, not the address recorded in the chain.
    trail = client_for(tenant.owner).get(f"/o/{tenant.organisation.slug}/audit/?verb=account.deleted")
    shown = html.unescape(trail.content.decode())  # a generated name may hold an apostrophe
    assert rep.full_name in shown and old_email not in shown
    members = client_for(tenant.owner).get(f"/o/{tenant.organisation.slug}/members/").content.decode()
    assert old_email not in members


def test_the_last_owner_cannot_delete_their_account_until_someone_else_owns(tenant, world) -> None:
    client = client_for(tenant.owner)
    page = client.get("/account/delete/")
    text = page.content.decode()
    assert tenant.organisation.name in text and "only owner" in text and "<title>Error:" not in text
    response = client.post("/account/delete/", {"confirmation": PASSWORD})
    assert response.status_code == 400 and "Make someone else an owner" in response.content.decode()
    tenant.owner.refresh_from_db()
    assert tenant.owner.deleted_at is None and tenant.owner.is_active
    with pytest.raises(ValidationError):
        privacy.account_delete(user=tenant.owner)

    with scopes_disabled():
        Membership.objects.filter(user=tenant.manager).update(role=Role.OWNER)
    response = client.post("/account/delete/", {"confirmation": PASSWORD})
    assert response.status_code == 302
    tenant.owner.refresh_from_db()
    assert tenant.owner.deleted_at is not None
    assert audit_verify_chain(organisation=tenant.organisation).ok
    assert list(void_signatures(tenant.organisation)) == []  # the commitment names the typed name, kept as signed


def test_a_wrong_password_deletes_nothing(tenant) -> None:
    client = client_for(tenant.member)
    response = client.post("/account/delete/", {"confirmation": "not my password"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "The password is not right" in text and "<title>Error:" in text
    assert client.post("/account/delete/", {}).status_code == 400
    tenant.member.refresh_from_db()
    assert tenant.member.deleted_at is None and tenant.member.has_usable_password()


# --- retention --------------------------------------------------------------------------------


def _invitation(tenant, email: str, **fields) -> Invitation:
    with scope(organisation=tenant.organisation):
        return Invitation.objects.create(
            organisation=tenant.organisation,
            email=email,
            role=Role.MEMBER,
            nonce="n" * 32,
            invited_by=tenant.owner,
            **fields,
        )


def test_retention_removes_exactly_what_has_expired_long_enough(
    tenant, settings, django_capture_on_commit_callbacks
) -> None:
    from supplychain.models import Campaign, CampaignEdge, InvitationState, Supplier, SupplierInvitation

    settings.PORTAL_INVITATION_RETENTION_DAYS = 30
    now = timezone.now()
    long_ago, lately = now - timedelta(days=40), now - timedelta(days=5)
    from portal import services as portal_services

    with django_capture_on_commit_callbacks(execute=True):
        audited = portal_services.invitation_create(
            organisation=tenant.organisation, actor=tenant.owner, email="audited@acme.example", role=Role.MEMBER
        )
    with scope(organisation=tenant.organisation):
        Invitation.objects.filter(pk=audited.pk).update(expires_at=long_ago)
    gone_expired = _invitation(tenant, "gone1@acme.example", expires_at=long_ago)
    gone_revoked = _invitation(tenant, "gone2@acme.example", expires_at=now + timedelta(days=3), revoked_at=long_ago)
    kept = [
        _invitation(tenant, "open@acme.example", expires_at=now + timedelta(days=3)),
        _invitation(tenant, "recent@acme.example", expires_at=lately),
        _invitation(tenant, "revoked-lately@acme.example", expires_at=long_ago + timedelta(days=1), revoked_at=lately),
        _invitation(tenant, "joined@acme.example", expires_at=long_ago, accepted_at=long_ago - timedelta(days=1)),
    ]

    with scope(organisation=tenant.organisation):
        supplier = Supplier.objects.create(
            organisation=tenant.organisation, name="S", contact_email="s@s.example", match_key="dn:s"
        )
        campaign = Campaign.objects.create(
            organisation=tenant.organisation, title="C", message="m", due_date=date(2026, 12, 1)
        )

    def supplier_invitation(key: str, state: str, expires_at) -> SupplierInvitation:
        return SupplierInvitation.objects.create(
            campaign=campaign,
            inviter=tenant.organisation,
            supplier=supplier,
            tier=1,
            target_key=f"email:{key}",
            email=key,
            nonce="n" * 32,
            state=state,
            expires_at=expires_at,
        )

    with scopes_disabled():
        s_gone = supplier_invitation("gone@s.example", InvitationState.EXPIRED, long_ago)
        s_pending_gone = supplier_invitation("pending-gone@s.example", InvitationState.PENDING, long_ago)
        s_edged = supplier_invitation("edged@s.example", InvitationState.EXPIRED, long_ago)
        CampaignEdge.objects.create(
            campaign=campaign, from_organisation=tenant.organisation, supplier=supplier, invitation=s_edged, tier=1
        )
        s_kept = [
            supplier_invitation("recent@s.example", InvitationState.EXPIRED, lately),
            supplier_invitation("waiting@s.example", InvitationState.PENDING, now + timedelta(days=3)),
            supplier_invitation("accepted@s.example", InvitationState.ACCEPTED, long_ago),
        ]

    expired_session = SessionStore()
    expired_session["x"] = 1
    expired_session.create()
    Session.objects.filter(session_key=expired_session.session_key).update(expire_date=now - timedelta(seconds=1))
    live_session = SessionStore()
    live_session["x"] = 2
    live_session.create()
    with scope(organisation=tenant.organisation):
        expired_export = OrganisationExport.objects.create(
            organisation=tenant.organisation,
            status=ExportStatus.READY,
            expires_at=now - timedelta(hours=1),
            file=default_storage.save("exports/x/old.zip", ContentFile(b"old")),
        )
        live_export = OrganisationExport.objects.create(
            organisation=tenant.organisation,
            status=ExportStatus.READY,
            expires_at=now + timedelta(days=1),
            file=default_storage.save("exports/x/new.zip", ContentFile(b"new")),
        )

    out = io.StringIO()
    call_command("apply_retention", stdout=out)
    output = out.getvalue()
    assert "invitations deleted: 2" in output and "invitations anonymised: 1" in output
    assert "supplier invitations deleted: 2" in output and "supplier invitations anonymised: 1" in output
    assert "sessions deleted: 1" in output and "exports deleted: 1" in output

    with scopes_disabled():
        assert not Invitation.objects.filter(pk__in=[gone_expired.pk, gone_revoked.pk]).exists()
        audited = Invitation.objects.get(pk=audited.pk)
        assert audited.email.endswith("@deleted.invalid") and "audited" not in audited.email
        assert sorted(Invitation.objects.filter(pk__in=[i.pk for i in kept]).values_list("email", flat=True)) == sorted(
            i.email for i in kept
        )
        assert not SupplierInvitation.objects.filter(pk__in=[s_gone.pk, s_pending_gone.pk]).exists()
        edged = SupplierInvitation.objects.get(pk=s_edged.pk)
        assert edged.email.endswith("@deleted.invalid") and "edged" not in edged.target_key
        assert edged.state == InvitationState.EXPIRED and CampaignEdge.objects.filter(invitation=edged).exists()
        assert SupplierInvitation.objects.filter(pk__in=[s.pk for s in s_kept]).count() == 3
    assert not Session.objects.filter(session_key=expired_session.session_key).exists()
    assert Session.objects.filter(session_key=live_session.session_key).exists()
    assert not default_storage.exists(expired_export.file.name) and default_storage.exists(live_export.file.name)
    # The audit chain is untouched by retention.
    assert audit_verify_chain(organisation=tenant.organisation).ok

    # A second run finds nothing more; the beat task runs the same function.
    assert sum(apply_retention.apply().get().values()) == 0
    assert any(entry["task"] == "portal.tasks.apply_retention" for entry in settings.CELERY_BEAT_SCHEDULE.values())


def test_retention_settings_come_from_the_environment() -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    code = "import portal.settings as s; print(s.PORTAL_EXPORT_RETENTION_DAYS, s.PORTAL_INVITATION_RETENTION_DAYS)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL", "REDIS_URL"))}

    def run(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code], cwd=root, env={**clean, **env}, capture_output=True, text=True, check=False
        )

    assert run().stdout.split() == ["7", "90"]
    assert run(PORTAL_EXPORT_RETENTION_DAYS="3", PORTAL_INVITATION_RETENTION_DAYS="45").stdout.split() == ["3", "45"]
    refused = run(PORTAL_EXPORT_RETENTION_DAYS="0")
    assert refused.returncode != 0 and "PORTAL_EXPORT_RETENTION_DAYS must be at least 1" in refused.stderr


def test_stored_api_responses_are_deleted_a_day_after_their_key_was_used(tenant, no_scope) -> None:
    """Idempotency records hold whole API responses: they are kept only as long as a key may be replayed."""
    from portal.models import IdempotencyRecord

    with scopes_disabled():
        old = IdempotencyRecord.objects.create(principal=f"user:{tenant.owner.pk}", key="old", fingerprint="f")
        IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
        recent = IdempotencyRecord.objects.create(principal=f"user:{tenant.owner.pk}", key="new", fingerprint="f")

    # As the beat task runs it: no scope of its own to begin with.
    assert privacy.retention_apply()["idempotency_records_deleted"] == 1
    with scopes_disabled():
        assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [recent.pk]
