"""The campaign page's table of suppliers asked, one row per invitation, written in Python.

Drawn by the template, each row cost a dozen `{% translate %}` and `{% blocktranslate %}` tags, up to
three `{% url %}` tags and a CSRF token: most of the page's time with a few dozen suppliers, and it
grows with them. Here the words are looked up once per page, the links reversed once and the ids
substituted, and the token read once from the page's context (the same token as the page's other
forms). The HTML is the template's, byte for byte: tests/supplychain/test_campaign_rows.py renders
the old row template beside it. Every string stays translatable (the same message ids as the
template's tags); every value is escaped.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # in Django, not in its stubs
from django.utils.translation import gettext

from portal.templatetags.portal_tags import relative
from supplychain.models import Campaign
from supplychain.selectors import TreeNode

register = template.Library()

_ID = "00000000-0000-0000-0000-000000000000"  # stands for each invitation's id in the reversed links
_OPEN = ("pending", "expired")  # an invitation whose request can be sent again


def _value(value: Any) -> str:
    """A value as `{{ value }}` writes it: localised, as text, escaped (text straight to escaping)."""
    if type(value) is str:
        return escape(value)
    return conditional_escape(str(localize(template_localtime(value))))


def _t(translated: str) -> str:
    """`{% translate %}`: the translation (gettext at the call, so the message is extracted), escaped."""
    return conditional_escape(translated)


def _bt(translated: str, **values: Any) -> str:
    """`{% blocktranslate with ... %}`: the translation as it is (the translator's text; gettext at the
    call), each value escaped as the template escapes it."""
    return translated % {name: _value(value) for name, value in values.items()}


def _name(obj: Any, attribute: str) -> Any:
    """`{{ obj.attribute }}` of a related object that may be missing: "" as the template writes it."""
    return getattr(obj, attribute) if obj is not None else ""


class _Words:
    """What every row repeats, looked up once per page."""

    def __init__(self, context: template.Context, campaign: Campaign, org_slug: str) -> None:
        self.tags = {
            "revoked": format_html('<strong class="tag tag--grey">{}</strong>', gettext("Revoked")),
            "accepted": format_html('<strong class="tag tag--green">{}</strong>', gettext("Accepted")),
            "declined": format_html('<strong class="tag tag--red">{}</strong>', gettext("Declined")),
            "expired": format_html('<strong class="tag tag--grey">{}</strong>', gettext("Expired")),
            "waiting": format_html('<strong class="tag tag--blue">{}</strong>', gettext("Waiting")),
        }
        self.depth = campaign.depth
        self.links = {
            name: conditional_escape(
                reverse(f"supplychain:{name}", kwargs={"org_slug": org_slug, "invitation_id": _ID})
            ).split(_ID)
            for name in ("held_answer", "invitation_resend", "invitation_revoke")
        }
        self.csrf = CsrfTokenNode().render(context)  # `{% csrf_token %}` once: the page's one token
        self.no_assessment = _t(gettext("Shares its maturity, but has no final self-assessment yet."))
        self.answer_to_check = _t(gettext("Answer to check"))
        self.confirm_or_reject = _t(gettext("Confirm or reject the answer"))
        self.email_failed = _t(gettext("Email could not be sent"))
        self.email_sending = _t(gettext("Email being sent"))
        self.last_tier = _t(gettext("Last tier of the campaign"))
        self.none_yet = _t(gettext("None yet"))
        self.none = _t(gettext("None"))
        self.resend = _t(gettext("Resend"))
        self.revoke = _t(gettext("Revoke"))

    def link(self, name: str, invitation_id: Any) -> str:
        return str(invitation_id).join(self.links[name])


def _status(node: TreeNode, words: _Words) -> str:
    inv = node.invitation
    if inv.state == "revoked":
        return words.tags["revoked"] + "\n        "
    if node.state in ("accepted", "declined", "expired"):
        return words.tags[node.state] + "\n        "
    return words.tags["waiting"]


def _answered(node: TreeNode) -> str:
    inv = node.invitation
    if inv.responded_at:
        text = _bt(gettext("Answered on %(when)s"), when=date_filter(template_localtime(inv.responded_at), "j F Y"))
        if inv.supplier_organisation:
            text += " " + _bt(gettext("for %(org)s"), org=inv.supplier_organisation.name)
        if inv.responded_by:
            text += " " + _bt(
                gettext("by %(who)s (%(email)s)"), who=inv.responded_by.display_name, email=inv.responded_by.email
            )
        return f'<br><span class="secondary-text body-s">{text}</span>\n        '
    if node.state == "pending":
        text = _bt(gettext("Link expires %(when)s"), when=relative(inv.expires_at))
        return f'<br><span class="secondary-text body-s">{text}</span>\n        '
    if node.state == "expired" and inv.state != "revoked":
        text = _bt(gettext("Link expired on %(when)s"), when=date_filter(template_localtime(inv.expires_at), "j F Y"))
        return f'<br><span class="secondary-text body-s">{text}</span>'
    return ""


def _summary(node: TreeNode, words: _Words) -> str:
    summary = node.summary
    if not summary:
        return ""
    if summary.get("assessment"):
        principles = "; ".join(
            f"{_value(title)} {_value(value or '–')}" for title, value in summary.get("principles") or []
        )
        text = _bt(gettext("Shared summary maturity (%(t)s):"), t=summary["assessment"]) + " " + principles
    else:
        text = words.no_assessment
    return f'<br><span class="body-s">{text}</span>'


def _held(node: TreeNode, words: _Words, can_edit: bool) -> str:
    inv = node.invitation
    if not inv.held_at or node.state in ("accepted", "declined"):
        return ""
    who = {
        "org": _name(inv.held_organisation, "name"),
        "who": _name(inv.held_by, "display_name"),
        "email": _name(inv.held_by, "email"),
    }
    if inv.held_answer == "accept":
        text = _bt(
            gettext(
                "%(org)s accepted (%(who)s, %(email)s), but its people are not the address you sent the request to."
            ),
            **who,
        )
    else:
        text = _bt(
            gettext(
                "%(org)s declined (%(who)s, %(email)s), but its people are not the address you sent the request to."
            ),
            **who,
        )
    if can_edit:
        text += (
            f' <a href="{words.link("held_answer", inv.pk)}">{words.confirm_or_reject}<span class="visually-hidden"> '
            f"{_bt(gettext('to the request to %(name)s'), name=inv.supplier.name)}</span></a>"
        )
    return f'<br><strong class="tag tag--yellow">{words.answer_to_check}</strong><br><span class="body-s">{text}</span>'


def _email(node: TreeNode, words: _Words) -> str:
    inv = node.invitation
    if inv.state not in _OPEN:
        return ""
    if inv.email_status == "failed":
        inner = (
            f'<br><strong class="tag tag--red">{words.email_failed}</strong><br><span class="body-s">'
            f"{_value(node.email_problem)}</span>\n          "
        )
    elif node.state == "pending" and inv.email_status != "sent":
        inner = f'<br><span class="secondary-text body-s">{words.email_sending}</span>'
    else:
        inner = ""
    return f"\n          {inner}\n        "


def _below(node: TreeNode, words: _Words) -> str:
    below = node.below
    if below["invited"]:
        return _bt(
            gettext(
                "Below: %(invited)s invited, %(accepted)s accepted, %(declined)s declined, %(pending)s waiting, "
                "%(expired)s expired"
            ),
            **{key: below[key] for key in ("invited", "accepted", "declined", "pending", "expired")},
        )
    if node.invitation.tier >= words.depth:
        return f'<span class="secondary-text">{words.last_tier}</span>'
    if node.state in ("accepted", "pending"):
        return f'<span class="secondary-text">{words.none_yet}</span>'
    return f'<span class="secondary-text">{words.none}</span>'


def _actions(node: TreeNode, words: _Words) -> str:
    inv = node.invitation
    if inv.state not in _OPEN:
        return '<td class="table__cell text-right nowrap"></td>'
    hidden = _bt(gettext("the request to %(name)s"), name=inv.supplier.name)
    revoke = (
        f' · <a href="{words.link("invitation_revoke", inv.pk)}">{words.revoke}'
        f'<span class="visually-hidden"> {hidden}</span></a>'
        if node.state == "pending"
        else ""
    )
    return (
        '<td class="table__cell text-right nowrap">\n'
        f'        <form method="post" action="{words.link("invitation_resend", inv.pk)}" class="inline-form">'
        f'{words.csrf}<button type="submit" class="link-button">{words.resend}<span class="visually-hidden"> '
        f"{hidden}</span></button></form>\n        {revoke}\n      </td>"
    )


def _row(node: TreeNode, words: _Words, can_edit: bool) -> str:
    inv = node.invitation
    return (
        "\n    <tr>\n"
        f'      <th class="table__cell" scope="row">{_value(inv.supplier.name)}<br>'
        f'<span class="secondary-text body-s">{_value(inv.email)}</span></th>\n'
        f'      <td class="table__cell table__cell--numeric">{_value(inv.tier)}</td>\n'
        '      <td class="table__cell">\n'
        f"        {_status(node, words)}\n"
        f"        {_answered(node)}\n"
        f"        {_summary(node, words)}\n"
        f"        {_held(node, words, can_edit)}\n"
        f"        {_decline(node)}\n"
        f"        {_email(node, words)}\n"
        "      </td>\n"
        f'      <td class="table__cell body-s">{_below(node, words)}</td>\n'
        f"      {_actions(node, words) if can_edit else ''}\n"
        "    </tr>\n  "
    )


def _decline(node: TreeNode) -> str:
    if node.state != "declined" or not node.invitation.decline_reason:
        return ""
    return (
        f'<br><span class="body-s">{_bt(gettext("Reason: “%(reason)s”"), reason=node.invitation.decline_reason)}</span>'
    )


@register.simple_tag(takes_context=True)
def campaign_tree_rows(
    context: template.Context, tree: list[TreeNode], campaign: Campaign, can_edit: bool
) -> SafeString:
    """The rows of the campaign page's suppliers table (see the module's docstring)."""
    words = _Words(context, campaign, context["current_organisation"].slug)
    return mark_safe("".join(_row(node, words, bool(can_edit)) for node in tree))  # noqa: S308 - escaped above
