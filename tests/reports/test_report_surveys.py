"""Workforce surveys in the attestation report (DESIGN.md section 12): a final plan's surveys as its
consultation record holds them (the results the representatives' countersignature covers, with their
fingerprint), nothing but a count below the threshold, hidden groups marked, written answers word for
word, and the surveys bound to no plan (follow-ups after go-live) with a before-and-after table where
one repeats an earlier survey. Real WeasyPrint, read back from the PDF's text layer."""

from __future__ import annotations

import re

import pytest
from django_scopes import scope

from assessments import surveys
from assessments.models import AssessmentStatus, Plan, Survey
from assessments.workflow import subject_hash
from reports import survey_results
from reports.models import AttestationReport, ReportStatus
from reports.rendering import report_context
from tests.assessments.test_plans import fresh, new_plan, sign, submitted
from tests.assessments.test_surveys import answer, approve, open_survey, questions
from tests.querycount import counting
from tests.reports.conftest import ready_report, report_bytes, request_and_render
from tests.reports.test_report_signed_text import clean
from tests.reports.test_reports import pdf_text, squash

pytestmark = [
    pytest.mark.django_db,
    # WeasyPrint 70 opens its bundled sRGB ICC profile for PDF/A output and never closes it.
    pytest.mark.filterwarnings(r"ignore:unclosed file <_io.BufferedReader name=.*sRGB2014\.icc.>:ResourceWarning"),
]

TOLD = "I was told about this change before it was decided."
TRAINING = "Have you been offered training for this change?"
NIGHTS_COMMENT = "Training dates clash with nights; please move them into paid day hours."
# Twelve answers: (agree, yes, shift, comment). 8 of 12 agree (67%), 10 of 12 yes (83%). Days has 6
# responses and is shown; Weekends (1) is hidden, and Nights (5) with it, or Weekends could be worked
# out as everyone less Days less Nights.
TWELVE = [
    *[("4", "yes", "Days", "")] * 5,
    ("5", "yes", "Days", "Good that nobody is losing their job."),
    *[("4", "yes", "Nights", "")] * 2,
    ("2", "no", "Nights", NIGHTS_COMMENT),
    ("2", "yes", "Nights", ""),
    ("3", "yes", "Nights", ""),
    ("1", "no", "Weekends", ""),
]


def close_with(survey: Survey, tenant, answers: list[tuple[str, str, str, str]]) -> Survey:
    codes = surveys.codes_print(survey=survey, actor=tenant.rep, count=len(answers)) if answers else []
    for code, (agree, yes, shift, comment) in zip(codes, answers, strict=True):
        answer(survey, code, agree=agree, yes=yes, shift=shift, comment=comment)
    return surveys.survey_close(survey=survey, actor=tenant.rep)


def plan_with_survey(tenant, answers=TWELVE, title: str = "Cobots on line 3") -> tuple[Plan, Survey]:
    """A plan in review whose survey closes (so it joins the consultation record), then signed by both
    sides on the record with the results: final."""
    plan = submitted(new_plan(tenant, title=title), tenant)
    survey = close_with(open_survey(tenant, plan=plan, title=f"{title}: your views"), tenant, answers)
    assert survey.bound_to_plan
    plan = fresh(plan)
    sign(plan, tenant.rep, "sign_with_reservations", reservations="Review after six months.")
    sign(plan, tenant.manager)
    plan = fresh(plan)
    assert plan.status == AssessmentStatus.FINAL
    assert [r["results_hash"] for r in plan.survey_results] == [survey.results_hash]
    return plan, survey


def report_text(tenant, assessment, capture) -> str:
    """The rendered report's text, whitespace collapsed, running header and footer left out."""
    report = request_and_render(tenant, assessment, capture)
    assert report.status == ReportStatus.READY, report.error
    return clean(pdf_text(report_bytes(report)))


def between(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin : text.index(end, begin + len(start))]


