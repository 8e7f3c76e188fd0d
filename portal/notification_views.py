"""The signed-in person's notifications, their email preferences, and the one-click unsubscribe.

Not tenant pages: a person's notifications come from every organisation they belong to, and each
read is filtered by the person (portal.notifications).
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.forms import BoundField
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import conditional_escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scopes_disabled

from portal import notifications
from portal.forms import NotificationPreferencesForm
from portal.models import Delivery
from portal.tenancy import AuthenticatedRequest


@login_required
@require_GET
def notification_list(request: AuthenticatedRequest) -> HttpResponse:
    """The person's notifications across organisations, newest first; unread ones marked."""
    unread_only = request.GET.get("show") == "unread"
    paginator = Paginator(
        notifications.notifications_of(request.user, unread_only=unread_only), settings.NOTIFICATIONS_PER_PAGE
    )
    # Read across organisations on purpose (each row is the person's own): under row-level security
    # only a cross-tenant read sees them, so the page is read here, not later in the template.
    with scopes_disabled():
        page = paginator.get_page(request.GET.get("page"))
        page.object_list = list(page.object_list)
    return render(
        request,
        "portal/notifications.html",
        {
            "page": page,
            "unread_only": unread_only,
            "query": "show=unread" if unread_only else "",
        },
    )


def _same_site_path(request: HttpRequest, url: str) -> str | None:
    """`url` when it is a path on this site (never another host, a scheme, or "//host")."""
    if not url.startswith("/") or url.startswith("//") or url.startswith("/\\"):
        return None
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return None
    return url


@login_required
@require_POST
def notification_open(request: AuthenticatedRequest, notification_id: Any) -> HttpResponse:
    """Mark one of the person's own notifications read and go to its page (on this site only)."""
    notification = notifications.notification_open(request.user, notification_id)
    if notification is None:
        raise Http404
    target = _same_site_path(request, notification.url)
    return redirect(target or "notifications")


@login_required
@require_POST
def notification_mark_all_read(request: AuthenticatedRequest) -> HttpResponse:
    marked = notifications.mark_all_read(request.user)
    if marked:
        messages.success(
            request,
            _("%(n)s notification marked as read.") % {"n": marked}
            if marked == 1
            else _("%(n)s notifications marked as read.") % {"n": marked},
        )
    return redirect("notifications")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def notification_preferences(request: AuthenticatedRequest) -> HttpResponse:
    """For every kind: straight away, in the daily summary, or off; and the person's time zone."""
    user = request.user
    form = NotificationPreferencesForm(
        request.POST if request.method == "POST" else None,
        current=notifications.preferences(user),
        time_zone=user.time_zone,
    )
    if request.method == "POST" and form.is_valid():
        notifications.preferences_save(user=user, choices=form.choices(), time_zone=form.cleaned_data["time_zone"])
        messages.success(request, _("Your notification settings have been saved."))
        return redirect("notification_preferences")
    kinds = [kind for kind in notifications.KINDS.values() if kind.emailed]
    return render(
        request,
        "portal/notification_preferences.html",
        {
            "form": form,
            "kind_fields": [_radio_group(form[f"kind_{kind.key}"]) for kind in kinds],
            "portal_only": [kind for kind in notifications.KINDS.values() if not kind.emailed],
        },
    )


def _radio_group(field: BoundField) -> SafeString:
    """A radio field as `templates/forms/field.html` draws it (the same HTML, byte for byte: a test
    compares them), built in Python: the template and its per-choice widgets cost more than the rest of
    the page. For radio fields without help text or per-choice hints, as the preferences form has.
    Each part is escaped once (the labels are lazy translations: each escape would translate again)."""
    errors = field.errors
    auto_id = conditional_escape(field.auto_id)
    html_name = conditional_escape(field.html_name)
    value = field.value()
    chosen = "" if value is None else str(value)  # as the radio widget compares them
    choices: list[tuple[Any, Any]] = list(cast(Any, field.field).choices)
    radios = "".join(
        '\n        <div class="radios__item">'
        f'<input type="radio" class="radios__input" name="{html_name}" value="{conditional_escape(choice_value)}" '
        f'id="{auto_id}_{index}"{" checked" if str(choice_value) == chosen else ""}>'
        f'<label class="radios__label" for="{auto_id}_{index}">{conditional_escape(str(label))}</label>'
        "\n          \n        </div>"
        for index, (choice_value, label) in enumerate(choices)
    )
    error_id = f"{auto_id}_error"
    error_html = ""
    if errors:
        hidden = conditional_escape(_("Error:"))
        error_html = (
            f'<p class="error-message" id="{error_id}">'
            + "<br>".join(
                f'<span class="visually-hidden">{hidden}</span> {conditional_escape(cast(str, e))}' for e in errors
            )
            + "</p>"
        )
    described = f' aria-describedby="{error_id}"' if errors else ""
    return mark_safe(  # noqa: S308 - every value in it escaped above
        f'<div class="form-group{" form-group--error" if errors else ""}">\n\n  <fieldset class="fieldset"'
        f"{described}>\n"
        f'    <legend class="fieldset__legend fieldset__legend--s">{conditional_escape(str(field.label))}</legend>'
        f"\n    \n    {error_html}\n    \n"
        f'      <div class="radios">{radios}</div>\n    \n  </fieldset>\n\n</div>'
    )


@csrf_exempt  # RFC 8058: a mail provider's one-click POST carries no CSRF token; the signed token is the credential
@never_cache
@require_http_methods(["GET", "POST"])
def notification_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what the link stops and a button (mail scanners follow links: GET changes nothing);
    POST (the button, or a mail provider's `List-Unsubscribe=One-Click`) turns that kind off for the
    person the token names, and nobody else."""
    found = notifications.read_unsubscribe_token(token)
    if found is None:
        return render(request, "portal/notification_unsubscribe_invalid.html", status=400)
    person, kind = found
    label = notifications.KINDS[kind].label
    if request.method == "POST":
        notifications.unsubscribe(user=person, kind=kind)
        return render(request, "portal/notification_unsubscribe.html", {"label": label, "done": True})
    already = notifications.preferences(person)[kind] == Delivery.OFF
    return render(request, "portal/notification_unsubscribe.html", {"label": label, "done": False, "already": already})
