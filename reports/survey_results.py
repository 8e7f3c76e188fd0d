"""Workforce surveys in the attestation report (DESIGN.md section 12).

* Each final plan's surveys, as its consultation record holds them: `Plan.survey_results`, which the
  plan's snapshot carries under `sections.consultation.surveys`. The report reproduces the snapshot
  the signatures are bound to (`reports.signed_text`), so a plan's surveys are read from that snapshot:
  no query, and exactly the results the representatives' countersignature covers.
* The organisation's other closed surveys, not bound to a plan (follow-up surveys after a plan was
  agreed, surveys about no plan), with the same rendering.
* Where a survey repeats an earlier one, a before-and-after row for each question asked both times
  (matched by its text), when both results are shown.

The closed surveys, with the plan each is about and the survey each repeats, are read in one query
whatever their number (`closed_surveys`).

Results are shown as `assessments.surveys` froze them: never a figure for fewer responses than the
threshold, hidden groups marked, written answers word for word.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django_scopes import scope

from assessments.models import Survey, SurveyStatus
from assessments.surveys import before_after as surveys_before_after
from assessments.surveys import group_tables, headline_percent, results_hash
from portal.models import Organisation, SignatureCapacity

# A grouping question may offer up to 20 answers: the report's table keeps to this many answer columns
# beside the question's, and carries the others on in a further table under the same caption.
GROUP_COLUMNS = 4

# How a survey's results stand towards the signatures (`templates/reports/_survey.html` says it in words).
COVERED = "covered"  # in the consultation record the representatives' countersignature is bound to
NOT_COUNTERSIGNED = "not_countersigned"  # in a plan's record, but no countersignature binds that text
NOT_BOUND = "not_bound"  # not part of any plan's consultation record


def _day(value: Any) -> date | None:
    """A date from the plan's record (stored as ISO text)."""
    if not value:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _group_parts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """`assessments.surveys.group_tables`, each table cut into parts of at most GROUP_COLUMNS answers."""
    parts = []
    for table in group_tables(results):
        columns = table["columns"]
        for start in range(0, max(len(columns), 1), GROUP_COLUMNS):
            parts.append(
                {
                    "question": table["question"],
                    "continued": start > 0,
                    "columns": columns[start : start + GROUP_COLUMNS],
                    "rows": [
                        {"text": row["text"], "cells": row["cells"][start : start + GROUP_COLUMNS]}
                        for row in table["rows"]
                    ],
                }
            )
    return parts


def results_view(results: dict[str, Any] | None, fingerprint: str) -> dict[str, Any]:
    """A survey's frozen results as the report shows them (`templates/reports/_survey.html`)."""
    results = results or {}
    shown = bool(results.get("shown"))
    comments = results.get("comments") if shown else None
    return {
        "responses": results.get("responses", 0),
        "threshold": results.get("threshold"),
        "shown": shown,
        "questions": [
            {
                "text": q.get("text", ""),
                "kind": q.get("kind", ""),
                "counts": q.get("counts", {}),
                "percent": headline_percent(q),
            }
            for q in (results.get("questions") or [])
        ]
        if shown
        else [],
        "groups": _group_parts(results) if shown else [],
        "comments": comments or None,
        "results_hash": fingerprint,
        # The fingerprint printed is recomputed from the results printed: a mismatch is said in words.
        "hash_matches": bool(results) and results_hash(results) == fingerprint,
    }


def before_after(earlier: Survey | None, results: dict[str, Any] | None) -> dict[str, Any] | None:
    """The questions asked both times (`assessments.surveys.before_after`), with the earlier survey's
    title and closing date; None unless both surveys' results are shown and they share a question."""
    if earlier is None:
        return None
    rows = surveys_before_after(earlier.results, results)
    if not rows:
        return None
    return {"title": earlier.title, "closed_on": earlier.closed_on, "rows": rows}


def closed_surveys(organisation: Organisation) -> list[Survey]:
    """The organisation's closed surveys with the plan each is about and the survey each repeats: one query."""
    with scope(organisation=organisation):
        return list(
            Survey.objects.filter(organisation=organisation, status=SurveyStatus.CLOSED)
            .select_related("plan", "repeats")
            .only(
                "id",
                "organisation",
                "title",
                "opened_on",
                "closed_on",
                "results",
                "results_hash",
                "bound_to_plan",
                "plan",
                "plan__title",
                "plan__version",
                "repeats",
                "repeats__title",
                "repeats__closed_on",
                "repeats__results",
            )
            .order_by("closed_on", "title", "id")
        )


def plan_surveys(snapshot: dict[str, Any], signatures: list[dict[str, Any]], text_hash: str) -> list[dict[str, Any]]:
    """The surveys in a plan's consultation record as `snapshot` (the text reproduced) holds them.
    `signatures`: the plan's signature trail (`signed_text.signature_row`), to say whether the
    representatives' countersignature is bound to that text."""
    from assessments.workflow import AGREEING_DECISIONS

    countersigned = any(
        s["side"] == SignatureCapacity.WORKFORCE
        and s["content_hash"] == text_hash
        and s["decision"] in AGREEING_DECISIONS
        for s in signatures
    )
    records = snapshot.get("sections", {}).get("consultation", {}).get("surveys") or []
    return [
        {
            "id": str(record.get("survey") or ""),
            "title": record.get("title", ""),
            "opened_on": _day(record.get("opened_on")),
            "closed_on": _day(record.get("closed_on")),
            "plan_title": "",
            "plan_version": None,
            "coverage": COVERED if countersigned else NOT_COUNTERSIGNED,
            "results": results_view(record.get("results"), record.get("results_hash", "")),
            "before_after": None,  # filled by `add_before_after` from the closed surveys
        }
        for record in records
    ]


def other_surveys(surveys: list[Survey]) -> list[dict[str, Any]]:
    """The closed surveys not bound to a plan (follow-ups after a plan was agreed, surveys about no plan)."""
    return [
        {
            "id": str(survey.pk),
            "title": survey.title,
            "opened_on": survey.opened_on,
            "closed_on": survey.closed_on,
            "plan_title": survey.plan.title if survey.plan_id and survey.plan else "",
            "plan_version": survey.plan.version if survey.plan_id and survey.plan else None,
            "coverage": NOT_BOUND,
            "results": results_view(survey.results, survey.results_hash),
            "before_after": before_after(survey.repeats if survey.repeats_id else None, survey.results),
        }
        for survey in surveys
        if not survey.bound_to_plan
    ]


def add_before_after(plans: list[dict[str, Any]], surveys: list[Survey]) -> None:
    """Give each plan's survey that repeats an earlier one its before-and-after table (no query:
    `surveys` are the closed surveys already read; a survey's results are frozen when it closes, so
    they are the ones its plan's record holds)."""
    by_id = {str(s.pk): s for s in surveys}
    for plan in plans:
        for entry in plan.get("surveys", []):
            survey = by_id.get(entry["id"])
            if survey is not None and survey.repeats_id:
                entry["before_after"] = before_after(survey.repeats, survey.results)


def summary(plans: list[dict[str, Any]], others: list[dict[str, Any]]) -> dict[str, int]:
    """How many closed surveys the report shows: in the plans' records (each survey once, though an
    amended plan's versions share it) and the others."""
    bound = {s["id"] or s["title"] for p in plans for s in p.get("surveys", [])}
    return {"bound": len(bound), "other": len(others), "total": len(bound) + len(others)}