def test_a_final_plans_survey_is_in_the_report_with_its_results_and_the_fingerprint_the_countersignature_covers(
    tenant, final_assessment, django_capture_on_commit_callbacks
) -> None:
    plan, survey = plan_with_survey(tenant)
    text = report_text(tenant, final_assessment, django_capture_on_commit_callbacks)

    # The summary counts it; the contents list it under its plan.
    assert "Workforce surveys 1 closed survey: 1 in agreed plans’ consultation records, 0 other." in text
    assert "Cobots on line 3 (version 1) – 1 workforce survey" in text
    assert "Other workforce surveys No other closed workforce surveys." in text

    plans = between(text, "Each final plan is reproduced word for word", "Other workforce surveys")
    record = between(plans, "Workforce surveys Cobots on line 3: your views", "Signature trail")
    # Title, dates, responses and threshold.
    day = survey.closed_on.strftime("%-d %B %Y")
    assert f"Open for answers From {day} to {day}" in record
    assert "Responses 12" in record
    assert "Threshold No result for fewer than 5 responses, in all or in any group" in record
    # The question table: each answer's count and the result in short.
    assert f"{TOLD} Strongly agree 1 · Agree 7 · Neither 1 · Disagree 2 · Strongly disagree 1 67% agree" in record, (
        record
    )
    assert f"{TRAINING} Yes 10 · No 2 83% yes" in record
    # By group: Days shown, Nights and Weekends not (complementary suppression), nobody left it blank.
    groups = between(record, "Results by answer to “What shift pattern do you work?”", "A group is not shown")
    assert "Days 6 responses" in groups and "Did not say no responses" in groups
    assert groups.count("not shown") == 2 + 2 * 2  # two column headings, two cells in each of two rows
    assert f"{TOLD} 100% agree not shown not shown –" in groups
    # Written answers word for word; nothing of who wrote them.
    assert "Anything else we should know?" in record
    assert NIGHTS_COMMENT in record and "Good that nobody is losing their job." in record
    # The fingerprint of the results, and what covers it.
    assert f"Results fingerprint (SHA-256) {survey.results_hash}" in record
    assert survey.results_hash == surveys.results_hash(survey.results)
    assert "the workforce representatives’ countersignature on the plan is bound to that record" in record
    assert "do not hash to this fingerprint" not in record
    # The plan's text as signed is the record with the survey: its fingerprint is what both signed.
    printed = re.findall(r"This is the text the signatures below are bound to \(fingerprint ([0-9a-f\s]+)\)", plans)
    assert [squash(p) for p in printed] == [subject_hash(plan)]


def test_a_survey_below_the_threshold_shows_no_result_and_says_why(
    tenant, final_assessment, django_capture_on_commit_callbacks
) -> None:
    few = [("5", "yes", "Days", "Only three of us answered this one.")] * 3
    _plan, survey = plan_with_survey(tenant, answers=few)
    assert not survey.results["shown"]
    text = report_text(tenant, final_assessment, django_capture_on_commit_callbacks)

    record = between(text, "Workforce surveys Cobots on line 3: your views", "Signature trail")
    assert "Responses 3" in record
    assert (
        "3 people answered. No result is shown for fewer than 5 responses, so that nobody can be singled out." in record
    )
    # No figure anywhere, no group, no written answer: only the count and the fingerprint.
    assert not re.search(r"\d+% (agree|yes)", text)
    assert "Only three of us answered" not in text and "Results by answer to" not in text
    assert f"Results fingerprint (SHA-256) {survey.results_hash}" in record


