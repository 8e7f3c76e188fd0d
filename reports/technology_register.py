"""The technology register in the attestation report (DESIGN.md section 13).

Each registered system with what it does to workers and its DPIA's state, the new technology agreement in
force with its periods, and each system's clocks as they stand on the day the report is issued: kept,
running, due, or breached (a committee meeting held late or not at all, a go-live date inside the notice
period), with the sentence that says why. Read in four queries whatever the number of systems: the
agreement in force and its clauses, the systems and their DPIAs (`technology_context`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django_scopes import scope

from assessments.models import Plan, TechnologySystem
from assessments.technology import BREACHED, DUE, KEPT, LATE, RUNNING, agreement_in_force, clocks, dpia_state, periods
from portal.models import Organisation


def state_label(state: str) -> str:
    return {
        KEPT: _("Kept"),
        RUNNING: _("Running"),
        DUE: _("Due"),
        LATE: _("Breached: late"),
        BREACHED: _("Breached"),
    }.get(state, state)


def technology_context(organisation: Organisation, today: date) -> dict[str, Any]:
    """The report's "Technology register" section and its line in the summary, as at `today`."""
    with scope(organisation=organisation):
        agreement = agreement_in_force(organisation)
        agreement_periods = periods(agreement)
        dpias = Plan.objects.order_by("-version", "-created_at").only(
            "id", "organisation", "system", "status", "version", "created_at"
        )
        systems = list(
            TechnologySystem.objects.filter(organisation=organisation)
            .prefetch_related(Prefetch("dpias", queryset=dpias))
            .order_by("name")
        )
    rows = []
    for system in systems:
        dpia = next(iter(system.dpias.all()), None)
        found = clocks(system, agreement_periods, today)
        rows.append(
            {
                "name": system.name,
                "supplier_name": system.supplier_name,
                "status_label": system.get_status_display(),
                "go_live_on": system.go_live_on,
                "monitors_people": system.monitors_people,
                "decisions": system.decision_labels(),
                "dpia": dpia_state(dpia, system.processes_worker_data),
                "dpia_version": dpia.version if dpia is not None else None,
                "notice_given_on": system.notice_given_on,
                "committee_met_on": system.committee_met_on,
                "clocks": [
                    {
                        "title": clock.title,
                        "state": clock.state,
                        "state_label": state_label(clock.state),
                        "breach": clock.is_breach,
                        "detail": clock.detail,
                    }
                    for clock in found
                ],
                "breaches": sum(1 for clock in found if clock.is_breach),
            }
        )
    return {
        "agreement": None
        if agreement is None
        else {
            "title": agreement.title,
            "version": agreement.version,
            "in_force_on": agreement.in_force_on,
            "notice_days": agreement_periods.notice_days,
            "meeting_days": agreement_periods.meeting_days,
            "content_hash": agreement.content_hash,
        },
        "systems": rows,
    }


def summary(technology: dict[str, Any]) -> dict[str, int]:
    systems = technology["systems"]
    return {
        "systems": len(systems),
        "breached": sum(1 for s in systems if s["breaches"]),
        "breaches": sum(s["breaches"] for s in systems),
    }
