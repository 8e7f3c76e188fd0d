"""The technology register and the new technology agreement (DESIGN.md section 13).

* The **register** holds each digital system that touches workers: its data about them, whether it
  monitors people or makes or supports decisions about them, and links to the plans, criteria and
  evidence that concern it. Its data-protection impact assessment (DPIA) is a plan of kind "dpia"
  (`Plan.system`), so it has the plans' review cycle, comments, change requests, signatures and EqIA.
* The **agreement** is a set of clauses adapted from a library, signed by both sides with the signing
  primitive (subject type "agreement"). It is in force once management and the representatives have
  both signed its current words; a later version signed by both supersedes it.
* Its periods become **clocks** on each system: notice before introduction ("go-live not before N days
  after notice"), and the joint technology committee's meeting ("within N days of notice"). `clocks`
  computes them for a day; `refresh_attention` keeps the one column "Your work" reads; a go-live date
  inside the notice period is a breach, shown on the system, written to the audit trail once
  (`record_breaches`) and reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_scopes import scope, scopes_disabled

from assessments import plans
from assessments.models import (
    AgreementClause,
    AgreementStatus,
    Evidence,
    Plan,
    PlanKind,
    SystemLink,
    SystemStatus,
    TechnologyAgreement,
    TechnologySystem,
    WorkerDecision,
)
from assessments.workflow import capacity_for
from portal.audit import audit_record
from portal.models import Membership, Organisation, Signature, SignatureCapacity, SignatureDecision, User
from portal.signing import SigningContext, signature_record, snapshot_hash
from portal.text import require_single_line
from portal.versions import bump
from principles.models import Criterion

# --- The clause library --------------------------------------------------------------------------
#
# After the model agreements unions negotiate (for example Unite's): each clause is adapted freely;
# "{days}" in a clause's words is replaced by its period. The two clock clauses set the clocks.

NOTICE = "notice"
COMMITTEE = "committee"


@dataclass(frozen=True)
class LibraryClause:
    key: str
    title: Any
    text: Any
    days: int | None = None


CLAUSE_LIBRARY: list[LibraryClause] = [
    LibraryClause(
        NOTICE,
        gettext_lazy("Notice before introduction"),
        gettext_lazy(
            "Management will give the recognised representatives written notice of any new technology that "
            "affects workers at least {days} days before it is introduced, piloted or changed. It will not go "
            "live before the notice period has run."
        ),
        90,
    ),
    LibraryClause(
        "information",
        gettext_lazy("Information to be disclosed"),
        gettext_lazy(
            "With the notice, management will disclose what the technology does, what data about workers it "
            "collects and why, who can see that data, how long it is kept, and its expected effects on jobs, "
            "skills, health and safety and working conditions."
        ),
    ),
    LibraryClause(
        COMMITTEE,
        gettext_lazy("Joint technology committee"),
        gettext_lazy(
            "A joint technology committee of management and representatives in equal numbers will meet on each "
            "notice within {days} days of it being given, and at least every quarter, to consider proposals, "
            "their data-protection impact assessments and their effects."
        ),
        14,
    ),
    LibraryClause(
        "experts",
        gettext_lazy("Access to independent experts"),
        gettext_lazy(
            "The representatives may consult an independent expert of their choosing on any proposal, at the "
            "employer's reasonable cost, and have paid time to do so."
        ),
    ),
    LibraryClause(
        "retraining",
        gettext_lazy("Retraining commitments"),
        gettext_lazy(
            "Workers whose jobs change will be offered retraining in working time, at no cost to them, before "
            "the technology goes live."
        ),
    ),
    LibraryClause(
        "job_security",
        gettext_lazy("Job security and redeployment"),
        gettext_lazy(
            "There will be no compulsory redundancies as a result of new technology. Workers whose jobs change "
            "will be redeployed on no less favourable terms, and gains will be shared with the workforce."
        ),
    ),
    LibraryClause(
        "data_limits",
        gettext_lazy("Limits on data use and monitoring"),
        gettext_lazy(
            "Data about workers collected by new technology will be used only for the purposes agreed in its "
            "data-protection impact assessment. It will not be used for covert monitoring, or as the sole basis "
            "of decisions on discipline, performance or pay, and a person will review any such decision."
        ),
    ),
    LibraryClause(
        "review_disputes",
        gettext_lazy("Review and disputes"),
        gettext_lazy(
            "This agreement is reviewed every year. While a dispute about new technology goes through the "
            "disputes procedure, the status quo applies and the technology is not introduced."
        ),
    ),
]
LIBRARY = {clause.key: clause for clause in CLAUSE_LIBRARY}
MAX_CLAUSE_DAYS = 730


# --- The register ----------------------------------------------------------------------------------

SYSTEM_FIELDS = [
    "name",
    "supplier_name",
    "purpose",
    "sites",
    "teams",
    "go_live_on",
    "status",
    "worker_data",
    "monitors_people",
    "decisions",
]


def _clean_values(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: v for k, v in values.items() if k in SYSTEM_FIELDS}
    errors: dict[str, str] = {}
    for name in ("name", "supplier_name", "purpose", "sites", "teams", "worker_data"):
        if name in cleaned:
            cleaned[name] = (cleaned[name] or "").strip()
    if "name" in cleaned and not cleaned["name"]:
        errors["name"] = _("Enter the system's name")
    require_single_line(
        **{
            n: (cleaned[n], label)
            for n, label in (("name", _("Name")), ("supplier_name", _("Supplier")))
            if n in cleaned
        }
    )
    if "status" in cleaned and cleaned["status"] not in SystemStatus.values:
        errors["status"] = _("Choose planned, piloting, live or retired")
    if "decisions" in cleaned:
        decisions = list(dict.fromkeys(cleaned["decisions"] or []))
        unknown = [d for d in decisions if d not in WorkerDecision.values]
        if unknown:
            errors["decisions"] = _("Choose from: allocation of work, performance, discipline, hiring")
        cleaned["decisions"] = [d for d in WorkerDecision.values if d in decisions]  # a stable order
    if errors:
        raise ValidationError(errors)
    return cleaned


def _unique_name_error() -> ValidationError:
    return ValidationError({"name": _("A system with this name is already in your register")}, code="duplicate")


def system_create(*, organisation: Organisation, actor: User | None, values: dict[str, Any]) -> TechnologySystem:
    cleaned = _clean_values(values)
    if "name" not in cleaned:
        raise ValidationError({"name": _("Enter the system's name")})
    with scope(organisation=organisation):
        try:
            with transaction.atomic():
                system = TechnologySystem.objects.create(organisation=organisation, created_by=actor, **cleaned)
                audit_record(
                    organisation=organisation,
                    actor=actor,
                    verb="technology.system_registered",
                    target=system,
                    target_label=system.name,
                    after=_audit_values(system),
                )
                refresh_attention(system)
                record_breaches(system, actor=actor)
        except IntegrityError:
            raise _unique_name_error() from None
    return system


def _audit_values(system: TechnologySystem) -> dict[str, Any]:
    return {name: getattr(system, name) for name in SYSTEM_FIELDS}


def system_update(*, system: TechnologySystem, actor: User | None, values: dict[str, Any]) -> TechnologySystem:
    cleaned = _clean_values(values)
    organisation = system.organisation
    with scope(organisation=organisation):
        try:
            with transaction.atomic():
                locked = TechnologySystem.objects.select_for_update().get(pk=system.pk)
                before = _audit_values(locked)
                for name, value in cleaned.items():
                    setattr(locked, name, value)
                after = _audit_values(locked)
                if before == after:
                    return locked
                locked.updated_at = timezone.now()
                locked.save()
                changed = [n for n in SYSTEM_FIELDS if before[n] != after[n]]
                audit_record(
                    organisation=organisation,
                    actor=actor,
                    verb="technology.system_changed",
                    target=locked,
                    target_label=locked.name,
                    before={n: before[n] for n in changed},
                    after={n: after[n] for n in changed},
                )
                refresh_attention(locked)
                record_breaches(locked, actor=actor)
        except IntegrityError:
            raise _unique_name_error() from None
    return locked


def system_delete(*, system: TechnologySystem, actor: User) -> None:
    """Remove a system registered by mistake. One with a DPIA stays: retire it instead, so the record of
    its assessment and the workforce's views is kept."""
    organisation = system.organisation
    with scope(organisation=organisation), transaction.atomic():
        if Plan.objects.filter(system=system).exists():
            raise ValidationError(
                _(
                    "%(name)s has a data-protection impact assessment, so it stays in the register. "
                    "Mark it retired instead."
                )
                % {"name": system.name},
                code="has_dpia",
            )
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="technology.system_removed",
            target=system,
            target_label=system.name,
            before=_audit_values(system),
        )
        system.delete()


