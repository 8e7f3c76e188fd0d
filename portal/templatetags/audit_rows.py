"""The audit trail's table rows, one per line of events, written in Python.

Drawn by the template, each row cost its tags and an include of `portal/_change.html` per event (a
loop of its own, with four filters per recorded field): most of the page's time, 50 events a page.
Here the words are looked up once per page and each row is written as the template wrote it. The
HTML is the template's, byte for byte: tests/portal/test_audit_rows.py renders the old row template
beside it. Every string stays translatable (the template's message ids); every value is escaped.
An event whose recorded change has a shape the template reads differently from Python (a field
named "items", which a template variable looks up as a key) is still drawn by `_change.html`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template
from django.template.loader import get_template
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # in Django, not in its stubs
from django.utils.translation import gettext, ngettext

from portal.activity import ActivityLine
from portal.models import AuditEvent
from portal.templatetags.portal_tags import change_value, humanise_key, when

register = template.Library()


def _value(value: Any) -> str:
    """A value as `{{ value }}` writes it: in local time, localised, escaped (text, most values here,
    straight to escaping: neither step changes it)."""
    if type(value) is str:
        return escape(value)
    return conditional_escape(localize(template_localtime(value)))


def _moment(value: Any) -> str:
    """`<time datetime="{{ value|date:'c' }}">`'s attribute: the date filter's "c" is `isoformat()`
    (of the moment in the current time zone), without its formatter's per-character walk."""
    return escape(template_localtime(value).isoformat())


def _plain(changes: Any) -> bool:
    return changes is None or (isinstance(changes, dict) and "items" not in changes)


def change_list(event: AuditEvent) -> str:
    """`portal/_change.html` for one event: what it changed, field by field (old → new)."""
    before, after = event.before, event.after
    if not (_plain(before) and _plain(after)):
        return get_template("portal/_change.html").render({"event": event})
    if not (before or after):
        return "\n"
    items = []
    if after:
        for key, value in after.items():
            old = before.get(key) if isinstance(before, dict) else None
            was = f"<del>{_value(change_value(old))}</del> → " if old is not None and old != value else ""
            items.append(f"<div><dt>{_value(humanise_key(key))}</dt><dd>{was}{_value(change_value(value))}</dd></div>")
    elif before:
        for key, value in before.items():
            items.append(
                f"<div><dt>{_value(humanise_key(key))}</dt><dd><del>{_value(change_value(value))}</del></dd></div>"
            )
    return f'<dl class="change-list">{"".join(items)}</dl>\n'


def _row(line: ActivityLine, fingerprint: str, request_words: str) -> str:
    event = line.event
    if line.collapsed:
        number = f"{_value(line.first.sequence)}–{_value(event.sequence)}"
        count = len(line.events)
        summary = ngettext("See the %(counter)s event", "See the %(counter)s events", count) % {
            "counter": _value(count)
        }
        each = "".join(
            f'<li><span class="secondary-text">#{_value(e.sequence)} · <time datetime="{_moment(e.created_at)}">'
            f"{_value(when(e.created_at, 'time'))}</time></span> {_value(e.sentence)}{change_list(e)}"  # type: ignore[attr-defined]
            f'<p class="body-s mono">{_value(e.hash)}</p></li>'
            for e in line.events
        )
        details = (
            f'<details class="details"><summary>{summary}</summary><div class="details__text">'
            f'<ol class="list activity-events">{each}</ol></div></details>'
        )
    else:
        number = _value(event.sequence)
        request = (
            f'<p class="body-s">{request_words} <span class="mono">{_value(event.request_id)}</span></p>'
            if event.request_id
            else ""
        )
        details = (
            f'{change_list(event)}<details class="details"><summary>{fingerprint}</summary><div class="details__text">'
            f'<p class="body-s mono">{_value(event.hash)}</p>{request}</div></details>'
        )
    return (
        "\n    <tr>\n"
        f'      <td class="table__cell table__cell--numeric">{number}</td>\n'
        f'      <td class="table__cell nowrap"><time datetime="{_moment(event.created_at)}">'
        f"{_value(when(event.created_at, 'short'))}</time></td>\n"
        f'      <td class="table__cell">{_value(line.sentence)}</td>\n'
        f'      <td class="table__cell">{details}</td>\n'
        "    </tr>\n  "
    )


@register.simple_tag
def audit_trail_rows(lines: Sequence[ActivityLine]) -> SafeString:
    """The rows of the audit trail's table (see the module's docstring)."""
    fingerprint = conditional_escape(gettext("Fingerprint"))
    request_words = conditional_escape(gettext("Request"))
    return mark_safe("".join(_row(line, fingerprint, request_words) for line in lines))  # noqa: S308 - escaped above
