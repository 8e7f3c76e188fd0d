"""A realistic large data set for benchmarks (`manage.py seed_scale`).

Deterministic: every id, name, date and value comes from a random generator seeded with the seed
and the organisation's number, so two runs with the same arguments build the same data, and the
same organisation whatever order it is built in. Resumable: each organisation is built in one
transaction, and one already complete is skipped, so an interrupted run carries on where it
stopped. Fast: rows go in with bulk inserts, never one by one through the services (the data is
shaped as the services would leave it, including a valid audit chain per organisation).

This lives in `reports` because it touches every app, and only `reports` may import them all.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count
from django_scopes import scopes_disabled

from assessments.models import (
    Assessment,
    AssessmentStatus,
    Characteristic,
    Citation,
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
    Response,
)
from portal.audit import GENESIS_HASH, event_hash
from portal.models import AuditEvent, EmailStatus, Membership, Organisation, Sector, SizeBand, User
from portal.roles import Role
from principles.framework import framework_load
from principles.models import Criterion
from supplychain.csv_io import match_key
from supplychain.models import Campaign, CampaignEdge, InvitationState, Supplier, SupplierInvitation, SupplierLink

SLUG_PREFIX = "scale-"
EMAIL_DOMAIN = "scale.example"
# Dates count back from a fixed day, not from today, so the data set is the same on any day.
ANCHOR = date(2026, 10, 31)
LEVELS = 5  # tier 0 (buyers at the top) to tier 4: four tiers of supplier links between them

_WORDS_A = ["Northern", "Pennine", "Severn", "Tyne", "Wolds", "Humber", "Calder", "Moorland", "Dales", "Ribble"]
_WORDS_B = ["Precision", "Castings", "Fasteners", "Coatings", "Plastics", "Electrical", "Tooling", "Springs"]
_VERBS = [
    "assessment.response_saved",
    "evidence.uploaded",
    "action.created",
    "plan.updated",
    "comment.added",
    "signature.sign",
    "member.role_changed",
    "supplier.created",
]


@dataclass(frozen=True)
class ScalePlan:
    organisations: int = 2000
    years: int = 5
    evidence: int = 50_000
    links: int = 20_000
    events: int = 500_000
    seed: int = 2026

    def per_organisation(self, total: int, index: int) -> int:
        """`total` spread over the organisations as evenly as whole numbers allow."""
        base, extra = divmod(total, self.organisations)
        return base + (1 if index < extra else 0)


@dataclass
class SeedResult:
    built: int = 0
    skipped: int = 0
    buyers_linked: int = 0
    plans_built: int = 0
    campaigns_built: int = 0


Progress = Callable[[str, int, int], None]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _slug(index: int) -> str:
    return f"{SLUG_PREFIX}{index:05d}"


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC) + timedelta(seconds=rng.randrange(9 * 3600))


def seed_scale(plan: ScalePlan, *, progress: Progress | None = None) -> SeedResult:
    """Build (or finish building) the data set that `plan` describes."""
    result = SeedResult()
    with scopes_disabled():
        framework = framework_load()[0]
        criteria = list(Criterion.objects.filter(framework=framework).order_by("principle__number", "position"))
        password = make_password(None)  # unusable: these people never sign in
        complete = _complete_slugs(plan)
        for index in range(plan.organisations):
            if _slug(index) in complete:
                result.skipped += 1
            else:
                _build_organisation(plan, index, framework, criteria, password)
                result.built += 1
            if progress:
                progress("organisations", index + 1, plan.organisations)
        result.buyers_linked = _link_suppliers(plan, progress)
        result.plans_built = _add_plans(plan, progress)
        result.campaigns_built = _add_campaigns(plan, progress)
    _analyse()
    return result


def _analyse() -> None:
    """Fresh planner statistics for the tables just filled. Without them PostgreSQL plans the
    benchmarks' queries for empty tables, and where autovacuum is off (it is on this machine type)
    they would never come."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _complete_slugs(plan: ScalePlan) -> set[str]:
    """Organisations whose last step (the audit chain head) is in place."""
    rows = Organisation.objects.filter(slug__startswith=SLUG_PREFIX).values_list("slug", "audit_head_sequence")
    wanted = {_slug(i): plan.per_organisation(plan.events, i) for i in range(plan.organisations)}
    return {slug for slug, head in rows if slug in wanted and head >= wanted[slug]}


