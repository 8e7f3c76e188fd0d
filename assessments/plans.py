"""Writes for plans and their equality impact assessments (EqIA), and comparing plan versions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scope

from assessments.models import (
    ActionItem,
    AssessmentStatus,
    Characteristic,
    ConsultationMeeting,
    ConsultationOutcome,
    EqiaOutcome,
    EqiaRow,
    EqualityImpactAssessment,
    Evidence,
    Impact,
    Plan,
    PlanCitation,
    PlanKind,
    a_year_after,
)
from assessments.workflow import (
    WORKFORCE,
    _members_with,
    _notify,
    eqia_owner_names,
    eqia_rows,
    plan_sections,
    plan_snapshot,
    section_fields,
    section_titles,
)
from portal.audit import audit_record
from portal.models import Membership, Organisation, User
from portal.text import one_line, require_single_line
from portal.versions import bump


def _lock_editable(plan: Plan) -> Plan:
    """The plan's row, locked for this transaction, refusing if it is no longer editable."""
    locked = Plan.objects.select_for_update().get(pk=plan.pk)
    _require_editable(locked)
    return locked


def _require_editable(plan: Plan) -> None:
    if not plan.is_editable:
        raise ValidationError(
            _("This plan is %(status)s and cannot be edited.") % {"status": plan.get_status_display().lower()},
            code="not_editable",
        )


def plan_create(
    *,
    organisation: Organisation,
    actor: User,
    kind: str,
    title: str,
    system: Any = None,
    prefill: dict[str, Any] | None = None,
) -> Plan:
    """A new plan with an empty EqIA listing every characteristic. A DPIA names its `system` in the
    technology register and starts from `prefill` (assessments.technology.dpia_start)."""
    require_single_line(title=(title, _("Title")))
    with scope(organisation=organisation), transaction.atomic():
        plan = Plan.objects.create(
            organisation=organisation,
            kind=kind,
            title=title.strip(),
            created_by=actor,
            system=system,
            **(prefill or {}),
        )
        eqia = EqualityImpactAssessment.objects.create(organisation=organisation, plan=plan)
        EqiaRow.objects.bulk_create(
            EqiaRow(organisation=organisation, eqia=eqia, characteristic=c) for c in Characteristic.values
        )
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="plan.created",
            target=plan,
            target_label=plan.title,
            after={"kind": kind, "title": plan.title, "version": 1, **({"system": system.name} if system else {})},
        )
    return plan


def plan_update_section(
    *, plan: Plan, actor: User, section: str, values: dict[str, Any], evidence_ids: list[Any] | None = None
) -> Plan:
    """Save one section's fields (and, for any section, the evidence the plan cites)."""
    fields = section_fields(plan.kind)
    if section not in fields or section == "equality":
        raise ValidationError(_("Unknown section"))
    _require_editable(plan)
    organisation = plan.organisation
    with scope(organisation=organisation), transaction.atomic():
        # Re-read under a lock: a copy loaded before the plan was submitted or signed must not write.
        _lock_editable(plan)
        before = {name: getattr(plan, name) for name in fields[section]}
        for name in fields[section]:
            if name in values:
                setattr(plan, name, values[name])
        if (
            plan.consultation_outcome == ConsultationOutcome.AGREED_WITH_CONDITIONS
            and section == "consultation"
            and not plan.consultation_conditions.strip()
        ):
            raise ValidationError({"consultation_conditions": _("Write down the conditions attached to the agreement")})
        plan.save(update_fields=fields[section])
        if evidence_ids is not None:
            wanted = set(
                Evidence.objects.filter(organisation=organisation, pk__in=evidence_ids).values_list("pk", flat=True)
            )
            if len(wanted) != len({str(e) for e in evidence_ids}):
                raise ValidationError({"evidence": _("Choose evidence from your organisation's library")})
            current = set(PlanCitation.objects.filter(plan=plan).values_list("evidence_id", flat=True))
            PlanCitation.objects.filter(plan=plan, evidence_id__in=current - wanted).delete()
            PlanCitation.objects.bulk_create(
                PlanCitation(organisation=organisation, plan=plan, evidence_id=e) for e in wanted - current
            )
        after = {name: getattr(plan, name) for name in fields[section]}
        if before != after:
            audit_record(
                organisation=organisation,
                actor=actor,
                verb="plan.updated",
                target=plan,
                target_label=f"{plan.title}: {section_titles(plan.kind)[section]}",
                before={k: v for k, v in before.items() if before[k] != after[k]},
                after={k: v for k, v in after.items() if before[k] != after[k]},
            )
        elif evidence_ids is not None:
            # Cited evidence alone is not audited, so nothing else bumps: signed content hashes
            # (workflow.current_subject_hash).
            bump(organisations=[organisation])
    return plan


