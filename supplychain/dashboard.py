"""What the supply chain adds to the organisation dashboard: its step in the getting-started list."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists

from supplychain.models import SupplierInvitation


def suppliers_invited(organisation: Any) -> Exists:
    """The getting-started step "invite suppliers": the organisation has asked at least one supplier."""
    return Exists(SupplierInvitation.objects.filter(inviter=organisation))
