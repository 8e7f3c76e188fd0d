"""An assessment's responses as bare rows, read by hand-written SQL: what its progress, its problems before
submission and its signed snapshot are built from.

The ORM's reading of the same (responses with their criteria, every citation with its evidence, three
correlated counts) cost more to build and compile in Python than to run, and made a model instance per
row and per citation; these pages read every response of an assessment on every request. Each
statement names the organisation on every table it reads and runs on the request's connection, so
row-level security still applies. Both databases: values are sent and read as the ORM would
(`portal.dashboard.db_value`), text ids and dates converted back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection

from assessments.models import ActionStatus
from portal.dashboard import db_value, row_uuid, sql_in


@dataclass(slots=True)
class ResponseRow:
    """One response with what its criterion and its counts say about it."""

    id: uuid.UUID
    assessment_id: uuid.UUID
    principle_id: uuid.UUID
    principle_number: int
    code: str
    title: str
    evidence_expected: bool
    maturity: int | None
    awaiting_confirmation: bool  # carried over and neither confirmed nor changed since
    overdue: int  # unfinished action items of this response due before today
    cited: int = 0
    expired: int = 0  # cited files whose expiry date is before today
    narrative: str = ""  # with `content` only
    evidence: list[dict[str, Any]] = field(default_factory=list)  # with `content` only: the snapshot's entries

    @property
    def anchor(self) -> str:
        """The criterion's anchor on its principle page (`principles.models.Criterion.anchor`)."""
        return "criterion-" + self.code.replace(".", "-")


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


_DONE = ActionStatus.DONE.value

# Unfinished action items of the outer response due before a date (the organisation, the date).
_OVERDUE = (
    "(SELECT COUNT(*) FROM assessments_actionitem a WHERE a.organisation_id = %s"  # noqa: S608 - a constant
    " AND a.assessment_id = r.assessment_id"
    f" AND a.response_id = r.id AND a.due_date < %s AND a.status <> '{_DONE}')"
)
_ORDER = " ORDER BY r.assessment_id, p.number, c.position"


def response_rows(organisation_id: Any, assessment_ids: Iterable[Any], today: date) -> list[ResponseRow]:
    """Every response of these assessments (of one organisation), in framework order within each, with its
    citations, expired citations and overdue actions counted. One query."""
    org = db_value(organisation_id)
    ids_sql, ids = sql_in(assessment_ids)
    sql = (
        "SELECT r.id, r.assessment_id, c.principle_id, p.number, c.code, c.title, c.evidence_expected, r.maturity,"  # noqa: S608 - constants, values as parameters
        " r.carried_over, r.confirmed_at IS NULL,"
        " (SELECT COUNT(*) FROM assessments_citation ci WHERE ci.organisation_id = %s AND ci.response_id = r.id),"
        " (SELECT COUNT(*) FROM assessments_citation ci JOIN assessments_evidence e ON e.id = ci.evidence_id"
        "  WHERE ci.organisation_id = %s AND e.organisation_id = %s AND ci.response_id = r.id AND e.expiry_date < %s),"
        f" {_OVERDUE}"
        " FROM assessments_response r"
        " JOIN principles_criterion c ON c.id = r.criterion_id"
        " JOIN principles_principle p ON p.id = c.principle_id"
        f" WHERE r.organisation_id = %s AND r.assessment_id IN {ids_sql}" + _ORDER
    )
    day = db_value(today)
    with connection.cursor() as cursor:
        cursor.execute(sql, [org, org, org, day, org, day, org, *ids])
        return [
            ResponseRow(
                id=row_uuid(r[0]),  # type: ignore[arg-type]
                assessment_id=row_uuid(r[1]),  # type: ignore[arg-type]
                principle_id=row_uuid(r[2]),  # type: ignore[arg-type]
                principle_number=r[3],
                code=r[4],
                title=r[5],
                evidence_expected=bool(r[6]),
                maturity=r[7],
                awaiting_confirmation=bool(r[8]) and bool(r[9]),
                cited=r[10],
                expired=r[11],
                overdue=r[12],
            )
            for r in cursor.fetchall()
        ]


