"""What the principles app adds to an organisation's data export (see portal.exports)."""

from __future__ import annotations

from typing import Any

from portal.exports import person
from portal.models import Organisation
from principles.models import Commitment


def commitment_rows(organisation: Organisation) -> list[dict[str, Any]]:
    commitments = (
        Commitment.objects.filter(organisation=organisation)
        .select_related("framework", "withdrawn_by")
        .order_by("signed_at")
    )
    return [
        {
            "id": c.pk,
            "status": c.status,
            "framework": {"code": c.framework.code, "version": c.framework.version, "title": c.framework.title},
            "statement": c.statement,
            "extends_to_supply_chain": c.extends_to_supply_chain,
            "signature_id": c.signature_id,
            "signed_at": c.signed_at,
            "withdrawn_at": c.withdrawn_at,
            "withdrawn_by": person(c.withdrawn_by),
            "withdrawal_reason": c.withdrawal_reason,
            "reaffirms": c.reaffirms_id,
            "reaffirmation_due": c.reaffirmation_due,
        }
        for c in commitments
    ]
