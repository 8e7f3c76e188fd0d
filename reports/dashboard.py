"""What reports add to the organisation dashboard: its step in the getting-started list."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists

from reports.models import AttestationReport


def report_requested(organisation: Any) -> Exists:
    """The getting-started step "request a report": the organisation has requested one."""
    return Exists(AttestationReport.objects.filter(organisation=organisation))
