"""The principle page's evidence checkboxes, built in Python.

Every criterion on the page offers every file of the library: criteria x files boxes, each a
dozen template variables. Built here with format_html, the same markup costs a fraction of the
template loop (the principle page's biggest cost under load, see docs/benchmarks.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import template
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def evidence_checkboxes(response: Any, library: list[Any], today: date) -> SafeString:
    """One checkbox per file of the library, ticked where `response` cites it (`cited_ids`)."""
    cited = response.cited_ids
    rows = []
    for evidence in library:
        expired = ""
        if evidence.expiry_date and evidence.expiry_date < today:
            expired = format_html(
                ' <strong class="tag tag--red">{}</strong>',
                _("Expired %(d)s") % {"d": date_format(evidence.expiry_date, "j M Y")},
            )
        box_id = f"r-{response.pk}-evidence-{evidence.pk}"
        rows.append(
            (
                box_id,
                f"r-{response.pk}-evidence",
                evidence.pk,
                " checked" if evidence.pk in cited else "",
                box_id,
                evidence.original_name,
                evidence.description,
                expired,
            )
        )
    return format_html_join(
        "\n",
        '<div class="checkboxes__item"><input form="principle-form" class="checkboxes__input" type="checkbox" '
        'id="{}" name="{}" value="{}"{}><label class="checkboxes__label" for="{}">{} '
        '<span class="secondary-text">– {}</span>{}</label></div>',
        rows,
    )
