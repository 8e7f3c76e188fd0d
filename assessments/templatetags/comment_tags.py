"""The comments under each criterion or plan section, built in Python.

The principle page shows one comments block per criterion (each with its own translate, url and
csrf_token tags as an include of templates/review/_comments.html). Built here, the words, the form's
address and the token are looked up once a page, and each block is a few string joins. The HTML is
the template's, byte for byte (tests/assessments/test_comment_tags.py renders both and compares them),
and the template stays as that reference.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import linebreaksbr, slugify
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.utils.translation import gettext as _

from portal.templatetags.portal_tags import when

register = template.Library()


def _page_parts(context: Any, kind: str, subject: Any) -> dict[str, str]:
    """What every block of one page shares, looked up once a render: the words (in the active
    language), the comment form's address, the CSRF field and the path to come back to."""
    memo = context.render_context.setdefault("comments_block", {})
    key = (kind, subject.pk)
    if key not in memo:
        csrf = CsrfTokenNode().render(context)  # as {% csrf_token %} draws it
        org_slug = context["current_organisation"].slug
        request = context.get("request")
        memo[key] = {
            "csrf": str(csrf),
            "org_slug": org_slug,
            "add_url": conditional_escape(
                reverse(
                    "assessments:comment_add", kwargs={"org_slug": org_slug, "kind": kind, "subject_id": subject.pk}
                )
            ),
            "path": conditional_escape(request.path if request is not None else ""),
            "comments": _("Comments"),
            "resolved": _("Resolved"),
            "former": _("Former member"),
            "reply_or_resolve": _("Reply or resolve"),
            "your_reply": _("Your reply"),
            "reply": _("Reply"),
            "mark_resolved": _("Mark as resolved"),
            "none": _("No comments."),
            "add_a_comment": _("Add a comment"),
            "add_comment": _("Add comment"),
        }
    return memo[key]


def _name(person: Any, words: dict[str, str]) -> str:
    name = person.display_name if person is not None else ""
    return conditional_escape(name) if name else words["former"]


@register.simple_tag(takes_context=True)
def comments_block(
    context: Any,
    comments: list[Any],
    subject: Any,
    kind: str,
    anchor: Any,
    can_comment: Any = False,
    can_resolve: Any = False,
) -> SafeString:
    """templates/review/_comments.html for one criterion or section: its comments (each with its
    replies, as selectors.comments_by_anchor gives them), the reply and resolve forms where the reader
    may use them, and the form for a new comment."""
    words = _page_parts(context, kind, subject)
    csrf, path = words["csrf"], words["path"]
    anchor_text = conditional_escape(anchor)
    count = f" ({len(comments)})" if comments else ""
    out = [f'<div class="comments" id="comments-{anchor_text}">\n  <h3 class="heading-s">{words["comments"]}']
    out.append(f"{count}</h3>\n  ")
    for c in comments:
        resolve_url = ""
        if not c.resolved_at and (can_comment or can_resolve):
            resolve_url = conditional_escape(
                reverse(
                    "assessments:comment_resolve",
                    kwargs={"org_slug": words["org_slug"], "kind": kind, "subject_id": subject.pk, "comment_id": c.pk},
                )
            )
        author = _name(c.author, words)
        pk = conditional_escape(c.pk)
        resolved_tag = f' <strong class="tag tag--green">{words["resolved"]}</strong>' if c.resolved_at else ""
        out.append(
            f'\n  <div class="comment{" comment--resolved" if c.resolved_at else ""}">\n'
            f'    <p class="body-s mb-0"><strong>{author}</strong> <span class="secondary-text">'
            f'<time datetime="{conditional_escape(date_filter(template_localtime(c.created_at), "c"))}">'
            f"{conditional_escape(when(c.created_at, 'short'))}</time></span>"
            f"{resolved_tag}</p>\n"
            f'    <p class="body">{linebreaksbr(c.body, autoescape=True)}</p>\n    '
        )
        for r in c.thread_replies:
            out.append(
                f'\n      <div class="comment comment--reply"><p class="body-s mb-0"><strong>{_name(r.author, words)}'
                f'</strong> <span class="secondary-text">{conditional_escape(when(r.created_at, "short"))}</span></p>'
                f'<p class="body">{linebreaksbr(r.body, autoescape=True)}</p></div>\n    '
            )
        out.append("\n    ")
        who = conditional_escape(c.author.display_name if c.author is not None else "")
        if can_comment and not c.resolved_at:
            out.append(
                f'\n    <details class="details"><summary>{words["reply_or_resolve"]}<span class="visually-hidden"> '
                f'{_("to %(who)s") % {"who": who}}</span></summary><div class="details__text">\n'
                f'      <form method="post" action="{words["add_url"]}" novalidate>\n'
                f'        {csrf}<input type="hidden" name="anchor" value="{anchor_text}">'
                f'<input type="hidden" name="parent" value="{pk}"><input type="hidden" name="next" value="{path}">\n'
                f'        <div class="form-group"><label class="label" for="reply-{pk}">{words["your_reply"]}</label>'
                f'<textarea class="textarea" id="reply-{pk}" name="body" rows="3"></textarea></div>\n'
                f'        <button type="submit" class="button button--secondary">{words["reply"]}</button>\n'
                f"      </form>\n"
                f'      <form method="post" action="{resolve_url}" class="inline-form">{csrf}'
                f'<input type="hidden" name="next" value="{path}"><button type="submit" class="link-button">'
                f"{words['mark_resolved']}</button></form>\n    </div></details>\n    "
            )
        elif can_resolve and not c.resolved_at:
            out.append(
                f'\n      <form method="post" action="{resolve_url}" class="inline-form">{csrf}'
                f'<input type="hidden" name="next" value="{path}"><button type="submit" class="link-button">'
                f'{words["mark_resolved"]}<span class="visually-hidden"> '
                f"{_('the comment by %(who)s') % {'who': who}}</span></button></form>\n    "
            )
        out.append("\n  </div>\n  ")
    if not comments:
        out.append(f'\n  <p class="body-s secondary-text">{words["none"]}</p>\n  ')
    out.append("\n  ")
    if can_comment:
        field_id = conditional_escape(slugify(anchor))
        out.append(
            f'\n  <form method="post" action="{words["add_url"]}" novalidate class="mb-4">\n'
            f'    {csrf}<input type="hidden" name="anchor" value="{anchor_text}">'
            f'<input type="hidden" name="next" value="{path}">\n'
            f'    <div class="form-group"><label class="label" for="comment-{field_id}">'
            f'{words["add_a_comment"]}</label><textarea class="textarea" id="comment-{field_id}" '
            f'name="body" rows="2"></textarea></div>\n'
            f'    <button type="submit" class="button button--secondary">{words["add_comment"]}</button>\n'
            f"  </form>\n  "
        )
    out.append("\n</div>\n")
    return mark_safe("".join(out))  # noqa: S308 - every value in it escaped above
