"""The plans and review API (assessments/plan_api.py): plans and their sections, meetings, the EqIA,
versions; comments, change requests and signatures on plans and assessments. Each call goes through
the same services as the web pages; these tests check the effect in the database."""

from __future__ import annotations

from datetime import date

import pytest
from django_scopes import scope, scopes_disabled

from assessments import plans, services, workflow
from assessments.models import (
    ActionItem,
    AssessmentStatus,
    ChangeRequest,
    Characteristic,
    ConsultationMeeting,
    EqiaOutcome,
    Impact,
    Plan,
    PlanKind,
    Response,
    ReviewComment,
)
from portal.models import AuditEvent, Membership, Signature, SignatureDecision
from portal.roles import Role
from portal.signing import SigningContext, signature_record
from tests.api.conftest import make_token, token_client
from tests.assessments.conftest import responses_by_code
from tests.assessments.test_plans import complete, new_plan, sign, submitted
from tests.factories import UserFactory, add_member
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


# --- helpers ---------------------------------------------------------------------------------


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code, body
    assert body["message"]
    if field is not None:
        assert field in body["fields"], body
        assert all(isinstance(m, str) for m in body["fields"][field])
    return body


def count_queries(client, url: str, expected: int) -> None:
    """The call runs exactly `expected` queries (within the budget).

    Every call pays 1: the token with its user, organisation and membership; then the endpoint's own reads."""
    client.get(url)  # the token's first use of the minute records when it was last used
    with assert_queries(expected, url):
        response = client.get(url)
    assert response.status_code == 200, response.content


def reload(plan: Plan) -> Plan:
    with scope(organisation=plan.organisation):
        return Plan.objects.select_related("organisation").get(pk=plan.pk)


def audit_verbs(tenant) -> list[str]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(organisation=tenant.organisation).values_list("verb", flat=True))


def signatures(subject) -> list[Signature]:
    with scopes_disabled():
        return list(Signature.objects.filter(subject_id=subject.pk).select_related("signer").order_by("signed_at"))


@pytest.fixture
def plan(tenant) -> Plan:
    return new_plan(tenant)


@pytest.fixture
def in_review_plan(tenant, plan) -> Plan:
    return submitted(plan, tenant)


@pytest.fixture
def final_plan(tenant, in_review_plan) -> Plan:
    sign(in_review_plan, tenant.rep)
    sign(in_review_plan, tenant.manager)
    assert in_review_plan.status == AssessmentStatus.FINAL
    return in_review_plan


@pytest.fixture
def in_review_assessment(tenant, framework):
    assessment = services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=tenant.manager, maturity=1, narrative="Some", evidence_ids=[])
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    return assessment


# --- plans: list and create --------------------------------------------------------------------


def test_plan_list_filters_and_auditors_see_only_final_plans(api, tenant, final_plan) -> None:
    new_plan(tenant, "Retraining for line 3")
    plans.plan_create(organisation=tenant.organisation, actor=tenant.manager, kind=PlanKind.DATA_USE, title="Data")

    body = api.client("manager").get(f"{api.base}plans/").json()
    assert {p["title"] for p in body["results"]} == {"Cobots on line 3", "Retraining for line 3", "Data"}
    assert body["results"][0]["title"] == "Data"  # newest first
    assert body["results"][0]["created_by"] == {"email": tenant.manager.email, "full_name": tenant.manager.full_name}

    data_only = api.client("member").get(f"{api.base}plans/?kind=data_use").json()["results"]
    assert [p["title"] for p in data_only] == ["Data"]
    finals = api.client("member").get(f"{api.base}plans/?status=final").json()["results"]
    assert [p["id"] for p in finals] == [str(final_plan.pk)]

    auditor = api.client("auditor").get(f"{api.base}plans/").json()["results"]
    assert [p["id"] for p in auditor] == [str(final_plan.pk)]

    assert_error(api.client("member").get(f"{api.base}plans/?status=nonsense"), 400, "validation_error", "status")


def test_plan_list_is_refused_to_outsiders(api, plan, outsider_client) -> None:
    assert_error(outsider_client.get(f"{api.base}plans/"), 404, "not_found")
    assert_error(outsider_client.get(f"{api.base}plans/{plan.pk}/"), 404, "not_found")


def test_plan_list_query_count_does_not_grow_with_plans(api, tenant) -> None:
    client = api.client("manager")
    new_plan(tenant, "One")
    # 2 + one page of plans
    count_queries(client, f"{api.base}plans/", 2)
    for n in range(3):
        new_plan(tenant, f"More {n}")
    count_queries(client, f"{api.base}plans/", 2)


