"""The audit trail in words: a sentence for every event, computed when it is shown.

Each app names its own verbs from its AppConfig.ready() with `register_verbs` (portal imports none
of them); portal names its own below. A verb has a label (the audit trail's filter lists it under a
group) and a sentence: a format string over the event's actor and target, or a function of the
event. Nothing here changes what an event stores, so the hash chain is untouched.

Events that name their subject only by type and id (a signature on "assessment <uuid>", a change
request on one) get the subject's title from the latest event that targeted the subject under its
own name, in the same query that reads the events (`with_subject_titles`): no query per event.

Consecutive events of a collapsible verb (autosaved answers) by one person on one day read as one
line (`activity_lines`); the line keeps its events, so the audit trail can still show each one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Right
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.models import AuditEvent

Text = str | Promise
SentenceFn = Callable[["AuditEvent"], str]
CollapseFn = Callable[[Sequence["AuditEvent"]], str]

UUID_TAIL = 36  # str(uuid.uuid4()): what signatures and change requests append to their label


@dataclass(frozen=True)
class Verb:
    """How one audit verb reads. `sentence` is a format string over %(actor)s, %(target)s (the
    target's label in quotes), %(label)s (the same unquoted), %(subject)s (the signed or reviewed
    thing, named) and %(role)s / %(old_role)s (from the event's after / before), or a function of
    the event."""

    label: Text
    sentence: Text | SentenceFn
    group: Text = ""
    # The event's target_label is its target's own name, so other events can borrow it.
    label_is_title: bool = False
    # The target_label ends with the id of a subject named elsewhere ("assessment <uuid>").
    names_subject_by_id: bool = False
    # Consecutive events of this verb by one person on one day read as this one sentence.
    collapse: CollapseFn | None = None


_verbs: dict[str, Verb] = {}
_groups: list[str] = []  # group labels in the order they were first registered (as text, for keys)
_group_labels: dict[str, Text] = {}


def register_verbs(*, group: Text, verbs: dict[str, Verb | tuple[Text, Text | SentenceFn]]) -> None:
    """Name verbs: `{"assessment.finalised": Verb(...)}` or `(label, sentence)` for the simple case."""
    key = str(group)
    if key not in _group_labels:
        _groups.append(key)
    _group_labels[key] = group
    for verb, spec in verbs.items():
        if isinstance(spec, tuple):
            spec = Verb(label=spec[0], sentence=spec[1], group=group)
        elif spec.group != group:
            spec = Verb(
                label=spec.label,
                sentence=spec.sentence,
                group=group,
                label_is_title=spec.label_is_title,
                names_subject_by_id=spec.names_subject_by_id,
                collapse=spec.collapse,
            )
        _verbs[verb] = spec


def registered_verbs() -> dict[str, Verb]:
    return dict(_verbs)


def verb_label(verb: str) -> str:
    spec = _verbs.get(verb)
    return str(spec.label) if spec else _generic_words(verb).capitalize()


def verb_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The filter's choices: each group's verbs in the order registered (a thing's life), groups too."""
    grouped: dict[str, list[tuple[str, str]]] = {key: [] for key in _groups}
    for verb, spec in _verbs.items():
        grouped[str(spec.group)].append((verb, str(spec.label)))
    return [(str(_group_labels[key]), options) for key, options in grouped.items() if options]


# --- Sentences ------------------------------------------------------------------------------


def actor_name(event: AuditEvent) -> str:
    if event.actor_id and event.actor is not None:
        return str(event.actor.display_name)
    if event.actor_label and event.actor_label != "system":
        return event.actor_label
    return gettext("The portal")


def quoted(text: str) -> str:
    return f"“{text}”" if text else ""


def _role_label(value: Any) -> str:
    from portal.roles import Role

    if isinstance(value, str) and value in Role.values:
        return str(Role(value).label).lower()
    return str(value or "")


def facts(event: AuditEvent) -> dict[str, str]:
    """The words a format-string sentence may use."""
    after = event.after if isinstance(event.after, dict) else {}
    before = event.before if isinstance(event.before, dict) else {}
    subject = getattr(event, "subject_title", "") or ""
    return {
        "actor": actor_name(event),
        "target": quoted(event.target_label),
        "label": event.target_label,
        "subject": quoted(subject),
        "role": _role_label(after.get("role")),
        "old_role": _role_label(before.get("role")),
    }


def _generic_words(verb: str) -> str:
    """'crawl.marker' -> 'crawl marker': an unknown verb in words, never its key."""
    return " ".join(w for w in re.split(r"[._\-\s]+", verb) if w) or gettext("something")


def generic_sentence(event: AuditEvent) -> str:
    words = _generic_words(event.verb)
    if event.target_label and not looks_like_an_id(event.target_label):
        return gettext("%(actor)s recorded “%(words)s” on %(target)s") % {
            "actor": actor_name(event),
            "words": words,
            "target": quoted(event.target_label),
        }
    return gettext("%(actor)s recorded “%(words)s”") % {"actor": actor_name(event), "words": words}


_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def looks_like_an_id(text: str) -> bool:
    return bool(_ID.search(text))


def sentence(event: AuditEvent) -> str:
    """One plain-English sentence for the event, in the active language."""
    spec = _verbs.get(event.verb)
    if spec is None:
        return generic_sentence(event)
    if callable(spec.sentence):
        return spec.sentence(event)
    return str(spec.sentence) % facts(event)


# --- The feed -------------------------------------------------------------------------------


@dataclass
class ActivityLine:
    """One line of the feed: an event, or a run of collapsed events (newest first)."""

    sentence: str
    events: list[AuditEvent] = field(default_factory=list)

    @property
    def event(self) -> AuditEvent:
        return self.events[0]

    @property
    def collapsed(self) -> bool:
        return len(self.events) > 1

    @property
    def first(self) -> AuditEvent:
        return self.events[-1]


def _run_key(event: AuditEvent) -> tuple[Any, ...] | None:
    spec = _verbs.get(event.verb)
    if spec is None or spec.collapse is None:
        return None
    return (event.verb, event.actor_id or event.actor_label, timezone.localdate(event.created_at))


def activity_lines(events: Iterable[AuditEvent], *, limit: int | None = None) -> list[ActivityLine]:
    """The events (newest first) as lines, each consecutive run of one collapsible verb by one
    person on one day as a single line. Every event gets its own `.sentence` too."""
    lines: list[ActivityLine] = []
    keys: list[tuple[Any, ...] | None] = []
    for event in events:
        event.sentence = sentence(event)  # type: ignore[attr-defined]
        key = _run_key(event)
        if key is not None and keys and keys[-1] == key:
            lines[-1].events.append(event)
            continue
        if limit is not None and len(lines) >= limit:
            break
        lines.append(ActivityLine(sentence=event.sentence, events=[event]))  # type: ignore[attr-defined]
        keys.append(key)
    for line in lines:
        if line.collapsed:
            spec = _verbs[line.event.verb]
            assert spec.collapse is not None
            line.sentence = spec.collapse(line.events)
    return lines


def with_subject_titles(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """Annotate `subject_title` on events that name their subject only by id: the label of the
    latest event that targeted that subject under its own name. One subquery, no extra query."""
    naming = [verb for verb, spec in _verbs.items() if spec.names_subject_by_id]
    titled = [verb for verb, spec in _verbs.items() if spec.label_is_title]
    if not naming or not titled:
        return events.annotate(subject_title=Value("", output_field=CharField()))
    from django.db.models import Case, When

    title = (
        AuditEvent.objects.filter(
            organisation=OuterRef("organisation"),
            target_id=Right(OuterRef("target_label"), UUID_TAIL),
            verb__in=titled,
        )
        .order_by("-sequence")
        .values("target_label")[:1]
    )
    return events.annotate(
        subject_title=Coalesce(
            Case(When(verb__in=naming, then=Subquery(title)), default=Value(""), output_field=CharField()),
            Value(""),
            output_field=CharField(),
        )
    )


def join_words(items: Sequence[str]) -> str:
    """'1', '1 and 2', '1, 2 and 3'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return gettext("%(rest)s and %(last)s") % {"rest": ", ".join(items[:-1]), "last": items[-1]}


__all__ = [
    "ActivityLine",
    "Verb",
    "activity_lines",
    "register_verbs",
    "sentence",
    "verb_choices",
    "verb_label",
    "with_subject_titles",
]


# --- What signed and reviewed things are called ---------------------------------------------

_subjects: dict[str, Text] = {}


def register_subject(*, subject_type: str, noun: Text) -> None:
    """How a signature or change request names its subject's kind: "assessment" -> "the self-assessment"."""
    _subjects[subject_type] = noun


def subject_phrase(subject_type: str, title: str) -> str:
    noun = str(_subjects.get(subject_type) or _generic_words(subject_type))
    return f"{noun} {quoted(title)}" if title else noun


# --- Portal's own verbs ---------------------------------------------------------------------

_SIGNATURE_SENTENCES: dict[tuple[str, str], Text] = {
    ("management", "sign"): _("%(actor)s signed %(thing)s for management"),
    ("management", "sign_with_reservations"): _("%(actor)s signed %(thing)s for management, with reservations"),
    ("management", "decline"): _("%(actor)s declined to sign %(thing)s for management"),
    ("workforce", "sign"): _("%(actor)s countersigned %(thing)s for the workforce"),
    ("workforce", "sign_with_reservations"): _(
        "%(actor)s countersigned %(thing)s for the workforce, with reservations"
    ),
    ("workforce", "decline"): _("%(actor)s declined to countersign %(thing)s for the workforce"),
    ("", "sign"): _("%(actor)s signed %(thing)s"),
    ("", "sign_with_reservations"): _("%(actor)s signed %(thing)s, with reservations"),
    ("", "decline"): _("%(actor)s declined to sign %(thing)s"),
}


def signature_sentence(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    subject_type = str(after.get("subject") or event.target_label.split(" ")[0])
    decision = str(after.get("decision") or event.verb.removeprefix("signature."))
    capacity = str(after.get("capacity") or "")
    if subject_type == "commitment":
        capacity = ""
    template = _SIGNATURE_SENTENCES.get((capacity, decision)) or _SIGNATURE_SENTENCES[("", "sign")]
    thing = subject_phrase(subject_type, getattr(event, "subject_title", "") or "")
    return str(template) % {"actor": actor_name(event), "thing": thing}


def _page_words(path: str) -> str:
    """'/o/acme-x1y2z3/assessments/<uuid>/evidence/' -> 'assessments › evidence' (no ids, no slug)."""
    parts = [p for p in path.split("?")[0].split("/") if p and not looks_like_an_id(p)]
    if parts[:1] == ["o"]:
        parts = parts[2:]
    if parts[:2] == ["api", "v1"]:
        parts = parts[2:]
        if parts[:1] == ["organisations"]:
            parts = parts[2:]
    return " › ".join(p.replace("-", " ").replace("_", " ") for p in parts) or gettext("dashboard")


def auditor_viewed_sentence(event: AuditEvent) -> str:
    label = event.target_label
    if label.startswith("API "):
        return gettext("%(actor)s read %(what)s through the API with auditor access") % {
            "actor": actor_name(event),
            "what": quoted(_page_words(label.removeprefix("API "))),
        }
    return gettext("%(actor)s viewed %(what)s with auditor access") % {
        "actor": actor_name(event),
        "what": quoted(_page_words(label)),
    }


def auditor_downloaded_sentence(event: AuditEvent) -> str:
    title = getattr(event, "subject_title", "") or ""
    if looks_like_an_id(event.target_label):
        what = gettext("the attestation report on %(title)s") % {"title": quoted(title)} if title else ""
        what = what or gettext("an attestation report")
    else:
        what = quoted(event.target_label)
    return gettext("%(actor)s downloaded %(what)s with auditor access") % {"actor": actor_name(event), "what": what}


def api_token_sentence(template: Text) -> SentenceFn:
    def render(event: AuditEvent) -> str:
        after = event.after if isinstance(event.after, dict) else {}
        label = event.target_label
        name, prefix = (label[:-1].rsplit(" (", 1) + [""])[:2] if label.endswith(")") else (label, "")
        token = quoted(str(after.get("name") or name)) + (f" ({prefix})" if prefix else "")
        return str(template) % {"actor": actor_name(event), "token": token}

    return render


def register_portal_verbs() -> None:
    register_verbs(
        group=_("Organisation and members"),
        verbs={
            "organisation.created": Verb(
                _("Created the organisation"), _("%(actor)s created the organisation %(target)s"), label_is_title=True
            ),
            "invitation.created": (_("Invited someone"), _("%(actor)s invited %(label)s to join as %(role)s")),
            "invitation.resent": (_("Resent an invitation"), _("%(actor)s resent the invitation to %(label)s")),
            "invitation.revoked": (_("Revoked an invitation"), _("%(actor)s revoked the invitation to %(label)s")),
            "invitation.accepted": (
                _("Accepted an invitation"),
                _("%(actor)s accepted the invitation and joined as %(role)s"),
            ),
            "member.role_changed": (
                _("Changed a member's role"),
                _("%(actor)s changed the role of %(label)s from %(old_role)s to %(role)s"),
            ),
            "member.removed": (_("Removed a member"), _("%(actor)s removed %(label)s from the organisation")),
            "member.left": (_("Left the organisation"), _("%(actor)s left the organisation")),
            "account.deleted": (_("Deleted their account"), _("%(actor)s deleted their account")),
        },
    )
    register_verbs(
        group=_("Signatures"),
        verbs={
            "signature.sign": Verb(_("Signed"), signature_sentence, names_subject_by_id=True),
            "signature.sign_with_reservations": Verb(
                _("Signed with reservations"), signature_sentence, names_subject_by_id=True
            ),
            "signature.decline": Verb(_("Declined to sign"), signature_sentence, names_subject_by_id=True),
        },
    )
    register_verbs(
        group=_("Auditor access"),
        verbs={
            "auditor.viewed": (_("Viewed a page with auditor access"), auditor_viewed_sentence),
            "auditor.downloaded": Verb(
                _("Downloaded a file with auditor access"), auditor_downloaded_sentence, names_subject_by_id=True
            ),
        },
    )
    register_verbs(
        group=_("API tokens and data exports"),
        verbs={
            "api_token.created": (
                _("Created an API token"),
                api_token_sentence(_("%(actor)s created the API token %(token)s")),
            ),
            "api_token.revoked": (
                _("Revoked an API token"),
                api_token_sentence(_("%(actor)s revoked the API token %(token)s")),
            ),
            "api_token.revoked_password_changed": (
                _("Changed their password (API token revoked)"),
                api_token_sentence(_("%(actor)s changed their password, which revoked their API token %(token)s")),
            ),
            "api_token.revoked_password_reset": (
                _("Reset their password (API token revoked)"),
                api_token_sentence(_("%(actor)s reset their password, which revoked their API token %(token)s")),
            ),
            "export.requested": (
                _("Requested a data export"),
                _("%(actor)s requested an export of the organisation's data"),
            ),
            "export.downloaded": (
                _("Downloaded a data export"),
                _("%(actor)s downloaded the export of the organisation's data"),
            ),
        },
    )
    register_verbs(
        group=_("Webhooks"),
        verbs={
            "webhook.created": (_("Added a webhook"), _("%(actor)s added a webhook to %(label)s")),
            "webhook.secret_rotated": (
                _("Rotated a webhook's secret"),
                _("%(actor)s rotated the secret of the webhook to %(label)s"),
            ),
            "webhook.paused": (_("Paused a webhook"), _("%(actor)s paused the webhook to %(label)s")),
            "webhook.paused_failing": (
                _("A failing webhook was paused"),
                _("The webhook to %(label)s kept failing and was paused"),
            ),
            "webhook.resumed": (_("Resumed a webhook"), _("%(actor)s resumed the webhook to %(label)s")),
            "webhook.deleted": (_("Deleted a webhook"), _("%(actor)s deleted the webhook to %(label)s")),
            "webhook.sent_again": (
                _("Sent a webhook delivery again"),
                _("%(actor)s sent an event to the webhook at %(label)s again"),
            ),
        },
    )
