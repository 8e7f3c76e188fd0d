"""The principle page's criterion sections, built in Python.

Each criterion of the page is a section of about a hundred template nodes (translate, blocktranslate
and url tags, conditions on the reader's permissions and the answer's state), repeated for every
criterion. Built here, the words, the addresses (reversed once a page, the ids substituted) and the
permissions are looked up once a page and each section is a few string joins. The HTML is the
template's, byte for byte: tests/assessments/test_principle_sections.py renders the page with the
template loop it replaced and compares the two.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from assessments.templatetags.comment_tags import comments_block
from assessments.templatetags.evidence_tags import (
    cited_evidence,
    evidence_checkboxes,
    maturity_levels_escaped,
    maturity_radios_html,
)
from portal.templatetags.portal_tags import when

register = template.Library()

# Stands in for a response's or an action's id in an address reversed once a page.
_ID = "00000000-0000-4000-8000-00000000abcd"


def _page(context: Any) -> dict[str, Any]:
    """What every section of one render shares: words in the active language, addresses, permissions."""
    memo = context.render_context.get("principle_sections")
    if memo is not None:
        return memo
    assessment = context["assessment"]
    org_slug = context["current_organisation"].slug
    membership = context.get("current_membership")

    def url(name: str, **ids: str) -> str:
        return reverse(f"assessments:{name}", kwargs={"org_slug": org_slug, "assessment_id": assessment.pk, **ids})

    memo = {
        "assessment": assessment,
        "org_slug": org_slug,
        "can_edit": context.get("can_edit"),
        "may_edit_content": bool(membership) and membership.can("edit_content"),
        "errors": context.get("errors"),
        "problems": context.get("problems"),
        "levels": maturity_levels_escaped(context.get("levels") or []),
        "library": context.get("evidence_library"),
        "today": context.get("today"),
        "can_open": context.get("can_open_evidence"),
        "can_download": context.get("can_download_evidence"),
        "can_comment": context.get("can_comment"),
        "can_resolve": context.get("can_resolve"),
        "kind": context.get("kind"),
        "csrf": conditional_escape(context.get("csrf_token", "")),
        "autosave_url": url("autosave", response_id=_ID),
        "edit_url": url("action_edit", action_id=_ID),
        "delete_url": url("action_delete", action_id=_ID),
        "create_url": url("action_create", response_id=_ID),
        "upload_url": conditional_escape(reverse("assessments:evidence_upload", kwargs={"org_slug": org_slug})),
        "guidance": _("Guidance and examples of evidence"),
        "maturity": _("Maturity"),
        "levels_need": _("(levels 3 and 4 need evidence)"),
        "what_now": _("What you do now, and how you know"),
        "describe": _("Describe the practice in your own words. Your workforce representatives will read this."),
        "cited": _("Evidence cited"),
        "library_empty": _("Your evidence library is empty."),
        "upload": _("Upload evidence"),
        "not_answered": _("Not answered"),
        "they_do": _("What they do now"),
        "evidence": _("Evidence"),
        "actions": _("Actions"),
        "done": _("Done"),
        "overdue": _("Overdue"),
        "in_progress": _("In progress"),
        "not_started": _("Not started"),
        "no_owner": _("No owner yet"),
        "change": _("Change"),
        "delete": _("Delete"),
        "no_actions": _("No actions."),
        "add_action": _("Add an action"),
        "error": _("Error:"),
        "confirm": _("Confirm"),
        "carried": _("Carried over: confirm or change"),
        "carried_hint": _(
            "This answer was carried over from the last self-assessment. If it is still true, confirm it; "
            "otherwise change it (changing it confirms it too)."
        ),
        "nothing_written": _("Nothing written"),
    }
    context.render_context["principle_sections"] = memo
    return memo


def _with_id(url: str, pk: Any) -> str:
    return conditional_escape(url.replace(_ID, str(pk)))


def _saved(response: Any) -> str:
    if not response.updated_at:
        return ""
    return _("Last saved %(t)s") % {"t": conditional_escape(when(response.updated_at))}


def _editable(context: Any, p: dict[str, Any], r: Any, pk: str, code: str) -> str:
    problem: Any = (p["problems"] or {}).get(r.pk) or ""
    field = problem.field if problem else ""
    message = conditional_escape(problem.field_message) if problem else ""
    error = p["error"]
    maturity_error = field == "maturity"
    evidence_error = field == "evidence"
    general = (
        f'<p class="error-message" id="r-{pk}-error"><span class="visually-hidden">{error}</span> {message}</p>'
        if problem and not field
        else ""
    )
    need = f' <span class="secondary-text">{p["levels_need"]}</span>' if r.criterion.evidence_expected else ""
    if p["library"]:
        boxes = evidence_checkboxes(context, r, p["library"], p["today"])
        library = f'\n          <div class="checkboxes">\n            {boxes}\n          </div>\n          '
    else:
        library = f'\n          <p class="body-s">{p["library_empty"]}</p>\n          '
    saved = _saved(r)
    maturity_described = f' aria-describedby="r-{pk}-maturity-error"' if maturity_error else ""
    evidence_described = f' aria-describedby="r-{pk}-evidence-error"' if evidence_error else ""
    for_criterion = _("for criterion %(c)s") % {"c": code}
    return (
        f"\n      {general}\n"
        '      <div class="criterion-fields">\n'
        f'      <div class="form-group{" form-group--error" if maturity_error else ""}" data-autosave-field>\n'
        f'        <fieldset class="fieldset" id="r-{pk}-maturity"'
        f"{maturity_described}>\n"
        f'          <legend class="fieldset__legend fieldset__legend--s">{p["maturity"]}{need}</legend>\n'
        "          "
        + (
            f'<p class="error-message" id="r-{pk}-maturity-error"><span class="visually-hidden">{error}</span> '
            f"{message}</p>"
            if maturity_error
            else ""
        )
        + "\n"
        '          <div class="radios">\n'
        f"            {maturity_radios_html(r, p['levels'])}\n"
        "          </div>\n"
        "        </fieldset>\n"
        "      </div>\n"
        '      <div class="form-group" data-autosave-field>\n'
        f'        <label class="label label--s" for="r-{pk}-narrative">{p["what_now"]}</label>\n'
        f'        <div class="hint" id="r-{pk}-narrative-hint">{p["describe"]}</div>\n'
        f'        <textarea form="principle-form" class="textarea" id="r-{pk}-narrative" name="r-{pk}-narrative" '
        f'rows="4" aria-describedby="r-{pk}-narrative-hint">{conditional_escape(r.narrative)}</textarea>\n'
        "        \n"
        f'        <p class="autosave-status" aria-hidden="true">{saved}</p>\n'
        "      </div>\n"
        f'      <div class="form-group{" form-group--error" if evidence_error else ""}" data-autosave-field>\n'
        f'        <fieldset class="fieldset" id="r-{pk}-evidence"'
        f"{evidence_described}>\n"
        f'          <legend class="fieldset__legend fieldset__legend--s">{p["cited"]}</legend>\n'
        "          "
        + (
            f'<p class="error-message" id="r-{pk}-evidence-error"><span class="visually-hidden">{error}</span> '
            f"{message}</p>"
            if evidence_error
            else ""
        )
        + "\n"
        f"          {library}\n"
        f'          <p class="body-s"><a href="{p["upload_url"]}?response={pk}">{p["upload"]}'
        f'<span class="visually-hidden"> {for_criterion}</span></a></p>\n'
        "        </fieldset>\n"
        "      </div>\n"
        f'      <p class="autosave-live visually-hidden" aria-live="polite">{saved}</p>\n'
        "      </div>\n    "
    )


def _read_only(p: dict[str, Any], r: Any) -> str:
    if r.maturity is None:
        maturity = p["not_answered"]
    else:
        label = conditional_escape(p["assessment"].framework.maturity_label(r.maturity))
        maturity = f"{conditional_escape(r.maturity)} – {label}"
    narrative = linebreaksbr(r.narrative, autoescape=True) or p["nothing_written"]
    cited = cited_evidence(r, p["today"], p["org_slug"], p["can_open"], p["can_download"])
    return (
        '\n      <dl class="summary-list">\n'
        f'        <div class="summary-list__row"><dt class="summary-list__key">{p["maturity"]}</dt>'
        f'<dd class="summary-list__value">{maturity}</dd></div>\n'
        f'        <div class="summary-list__row"><dt class="summary-list__key">{p["they_do"]}</dt>'
        f'<dd class="summary-list__value">{narrative}</dd></div>\n'
        f'        <div class="summary-list__row"><dt class="summary-list__key">{p["evidence"]}</dt>'
        f'<dd class="summary-list__value">{cited}</dd></div>\n'
        "      </dl>\n    "
    )


def _actions(p: dict[str, Any], r: Any) -> str:
    items = r.action_items.all()
    if not items:
        return f'<p class="body-s secondary-text">{p["no_actions"]}</p>'
    rows = []
    for item in items:
        title = conditional_escape(item.title)
        if item.status == "done":
            tag = f'<strong class="tag tag--green">{p["done"]}</strong>'
        elif item.due_date < p["today"]:
            tag = f'<strong class="tag tag--red">{p["overdue"]}</strong>'
        elif item.status == "in_progress":
            tag = f'<strong class="tag tag--blue">{p["in_progress"]}</strong>'
        else:
            tag = f'<strong class="tag tag--grey">{p["not_started"]}</strong>'
        due = _("Due %(d)s") % {"d": conditional_escape(date_filter(item.due_date, "j F Y"))}
        owner = conditional_escape(item.owner.display_name) if item.owner else p["no_owner"]
        links = (
            f' · <a href="{_with_id(p["edit_url"], item.pk)}">{p["change"]}<span class="visually-hidden"> {title}'
            f'</span></a> · <a href="{_with_id(p["delete_url"], item.pk)}">{p["delete"]}'
            f'<span class="visually-hidden"> {title}</span></a>'
            if p["may_edit_content"]
            else ""
        )
        rows.append(
            f"\n      <li><strong>{title}</strong> {tag}\n"
            f'        <p class="activity-list__meta">{due} · {owner}\n'
            f"        {links}</p></li>\n      "
        )
    return '\n    <ul class="activity-list">\n      ' + "".join(rows) + "\n    </ul>\n    "


@register.simple_tag(takes_context=True)
def criterion_section(context: Any, r: Any) -> SafeString:
    """One criterion of the principle page: its answer's fields (or, for readers, the answer), the
    state it is in, its actions and its comments."""
    p = _page(context)
    criterion = r.criterion
    pk = conditional_escape(r.pk)
    anchor = conditional_escape(criterion.anchor)
    code = conditional_escape(criterion.code)
    can_edit = p["can_edit"]
    hx = (
        f'hx-post="{_with_id(p["autosave_url"], r.pk)}" hx-trigger="input from:find .criterion-fields delay:1200ms, '
        'change from:find .criterion-fields" hx-include="find .criterion-fields" '
        f'hx-headers=\'{{"X-CSRFToken": "{p["csrf"]}"}}\' hx-target="find .autosave-live" '
        'hx-swap="innerHTML" hx-sync="this:replace"'
        if can_edit
        else ""
    )
    carried = ""
    if r.awaiting_confirmation:
        carried = f'<p class="body"><strong class="tag tag--yellow">{p["carried"]}</strong></p>\n      '
        if can_edit:
            the_answer = _("the answer to %(c)s") % {"c": code}
            carried += (
                f'<p class="body-s">{p["carried_hint"]}</p>\n'
                f'      <button type="submit" form="principle-form" class="button button--secondary" name="confirm" '
                f'value="{pk}">{p["confirm"]}<span class="visually-hidden"> {the_answer}</span></button>'
            )
        carried += "\n    "
    err = (p["errors"] or {}).get(r.pk) or ""
    err_html = (
        f'<p class="error-message"><span class="visually-hidden">{p["error"]}</span> {conditional_escape(err)}</p>'
        if err
        else ""
    )
    examples = (
        '<ul class="list list--bullet body-s">'
        + "".join(f"<li>{conditional_escape(e)}</li>" for e in criterion.evidence_examples)
        + "</ul>"
        if criterion.evidence_examples
        else ""
    )
    source = _("From the principle: “%(s)s”") % {"s": conditional_escape(criterion.source_sentence)}
    body = _editable(context, p, r, pk, code) if can_edit else _read_only(p, r)
    add_action = (
        f'<p class="body-s"><a href="{_with_id(p["create_url"], r.pk)}">{p["add_action"]}'
        f'<span class="visually-hidden"> {_("for criterion %(c)s") % {"c": code}}</span></a></p>'
        if p["may_edit_content"]
        else ""
    )
    comments = comments_block(
        context, r.comments, p["assessment"], p["kind"], criterion.code, p["can_comment"], p["can_resolve"]
    )
    return mark_safe(  # noqa: S308 - every value in it escaped above
        f'  <section class="criterion card" id="{anchor}" aria-labelledby="{anchor}-title"\n'
        f"    {hx}>\n"
        f'    <h2 class="heading-m" id="{anchor}-title"><span class="caption-m">{code}</span> '
        f"{conditional_escape(criterion.title)}</h2>\n"
        f"    {carried}\n"
        f"    {err_html}\n"
        f'    <details class="details"><summary>{p["guidance"]}</summary><div class="details__text">\n'
        f'      <p class="body-s">{conditional_escape(criterion.guidance)}</p>\n'
        f"      {examples}\n"
        f'      <p class="body-s secondary-text">{source}</p>\n'
        "    </div></details>\n\n"
        f"    {body}\n\n"
        f'    <h3 class="heading-s">{p["actions"]}</h3>\n'
        f"    {_actions(p, r)}\n"
        f"    {add_action}\n"
        f"    {comments}\n"
        "  </section>"
    )
