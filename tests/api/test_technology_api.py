"""The technology register and new technology agreement API (assessments/technology_api.py): systems
(CRUD, search, notice, links, starting the DPIA) with the agreement's clocks on them, and the agreement's
drafts, adaptation and signing. Each call goes through assessments.technology, as the web pages do;
other organisations get 404, roles are refused per method, and errors point at the field to correct."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from rest_framework import serializers

from assessments import technology
from assessments.models import AgreementStatus, Plan, SystemLink, TechnologyAgreement, TechnologySystem
from assessments.technology_api import TechnologySystemSummarySerializer
from portal.models import AuditEvent
from tests.api.test_plans_api import assert_error
from tests.assessments.test_plans import new_plan
from tests.assessments.test_technology import agreement_in_force, register

pytestmark = pytest.mark.django_db

SUMMARY_FIELDS = [
    "id",
    "name",
    "supplier_name",
    "purpose",
    "sites",
    "teams",
    "go_live_on",
    "status",
    "worker_data",
    "monitors_people",
    "decisions",
    "processes_worker_data",
    "notice_given_on",
    "committee_met_on",
    "dpia_id",
    "dpia_status",
    "dpia_state",
    "attention",
    "attention_due",
    "created_at",
    "updated_at",
]
WRITERS = ["owner", "manager"]
NOT_WRITERS = ["workforce_rep", "auditor", "member"]


def systems(api) -> str:
    return f"{api.base}technology/systems/"


def agreements(api) -> str:
    return f"{api.base}technology/agreements/"


def stored(system: TechnologySystem) -> TechnologySystem:
    with scopes_disabled():
        return TechnologySystem.objects.get(pk=system.pk)


def verbs(tenant) -> list[str]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(organisation=tenant.organisation).values_list("verb", flat=True))


# --- the register ----------------------------------------------------------------------------------


def test_the_list_gives_every_system_by_name_with_search_and_status(api, tenant) -> None:
    register(tenant, name="Wearable sensors", supplier_name="Safe Air GmbH", status="live")
    register(tenant, name="Badge scanner", status="planned")
    register(tenant, name="Rota app", supplier_name="Rota Systems", status="piloting", worker_data="", decisions=[])
    client = api.client("member")

    body = client.get(systems(api)).json()
    assert [r["name"] for r in body["results"]] == ["Badge scanner", "Rota app", "Wearable sensors"]
    assert all(list(row) == SUMMARY_FIELDS for row in body["results"])
    row = body["results"][0]
    assert row["dpia_id"] is None and row["dpia_status"] is None and row["dpia_state"] == "Needed, not started"
    assert row["attention"] == "" and row["decisions"] == ["performance"] and row["monitors_people"] is True

    assert [r["name"] for r in client.get(f"{systems(api)}?q=safe+air").json()["results"]] == ["Wearable sensors"]
    assert [r["name"] for r in client.get(f"{systems(api)}?status=piloting").json()["results"]] == ["Rota app"]
    assert_error(client.get(f"{systems(api)}?status=nonsense"), 400, "validation_error", "status")


def test_list_rows_read_exactly_as_their_fields_say(api, tenant) -> None:
    system = register(tenant, go_live_on=timezone.localdate() + timedelta(days=30))
    technology.dpia_start(system=system, actor=tenant.manager)
    with scope(organisation=tenant.organisation):
        row = TechnologySystem.objects.get(pk=system.pk)
        fast = TechnologySystemSummarySerializer(row).data
        slow = serializers.ModelSerializer.to_representation(TechnologySystemSummarySerializer(), row)
    assert fast == slow
    assert list(fast) == SUMMARY_FIELDS


def test_owners_and_managers_register_a_system(api, tenant) -> None:
    body = {
        "name": "Shift allocation app",
        "supplier_name": "Rota Systems Ltd",
        "go_live_on": "2027-01-04",
        "status": "piloting",
        "monitors_people": True,
        "decisions": ["hiring", "allocation", "hiring"],
    }
    response = api.client("manager").post(systems(api), body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["decisions"] == ["allocation", "hiring"]
    assert created["clocks"] == [] and created["links"] == {"plans": [], "criteria": [], "evidence": []}
    assert created["go_live_on"] == "2027-01-04" and created["dpia_state"] == "Needed, not started"
    assert "technology.system_registered" in verbs(tenant)
    for role in NOT_WRITERS:
        response = api.client(role).post(systems(api), {**body, "name": role}, format="json")
        assert_error(response, 403, "permission_denied")


def test_register_errors_point_at_the_field(api) -> None:
    client = api.client("owner")
    assert_error(client.post(systems(api), {}, format="json"), 400, "validation_error", "name")
    assert_error(client.post(systems(api), {"name": "  "}, format="json"), 400, "validation_error", "name")
    assert_error(
        client.post(systems(api), {"name": "A", "go_live_on": "31/12/2026"}, format="json"),
        400,
        "validation_error",
        "go_live_on",
    )
    assert_error(
        client.post(systems(api), {"name": "A", "decisions": ["pay"]}, format="json"),
        400,
        "validation_error",
        "decisions.0",
    )
    assert_error(
        client.post(systems(api), {"name": "A", "organisation": "x"}, format="json"),
        400,
        "validation_error",
        "organisation",
    )
    assert client.post(systems(api), {"name": "Rota app"}, format="json").status_code == 201
    assert_error(client.post(systems(api), {"name": "Rota app"}, format="json"), 400, "validation_error", "name")


def test_detail_patch_and_delete(api, tenant) -> None:
    system = register(tenant)
    url = f"{systems(api)}{system.pk}/"
    assert api.client("auditor").get(url).json()["name"] == system.name

    response = api.client("owner").patch(url, {"status": "live", "sites": "Sheffield"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "live" and response.json()["sites"] == "Sheffield"
    assert response.json()["purpose"] == system.purpose  # unchanged: not sent
    assert stored(system).status == "live"
    assert_error(api.client("owner").patch(url, {"name": ""}, format="json"), 400, "validation_error", "name")
    for role in NOT_WRITERS:
        assert_error(api.client(role).patch(url, {"status": "retired"}, format="json"), 403, "permission_denied")
        assert_error(api.client(role).delete(url), 403, "permission_denied")

    assert api.client("manager").delete(url).status_code == 204
    with scopes_disabled():
        assert not TechnologySystem.objects.filter(pk=system.pk).exists()
    assert api.client("manager").get(url).status_code == 404


def test_a_system_with_a_dpia_is_not_deleted(api, tenant) -> None:
    system = register(tenant)
    response = api.client("manager").post(f"{systems(api)}{system.pk}/dpia/")
    assert response.status_code == 201, response.content
    plan_id = response.json()["id"]
    assert response.json()["url"].endswith(f"{api.base}plans/{plan_id}/")
    assert response["Location"] == response.json()["url"]
    assert api.client("manager").get(response.json()["url"]).json()["system"] == str(system.pk)

    detail = api.client("manager").get(f"{systems(api)}{system.pk}/").json()
    assert detail["dpia_id"] == plan_id and detail["dpia_status"] == "draft" and detail["dpia_state"] == "Draft"
    # An auditor sees that there is one, but not its id while it is not final.
    seen = api.client("auditor").get(f"{systems(api)}{system.pk}/").json()
    assert seen["dpia_id"] is None and seen["dpia_status"] == "draft"

    assert_error(api.client("manager").post(f"{systems(api)}{system.pk}/dpia/"), 409, "dpia_exists")
    assert_error(api.client("manager").delete(f"{systems(api)}{system.pk}/"), 409, "has_dpia")
    for role in NOT_WRITERS:
        assert_error(api.client(role).post(f"{systems(api)}{system.pk}/dpia/"), 403, "permission_denied")


def test_notice_moves_the_clocks_shown_on_the_system(api, tenant) -> None:
    agreement_in_force(tenant, notice_days=90, meeting_days=14)
    today = timezone.localdate()
    system = register(tenant, go_live_on=today + timedelta(days=60))
    url = f"{systems(api)}{system.pk}/"

    (clock,) = api.client("member").get(url).json()["clocks"]
    assert clock["key"] == "go_live" and clock["state"] == "breached" and clock["breach"] is True
    assert set(clock) == {"key", "title", "state", "due", "detail", "breach"}

    response = api.client("manager").patch(url, {"go_live_on": str(today + timedelta(days=120))}, format="json")
    (clock,) = response.json()["clocks"]
    assert clock["key"] == "notice" and clock["state"] == "due"
    assert clock["due"] == str(today + timedelta(days=30))
    assert response.json()["attention"] == "notice" and response.json()["attention_due"] == clock["due"]

    notice = str(today - timedelta(days=3))
    response = api.client("manager").post(f"{url}notice/", {"notice_given_on": notice}, format="json")
    assert response.status_code == 200, response.content
    by_key = {c["key"]: c for c in response.json()["clocks"]}
    assert by_key["notice"]["state"] == "running" and by_key["notice"]["due"] == str(today + timedelta(days=87))
    assert by_key["meeting"]["state"] == "due" and by_key["meeting"]["due"] == str(today + timedelta(days=11))
    assert response.json()["attention"] == "meeting"

    # Omitting the notice date keeps it; the committee's meeting is recorded.
    response = api.client("owner").post(f"{url}notice/", {"committee_met_on": str(today)}, format="json")
    assert response.json()["notice_given_on"] == notice and response.json()["committee_met_on"] == str(today)
    assert {c["key"]: c["state"] for c in response.json()["clocks"]}["meeting"] == "kept"
    assert "technology.notice_recorded" in verbs(tenant)


def test_notice_errors_point_at_the_field(api, tenant) -> None:
    system = register(tenant)
    url = f"{systems(api)}{system.pk}/notice/"
    client = api.client("manager")
    tomorrow = str(timezone.localdate() + timedelta(days=1))
    assert_error(
        client.post(url, {"notice_given_on": tomorrow}, format="json"), 400, "validation_error", "notice_given_on"
    )
    assert_error(
        client.post(url, {"committee_met_on": str(timezone.localdate())}, format="json"),
        400,
        "validation_error",
        "committee_met_on",
    )
    for role in NOT_WRITERS:
        assert_error(api.client(role).post(url, {"notice_given_on": None}, format="json"), 403, "permission_denied")


def test_links_replace_what_the_system_is_linked_to(api, tenant, framework, outsider) -> None:
    system = register(tenant)
    plan = new_plan(tenant)
    url = f"{systems(api)}{system.pk}/links/"
    with scopes_disabled():
        code = framework.criteria.order_by("code").values_list("code", flat=True).first()
    response = api.client("manager").put(url, {"plans": [str(plan.pk)], "criteria": [code]}, format="json")
    assert response.status_code == 200, response.content
    links = response.json()["links"]
    assert [p["id"] for p in links["plans"]] == [str(plan.pk)] and [c["code"] for c in links["criteria"]] == [code]
    assert links["evidence"] == []
    # An auditor does not see a plan that is not final.
    assert api.client("auditor").get(f"{systems(api)}{system.pk}/").json()["links"]["plans"] == []

    other = new_plan_of_outsider(outsider)
    assert_error(
        api.client("manager").put(url, {"plans": [str(other.pk)]}, format="json"), 400, "validation_error", "plans"
    )
    assert_error(
        api.client("manager").put(url, {"criteria": ["99.99"]}, format="json"), 400, "validation_error", "criteria"
    )
    with scopes_disabled():
        assert SystemLink.objects.filter(system_id=system.pk).count() == 2  # the refused calls changed nothing

    response = api.client("owner").put(url, {}, format="json")
    assert response.json()["links"] == {"plans": [], "criteria": [], "evidence": []}
    for role in NOT_WRITERS:
        assert_error(api.client(role).put(url, {}, format="json"), 403, "permission_denied")


def new_plan_of_outsider(outsider) -> Plan:
    from assessments import plans
    from assessments.models import PlanKind
    from portal.selectors import memberships_of_user

    (membership,) = memberships_of_user(outsider)
    return plans.plan_create(
        organisation=membership.organisation, actor=outsider, kind=PlanKind.DIGITALISATION, title="Theirs"
    )


def test_another_organisation_gets_404_everywhere(api, tenant, outsider_client) -> None:
    system = register(tenant)
    agreement = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA")
    s, a = f"{systems(api)}{system.pk}/", f"{agreements(api)}{agreement.pk}/"
    calls = [
        ("get", systems(api)),
        ("post", systems(api)),
        ("post", f"{systems(api)}import/"),
        ("get", s),
        ("patch", s),
        ("delete", s),
        ("post", f"{s}notice/"),
        ("put", f"{s}links/"),
        ("post", f"{s}dpia/"),
        ("get", agreements(api)),
        ("post", agreements(api)),
        ("get", a),
        ("patch", a),
        ("delete", a),
        ("post", f"{a}sign/"),
    ]
    for method, url in calls:
        response = getattr(outsider_client, method)(url, {}, format="json")
        assert_error(response, 404, "not_found")
    assert stored(system).name == system.name
    # And an id from another organisation is 404 inside one's own.
    assert api.client("owner").get(f"{systems(api)}{agreement.pk}/").status_code == 404


# --- the agreement ---------------------------------------------------------------------------------


def test_both_sides_draft_the_agreement_from_the_library(api, tenant) -> None:
    response = api.client("workforce_rep").post(
        agreements(api), {"title": "New technology agreement", "clause_keys": ["notice", "committee"]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["version"] == 1 and body["in_force_on"] is None
    assert [c["key"] for c in body["clauses"]] == ["notice", "committee"]
    notice = body["clauses"][0]
    assert notice["days"] == 90 and "{days}" in notice["text"] and "90 days" in notice["wording"]
    with scope(organisation=tenant.organisation):
        assert body["content_hash"] == technology.agreement_hash(TechnologyAgreement.objects.get(pk=body["id"]))
    assert body["signatures"] == {"management": None, "workforce": None}
    assert body["capacity"] == "workforce" and "workforce" in body["statement"]

    assert_error(api.client("manager").post(agreements(api), {"title": "Again"}, format="json"), 409, "draft_exists")
    assert_error(
        api.client("manager").post(agreements(api), {"title": "X", "clause_keys": ["pay"]}, format="json"),
        400,
        "validation_error",
        "clause_keys.0",
    )
    assert_error(api.client("manager").post(agreements(api), {}, format="json"), 400, "validation_error", "title")
    for role in ("auditor", "member"):
        assert_error(api.client(role).post(agreements(api), {"title": "X"}, format="json"), 403, "permission_denied")


def test_clauses_are_adapted_while_a_draft(api, tenant) -> None:
    agreement = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA")
    url = f"{agreements(api)}{agreement.pk}/"
    clauses = api.client("manager").get(url).json()["clauses"]
    edited = [{k: c[k] for k in ("key", "title", "text", "days")} for c in clauses]
    edited[0]["days"] = 60
    edited.append({"title": "Homeworking", "text": "No webcam monitoring at home."})
    response = api.client("workforce_rep").patch(url, {"title": "Our agreement", "clauses": edited}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Our agreement" and body["clauses"][0]["days"] == 60
    assert body["clauses"][-1] == {
        "position": len(edited),
        "key": "",
        "title": "Homeworking",
        "text": "No webcam monitoring at home.",
        "days": None,
        "wording": "No webcam monitoring at home.",
    }
    # The title alone: the clauses stay.
    response = api.client("owner").patch(url, {"title": "Our agreement, 2026"}, format="json")
    assert [c["title"] for c in response.json()["clauses"]] == [c["title"] for c in body["clauses"]]

    broken = [dict(c) for c in edited]
    broken[1]["text"] = ""
    broken[0]["text"] = "Notice will be given."  # the notice clause lost its {days}
    response = api.client("manager").patch(url, {"clauses": broken}, format="json")
    fields = assert_error(response, 400, "validation_error")["fields"]
    assert set(fields) == {"clauses.0.text", "clauses.1.text"}
    assert_error(
        api.client("manager").patch(url, {"clauses": [{"title": "T", "text": "x", "days": 0}]}, format="json"),
        400,
        "validation_error",
        "clauses.0.days",
    )
    assert_error(api.client("manager").patch(url, {"clauses": []}, format="json"), 400, "validation_error", "clauses")
    for role in ("auditor", "member"):
        assert_error(api.client(role).patch(url, {"title": "X"}, format="json"), 403, "permission_denied")
        assert_error(api.client(role).delete(url), 403, "permission_denied")


def test_signing_puts_the_agreement_in_force_and_a_stale_hash_is_refused(api, tenant) -> None:
    agreement = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA")
    url = f"{agreements(api)}{agreement.pk}/"
    read = api.client("manager").get(url).json()["content_hash"]
    response = api.client("manager").post(
        f"{url}sign/", {"typed_name": "Max Manager", "job_title": "Operations director", "content_hash": read}
    )
    assert response.status_code == 201, response.content
    management = response.json()["signatures"]["management"]
    assert management["typed_name"] == "Max Manager" and management["content_hash"] == read
    assert response.json()["status"] == "draft"
    assert_error(
        api.client("owner").post(f"{url}sign/", {"typed_name": "Olivia Owner", "content_hash": read}),
        409,
        "already_signed",
    )

    # The words change: the manager's signature no longer counts, and signing what was read is refused.
    api.client("workforce_rep").patch(url, {"title": "NTA, as agreed"}, format="json")
    response = api.client("workforce_rep").post(f"{url}sign/", {"typed_name": "Rita Rep", "content_hash": read})
    assert_error(response, 409, "content_changed")
    now = api.client("workforce_rep").get(url).json()
    assert now["content_hash"] != read and now["signatures"] == {"management": None, "workforce": None}

    for user, role in (("Rita Rep", "workforce_rep"), ("Max Manager", "manager")):
        response = api.client(role).post(f"{url}sign/", {"typed_name": user, "content_hash": now["content_hash"]})
        assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "in_force" and body["in_force_on"] == str(timezone.localdate())
    assert body["signatures"]["management"] and body["signatures"]["workforce"]
    assert "technology.agreement_in_force" in verbs(tenant)

    # In force: no more changes, signatures or deletion.
    assert_error(api.client("manager").patch(url, {"title": "X"}, format="json"), 409, "not_draft")
    assert_error(api.client("manager").delete(url), 409, "not_draft")
    assert_error(
        api.client("owner").post(f"{url}sign/", {"typed_name": "O", "content_hash": now["content_hash"]}),
        409,
        "not_draft",
    )


def test_sign_refusals_point_at_the_role_or_the_field(api, tenant) -> None:
    agreement = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA")
    url = f"{agreements(api)}{agreement.pk}/sign/"
    with scope(organisation=tenant.organisation):
        current = technology.agreement_hash(agreement)
    for role in ("auditor", "member"):
        assert_error(api.client(role).post(url, {"typed_name": "X", "content_hash": current}), 403, "permission_denied")
    assert_error(api.client("owner").post(url, {"content_hash": current}), 400, "validation_error", "typed_name")
    assert_error(
        api.client("owner").post(url, {"typed_name": "O", "content_hash": "abc"}),
        400,
        "validation_error",
        "content_hash",
    )
    assert_error(
        api.client("owner").post(url, {"typed_name": "O", "content_hash": current, "capacity": "workforce"}),
        400,
        "validation_error",
        "capacity",
    )
    with scopes_disabled():
        assert not technology.agreement_signatures(agreement)


def test_auditors_see_signed_versions_only(api, tenant) -> None:
    in_force = agreement_in_force(tenant)
    draft = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="Next")
    assert draft.version == 2
    listed = api.client("auditor").get(agreements(api)).json()["results"]
    assert [a["id"] for a in listed] == [str(in_force.pk)]
    assert listed[0]["status"] == AgreementStatus.IN_FORCE
    assert api.client("auditor").get(f"{agreements(api)}{draft.pk}/").status_code == 404
    assert [a["version"] for a in api.client("member").get(agreements(api)).json()["results"]] == [2, 1]
    # The draft of the next version starts from the clauses in force.
    body = api.client("member").get(f"{agreements(api)}{draft.pk}/").json()
    assert [c["days"] for c in body["clauses"]][:3] == [90, None, 14]
    assert body["capacity"] is None and body["statement"] is None

    assert api.client("manager").delete(f"{agreements(api)}{draft.pk}/").status_code == 204
    with scopes_disabled():
        assert not TechnologyAgreement.objects.filter(pk=draft.pk).exists()


# --- CSV import through the API ----------------------------------------------------------------------


def test_import_is_all_or_nothing_with_errors_by_row_and_column(api, tenant) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"{systems(api)}import/"
    bad = b"name,go_live_on,status\nRota app,2026-13-01,live\nBadge scanner,,someday\n"
    response = api.client("manager").post(url, {"file": SimpleUploadedFile("r.csv", bad)}, format="multipart")
    fields = assert_error(response, 400, "validation_error")["fields"]
    assert set(fields) == {"rows.2.go_live_on", "rows.3.status"}
    with scopes_disabled():
        assert not TechnologySystem.objects.filter(organisation=tenant.organisation).exists()

    good = b"name,status,decisions\nRota app,live,allocation;hiring\nBadge scanner,,\n"
    response = api.client("manager").post(url, {"file": SimpleUploadedFile("r.csv", good)}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json() == {"total_rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    response = api.client("manager").post(url, {"file": SimpleUploadedFile("r.csv", good)}, format="multipart")
    assert response.json() == {"total_rows": 2, "created": 0, "updated": 0, "unchanged": 2}

    assert_error(
        api.client("manager").post(url, {"file": SimpleUploadedFile("r.csv", b"colour\nred\n")}, format="multipart"),
        400,
        "validation_error",
        "file",
    )
    for role in NOT_WRITERS:
        response = api.client(role).post(url, {"file": SimpleUploadedFile("r.csv", good)}, format="multipart")
        assert_error(response, 403, "permission_denied")
