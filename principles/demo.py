"""Demo data: the framework, and Acme's signed commitment, signed about 11.5 months ago so that its
owner finds "Reaffirm the commitment" on Your work."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_scopes import scope

from portal.models import Organisation, Signature, User
from portal.signing import SigningContext
from portal.versions import bump
from principles.framework import ensure_framework
from principles.models import Commitment
from principles.services import active_commitment, commitment_sign


def demo_commitment(organisation: Organisation, users: dict[str, User]) -> None:
    framework = ensure_framework()
    if active_commitment(organisation) is None:
        commitment = commitment_sign(
            organisation=organisation,
            framework=framework,
            signer=users["owner@acme.example"],
            typed_name="Olivia Owen",
            job_title="Managing Director",
            extends_to_supply_chain=True,
            context=SigningContext(user_agent="demo data"),
        )
        # Signed last year (the demo also has last year's final self-assessment): due to be reaffirmed.
        signed_at = timezone.now() - timedelta(days=DEMO_COMMITMENT_AGE_DAYS)
        with scope(organisation=organisation):
            Commitment.objects.filter(pk=commitment.pk).update(signed_at=signed_at)
            Signature.objects.filter(pk=commitment.signature_id).update(signed_at=signed_at)
        bump(organisations=[organisation])  # update() is not audited: the dashboard shows when it was signed


DEMO_COMMITMENT_AGE_DAYS = 350
