"""The audit trail's rows are written in Python (portal/templatetags/audit_rows.py): the same HTML as
the row template and `portal/_change.html` they replace, byte for byte, for single and collapsed
lines and every shape of recorded change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.template import engines
from django.test import RequestFactory

from portal.activity import ActivityLine
from portal.models import AuditEvent

# The rows as templates/portal/audit_trail.html drew them before they were built in Python.
OLD_ROWS = (Path(__file__).parent / "audit_rows_before.html").read_text()
NEW_ROWS = "{% load audit_rows %}{% audit_trail_rows lines %}"

CHANGES = [
    (None, None),
    ({}, {}),
    (None, {"name": "Acme <Ltd> & Co", "role": "manager", "is_active": True}),
    ({"name": "Old & <name>", "role": "member", "count": 3}, {"name": "New name", "role": "owner", "count": 3}),
    ({"due_date": "2026-11-30", "ids": [str(uuid.uuid4())]}, {"due_date": "2026-12-31T10:00:00+00:00", "ids": []}),
    ({"title": "Gone", "supplier_ids": [str(uuid.uuid4()), str(uuid.uuid4())]}, None),
    ({"title": "Gone"}, {}),
    ({"flag": False, "empty": ""}, {"flag": True, "empty": None, "score": 2.5, "words": ["a", "b<"]}),
    ({"items": "x"}, {"items": [["k", "v"]]}),  # a field the template reads as a key: still drawn by the template
    (["not", "a", "mapping"], "text"),
    ({"a": 1}, ["odd"]),
]


def _event(sequence: int, before, after, **fields) -> AuditEvent:
    event = AuditEvent(
        sequence=sequence,
        verb="organisation.updated",
        before=before,
        after=after,
        hash=f"{sequence:064x}",
        request_id=fields.pop("request_id", ""),
        created_at=datetime(2026, 7, 1, 23, 30, tzinfo=UTC) + timedelta(minutes=sequence),
        **fields,
    )
    event.sentence = f"Wendy <Ross> changed “Acme” #{sequence}"  # type: ignore[attr-defined]
    return event


def _lines() -> list[ActivityLine]:
    lines = []
    for index, (before, after) in enumerate(CHANGES):
        event = _event(index + 1, before, after, request_id="req-<1>" if index % 2 else "")
        lines.append(ActivityLine(sentence=event.sentence, events=[event]))  # type: ignore[attr-defined]
    run = [_event(1234 - n, b, a) for n, (b, a) in enumerate(CHANGES[:5])]
    lines.append(ActivityLine(sentence="Wendy saved 5 answers & more", events=run))
    lines.append(ActivityLine(sentence="Two", events=[_event(20, None, {"x": 1}), _event(19, None, None)]))
    return lines


def test_the_rows_are_the_old_templates_byte_for_byte() -> None:
    engine = engines["django"]
    request = RequestFactory().get("/")
    context = {"lines": _lines()}
    old = engine.from_string(OLD_ROWS).render(context, request)
    new = engine.from_string(NEW_ROWS).render(context, request)
    assert new == old
    assert new.count("<tr>") == len(CHANGES) + 2
    for words in ("See the 5 events", "See the 2 events", "1230–1234", "Acme &lt;Ltd&gt; &amp; Co", "req-&lt;1&gt;"):
        assert words in new