def notice_record(
    *, system: TechnologySystem, actor: User, notice_given_on: date | None, committee_met_on: date | None
) -> TechnologySystem:
    """Record the day notice was given to the representatives and the day the joint technology committee
    met on it (either may be cleared if entered by mistake)."""
    today = timezone.localdate()
    errors = {}
    if notice_given_on and notice_given_on > today:
        errors["notice_given_on"] = _("Notice is recorded once given: the date cannot be in the future")
    if committee_met_on and committee_met_on > today:
        errors["committee_met_on"] = _("Record the meeting once it has been held: the date cannot be in the future")
    if committee_met_on and not notice_given_on:
        errors["committee_met_on"] = _("Record when notice was given first: the committee meets on a notice")
    elif committee_met_on and notice_given_on and committee_met_on < notice_given_on:
        errors["committee_met_on"] = _("The committee meets on a notice after it is given: check the dates")
    if errors:
        raise ValidationError(errors)
    organisation = system.organisation
    with scope(organisation=organisation), transaction.atomic():
        locked = TechnologySystem.objects.select_for_update().get(pk=system.pk)
        before = {"notice_given_on": locked.notice_given_on, "committee_met_on": locked.committee_met_on}
        after = {"notice_given_on": notice_given_on, "committee_met_on": committee_met_on}
        if before == after:
            return locked
        locked.notice_given_on, locked.committee_met_on = notice_given_on, committee_met_on
        locked.updated_at = timezone.now()
        locked.save(update_fields=["notice_given_on", "committee_met_on", "updated_at"])
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="technology.notice_recorded",
            target=locked,
            target_label=locked.name,
            before=before,
            after=after,
        )
        refresh_attention(locked)
        record_breaches(locked, actor=actor)
    return locked


