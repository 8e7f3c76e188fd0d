"""The assessments API: cycles, responses, the evidence library and action items, through the same
services as the pages, with the same refusals."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments import services
from assessments.models import ActionItem, ActionStatus, Assessment, AssessmentStatus, Citation, Evidence
from assessments.models import Response as CriterionResponse
from portal.models import AuditEvent, Membership
from portal.roles import Role
from tests.querycount import assert_queries
from tests.sample_files import pdf

pytestmark = pytest.mark.django_db

PDF = pdf()


# --- Helpers ---------------------------------------------------------------------------------


def _assessment(tenant, title: str = "Self-assessment 2026") -> Assessment:
    return services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=_framework(),
        title=title,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )


def _framework():
    from principles.framework import ensure_framework

    return ensure_framework()


def _evidence(tenant, name: str = "Minutes.pdf", organisation=None) -> Evidence:
    return services.evidence_upload(
        organisation=organisation or tenant.organisation,
        actor=tenant.manager,
        file=SimpleUploadedFile(name, PDF, content_type="application/pdf"),
        name=name,
        description="Board minutes",
        effective_date=date(2026, 3, 4),
        expiry_date=None,
    )


def _responses(assessment: Assessment) -> dict[str, CriterionResponse]:
    with scope(organisation=assessment.organisation):
        return {
            r.criterion.code: r
            for r in CriterionResponse.objects.filter(assessment=assessment).select_related(
                "criterion", "assessment", "assessment__organisation"
            )
        }


def _answer_all(tenant, assessment: Assessment) -> None:
    for response in _responses(assessment).values():
        services.response_save(response=response, actor=tenant.manager, maturity=2, narrative="", evidence_ids=[])


def _set_status(assessment: Assessment, status: str) -> None:
    with scopes_disabled():
        Assessment.objects.filter(pk=assessment.pk).update(status=status)


def _events(tenant, verb: str) -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(organisation=tenant.organisation, verb=verb))


def _count_queries(client, url: str, rows: int, expected: int) -> None:
    """The list runs exactly `expected` queries (within the budget) when it returns `rows` rows.

    Every call pays 1: the token with its user, organisation and membership; then the endpoint's own reads."""
    client.get(url)  # warm up: the token's "last used" is written once, not per request
    with assert_queries(expected, url):
        assert len(client.get(url).json()["results"]) == rows


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    if code:
        assert body["code"] == code
    return body


@pytest.fixture
def assessment(tenant, framework) -> Assessment:
    return _assessment(tenant)


# --- Assessments -----------------------------------------------------------------------------


def test_list_assessments_filters_by_status(api, assessment) -> None:
    other = _assessment(api.tenant, "Self-assessment 2025")
    _set_status(other, AssessmentStatus.FINAL)
    client = api.client(Role.MEMBER)
    body = client.get(f"{api.base}assessments/").json()
    assert {a["title"] for a in body["results"]} == {"Self-assessment 2026", "Self-assessment 2025"}
    finals = client.get(f"{api.base}assessments/?status=final").json()["results"]
    assert [a["id"] for a in finals] == [str(other.pk)]
    assert finals[0]["framework_version"] == assessment.framework.version
    assert finals[0]["created_by"] == {"email": api.tenant.manager.email, "full_name": api.tenant.manager.full_name}
    body = _error(client.get(f"{api.base}assessments/?status=nonsense"), 400, "validation_error")
    assert "status" in body["fields"]


def test_auditors_list_only_final_assessments_and_cannot_open_drafts(api, assessment) -> None:
    final = _assessment(api.tenant, "Final one")
    _set_status(final, AssessmentStatus.FINAL)
    client = api.client(Role.AUDITOR)
    assert [a["id"] for a in client.get(f"{api.base}assessments/").json()["results"]] == [str(final.pk)]
    _error(client.get(f"{api.base}assessments/{assessment.pk}/"), 404, "not_found")
    assert client.get(f"{api.base}assessments/{final.pk}/").status_code == 200


def test_assessment_list_queries_do_not_grow_with_rows(api, framework) -> None:
    client = api.client(Role.OWNER)
    _assessment(api.tenant, "One")
    # 2 + one page of assessments with their framework and the people named
    _count_queries(client, f"{api.base}assessments/", 1, 2)
    for n in range(3):
        _assessment(api.tenant, f"More {n}")
    _count_queries(client, f"{api.base}assessments/", 4, 2)