def meeting_add(*, plan: Plan, actor: User, held_on: date, participants: str, notes: str) -> ConsultationMeeting:
    _require_editable(plan)
    if not participants.strip():
        raise ValidationError({"participants": _("Say who took part")})
    with scope(organisation=plan.organisation), transaction.atomic():
        _lock_editable(plan)
        meeting = ConsultationMeeting.objects.create(
            organisation=plan.organisation,
            plan=plan,
            held_on=held_on,
            participants=participants.strip(),
            notes=notes.strip(),
        )
        audit_record(
            organisation=plan.organisation,
            actor=actor,
            verb="plan.meeting_added",
            target=plan,
            target_label=plan.title,
            after={"held_on": held_on, "participants": meeting.participants},
        )
    return meeting


def meeting_delete(*, meeting: ConsultationMeeting, actor: User) -> None:
    _require_editable(meeting.plan)
    with scope(organisation=meeting.organisation), transaction.atomic():
        _lock_editable(meeting.plan)
        audit_record(
            organisation=meeting.organisation,
            actor=actor,
            verb="plan.meeting_removed",
            target=meeting.plan,
            target_label=meeting.plan.title,
            before={"held_on": meeting.held_on, "participants": meeting.participants},
        )
        meeting.delete()


@dataclass(frozen=True)
class EqiaRowInput:
    characteristic: str
    impact: str
    evidence: str
    mitigation: str
    owner: User | None


def eqia_save(
    *, plan: Plan, actor: User, rows: list[EqiaRowInput], outcome: str, justification: str
) -> EqualityImpactAssessment:
    """Save the EqIA. "Adjust the plan" turns each mitigation into an action item on the plan's owner's list."""
    _require_editable(plan)
    errors: dict[str, str] = {}
    if outcome and outcome not in EqiaOutcome.values:
        errors["outcome"] = _("Choose one of the four outcomes")
    if outcome == EqiaOutcome.CONTINUE and not justification.strip():
        errors["justification"] = _("Explain why the plan continues despite the adverse impact")
    for row in rows:
        if row.impact and row.impact not in Impact.values:
            errors[f"{row.characteristic}-impact"] = _("Choose positive, neutral, negative or unknown")
        if row.impact == Impact.NEGATIVE and not row.mitigation.strip() and outcome != EqiaOutcome.STOP:
            errors[f"{row.characteristic}-mitigation"] = _("Say how the negative impact on %(c)s will be reduced") % {
                "c": Characteristic(row.characteristic).label.lower()
            }
    if errors:
        raise ValidationError(errors)
    organisation = plan.organisation
    with scope(organisation=organisation), transaction.atomic():
        _lock_editable(plan)
        members = set(Membership.objects.filter(organisation=organisation).values_list("user_id", flat=True))
        eqia = EqualityImpactAssessment.objects.select_for_update().get(plan=plan)
        existing = {r.characteristic: r for r in eqia.rows.all()}
        for row in rows:
            if row.owner is not None and row.owner.pk not in members:
                raise ValidationError(
                    {f"{row.characteristic}-owner": _("Choose an owner from the organisation's members")}
                )
            target = existing[row.characteristic]
            if row.owner != target.owner:
                target.recorded_owner_email = ""  # a new owner: the snapshot reads their email again
            target.impact, target.evidence, target.mitigation, target.owner = (
                row.impact,
                row.evidence.strip(),
                row.mitigation.strip(),
                row.owner,
            )
            target.save()
        before_outcome = eqia.outcome
        eqia.outcome, eqia.justification = outcome, justification.strip()
        eqia.save()
        created = []
        if outcome == EqiaOutcome.ADJUST:
            for row in rows:
                if not row.mitigation.strip():
                    continue
                label = Characteristic(row.characteristic).label
                item, was_created = ActionItem.objects.get_or_create(
                    organisation=organisation,
                    plan=plan,
                    source=f"eqia:{row.characteristic}",
                    defaults={
                        # One line: the mitigation box has several, and the title goes into email subjects.
                        "title": one_line(f"{label}: {row.mitigation}")[:300],
                        "owner": row.owner,
                        "due_date": timezone.localdate() + timedelta(days=30),
                        "created_by": actor,
                    },
                )
                if was_created:
                    created.append(item)
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="eqia.updated",
            target=plan,
            target_label=plan.title,
            before={"outcome": before_outcome},
            after={
                "outcome": outcome,
                "negative": sorted(r.characteristic for r in rows if r.impact == Impact.NEGATIVE),
                "actions_created": [item.title for item in created],
            },
        )
        from assessments.services import action_assigned_notify

        for item in created:
            action_assigned_notify(item=item, actor=actor, key=f"action-assigned:{item.pk}")
    return eqia