def links_set(
    *,
    system: TechnologySystem,
    actor: User,
    plan_ids: Iterable[Any] = (),
    criterion_codes: Iterable[str] = (),
    evidence_ids: Iterable[Any] = (),
) -> None:
    """Replace what the system is linked to: plans, self-assessment criteria (by code) and evidence files,
    each from the system's own organisation (anything else is refused, naming it)."""
    organisation = system.organisation
    plan_ids = {str(p) for p in plan_ids}
    codes = {c.strip() for c in criterion_codes if c.strip()}
    evidence_ids = {str(e) for e in evidence_ids}
    with scope(organisation=organisation), transaction.atomic():
        plans = {str(p.pk): p for p in Plan.objects.filter(organisation=organisation, pk__in=_uuids(plan_ids))}
        evidence = {
            str(e.pk): e for e in Evidence.objects.filter(organisation=organisation, pk__in=_uuids(evidence_ids))
        }
        criteria = {c.code: c for c in Criterion.objects.filter(code__in=codes, framework=_framework_of(organisation))}
        errors = {}
        if set(plans) != plan_ids:
            errors["plans"] = _("Choose plans of your organisation")
        if set(evidence) != evidence_ids:
            errors["evidence"] = _("Choose evidence from your organisation's library")
        if set(criteria) != codes:
            errors["criteria"] = _("No criterion has the code %(codes)s") % {
                "codes": ", ".join(sorted(codes - set(criteria)))
            }
        if errors:
            raise ValidationError(errors)
        current = list(SystemLink.objects.filter(system=system))
        before = _link_labels(current)
        wanted = (
            {("plan", k) for k in plans}
            | {("criterion", c.pk) for c in criteria.values()}
            | {("evidence", k) for k in evidence}
        )
        have = {_link_key(link): link for link in current}
        for key, link in have.items():
            if key not in wanted:
                link.delete()
        for kind, target in wanted - set(have):
            SystemLink.objects.create(organisation=organisation, system=system, **{f"{kind}_id": target})
        after = _link_labels(
            list(SystemLink.objects.filter(system=system).select_related("plan", "criterion", "evidence"))
        )
        if before != after:
            audit_record(
                organisation=organisation,
                actor=actor,
                verb="technology.links_changed",
                target=system,
                target_label=system.name,
                before={"links": before},
                after={"links": after},
            )


def _framework_of(organisation: Organisation) -> Any:
    from principles.models import Framework

    return Framework.objects.order_by("-version").values("pk")[:1]


def _uuids(values: set[str]) -> list[Any]:
    import uuid

    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue
    return found


def _link_key(link: SystemLink) -> tuple[str, Any]:
    if link.plan_id:
        return ("plan", str(link.plan_id))
    if link.criterion_id:
        return ("criterion", link.criterion_id)
    return ("evidence", str(link.evidence_id))


def _link_labels(links: list[SystemLink]) -> list[str]:
    labels = []
    for link in links:
        if link.plan is not None:
            labels.append(f"plan: {link.plan.title} (version {link.plan.version})")
        elif link.criterion is not None:
            labels.append(f"criterion: {link.criterion.code}")
        elif link.evidence is not None:
            labels.append(f"evidence: {link.evidence.original_name}")
    return sorted(labels)


