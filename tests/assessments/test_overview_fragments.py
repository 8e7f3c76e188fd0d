"""The overview's task list and the submit check's lists are built in Python
(assessments/templatetags/overview_tags.py), from the responses read as rows (assessments/response_rows.py).

- The fragments are the same HTML, byte for byte, as the template loops they replaced
  (tests/assessments/reference/overview_task_list.html, submit_problems.html, submit_progress.html: the
  loops as they were, the problems' links reading the row's principle number, id and anchor where they
  read the response's criterion), for every status, count, singular and plural, and hostile text.
- The rows give the same problems as `services.submission_problems` (the rule the submission itself
  checks), the same progress as the page showed, and the same snapshot, so the same hash, as
  `workflow.assessment_snapshot` (what signatures are checked against).
"""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.template import engines
from django.utils import timezone
from django_scopes import scope

from assessments import selectors, services, workflow
from assessments.models import ActionItem, Response
from assessments.response_rows import ResponseRow, content_rows, response_rows
from assessments.selectors import AssessmentProgress, PrincipleProgress
from portal.signing import snapshot_hash
from principles.models import Principle
from tests.assessments.conftest import PDF, responses_by_code
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

REFERENCE = Path(__file__).parent / "reference"


def _template(text: str):
    return engines["django"].from_string(text)


OLD_TASK_LIST = _template("{% load i18n %}" + (REFERENCE / "overview_task_list.html").read_text())
NEW_TASK_LIST = _template("{% load overview_tags %}  {% assessment_task_list progress assessment %}\n")
OLD_PROBLEMS = _template("{% load i18n %}" + (REFERENCE / "submit_problems.html").read_text())
NEW_PROBLEMS = _template("{% load overview_tags %}{% submit_problems problems assessment %}\n")
OLD_PROGRESS = _template("{% load i18n %}" + (REFERENCE / "submit_progress.html").read_text())
NEW_PROGRESS = _template("{% load overview_tags %}  {% submit_progress progress assessment %}\n")

HOSTILE = "<script>alert('x')</script> \"Tools\" & dies"


def _principle(number: int, title: str) -> Principle:
    return Principle(id=uuid.uuid4(), number=number, title=title)


def _progresses() -> list[AssessmentProgress]:
    """Every status (not started, carried over only, in progress, completed) and every count at 0, 1 and many,
    with and without an average maturity (whole and not)."""
    shapes = [
        # total, answered, evidence missing, overdue, maturity sum, expired, to confirm
        (4, 0, 0, 0, 0, 0, 0),  # not started
        (4, 0, 0, 0, 0, 0, 1),  # only carried over, waiting
        (4, 2, 1, 1, 5, 1, 2),  # in progress, one of each
        (4, 4, 0, 0, 12, 0, 0),  # completed, whole average
        (5, 5, 3, 2, 13, 4, 0),  # answered but evidence missing: in progress, plurals
        (3, 3, 0, 7, 10, 2, 0),  # completed with overdue actions and expired files
    ]
    progress = AssessmentProgress()
    for number, shape in enumerate(shapes, start=1):
        total, answered, missing, overdue, maturity_sum, expired, to_confirm = shape
        title = HOSTILE if number == 3 else f"Principle {number}"
        progress.principles.append(
            PrincipleProgress(
                _principle(number, title), total, answered, missing, overdue, maturity_sum, expired, to_confirm
            )
        )
    return [progress, AssessmentProgress()]


def test_the_task_list_is_the_templates_html_byte_for_byte(tenant, assessment) -> None:
    for progress in _progresses():
        context = {"progress": progress, "assessment": assessment, "current_organisation": tenant.organisation}
        assert NEW_TASK_LIST.render(context) == OLD_TASK_LIST.render(context)
    context["progress"] = _progresses()[0]
    html = NEW_TASK_LIST.render(context)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &quot;Tools&quot; &amp; dies</a>" in html
    assert {"tag--green", "tag--blue", "tag--grey"} <= set(html.replace('"', " ").split())
    assert "1 needs evidence" in html and "3 need evidence" in html and "7 overdue actions" in html


def test_the_submit_summary_is_the_templates_html_byte_for_byte(tenant, assessment) -> None:
    for progress in _progresses():
        context = {"progress": progress, "assessment": assessment, "current_organisation": tenant.organisation}
        assert NEW_PROGRESS.render(context) == OLD_PROGRESS.render(context)
    context["progress"] = _progresses()[0]
    html = NEW_PROGRESS.render(context)
    assert "average maturity 2.5" in html and "average maturity 3.0" in html
    assert "1 expired file cited" in html and "4 expired files cited" in html


def _row(code: str, number: int, **fields) -> ResponseRow:
    values = {
        "id": uuid.uuid4(),
        "assessment_id": uuid.uuid4(),
        "principle_id": uuid.uuid4(),
        "principle_number": number,
        "code": code,
        "title": f"Criterion {code}",
        "evidence_expected": True,
        "maturity": None,
        "awaiting_confirmation": False,
        "overdue": 0,
        **fields,
    }
    return ResponseRow(**values)


