"""The signed text inside the attestation report: each final plan as its signatures bind it, and a
signature trail per item, like an e-signature completion certificate.

A signature binds the SHA-256 of a canonical snapshot of the item (`assessments.workflow.plan_snapshot`),
and the snapshot itself is stored with the signature. The report reproduces that stored snapshot,
every field that enters the hash (the consultation record's workforce surveys included, shown by
`reports.survey_results`), so the reader sees the very text behind each fingerprint. The
plans' contents and signatures are read for all final plans at once: five queries, however many
plans there are.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_scopes import scope

from assessments.models import (
    AssessmentStatus,
    Characteristic,
    ConsultationOutcome,
    EqiaOutcome,
    Impact,
    Plan,
    PlanKind,
)
from assessments.plans import equality_act_order
from assessments.workflow import (
    AGREEING_DECISIONS,
    SignatureView,
    Subject,
    eqia_owner_names,
    plan_contents,
    plan_sections,
    plan_snapshot,
    signature_view,
    subject_hash,
    subject_signatures,
)
from portal.models import Organisation, Signature, SignatureCapacity
from portal.roles import Role
from portal.signing import snapshot_hash
from reports.survey_results import plan_surveys

# How the signer proved who they were, from Signature.auth_methods (allauth's records of the session).
FIRST_FACTORS = {
    "password": gettext_lazy("Password"),
    "socialaccount": gettext_lazy("Single sign-on"),
    "code": gettext_lazy("One-time code sent by email"),
    "api_token": gettext_lazy("Personal API token"),
}
SECOND_FACTORS = {
    "totp": gettext_lazy("authenticator app"),
    "recovery_codes": gettext_lazy("recovery code"),
    "webauthn": gettext_lazy("security key or passkey"),
}
CONSULTED_OUTCOMES = (ConsultationOutcome.AGREED, ConsultationOutcome.AGREED_WITH_CONDITIONS)


def _label(choices: Any, value: Any) -> str:
    """The label of a stored choice value, or the value itself if the choices no longer hold it."""
    if not value:
        return ""
    return str(choices(value).label) if value in choices.values else str(value)


def _day(value: Any) -> date | None:
    """A date from the snapshot (stored as ISO text)."""
    if not value:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def authentication_label(signature: Signature) -> str:
    """'Password only', 'Password + two-factor authentication (authenticator app)', ..."""
    methods = [str(m) for m in signature.auth_methods or []]
    first = next((FIRST_FACTORS[m] for m in methods if m in FIRST_FACTORS), None)
    if signature.mfa_used:
        kinds = [str(SECOND_FACTORS[m]) for m in methods if m in SECOND_FACTORS]
        second = _("two-factor authentication")
        if kinds:
            second = f"{second} ({', '.join(kinds)})"
        return f"{first or _('Sign-in')} + {second}"
    if first is None:
        return _("Not recorded (no two-factor authentication)")
    return _("%(method)s only") % {"method": first}


def signature_row(view: SignatureView, *, text_hash: str | None = None) -> dict[str, Any]:
    """One signature as the report's signature trail shows it (`templates/reports/_signature.html`).
    `text_hash`: the fingerprint of the text reproduced above the trail, when there is one."""
    from reports.rendering import DECISION_LABELS

    s = view.signature
    account = ""
    if s.signer_id is not None and s.signer is not None:
        account = s.signer.display_name
    return {
        "side": s.capacity,
        "side_label": _label(SignatureCapacity, s.capacity),
        "typed_name": s.typed_name,
        "account_name": account,
        "account_email": s.signer_email,
        "account_deleted": s.signer_id is None,
        "role_label": _label(Role, s.signer_role),
        "job_title": s.job_title,
        "decision": s.decision,
        "decision_label": DECISION_LABELS.get(s.decision, s.decision),
        "statement": s.statement,
        "reservations": s.reservations,
        "reasons": s.reasons,
        "signed_at": s.signed_at,
        "authentication_label": authentication_label(s),
        "mfa_used": s.mfa_used,
        "subject_version": s.subject_version,
        "valid": view.counts,
        # Void: the content no longer hashes to what was signed (unlike a signature of an earlier
        # review round, which was genuine but does not count now).
        "void": not view.valid,
        "earlier_round": view.valid and not view.current_round,
        "content_hash": s.content_hash,
        "on_other_text": text_hash is not None and s.content_hash != text_hash,
    }


def signature_rows(subject: Subject, *, current_hash: str | None = None) -> list[dict[str, Any]]:
    """The item's signature trail, oldest first (one query for the signatures and their accounts)."""
    current = current_hash or subject_hash(subject)
    with scope(organisation=subject.organisation):
        signatures = subject_signatures(subject).select_related("signer").order_by("signed_at")
        return [signature_row(signature_view(s, subject, current)) for s in signatures]


def _signed_snapshot(views: list[SignatureView]) -> Signature | None:
    """The signature whose stored snapshot is the text the plan was agreed on: the latest agreeing
    signature that counts, else the latest agreeing one of this round, else the latest of any."""
    agreeing = [v for v in views if v.signature.decision in AGREEING_DECISIONS]
    for candidates in ([v for v in agreeing if v.counts], [v for v in agreeing if v.current_round], agreeing, views):
        for view in reversed(candidates):
            if snapshot_hash(view.signature.snapshot) == view.signature.content_hash:
                return view.signature
    return None