def system_links(system: TechnologySystem) -> dict[str, list[Any]]:
    """The plans, criteria and evidence the system is linked to, each list in reading order."""
    links = list(SystemLink.objects.filter(system=system).select_related("plan", "criterion", "evidence"))
    return {
        "plans": sorted((link.plan for link in links if link.plan_id), key=lambda p: (p.title, p.version)),
        "criteria": sorted((link.criterion for link in links if link.criterion_id), key=lambda c: c.code),
        "evidence": sorted((link.evidence for link in links if link.evidence_id), key=lambda e: e.original_name),
    }


# --- The DPIA -------------------------------------------------------------------------------------


def latest_dpia(system: TechnologySystem) -> Plan | None:
    return Plan.objects.filter(system=system).order_by("-version", "-created_at").first()


def dpia_start(*, system: TechnologySystem, actor: User) -> Plan:
    """The system's DPIA, started from what the register says about it, with an empty EqIA."""
    organisation = system.organisation
    with scope(organisation=organisation), transaction.atomic():
        TechnologySystem.objects.select_for_update().get(pk=system.pk)
        if Plan.objects.filter(system=system).exists():
            raise ValidationError(
                _("%(name)s already has a data-protection impact assessment.") % {"name": system.name},
                code="dpia_exists",
            )
        # The title holds the system's name, cut to the title's 200 characters.
        plan = plans.plan_create(
            organisation=organisation,
            actor=actor,
            kind=PlanKind.DPIA,
            title=(_("DPIA: %(name)s") % {"name": system.name})[:200],
            system=system,
            prefill={
                "dpia_nature": system.worker_data,
                "dpia_purpose": system.purpose,
                "dpia_scope": ", ".join(part for part in (system.sites, system.teams) if part),
            },
        )
    return plan


def dpia_state(dpia: Plan | None, processes_worker_data: bool) -> str:
    """A short phrase for the DPIA's state, as the register, the report and the API say it."""
    if dpia is None:
        return _("Needed, not started") if processes_worker_data else _("Not needed")
    return dpia.get_status_display()


# --- The agreement ---------------------------------------------------------------------------------


def agreement_in_force(organisation: Organisation) -> TechnologyAgreement | None:
    return (
        TechnologyAgreement.objects.filter(organisation=organisation, status=AgreementStatus.IN_FORCE)
        .prefetch_related("clauses")
        .first()
    )


def agreement_draft(organisation: Organisation) -> TechnologyAgreement | None:
    return TechnologyAgreement.objects.filter(organisation=organisation, status=AgreementStatus.DRAFT).first()


@dataclass(frozen=True)
class Periods:
    notice_days: int | None
    meeting_days: int | None
    since: date | None  # the day the agreement came into force: systems live before then have no clocks


def periods(agreement: TechnologyAgreement | None) -> Periods:
    if agreement is None:
        return Periods(None, None, None)
    days = {c.key: c.days for c in agreement.clauses.all() if c.key in (NOTICE, COMMITTEE)}
    return Periods(days.get(NOTICE), days.get(COMMITTEE), agreement.in_force_on)


@dataclass(frozen=True)
class ClauseInput:
    title: str
    text: str
    key: str = ""
    days: int | None = None


def _lock_draft(agreement: TechnologyAgreement) -> TechnologyAgreement:
    locked = TechnologyAgreement.objects.select_for_update().get(pk=agreement.pk)
    if locked.status != AgreementStatus.DRAFT:
        raise ValidationError(
            _("This agreement is %(status)s: start a new version to change it.")
            % {"status": locked.get_status_display().lower()},
            code="not_draft",
        )
    return locked


def _clean_clauses(clauses: list[ClauseInput]) -> list[ClauseInput]:
    errors: dict[str, str] = {}
    cleaned = []
    keys_seen: set[str] = set()
    for index, clause in enumerate(clauses, start=1):
        title, text = clause.title.strip(), clause.text.strip()
        key = clause.key if clause.key in LIBRARY else ""
        if key and key in keys_seen:
            key = ""  # a second copy of a library clause is the parties' own clause
        keys_seen.add(key)
        prefix = f"clause_{index}"
        if not title:
            errors[f"{prefix}_title"] = _("Clause %(n)s: enter a heading") % {"n": index}
        if not text:
            errors[f"{prefix}_text"] = _("Clause %(n)s: enter its wording") % {"n": index}
        days = clause.days
        if key in (NOTICE, COMMITTEE):
            if days is None or not 1 <= days <= MAX_CLAUSE_DAYS:
                errors[f"{prefix}_days"] = _("Clause %(n)s: enter the number of days, from 1 to %(max)s") % {
                    "n": index,
                    "max": MAX_CLAUSE_DAYS,
                }
            elif "{days}" not in text:
                errors[f"{prefix}_text"] = _(
                    "Clause %(n)s: keep “{days}” in the wording where the number of days goes, so the words and "
                    "the clock agree"
                ) % {"n": index}
        else:
            days = None
            if "{days}" in text:
                errors[f"{prefix}_text"] = _(
                    "Clause %(n)s: only the notice and committee clauses have a number of days; remove “{days}”"
                ) % {"n": index}
        cleaned.append(ClauseInput(title=title, text=text, key=key, days=days))
    if not cleaned:
        errors["clauses"] = _("Keep at least one clause")
    if errors:
        raise ValidationError(errors)
    return cleaned