def test_the_problems_are_the_templates_html_byte_for_byte(tenant, assessment) -> None:
    rows = [
        _row("1.1", 1, awaiting_confirmation=True, maturity=2),  # carried over: the criterion's anchor
        _row("2.3", 2),  # no maturity
        _row("3.1", 3, maturity=4, title=HOSTILE),  # evidence expected, none cited
        _row("3.2", 3, maturity=4, cited=1),  # no problem
        _row("4.1", 4, maturity=3, evidence_expected=False),  # no problem
    ]
    problems = services.row_problems(rows)
    assert [(p.row.code, p.field) for p in problems] == [("1.1", ""), ("2.3", "maturity"), ("3.1", "evidence")]
    for listed in (problems, problems[:1], []):
        context = {"problems": listed, "assessment": assessment, "current_organisation": tenant.organisation}
        assert NEW_PROBLEMS.render(context) == OLD_PROBLEMS.render(context)
    context["problems"] = problems
    html = NEW_PROBLEMS.render(context)
    assert "?check=1#criterion-1-1" in html and f"?check=1#r-{rows[1].id}-maturity" in html
    assert "&lt;script&gt;" in html and "<script>" not in html


@pytest.fixture
def answered(tenant, assessment):
    """An assessment with every kind of answer: cited files in and out of date (two on one answer), hostile
    and multi-line narratives, no maturity, an answer carried over and waiting, overdue and finished actions."""
    today = timezone.localdate()
    files = [
        services.evidence_upload(
            organisation=tenant.organisation,
            actor=tenant.manager,
            file=io.BytesIO(PDF),
            name=name,
            description="Minutes & notes",
            effective_date=date(2024, 1, 1),
            expiry_date=expiry,
        )
        for name, expiry in (
            ("b minutes <1>.pdf", today - timedelta(days=1)),
            ("a policy.pdf", None),
            ("c plan.pdf", today + timedelta(days=30)),
        )
    ]
    responses = responses_by_code(assessment)
    codes = sorted(responses)
    answers = {
        codes[0]: (3, "We <share>\nplans & “quotes”", [files[0].pk, files[1].pk]),
        codes[1]: (4, "", []),
        codes[2]: (1, "é ü 中文", [files[2].pk]),
        codes[4]: (2, "", []),
    }
    for code, (maturity, narrative, cited) in answers.items():
        services.response_save(
            response=responses[code], actor=tenant.manager, maturity=maturity, narrative=narrative, evidence_ids=cited
        )
    with scope(organisation=tenant.organisation):
        Response.objects.filter(pk=responses[codes[4]].pk).update(carried_over=True, confirmed_at=None)
    for code, due, status in (
        (codes[0], today - timedelta(days=2), "open"),
        (codes[0], today - timedelta(days=9), "in_progress"),
        (codes[1], today - timedelta(days=3), "done"),
        (codes[2], today + timedelta(days=3), "open"),
    ):
        item = services.action_item_create(
            response=responses[code], actor=tenant.manager, title="Do it", owner=None, due_date=due
        )
        with scope(organisation=tenant.organisation):
            ActionItem.objects.filter(pk=item.pk).update(status=status)
    return assessment


def test_the_rows_give_the_problems_the_submission_checks(tenant, answered) -> None:
    with scope(organisation=tenant.organisation):
        problems = services.submission_problems(answered)
        expected = [(p.response.pk, p.message, p.field, p.field_message) for p in problems]
    rows = response_rows(tenant.organisation.pk, [answered.pk], timezone.localdate())
    got = [(p.row.id, p.message, p.field, p.field_message) for p in services.row_problems(rows)]
    assert got == expected
    assert {p[2] for p in got} == {"", "maturity", "evidence"}


def test_the_rows_give_the_snapshot_signatures_are_checked_against(tenant, answered) -> None:
    rows = content_rows(tenant.organisation.pk, answered.pk, timezone.localdate())
    with scope(organisation=tenant.organisation):
        assert workflow.assessment_snapshot_of_rows(answered, rows) == workflow.assessment_snapshot(answered)
    assert snapshot_hash(workflow.assessment_snapshot_of_rows(answered, rows)) == workflow.subject_hash(answered)


def test_both_readings_give_the_same_progress(tenant, answered) -> None:
    today = timezone.localdate()
    by_content = selectors.progress_of(answered, content_rows(tenant.organisation.pk, answered.pk, today))
    by_counts = selectors.assessment_progress(answered)
    assert by_content == by_counts
    first = by_counts.principles[0]
    # answered: three of the first principle's (the carried-over one waits); one cites an expired file
    assert (by_counts.answered, by_counts.to_confirm, by_counts.expired_evidence) == (3, 1, 1)
    assert by_counts.overdue_actions == 2  # open and in progress, past due; the finished one and the future one not
    assert by_counts.evidence_missing == 1  # maturity 4 without a file
    assert first.total > 0


def test_the_pages_list_what_the_rows_say(tenant, answered) -> None:
    slug = tenant.organisation.slug
    client = client_for(tenant.manager)
    submit = client.get(f"/o/{slug}/assessments/{answered.pk}/submit/").content.decode()
    rows = response_rows(tenant.organisation.pk, [answered.pk], timezone.localdate())
    problems = services.row_problems(rows)
    assert f"{len(problems)} things to fix before sending" in submit
    missing = next(p for p in problems if p.field == "evidence")
    assert f'/principles/{missing.row.principle_number}/?check=1#r-{missing.row.id}-evidence"' in submit
    overview = client.get(f"/o/{slug}/assessments/{answered.pk}/").content.decode()
    assert "2 overdue actions" in overview and "1 expired file cited" in overview
    assert "1 carried over: confirm or change" in overview