def _sections(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """The snapshot's sections with their headings, every field that enters the hash, word for word."""
    sections = []
    stored = snapshot.get("sections", {})
    for key, title, fields in plan_sections(snapshot.get("kind", "")):
        if key == "equality":
            continue  # shown with its rows as a table, see _equality
        data = stored.get(key, {})
        entries = []
        for name in fields:
            value = data.get(name)
            entry: dict[str, Any] = {
                "name": name,
                "label": str(Plan._meta.get_field(name).verbose_name).capitalize(),  # type: ignore[union-attr]
                "text": "",
                "date": None,
            }
            if name == "shared_on":
                entry["date"] = _day(value)
            elif name == "consultation_outcome":
                entry["text"] = _label(ConsultationOutcome, value)
            else:
                entry["text"] = value or ""
            entries.append(entry)
        sections.append({"key": key, "title": _(title), "entries": entries})
    return sections


def _meetings(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    consultation = snapshot.get("sections", {}).get("consultation", {})
    return [
        {"held_on": _day(m.get("held_on")), "participants": m.get("participants", ""), "notes": m.get("notes", "")}
        for m in consultation.get("meetings", [])
    ]


def _equality(snapshot: dict[str, Any], owners: dict[str, str]) -> dict[str, Any]:
    data = snapshot.get("sections", {}).get("equality", {})
    return {
        "outcome": data.get("outcome", ""),
        "outcome_label": _label(EqiaOutcome, data.get("outcome")),
        "justification": data.get("justification", ""),
        "rows": [
            {
                "characteristic_label": _label(Characteristic, row.get("characteristic")),
                "impact_label": _label(Impact, row.get("impact")),
                "evidence": row.get("evidence", ""),
                "mitigation": row.get("mitigation", ""),
                "owner_email": row.get("owner") or "",
                "owner": owners.get(row.get("owner") or "", ""),
            }
            for row in equality_act_order(data.get("rows", []))
        ],
    }


def _evidence(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    today = timezone.localdate()
    entries = []
    for e in snapshot.get("evidence", []):
        expiry = _day(e.get("expiry_date"))
        entries.append(
            {
                "name": e.get("name", ""),
                "sha256": e.get("sha256", ""),
                "effective_date": _day(e.get("effective_date")),
                "expiry_date": expiry,
                "expired": expiry is not None and expiry < today,
            }
        )
    return entries


def _plan_entry(plan: Plan, signatures: list[Signature]) -> dict[str, Any]:
    current = plan_snapshot(plan)
    current_hash = snapshot_hash(current)
    views = [signature_view(s, plan, current_hash) for s in signatures]
    signed = _signed_snapshot(views)
    snapshot, text_hash = (signed.snapshot, signed.content_hash) if signed else (current, current_hash)
    owners = eqia_owner_names(plan)  # the names for the emails the snapshot records
    meetings = _meetings(snapshot)
    sections = _sections(snapshot)
    consultation = next(s for s in sections if s["key"] == "consultation")
    fields = {e["name"]: e for e in consultation["entries"]}
    outcome = snapshot.get("sections", {}).get("consultation", {}).get("consultation_outcome", "")
    equality = _equality(snapshot, owners)
    signature_trail = [signature_row(v, text_hash=text_hash) for v in views]
    return {
        "title": snapshot.get("title", plan.title),
        "kind_label": _label(PlanKind, snapshot.get("kind", plan.kind)),
        "version": snapshot.get("version", plan.version),
        "status_label": plan.get_status_display(),
        "finalised_at": plan.finalised_at,
        # The text the signatures are bound to, and whether it is still the plan's content.
        "text_hash": text_hash,
        "text_signed": signed is not None,
        "current_hash": current_hash,
        "changed_since_signed": signed is not None and current_hash != text_hash,
        "sections": sections,
        "consultation_outcome": outcome,
        "consultation_outcome_label": fields["consultation_outcome"]["text"],
        "consultation_conditions": fields["consultation_conditions"]["text"],
        "shared_on": fields["shared_on"]["date"],
        "meetings": meetings,
        "meetings_count": len(meetings),
        # An outcome that says the workforce agreed, with no meeting on record: said in words.
        "outcome_without_meetings": not meetings and outcome in CONSULTED_OUTCOMES,
        "eqia": equality,
        "evidence": _evidence(snapshot),
        # The workforce surveys in the consultation record, as the text reproduced holds them.
        "surveys": plan_surveys(snapshot, signature_trail, text_hash),
        "signatures": signature_trail,
    }


def plans_context(organisation: Organisation) -> list[dict[str, Any]]:
    """Every final plan of the organisation as signed, with its signature trail, by title and version.

    Five queries whatever the number of plans: the plans with their EqIAs, their meetings, EqIA rows
    (with owners) and cited evidence, and all their signatures with the signers' accounts."""
    with scope(organisation=organisation):
        plans = list(
            Plan.objects.filter(organisation=organisation, status=AssessmentStatus.FINAL)
            .select_related("eqia")
            .prefetch_related(*plan_contents())
            .order_by("title", "version")
        )
        if not plans:
            return []
        signatures: dict[str, list[Signature]] = defaultdict(list)
        for signature in (
            Signature.objects.filter(
                organisation=organisation, subject_type="plan", subject_id__in=[p.pk for p in plans]
            )
            .select_related("signer")
            .order_by("signed_at")
        ):
            signatures[str(signature.subject_id)].append(signature)
        return [_plan_entry(plan, signatures[str(plan.pk)]) for plan in plans]