def agreement_create(
    *, organisation: Organisation, actor: User, title: str, clause_keys: list[str] | None = None
) -> TechnologyAgreement:
    """A draft agreement from the library's clauses (all of them unless `clause_keys` names some), or a
    new version of the agreement in force, with its clauses, to change."""
    title = title.strip()
    if not title:
        raise ValidationError({"title": _("Enter a title for the agreement")})
    require_single_line(title=(title, _("Title")))
    with scope(organisation=organisation), transaction.atomic():
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        if agreement_draft(organisation) is not None:
            raise ValidationError(
                _("A draft agreement already exists: change it, or delete it first."), code="draft_exists"
            )
        current = agreement_in_force(organisation)
        version = (
            TechnologyAgreement.objects.filter(organisation=organisation)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
            or 0
        ) + 1
        agreement = TechnologyAgreement.objects.create(
            organisation=organisation, title=title, version=version, created_by=actor
        )
        if current is not None and clause_keys is None:
            sources = [ClauseInput(c.title, c.text, c.key, c.days) for c in current.clauses.all()]
        else:
            keys = clause_keys if clause_keys is not None else list(LIBRARY)
            unknown = [k for k in keys if k not in LIBRARY]
            if unknown:
                raise ValidationError({"clauses": _("Choose clauses from the library")})
            sources = [ClauseInput(str(LIBRARY[k].title), str(LIBRARY[k].text), k, LIBRARY[k].days) for k in keys]
        _write_clauses(agreement, sources)
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="technology.agreement_drafted",
            target=agreement,
            target_label=str(agreement),
            after={"version": version, "clauses": [c.title for c in sources]},
        )
    return agreement


def _write_clauses(agreement: TechnologyAgreement, clauses: list[ClauseInput]) -> None:
    AgreementClause.objects.filter(agreement=agreement).delete()
    AgreementClause.objects.bulk_create(
        AgreementClause(
            organisation_id=agreement.organisation_id,
            agreement=agreement,
            position=position,
            key=c.key,
            title=c.title,
            text=c.text,
            days=c.days,
        )
        for position, c in enumerate(clauses, start=1)
    )


def agreement_update(
    *, agreement: TechnologyAgreement, actor: User, title: str, clauses: list[ClauseInput]
) -> TechnologyAgreement:
    """Adapt the draft's words: its title and every clause (in order). Any change asks both sides to sign
    again: a signature on other words no longer counts."""
    title = title.strip()
    if not title:
        raise ValidationError({"title": _("Enter a title for the agreement")})
    require_single_line(title=(title, _("Title")))
    cleaned = _clean_clauses(clauses)
    organisation = agreement.organisation
    with scope(organisation=organisation), transaction.atomic():
        locked = _lock_draft(agreement)
        before = agreement_snapshot(locked)
        locked.title = title
        _write_clauses(locked, cleaned)
        after = agreement_snapshot(locked)
        if before == after:
            return locked
        locked.changed_at = timezone.now()
        locked.save(update_fields=["title", "changed_at"])
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="technology.agreement_changed",
            target=locked,
            target_label=str(locked),
            before={"content_hash": snapshot_hash(before)},
            after={"content_hash": snapshot_hash(after), "clauses": [c.title for c in cleaned]},
        )
    return locked


def agreement_delete(*, agreement: TechnologyAgreement, actor: User) -> None:
    organisation = agreement.organisation
    with scope(organisation=organisation), transaction.atomic():
        locked = _lock_draft(agreement)
        if agreement_signatures(locked):
            # A signature is a record of what someone agreed to: it is never deleted with its draft.
            raise ValidationError(
                _("Someone has already signed this draft, so it stays on record. Change its words instead."),
                code="signed",
            )
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="technology.agreement_discarded",
            target=locked,
            target_label=str(locked),
        )
        locked.delete()