def content_rows(organisation_id: Any, assessment_id: Any, today: date) -> list[ResponseRow]:
    """`response_rows` of one assessment with what its snapshot holds besides (each answer's narrative,
    the cited files' entries, `workflow._evidence_entry`): the citations joined, one query."""
    org = db_value(organisation_id)
    day = db_value(today)
    sql = (
        "SELECT r.id, r.assessment_id, c.principle_id, p.number, c.code, c.title, c.evidence_expected, r.maturity,"  # noqa: S608 - constants, values as parameters
        " r.carried_over, r.confirmed_at IS NULL, r.narrative,"
        f" {_OVERDUE},"
        " e.original_name, e.sha256, e.effective_date, e.expiry_date"
        " FROM assessments_response r"
        " JOIN principles_criterion c ON c.id = r.criterion_id"
        " JOIN principles_principle p ON p.id = c.principle_id"
        " LEFT JOIN assessments_citation ci ON ci.response_id = r.id AND ci.organisation_id = %s"
        " LEFT JOIN assessments_evidence e ON e.id = ci.evidence_id AND e.organisation_id = %s"
        " WHERE r.organisation_id = %s AND r.assessment_id = %s" + _ORDER
    )
    rows: list[ResponseRow] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [org, day, org, org, org, db_value(assessment_id)])
        for r in cursor.fetchall():
            pk = row_uuid(r[0])
            if not rows or rows[-1].id != pk:
                rows.append(
                    ResponseRow(
                        id=pk,  # type: ignore[arg-type]
                        assessment_id=row_uuid(r[1]),  # type: ignore[arg-type]
                        principle_id=row_uuid(r[2]),  # type: ignore[arg-type]
                        principle_number=r[3],
                        code=r[4],
                        title=r[5],
                        evidence_expected=bool(r[6]),
                        maturity=r[7],
                        awaiting_confirmation=bool(r[8]) and bool(r[9]),
                        narrative=r[10],
                        overdue=r[11],
                    )
                )
            if r[12] is None:  # no citation (the evidence is never without a name)
                continue
            current = rows[-1]
            expiry = _date(r[15])
            current.cited += 1
            if expiry is not None and expiry < today:
                current.expired += 1
            current.evidence.append(
                {"name": r[12], "sha256": r[13], "effective_date": _date(r[14]), "expiry_date": expiry}
            )
    return rows


@dataclass(frozen=True, slots=True)
class CarryOverRow:
    """A response of an assessment with one of its cited files (or none), and the assessment's open actions."""

    open_actions: int
    response_id: uuid.UUID | None  # None: the assessment has no responses
    maturity: int | None
    has_narrative: bool
    evidence_id: uuid.UUID | None
    original_name: str | None
    expiry_date: date | None


def carry_over_rows(organisation_id: Any, assessment_id: Any) -> list[CarryOverRow]:
    """What `services.carry_over_summary` counts: every response of the assessment with each cited file,
    and the assessment's unfinished action items counted (at least one row). One query."""
    org = db_value(organisation_id)
    sql = (
        "SELECT (SELECT COUNT(*) FROM assessments_actionitem a WHERE a.organisation_id = %s"  # noqa: S608 - a constant
        f" AND a.assessment_id = x.id AND a.status <> '{_DONE}'),"
        " r.id, r.maturity, r.narrative <> '', e.id, e.original_name, e.expiry_date"
        " FROM assessments_assessment x"
        " LEFT JOIN assessments_response r ON r.assessment_id = x.id AND r.organisation_id = %s"
        " LEFT JOIN assessments_citation ci ON ci.response_id = r.id AND ci.organisation_id = %s"
        " LEFT JOIN assessments_evidence e ON e.id = ci.evidence_id AND e.organisation_id = %s"
        " WHERE x.organisation_id = %s AND x.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [org, org, org, org, org, db_value(assessment_id)])
        return [
            CarryOverRow(
                open_actions=r[0],
                response_id=row_uuid(r[1]),
                maturity=r[2],
                has_narrative=bool(r[3]),
                evidence_id=row_uuid(r[4]),
                original_name=r[5],
                expiry_date=_date(r[6]),
            )
            for r in cursor.fetchall()
        ]
