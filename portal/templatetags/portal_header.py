"""The site header, rendered once per distinct state and reused (issue 19: the base cost of every page).

`includes/header_body.html` is the header's markup. For a signed-in person it depends only on what
`_state_key` collects: the language, the person's id and name, the current organisation and role, the
switcher's memberships, both counts and which link is the current page (aria-current). The rendered
markup is kept per process for each such state (bounded), with the CSRF token left as a
placeholder and put back on every request (so the token is still read, and rotated, as the template
would). Any change in one of those inputs is a different key, so the output is always the template's.
Signed-out pages render the template as before.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import Variable, VariableDoesNotExist
from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

BODY = "includes/header_body.html"
_CSRF_PLACEHOLDER = "\x00csrf\x00"
_MAX_ENTRIES = 2048
_fragments: dict[Any, str] = {}
_urls: dict[Any, dict[str, str]] = {}

# The links whose aria-current the header decides, and how (as header_body.html does).
_ORG_LINKS = {
    "dashboard": ("portal:dashboard", "exact"),
    "commitment": ("principles:commitment", "prefix"),
    "assessments": ("assessments:list", "prefix"),
    "evidence": ("assessments:evidence_list", "prefix"),
    "plans": ("assessments:plans", "prefix"),
    "reports": ("reports:list", "prefix"),
    "members": ("portal:members", "prefix"),
    "audit": ("portal:audit_trail", "exact"),
}
_OWN_LINKS = {
    "your_work": ("your_work", "exact"),
    "notifications": ("notifications", "exact"),
    "organisation_list": ("organisation_list", "exact"),
    "account": ("account", "exact"),
}


def _links(slug: str | None) -> dict[str, str]:
    """The links' URLs (reversed once per organisation and script prefix in this process)."""
    key = (get_script_prefix(), slug)
    found = _urls.get(key)
    if found is None:
        found = {name: reverse(url_name) for name, (url_name, _how) in _OWN_LINKS.items()}
        if slug is not None:
            found.update(
                {name: reverse(url_name, kwargs={"org_slug": slug}) for name, (url_name, _how) in _ORG_LINKS.items()}
            )
        if len(_urls) > _MAX_ENTRIES:
            _urls.clear()
        _urls[key] = found
    return found


def _current(path: str, slug: str | None) -> tuple[Any, ...]:
    """Which links are the current page, as the template decides it."""
    links = _links(slug)
    flags: list[Any] = []
    for name, (_url_name, how) in (_OWN_LINKS | (_ORG_LINKS if slug is not None else {})).items():
        url = links[name]
        flags.append(path == url if how == "exact" else path.startswith(url))
    if slug is not None:
        flags.append("/supply-chain/" in path)
    return tuple(flags)


def _state_key(context: Any, request: Any, user: Any) -> tuple[Any, ...]:
    organisation = context.get("current_organisation")
    membership = context.get("current_membership")
    memberships = context.get("my_memberships")
    memberships = memberships() if callable(memberships) else memberships or []
    awaiting = context.get("my_awaiting_count")
    unread = context.get("my_unread_count")
    slug = organisation.slug if organisation is not None else None
    return (
        get_language(),
        get_script_prefix(),
        user.pk,
        user.display_name,
        (organisation.pk, organisation.name, slug) if organisation is not None else None,
        membership.role if membership is not None else None,
        tuple((m.organisation_id, m.organisation.slug, m.organisation.name, m.role) for m in memberships),
        awaiting() if callable(awaiting) else awaiting,
        unread() if callable(unread) else unread,
        _current(request.path, slug),
    )


def _render(context: Any) -> str:
    body = context.template.engine.get_template(BODY)
    return body.render(context)


@register.simple_tag(takes_context=True)
def site_header(context: Any) -> SafeString:
    request = context.get("request")
    user = context.get("user")
    if request is None or user is None or not getattr(user, "is_authenticated", False):
        return mark_safe(_render(context))  # noqa: S308 - the template's own output, escaped by it
    key = _state_key(context, request, user)
    html = _fragments.get(key)
    token = str(context.get("csrf_token", ""))
    if html is None:
        html = _render(context)
        html = html.replace(f'value="{token}"', f'value="{_CSRF_PLACEHOLDER}"') if token else html
        if len(_fragments) >= _MAX_ENTRIES:
            _fragments.clear()  # bounded; rebuilt as pages are asked for
        _fragments[key] = html
    # The token is alphanumeric (Django's own); the rest is the template's output, escaped by it.
    return mark_safe(html.replace(_CSRF_PLACEHOLDER, token))  # noqa: S308


_by_path: dict[Any, str] = {}


@register.simple_tag(takes_context=True)
def path_fragment(context: Any, name: str) -> SafeString:
    """Render the template `name`, whose output depends only on the request's path and the language
    (e.g. the account pages' side navigation: a dozen url and translate tags), once per process for
    each path and language."""
    request = context.get("request")
    key = (name, get_language(), get_script_prefix(), getattr(request, "path", None))
    html = _by_path.get(key)
    if html is None:
        html = context.template.engine.get_template(name).render(context)
        if len(_by_path) >= _MAX_ENTRIES:
            _by_path.clear()
        _by_path[key] = html
    return mark_safe(html)  # noqa: S308 - the template's own output, escaped by it


_fixed: dict[Any, str] = {}


@register.simple_tag(takes_context=True)
def fixed_fragment(context: Any, name: str) -> SafeString:
    """Render the template `name`, whose output depends only on the language and the script prefix
    (the base layout's static assets, skip link and footer: their translate, static and url tags),
    once per process for each language and prefix."""
    key = (name, get_language(), get_script_prefix())
    html = _fixed.get(key)
    if html is None:
        html = context.template.engine.get_template(name).render(context)
        if len(_fixed) >= _MAX_ENTRIES:
            _fixed.clear()
        _fixed[key] = html
    return mark_safe(html)  # noqa: S308 - the template's own output, escaped by it


_empty_top: dict[Any, str] = {}


@register.simple_tag(takes_context=True)
def page_top(context: Any) -> SafeString:
    """`includes/page_top.html` (the flash messages and the form's error summary), but on the usual
    page, with neither, its empty output without rendering it. `len` loads the messages without
    marking them seen, so nothing about their storage changes."""
    engine = context.template.engine
    if not messages_or_errors(context):
        html = _empty_top.get(id(engine))
        if html is None:
            html = _empty_top[id(engine)] = engine.get_template(PAGE_TOP).render(context.new())
        return mark_safe(html)  # noqa: S308 - the template's own output, escaped by it
    return mark_safe(engine.get_template(PAGE_TOP).render(context))  # noqa: S308 - as above


PAGE_TOP = "includes/page_top.html"
_FORM_ERRORS = Variable("form.errors")


def messages_or_errors(context: Any) -> bool:
    """Whether `includes/page_top.html` shows anything: a flash message, or the errors of `form` (looked
    up as the template does)."""
    messages = context.get("messages")
    if messages is not None and len(messages):
        return True
    try:
        return bool(_FORM_ERRORS.resolve(context))
    except VariableDoesNotExist:
        return False