def plan_problems(plan: Plan, *, eqia_unassessed: bool | None = None) -> list[tuple[str, str]]:
    """(section, message) pairs that stop a plan going to workforce review. `eqia_unassessed`: whether
    any EqIA row has no impact yet, when the caller knows (`selectors.current_plans`): then the rows
    are not read."""
    with scope(organisation=plan.organisation):
        return _plan_problems(plan, eqia_unassessed=eqia_unassessed)


def _plan_problems(plan: Plan, *, eqia_unassessed: bool | None = None) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if plan.kind == PlanKind.DPIA:
        problems.extend(_dpia_problems(plan))
    elif not plan.technology.strip() or not plan.rationale.strip():
        problems.append(("technology", _("Describe the technology and why it is being introduced")))
    if plan.shared_on is None or not plan.information_disclosed.strip():
        problems.append(
            ("consultation", _("Record when the plan was shared with the workforce and what was disclosed"))
        )
    if plan.kind != PlanKind.DPIA:
        problems.extend(_plan_section_problems(plan))
    eqia = getattr(plan, "eqia", None)
    if eqia_unassessed is None and eqia is not None:
        eqia_unassessed = any(not r.impact for r in eqia_rows(eqia))
    if eqia is None or eqia_unassessed:
        problems.append(("equality", _("Assess the impact on every characteristic in the equality impact assessment")))
    elif not eqia.outcome:
        problems.append(("equality", _("Choose the outcome of the equality impact assessment")))
    return problems


def _plan_section_problems(plan: Plan) -> list[tuple[str, str]]:
    problems = []
    if not plan.hse_impact.strip():
        problems.append(("health_safety", _("Assess the health, safety, welfare and environmental impact")))
    if not (plan.retraining_who.strip() and plan.retraining_how.strip()):
        problems.append(("skills", _("Say who will be retrained and how")))
    if not (plan.data_collected.strip() and plan.data_purpose.strip()):
        problems.append(("data", _("Say what employee data is used and for what")))
    if not plan.jobs_affected.strip():
        problems.append(("jobs", _("Say which jobs are affected")))
    return problems


def _dpia_problems(plan: Plan) -> list[tuple[str, str]]:
    problems = []
    if not (plan.dpia_nature.strip() and plan.dpia_scope.strip() and plan.dpia_purpose.strip()):
        problems.append(("processing", _("Describe the nature, scope and purpose of the processing")))
    if not plan.dpia_necessity.strip():
        problems.append(("necessity", _("Say why the processing is necessary and proportionate")))
    if not plan.dpia_risks.strip():
        problems.append(("risks", _("Assess the risks to the people whose data it is")))
    if not plan.dpia_measures.strip():
        problems.append(("measures", _("Say what will be done to reduce the risks")))
    if not (plan.consultation_method.strip() and plan.workers_views.strip()):
        problems.append(("workforce_views", _("Record how workers were consulted and what they said")))
    return problems


