"""Display helpers: role tags, permissions, dates as people read them, pagination windows."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django import template
from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()

_ROLE_COLOURS = {
    "owner": "purple",
    "manager": "blue",
    "workforce_rep": "turquoise",
    "auditor": "orange",
    "member": "grey",
}
_STATUS_COLOURS = {
    "pending": "blue",
    "accepted": "green",
    "expired": "grey",
    "revoked": "red",
    "sent": "green",
    "sending": "yellow",
    "failed": "red",
}


@register.filter
def role_colour(role: str) -> str:
    return _ROLE_COLOURS.get(role, "grey")


@register.filter
def role_label(value: Any) -> Any:
    """A role code as its label; any other value unchanged."""
    from portal.roles import Role

    if isinstance(value, str) and value in Role.values:
        return Role(value).label
    return value


_CODE = re.compile(r"[a-z]+(_[a-z]+)+")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")


@register.filter
def change_value(value: Any) -> Any:
    """A recorded value as words: roles by label, yes/no, lists joined, and ids as a count (an id
    means nothing to a reader; the API and the export keep the record as stored)."""
    from django.utils.translation import gettext, ngettext

    from portal.activity import looks_like_an_id

    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if value is None or value == "":
        return "–"
    if isinstance(value, list):
        ids = [v for v in value if isinstance(v, str) and looks_like_an_id(v)]
        if ids and len(ids) == len(value):
            return ngettext("%(n)s item", "%(n)s items", len(ids)) % {"n": len(ids)}
        if not value:
            return gettext("none")
        return ", ".join(str(change_value(v)) for v in value)
    if isinstance(value, str) and looks_like_an_id(value):
        return gettext("recorded")
    if isinstance(value, str) and _ISO_MOMENT.fullmatch(value):
        # Dates and moments are stored as ISO text; people read them as every page shows them.
        parsed = parse_datetime(value) if "T" in value or " " in value else parse_date(value)
        if isinstance(parsed, datetime):
            return when(parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC))
        if parsed is not None:
            return date_format(parsed, "j F Y")
    if isinstance(value, str) and _CODE.fullmatch(value):
        from portal.roles import Role

        return Role(value).label if value in Role.values else value.replace("_", " ")
    return role_label(value)


@register.filter
def humanise_key(key: str) -> str:
    return str(key).replace("_", " ").capitalize()


@register.filter
def status_colour(status: str) -> str:
    return _STATUS_COLOURS.get(status, "grey")


@register.simple_tag
def roles_table() -> dict[str, Any]:
    """The actions x roles table of portal.roles, for the members page."""
    from portal.roles import Role, permission_rows

    return {"roles": [role.label for role in Role], "rows": list(permission_rows())}


# The roles table, rendered, by language: the same for everyone (portal.roles is fixed in code).
_ROLES_TABLES: dict[str | None, SafeString] = {}


@register.simple_tag
def roles_table_html() -> SafeString:
    """The members page's table of what each role can do (portal/_roles_table.html), rendered once
    per language and process: about 25 rows by 5 roles of template tags on every visit otherwise."""
    from django.template.loader import render_to_string
    from django.utils.translation import get_language

    language = get_language()
    html = _ROLES_TABLES.get(language)
    if html is None:
        html = _ROLES_TABLES[language] = mark_safe(render_to_string("portal/_roles_table.html"))  # noqa: S308 - a template's output
    return html


@register.filter
def can(membership: Any, action: str) -> bool:
    return bool(membership) and membership.can(action)


@register.filter
def startswith(value: str, prefix: str) -> bool:
    return bool(prefix) and str(value).startswith(str(prefix))


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


_KEEP_CASE = re.compile(r"^(?:[A-Z0-9]{2,}s?|I)$")  # IP, TOTP, I


def _lower_word(word: str) -> str:
    return word.lower() if not _KEEP_CASE.match(word) and word[:1].isupper() and word[1:].islower() else word


@register.filter(is_safe=True)
def sentence_case(value: Any) -> str:
    """The sign-in library's Title Case headings and buttons in sentence case, as every portal page
    writes them: "Two-Factor Authentication" -> "Two-factor authentication". Tags are left alone;
    acronyms (IP, TOTP) keep their capitals."""
    first = True

    def word(match: re.Match[str]) -> str:
        nonlocal first
        parts = match.group(0).split("-")
        if first:
            first = False
            return "-".join([parts[0], *map(_lower_word, parts[1:])])
        return "-".join(map(_lower_word, parts))

    pieces = re.split(r"(<[^>]*>|&[#\w]+;)", str(value))
    return "".join(p if p.startswith(("<", "&")) else re.sub(r"[A-Za-z][A-Za-z0-9'-]*", word, p) for p in pieces)


@register.simple_tag
def code_lifetime(setting: str) -> str:
    """How long an emailed code lasts, in words, from the allauth setting that sets it: "15 minutes"."""
    from allauth.account import app_settings

    minutes = max(1, round(int(getattr(app_settings, setting)) / 60))
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


@register.simple_tag
def password_reset_days() -> int:
    """How many days a password reset link lasts (Django's PASSWORD_RESET_TIMEOUT, which allauth uses)."""
    from django.conf import settings

    return max(1, round(settings.PASSWORD_RESET_TIMEOUT / 86400))


@register.filter
def when(value: datetime | None, seconds: str = "") -> str:
    """One moment as the portal shows it everywhere (pages, emails, the report PDF, the verify page):
    in the portal's time zone (settings.TIME_ZONE), always labelled: '7 December 2026, 14:05 GMT'
    ('BST' in summer). `|when:"seconds"` adds seconds; `|when:"time"` is the time alone ('14:05 GMT'),
    for a moment of today such as an autosave's; `|when:"short"` ('7 Dec 2026, 14:05 GMT') for table
    cells and lists."""
    if not value:
        return ""
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils.dateformat import format as date_format

    local = timezone.localtime(value, ZoneInfo(settings.TIME_ZONE)) if timezone.is_aware(value) else value
    formats = {"seconds": "j F Y, H:i:s T", "time": "H:i T", "short": "j M Y, H:i T"}
    return date_format(local, formats.get(seconds, "j F Y, H:i T"))


@register.filter
def relative(value: datetime | None) -> str:
    """'in 5 days', '3 hours ago', 'just now'."""
    if not value:
        return ""
    delta = value - timezone.now()
    seconds = delta.total_seconds()
    future = seconds > 0
    seconds = abs(seconds)
    if seconds < 60:
        return _("just now")
    for unit_seconds, singular, plural in (
        (86400, "%(n)d day", "%(n)d days"),
        (3600, "%(n)d hour", "%(n)d hours"),
        (60, "%(n)d minute", "%(n)d minutes"),
    ):
        if seconds >= unit_seconds:
            n = int(seconds // unit_seconds)
            amount = ngettext(singular, plural, n) % {"n": n}
            return _("in %(amount)s") % {"amount": amount} if future else _("%(amount)s ago") % {"amount": amount}
    return ""


@register.filter
def page_window(paginator: Paginator, current: int) -> list[int | None]:
    """Page numbers around the current one, with None where a gap is shown as an ellipsis."""
    last = paginator.num_pages
    wanted = sorted({1, last, current - 1, current, current + 1} & set(range(1, last + 1)))
    window: list[int | None] = []
    for n in wanted:
        if window and n - (window[-1] or 0) > 1:
            window.append(None)
        window.append(n)
    return window


@register.filter
def maturity_label(framework: Any, level: int | None) -> str:
    return framework.maturity_label(level)
