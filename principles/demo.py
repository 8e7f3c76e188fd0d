"""Demo data: the framework, and Acme's signed commitment."""

from __future__ import annotations

from portal.models import Organisation, User
from portal.signing import SigningContext
from principles.framework import ensure_framework
from principles.services import active_commitment, commitment_sign


def demo_commitment(organisation: Organisation, users: dict[str, User]) -> None:
    framework = ensure_framework()
    if active_commitment(organisation) is None:
        commitment_sign(
            organisation=organisation,
            framework=framework,
            signer=users["owner@acme.example"],
            typed_name="Olivia Owen",
            job_title="Managing Director",
            extends_to_supply_chain=True,
            context=SigningContext(user_agent="demo data"),
        )