def test_create_plan(api, tenant) -> None:
    response = api.client("manager").post(f"{api.base}plans/", {"kind": "retraining", "title": "  Upskilling  "})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "Upskilling" and body["status"] == "draft" and body["version"] == 1
    assert {p["section"] for p in body["problems"]} >= {"technology", "equality"}
    assert len(body["content_hash"]) == 64
    with scope(organisation=tenant.organisation):
        plan = Plan.objects.get(pk=body["id"])
        assert (plan.kind, plan.created_by) == (PlanKind.RETRAINING, tenant.manager)
        assert plan.eqia.rows.count() == len(Characteristic.values)
    assert "plan.created" in audit_verbs(tenant)


@pytest.mark.parametrize("role", ["member", "workforce_rep", "auditor"])
def test_create_plan_needs_an_editor(api, tenant, role) -> None:
    response = api.client(role).post(f"{api.base}plans/", {"kind": "retraining", "title": "Upskilling"})
    assert_error(response, 403, "permission_denied")
    with scope(organisation=tenant.organisation):
        assert not Plan.objects.exists()


def test_create_plan_validation(api, tenant, outsider_client) -> None:
    client = api.client("manager")
    body = assert_error(client.post(f"{api.base}plans/", {"kind": "robots", "title": ""}), 400, "validation_error")
    assert set(body["fields"]) == {"kind", "title"}
    assert body["fields"]["title"] == ["Enter a title for the plan"]
    # The organisation comes from the URL, never from the body.
    smuggled = client.post(
        f"{api.base}plans/", {"kind": "retraining", "title": "X", "organisation": "northern", "created_by": 1}
    )
    assert_error(smuggled, 400, "validation_error", "organisation")
    assert_error(outsider_client.post(f"{api.base}plans/", {"kind": "retraining", "title": "X"}), 404, "not_found")
    with scope(organisation=tenant.organisation):
        assert not Plan.objects.exists()


# --- plans: detail and section updates ----------------------------------------------------------


