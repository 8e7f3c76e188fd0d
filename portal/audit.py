"""The audit trail: tamper-evident, hash-chained events per organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django_scopes import scope

from portal.canonical import canonical_json, sha256_hex, to_jsonable
from portal.logging import current_request_id
from portal.models import AuditEvent, Organisation, User
from portal.versions import bump

GENESIS_HASH = "0" * 64


def _event_payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "organisation": str(event.organisation_id),
        "sequence": event.sequence,
        "actor": event.actor_label,
        "verb": event.verb,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "before": event.before,
        "after": event.after,
        "created_at": event.created_at.astimezone(UTC).isoformat(),
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }


def event_hash(event: AuditEvent) -> str:
    return sha256_hex(canonical_json(_event_payload(event)))


# Events that record that someone looked, not that anything changed.
VIEW_VERBS = frozenset({"auditor.viewed", "auditor.downloaded"})


def audit_record(
    *,
    organisation: Organisation,
    actor: User | None,
    verb: str,
    target: models.Model | None = None,
    target_label: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event to the organisation's chain, in the caller's transaction.

    The chain's head lives on the organisation row. The usual case costs two statements: the head
    as `organisation` was loaded is moved on only if it is still the head (a conditional UPDATE, which
    also holds the row lock until the transaction ends, so two writers cannot take the same number),
    then the event goes in. If someone else moved the head meanwhile, the head is read under a lock
    and the event chained to it.
    """
    with transaction.atomic():
        loaded = (organisation.audit_head_sequence, organisation.audit_head_hash)
        event = _event(
            organisation, loaded[0] + 1, loaded[1] or GENESIS_HASH, actor, verb, target, target_label, before, after
        )
        moved = Organisation.objects.filter(
            pk=organisation.pk, audit_head_sequence=loaded[0], audit_head_hash=loaded[1]
        ).update(audit_head_sequence=event.sequence, audit_head_hash=event.hash)
        if not moved:
            head = (
                Organisation.objects.select_for_update()
                .filter(pk=organisation.pk)
                .values_list("audit_head_sequence", "audit_head_hash")
                .get()
            )
            event = _event(
                organisation, head[0] + 1, head[1] or GENESIS_HASH, actor, verb, target, target_label, before, after
            )
            Organisation.objects.filter(pk=organisation.pk).update(
                audit_head_sequence=event.sequence, audit_head_hash=event.hash
            )
        with scope(organisation=organisation):
            event.save(force_insert=True)
        organisation.audit_head_sequence, organisation.audit_head_hash = event.sequence, event.hash
        # Every audited change may change what cached pages of the organisation show. An auditor's
        # page views and downloads change nothing else a cached page shows (the dashboard's recent
        # activity lists changes), so they keep the organisation's caches (otherwise an auditor browsing
        # would empty every member's cache) and move on only the audit trail's, which shows every event.
        bump(organisations=[] if verb in VIEW_VERBS else [organisation], trails=[organisation])
        return event


def _event(
    organisation: Organisation,
    sequence: int,
    prev_hash: str,
    actor: User | None,
    verb: str,
    target: models.Model | None,
    target_label: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEvent:
    event = AuditEvent(
        organisation=organisation,
        sequence=sequence,
        actor=actor,
        actor_label=actor.email if actor else "system",
        verb=verb,
        target_type=(target._meta.model_name or "") if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=target_label or (str(target) if target is not None else ""),
        before=to_jsonable(before) if before is not None else None,
        after=to_jsonable(after) if after is not None else None,
        created_at=timezone.now(),
        request_id=current_request_id() if current_request_id() != "-" else "",
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    return event


@dataclass(frozen=True)
class ChainVerification:
    organisation: Organisation
    events_checked: int
    ok: bool
    broken_at: int | None = None
    reason: str = ""


def audit_verify_chain(*, organisation: Organisation) -> ChainVerification:
    """Walk the chain in order; report the first event whose link or content does not hold."""
    expected_prev = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    with scope(organisation=organisation):
        events = AuditEvent.objects.filter(organisation=organisation).order_by("sequence")
        for event in events.iterator(chunk_size=2000):
            if event.sequence != expected_sequence:
                return ChainVerification(
                    organisation,
                    checked,
                    False,
                    expected_sequence,
                    f"event #{expected_sequence} is missing (next found is #{event.sequence})",
                )
            if event.prev_hash != expected_prev:
                return ChainVerification(
                    organisation,
                    checked,
                    False,
                    event.sequence,
                    f"event #{event.sequence} does not link to the hash of event #{event.sequence - 1}",
                )
            if event_hash(event) != event.hash:
                return ChainVerification(
                    organisation,
                    checked,
                    False,
                    event.sequence,
                    f"event #{event.sequence} was changed after it was recorded",
                )
            expected_prev = event.hash
            expected_sequence += 1
            checked += 1
    head_sequence, head_hash = (
        Organisation.objects.filter(pk=organisation.pk).values_list("audit_head_sequence", "audit_head_hash").get()
    )
    if checked != head_sequence or (head_sequence and expected_prev != head_hash):
        return ChainVerification(
            organisation,
            checked,
            False,
            checked + 1,
            f"the chain ends at event #{checked} but the organisation recorded #{head_sequence} "
            "as its latest: events were deleted",
        )
    return ChainVerification(organisation, checked, True)
