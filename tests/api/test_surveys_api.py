"""The workforce surveys API (assessments/survey_api.py), read-only: the list and one survey with its
questions, both sides' approvals and, once closed, the frozen aggregate results. No answer of anyone's
ever leaves it except as the aggregate (written answers only inside `aggregate_results.comments`, above
the threshold); auditors see closed surveys only, as on the web; other organisations get 404."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django_scopes import scopes_disabled
from rest_framework import serializers

from assessments import surveys
from assessments.models import QuestionKind, Survey, SurveyResponse, SurveyStatus
from assessments.survey_api import SurveySummarySerializer
from portal.models import SignatureCapacity
from tests.api.test_plans_api import assert_error, count_queries
from tests.assessments.test_plans import new_plan, submitted
from tests.assessments.test_surveys import CONTEXT, answer, approve, open_survey, questions

pytestmark = pytest.mark.django_db

SUMMARY_FIELDS = [
    "id",
    "title",
    "status",
    "threshold",
    "plan_id",
    "repeats_id",
    "created_at",
    "opened_on",
    "closed_on",
    "codes_printed",
    "invitations_sent",
    "bound_to_plan",
    "results_hash",
]
DETAIL_FIELDS = {*SUMMARY_FIELDS, "introduction", "questions", "approvals", "aggregate_results"}
# What each person wrote: text that can be found wherever it might leak.
WRITTEN = [f"Written answer number {n}: the night shift heard last" for n in range(5)]


def draft(tenant, title: str = "A draft survey") -> Survey:
    return surveys.survey_create(organisation=tenant.organisation, actor=tenant.rep, data=questions(title=title))


def answered(tenant, count: int, plan=None) -> Survey:
    """An open survey with `count` responses, each with a written answer of its own."""
    survey = open_survey(tenant, plan=plan, title="Cobots on line 3: your views")
    codes = surveys.codes_print(survey=survey, actor=tenant.rep, count=count)
    for n, code in enumerate(codes):
        answer(survey, code, agree="4" if n % 2 else "2", shift="Days", comment=WRITTEN[n])
    return survey


def closed(tenant, plan=None) -> Survey:
    survey = answered(tenant, len(WRITTEN), plan=plan)
    return surveys.survey_close(survey=survey, actor=tenant.manager)


def stored(survey: Survey) -> Survey:
    with scopes_disabled():
        return Survey.objects.get(pk=survey.pk)


def keys_holding_lists(value: Any, name: str = "") -> set[str]:
    """Every key anywhere in `value` whose value is a list."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, list):
                found.add(key)
            found |= keys_holding_lists(item, key)
    elif isinstance(value, list):
        for item in value:
            found |= keys_holding_lists(item, name)
    return found


def assert_no_written_answer(body: Any) -> None:
    text = json.dumps(body)
    for written in WRITTEN:
        assert written not in text
    assert "responses" not in keys_holding_lists(body)


# --- the list ------------------------------------------------------------------------------------


def test_the_list_gives_each_survey_newest_first_and_filters_by_status(api, tenant) -> None:
    first = draft(tenant, "First")
    ended = closed(tenant)
    running = open_survey(tenant, title="Running")
    client = api.client("member")

    body = client.get(f"{api.base}surveys/").json()
    assert [s["id"] for s in body["results"]] == [str(running.pk), str(ended.pk), str(first.pk)]
    assert all(list(row) == SUMMARY_FIELDS for row in body["results"])
    by_id = {row["id"]: row for row in body["results"]}
    assert by_id[str(first.pk)]["status"] == "draft" and by_id[str(first.pk)]["results_hash"] is None
    assert by_id[str(running.pk)]["opened_on"] is not None and by_id[str(running.pk)]["closed_on"] is None
    assert by_id[str(ended.pk)]["results_hash"] == stored(ended).results_hash
    assert_no_written_answer(body)

    for status, expected in (("draft", first), ("open", running), ("closed", ended)):
        rows = client.get(f"{api.base}surveys/?status={status}").json()["results"]
        assert [r["id"] for r in rows] == [str(expected.pk)]
    assert_error(client.get(f"{api.base}surveys/?status=nonsense"), 400, "validation_error", "status")


def test_list_rows_read_exactly_as_their_fields_say(tenant) -> None:
    plan = submitted(new_plan(tenant), tenant)
    for survey in (draft(tenant), closed(tenant, plan=plan)):
        survey = stored(survey)
        fast = SurveySummarySerializer(survey).data
        assert fast == serializers.ModelSerializer.to_representation(SurveySummarySerializer(), survey)
        assert list(fast) == list(SurveySummarySerializer().fields) == SUMMARY_FIELDS


def test_list_query_count_does_not_grow_with_surveys(api, tenant) -> None:
    client = api.client("manager")
    draft(tenant, "One")
    # The token, then one page of surveys.
    count_queries(client, f"{api.base}surveys/", 2)
    for n in range(3):
        draft(tenant, f"More {n}")
    closed(tenant)
    count_queries(client, f"{api.base}surveys/", 2)
    assert len(client.get(f"{api.base}surveys/").json()["results"]) == 5


def test_one_survey_reads_in_a_fixed_number_of_queries(api, tenant) -> None:
    # The token, the survey, its questions, its approvals: whatever its questions and signatures.
    count_queries(api.client("manager"), f"{api.base}surveys/{draft(tenant).pk}/", 4)
    count_queries(api.client("manager"), f"{api.base}surveys/{closed(tenant).pk}/", 4)


# --- one survey ----------------------------------------------------------------------------------


