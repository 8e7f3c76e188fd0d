"""Downloads of a self-assessment and of action plans as Excel workbooks (assessments/spreadsheets.py).

Who may have them is who may read the pages they come from (`view_dashboard`), and what they hold is
what those pages show the same person: `selectors.get_assessment_for` and
`selectors.visible_action_items` give an auditor finalised work only (anything else is 404, as on the
pages). An auditor's download is recorded in the audit trail, as their page views are.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from assessments import selectors, spreadsheets
from portal.tenancy import TenantRequest, require
from portal.xlsx import record_auditor_download, xlsx_response


def _filename(*parts: str) -> str:
    return "-".join(slugify(part)[:60] or "export" for part in parts) + ".xlsx"


@require_GET
def assessment_xlsx(request: TenantRequest, org_slug: str, assessment_id: Any) -> HttpResponse:
    """The whole self-assessment: every criterion with its level, narrative, cited files and actions."""
    membership = require(request, "view_dashboard")
    assessment = selectors.get_assessment_for(membership, assessment_id)
    filename = _filename(assessment.title, f"v{assessment.version}")
    response = xlsx_response(spreadsheets.assessment_workbook(assessment), filename=filename)
    record_auditor_download(request, filename)
    return response


@require_GET
def assessment_actions_xlsx(request: TenantRequest, org_slug: str, assessment_id: Any) -> HttpResponse:
    """The action plan of one self-assessment: its action items with owner, due date, status and criterion."""
    membership = require(request, "view_dashboard")
    assessment = selectors.get_assessment_for(membership, assessment_id)
    items = spreadsheets.action_items_for_export(
        selectors.visible_action_items(membership).filter(assessment=assessment)
    )
    filename = _filename(assessment.title, "actions")
    response = xlsx_response(spreadsheets.action_plan_workbook(items, title=_("Action plan")), filename=filename)
    record_auditor_download(request, filename)
    return response


@require_GET
def action_plan_xlsx(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Every action item of the organisation this member may see (self-assessments and plans alike)."""
    membership = require(request, "view_dashboard")
    items = spreadsheets.action_items_for_export(selectors.visible_action_items(membership))
    filename = _filename(request.organisation.slug, "action-plan", timezone.localdate().isoformat())
    response = xlsx_response(spreadsheets.action_plan_workbook(items, title=_("Action plan")), filename=filename)
    record_auditor_download(request, filename)
    return response
