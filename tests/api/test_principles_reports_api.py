"""API: the framework, the organisation's commitment (sign, withdraw), attestation reports
(request, progress, download, revoke) and the public verification of a report."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope
from rest_framework.test import APIClient

from assessments import services as assessment_services
from assessments.models import Assessment
from portal.models import AuditEvent, Signature
from portal.roles import Role
from portal.signing import snapshot_hash
from principles import services as principle_services
from principles.framework import DEFAULT_FRAMEWORK_FILE, framework_load
from principles.models import Commitment
from reports import services as report_services
from reports.models import AttestationReport, ReportStatus
from tests.querycount import assert_queries
from tests.reports.conftest import CONTEXT, make_final, ready_report, upload_evidence

pytestmark = pytest.mark.django_db

FRAMEWORK_URL = "/api/v1/framework/"


def verify_url(report_id) -> str:
    return f"/api/v1/verify/{report_id}/"


def events(tenant, verb: str) -> list[AuditEvent]:
    with scope(organisation=tenant.organisation):
        return list(AuditEvent.objects.filter(verb=verb).order_by("sequence"))


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code and body["message"]
    if field is not None:
        assert field in body["fields"] and body["fields"][field], body
    return body


def count_queries(client: APIClient, url: str, expected: int, label: str) -> None:
    """`expected` queries for a steady request. An organisation's endpoint costs 1 before its own reads:
    the token with its person, organisation and membership."""
    client.get(url)  # the token's first use of the minute records `last_used_at`; count a steady request
    with assert_queries(expected, label):
        response = client.get(url)
    assert response.status_code == 200, response.content


def download(client: APIClient, url: str):
    """GET a download and read it to the end, so the FileResponse closes its file."""
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


# --- the framework --------------------------------------------------------------------------


def test_framework_is_the_current_version_with_its_principles_verbatim(api, framework) -> None:
    response = api.client(Role.MEMBER).get(FRAMEWORK_URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["code"], body["version"], body["content_hash"]) == (
        framework.code,
        framework.version,
        framework.content_hash,
    )
    assert body["title"] == framework.title and body["published"] == framework.data["published"]
    assert [m["level"] for m in body["maturity_scale"]] == [0, 1, 2, 3, 4]
    assert body["maturity_scale"][0]["label"] == framework.data["maturity_scale"][0]["label"]
    assert [p["number"] for p in body["principles"]] == [1, 2, 3, 4, 5, 6]
    for got, source in zip(body["principles"], framework.data["principles"], strict=True):
        assert got["text"] == source["text"] and got["title"] == source["title"]
        assert [c["code"] for c in got["criteria"]] == [c["code"] for c in source["criteria"]]
        first = got["criteria"][0]
        assert first["position"] == 1
        assert first["source_sentence"] == source["criteria"][0]["source_sentence"]
        assert first["evidence_examples"] == source["criteria"][0].get("evidence_examples", [])
        assert first["evidence_expected"] is source["criteria"][0]["evidence_expected"]


def test_framework_needs_a_caller_but_no_organisation(api, framework, outsider_client) -> None:
    assert_error(APIClient().get(FRAMEWORK_URL), 401, "not_authenticated")
    assert outsider_client.get(FRAMEWORK_URL).status_code == 200


def test_framework_queries_do_not_grow_with_its_size(api, framework, tmp_path) -> None:
    client = api.client(Role.OWNER)
    # the token; the framework; its principles; their criteria
    count_queries(client, FRAMEWORK_URL, 4, "framework, six principles")
    data = json.loads(DEFAULT_FRAMEWORK_FILE.read_text(encoding="utf-8"))
    data["principles"] = data["principles"][:2]
    data["title"] += " (shortened)"
    path = tmp_path / "short.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    short, created = framework_load(path=path)
    assert created and short.version == framework.version + 1
    count_queries(client, FRAMEWORK_URL, 4, "framework, two principles")
    assert len(client.get(FRAMEWORK_URL).json()["principles"]) == 2


# --- commitments ----------------------------------------------------------------------------

SIGN = {"typed_name": "Olivia Owen", "job_title": "Managing Director", "extends_to_supply_chain": True, "confirm": True}


def commitments(tenant) -> list[Commitment]:
    with scope(organisation=tenant.organisation):
        return list(Commitment.objects.select_related("signature").order_by("signed_at"))


def sign_directly(tenant, framework) -> Commitment:
    return principle_services.commitment_sign(
        organisation=tenant.organisation,
        framework=framework,
        signer=tenant.owner,
        typed_name="Olivia Owen",
        job_title="Managing Director",
        extends_to_supply_chain=False,
        context=CONTEXT,
    )


def test_owner_signs_the_commitment_as_themselves_with_the_statement_the_web_shows(api, framework) -> None:
    tenant = api.tenant
    response = api.client(Role.OWNER).post(
        f"{api.base}commitments/", SIGN, HTTP_USER_AGENT="ERP integration", REMOTE_ADDR="198.51.100.4"
    )
    assert response.status_code == 201, response.content
    [commitment] = commitments(tenant)
    signature = commitment.signature
    assert commitment.status == "active" and commitment.extends_to_supply_chain
    assert commitment.statement == principle_services.commitment_statement(
        organisation=tenant.organisation, framework=framework, extends_to_supply_chain=True
    )
    assert signature.signer == tenant.owner and signature.signer_role == Role.OWNER
    assert signature.typed_name == "Olivia Owen" and signature.job_title == "Managing Director"
    assert signature.auth_methods == ["api_token"] and signature.user_agent == "ERP integration"
    assert signature.ip_address == "198.51.100.4" and signature.content_hash == snapshot_hash(signature.snapshot)
    body = response.json()
    assert body["id"] == str(commitment.pk) and body["status"] == "active"
    assert response["Location"] == f"{api.base}commitments/{commitment.pk}/"
    assert body["signature"]["signer_email"] == tenant.owner.email
    assert body["signature"]["signer_name"] == tenant.owner.full_name
    assert body["signature"]["content_hash"] == signature.content_hash
    assert body["signature"]["auth_methods"] == ["api_token"] and body["signature"]["decision"] == "sign"
    assert body["framework"]["version"] == framework.version and body["withdrawn_by"] is None
    assert [e.actor for e in events(tenant, "commitment.signed")] == [tenant.owner]


def test_a_stale_content_hash_signs_nothing_and_the_current_one_signs(api, framework) -> None:
    tenant = api.tenant
    client = api.client(Role.OWNER)
    stale = assert_error(
        client.post(f"{api.base}commitments/", {**SIGN, "content_hash": "0" * 64}),
        400,
        "validation_error",
        "content_hash",
    )
    assert "changed since" in stale["fields"]["content_hash"][0]
    assert commitments(tenant) == []
    snapshot = principle_services.commitment_snapshot(
        organisation=tenant.organisation,
        framework=framework,
        statement=principle_services.commitment_statement(
            organisation=tenant.organisation, framework=framework, extends_to_supply_chain=True
        ),
        extends_to_supply_chain=True,
        typed_name=SIGN["typed_name"],
        job_title=SIGN["job_title"],
    )
    current = client.post(f"{api.base}commitments/", {**SIGN, "content_hash": snapshot_hash(snapshot)})
    assert current.status_code == 201, current.content
    assert commitments(tenant)[0].signature.content_hash == snapshot_hash(snapshot)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR, Role.MEMBER])
def test_only_owners_sign(api, framework, role) -> None:
    assert_error(api.client(role).post(f"{api.base}commitments/", SIGN), 403, "permission_denied")
    assert commitments(api.tenant) == []


def test_signing_again_while_a_commitment_is_active_is_a_conflict(api, framework) -> None:
    sign_directly(api.tenant, framework)
    body = assert_error(api.client(Role.OWNER).post(f"{api.base}commitments/", SIGN), 409, "conflict")
    assert "already signed" in body["message"]
    assert len(commitments(api.tenant)) == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"confirm": False}, "confirm", "Confirm that you sign"),
        ({"confirm": None}, "confirm", ""),
        ({"typed_name": "  "}, "typed_name", "Type your full name to sign"),
        ({"job_title": ""}, "job_title", "Enter your job title"),
        ({"content_hash": "not-a-hash"}, "content_hash", ""),
    ],
)
def test_sign_validation_names_the_field(api, framework, change, field, message) -> None:
    data = {key: value for key, value in {**SIGN, **change}.items() if value is not None}
    body = assert_error(api.client(Role.OWNER).post(f"{api.base}commitments/", data), 400, "validation_error", field)
    assert message in body["fields"][field][0]
    assert commitments(api.tenant) == []


def test_commitments_list_newest_first_with_withdrawn_ones_and_detail_with_signature(api, framework) -> None:
    tenant = api.tenant
    first = sign_directly(tenant, framework)
    principle_services.commitment_withdraw(commitment=first, actor=tenant.owner, reason="Restructuring")
    second = sign_directly(tenant, framework)
    listed = api.client(Role.MEMBER).get(f"{api.base}commitments/")
    assert listed.status_code == 200
    results = listed.json()["results"]
    assert [(c["id"], c["status"]) for c in results] == [(str(second.pk), "active"), (str(first.pk), "withdrawn")]
    assert results[1]["withdrawal_reason"] == "Restructuring"
    assert results[1]["withdrawn_by"] == {"email": tenant.owner.email, "full_name": tenant.owner.full_name}
    detail = api.client(Role.AUDITOR).get(f"{api.base}commitments/{first.pk}/")
    assert detail.status_code == 200
    with scope(organisation=tenant.organisation):
        signature = Signature.objects.get(pk=first.signature_id)
    assert detail.json()["signature"]["id"] == str(signature.pk)
    assert detail.json()["signature"]["typed_name"] == "Olivia Owen"
    assert detail.json()["statement"] == first.statement


def test_commitments_are_invisible_to_outsiders(api, framework, outsider_client) -> None:
    commitment = sign_directly(api.tenant, framework)
    assert_error(outsider_client.get(f"{api.base}commitments/"), 404, "not_found")
    assert_error(outsider_client.get(f"{api.base}commitments/{commitment.pk}/"), 404, "not_found")
    assert_error(outsider_client.post(f"{api.base}commitments/", SIGN), 404, "not_found")
    withdraw = f"{api.base}commitments/{commitment.pk}/withdraw/"
    assert_error(outsider_client.post(withdraw, {"reason": "x"}), 404, "not_found")
    assert commitments(api.tenant)[0].status == "active"


def test_commitment_list_queries_do_not_grow_with_rows(api, framework) -> None:
    tenant = api.tenant
    client = api.client(Role.OWNER)
    url = f"{api.base}commitments/"
    commitment = sign_directly(tenant, framework)
    count_queries(client, url, 2, "commitments, one")  # + one page of commitments
    for _ in range(3):
        principle_services.commitment_withdraw(commitment=commitment, actor=tenant.owner, reason="Again")
        commitment = sign_directly(tenant, framework)
    assert len(client.get(url).json()["results"]) == 4
    count_queries(client, url, 2, "commitments, four")


def test_owner_withdraws_with_a_reason(api, framework) -> None:
    tenant = api.tenant
    commitment = sign_directly(tenant, framework)
    url = f"{api.base}commitments/{commitment.pk}/withdraw/"
    assert_error(api.client(Role.MANAGER).post(url, {"reason": "No"}), 403, "permission_denied")
    body = assert_error(api.client(Role.OWNER).post(url, {"reason": " "}), 400, "validation_error", "reason")
    assert "Say why" in body["fields"]["reason"][0]
    assert_error(api.client(Role.OWNER).post(url, {}), 400, "validation_error", "reason")
    assert commitments(tenant)[0].status == "active"
    response = api.client(Role.OWNER).post(url, {"reason": "Sold the business"})
    assert response.status_code == 200, response.content
    [withdrawn] = commitments(tenant)
    assert withdrawn.status == "withdrawn" and withdrawn.withdrawal_reason == "Sold the business"
    assert withdrawn.withdrawn_by == tenant.owner
    assert response.json()["status"] == "withdrawn" and response.json()["withdrawn_at"]
    assert [e.after["reason"] for e in events(tenant, "commitment.withdrawn")] == ["Sold the business"]
    again = assert_error(api.client(Role.OWNER).post(url, {"reason": "Twice"}), 409, "conflict")
    assert "already been withdrawn" in again["message"]


# --- reports --------------------------------------------------------------------------------


@pytest.fixture
def draft(tenant, framework) -> Assessment:
    return assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )


@pytest.fixture
def final(tenant, draft, django_capture_on_commit_callbacks) -> Assessment:
    """A real final self-assessment: answered, submitted, signed by the rep and the owner."""
    with django_capture_on_commit_callbacks(execute=True):
        return make_final(tenant, draft, upload_evidence(tenant))


def reports(tenant) -> list[AttestationReport]:
    with scope(organisation=tenant.organisation):
        return list(AttestationReport.objects.order_by("requested_at"))


def test_a_report_requested_through_the_api_is_queued_then_rendered_and_downloads_as_a_pdf(
    api, final, django_capture_on_commit_callbacks
) -> None:
    tenant = api.tenant
    client = api.client(Role.MANAGER)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"{api.base}reports/", {"assessment": str(final.pk)})
        assert response.status_code == 201, response.content
        # Rendering starts only once the request's transaction has committed.
        [queued] = reports(tenant)
        assert queued.status == ReportStatus.QUEUED and queued.requested_by == tenant.manager
    # One task on commit, the render; run in-process, it queues the report-ready email to the requester.
    assert len(callbacks) == 2
    body = response.json()
    assert body["id"] == str(queued.pk) and body["status"] == "queued" and body["sha256"] == ""
    assert body["assessment"]["id"] == str(final.pk) and body["requested_by"]["email"] == tenant.manager.email
    assert response["Location"] == f"{api.base}reports/{queued.pk}/"
    assert body["verify_url"].endswith(f"/verify/{queued.pk}/")
    assert [e.actor for e in events(tenant, "report.requested")] == [tenant.manager]
    # The task ran in-process: the end state is a rendered report.
    [report] = reports(tenant)
    assert report.status == ReportStatus.READY, report.error
    detail = client.get(f"{api.base}reports/{report.pk}/").json()
    assert detail["status"] == "ready" and detail["sha256"] == report.sha256 and len(detail["sha256"]) == 64
    assert detail["page_count"] == report.page_count >= 1 and detail["size"] == report.size
    assert detail["rendered_at"] and detail["revoked"] is False and detail["revoked_at"] is None
    pdf_response, pdf = download(client, f"{api.base}reports/{report.pk}/download/")
    assert pdf_response.status_code == 200
    assert pdf.startswith(b"%PDF") and len(pdf) == report.size
    assert pdf_response["Content-Type"] == "application/pdf"
    assert pdf_response["Content-Disposition"].startswith("attachment;")
    assert pdf_response["X-Content-Type-Options"] == "nosniff"
    # The public verify endpoint agrees, byte for byte, without any token.
    anonymous = APIClient()
    checked = anonymous.post(
        verify_url(report.pk), {"file": SimpleUploadedFile("r.pdf", pdf, "application/pdf")}, format="multipart"
    )
    assert checked.status_code == 200 and checked.json()["matches"] is True
    assert checked.json()["verification"]["status"] == "valid"


def test_a_report_is_made_only_from_a_final_assessment(api, draft) -> None:
    client = api.client(Role.OWNER)
    url = f"{api.base}reports/"
    body = assert_error(client.post(url, {"assessment": str(draft.pk)}), 400, "validation_error", "assessment")
    assert "final self-assessment" in body["fields"]["assessment"][0]
    assert body["message"].startswith("Check assessment")
    assert_error(
        client.post(url, {"assessment": "00000000-0000-0000-0000-000000000000"}), 400, "validation_error", "assessment"
    )
    assert_error(client.post(url, {"assessment": "draft"}), 400, "validation_error", "assessment")
    assert_error(client.post(url, {}), 400, "validation_error", "assessment")
    assert reports(api.tenant) == []


def test_another_organisations_final_assessment_cannot_be_reported_on(api, final, outsider, outsider_client) -> None:
    from portal.selectors import memberships_of_user

    (membership,) = memberships_of_user(outsider)
    own = f"/api/v1/organisations/{membership.organisation.slug}/reports/"
    assert_error(outsider_client.post(own, {"assessment": str(final.pk)}), 400, "validation_error", "assessment")
    assert_error(outsider_client.post(f"{api.base}reports/", {"assessment": str(final.pk)}), 404, "not_found")
    assert reports(api.tenant) == []
    with scope(organisation=membership.organisation):
        assert not AttestationReport.objects.exists()


@pytest.mark.parametrize("role", [Role.WORKFORCE_REP, Role.AUDITOR, Role.MEMBER])
def test_only_owners_and_managers_request_reports(api, final, role) -> None:
    response = api.client(role).post(f"{api.base}reports/", {"assessment": str(final.pk)})
    assert_error(response, 403, "permission_denied")
    assert reports(api.tenant) == []


def test_reps_and_auditors_read_reports_members_and_outsiders_do_not(api, final, outsider_client) -> None:
    tenant = api.tenant
    report = ready_report(tenant, final)
    for role in (Role.OWNER, Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR):
        listed = api.client(role).get(f"{api.base}reports/")
        assert listed.status_code == 200 and [r["id"] for r in listed.json()["results"]] == [str(report.pk)]
        assert api.client(role).get(f"{api.base}reports/{report.pk}/").json()["sha256"] == report.sha256
    assert_error(api.client(Role.MEMBER).get(f"{api.base}reports/"), 403, "permission_denied")
    assert_error(api.client(Role.MEMBER).get(f"{api.base}reports/{report.pk}/"), 403, "permission_denied")
    for suffix in ("", f"{report.pk}/", f"{report.pk}/download/"):
        assert_error(outsider_client.get(f"{api.base}reports/{suffix}"), 404, "not_found")
    assert_error(outsider_client.post(f"{api.base}reports/{report.pk}/revoke/", {"reason": "x"}), 404, "not_found")
    # Reading as an auditor is in the audit trail, like the pages.
    assert {e.target_label for e in events(tenant, "auditor.viewed")} == {
        f"API {api.base}reports/",
        f"API {api.base}reports/{report.pk}/",
    }


def test_reports_list_filters_and_queries_do_not_grow_with_rows(api, final) -> None:
    tenant = api.tenant
    client = api.client(Role.OWNER)
    url = f"{api.base}reports/"
    first = ready_report(tenant, final)
    count_queries(client, url, 2, "reports, one")  # + one page of reports
    for _ in range(3):
        ready_report(tenant, final)
    assert len(client.get(url).json()["results"]) == 4
    count_queries(client, url, 2, "reports, four")
    with scope(organisation=tenant.organisation):
        AttestationReport.objects.filter(pk=first.pk).update(status=ReportStatus.FAILED)
    failed = client.get(url, {"status": "failed"}).json()["results"]
    assert [r["id"] for r in failed] == [str(first.pk)]
    assert_error(client.get(url, {"status": "lost"}), 400, "validation_error", "status")


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (ReportStatus.QUEUED, "still rendering"),
        (ReportStatus.RENDERING, "still rendering"),
        (ReportStatus.FAILED, "could not be made"),
    ],
)
def test_a_report_without_a_pdf_is_a_conflict_to_download(api, final, status, message) -> None:
    tenant = api.tenant
    with scope(organisation=tenant.organisation):
        report = AttestationReport.objects.create(
            organisation=tenant.organisation, assessment=final, requested_by=tenant.owner, status=status
        )
    body = assert_error(api.client(Role.AUDITOR).get(f"{api.base}reports/{report.pk}/download/"), 409, "conflict")
    assert message in body["message"]
    assert events(tenant, "auditor.downloaded") == []


def test_downloads_by_auditors_are_recorded_as_on_the_web(api, final) -> None:
    tenant = api.tenant
    report = ready_report(tenant, final)
    url = f"{api.base}reports/{report.pk}/download/"
    manager, _body = download(api.client(Role.MANAGER), url)
    assert manager.status_code == 200
    assert events(tenant, "auditor.downloaded") == []
    response, body = download(api.client(Role.AUDITOR), url)
    assert response.status_code == 200 and body.startswith(b"%PDF")
    assert response["Cache-Control"] == "private, no-store"
    [event] = events(tenant, "auditor.downloaded")
    assert event.actor == tenant.auditor and event.target_id == str(report.pk)
    assert event.target_label == f"attestation report {report.pk}"
    assert events(tenant, "auditor.viewed") == []  # the download is its own event
    # A download client's Accept header is fine.
    pdf_accept = api.client(Role.OWNER).get(url, HTTP_ACCEPT="application/pdf")
    assert pdf_accept.status_code == 200 and b"".join(pdf_accept.streaming_content).startswith(b"%PDF")
    assert_error(api.client(Role.MEMBER).get(url), 403, "permission_denied")


def test_owner_revokes_a_report_with_a_reason(api, final) -> None:
    tenant = api.tenant
    report = ready_report(tenant, final)
    url = f"{api.base}reports/{report.pk}/revoke/"
    for role in (Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR, Role.MEMBER):
        assert_error(api.client(role).post(url, {"reason": "No"}), 403, "permission_denied")
    body = assert_error(api.client(Role.OWNER).post(url, {"reason": ""}), 400, "validation_error", "reason")
    assert "verify page shows it" in body["fields"]["reason"][0]
    assert reports(tenant)[0].revoked_at is None
    response = api.client(Role.OWNER).post(url, {"reason": "Figures restated"})
    assert response.status_code == 200, response.content
    [revoked] = reports(tenant)
    assert revoked.revoked_at is not None and revoked.revoked_by == tenant.owner
    assert revoked.revoked_reason == "Figures restated"
    assert response.json()["revoked"] is True and response.json()["revoked_by"]["email"] == tenant.owner.email
    assert [e.after["reason"] for e in events(tenant, "report.revoked")] == ["Figures restated"]
    assert_error(api.client(Role.OWNER).post(url, {"reason": "Again"}), 409, "conflict")
    public = APIClient().get(verify_url(report.pk)).json()
    assert public["status"] == "revoked" and public["revoked_reason"] == "Figures restated"


# --- public verification ------------------------------------------------------------------


def test_verify_needs_no_token_and_ignores_a_bad_one(api, final) -> None:
    tenant = api.tenant
    report = ready_report(tenant, final)
    response = APIClient().get(verify_url(report.pk))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {
        "report_id": str(report.pk),
        "status": "valid",
        "issuer_name": tenant.organisation.name,
        "issuer_company_number": tenant.organisation.company_number,
        "issued_at": body["issued_at"],
        "valid_until": body["valid_until"],
        "sha256": report.sha256,
        "revoked_at": None,
        "revoked_reason": "",
        "superseded_by": None,
        "superseded_at": None,
        "audit_chain_ok": True,
        "audit_broken_at": None,
    }
    assert body["issued_at"] and body["valid_until"] > body["issued_at"]
    garbage = APIClient()
    garbage.credentials(HTTP_AUTHORIZATION="Bearer msp_not_a_token")
    assert garbage.get(verify_url(report.pk)).status_code == 200
    assert_error(APIClient().get(verify_url("00000000-0000-0000-0000-000000000000")), 404, "not_found")


def test_verify_says_when_a_report_is_superseded_or_not_issued_yet(api, final) -> None:
    tenant = api.tenant
    old = ready_report(tenant, final)
    new = ready_report(tenant, final)
    body = APIClient().get(verify_url(old.pk)).json()
    assert body["status"] == "superseded" and body["superseded_by"] == str(new.pk) and body["superseded_at"]
    with scope(organisation=tenant.organisation):
        queued = AttestationReport.objects.create(organisation=tenant.organisation, assessment=final)
    pending = APIClient().get(verify_url(queued.pk)).json()
    assert pending["status"] == "not_ready" and pending["sha256"] is None and pending["issued_at"] is None
    upload = {"file": SimpleUploadedFile("r.pdf", b"%PDF-1.7", "application/pdf")}
    assert_error(APIClient().post(verify_url(queued.pk), upload, format="multipart"), 409, "conflict")


def test_verify_checks_an_uploaded_file_byte_for_byte(api, final, monkeypatch) -> None:
    content = b"%PDF-1.7\n% the issued report\n%%EOF\n"
    report = ready_report(api.tenant, final, content=content)
    anonymous = APIClient()

    def check(data: bytes):
        upload = {"file": SimpleUploadedFile("r.pdf", data, "application/pdf")}
        return anonymous.post(verify_url(report.pk), upload, format="multipart")

    assert check(content).json()["matches"] is True
    tampered = check(content.replace(b"issued", b"forged"))
    assert tampered.status_code == 200 and tampered.json()["matches"] is False
    assert_error(anonymous.post(verify_url(report.pk), {}, format="multipart"), 400, "validation_error", "file")
    monkeypatch.setattr(report_services, "VERIFY_MAX_BYTES", len(content) - 1)
    too_big = assert_error(check(content), 400, "validation_error", "file")
    assert "larger" in too_big["fields"]["file"][0]


def test_verify_is_limited_per_address_like_the_verify_page(api, final) -> None:
    report = ready_report(api.tenant, final)
    anonymous = APIClient()
    for n in range(report_services.VERIFY_LIMIT_PER_MINUTE):
        assert anonymous.get(verify_url(report.pk), REMOTE_ADDR="203.0.113.7").status_code == 200, n
    limited = anonymous.get(verify_url(report.pk), REMOTE_ADDR="203.0.113.7")
    assert_error(limited, 429, "throttled")
    assert int(limited["Retry-After"]) > 0
    # The page and the API share the count; another address is unaffected.
    assert anonymous.get(f"/verify/{report.pk}/", REMOTE_ADDR="203.0.113.7").status_code == 429
    assert anonymous.get(verify_url(report.pk), REMOTE_ADDR="198.51.100.9").status_code == 200