def agreement_snapshot(agreement: TechnologyAgreement) -> dict[str, Any]:
    """Everything a signature on the agreement covers: its title, version and every clause's words."""
    return {
        "type": "agreement",
        "id": str(agreement.pk),
        "organisation": str(agreement.organisation_id),
        "version": agreement.version,
        "title": agreement.title,
        "clauses": [
            {"key": c.key, "title": c.title, "text": c.text, "days": c.days}
            for c in AgreementClause.objects.filter(agreement=agreement).order_by("position")
        ],
    }


def agreement_hash(agreement: TechnologyAgreement) -> str:
    return snapshot_hash(agreement_snapshot(agreement))


def agreement_signatures(agreement: TechnologyAgreement) -> list[Signature]:
    return list(
        Signature.objects.filter(
            organisation=agreement.organisation_id, subject_type="agreement", subject_id=agreement.pk
        ).order_by("signed_at")
    )


def current_signatures(
    agreement: TechnologyAgreement, signatures: list[Signature] | None = None, current: str | None = None
) -> dict[str, Signature | None]:
    """Each side's signature that still matches the agreement's words (None where there is none)."""
    current = current or agreement_hash(agreement)
    found: dict[str, Signature | None] = {SignatureCapacity.MANAGEMENT: None, SignatureCapacity.WORKFORCE: None}
    for signature in signatures if signatures is not None else agreement_signatures(agreement):
        if signature.decision == SignatureDecision.SIGN and signature.is_valid_for(current):
            found[signature.capacity] = signature
    return found


def signing_statement(agreement: TechnologyAgreement, capacity: str) -> str:
    words = {"org": agreement.organisation.name, "title": agreement.title, "version": agreement.version}
    if capacity == SignatureCapacity.WORKFORCE:
        return (
            _(
                "As a workforce representative of %(org)s, I agree to this new technology agreement, “%(title)s” "
                "(version %(version)s), exactly as shown, for the workforce."
            )
            % words
        )
    return (
        _(
            "For the management of %(org)s, I agree to this new technology agreement, “%(title)s” (version "
            "%(version)s), exactly as shown, and commit the organisation to keep it."
        )
        % words
    )


def agreement_sign(
    *,
    agreement: TechnologyAgreement,
    signer: User,
    capacity: str,
    typed_name: str,
    job_title: str = "",
    expected_hash: str,
    context: SigningContext,
) -> Signature:
    """Sign the draft for one side. Once both sides have signed its current words it is in force: the
    agreement it replaces is superseded and every system's clocks follow the new periods."""
    organisation = agreement.organisation
    with scope(organisation=organisation), transaction.atomic():
        locked = _lock_draft(agreement)
        snapshot = agreement_snapshot(locked)
        current = snapshot_hash(snapshot)
        if expected_hash != current:
            raise ValidationError(
                _("The agreement changed while you were reading it. Read it again, then sign."),
                code="content_changed",
            )
        membership = Membership.objects.filter(organisation=organisation, user=signer).first()
        if membership is None or capacity_for(membership) != capacity:
            raise ValidationError(_("Your role does not sign for this side of the agreement."), code="wrong_capacity")
        signatures = agreement_signatures(locked)
        if current_signatures(locked, signatures, current).get(capacity) is not None:
            raise ValidationError(_("Your side has already signed these words."), code="already_signed")
        if any(s.signer_id == signer.pk and s.capacity != capacity for s in signatures if s.is_valid_for(current)):
            raise ValidationError(
                _("You have already signed this for the other side. Nobody signs one agreement for both."),
                code="separation_of_duties",
            )
        signature = signature_record(
            organisation=organisation,
            subject_type="agreement",
            subject_id=locked.pk,
            subject_version=locked.version,
            snapshot=snapshot,
            signer=signer,
            capacity=capacity,
            decision=SignatureDecision.SIGN,
            statement=signing_statement(locked, capacity),
            typed_name=typed_name,
            job_title=job_title,
            context=context,
        )
        signed = current_signatures(locked, [*signatures, signature], current)
        if all(signed.values()):
            previous = agreement_in_force(organisation)
            if previous is not None:
                previous.status = AgreementStatus.SUPERSEDED
                previous.save(update_fields=["status"])
            locked.status, locked.in_force_on, locked.content_hash = (
                AgreementStatus.IN_FORCE,
                timezone.localdate(),
                current,
            )
            locked.save(update_fields=["status", "in_force_on", "content_hash"])
            audit_record(
                organisation=organisation,
                actor=signer,
                verb="technology.agreement_in_force",
                target=locked,
                target_label=str(locked),
                after={
                    "content_hash": current,
                    "supersedes": previous.version if previous is not None else None,
                },
            )
            for system in TechnologySystem.objects.filter(organisation=organisation):
                refresh_attention(system, agreement=locked)
                record_breaches(system, actor=signer, agreement=locked)
    with scope(organisation=organisation):
        agreement.refresh_from_db()
    return signature