def test_a_draft_gives_its_questions_and_the_approvals_so_far(api, tenant) -> None:
    survey = draft(tenant)
    surveys.survey_approve(
        survey=survey,
        signer=tenant.manager,
        capacity=SignatureCapacity.MANAGEMENT,
        typed_name="Mo Manager",
        context=CONTEXT,
    )
    body = api.client("workforce_rep").get(f"{api.base}surveys/{survey.pk}/").json()
    assert set(body) == DETAIL_FIELDS
    assert body["title"] == "A draft survey" and body["introduction"] == "Five questions, two minutes."
    assert (body["status"], body["threshold"], body["plan_id"], body["repeats_id"]) == ("draft", 5, None, None)
    assert body["aggregate_results"] is None and body["results_hash"] is None and body["bound_to_plan"] is False
    assert [(q["position"], q["kind"], q["principle"]) for q in body["questions"]] == [
        (1, QuestionKind.LIKERT, 1),
        (2, QuestionKind.YES_NO, 3),
        (3, QuestionKind.TEXT, None),
        (4, QuestionKind.GROUP, None),
    ]
    assert body["questions"][3]["options"] == ["Days", "Nights", "Weekends"]
    assert body["questions"][2]["text"] == "Anything else we should know?"
    management = body["approvals"]["management"]
    assert set(management) == {"typed_name", "signed_at", "content_hash"}
    assert management["typed_name"] == "Mo Manager"
    with scopes_disabled():
        assert management["content_hash"] == surveys.survey_hash(Survey.objects.get(pk=survey.pk))
    assert body["approvals"]["workforce"] is None


def test_an_open_survey_with_answers_shows_none_of_them(api, tenant) -> None:
    survey = answered(tenant, 3)
    with scopes_disabled():
        assert SurveyResponse.objects.filter(survey=survey).count() == 3  # they exist, and stay inside
    for role in ("owner", "manager", "workforce_rep", "member"):
        detail = api.client(role).get(f"{api.base}surveys/{survey.pk}/").json()
        assert detail["status"] == "open" and detail["aggregate_results"] is None
        assert detail["approvals"]["management"] and detail["approvals"]["workforce"]
        assert_no_written_answer(detail)
        assert_no_written_answer(api.client(role).get(f"{api.base}surveys/").json())


def test_a_closed_surveys_results_are_the_frozen_aggregate_and_no_response(api, tenant) -> None:
    plan = submitted(new_plan(tenant), tenant)
    survey = stored(closed(tenant, plan=plan))
    assert survey.status == SurveyStatus.CLOSED and survey.results["shown"]

    body = api.client("manager").get(f"{api.base}surveys/{survey.pk}/").json()
    assert set(body) == DETAIL_FIELDS
    assert body["aggregate_results"] == survey.results
    assert body["results_hash"] == survey.results_hash == surveys.results_hash(body["aggregate_results"])
    assert body["plan_id"] == str(plan.pk) and body["bound_to_plan"] is True
    assert body["opened_on"] == survey.opened_on.isoformat() and body["closed_on"] == survey.closed_on.isoformat()
    assert body["aggregate_results"]["responses"] == len(WRITTEN)
    # The written answers appear once each, inside the comments and nowhere else.
    assert sorted(body["aggregate_results"]["comments"]["answers"]) == sorted(WRITTEN)
    outside = {**body, "aggregate_results": {**body["aggregate_results"], "comments": None}}
    assert_no_written_answer(outside)
    assert "responses" not in keys_holding_lists(body)
    # Both sides' approvals still stand for the questions that were asked.
    assert {side for side, approval in body["approvals"].items() if approval} == {"management", "workforce"}


def test_below_the_threshold_a_closed_survey_shows_only_the_count(api, tenant) -> None:
    survey = surveys.survey_close(survey=answered(tenant, 4), actor=tenant.manager)
    body = api.client("member").get(f"{api.base}surveys/{survey.pk}/").json()
    assert body["aggregate_results"] == stored(survey).results
    assert body["aggregate_results"]["responses"] == 4 and not body["aggregate_results"]["shown"]
    assert body["aggregate_results"]["comments"] is None and body["aggregate_results"]["questions"] == []
    assert_no_written_answer(body)


# --- who sees what -------------------------------------------------------------------------------


def test_an_auditor_sees_closed_surveys_only(api, tenant) -> None:
    waiting = draft(tenant)
    ready = draft(tenant, "Approved, not open")
    approve(ready, tenant)
    running = open_survey(tenant, title="Running")
    ended = closed(tenant)
    client = api.client("auditor")

    rows = client.get(f"{api.base}surveys/").json()["results"]
    assert [r["id"] for r in rows] == [str(ended.pk)]
    assert client.get(f"{api.base}surveys/?status=draft").json()["results"] == []
    assert client.get(f"{api.base}surveys/{ended.pk}/").json()["aggregate_results"] == stored(ended).results
    for hidden in (waiting, ready, running):
        assert_error(client.get(f"{api.base}surveys/{hidden.pk}/"), 404, "not_found")


def test_another_organisation_gets_404(api, tenant, outsider_client) -> None:
    survey = closed(tenant)
    assert_error(outsider_client.get(f"{api.base}surveys/"), 404, "not_found")
    assert_error(outsider_client.get(f"{api.base}surveys/{survey.pk}/"), 404, "not_found")


def test_the_api_only_reads(api, tenant) -> None:
    survey = draft(tenant)
    client = api.client("owner")
    for url in (f"{api.base}surveys/", f"{api.base}surveys/{survey.pk}/"):
        for method in ("post", "put", "patch", "delete"):
            assert_error(getattr(client, method)(url, {}, format="json"), 405, "method_not_allowed")
