"""The principle page's evidence checkboxes, built in Python.

Every criterion on the page offers every file of the library: criteria x files boxes, each a
dozen template variables. Built here with format_html, the same markup costs a fraction of the
template loop (the principle page's biggest cost under load, see docs/benchmarks.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import template
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()


def _library_parts(library: list[Any], today: date) -> list[tuple[Any, str, str, str, str]]:
    """What each file's checkbox shows, escaped once: (id, id as text, name, description, expired tag)."""
    parts: list[tuple[Any, str, str, str, str]] = []
    for evidence in library:
        expired = ""
        if evidence.expiry_date and evidence.expiry_date < today:
            expired = format_html(
                ' <strong class="tag tag--red">{}</strong>',
                _("Expired %(d)s") % {"d": date_format(evidence.expiry_date, "j M Y")},
            )
        parts.append(
            (
                evidence.pk,
                conditional_escape(evidence.pk),
                conditional_escape(evidence.original_name),
                conditional_escape(evidence.description),
                expired,
            )
        )
    return parts


@register.simple_tag(takes_context=True)
def evidence_checkboxes(context: Any, response: Any, library: list[Any], today: date) -> SafeString:
    """One checkbox per file of the library, ticked where `response` cites it (`cited_ids`). Every
    criterion of the page offers the same files: their escaped parts are built once per render."""
    memo = context.render_context.setdefault("evidence_checkboxes", {})
    key = (id(library), today)
    if key not in memo:
        memo[key] = (library, _library_parts(library, today))  # the list kept alive: its id stays its own
    parts = memo[key][1]
    cited = response.cited_ids
    prefix = conditional_escape(f"r-{response.pk}-evidence")
    rows = [
        f'<div class="checkboxes__item"><input form="principle-form" class="checkboxes__input" type="checkbox" '
        f'id="{prefix}-{pk_text}" name="{prefix}" value="{pk_text}"{" checked" if pk in cited else ""}>'
        f'<label class="checkboxes__label" for="{prefix}-{pk_text}">{name} '
        f'<span class="secondary-text">– {description}</span>{expired}</label></div>'
        for pk, pk_text, name, description, expired in parts
    ]
    return mark_safe("\n".join(rows))  # noqa: S308 - every value in it escaped above


def maturity_levels_escaped(levels: list[dict[str, Any]]) -> list[tuple[Any, str, str, str]]:
    """The maturity scale's levels as the radios show them, escaped once a page: (level, level as text,
    label, descriptor). Every criterion of the page offers the same levels."""
    return [
        (
            level["level"],
            conditional_escape(level["level"]),
            conditional_escape(level["label"]),
            conditional_escape(level["descriptor"]),
        )
        for level in levels
    ]


def maturity_radios_html(response: Any, levels: list[tuple[Any, str, str, str]]) -> SafeString:
    """The radios of one criterion from `maturity_levels_escaped`, ticked at the response's level."""
    name = conditional_escape(f"r-{response.pk}-maturity")
    return mark_safe(  # noqa: S308 - every value in it escaped
        "".join(
            '\n            <div class="radios__item">\n'
            f'              <input form="principle-form" class="radios__input" type="radio" id="{name}-{text}" '
            f'name="{name}" value="{text}"{" checked" if response.maturity == level else ""} '
            f'aria-describedby="{name}-{text}-hint">\n'
            f'              <label class="radios__label" for="{name}-{text}">{text} – {label}</label>\n'
            f'              <div class="hint radios__hint" id="{name}-{text}-hint">{descriptor}</div>\n'
            "            </div>\n            "
            for level, text, label, descriptor in levels
        )
    )


@register.simple_tag
def maturity_radios(response: Any, levels: list[dict[str, Any]]) -> SafeString:
    """The maturity scale's radios of one criterion (levels x a dozen template variables per criterion
    as a template loop), ticked at the response's level."""
    return maturity_radios_html(response, maturity_levels_escaped(levels))


@register.simple_tag
def cited_evidence(response: Any, today: date, org_slug: str, can_open: bool, can_download: bool) -> SafeString:
    """The files an answer cites, for people reading it: each with its dates and, where the reader's
    role allows, a link to its page (`can_open`) and its download (`can_download`)."""
    citations = response.citations.all()
    if not citations:
        return format_html('<p class="body mb-0">{}</p>', _("None cited"))
    items = []
    for citation in citations:
        evidence = citation.evidence
        kwargs = {"org_slug": org_slug, "evidence_id": evidence.pk}
        name = (
            format_html(
                '<a href="{}">{}</a>', reverse("assessments:evidence_detail", kwargs=kwargs), evidence.original_name
            )
            if can_open
            else format_html('<span class="evidence-cited__name">{}</span>', evidence.original_name)
        )
        dates = [_("Effective %(d)s") % {"d": date_format(evidence.effective_date, "j F Y")}]
        if evidence.expiry_date:
            dates.append(_("Valid until %(d)s") % {"d": date_format(evidence.expiry_date, "j F Y")})
        else:
            dates.append(_("No expiry date"))
        expired = (
            format_html(' <strong class="tag tag--red">{}</strong>', _("Expired"))
            if evidence.expiry_date and evidence.expiry_date < today
            else ""
        )
        download = (
            format_html(
                ' <a class="evidence-cited__download" href="{}" download>'
                '{}<span class="visually-hidden"> {}</span></a>',
                reverse("assessments:evidence_download", kwargs=kwargs),
                _("Download"),
                evidence.original_name,
            )
            if can_download
            else ""
        )
        items.append((name, evidence.description, " · ".join(dates), expired, download))
    return format_html(
        '<ul class="evidence-cited">{}</ul>',
        format_html_join(
            "\n",
            '<li class="evidence-cited__item">{} <span class="secondary-text">– {}</span>'
            '<span class="evidence-cited__dates">{}{}{}</span></li>',
            items,
        ),
    )