# --- Clocks ----------------------------------------------------------------------------------------

KEPT, RUNNING, DUE, LATE, BREACHED = "kept", "running", "due", "late", "breached"


@dataclass(frozen=True)
class Clock:
    """One period of the agreement applied to one system on one day."""

    key: str  # "notice", "meeting" or "go_live"
    title: str
    state: str  # kept, running (nothing due yet), due (action needed by `due`), late, breached
    due: date | None
    detail: str

    @property
    def is_breach(self) -> bool:
        return self.state in (LATE, BREACHED)


def _day(value: date) -> str:
    return date_format(value, "j F Y")


def clocks(system: TechnologySystem, agreement_periods: Periods, today: date | None = None) -> list[Clock]:
    """The agreement's clocks on this system as they stand on `today`. None without an agreement in force,
    for a retired system, or for one that went live before the agreement came into force."""
    today = today or timezone.localdate()
    p = agreement_periods
    if p.since is None or system.status == SystemStatus.RETIRED:
        return []
    if system.go_live_on is not None and system.go_live_on < p.since and system.notice_given_on is None:
        return []  # introduced before the agreement: nothing to give notice of
    result: list[Clock] = []
    notice = system.notice_given_on
    if p.notice_days is not None:
        title = _("Notice before introduction (%(days)s days)") % {"days": p.notice_days}
        if notice is None:
            if system.go_live_on is None:
                result.append(Clock(NOTICE, title, RUNNING, None, _("No notice given yet, and no go-live date set.")))
            else:
                give_by = system.go_live_on - timedelta(days=p.notice_days)
                if today > give_by:
                    result.append(
                        Clock(
                            "go_live",
                            title,
                            BREACHED,
                            system.go_live_on,
                            _(
                                "Go-live on %(live)s is inside the notice period: notice had to be given by %(by)s "
                                "and has not been."
                            )
                            % {"live": _day(system.go_live_on), "by": _day(give_by)},
                        )
                    )
                else:
                    result.append(
                        Clock(
                            NOTICE,
                            title,
                            DUE,
                            give_by,
                            _("Give notice by %(by)s for go-live on %(live)s.")
                            % {"by": _day(give_by), "live": _day(system.go_live_on)},
                        )
                    )
        else:
            earliest = notice + timedelta(days=p.notice_days)
            if system.go_live_on is not None and system.go_live_on < earliest:
                result.append(
                    Clock(
                        "go_live",
                        title,
                        BREACHED,
                        system.go_live_on,
                        _(
                            "Go-live on %(live)s is inside the notice period: notice was given on %(notice)s, "
                            "so not before %(earliest)s."
                        )
                        % {"live": _day(system.go_live_on), "notice": _day(notice), "earliest": _day(earliest)},
                    )
                )
            else:
                state = KEPT if today >= earliest else RUNNING
                result.append(
                    Clock(
                        NOTICE,
                        title,
                        state,
                        earliest,
                        _("Notice given on %(notice)s: go-live not before %(earliest)s.")
                        % {"notice": _day(notice), "earliest": _day(earliest)},
                    )
                )
    if p.meeting_days is not None and notice is not None:
        title = _("Joint technology committee meeting (within %(days)s days)") % {"days": p.meeting_days}
        due = notice + timedelta(days=p.meeting_days)
        met = system.committee_met_on
        if met is not None:
            if met <= due:
                result.append(
                    Clock("meeting", title, KEPT, due, _("The committee met on %(met)s.") % {"met": _day(met)})
                )
            else:
                result.append(
                    Clock(
                        "meeting",
                        title,
                        LATE,
                        due,
                        _("The committee met on %(met)s, after it was due by %(due)s.")
                        % {"met": _day(met), "due": _day(due)},
                    )
                )
        elif today > due:
            result.append(
                Clock(
                    "meeting",
                    title,
                    LATE,
                    due,
                    _("The committee was due to meet by %(due)s and has not.") % {"due": _day(due)},
                )
            )
        else:
            result.append(
                Clock("meeting", title, DUE, due, _("The committee is due to meet by %(due)s.") % {"due": _day(due)})
            )
    return result


def system_clocks(
    system: TechnologySystem, agreement: TechnologyAgreement | None = None, today: date | None = None
) -> list[Clock]:
    if agreement is None:
        agreement = agreement_in_force(system.organisation)
    return clocks(system, periods(agreement), today)


