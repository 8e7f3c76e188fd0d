"""The assessment overview's task list and the submit check's lists, built in Python.

Each principle's row was a template loop pass with a url tag and up to six blocktranslate tags, and each
problem before submission a url tag; built here, the words and the principle page's address (reversed
once a page, the number substituted) are looked up once a page. The HTML is the templates', byte for
byte: tests/assessments/test_overview_fragments.py renders the pages with the template loops they
replaced (tests/assessments/reference/overview.html and submit.html) and compares.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()

# Stands in for a principle's number in its page's address, reversed once a page.
_NUMBER = 987654321


def _number(value: Any) -> str:
    """A number as the template writes `{{ value }}` (localized, escaped)."""
    return conditional_escape(localize(value))


def _principle_url(context: Any, assessment: Any) -> str:
    return reverse(
        "assessments:principle",
        kwargs={"org_slug": context["current_organisation"].slug, "assessment_id": assessment.pk, "number": _NUMBER},
    )


def _at(url: str, number: Any) -> str:
    return conditional_escape(url.replace(str(_NUMBER), str(number)))


def _expired(n: int) -> str:
    return ngettext("%(counter)s expired file cited", "%(counter)s expired files cited", n) % {"counter": _number(n)}


def _answered(p: Any) -> str:
    return _("%(a)s of %(t)s answered") % {"a": _number(p.answered), "t": _number(p.total)}


@register.simple_tag(takes_context=True)
def assessment_task_list(context: Any, progress: Any, assessment: Any) -> SafeString:
    """The items of the overview's task list: each principle's link, its counts and its status."""
    url = _principle_url(context, assessment)
    tags = {
        "completed": f'<strong class="tag tag--green">{_("Completed")}</strong>',
        "in_progress": f'<strong class="tag tag--blue">{_("In progress")}</strong>',
    }
    not_started = f'<strong class="tag tag--grey">{_("Not started")}</strong>'
    items = []
    for p in progress.principles:
        number = _number(p.principle.number)
        hint = [_answered(p)]
        if p.evidence_missing:
            n = p.evidence_missing
            hint.append(
                ngettext("%(counter)s needs evidence", "%(counter)s need evidence", n) % {"counter": _number(n)}
            )
        if p.overdue_actions:
            n = p.overdue_actions
            hint.append(
                ngettext("%(counter)s overdue action", "%(counter)s overdue actions", n) % {"counter": _number(n)}
            )
        if p.expired_evidence:
            hint.append(_expired(p.expired_evidence))
        if p.to_confirm:
            n = p.to_confirm
            hint.append(
                ngettext(
                    "%(counter)s carried over: confirm or change", "%(counter)s carried over: confirm or change", n
                )
                % {"counter": _number(n)}
            )
        items.append(
            '\n  <li class="task-list__item task-list__item--with-link">\n'
            '    <div class="task-list__name-and-hint">\n'
            f'      <a class="task-list__link" href="{_at(url, p.principle.number)}"'
            f' aria-describedby="principle-{number}-status">{number}. {conditional_escape(p.principle.title)}</a>\n'
            f'      <div class="task-list__hint">{" · ".join(hint)}</div>\n'
            "    </div>\n"
            f'    <div class="task-list__status" id="principle-{number}-status">\n'
            f"      {tags.get(p.status, not_started)}\n"
            "    </div>\n"
            "  </li>\n  "
        )
    return mark_safe("".join(items))  # noqa: S308 - every value in it escaped above


@register.simple_tag(takes_context=True)
def submit_problems(context: Any, problems: list[Any], assessment: Any) -> SafeString:
    """The submit check's list of what to fix, each linking to its field on its principle's page."""
    url = _principle_url(context, assessment)
    items = []
    for p in problems:
        row = p.row
        target = f"r-{conditional_escape(row.id)}-{conditional_escape(p.field)}" if p.field else row.anchor
        items.append(
            f'<li><a href="{_at(url, row.principle_number)}?check=1#{conditional_escape(target)}">'
            f"{conditional_escape(p.message)}</a></li>"
        )
    return mark_safe("".join(items))  # noqa: S308 - every value in it escaped above


@register.simple_tag(takes_context=True)
def submit_progress(context: Any, progress: Any, assessment: Any) -> SafeString:
    """The submit check's summary rows: each principle's answers, average maturity and expired files."""
    url = _principle_url(context, assessment)
    change = _("Change")
    rows = []
    for p in progress.principles:
        title = conditional_escape(p.principle.title)
        value = _answered(p)
        if p.average_maturity is not None:
            value += ", " + _("average maturity %(m)s") % {"m": _number(p.average_maturity)}
        if p.expired_evidence:
            value += f' <strong class="tag tag--red">{_expired(p.expired_evidence)}</strong>'
        number = _number(p.principle.number)
        rows.append(
            "\n  "
            f'<div class="summary-list__row"><dt class="summary-list__key">{number}. {title}</dt>\n'
            f'    <dd class="summary-list__value">{value}</dd>\n'
            f'    <dd class="summary-list__actions"><a href="{_at(url, p.principle.number)}">{change}'
            f'<span class="visually-hidden"> {title}</span></a></dd></div>\n  '
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value in it escaped above