def test_patch_updates_sections_through_the_service(api, tenant, plan) -> None:
    response = api.client("manager").patch(
        f"{api.base}plans/{plan.pk}/",
        {
            "technology": "Two cobots",
            "shared_on": "2026-03-02",
            "consultation_outcome": "agreed_with_conditions",
            "consultation_conditions": "No redundancies",
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["technology"] == "Two cobots" and body["shared_on"] == "2026-03-02"
    plan = reload(plan)
    assert plan.technology == "Two cobots"
    assert plan.shared_on == date(2026, 3, 2)
    assert plan.consultation_conditions == "No redundancies"
    with scopes_disabled():
        labels = set(
            AuditEvent.objects.filter(organisation=tenant.organisation, verb="plan.updated").values_list(
                "target_label", flat=True
            )
        )
    assert labels == {"Cobots on line 3: The technology and why", "Cobots on line 3: Consultation with the workforce"}


def test_patch_validation_errors_name_the_field(api, plan) -> None:
    client = api.client("manager")
    url = f"{api.base}plans/{plan.pk}/"
    body = assert_error(client.patch(url, {"title": "Renamed", "technology": "x"}), 400, "validation_error", "title")
    assert "technology" not in body["fields"]
    assert_error(client.patch(url, {"consultation_outcome": "maybe"}), 400, "validation_error", "consultation_outcome")
    assert_error(client.patch(url, {"shared_on": "yesterday"}), 400, "validation_error", "shared_on")
    # The service's own rule: conditions must be written down.
    conditions = client.patch(url, {"consultation_outcome": "agreed_with_conditions"})
    assert_error(conditions, 400, "validation_error", "consultation_conditions")
    assert_error(client.patch(url, {}), 400, "validation_error")
    assert_error(
        client.patch(url, {"evidence": ["5b0b7f4e-2a52-4f0c-9f55-0b7b43c5e1a1"]}), 400, "validation_error", "evidence"
    )
    plan = reload(plan)
    assert (plan.technology, plan.consultation_outcome) == ("", "")


def test_patch_refused_for_readers_outsiders_and_locked_plans(api, tenant, in_review_plan, outsider_client) -> None:
    url = f"{api.base}plans/{in_review_plan.pk}/"
    assert_error(api.client("workforce_rep").patch(url, {"technology": "x"}), 403, "permission_denied")
    assert_error(outsider_client.patch(url, {"technology": "x"}), 404, "not_found")
    locked = assert_error(api.client("manager").patch(url, {"technology": "Rewritten"}), 409, "not_editable")
    assert "cannot be edited" in locked["message"]
    assert reload(in_review_plan).technology == "Two collaborative robots on line 3"
    assert api.client("auditor").get(url).status_code == 404  # not final yet
    detail = api.client("workforce_rep").get(url).json()
    assert detail["status"] == "in_review" and detail["problems"] == []
    assert detail["content_hash"] == workflow.subject_hash(in_review_plan)


# --- submit, amend, changes ---------------------------------------------------------------------


def test_submit_names_each_missing_section_then_sends_for_review(api, tenant, plan) -> None:
    client = api.client("manager")
    url = f"{api.base}plans/{plan.pk}/submit/"
    body = assert_error(client.post(url), 400, "validation_error", "technology")
    assert set(body["fields"]) == {"technology", "consultation", "health_safety", "skills", "data", "jobs", "equality"}
    assert reload(plan).status == AssessmentStatus.DRAFT

    complete(plan, tenant)
    assert_error(api.client("member").post(url), 403, "permission_denied")
    response = client.post(url)
    assert response.status_code == 200, response.content
    assert response.json()["notified"] == [tenant.rep.email]
    assert response.json()["plan"]["status"] == "in_review"
    plan = reload(plan)
    assert (plan.status, plan.submitted_by) == (AssessmentStatus.IN_REVIEW, tenant.manager)
    assert "plan.submitted" in audit_verbs(tenant)

    assert_error(client.post(url), 409, "not_editable")


def test_submit_is_refused_to_outsiders(api, plan, outsider_client) -> None:
    assert_error(outsider_client.post(f"{api.base}plans/{plan.pk}/submit/"), 404, "not_found")


def test_amend_starts_a_new_version_of_a_final_plan(api, tenant, final_plan, outsider_client) -> None:
    url = f"{api.base}plans/{final_plan.pk}/amend/"
    assert_error(api.client("workforce_rep").post(url), 403, "permission_denied")
    assert_error(outsider_client.post(url), 404, "not_found")
    response = api.client("manager").post(url)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["status"], body["family_id"]) == (2, "draft", str(final_plan.family_id))
    with scope(organisation=tenant.organisation):
        new = Plan.objects.get(pk=body["id"])
        assert new.technology == final_plan.technology and new.eqia.rows.exclude(impact="").count() == 11
    assert reload(final_plan).status == AssessmentStatus.FINAL
    # Only the newest version is amended, and only a final one.
    assert_error(api.client("manager").post(url), 409, "newer_version")
    assert_error(api.client("manager").post(f"{api.base}plans/{new.pk}/amend/"), 409, "not_final")


def test_changes_compare_with_the_previous_version_in_readable_words(api, tenant, final_plan, outsider_client) -> None:
    client = api.client("manager")
    assert_error(client.get(f"{api.base}plans/{final_plan.pk}/changes/"), 404, "not_found")
    new_id = client.post(f"{api.base}plans/{final_plan.pk}/amend/").json()["id"]
    client.patch(f"{api.base}plans/{new_id}/", {"technology": "Three cobots", "consultation_outcome": "not_agreed"})

    response = client.get(f"{api.base}plans/{new_id}/changes/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["old_version"], body["new_version"]) == (1, 2)
    by_section = {s["section"]: s for s in body["sections"]}
    assert not by_section["skills"]["changed"]
    technology = by_section["technology"]
    assert technology["title"] == "The technology and why" and technology["changed"]
    assert {"change": "removed", "text": "Two collaborative robots on line 3"} in technology["lines"]
    assert {"change": "added", "text": "Three cobots"} in technology["lines"]
    assert {"change": "unchanged", "text": "The technology and what it will do:"} in technology["lines"]
    assert {"change": "added", "text": "Not agreed"} in by_section["consultation"]["lines"]

    assert_error(client.get(f"{api.base}plans/{new_id}/changes/?against=7"), 400, "validation_error", "against")
    assert_error(outsider_client.get(f"{api.base}plans/{new_id}/changes/"), 404, "not_found")
    # Auditors see final versions only: the draft version 2 is not theirs to compare.
    assert_error(api.client("auditor").get(f"{api.base}plans/{new_id}/changes/"), 404, "not_found")


# --- meetings -----------------------------------------------------------------------------------


def test_meetings_add_list_and_delete(api, tenant, plan) -> None:
    client = api.client("manager")
    url = f"{api.base}plans/{plan.pk}/meetings/"
    response = client.post(url, {"held_on": "2026-03-09", "participants": " Unite reps, HR ", "notes": "Layouts"})
    assert response.status_code == 201, response.content
    meeting_id = response.json()["id"]
    with scope(organisation=tenant.organisation):
        meeting = ConsultationMeeting.objects.get(pk=meeting_id)
        assert (meeting.plan_id, meeting.participants, meeting.held_on) == (plan.pk, "Unite reps, HR", date(2026, 3, 9))
    listed = api.client("member").get(url).json()["results"]
    assert [m["id"] for m in listed] == [meeting_id]

    assert_error(api.client("member").delete(f"{url}{meeting_id}/"), 403, "permission_denied")
    assert client.delete(f"{url}{meeting_id}/").status_code == 204
    with scope(organisation=tenant.organisation):
        assert not ConsultationMeeting.objects.exists()
    assert {"plan.meeting_added", "plan.meeting_removed"} <= set(audit_verbs(tenant))
    assert_error(client.delete(f"{url}{meeting_id}/"), 404, "not_found")


def test_meeting_validation_roles_outsiders_and_locked_plans(api, tenant, plan, outsider_client) -> None:
    url = f"{api.base}plans/{plan.pk}/meetings/"
    body = assert_error(
        api.client("manager").post(url, {"held_on": "soon", "participants": "  "}), 400, "validation_error", "held_on"
    )
    assert body["fields"]["held_on"]
    blank = assert_error(
        api.client("manager").post(url, {"held_on": "2026-03-09", "participants": " "}),
        400,
        "validation_error",
        "participants",
    )
    assert blank["fields"]["participants"] == ["Say who took part"]
    assert_error(
        api.client("workforce_rep").post(url, {"held_on": "2026-03-09", "participants": "x"}), 403, "permission_denied"
    )
    assert_error(outsider_client.get(url), 404, "not_found")
    assert_error(outsider_client.post(url, {"held_on": "2026-03-09", "participants": "x"}), 404, "not_found")
    plans.meeting_add(plan=plan, actor=tenant.manager, held_on=date(2026, 3, 1), participants="Reps", notes="")
    submitted(plan, tenant)
    assert_error(api.client("manager").post(url, {"held_on": "2026-03-09", "participants": "x"}), 409, "not_editable")
    with scope(organisation=tenant.organisation):
        meeting = ConsultationMeeting.objects.get()
    assert_error(api.client("manager").delete(f"{url}{meeting.pk}/"), 409, "not_editable")
    with scope(organisation=tenant.organisation):
        assert ConsultationMeeting.objects.count() == 1


def test_meeting_list_query_count_does_not_grow(api, tenant, plan) -> None:
    url = f"{api.base}plans/{plan.pk}/meetings/"
    plans.meeting_add(plan=plan, actor=tenant.manager, held_on=date(2026, 3, 1), participants="Reps", notes="")
    # 2 + the plan, one page of meetings
    count_queries(api.client("member"), url, 3)
    for day in range(2, 5):
        plans.meeting_add(plan=plan, actor=tenant.manager, held_on=date(2026, 3, day), participants="Reps", notes="")
    count_queries(api.client("member"), url, 3)


# --- equality impact assessment -------------------------------------------------------------


def eqia_rows(**overrides: dict) -> list[dict]:
    return [
        {"characteristic": c, "impact": "neutral", "evidence": "Staff survey", "mitigation": "", **overrides.get(c, {})}
        for c in Characteristic.values
    ]


def test_eqia_read_and_replace(api, tenant, plan) -> None:
    url = f"{api.base}plans/{plan.pk}/eqia/"
    body = api.client("member").get(url).json()
    assert [r["characteristic"] for r in body["rows"]] == Characteristic.values
    assert body["rows"][0] == {
        "characteristic": "age",
        "characteristic_label": "Age",
        "impact": "",
        "evidence": "",
        "mitigation": "",
        "owner": None,
    }
    assert body["outcome"] == "" and body["outcome_label"] == ""

    payload = {
        "outcome": "adjust",
        "justification": "",
        "rows": eqia_rows(age={"impact": "negative", "mitigation": "Lift-assist", "owner": tenant.rep.email.upper()}),
    }
    response = api.client("manager").put(url, payload)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["outcome_label"] == "Adjust the plan"
    assert body["rows"][0]["owner"] == {"email": tenant.rep.email, "full_name": tenant.rep.full_name}
    with scope(organisation=tenant.organisation):
        eqia = Plan.objects.get(pk=plan.pk).eqia
        assert eqia.outcome == EqiaOutcome.ADJUST
        age = eqia.rows.get(characteristic="age")
        assert (age.impact, age.owner) == (Impact.NEGATIVE, tenant.rep)
        action = ActionItem.objects.get(plan=plan)
        assert (action.title, action.owner, action.source) == ("Age: Lift-assist", tenant.rep, "eqia:age")
    assert "eqia.updated" in audit_verbs(tenant)


def test_eqia_errors_point_at_the_row(api, tenant, plan) -> None:
    client = api.client("manager")
    url = f"{api.base}plans/{plan.pk}/eqia/"
    # A negative impact needs a mitigation: the service's rule, reported at the row sent.
    rows_sent = list(reversed(eqia_rows(age={"impact": "negative"})))
    body = assert_error(
        client.put(url, {"outcome": "no_major_change", "rows": rows_sent}),
        400,
        "validation_error",
        "rows.10.mitigation",
    )
    assert "age" in body["fields"]["rows.10.mitigation"][0]
    assert_error(
        client.put(url, {"outcome": "continue", "rows": eqia_rows()}), 400, "validation_error", "justification"
    )
    assert_error(
        client.put(url, {"rows": eqia_rows(race={"owner": "nobody@elsewhere.example"})}),
        400,
        "validation_error",
        "rows.5.owner",
    )
    # Auditors cannot own mitigations, as on the page.
    assert_error(
        client.put(url, {"rows": eqia_rows(race={"owner": tenant.auditor.email})}),
        400,
        "validation_error",
        "rows.5.owner",
    )
    assert_error(
        client.put(url, {"rows": eqia_rows(sex={"impact": "awful"})}), 400, "validation_error", "rows.7.impact"
    )
    assert_error(client.put(url, {"rows": eqia_rows()[:-1]}), 400, "validation_error", "rows")
    duplicated = [*eqia_rows(), {"characteristic": "age"}]
    assert_error(client.put(url, {"rows": duplicated}), 400, "validation_error", "rows.11.characteristic")
    assert_error(client.put(url, {"rows": eqia_rows(age={"owner_id": 1})}), 400, "validation_error", "rows.0.owner_id")
    with scope(organisation=tenant.organisation):
        assert not Plan.objects.get(pk=plan.pk).eqia.rows.exclude(impact="").exists()


def test_eqia_refused_for_readers_outsiders_and_locked_plans(api, tenant, plan, outsider_client) -> None:
    url = f"{api.base}plans/{plan.pk}/eqia/"
    assert_error(api.client("workforce_rep").put(url, {"rows": eqia_rows()}), 403, "permission_denied")
    assert_error(outsider_client.get(url), 404, "not_found")
    assert_error(outsider_client.put(url, {"rows": eqia_rows()}), 404, "not_found")
    submitted(plan, tenant)
    assert_error(api.client("manager").put(url, {"rows": eqia_rows(age={"impact": "positive"})}), 409, "not_editable")
    with scope(organisation=tenant.organisation):
        assert Plan.objects.get(pk=plan.pk).eqia.rows.get(characteristic="age").impact == Impact.NEUTRAL


# --- comments ---------------------------------------------------------------------------------


def test_comments_on_a_plan_reply_and_resolve(api, tenant, in_review_plan) -> None:
    url = f"{api.base}plans/{in_review_plan.pk}/comments/"
    response = api.client("workforce_rep").post(url, {"anchor": "jobs", "body": "Which six roles?"})
    assert response.status_code == 201, response.content
    first = response.json()
    assert first["author"] == {"email": tenant.rep.email, "full_name": tenant.rep.full_name}
    reply = api.client("manager").post(url, {"body": "Operators on line 3", "parent": first["id"]})
    assert reply.status_code == 201, reply.content
    assert reply.json()["anchor"] == "jobs" and reply.json()["parent"] == first["id"]

    resolved = api.client("manager").post(f"{url}{first['id']}/resolve/")
    assert resolved.status_code == 200, resolved.content
    assert resolved.json()["resolved_by"]["email"] == tenant.manager.email
    with scope(organisation=tenant.organisation):
        comment = ReviewComment.objects.get(pk=first["id"])
        assert (comment.subject_type, comment.author, comment.resolved_by) == ("plan", tenant.rep, tenant.manager)
        assert ReviewComment.objects.get(pk=reply.json()["id"]).parent_id == comment.pk

    listed = api.client("member").get(url).json()["results"]
    assert [c["body"] for c in listed] == ["Which six roles?", "Operators on line 3"]
    open_only = api.client("member").get(f"{url}?resolved=false").json()["results"]
    assert [c["body"] for c in open_only] == ["Operators on line 3"]
    assert {"comment.added", "comment.resolved"} <= set(audit_verbs(tenant))


def test_comments_on_an_assessment_use_criterion_codes(api, tenant, in_review_assessment) -> None:
    url = f"{api.base}assessments/{in_review_assessment.pk}/comments/"
    response = api.client("workforce_rep").post(url, {"anchor": "1.1", "body": "Evidence?"})
    assert response.status_code == 201, response.content
    with scope(organisation=tenant.organisation):
        comment = ReviewComment.objects.get()
        assert (comment.subject_type, comment.subject_id, comment.anchor) == (
            "assessment",
            in_review_assessment.pk,
            "1.1",
        )
    assert_error(
        api.client("workforce_rep").post(url, {"anchor": "jobs", "body": "x"}), 400, "validation_error", "anchor"
    )
    # A plan's id under assessments/ is not found (and the other way round).
    assert_error(
        api.client("workforce_rep").get(f"{api.base}plans/{in_review_assessment.pk}/comments/"), 404, "not_found"
    )


def test_comment_refusals(api, tenant, in_review_plan, outsider_client) -> None:
    url = f"{api.base}plans/{in_review_plan.pk}/comments/"
    for role in ("member", "auditor"):
        assert_error(api.client(role).post(url, {"anchor": "jobs", "body": "Hello"}), 403, "permission_denied")
    assert_error(outsider_client.get(url), 404, "not_found")
    assert_error(outsider_client.post(url, {"anchor": "jobs", "body": "Hello"}), 404, "not_found")
    body = assert_error(api.client("workforce_rep").post(url, {"anchor": "jobs", "body": ""}), 400, "validation_error")
    assert body["fields"] == {"body": ["Write your comment"]}
    assert_error(
        api.client("workforce_rep").post(url, {"anchor": "nowhere", "body": "x"}), 400, "validation_error", "anchor"
    )
    assert_error(
        api.client("workforce_rep").post(url, {"body": "x", "parent": "5b0b7f4e-2a52-4f0c-9f55-0b7b43c5e1a1"}),
        400,
        "validation_error",
        "parent",
    )
    comment = workflow.comment_add(subject=in_review_plan, author=tenant.rep, anchor="jobs", body="Hi")
    assert_error(api.client("member").post(f"{url}{comment.pk}/resolve/"), 403, "permission_denied")
    assert_error(outsider_client.post(f"{url}{comment.pk}/resolve/"), 404, "not_found")
    with scope(organisation=tenant.organisation):
        assert ReviewComment.objects.get().resolved_at is None
        assert ReviewComment.objects.count() == 1


def test_comment_list_query_count_does_not_grow(api, tenant, in_review_plan) -> None:
    url = f"{api.base}plans/{in_review_plan.pk}/comments/"
    first = workflow.comment_add(subject=in_review_plan, author=tenant.rep, anchor="jobs", body="One")
    workflow.comment_resolve(comment=first, actor=tenant.manager)
    # 2 + the plan, one page of comments with their authors
    count_queries(api.client("member"), url, 3)
    for n in range(3):
        workflow.comment_add(
            subject=in_review_plan, author=tenant.manager, anchor="data", body=f"More {n}", parent=first
        )
    count_queries(api.client("member"), url, 3)


# --- change requests --------------------------------------------------------------------------


def test_change_request_and_answer(api, tenant, in_review_plan, outsider_client) -> None:
    url = f"{api.base}plans/{in_review_plan.pk}/change-requests/"
    assert_error(api.client("manager").post(url, {"reasons": "x"}), 403, "permission_denied")
    assert_error(outsider_client.post(url, {"reasons": "x"}), 404, "not_found")
    body = assert_error(api.client("workforce_rep").post(url, {"reasons": "  "}), 400, "validation_error", "reasons")
    assert body["fields"]["reasons"] == ["Say what needs to change, and why"]

    response = api.client("workforce_rep").post(url, {"reasons": "Name the six roles"})
    assert response.status_code == 201, response.content
    request_id = response.json()["id"]
    assert response.json()["requested_by"]["email"] == tenant.rep.email
    assert reload(in_review_plan).status == AssessmentStatus.CHANGES_REQUESTED
    assert_error(api.client("workforce_rep").post(url, {"reasons": "Again"}), 409, "not_in_review")

    answer_url = f"{url}{request_id}/answer/"
    assert_error(api.client("workforce_rep").post(answer_url, {"answer": "x"}), 403, "permission_denied")
    assert_error(outsider_client.post(answer_url, {"answer": "x"}), 404, "not_found")
    assert_error(api.client("manager").post(answer_url, {}), 400, "validation_error", "answer")
    answered = api.client("manager").post(answer_url, {"answer": "Listed in the jobs section"})
    assert answered.status_code == 200, answered.content
    assert answered.json()["answered_by"]["email"] == tenant.manager.email
    with scope(organisation=tenant.organisation):
        change_request = ChangeRequest.objects.get(pk=request_id)
        assert (change_request.requested_by, change_request.answer) == (tenant.rep, "Listed in the jobs section")
    listed = api.client("auditor").get(url)
    assert listed.status_code == 404  # auditors see final items only
    assert [r["id"] for r in api.client("member").get(url).json()["results"]] == [request_id]


def test_change_request_list_query_count_does_not_grow(api, tenant, in_review_assessment) -> None:
    url = f"{api.base}assessments/{in_review_assessment.pk}/change-requests/"

    def request_changes(n: int) -> None:
        change = workflow.changes_request(subject=in_review_assessment, actor=tenant.rep, reasons=f"Reason {n}")
        workflow.change_request_answer(change_request=change, actor=tenant.manager, answer="Done")
        services.assessment_submit(assessment=in_review_assessment, actor=tenant.manager)

    request_changes(0)
    # 2 + the assessment, one page of change requests with the people named
    count_queries(api.client("member"), url, 3)
    for n in range(1, 4):
        request_changes(n)
    count_queries(api.client("member"), url, 3)
    assert len(api.client("member").get(url).json()["results"]) == 4


# --- signatures -------------------------------------------------------------------------------


def sign_body(content_hash: str, decision: str = "sign", **extra) -> dict:
    return {"decision": decision, "typed_name": "Pat Example", "content_hash": content_hash, **extra}


def snapshot_hash_of(api, role: str, kind: str, subject) -> str:
    response = api.client(role).get(f"{api.base}{kind}/{subject.pk}/snapshot/")
    assert response.status_code == 200, response.content
    return response.json()["content_hash"]


def test_signing_a_plan_through_the_api_makes_it_final(api, tenant, in_review_plan) -> None:
    url = f"{api.base}plans/{in_review_plan.pk}/signatures/"
    snapshot = api.client("manager").get(f"{api.base}plans/{in_review_plan.pk}/snapshot/").json()
    assert snapshot["capacity"] == "management" and "For the management of" in snapshot["statement"]
    assert snapshot["snapshot"]["sections"]["technology"]["technology"] == "Two collaborative robots on line 3"
    assert snapshot["content_hash"] == workflow.subject_hash(in_review_plan)
    assert api.client("member").get(f"{api.base}plans/{in_review_plan.pk}/snapshot/").json()["capacity"] is None

    response = api.client("manager").post(url, sign_body(snapshot["content_hash"], job_title="Operations manager"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["capacity"], body["decision"], body["valid"], body["counts"]) == ("management", "sign", True, True)
    assert body["auth_methods"] == ["api_token"] and body["signer_email"] == tenant.manager.email
    (signature,) = signatures(in_review_plan)
    assert (signature.signer, signature.signer_role, signature.auth_methods) == (
        tenant.manager,
        "manager",
        ["api_token"],
    )
    assert "signature.sign" in audit_verbs(tenant)

    rep = api.client("workforce_rep").post(
        url, sign_body(snapshot["content_hash"], "sign_with_reservations", reservations="Review in six months")
    )
    assert rep.status_code == 201, rep.content
    assert rep.json()["capacity"] == "workforce"
    assert reload(in_review_plan).status == AssessmentStatus.FINAL

    listed = api.client("auditor").get(url).json()["results"]
    assert [(s["capacity"], s["valid"]) for s in listed] == [("management", True), ("workforce", True)]
    detail = api.client("auditor").get(f"{url}{body['id']}/")
    assert detail.status_code == 200 and detail.json()["typed_name"] == "Pat Example"


def test_a_token_never_signs_for_someone_else(api, tenant, in_review_plan) -> None:
    url = f"{api.base}plans/{in_review_plan.pk}/signatures/"
    content_hash = workflow.subject_hash(in_review_plan)
    client = api.client("manager")
    for field, value in [
        ("signer", tenant.owner.email),
        ("user", tenant.owner.email),
        ("signer_email", tenant.rep.email),
        ("capacity", "workforce"),
        ("signer_role", "owner"),
        ("organisation", "northern"),
    ]:
        assert_error(client.post(url, sign_body(content_hash, **{field: value})), 400, "validation_error", field)
    assert signatures(in_review_plan) == []

    # The owner's token narrowed to "member" cannot sign at all, although the owner could.
    member_token = token_client(make_token(tenant.owner, tenant.organisation, role="member"))
    assert_error(member_token.post(url, sign_body(content_hash)), 403, "permission_denied")
    # An auditor or member has no capacity to sign.
    assert_error(api.client("auditor").post(url, sign_body(content_hash)), 404, "not_found")  # not final: invisible
    assert_error(api.client("member").post(url, sign_body(content_hash)), 403, "permission_denied")

    # The owner's manager-role token signs as the owner, for management.
    manager_token = token_client(make_token(tenant.owner, tenant.organisation, role="manager"))
    assert manager_token.post(url, sign_body(content_hash)).status_code == 201
    (signature,) = signatures(in_review_plan)
    assert (signature.signer, signature.signer_email, signature.capacity) == (
        tenant.owner,
        tenant.owner.email,
        "management",
    )


@pytest.mark.parametrize(("first", "becomes"), [(Role.MANAGER, Role.WORKFORCE_REP), (Role.WORKFORCE_REP, Role.MANAGER)])
def test_nobody_signs_one_item_for_both_sides(api, tenant, in_review_plan, first, becomes) -> None:
    url = f"{api.base}plans/{in_review_plan.pk}/signatures/"
    person = tenant.user(first)
    content_hash = workflow.subject_hash(in_review_plan)
    assert api.client(first.value).post(url, sign_body(content_hash)).status_code == 201
    with scope(organisation=tenant.organisation):
        Membership.objects.filter(organisation=tenant.organisation, user=person).update(role=becomes)
    # The old token no longer matches the person's role; a new one carries the new role.
    assert_error(api.client(first.value).post(url, sign_body(content_hash)), 403, "token_role_exceeded")
    new_token = token_client(make_token(person, tenant.organisation))
    body = assert_error(new_token.post(url, sign_body(content_hash)), 403, "separation_of_duties")
    assert "both" in body["message"]
    assert len(signatures(in_review_plan)) == 1
    assert reload(in_review_plan).status == AssessmentStatus.IN_REVIEW


def test_signing_what_you_did_not_see_is_refused(api, tenant, in_review_plan, outsider_client) -> None:
    url = f"{api.base}plans/{in_review_plan.pk}/signatures/"
    seen = workflow.subject_hash(in_review_plan)
    with scope(organisation=tenant.organisation):
        Plan.objects.filter(pk=in_review_plan.pk).update(technology="Changed behind your back")
    body = assert_error(api.client("manager").post(url, sign_body(seen)), 409, "content_changed")
    assert "changed" in body["message"]
    assert signatures(in_review_plan) == []

    assert_error(api.client("manager").post(url, sign_body("abc")), 400, "validation_error", "content_hash")
    assert_error(api.client("manager").post(url, {"content_hash": seen}), 400, "validation_error", "decision")
    current = workflow.subject_hash(reload(in_review_plan))
    reservations = api.client("manager").post(url, sign_body(current, "sign_with_reservations"))
    assert_error(reservations, 400, "validation_error", "reservations")
    assert_error(outsider_client.post(url, sign_body(current)), 404, "not_found")
    assert_error(outsider_client.get(url), 404, "not_found")
    assert signatures(in_review_plan) == []

    assert api.client("manager").post(url, sign_body(current)).status_code == 201
    assert_error(api.client("manager").post(url, sign_body(current)), 409, "already_signed")


def test_declining_sends_the_plan_back_and_drafts_cannot_be_signed(api, tenant, in_review_plan, plan) -> None:
    url = f"{api.base}plans/{in_review_plan.pk}/signatures/"
    content_hash = workflow.subject_hash(in_review_plan)
    assert_error(
        api.client("workforce_rep").post(url, sign_body(content_hash, "decline")), 400, "validation_error", "reasons"
    )
    declined = api.client("workforce_rep").post(url, sign_body(content_hash, "decline", reasons="Name the roles"))
    assert declined.status_code == 201, declined.content
    assert reload(in_review_plan).status == AssessmentStatus.CHANGES_REQUESTED
    with scope(organisation=tenant.organisation):
        assert ChangeRequest.objects.get().reasons == "Name the roles"
    again = api.client("manager").post(url, sign_body(workflow.subject_hash(reload(in_review_plan))))
    assert_error(again, 409, "not_in_review")


def test_plan_that_cannot_be_agreed_is_not_signed(api, tenant, plan) -> None:
    submitted(plan, tenant, consultation={"consultation_outcome": "not_agreed"})
    url = f"{api.base}plans/{plan.pk}/signatures/"
    body = assert_error(
        api.client("manager").post(url, sign_body(workflow.subject_hash(plan))), 409, "agreement_blocked"
    )
    assert "not agreed" in body["message"]
    assert signatures(plan) == []


def test_signing_an_assessment_and_validity_against_current_content(api, tenant, in_review_assessment) -> None:
    url = f"{api.base}assessments/{in_review_assessment.pk}/signatures/"
    content_hash = snapshot_hash_of(api, "workforce_rep", "assessments", in_review_assessment)
    response = api.client("workforce_rep").post(url, sign_body(content_hash))
    assert response.status_code == 201, response.content
    assert response.json()["capacity"] == "workforce"
    (signature,) = signatures(in_review_assessment)
    assert (signature.subject_type, signature.signer) == ("assessment", tenant.rep)

    # Content changed in the database: the read shows the signature no longer matches.
    with scope(organisation=tenant.organisation):
        Response.objects.filter(assessment=in_review_assessment, criterion__code="1.1").update(narrative="rewritten")
    listed = api.client("member").get(url).json()["results"]
    assert [(s["valid"], s["counts"]) for s in listed] == [(False, False)]
    assert api.client("member").get(f"{url}{signature.pk}/").json()["valid"] is False
    # A signature of another item is not found here.
    assert_error(
        api.client("member").get(
            f"{api.base}assessments/{in_review_assessment.pk}/signatures/{tenant.organisation.pk}/"
        ),
        404,
        "not_found",
    )


def test_signature_list_query_count_does_not_grow(api, tenant, in_review_plan) -> None:
    url = f"{api.base}plans/{in_review_plan.pk}/signatures/"
    snapshot = workflow.subject_snapshot(in_review_plan)
    context = SigningContext(ip_address="127.0.0.1")

    def record(user) -> None:
        signature_record(
            organisation=tenant.organisation,
            subject_type="plan",
            subject_id=in_review_plan.pk,
            snapshot=snapshot,
            signer=user,
            capacity="management",
            decision=SignatureDecision.SIGN,
            statement="Signed",
            typed_name=user.email,
            context=context,
        )

    record(tenant.owner)
    # 2 + the plan, one page of signatures, and the plan's snapshot to tell which still hold (meetings,
    # EqIA rows, cited evidence)
    count_queries(api.client("member"), url, 6)
    for _n in range(3):
        user = UserFactory()
        add_member(tenant.organisation, user, Role.MANAGER)
        record(user)
    count_queries(api.client("member"), url, 6)
    assert len(api.client("member").get(url).json()["results"]) == 4