def test_a_follow_up_survey_after_go_live_is_listed_with_before_and_after(
    tenant, final_assessment, django_capture_on_commit_callbacks
) -> None:
    plan, earlier = plan_with_survey(tenant)
    # After go-live: the same questions again, about the final plan (so bound to no record).
    follow_up = surveys.survey_create(
        organisation=tenant.organisation,
        actor=tenant.rep,
        data=questions(title="Cobots on line 3: six months on"),
        plan=plan,
        repeats=earlier,
    )
    approve(follow_up, tenant)
    follow_up = surveys.survey_open(survey=follow_up, actor=tenant.manager)
    after = [("4", "yes", "Days", "")] * 6 + [("5", "no", "Nights", "The second training session helped.")] * 6
    follow_up = close_with(follow_up, tenant, after)
    assert not follow_up.bound_to_plan and follow_up.results["shown"]
    with scope(organisation=tenant.organisation):
        assert fresh(plan).survey_results == plan.survey_results  # the signed record is unchanged

    text = report_text(tenant, final_assessment, django_capture_on_commit_callbacks)
    assert "Workforce surveys 2 closed surveys: 1 in agreed plans’ consultation records, 1 other." in text
    other = between(text, "Other workforce surveys Closed surveys of the workforce", "Supply-chain coverage")
    # Only the follow-up is listed here: the earlier survey is in its plan's record (named once, below).
    assert "Cobots on line 3: six months on About the plan" in other
    assert other.count("Cobots on line 3: your views") == 1
    assert "About the plan Cobots on line 3 (version 1)" in other
    assert "Responses 12" in other and f"{TOLD} Strongly agree 6 · Agree 6 · Neither 0" in other
    # Before and after, per question asked both times.
    closed = earlier.closed_on.strftime("%-d %B %Y")
    assert f"Before and after: “Cobots on line 3: your views” (closed {closed}), then this survey" in other
    assert f"{TOLD} 67% agree 100% agree" in other
    assert f"{TRAINING} 83% yes 50% yes" in other
    assert "The second training session helped." in other
    assert f"Results fingerprint (SHA-256) {follow_up.results_hash}" in other
    assert "not part of an agreed plan’s consultation record, so no signature on a plan covers its results" in other


def test_the_report_reads_every_closed_survey_in_one_query_however_many(tenant, final_assessment) -> None:
    stored = ready_report(tenant, final_assessment)

    def queries() -> list[str]:
        with scope(organisation=tenant.organisation):
            report = AttestationReport.objects.select_related("organisation", "assessment").get(pk=stored.pk)
        with counting() as whole:
            report_context(report)
        return whole.queries

    plan_with_survey(tenant, answers=[], title="Robot welding")  # a final plan: its five queries are read
    queries()  # the framework's principles are cached after the first read
    before = queries()
    assert len([q for q in before if "assessments_survey" in q]) == 1
    plan, earlier = plan_with_survey(tenant)
    plan_with_survey(tenant, title="Vision inspection on line 5")
    for title in ("Six months on", "A year on"):
        repeat = surveys.survey_create(
            organisation=tenant.organisation, actor=tenant.rep, data=questions(title=title), plan=plan, repeats=earlier
        )
        approve(repeat, tenant)
        close_with(surveys.survey_open(survey=repeat, actor=tenant.manager), tenant, TWELVE)
    with scope(organisation=tenant.organisation):
        report = AttestationReport.objects.select_related("organisation", "assessment").get(pk=stored.pk)
        context = report_context(report)
    assert context["summary"]["surveys"] == {"bound": 3, "other": 2, "total": 5}
    assert all(s["before_after"] for s in context["other_surveys"])
    assert len(queries()) == len(before)


def test_a_grouping_question_with_many_answers_is_cut_into_tables_of_a_few_columns() -> None:
    options = [f"Site {n}" for n in range(1, 8)]
    tally = {"kind": "yes_no", "counts": {"yes": 5, "no": 0}, "answered": 5, "yes_percent": 100}
    results = {
        "responses": 35,
        "threshold": 5,
        "shown": True,
        "questions": [{"id": "q", "position": 1, "text": TRAINING, **tally}],
        "groups": [
            {
                "id": "g",
                "question": "Which site do you work at?",
                "options": [
                    {
                        "label": label,
                        "shown": True,
                        "responses": 5,
                        "questions": [{"id": "q", "text": TRAINING, **tally}],
                    }
                    for label in options
                ]
                + [{"label": "not_given", "shown": True, "responses": 0, "questions": []}],
            }
        ],
        "comments": None,
    }
    view = survey_results.results_view(results, surveys.results_hash(results))
    assert view["hash_matches"]
    parts = view["groups"]
    assert [len(p["columns"]) for p in parts] == [4, 4]
    assert [p["continued"] for p in parts] == [False, True]
    assert [c["label"] for c in parts[1]["columns"]] == ["Site 5", "Site 6", "Site 7", "Did not say"]
    assert parts[1]["rows"] == [{"text": TRAINING, "cells": ["100% yes", "100% yes", "100% yes", ""]}]
    assert not survey_results.results_view(results, "0" * 64)["hash_matches"]