@transaction.atomic
def _build_organisation(
    plan: ScalePlan, index: int, framework: Any, criteria: list[Criterion], password: str
) -> Organisation:
    rng = random.Random(f"{plan.seed}:{index}")  # noqa: S311 - reproducible test data, not secrets
    slug = _slug(index)
    # A half-built organisation from an interrupted run (its transaction was rolled back, so this
    # only happens if the database kept part of it): start it again.
    Organisation.objects.filter(slug=slug).delete()
    name = f"{rng.choice(_WORDS_A)} {rng.choice(_WORDS_B)} {index:05d} Ltd"
    founded = ANCHOR - timedelta(days=365 * plan.years + rng.randrange(60))
    organisation = Organisation.objects.create(
        id=_uuid(rng),
        name=name,
        slug=slug,
        company_number=f"SC{index:06d}",
        sector=rng.choice(Sector.values),
        size_band=rng.choice(SizeBand.values),
        country="GB",
        created_at=_moment(founded, rng),
    )
    people = []
    for role in (Role.OWNER, Role.MANAGER, Role.WORKFORCE_REP):
        email = f"{role.value.replace('_', '.')}.{index:05d}@{EMAIL_DOMAIN}"
        people.append(
            User(
                email=email,
                full_name=f"{role.label} {index:05d}",
                password=password,
                date_joined=organisation.created_at,
            )
        )
    User.objects.filter(email__in=[p.email for p in people]).delete()
    people = User.objects.bulk_create(people)
    Membership.objects.bulk_create(
        Membership(id=_uuid(rng), organisation=organisation, user=user, role=role, created_at=organisation.created_at)
        for user, role in zip(people, (Role.OWNER, Role.MANAGER, Role.WORKFORCE_REP), strict=True)
    )
    owner, manager, _rep = people

    # One self-assessment a year: the past years final, the current one in draft.
    assessments, responses = [], []
    for year in range(plan.years):
        start = date(ANCHOR.year - plan.years + 1 + year, 1, 1)
        final = year < plan.years - 1
        assessment = Assessment(
            id=_uuid(rng),
            organisation=organisation,
            framework=framework,
            title=f"Self-assessment {start.year}",
            period_start=start,
            period_end=date(start.year, 12, 31),
            status=AssessmentStatus.FINAL if final else AssessmentStatus.DRAFT,
            created_by=manager,
            created_at=_moment(start, rng),
            submitted_at=_moment(date(start.year, 12, 1), rng) if final else None,
            submitted_by=manager if final else None,
            finalised_at=_moment(date(start.year, 12, 20), rng) if final else None,
        )
        assessments.append(assessment)
        for criterion in criteria:
            answered = final or rng.random() < 0.6
            responses.append(
                Response(
                    id=_uuid(rng),
                    organisation=organisation,
                    assessment=assessment,
                    criterion=criterion,
                    maturity=min(4, max(0, year // 2 + rng.randrange(3))) if answered else None,
                    narrative=f"{criterion.code}: practice reviewed with the works council in {start.year}."
                    if answered
                    else "",
                    updated_at=assessment.created_at + timedelta(days=rng.randrange(1, 300)) if answered else None,
                    updated_by=manager if answered else None,
                )
            )
    Assessment.objects.bulk_create(assessments)
    Response.objects.bulk_create(responses, batch_size=2000)

    # Small evidence files, cited by the latest final assessment.
    evidence = []
    for n in range(plan.per_organisation(plan.evidence, index)):
        content = f"Evidence {n + 1} of {name}: training record, risk assessment or minutes.\n".encode()
        path = default_storage.save(f"evidence/scale/{organisation.pk}/{n + 1:03d}.txt", ContentFile(content))
        uploaded = ANCHOR - timedelta(days=rng.randrange(365 * plan.years))
        evidence.append(
            Evidence(
                id=_uuid(rng),
                organisation=organisation,
                file=path,
                original_name=f"evidence-{n + 1:03d}.txt",
                kind="text",
                content_type="text/plain",
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                description=f"Evidence {n + 1}",
                effective_date=uploaded,
                expiry_date=uploaded + timedelta(days=730) if rng.random() < 0.3 else None,
                uploaded_by=manager,
                uploaded_at=_moment(uploaded, rng),
            )
        )
    Evidence.objects.bulk_create(evidence)
    cited_responses = [r for r in responses if r.assessment_id == assessments[-2].pk] if len(assessments) > 1 else []
    Citation.objects.bulk_create(
        Citation(id=_uuid(rng), organisation=organisation, response=response, evidence=item)
        for item, response in zip(evidence, cited_responses, strict=False)
    )

    # The audit trail: a valid hash chain, oldest first.
    events, prev = [], GENESIS_HASH
    count = plan.per_organisation(plan.events, index)
    span = max(1, (ANCHOR - founded).days)
    moments = sorted(_moment(founded + timedelta(days=rng.randrange(span)), rng) for _ in range(count))
    for sequence, moment in enumerate(moments, start=1):
        actor = owner if rng.random() < 0.3 else manager
        event = AuditEvent(
            id=_uuid(rng),
            organisation=organisation,
            sequence=sequence,
            actor=actor,
            actor_label=actor.email,
            verb=rng.choice(_VERBS),
            target_type="assessment",
            target_id=str(assessments[sequence % len(assessments)].pk),
            target_label=assessments[sequence % len(assessments)].title,
            before=None,
            after={"n": sequence},
            created_at=moment,
            request_id="",
            prev_hash=prev,
        )
        event.hash = event_hash(event)
        prev = event.hash
        events.append(event)
    AuditEvent.objects.bulk_create(events, batch_size=2000)
    # The chain head goes in last: it is what marks the organisation complete.
    Organisation.objects.filter(pk=organisation.pk).update(audit_head_sequence=count, audit_head_hash=prev)
    return organisation


def _link_suppliers(plan: ScalePlan, progress: Progress | None) -> int:
    """Each organisation in tiers 0-3 registers suppliers from the next tier and is linked to them
    (accepted requests): `plan.links` links in all, over four tiers. A buyer whose links are all
    there is skipped; one missing some (a supplier was rebuilt) gets them back."""
    level_of = {i: i * LEVELS // plan.organisations for i in range(plan.organisations)}
    buyers = [i for i in range(plan.organisations) if level_of[i] < LEVELS - 1]
    if not buyers:
        return 0
    by_level: dict[int, list[int]] = {}
    for i, level in level_of.items():
        by_level.setdefault(level, []).append(i)
    orgs = {o.slug: o for o in Organisation.objects.filter(slug__in=[_slug(i) for i in range(plan.organisations)])}
    have = dict(
        SupplierLink.objects.filter(buyer__slug__startswith=SLUG_PREFIX)
        .values("buyer__slug")
        .annotate(n=Count("id"))
        .values_list("buyer__slug", "n")
    )
    base, extra = divmod(plan.links, len(buyers))
    linked = 0
    for position, index in enumerate(buyers):
        rng = random.Random(f"{plan.seed}:links:{index}")  # noqa: S311 - reproducible test data
        candidates = by_level.get(level_of[index] + 1, [])
        chosen = rng.sample(candidates, min(len(candidates), base + (1 if position < extra else 0)))
        if have.get(_slug(index), 0) < len(chosen):
            _link(plan, orgs[_slug(index)], [orgs[_slug(j)] for j in chosen])
            linked += 1
        if progress:
            progress("supplier links", position + 1, len(buyers))
    return linked


def _pair_uuid(*parts: object) -> uuid.UUID:
    """The same id for the same pair on every run, whatever else was built before."""
    return uuid.UUID(bytes=hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:16], version=4)


@transaction.atomic
def _link(plan: ScalePlan, buyer: Organisation, suppliers: list[Organisation]) -> None:
    index = int(buyer.slug.removeprefix(SLUG_PREFIX))
    owner = User.objects.filter(email=f"owner.{index:05d}@{EMAIL_DOMAIN}").first()
    registered = set(Supplier.objects.filter(organisation=buyer).values_list("match_key", flat=True))
    rows, links, relink = [], [], {}
    for supplier in suppliers:
        number = int(supplier.slug.removeprefix(SLUG_PREFIX))
        email = f"owner.{number:05d}@{EMAIL_DOMAIN}"
        key = match_key(name=supplier.name, email=email, company_number=supplier.company_number)
        added = buyer.created_at + timedelta(days=30 + number % 300)
        if key in registered:
            relink[key] = supplier  # a rebuilt supplier: point the register row at it again
        else:
            rows.append(
                Supplier(
                    id=_pair_uuid(plan.seed, "supplier", buyer.slug, supplier.slug),
                    organisation=buyer,
                    name=supplier.name,
                    contact_name=f"Owner {number:05d}",
                    contact_email=email,
                    company_number=supplier.company_number,
                    country="GB",
                    match_key=key,
                    linked_organisation=supplier,
                    created_by=owner,
                    created_at=added,
                )
            )
        links.append(
            SupplierLink(
                id=_pair_uuid(plan.seed, "link", buyer.slug, supplier.slug),
                buyer=buyer,
                supplier_organisation=supplier,
                share_maturity=(index + number) % 2 == 0,
                created_at=added + timedelta(days=7),
                updated_at=added + timedelta(days=7),
            )
        )
    Supplier.objects.bulk_create(rows)
    for key, supplier in relink.items():
        Supplier.objects.filter(organisation=buyer, match_key=key).update(linked_organisation=supplier)
    SupplierLink.objects.bulk_create(links, ignore_conflicts=True)


PLANS_PER_ORGANISATION = 2  # a final digitalisation plan and a retraining plan in draft


def _add_plans(plan: ScalePlan, progress: Progress | None) -> int:
    """Each organisation's plans, each with its sections filled in, evidence cited, consultation
    meetings and an equality impact assessment. An organisation with its plans is skipped."""
    have = set(
        Plan.objects.filter(organisation__slug__startswith=SLUG_PREFIX)
        .values("organisation__slug")
        .annotate(n=Count("id"))
        .filter(n__gte=PLANS_PER_ORGANISATION)
        .values_list("organisation__slug", flat=True)
    )
    built = 0
    for index in range(plan.organisations):
        if _slug(index) not in have:
            _plans_for(plan, index)
            built += 1
        if progress:
            progress("plans", index + 1, plan.organisations)
    return built


@transaction.atomic
def _plans_for(plan: ScalePlan, index: int) -> None:
    rng = random.Random(f"{plan.seed}:plans:{index}")  # noqa: S311 - reproducible test data
    organisation = Organisation.objects.get(slug=_slug(index))
    Plan.objects.filter(organisation=organisation).delete()  # a half-built set from an interrupted run
    manager = User.objects.get(email=f"manager.{index:05d}@{EMAIL_DOMAIN}")
    rep = User.objects.get(email=f"workforce.rep.{index:05d}@{EMAIL_DOMAIN}")
    evidence = list(Evidence.objects.filter(organisation=organisation).order_by("uploaded_at", "id")[:6])
    start = date(ANCHOR.year, 1 + rng.randrange(6), 1 + rng.randrange(28))
    plans, citations, meetings, eqias, rows = [], [], [], [], []
    for n, (kind, title, final) in enumerate(
        [
            (PlanKind.DIGITALISATION, "Collaborative robots on the packing line", True),
            (PlanKind.RETRAINING, "Retraining for robot cell operators", False),
        ]
    ):
        created = _moment(start + timedelta(days=40 * n), rng)
        item = Plan(
            id=_pair_uuid(plan.seed, "plan", index, n),
            organisation=organisation,
            family_id=_pair_uuid(plan.seed, "plan-family", index, n),
            kind=kind,
            title=title,
            status=AssessmentStatus.FINAL if final else AssessmentStatus.DRAFT,
            technology="Two collaborative robot arms palletise finished cartons at the end of line 2.",
            rationale="Lifting injuries on the line and a backlog of orders at peak times.",
            shared_on=created.date() + timedelta(days=14),
            information_disclosed="The business case, the supplier's risk assessment and the staffing plan.",
            reps_response="Supported on condition that no operator loses pay and training is in work time.",
            consultation_outcome=ConsultationOutcome.AGREED_WITH_CONDITIONS if final else "",
            consultation_conditions="Pay protected for 24 months; training in paid time." if final else "",
            hse_impact="Less manual lifting; new pinch points at the robot cell.",
            hse_mitigations="Light curtains, a fenced cell and a revised risk assessment.",
            retraining_who="The eight operators on line 2 and two maintenance technicians.",
            retraining_when="Before the robots go live, in paid time.",
            retraining_how="The supplier's course followed by three weeks on the job with a buddy.",
            data_collected="Cycle times and fault logs from the robot controller; no personal data.",
            data_purpose="Maintenance and throughput only.",
            data_access="The maintenance team and the production manager.",
            data_retention="Twelve months.",
            data_monitoring_limits="Never used to measure an individual's performance.",
            jobs_affected="No job is lost; two roles change from lifting to cell supervision.",
            redeployment="Operators move to supervision and quality checks, retrained first.",
            growth_reinvestment="Savings fund a second apprenticeship each year.",
            created_by=manager,
            created_at=created,
            submitted_at=created + timedelta(days=30) if final else None,
            submitted_by=manager if final else None,
            finalised_at=created + timedelta(days=45) if final else None,
        )
        plans.append(item)
        for k, cited in enumerate(evidence[n * 3 : n * 3 + 3]):
            citations.append(
                PlanCitation(
                    id=_pair_uuid(plan.seed, "plan-citation", index, n, k),
                    organisation=organisation,
                    plan=item,
                    evidence=cited,
                )
            )
        for k in range(2):
            meetings.append(
                ConsultationMeeting(
                    id=_pair_uuid(plan.seed, "meeting", index, n, k),
                    organisation=organisation,
                    plan=item,
                    held_on=created.date() + timedelta(days=14 + 7 * k),
                    participants=f"{rep.full_name}, {manager.full_name} and four operators",
                    notes="The plan was walked through line by line and questions answered.",
                )
            )
        eqia = EqualityImpactAssessment(
            id=_pair_uuid(plan.seed, "eqia", index, n),
            organisation=organisation,
            plan=item,
            outcome=EqiaOutcome.NO_MAJOR_CHANGE if final else "",
            justification="",
        )
        eqias.append(eqia)
        for characteristic in Characteristic.values:
            impact = rng.choice([Impact.NEUTRAL, Impact.NEUTRAL, Impact.POSITIVE, Impact.NEGATIVE])
            rows.append(
                EqiaRow(
                    id=_pair_uuid(plan.seed, "eqia-row", index, n, characteristic),
                    organisation=organisation,
                    eqia=eqia,
                    characteristic=characteristic,
                    impact=impact,
                    evidence="Staff survey and the workforce profile.",
                    mitigation="Adjusted shift patterns for training." if impact == Impact.NEGATIVE else "",
                    owner=manager if impact == Impact.NEGATIVE else None,
                )
            )
    Plan.objects.bulk_create(plans)
    PlanCitation.objects.bulk_create(citations)
    ConsultationMeeting.objects.bulk_create(meetings)
    EqualityImpactAssessment.objects.bulk_create(eqias)
    EqiaRow.objects.bulk_create(rows)


CAMPAIGN_DEPTH = 2
DECLINE_REASON = "We are reviewing our own policy first."


def _add_campaigns(plan: ScalePlan, progress: Progress | None) -> int:
    """Each tier-0 organisation (the buyers at the top) runs a two-tier campaign down its links:
    its suppliers are invited, most have accepted, and their own suppliers were invited in turn.
    A buyer with its campaign is skipped."""
    level_of = {i: i * LEVELS // plan.organisations for i in range(plan.organisations)}
    tops = [i for i in range(plan.organisations) if level_of[i] == 0]
    have = set(
        Campaign.objects.filter(organisation__slug__startswith=SLUG_PREFIX).values_list("organisation__slug", flat=True)
    )
    registers: dict[Any, list[Supplier]] = {}
    for supplier in Supplier.objects.filter(
        organisation__slug__startswith=SLUG_PREFIX, linked_organisation__isnull=False
    ).order_by("name", "id"):
        registers.setdefault(supplier.organisation_id, []).append(supplier)
    built = 0
    for position, index in enumerate(tops):
        if _slug(index) not in have:
            _campaign_for(plan, index, registers)
            built += 1
        if progress:
            progress("campaigns", position + 1, len(tops))
    return built


@transaction.atomic
def _campaign_for(plan: ScalePlan, index: int, registers: dict[Any, list[Supplier]]) -> None:
    rng = random.Random(f"{plan.seed}:campaign:{index}")  # noqa: S311 - reproducible test data
    buyer = Organisation.objects.get(slug=_slug(index))
    owner = User.objects.get(email=f"owner.{index:05d}@{EMAIL_DOMAIN}")
    started = datetime(ANCHOR.year, ANCHOR.month, 1, 9, 0, tzinfo=UTC)
    campaign = Campaign.objects.create(
        id=_pair_uuid(plan.seed, "campaign", index),
        organisation=buyer,
        title=f"Supplier commitment {ANCHOR.year}",
        message="Please commit to the Made Smarter Guiding Principles and share your progress.",
        depth=CAMPAIGN_DEPTH,
        due_date=ANCHOR + timedelta(days=60),
        reminder_days=[3, 8, 15],
        invitation_ttl_days=90,
        created_by=owner,
        created_at=started,
    )
    invitations: list[SupplierInvitation] = []
    edges: list[CampaignEdge] = []
    invited: set[Any] = {buyer.pk}
    frontier: list[tuple[Any, SupplierInvitation | None]] = [(buyer.pk, None)]
    for tier in range(1, CAMPAIGN_DEPTH + 1):
        below: list[tuple[Any, SupplierInvitation | None]] = []
        for inviter_id, parent in frontier:
            for supplier in registers.get(inviter_id, []):
                target = supplier.linked_organisation_id
                if target in invited:
                    continue
                invited.add(target)
                state = rng.choices(
                    [InvitationState.ACCEPTED, InvitationState.PENDING, InvitationState.DECLINED], [6, 3, 1]
                )[0]
                sent = started + timedelta(days=tier * 3, seconds=rng.randrange(3600))
                invitation = SupplierInvitation(
                    id=_pair_uuid(plan.seed, "invitation", index, target),
                    campaign=campaign,
                    inviter_id=inviter_id,
                    supplier=supplier,
                    parent=parent,
                    tier=tier,
                    target_key=f"org:{target}",
                    email=supplier.contact_email,
                    nonce=f"{rng.getrandbits(128):032x}",
                    state=state,
                    expires_at=sent + timedelta(days=campaign.invitation_ttl_days),
                    responded_at=None
                    if state == InvitationState.PENDING
                    else sent + timedelta(days=rng.randrange(1, 20)),
                    supplier_organisation_id=target if state == InvitationState.ACCEPTED else None,
                    decline_reason=DECLINE_REASON if state == InvitationState.DECLINED else "",
                    email_status=EmailStatus.SENT,
                    email_queued_at=sent,
                    email_sent_at=sent,
                    email_attempts=1,
                    created_at=sent,
                )
                invitations.append(invitation)
                edges.append(
                    CampaignEdge(
                        id=_pair_uuid(plan.seed, "edge", index, inviter_id, supplier.pk),
                        campaign=campaign,
                        from_organisation_id=inviter_id,
                        supplier=supplier,
                        invitation=invitation,
                        tier=tier,
                        created_at=sent,
                    )
                )
                if state == InvitationState.ACCEPTED:
                    below.append((target, invitation))
        frontier = below
    SupplierInvitation.objects.bulk_create(invitations, batch_size=2000)
    CampaignEdge.objects.bulk_create(edges, batch_size=2000)
