"""Signing and withdrawing an organisation's commitment to the principles."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from portal.audit import audit_record
from portal.models import Membership, Organisation, SignatureCapacity, SignatureDecision, User
from portal.roles import role_can
from portal.signing import SigningContext, signature_record, snapshot_hash
from principles.models import Commitment, CommitmentStatus, Framework


def commitment_statement(*, organisation: Organisation, framework: Framework, extends_to_supply_chain: bool) -> str:
    """The words the signer sees and signs."""
    titles = "; ".join(f"{p['number']}. {p['title']}" for p in framework.data["principles"])
    text = _(
        "On behalf of %(org)s, I commit the organisation to the %(framework)s: %(titles)s. "
        "We will share our plans for digital technology with our workforce and their representatives "
        "before decisions are made, assess their effect on health, safety and the environment, agree "
        "retraining with the people affected, respect employees' data, reinvest growth in better jobs, "
        "and assess the equality impact of our plans. We will assess ourselves against these principles "
        "with evidence and record the workforce's view of what we agree."
    ) % {"org": organisation.name, "framework": framework.title, "titles": titles}
    if extends_to_supply_chain:
        text += " " + _("We will extend these principles to our supply chain and ask our suppliers to commit to them.")
    return text


def commitment_snapshot(
    *,
    organisation: Organisation,
    framework: Framework,
    statement: str,
    extends_to_supply_chain: bool,
    typed_name: str,
    job_title: str,
) -> dict[str, Any]:
    return {
        "type": "commitment",
        "organisation": {
            "id": str(organisation.pk),
            "name": organisation.name,
            "company_number": organisation.company_number,
        },
        "framework": {
            "code": framework.code,
            "version": framework.version,
            "content_hash": framework.content_hash,
        },
        "statement": statement,
        "extends_to_supply_chain": extends_to_supply_chain,
        "signed_as": {"name": typed_name.strip(), "job_title": job_title.strip()},
    }


def active_commitment(organisation: Organisation) -> Commitment | None:
    with scope(organisation=organisation):
        return (
            Commitment.objects.filter(organisation=organisation, status=CommitmentStatus.ACTIVE)
            .select_related("signature", "framework", "signature__signer")
            .first()
        )


def active_commitments(organisations: list[Organisation]) -> dict[Any, Commitment]:
    """`active_commitment` of several organisations in one query, by organisation id (at most one
    each: a constraint says so). Only for organisations the caller may already see."""
    if not organisations:
        return {}
    with scopes_disabled():
        commitments = Commitment.objects.filter(
            organisation__in=[o.pk for o in organisations], status=CommitmentStatus.ACTIVE
        ).select_related("signature", "framework", "signature__signer")
        return {c.organisation_id: c for c in commitments}


def commitment_sign(
    *,
    organisation: Organisation,
    framework: Framework,
    signer: User,
    typed_name: str,
    job_title: str,
    extends_to_supply_chain: bool,
    expected_hash: str | None = None,
    expected_statement_hash: str | None = None,
    reaffirms: Commitment | None = None,
    context: SigningContext,
) -> Commitment:
    """An owner signs the organisation's commitment. `expected_hash` is what the signer was shown
    (or `expected_statement_hash`, the SHA-256 of the statement alone, where the signer typed their
    name on the same page). With `reaffirms`, the active commitment is signed again a year on: a new
    commitment record replaces it, and the old one is kept as reaffirmed."""
    errors: dict[str, str] = {}
    if not typed_name.strip():
        errors["typed_name"] = _("Type your full name to sign")
    if not job_title.strip():
        errors["job_title"] = _("Enter your job title")
    if errors:
        raise ValidationError(errors)
    statement = commitment_statement(
        organisation=organisation, framework=framework, extends_to_supply_chain=extends_to_supply_chain
    )
    snapshot = commitment_snapshot(
        organisation=organisation,
        framework=framework,
        statement=statement,
        extends_to_supply_chain=extends_to_supply_chain,
        typed_name=typed_name,
        job_title=job_title,
    )
    if (expected_hash is not None and expected_hash != snapshot_hash(snapshot)) or (
        expected_statement_hash is not None and expected_statement_hash != statement_hash(statement)
    ):
        raise ValidationError(_("What you were shown has changed since. Check it again, then sign."))
    with scope(organisation=organisation), transaction.atomic():
        membership = Membership.objects.filter(organisation=organisation, user=signer).first()
        if membership is None or not membership.is_active() or not role_can(membership.role, "sign_commitment"):
            raise ValidationError(_("Only an owner can sign the organisation's commitment."))
        active = Commitment.objects.filter(organisation=organisation, status=CommitmentStatus.ACTIVE)
        if reaffirms is None and active.exists():
            raise ValidationError(_("%(org)s has already signed the commitment.") % {"org": organisation.name})
        # Only the commitment still active is reaffirmed: not one withdrawn or reaffirmed meanwhile.
        if reaffirms is not None and not active.filter(pk=reaffirms.pk).update(status=CommitmentStatus.REAFFIRMED):
            raise ValidationError(
                _("This commitment is no longer the active one: it was withdrawn or reaffirmed meanwhile.")
            )
        signature = signature_record(
            organisation=organisation,
            subject_type="commitment",
            subject_id=organisation.pk,
            snapshot=snapshot,
            signer=signer,
            capacity=SignatureCapacity.MANAGEMENT,
            decision=SignatureDecision.SIGN,
            statement=statement,
            typed_name=typed_name,
            job_title=job_title,
            context=context,
        )
        commitment = Commitment.objects.create(
            organisation=organisation,
            framework=framework,
            statement=statement,
            extends_to_supply_chain=extends_to_supply_chain,
            signature=signature,
            signed_at=signature.signed_at,
            reaffirms=reaffirms,
        )
        after: dict[str, Any] = {
            "framework_version": framework.version,
            "extends_to_supply_chain": extends_to_supply_chain,
            "content_hash": signature.content_hash,
        }
        if reaffirms is not None:
            after["reaffirms"] = str(reaffirms.pk)
            after["first_signed_at"] = reaffirms.signed_at
        audit_record(
            organisation=organisation,
            actor=signer,
            verb="commitment.reaffirmed" if reaffirms is not None else "commitment.signed",
            target=commitment,
            target_label=framework.title,
            after=after,
        )
    return commitment


def statement_hash(statement: str) -> str:
    """The fingerprint of the statement alone, for a page where the signer types their name as they sign."""
    return hashlib.sha256(statement.encode("utf-8")).hexdigest()


def reaffirmation_statement(commitment: Commitment, framework: Framework) -> str:
    """The words signed when `commitment` is reaffirmed: today's statement, with the same supply-chain choice."""
    return commitment_statement(
        organisation=commitment.organisation,
        framework=framework,
        extends_to_supply_chain=commitment.extends_to_supply_chain,
    )


def commitment_withdraw(*, commitment: Commitment, actor: User, reason: str) -> Commitment:
    """Withdraw a signed commitment; the reason is kept and shown."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the commitment is being withdrawn")})
    organisation = commitment.organisation
    with scope(organisation=organisation), transaction.atomic():
        membership = Membership.objects.filter(organisation=organisation, user=actor).first()
        if membership is None or not role_can(membership.role, "sign_commitment"):
            raise ValidationError(_("Only an owner can withdraw the organisation's commitment."))
        updated = Commitment.objects.filter(pk=commitment.pk, status=CommitmentStatus.ACTIVE).update(
            status=CommitmentStatus.WITHDRAWN,
            withdrawn_at=timezone.now(),
            withdrawn_by=actor,
            withdrawal_reason=reason.strip(),
        )
        if not updated:
            raise ValidationError(_("This commitment has already been withdrawn."))
        commitment.refresh_from_db()
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="commitment.withdrawn",
            target=commitment,
            target_label=commitment.framework.title,
            before={"status": "active"},
            after={"status": "withdrawn", "reason": reason.strip()},
        )
    return commitment