def plan_submit(*, plan: Plan, actor: User) -> list[str]:
    """Send the plan to workforce review; returns the representatives emailed."""
    organisation = plan.organisation
    with scope(organisation=organisation), transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        _require_editable(locked)
        problems = plan_problems(locked)
        if problems:
            raise ValidationError([message for _section, message in problems])
        before = locked.status
        locked.status, locked.submitted_at, locked.submitted_by = AssessmentStatus.IN_REVIEW, timezone.now(), actor
        locked.save(update_fields=["status", "submitted_at", "submitted_by"])
        reps = _members_with(organisation, WORKFORCE)
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="plan.submitted",
            target=locked,
            target_label=locked.title,
            before={"status": before},
            after={"status": locked.status, "notified": [r.email for r in reps]},
        )
        _notify(
            subject=locked,
            recipients=reps,
            kind="signature_requested",
            text=_("%(who)s sent the plan %(title)s for workforce review at %(org)s: read it, comment, and countersign")
            % {"who": actor.display_name, "title": locked.title, "org": organisation.name},
            key=f"plan-submitted:{locked.pk}:{locked.submitted_at.isoformat()}",
            actor=actor,
            subject_line=_("%(org)s: %(title)s is ready for your review")
            % {"org": organisation.name, "title": locked.title},
            message=_(
                "%(who)s has sent the plan “%(title)s” for workforce review. You can comment on any section, "
                "request changes, and countersign once it is agreed."
            )
            % {"who": actor.display_name, "title": locked.title},
        )
    with scope(organisation=plan.organisation):  # callers outside a request (tasks, commands) have no scope
        plan.refresh_from_db()
    return [r.email for r in reps]


def plan_amend(*, plan: Plan, actor: User) -> Plan:
    """Start a new version of a final plan, copying every section; the final one stays as it was."""
    if plan.status != AssessmentStatus.FINAL:
        raise ValidationError(_("Only a final plan can be amended; edit this one directly."), code="not_final")
    organisation = plan.organisation
    with scope(organisation=organisation), transaction.atomic():
        if Plan.objects.filter(organisation=organisation, family_id=plan.family_id, version__gt=plan.version).exists():
            raise ValidationError(_("A newer version of this plan already exists."), code="newer_version")
        fields = [f for _k, _t, names in plan_sections(plan.kind) for f in names]
        new = Plan.objects.create(
            organisation=organisation,
            family_id=plan.family_id,
            version=plan.version + 1,
            kind=plan.kind,
            title=plan.title,
            created_by=actor,
            survey_results=plan.survey_results,  # the consultation record goes on with its surveys
            system_id=plan.system_id,
            **{name: getattr(plan, name) for name in fields},
        )
        for meeting in plan.meetings.all():
            ConsultationMeeting.objects.create(
                organisation=organisation,
                plan=new,
                held_on=meeting.held_on,
                participants=meeting.participants,
                notes=meeting.notes,
            )
        PlanCitation.objects.bulk_create(
            PlanCitation(organisation=organisation, plan=new, evidence_id=c.evidence_id) for c in plan.citations.all()
        )
        old_eqia = plan.eqia
        eqia = EqualityImpactAssessment.objects.create(
            organisation=organisation, plan=new, outcome=old_eqia.outcome, justification=old_eqia.justification
        )
        EqiaRow.objects.bulk_create(
            EqiaRow(
                organisation=organisation,
                eqia=eqia,
                characteristic=r.characteristic,
                impact=r.impact,
                evidence=r.evidence,
                mitigation=r.mitigation,
                owner_id=r.owner_id,
                recorded_owner_email=r.recorded_owner_email,
            )
            for r in old_eqia.rows.all()
        )
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="plan.amended",
            target=new,
            target_label=new.title,
            after={"from_version": plan.version, "version": new.version},
        )
    return new


@dataclass(frozen=True)
class SectionDiff:
    key: str
    title: str
    changed: bool
    lines: list[tuple[str, str]]  # (kind, text): kind is " ", "-" or "+"


def plan_diff(old: Plan, new: Plan) -> list[SectionDiff]:
    """Section by section, what changed between two versions of a plan, in the words of the section pages."""
    with scope(organisation=new.organisation):
        owners = {**eqia_owner_names(old), **eqia_owner_names(new)}
        before = {s.key: s for s in readable_plan_snapshot(plan_snapshot(old), owners)}
        after = {s.key: s for s in readable_plan_snapshot(plan_snapshot(new), owners)}
    diffs = []
    for key, title, _fields in plan_sections(new.kind):
        a_lines, b_lines = _readable_lines(before[key]), _readable_lines(after[key])
        lines = [(d[0], d[2:]) for d in difflib.ndiff(a_lines, b_lines) if d[0] in " -+"]
        diffs.append(SectionDiff(key, title, a_lines != b_lines, lines))
    return diffs


def _readable_lines(section: ReadableSection) -> list[str]:
    lines: list[str] = []
    for label, value in section.fields:
        if isinstance(value, date):
            value = date_format(value, "j F Y")
        lines.append(f"{label}:")
        lines.extend(str(value or "").splitlines() or [""])
    return lines


@dataclass(frozen=True)
class ReadableSection:
    key: str
    title: str
    fields: list[tuple[str, Any]]