def test_create_assessment_starts_a_cycle_with_every_criterion(api, framework) -> None:
    response = api.client(Role.MANAGER).post(
        f"{api.base}assessments/",
        {"title": "Self-assessment 2027", "period_start": "2027-01-01", "period_end": "2027-12-31"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["is_editable"] is True
    assert response["Location"].endswith(f"/assessments/{body['id']}/")
    with scopes_disabled():
        created = Assessment.objects.get(pk=body["id"])
        assert created.organisation == api.organisation and created.created_by == api.tenant.manager
        assert CriterionResponse.objects.filter(assessment=created).count() == body["progress"]["total"] > 0
    assert len(body["progress"]["principles"]) == 6
    assert [e.target_id for e in _events(api.tenant, "assessment.created")] == [str(created.pk)]


def test_create_assessment_refuses_what_the_form_refuses(api, framework) -> None:
    client = api.client(Role.MANAGER)
    body = _error(
        client.post(f"{api.base}assessments/", {"period_start": "2027-01-01", "period_end": "2027-12-31"}), 400
    )
    assert body["code"] == "validation_error"
    assert body["fields"] == {"title": ["Enter a title for the assessment"]}
    body = _error(
        client.post(
            f"{api.base}assessments/",
            {"title": "Backwards", "period_start": "2027-12-31", "period_end": "2027-01-01"},
            format="json",
        ),
        400,
    )
    assert body["fields"] == {"period_end": ["The end of the period must be on or after its start"]}
    body = _error(
        client.post(
            f"{api.base}assessments/",
            {"title": ["a"], "period_start": 5, "period_end": None},
            format="json",
        ),
        400,
    )
    assert set(body["fields"]) == {"title"}
    body = _error(
        client.post(f"{api.base}assessments/", {"title": "T", "period_start": 5, "period_end": None}, format="json"),
        400,
    )
    assert body["fields"] == {"period_start": ["Enter a real date"], "period_end": ["Enter the end of the period"]}
    _error(client.post(f"{api.base}assessments/", [1, 2], format="json"), 400, "validation_error")
    with scopes_disabled():
        assert not Assessment.objects.exists()


@pytest.mark.parametrize("role", [Role.MEMBER, Role.WORKFORCE_REP, Role.AUDITOR])
def test_only_editors_create_assessments(api, framework, role) -> None:
    response = api.client(role).post(
        f"{api.base}assessments/",
        {"title": "Nope", "period_start": "2027-01-01", "period_end": "2027-12-31"},
        format="json",
    )
    _error(response, 403, "permission_denied")
    with scopes_disabled():
        assert not Assessment.objects.exists()


def test_outsiders_get_404_everywhere(api, assessment, outsider_client) -> None:
    evidence = _evidence(api.tenant)
    response = _responses(assessment)["1.1"]
    item = services.action_item_create(
        response=response, actor=api.tenant.manager, title="Fix", owner=None, due_date=date(2026, 6, 1)
    )
    base = api.base
    for method, url in [
        ("get", "assessments/"),
        ("post", "assessments/"),
        ("get", f"assessments/{assessment.pk}/"),
        ("post", f"assessments/{assessment.pk}/submit/"),
        ("get", f"assessments/{assessment.pk}/responses/"),
        ("get", f"assessments/{assessment.pk}/responses/1.1/"),
        ("patch", f"assessments/{assessment.pk}/responses/1.1/"),
        ("get", "evidence/"),
        ("post", "evidence/"),
        ("get", f"evidence/{evidence.pk}/"),
        ("get", f"evidence/{evidence.pk}/download/"),
        ("delete", f"evidence/{evidence.pk}/"),
        ("get", "action-items/"),
        ("post", "action-items/"),
        ("get", f"action-items/{item.pk}/"),
        ("patch", f"action-items/{item.pk}/"),
        ("delete", f"action-items/{item.pk}/"),
    ]:
        _error(getattr(outsider_client, method)(f"{base}{url}", {}, format="json"), 404, "not_found")
    with scopes_disabled():
        assert Evidence.objects.filter(pk=evidence.pk).exists()
        assert ActionItem.objects.filter(pk=item.pk).exists()


def test_detail_shows_progress_per_principle(api, assessment) -> None:
    response = _responses(assessment)["1.1"]
    services.response_save(response=response, actor=api.tenant.manager, maturity=3, narrative="", evidence_ids=[])
    body = api.client(Role.MEMBER).get(f"{api.base}assessments/{assessment.pk}/").json()
    first = body["progress"]["principles"][0]
    assert first["number"] == 1 and first["answered"] == 1 and first["status"] == "in_progress"
    assert first["evidence_missing"] == (1 if response.criterion.evidence_expected else 0)
    assert first["average_maturity"] == 3.0
    assert body["progress"]["principles"][1]["average_maturity"] is None
    assert body["progress"]["answered"] == 1


# --- Submit ----------------------------------------------------------------------------------


def test_submit_lists_what_is_missing(api, assessment) -> None:
    body = _error(api.client(Role.MANAGER).post(f"{api.base}assessments/{assessment.pk}/submit/"), 400)
    assert body["code"] == "validation_error"
    assert "need attention before this assessment can be submitted" in body["message"]
    assert body["fields"]["responses.1.1"] == [
        f"1.1 {_responses(assessment)['1.1'].criterion.title}: choose a maturity level"
    ]
    with scopes_disabled():
        assert Assessment.objects.get(pk=assessment.pk).status == AssessmentStatus.DRAFT


def test_submit_sends_to_review_then_refuses_a_second_time(api, assessment) -> None:
    _answer_all(api.tenant, assessment)
    client = api.client(Role.MANAGER)
    response = client.post(f"{api.base}assessments/{assessment.pk}/submit/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["assessment"]["status"] == "in_review" and body["notified"] == [api.tenant.rep.email]
    assert body["assessment"]["submitted_by"]["email"] == api.tenant.manager.email
    with scopes_disabled():
        assert Assessment.objects.get(pk=assessment.pk).status == AssessmentStatus.IN_REVIEW
    assert len(_events(api.tenant, "assessment.submitted")) == 1
    body = _error(client.post(f"{api.base}assessments/{assessment.pk}/submit/"), 409, "conflict")
    assert "in workforce review" in body["message"]


@pytest.mark.parametrize("role", [Role.MEMBER, Role.WORKFORCE_REP, Role.AUDITOR])
def test_only_editors_submit(api, assessment, role) -> None:
    _answer_all(api.tenant, assessment)
    _error(api.client(role).post(f"{api.base}assessments/{assessment.pk}/submit/"), 403)
    with scopes_disabled():
        assert Assessment.objects.get(pk=assessment.pk).status == AssessmentStatus.DRAFT


# --- Responses -------------------------------------------------------------------------------


def test_responses_list_in_framework_order_with_citations(api, assessment) -> None:
    evidence = _evidence(api.tenant)
    response = _responses(assessment)["2.3"]
    services.response_save(
        response=response, actor=api.tenant.manager, maturity=3, narrative="Done", evidence_ids=[evidence.pk]
    )
    client = api.client(Role.WORKFORCE_REP)
    codes, url = [], f"{api.base}assessments/{assessment.pk}/responses/?page_size=10"
    while url:
        page = client.get(url).json()
        codes += [r["criterion_code"] for r in page["results"]]
        for row in page["results"]:
            if row["criterion_code"] == "2.3":
                assert row["maturity"] == 3 and row["narrative"] == "Done"
                assert row["evidence_ids"] == [str(evidence.pk)] and row["principle_number"] == 2
                assert row["updated_by"]["email"] == api.tenant.manager.email
        url = page["next"]
    expected = sorted(_responses(assessment), key=lambda c: tuple(int(x) for x in c.split(".")))
    assert codes == expected
    only = client.get(f"{api.base}assessments/{assessment.pk}/responses/?principle=3").json()["results"]
    assert only and {r["principle_number"] for r in only} == {3}
    _error(client.get(f"{api.base}assessments/{assessment.pk}/responses/?principle=x"), 400, "validation_error")


def test_response_list_queries_do_not_grow_with_rows(api, assessment) -> None:
    evidence = [_evidence(api.tenant, f"e{n}.pdf") for n in range(2)]
    for response in _responses(assessment).values():
        services.response_save(
            response=response,
            actor=api.tenant.manager,
            maturity=1,
            narrative="x",
            evidence_ids=[e.pk for e in evidence],
        )
    client = api.client(Role.OWNER)
    url = f"{api.base}assessments/{assessment.pk}/responses/?page_size="
    # 2 + the assessment, one page of responses, their citations
    _count_queries(client, url + "1", 1, 4)
    _count_queries(client, url + "4", 4, 4)


def test_patch_response_saves_as_autosave_does(api, assessment) -> None:
    evidence = _evidence(api.tenant)
    client = api.client(Role.MANAGER)
    url = f"{api.base}assessments/{assessment.pk}/responses/1.2/"
    response = client.patch(
        url, {"maturity": 3, "narrative": "  Our plan  ", "evidence_ids": [str(evidence.pk)]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["maturity"] == 3 and response.json()["evidence_ids"] == [str(evidence.pk)]
    saved = _responses(assessment)["1.2"]
    assert saved.maturity == 3 and saved.narrative == "Our plan" and saved.updated_by == api.tenant.manager
    with scopes_disabled():
        assert list(Citation.objects.filter(response=saved).values_list("evidence_id", flat=True)) == [evidence.pk]
    assert len(_events(api.tenant, "response.updated")) == 1
    # Only the narrative: maturity and evidence stay.
    assert client.patch(url, {"narrative": "Better"}, format="json").status_code == 200
    saved = _responses(assessment)["1.2"]
    assert saved.maturity == 3 and saved.narrative == "Better"
    with scopes_disabled():
        assert Citation.objects.filter(response=saved).count() == 1
    assert client.get(url).json()["narrative"] == "Better"


def test_patch_response_refuses_bad_values(api, assessment, outsider) -> None:
    client = api.client(Role.MANAGER)
    url = f"{api.base}assessments/{assessment.pk}/responses/1.2/"
    body = _error(client.patch(url, {"maturity": 7}, format="json"), 400, "validation_error")
    assert body["fields"] == {"maturity": ["Choose a maturity level from 0 to 4"]}
    from portal.selectors import memberships_of_user

    (theirs,) = memberships_of_user(outsider)
    foreign = _evidence(api.tenant, organisation=theirs.organisation)
    body = _error(client.patch(url, {"evidence_ids": [str(foreign.pk)]}, format="json"), 400)
    assert body["fields"] == {"evidence_ids": ["Choose evidence from your organisation's library"]}
    body = _error(client.patch(url, {"evidence_ids": ["not-a-uuid"]}, format="json"), 400)
    assert list(body["fields"]) == ["evidence_ids.0"]
    assert _responses(assessment)["1.2"].maturity is None
    _error(client.patch(f"{api.base}assessments/{assessment.pk}/responses/9.9/", {}, format="json"), 404)


def test_patch_response_is_locked_once_submitted(api, assessment) -> None:
    _set_status(assessment, AssessmentStatus.IN_REVIEW)
    body = _error(
        api.client(Role.MANAGER).patch(
            f"{api.base}assessments/{assessment.pk}/responses/1.1/", {"maturity": 1}, format="json"
        ),
        409,
        "conflict",
    )
    assert "cannot be edited until changes are requested" in body["message"]
    assert _responses(assessment)["1.1"].maturity is None


@pytest.mark.parametrize("role", [Role.MEMBER, Role.WORKFORCE_REP])
def test_only_editors_patch_responses(api, assessment, role) -> None:
    client = api.client(role)
    url = f"{api.base}assessments/{assessment.pk}/responses/1.1/"
    assert client.get(url).status_code == 200
    _error(client.patch(url, {"maturity": 1}, format="json"), 403)
    assert _responses(assessment)["1.1"].maturity is None


# --- Evidence --------------------------------------------------------------------------------


def _upload(client, base, name="Board minutes.pdf", content=PDF, **extra):
    data = {
        "file": SimpleUploadedFile(name, content, content_type="application/pdf"),
        "description": "Board minutes",
        "effective_date": "2026-03-04",
        **extra,
    }
    return client.post(f"{base}evidence/", data, format="multipart")


def test_upload_evidence_stores_it_with_its_hash(api) -> None:
    response = _upload(api.client(Role.MANAGER), api.base)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest() and body["name"] == "Board minutes.pdf"
    assert body["content_type"] == "application/pdf" and body["deletable"] is True and body["cited_by"] == []
    with scopes_disabled():
        evidence = Evidence.objects.get(pk=body["id"])
    assert evidence.organisation == api.organisation and evidence.uploaded_by == api.tenant.manager
    with evidence.file.open("rb") as stored:
        assert stored.read() == PDF
    assert len(_events(api.tenant, "evidence.uploaded")) == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.pdf", b"", "The selected file is empty. Choose a file that has something in it."),
        ("page.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "web page or a script"),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 40, "must be a PDF, PNG"),
    ],
)
def test_bad_files_are_refused_at_fields_file(api, name, content, message) -> None:
    body = _error(_upload(api.client(Role.MANAGER), api.base, name, content), 400, None)
    assert list(body["fields"]) == ["file"] and message in body["fields"]["file"][0]
    with scopes_disabled():
        assert not Evidence.objects.exists()


def test_upload_size_limit_and_dates_as_on_the_web(api, settings) -> None:
    client = api.client(Role.MANAGER)
    body = _error(_upload(client, api.base, expiry_date="2026-01-01"), 400, "validation_error")
    assert body["fields"] == {"expiry_date": ["The expiry date must be on or after the effective date"]}
    settings.EVIDENCE_MAX_BYTES = 2048
    body = _error(_upload(client, api.base, "big.pdf", PDF + b"0" * 4096), 400)
    assert "smaller than 2 KB" in body["fields"]["file"][0]
    body = _error(client.post(f"{api.base}evidence/", {"description": "x"}, format="json"), 415)
    with scopes_disabled():
        assert not Evidence.objects.exists()


@pytest.mark.parametrize("role", [Role.MEMBER, Role.WORKFORCE_REP, Role.AUDITOR])
def test_only_editors_upload(api, role) -> None:
    _error(_upload(api.client(role), api.base), 403)
    with scopes_disabled():
        assert not Evidence.objects.exists()


def test_evidence_library_search_and_no_auditors_or_members(api) -> None:
    _evidence(api.tenant, "Minutes.pdf")
    _evidence(api.tenant, "Training plan.pdf")
    client = api.client(Role.WORKFORCE_REP)
    assert len(client.get(f"{api.base}evidence/").json()["results"]) == 2
    found = client.get(f"{api.base}evidence/?search=training").json()["results"]
    assert [e["name"] for e in found] == ["Training plan.pdf"]
    _error(api.client(Role.AUDITOR).get(f"{api.base}evidence/"), 403, "permission_denied")
    _error(api.client(Role.MEMBER).get(f"{api.base}evidence/"), 403, "permission_denied")


def test_evidence_list_queries_do_not_grow_with_rows(api) -> None:
    client = api.client(Role.OWNER)
    _evidence(api.tenant, "a.pdf")
    # 2 + one page of files
    _count_queries(client, f"{api.base}evidence/", 1, 2)
    for n in range(3):
        _evidence(api.tenant, f"b{n}.pdf")
    _count_queries(client, f"{api.base}evidence/", 4, 2)


def test_evidence_detail_shows_citations_and_is_not_for_auditors(api, assessment) -> None:
    evidence = _evidence(api.tenant)
    response = _responses(assessment)["1.1"]
    services.response_save(
        response=response, actor=api.tenant.manager, maturity=3, narrative="", evidence_ids=[evidence.pk]
    )
    body = api.client(Role.WORKFORCE_REP).get(f"{api.base}evidence/{evidence.pk}/").json()
    assert body["citation_count"] == 1 and body["deletable"] is True
    assert body["cited_by"] == [
        {
            "assessment_id": str(assessment.pk),
            "assessment_title": assessment.title,
            "assessment_status": "draft",
            "criterion_code": "1.1",
        }
    ]
    _error(api.client(Role.AUDITOR).get(f"{api.base}evidence/{evidence.pk}/"), 403)


def test_download_is_a_private_attachment(api) -> None:
    evidence = _evidence(api.tenant)
    response = api.client(Role.WORKFORCE_REP).get(f"{api.base}evidence/{evidence.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"


def test_auditors_download_only_final_work_and_are_logged(api, assessment) -> None:
    evidence = _evidence(api.tenant)
    response = _responses(assessment)["1.1"]
    services.response_save(
        response=response, actor=api.tenant.manager, maturity=3, narrative="", evidence_ids=[evidence.pk]
    )
    client = api.client(Role.AUDITOR)
    url = f"{api.base}evidence/{evidence.pk}/download/"
    _error(client.get(url), 404)
    assert _events(api.tenant, "auditor.downloaded") == []
    _set_status(assessment, AssessmentStatus.FINAL)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    (event,) = _events(api.tenant, "auditor.downloaded")
    assert event.target_id == str(evidence.pk) and event.actor == api.tenant.auditor
    assert _events(api.tenant, "auditor.viewed") == []  # the download is its own event


def test_delete_evidence(api) -> None:
    evidence = _evidence(api.tenant)
    _error(api.client(Role.MEMBER).delete(f"{api.base}evidence/{evidence.pk}/"), 403)
    response = api.client(Role.MANAGER).delete(f"{api.base}evidence/{evidence.pk}/")
    assert response.status_code == 204
    with scopes_disabled():
        assert not Evidence.objects.filter(pk=evidence.pk).exists()
    assert len(_events(api.tenant, "evidence.deleted")) == 1


def test_evidence_cited_by_submitted_work_cannot_be_deleted(api, assessment) -> None:
    evidence = _evidence(api.tenant)
    response = _responses(assessment)["1.1"]
    services.response_save(
        response=response, actor=api.tenant.manager, maturity=3, narrative="", evidence_ids=[evidence.pk]
    )
    _set_status(assessment, AssessmentStatus.IN_REVIEW)
    body = _error(api.client(Role.MANAGER).delete(f"{api.base}evidence/{evidence.pk}/"), 409, "conflict")
    assert assessment.title in body["message"] and "cannot be deleted" in body["message"]
    with scopes_disabled():
        assert Evidence.objects.filter(pk=evidence.pk).exists()


# --- Action items ----------------------------------------------------------------------------


def _create(client, base, assessment, **body):
    data = {
        "assessment_id": str(assessment.pk),
        "criterion_code": "1.2",
        "title": "Write a consultation policy",
        "due_date": "2026-09-30",
        **body,
    }
    return client.post(f"{base}action-items/", data, format="json")


def test_create_action_item_with_owner_by_email_or_membership(api, assessment) -> None:
    client = api.client(Role.MANAGER)
    response = _create(client, api.base, assessment, owner_email=api.tenant.rep.email.upper())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"]["email"] == api.tenant.rep.email and body["criterion_code"] == "1.2"
    assert body["status"] == "open" and body["assessment_id"] == str(assessment.pk)
    with scopes_disabled():
        item = ActionItem.objects.get(pk=body["id"])
        membership = Membership.objects.get(organisation=api.organisation, user=api.tenant.member)
    assert item.owner == api.tenant.rep and item.response.criterion.code == "1.2"
    assert len(_events(api.tenant, "action.created")) == 1
    response = _create(client, api.base, assessment, owner_membership_id=str(membership.pk))
    assert response.status_code == 201 and response.json()["owner"]["email"] == api.tenant.member.email
    response = _create(client, api.base, assessment)
    assert response.status_code == 201 and response.json()["owner"] is None


def test_create_action_item_refusals(api, assessment, outsider) -> None:
    client = api.client(Role.MANAGER)
    body = _error(_create(client, api.base, assessment, owner_email=outsider.email), 400, "validation_error")
    assert body["fields"] == {"owner_email": ["Choose an owner from the organisation's members"]}
    body = _error(_create(client, api.base, assessment, title=""), 400)
    assert body["fields"] == {"title": ["Say what needs doing"]}
    body = _error(_create(client, api.base, assessment, due_date="2026-02-30"), 400)
    assert body["fields"] == {"due_date": ["Enter a real date"]}
    body = _error(_create(client, api.base, assessment, due_date=20260930), 400)
    assert body["fields"] == {"due_date": ["Enter a real date"]}
    body = _error(_create(client, api.base, assessment, criterion_code="9.9"), 400)
    assert list(body["fields"]) == ["criterion_code"]
    from portal.selectors import memberships_of_user

    (theirs,) = memberships_of_user(outsider)
    with scope(organisation=theirs.organisation):
        foreign = Assessment.objects.create(
            organisation=theirs.organisation,
            framework=assessment.framework,
            title="Theirs",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
        )
    body = _error(_create(client, api.base, foreign), 400)
    assert list(body["fields"]) == ["assessment_id"]
    with scopes_disabled():
        assert not ActionItem.objects.exists()
    _error(_create(api.client(Role.WORKFORCE_REP), api.base, assessment), 403)


def _item(api, assessment, code="1.1", due=None, title="Fix"):
    return services.action_item_create(
        response=_responses(assessment)[code],
        actor=api.tenant.manager,
        title=title,
        owner=api.tenant.manager,
        due_date=due or date(2030, 1, 1),
    )


def test_action_item_list_filters(api, assessment) -> None:
    late = _item(api, assessment, due=timezone.localdate() - timedelta(days=3), title="Late")
    done = _item(api, assessment, title="Done")
    services.action_item_update(
        item=done, actor=api.tenant.manager, title="Done", owner=None, due_date=done.due_date, status="done"
    )
    other = _assessment(api.tenant, "Other")
    elsewhere = _item(api, other, title="Elsewhere")
    client = api.client(Role.MEMBER)
    titles = lambda q: {i["title"] for i in client.get(f"{api.base}action-items/{q}").json()["results"]}  # noqa: E731
    assert titles("") == {"Late", "Done", "Elsewhere"}
    assert titles("?status=done") == {"Done"}
    assert titles("?overdue=true") == {"Late"}
    assert titles("?overdue=false") == {"Done", "Elsewhere"}
    assert titles(f"?assessment={other.pk}") == {"Elsewhere"}
    assert late.pk and elsewhere.pk
    _error(client.get(f"{api.base}action-items/?assessment=nope"), 400, "validation_error")
    # Auditors: actions of final work only.
    auditor = api.client(Role.AUDITOR)
    assert auditor.get(f"{api.base}action-items/").json()["results"] == []
    _error(auditor.get(f"{api.base}action-items/{late.pk}/"), 404)
    _set_status(other, AssessmentStatus.FINAL)
    assert [i["title"] for i in auditor.get(f"{api.base}action-items/").json()["results"]] == ["Elsewhere"]


def test_action_item_list_queries_do_not_grow_with_rows(api, assessment) -> None:
    client = api.client(Role.OWNER)
    _item(api, assessment, "1.1")
    # 2 + one page of action items
    _count_queries(client, f"{api.base}action-items/", 1, 2)
    for code in ("1.2", "2.1", "3.1"):
        _item(api, assessment, code)
    _count_queries(client, f"{api.base}action-items/", 4, 2)


def test_patch_and_delete_action_item(api, assessment) -> None:
    item = _item(api, assessment)
    client = api.client(Role.MANAGER)
    url = f"{api.base}action-items/{item.pk}/"
    assert client.get(url).json()["owner"]["email"] == api.tenant.manager.email
    response = client.patch(url, {"status": "done", "owner_email": None}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done" and response.json()["owner"] is None
    with scopes_disabled():
        saved = ActionItem.objects.get(pk=item.pk)
    assert saved.status == ActionStatus.DONE and saved.completed_at is not None and saved.owner is None
    assert saved.title == "Fix"  # left out, kept
    body = _error(client.patch(url, {"status": "finished"}, format="json"), 400, "validation_error")
    assert list(body["fields"]) == ["status"]
    body = _error(client.patch(url, {"title": ""}, format="json"), 400)
    assert body["fields"] == {"title": ["Say what needs doing"]}
    _error(api.client(Role.WORKFORCE_REP).patch(url, {"status": "open"}, format="json"), 403)
    _error(api.client(Role.MEMBER).delete(url), 403)
    assert client.delete(url).status_code == 204
    with scopes_disabled():
        assert not ActionItem.objects.filter(pk=item.pk).exists()
    assert len(_events(api.tenant, "action.deleted")) == 1
    _error(client.get(url), 404)


def test_a_retried_create_with_the_same_idempotency_key_creates_once(api, framework) -> None:
    client = api.client(Role.MANAGER)
    body = {"title": "Self-assessment 2027", "period_start": "2027-01-01", "period_end": "2027-12-31"}
    first = client.post(f"{api.base}assessments/", body, format="json", HTTP_IDEMPOTENCY_KEY="create-2027")
    again = client.post(f"{api.base}assessments/", body, format="json", HTTP_IDEMPOTENCY_KEY="create-2027")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert again["Location"] == first["Location"]
    with scopes_disabled():
        assert Assessment.objects.count() == 1


def test_evidence_and_responses_read_exactly_as_their_serializer_fields_say(tenant) -> None:
    """Both serializers build each row directly (cheaper than DRF's walk over their fields): the same
    data as the fields give, with and without an expiry, an uploader, an answer, citations and a
    confirmation; the detail serializer still adds its own fields."""
    from rest_framework import serializers

    from assessments import selectors
    from assessments.api import (
        CriterionResponseSerializer,
        EvidenceDetailSerializer,
        EvidenceSerializer,
    )
    from assessments.api import (
        _responses as api_responses,
    )

    cited = _evidence(tenant)
    other = _evidence(tenant, "Policy.pdf")
    with scopes_disabled():
        Evidence.objects.filter(pk=other.pk).update(expiry_date=date(2020, 1, 1), uploaded_by=None)
    assessment = _assessment(tenant)
    responses = list(_responses(assessment).values())
    services.response_save(
        response=responses[0], actor=tenant.manager, maturity=3, narrative="Done", evidence_ids=[cited.pk]
    )
    with scopes_disabled():
        CriterionResponse.objects.filter(pk=responses[1].pk).update(
            carried_over=True, maturity=1, confirmed_at=timezone.now(), confirmed_by=tenant.owner
        )
        CriterionResponse.objects.filter(pk=responses[2].pk).update(carried_over=True, maturity=2)
    with scope(organisation=tenant.organisation):
        library = list(selectors.evidence_library(tenant.organisation))
        rows = list(api_responses(assessment))
    assert {e.pk for e in library} == {cited.pk, other.pk}
    for evidence in library:
        fast = EvidenceSerializer(evidence).data
        assert fast == serializers.ModelSerializer.to_representation(EvidenceSerializer(), evidence)
        assert list(fast) == list(EvidenceSerializer().fields)
        with scope(organisation=tenant.organisation):
            detail = EvidenceDetailSerializer(evidence).data
            assert detail == serializers.ModelSerializer.to_representation(EvidenceDetailSerializer(), evidence)
        assert list(detail) == list(EvidenceDetailSerializer().fields)
    kinds = {(r.maturity is None, r.carried_over, r.confirmed_at is None, r.updated_by_id is None) for r in rows}
    assert len(kinds) >= 4  # unanswered, answered, carried over and confirmed, carried over and not
    for response in rows:
        fast = CriterionResponseSerializer(response).data
        assert fast == serializers.ModelSerializer.to_representation(CriterionResponseSerializer(), response)
        assert list(fast) == list(CriterionResponseSerializer().fields)


def test_assessments_and_action_items_read_exactly_as_their_serializer_fields_say(tenant) -> None:
    """Built directly, as the fields give them: a draft and a submitted assessment, an action item with
    and without an owner, a criterion and a completion; the detail serializer still adds the progress."""
    from rest_framework import serializers

    from assessments.api import ActionItemSerializer, AssessmentDetailSerializer, AssessmentSerializer

    draft = _assessment(tenant)
    _answer_all(tenant, draft)
    submitted = _assessment(tenant, "Self-assessment 2027")
    with scopes_disabled():
        Assessment.objects.filter(pk=submitted.pk).update(
            status=AssessmentStatus.IN_REVIEW, submitted_at=timezone.now(), submitted_by=tenant.owner
        )
    response = next(iter(_responses(draft).values()))
    with scope(organisation=tenant.organisation):
        ActionItem.objects.create(
            organisation=tenant.organisation,
            assessment=draft,
            response=response,
            title="Fix it",
            owner=tenant.manager,
            due_date=date(2026, 1, 2),
        )
        ActionItem.objects.create(
            organisation=tenant.organisation,
            title="Later",
            due_date=date(2030, 1, 2),
            status=ActionStatus.DONE,
            completed_at=timezone.now(),
        )
        assessments = list(Assessment.objects.select_related("framework", "created_by", "submitted_by"))
        items = list(ActionItem.objects.select_related("owner", "response__criterion"))
        for assessment in assessments:
            fast = AssessmentSerializer(assessment).data
            assert fast == serializers.ModelSerializer.to_representation(AssessmentSerializer(), assessment)
            assert list(fast) == list(AssessmentSerializer().fields)
            detail = AssessmentDetailSerializer(assessment).data
            assert detail == serializers.ModelSerializer.to_representation(AssessmentDetailSerializer(), assessment)
            assert list(detail) == list(AssessmentDetailSerializer().fields)
        assert len(items) == 2
        for item in items:
            fast = ActionItemSerializer(item).data
            assert fast == serializers.ModelSerializer.to_representation(ActionItemSerializer(), item)
            assert list(fast) == list(ActionItemSerializer().fields)