def attention_for(found: list[Clock], system: TechnologySystem, today: date) -> tuple[str, date | None]:
    """What "Your work" shows for the system: a breach that can still be put right (go-live not yet
    reached), a committee meeting due or late, notice to give; with its date."""
    for clock in found:
        if clock.state == BREACHED and system.go_live_on is not None and system.go_live_on >= today:
            return "breach", clock.due
    for clock in found:
        if clock.key == "meeting" and clock.state in (DUE, LATE) and system.committee_met_on is None:
            return "meeting", clock.due
    for clock in found:
        if clock.key == NOTICE and clock.state == DUE:
            return "notice", clock.due
    return "", None


def refresh_attention(
    system: TechnologySystem, *, agreement: TechnologyAgreement | None = None, today: date | None = None
) -> None:
    today = today or timezone.localdate()
    if agreement is None:
        agreement = agreement_in_force(system.organisation)
    attention, due = attention_for(clocks(system, periods(agreement), today), system, today)
    if (attention, due) != (system.attention, system.attention_due):
        system.attention, system.attention_due = attention, due
        TechnologySystem.objects.filter(pk=system.pk).update(attention=attention, attention_due=due)
        # "Your work" counts it: the header and dashboard built from the organisation are stale (at commit).
        bump(organisations=[system.organisation_id])


def _breach_key(clock: Clock, system: TechnologySystem) -> str:
    return f"{clock.key}:{system.notice_given_on}:{system.go_live_on}:{clock.due}"


def record_breaches(
    system: TechnologySystem,
    *,
    actor: User | None,
    agreement: TechnologyAgreement | None = None,
    today: date | None = None,
) -> list[Clock]:
    """Write each breach of the agreement's clocks on this system to the audit trail, once."""
    if agreement is None:
        agreement = agreement_in_force(system.organisation)
    found = [c for c in clocks(system, periods(agreement), today) if c.is_breach]
    new = [c for c in found if _breach_key(c, system) not in system.breaches_recorded]
    if not new:
        return []
    for clock in new:
        audit_record(
            organisation=system.organisation,
            actor=actor,
            verb="technology.clock_breached",
            target=system,
            target_label=system.name,
            after={"clock": clock.key, "title": clock.title, "detail": clock.detail, "due": clock.due},
        )
    system.breaches_recorded = [*system.breaches_recorded, *(_breach_key(c, system) for c in new)]
    TechnologySystem.objects.filter(pk=system.pk).update(breaches_recorded=system.breaches_recorded)
    return new


@scopes_disabled()
def sweep_clocks(today: date | None = None) -> int:
    """Hourly, before the reminders: move every system's "Your work" entry on with the calendar and record
    breaches that time alone caused (a committee meeting not held in time, notice no longer possible before
    go-live)."""
    today = today or timezone.localdate()
    recorded = 0
    agreements = {
        a.organisation_id: a
        for a in TechnologyAgreement.objects.filter(status=AgreementStatus.IN_FORCE).prefetch_related("clauses")
    }
    systems = TechnologySystem.objects.filter(organisation_id__in=list(agreements)).exclude(status=SystemStatus.RETIRED)
    for system in systems.select_related("organisation"):
        with transaction.atomic():
            agreement = agreements[system.organisation_id]
            refresh_attention(system, agreement=agreement, today=today)
            recorded += len(record_breaches(system, actor=None, agreement=agreement, today=today))
    return recorded


def register_rows(organisation: Organisation, *, search: str = "", status: str = "") -> Any:
    """The register's systems by name, for lists, exports and the report; `search` matches the name,
    supplier, purpose, sites or teams, `status` one status (the web list and the API share these)."""
    systems = TechnologySystem.objects.filter(organisation=organisation).order_by("name")
    search = search.strip()
    if search:
        systems = systems.filter(
            Q(name__icontains=search)
            | Q(supplier_name__icontains=search)
            | Q(purpose__icontains=search)
            | Q(sites__icontains=search)
            | Q(teams__icontains=search)
        )
    if status:
        systems = systems.filter(status=status)
    return systems


__all__ = [
    "CLAUSE_LIBRARY",
    "ClauseInput",
    "Clock",
    "agreement_create",
    "agreement_in_force",
    "agreement_sign",
    "agreement_update",
    "clocks",
    "dpia_start",
    "links_set",
    "notice_record",
    "periods",
    "record_breaches",
    "refresh_attention",
    "sweep_clocks",
    "system_create",
    "system_delete",
    "system_update",
]
