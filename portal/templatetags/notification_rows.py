"""The notifications page's list items, written in Python.

Drawn by the template, each of the page's 25 items cost its own url, translate, csrf_token and date
tags, most of the page's own time. Here the words, the open form's address (reversed once a page, the
id substituted) and the CSRF field are looked up once a page, and each item is a few string joins. The
HTML is the template's, byte for byte: tests/portal/test_notification_rows.py renders the loop as it
was (tests/portal/reference/notification_rows.html) beside it. Every value is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # in Django, not in its stubs
from django.utils.translation import gettext as _

from portal.templatetags.portal_tags import when

register = template.Library()

# Stands in for a notification's id in the open form's address, reversed once a page.
_ID = "00000000-0000-4000-8000-00000000abcd"


@register.simple_tag(takes_context=True)
def notification_rows(context: Any, notifications: Sequence[Any]) -> SafeString:
    """One `<li>` per notification (as the loop in templates/portal/notifications.html wrote it): unread
    ones marked "New", each a form that opens it, its organisation and when it happened."""
    csrf = str(CsrfTokenNode().render(context))  # as {% csrf_token %} draws it
    open_url = conditional_escape(reverse("notification_open", kwargs={"notification_id": _ID}))
    new = f'<strong class="tag tag--blue">{_("New")}</strong>'
    parts = []
    for n in notifications:
        unread = not n.read_at
        organisation = n.organisation
        pk = conditional_escape(n.pk)
        parts.append(
            f'\n  <li class="notification-list__item{" notification-list__item--unread" if unread else ""}" '
            f'data-notification="{pk}">\n    {new if unread else ""}\n'
            f'    <form method="post" action="{open_url.replace(_ID, pk)}" class="notification-list__open">\n'
            f"      {csrf}\n"
            f'      <button type="submit" class="link-button notification-list__text">{conditional_escape(n.text)}'
            "</button>\n    </form>\n"
            '    <p class="notification-list__meta secondary-text">'
            f"{conditional_escape(organisation.name) + ' · ' if organisation else ''}"
            f'<time datetime="{conditional_escape(date_filter(template_localtime(n.created_at), "c"))}">'
            f"{conditional_escape(when(n.created_at))}</time></p>\n  </li>\n  "
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
