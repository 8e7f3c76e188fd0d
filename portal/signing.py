"""The signing primitive: a decision bound to the SHA-256 of a canonical snapshot of the content.

Commitments, assessments and plans all sign through `signature_record`; whether a signature
still stands is `Signature.is_valid_for(snapshot_hash(current_snapshot))`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope

from portal.addresses import client_ip
from portal.audit import audit_record
from portal.canonical import canonical_json, sha256_hex, to_jsonable
from portal.models import Membership, Organisation, Signature, SignatureDecision, User

_MFA_METHODS = {"mfa", "totp", "recovery_codes", "webauthn"}


@dataclass(frozen=True)
class SigningContext:
    """Where and how the signer was when signing (from the request, or given by a command)."""

    ip_address: str | None = None
    user_agent: str = ""
    auth_methods: list[str] = field(default_factory=list)

    @property
    def mfa_used(self) -> bool:
        return bool(_MFA_METHODS & set(self.auth_methods))


def signing_context(request: HttpRequest) -> SigningContext:
    records = request.session.get("account_authentication_methods", []) if hasattr(request, "session") else []
    methods: list[str] = []
    for record in records:
        method = record.get("method", "")
        kind = record.get("type", "")
        for value in (method, kind):
            if value and value not in methods:
                methods.append(value)
    return SigningContext(
        ip_address=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:500],
        auth_methods=methods,
    )


def snapshot_hash(snapshot: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(snapshot))


def signature_record(
    *,
    organisation: Organisation,
    subject_type: str,
    subject_id: Any,
    subject_version: int = 1,
    snapshot: dict[str, Any],
    signer: User,
    capacity: str,
    decision: str,
    statement: str,
    typed_name: str,
    job_title: str = "",
    reservations: str = "",
    reasons: str = "",
    context: SigningContext,
) -> Signature:
    """Record a signature (or a declined one) with its audit event; returns the Signature."""
    typed_name = typed_name.strip()
    errors: dict[str, str] = {}
    if not typed_name:
        errors["typed_name"] = _("Type your full name to sign")
    if decision not in SignatureDecision.values:
        errors["decision"] = _("Choose whether to sign, sign with reservations or decline")
    if decision == SignatureDecision.SIGN_WITH_RESERVATIONS and not reservations.strip():
        errors["reservations"] = _("Write down your reservations: they are recorded word for word")
    if decision == SignatureDecision.DECLINE and not reasons.strip():
        errors["reasons"] = _("Give your reasons for declining")
    if errors:
        raise ValidationError(errors)
    # Each text goes with its decision only: a box hidden on the signing page (or filled before the
    # signer changed their mind) is not recorded as what they said.
    if decision != SignatureDecision.SIGN_WITH_RESERVATIONS:
        reservations = ""
    if decision != SignatureDecision.DECLINE:
        reasons = ""
    with scope(organisation=organisation), transaction.atomic():
        membership = Membership.objects.filter(organisation=organisation, user=signer).first()
        if membership is None or not membership.is_active():
            raise ValidationError(_("Only members of %(org)s can sign for it.") % {"org": organisation.name})
        normalised = to_jsonable(snapshot)
        signature = Signature.objects.create(
            organisation=organisation,
            subject_type=subject_type,
            subject_id=subject_id,
            subject_version=subject_version,
            snapshot=normalised,
            content_hash=snapshot_hash(normalised),
            capacity=capacity,
            decision=decision,
            reservations=reservations.strip(),
            reasons=reasons.strip(),
            statement=statement,
            signer=signer,
            signer_email=signer.email,
            signer_role=membership.role,
            typed_name=typed_name,
            job_title=job_title.strip(),
            signed_at=timezone.now(),
            ip_address=context.ip_address,
            user_agent=context.user_agent,
            auth_methods=context.auth_methods,
            mfa_used=context.mfa_used,
        )
        audit_record(
            organisation=organisation,
            actor=signer,
            verb=f"signature.{decision}",
            target=signature,
            target_label=f"{subject_type} {subject_id}",
            after={
                "subject": subject_type,
                "capacity": capacity,
                "decision": decision,
                "content_hash": signature.content_hash,
                "typed_name": typed_name,
                "mfa_used": signature.mfa_used,
            },
        )
    return signature
