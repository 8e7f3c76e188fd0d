"""The self-assessment panel on the organisation dashboard: maturity chart, overdue actions, what awaits."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _

from assessments import selectors
from assessments.charts import Bar, maturity_chart_svg
from assessments.models import AssessmentStatus
from portal.dashboard import Panel


def assessment_panel(request: HttpRequest) -> Panel:
    membership = request.membership  # type: ignore[attr-defined]
    organisation = request.organisation  # type: ignore[attr-defined]
    assessment = selectors.current_assessment(organisation, membership)
    progress = selectors.assessment_progress(assessment) if assessment else None
    chart = None
    if assessment is not None and progress is not None:
        chart = maturity_chart_svg(
            [Bar(f"{p.principle.number}. {p.principle.title}", p.average_maturity) for p in progress.principles],
            title=_("Maturity per principle: %(title)s") % {"title": assessment.title},
        )
    awaiting = []
    if assessment is not None:
        if assessment.status == AssessmentStatus.IN_REVIEW and membership.can("countersign_workforce"):
            awaiting.append(
                _("Review %(title)s: it was sent to the workforce representatives") % {"title": assessment.title}
            )
        elif assessment.is_editable and membership.can("edit_content"):
            left = progress.total - progress.answered if progress else 0
            if left:
                awaiting.append(
                    _("Finish %(title)s: %(n)s criteria left to answer") % {"title": assessment.title, "n": left}
                )
            elif progress and progress.evidence_missing:
                awaiting.append(
                    _("Cite evidence for %(n)s criteria in %(title)s")
                    % {"title": assessment.title, "n": progress.evidence_missing}
                )
            else:
                awaiting.append(_("Send %(title)s for workforce review") % {"title": assessment.title})
    return Panel(
        "assessments/_dashboard_panel.html",
        {
            "assessment": assessment,
            "progress": progress,
            "chart": chart,
            "awaiting": awaiting,
            "overdue": selectors.overdue_action_items(organisation) if membership.role != "auditor" else [],
            "can_edit": membership.can("edit_content"),
        },
    )
