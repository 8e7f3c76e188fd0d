"""The commitment panel on the organisation dashboard."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists
from django.http import HttpRequest

from portal.dashboard import Panel
from principles.models import Commitment, CommitmentStatus
from principles.services import active_commitment


def commitment_panel(request: HttpRequest) -> Panel:
    membership = request.membership  # type: ignore[attr-defined]
    return Panel(
        "principles/_dashboard_panel.html",
        {
            "commitment": active_commitment(request.organisation),  # type: ignore[attr-defined]
            "can_sign": membership.can("sign_commitment"),
        },
    )


def commitment_signed(organisation: Any) -> Exists:
    """The getting-started step "sign the commitment": an active commitment exists."""
    return Exists(Commitment.objects.filter(organisation=organisation, status=CommitmentStatus.ACTIVE))
