"""Self-assessments and action plans as Excel workbooks (portal/xlsx.py writes them).

What a workbook holds is what the pages show the same person: the views pass in an assessment from
`selectors.get_assessment_for` and action items from `selectors.visible_action_items`, so an auditor's
workbook, like an auditor's pages, holds finalised work only. Cited files appear by name and SHA-256
(a name is not the file: the assessment's pages show it to everyone who may read the assessment), never
by content.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from assessments.models import ActionItem, ActionStatus, Assessment, Characteristic, Citation, Response
from portal.xlsx import Sheet, write_xlsx

ACTION_COLUMNS = (
    "action",
    "owner",
    "due_date",
    "status",
    "overdue",
    "completed_on",
    "source",
    "source_title",
    "criterion",
)


def assessment_workbook(assessment: Assessment) -> bytes:
    """Every criterion of the assessment (principle, code, title, maturity level and its label, narrative,
    cited files with their SHA-256, actions), then the citations and the actions one per row, after a
    summary of the assessment itself."""
    framework = assessment.framework
    responses = list(
        Response.objects.filter(organisation=assessment.organisation_id, assessment=assessment)
        .select_related("criterion__principle")
        .prefetch_related(
            Prefetch(
                "citations",
                queryset=Citation.objects.select_related("evidence").order_by("evidence__original_name", "id"),
            ),
            Prefetch("action_items", queryset=ActionItem.objects.select_related("owner").order_by("due_date", "id")),
        )
        .order_by("criterion__principle__number", "criterion__position", "id")
    )
    today = timezone.localdate()
    criteria: list[list[object]] = []
    evidence: list[list[object]] = []
    actions: list[list[object]] = []
    for response in responses:
        criterion = response.criterion
        principle = f"{criterion.principle.number}. {criterion.principle.title}"
        cited = [c.evidence for c in response.citations.all()]
        items = list(response.action_items.all())
        criteria.append(
            [
                principle,
                criterion.code,
                criterion.title,
                response.maturity,
                framework.maturity_label(response.maturity),
                response.narrative,
                "\n".join(e.original_name for e in cited),
                "\n".join(e.sha256 for e in cited),
                "\n".join(_action_line(item) for item in items),
            ]
        )
        evidence.extend(
            [criterion.code, e.original_name, e.sha256, e.effective_date, e.expiry_date, e.description] for e in cited
        )
        actions.extend(
            [
                criterion.code,
                item.title,
                _owner(item),
                item.due_date,
                item.get_status_display(),
                "yes" if item.is_overdue(today) else "no",
                _local_date(item),
            ]
            for item in items
        )
    summary: list[list[object]] = [
        [_("Organisation"), assessment.organisation.name],
        [_("Self-assessment"), assessment.title],
        [_("Framework"), str(framework)],
        [_("Period start"), assessment.period_start],
        [_("Period end"), assessment.period_end],
        [_("Status"), assessment.get_status_display()],
        [_("Version"), assessment.version],
        [_("Finalised"), assessment.finalised_at],
        [_("Exported"), timezone.now()],
    ]
    return write_xlsx(
        [
            Sheet(_("Summary"), header=[_("Field"), _("Value")], rows=summary),
            Sheet(
                _("Criteria"),
                header=[
                    "principle",
                    "code",
                    "criterion",
                    "maturity_level",
                    "maturity_label",
                    "narrative",
                    "evidence",
                    "evidence_sha256",
                    "actions",
                ],
                rows=criteria,
            ),
            Sheet(
                _("Evidence"),
                header=["criterion", "file", "sha256", "effective_date", "expiry_date", "description"],
                rows=evidence,
            ),
            Sheet(
                _("Actions"),
                header=["criterion", "action", "owner", "due_date", "status", "overdue", "completed_on"],
                rows=actions,
            ),
        ]
    )


def action_plan_rows(items: Iterable[ActionItem]) -> list[list[object]]:
    """One row per action item, in `ACTION_COLUMNS` order: where it came from (a criterion of a
    self-assessment, or a plan's equality impact assessment) in the last three."""
    today = timezone.localdate()
    characteristics = dict(Characteristic.choices)
    rows: list[list[object]] = []
    for item in items:
        if item.plan_id is not None:
            kind, title, where = _("Plan"), item.plan.title if item.plan else "", ""
            if item.source.startswith("eqia:"):
                key = item.source.removeprefix("eqia:")
                where = _("Equality impact: %(characteristic)s") % {"characteristic": characteristics.get(key, key)}
        else:
            kind = _("Self-assessment")
            title = item.assessment.title if item.assessment else ""
            where = item.response.criterion.code if item.response else ""
        rows.append(
            [
                item.title,
                _owner(item),
                item.due_date,
                item.get_status_display(),
                "yes" if item.is_overdue(today) else "no",
                _local_date(item),
                kind,
                title,
                where,
            ]
        )
    return rows


def action_items_for_export(items: QuerySet[ActionItem]) -> QuerySet[ActionItem]:
    return items.select_related("owner", "assessment", "plan", "response__criterion").order_by(
        "due_date", "created_at", "id"
    )


def action_plan_workbook(items: Iterable[ActionItem], *, title: str) -> bytes:
    return write_xlsx([Sheet(title, header=list(ACTION_COLUMNS), rows=action_plan_rows(items))])


def _owner(item: ActionItem) -> str:
    return item.owner.display_name if item.owner else ""


def _local_date(item: ActionItem) -> date | None:
    return timezone.localdate(item.completed_at) if item.completed_at and item.status == ActionStatus.DONE else None


def _action_line(item: ActionItem) -> str:
    parts = [item.title, _owner(item) or _("no owner"), item.due_date.isoformat(), str(item.get_status_display())]
    return " · ".join(parts)