def equality_act_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A snapshot's EqIA rows (stored by characteristic code, an order the signatures' hashes keep) in the
    order every page lists them: the Equality Act 2010's, then the principles' two additions."""
    order = {value: i for i, value in enumerate(Characteristic.values)}
    return sorted(rows, key=lambda row: order.get(row.get("characteristic", ""), len(order)))


def readable_plan_snapshot(snapshot: dict[str, Any], owners: dict[str, str] | None = None) -> list[ReadableSection]:
    """The signed snapshot with the labels and display values people read on the section pages. `owners`
    names the people the snapshot records by email (see `workflow.eqia_owner_names`)."""
    owners = owners or {}
    from assessments.models import Plan

    sections = []
    for key, title, fields in plan_sections(snapshot.get("kind", "")):
        data = snapshot["sections"].get(key, {})
        rows: list[tuple[str, Any]] = []
        for name in fields:
            value = data.get(name)
            if name == "consultation_outcome":
                value = ConsultationOutcome(value).label if value else ""
            elif name == "shared_on" and value:
                value = date.fromisoformat(str(value))
            rows.append((str(Plan._meta.get_field(name).verbose_name).capitalize(), value))  # type: ignore[union-attr]
        if key == "consultation":
            for meeting in data.get("meetings", []):
                rows.append(
                    (
                        _("Meeting on %(date)s")
                        % {"date": date_format(date.fromisoformat(str(meeting["held_on"])), "j F Y")},
                        f"{meeting['participants']}\n{meeting['notes']}".strip(),
                    )
                )
            from assessments.surveys import record_text

            for record in data.get("surveys", []):
                rows.append(
                    (_("Workforce survey “%(title)s”") % {"title": record.get("title", "")}, record_text(record))
                )
        if key == "equality":
            for row in equality_act_order(data.get("rows", [])):
                label = Characteristic(row["characteristic"]).label
                impact = Impact(row["impact"]).label if row["impact"] else _("Not assessed")
                detail = "\n".join(
                    filter(
                        None,
                        [
                            _("Impact: %(impact)s") % {"impact": impact},
                            _("Evidence: %(text)s") % {"text": row["evidence"]} if row["evidence"] else "",
                            _("Mitigation: %(text)s") % {"text": row["mitigation"]} if row["mitigation"] else "",
                            _("Owner: %(name)s") % {"name": owners.get(row["owner"], row["owner"])}
                            if row["owner"]
                            else "",
                        ],
                    )
                )
                rows.append((str(label), detail))
            outcome = data.get("outcome")
            rows.append((_("Outcome"), EqiaOutcome(outcome).label if outcome else _("Not chosen")))
            if data.get("justification"):
                rows.append((_("Justification"), data["justification"]))
        sections.append(ReadableSection(key, title, rows))
    return sections


REVIEW_DUE_MAX_YEARS = 3


def plan_review_due_set(*, plan: Plan, actor: User, review_due: date) -> Plan:
    """Change when a final plan is next reviewed (by default 12 months after it became final). The date
    is not part of what was signed, so no signature changes."""
    today = timezone.localdate()
    if review_due < today:
        raise ValidationError({"review_due": _("Enter a review date that is today or in the future")})
    latest = today
    for _year in range(REVIEW_DUE_MAX_YEARS):
        latest = a_year_after(latest)
    if review_due > latest:
        raise ValidationError(
            {
                "review_due": _("Review the plan at least every %(n)s years: enter a date on or before %(date)s")
                % {"n": REVIEW_DUE_MAX_YEARS, "date": date_format(latest, "j F Y")}
            }
        )
    organisation = plan.organisation
    with scope(organisation=organisation), transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        if locked.status != AssessmentStatus.FINAL:
            raise ValidationError(_("Only a final plan has a review date."), code="not_final")
        if Plan.objects.filter(
            organisation=organisation, family_id=locked.family_id, version__gt=locked.version
        ).exists():
            raise ValidationError(
                _("A newer version of this plan exists: its review replaces this one."), code="newer_version"
            )
        before = locked.review_due
        if before == review_due:
            return locked
        locked.review_due = review_due
        locked.save(update_fields=["review_due"])
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="plan.review_date_changed",
            target=locked,
            target_label=locked.title,
            before={"review_due": before},
            after={"review_due": review_due},
        )
    plan.review_due = review_due
    return locked
