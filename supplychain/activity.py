"""How the supply-chain app's audit events read (registered in SupplychainConfig.ready())."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext, gettext_noop, ngettext
from django.utils.translation import gettext_lazy as lazy

from portal.activity import Verb, actor_name, quoted, register_verbs
from portal.models import AuditEvent


def _after(event: AuditEvent) -> dict[str, Any]:
    return event.after if isinstance(event.after, dict) else {}


def _request_words(event: AuditEvent) -> dict[str, str]:
    after = _after(event)
    return {
        "actor": actor_name(event),
        "buyer": str(after.get("buyer") or event.target_label),
        "supplier": str(after.get("supplier") or after.get("organisation") or event.target_label),
        "campaign": quoted(str(after.get("campaign") or "")),
        "label": event.target_label,
    }


def _request_sentence(with_campaign: str, without: str) -> Callable[[AuditEvent], str]:
    def render(event: AuditEvent) -> str:
        words = _request_words(event)
        return (gettext(with_campaign) if words["campaign"] else gettext(without)) % words

    return render


def supplier_imported(event: AuditEvent) -> str:
    count = _after(event).get("imported", 0)
    return ngettext(
        "%(actor)s imported %(n)s supplier from %(file)s",
        "%(actor)s imported %(n)s suppliers from %(file)s",
        int(count or 0),
    ) % {"actor": actor_name(event), "n": count, "file": quoted(event.target_label)}


def sharing_changed(event: AuditEvent) -> str:
    words = {"actor": actor_name(event), "buyer": event.target_label}
    if _after(event).get("share_maturity"):
        return gettext("%(actor)s let %(buyer)s see the maturity scores") % words
    return gettext("%(actor)s stopped %(buyer)s seeing the maturity scores") % words


# Marked for translation here (gettext_noop), translated when an event is shown.
ACCEPTED = (
    gettext_noop("%(actor)s of %(supplier)s accepted the supplier request %(campaign)s from %(buyer)s"),
    gettext_noop("%(actor)s accepted the supplier request between %(label)s and this organisation"),
)
DECLINED = (
    gettext_noop("%(actor)s declined the supplier request %(campaign)s sent to %(label)s"),
    gettext_noop("%(actor)s declined the supplier request sent to %(label)s"),
)
HELD = (
    gettext_noop("%(actor)s of %(supplier)s answered the supplier request %(campaign)s sent to another address"),
    gettext_noop("%(actor)s answered a supplier request sent to another address"),
)
CONFIRMED = (
    gettext_noop("%(actor)s confirmed that %(supplier)s answered the supplier request %(campaign)s"),
    gettext_noop("%(actor)s confirmed who answered the supplier request (%(label)s)"),
)
REJECTED = (
    gettext_noop("%(actor)s rejected the answer of %(supplier)s to the supplier request %(campaign)s"),
    gettext_noop("%(actor)s rejected an answer to the supplier request (%(label)s)"),
)


def campaign_repeated(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    earlier = str(after.get("repeats_title") or "")
    if earlier:
        return gettext("%(actor)s repeated the supplier campaign %(earlier)s to the same suppliers, as %(target)s") % {
            "actor": actor_name(event),
            "earlier": quoted(earlier),
            "target": quoted(event.target_label),
        }
    return gettext("%(actor)s repeated a supplier campaign to the same suppliers, as %(target)s") % {
        "actor": actor_name(event),
        "target": quoted(event.target_label),
    }


def register() -> None:
    register_verbs(
        group=lazy("Supply chain"),
        verbs={
            "supplier.added": Verb(
                lazy("Added a supplier"),
                lazy("%(actor)s added %(target)s to the supplier register"),
                label_is_title=True,
            ),
            "supplier.changed": Verb(
                lazy("Changed a supplier"), lazy("%(actor)s changed the supplier %(target)s"), label_is_title=True
            ),
            "supplier.archived": Verb(
                lazy("Archived a supplier"), lazy("%(actor)s archived the supplier %(target)s"), label_is_title=True
            ),
            "supplier.restored": Verb(
                lazy("Restored a supplier"), lazy("%(actor)s restored the supplier %(target)s"), label_is_title=True
            ),
            "supplier.imported": (lazy("Imported suppliers"), supplier_imported),
            "campaign.started": Verb(
                lazy("Started a supplier campaign"),
                lazy("%(actor)s started the supplier campaign %(target)s"),
                label_is_title=True,
            ),
            "campaign.repeated": Verb(
                lazy("Repeated a supplier campaign"),
                campaign_repeated,
                label_is_title=True,
            ),
            "supplier_request.accepted": (lazy("Accepted a supplier request"), _request_sentence(*ACCEPTED)),
            "supplier_request.declined": (lazy("Declined a supplier request"), _request_sentence(*DECLINED)),
            "supplier_request.answer_held": (
                lazy("Answered a supplier request sent to another address"),
                _request_sentence(*HELD),
            ),
            "supplier_request.answer_confirmed": (
                lazy("Confirmed who answered a supplier request"),
                _request_sentence(*CONFIRMED),
            ),
            "supplier_request.answer_rejected": (
                lazy("Rejected an answer to a supplier request"),
                _request_sentence(*REJECTED),
            ),
            "supplier_request.forwarded": (
                lazy("Passed a supplier request on"),
                lazy("%(actor)s passed the supplier request %(target)s on to the next tier of suppliers"),
            ),
            "supplier_request.resent": (
                lazy("Resent a supplier request"),
                lazy("%(actor)s resent the supplier request to %(label)s"),
            ),
            "supplier_request.revoked": (
                lazy("Revoked a supplier request"),
                lazy("%(actor)s revoked the supplier request to %(label)s"),
            ),
            "supplier_link.sharing_changed": (lazy("Changed what a buyer can see"), sharing_changed),
        },
    )
