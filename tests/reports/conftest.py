"""Fixtures for attestation reports: a final self-assessment agreed with the workforce, a supplier
campaign (so coverage numbers appear), and a report rendered in-process."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments import services as assessment_services
from assessments import workflow
from assessments.models import Assessment, AssessmentStatus, Response
from portal.roles import Role
from portal.signing import SigningContext
from reports.models import AttestationReport, ReportStatus
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.sample_files import pdf

CONTEXT = SigningContext(ip_address="127.0.0.1", user_agent="pytest")
RESERVATIONS = "Night shifts must be trained in paid hours"
EVIDENCE_PDF = pdf("training records")
EVIDENCE_SHA256 = hashlib.sha256(EVIDENCE_PDF).hexdigest()
CITED_CODE = "1.1"


def responses_by_code(assessment: Assessment) -> dict[str, Response]:
    with scope(organisation=assessment.organisation):
        return {
            r.criterion.code: r
            for r in Response.objects.filter(assessment=assessment).select_related(
                "criterion", "assessment", "criterion__principle"
            )
        }


def upload_evidence(tenant, name: str = "Training records 2026.pdf", content: bytes = EVIDENCE_PDF):
    return assessment_services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(content),
        name=name,
        description="Training records",
        effective_date=date(2026, 1, 5),
        expiry_date=None,
    )


@pytest.fixture
def evidence(tenant):
    """The file cited on criterion 1.1 of the final assessment."""
    return upload_evidence(tenant)


@pytest.fixture
def draft_assessment(tenant, framework) -> Assessment:
    return assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )


def make_final(tenant, assessment: Assessment, evidence, reps: tuple = ()) -> Assessment:
    """Answer every criterion (1.1 at maturity 3 citing `evidence`), submit, rep (and any further
    `reps`, representatives of the same organisation) sign with reservations, owner signs: the
    assessment is final."""
    for code, response in responses_by_code(assessment).items():
        cited = code == CITED_CODE
        assessment_services.response_save(
            response=response,
            actor=tenant.manager,
            maturity=3 if cited else 2,
            narrative=f"Criterion {code}: practice in place across the works.",
            evidence_ids=[evidence.pk] if cited else [],
        )
    assessment_services.assessment_submit(assessment=assessment, actor=tenant.manager)
    workflow.subject_sign(
        subject=assessment,
        signer=tenant.rep,
        decision="sign_with_reservations",
        typed_name="Rachel Reid",
        job_title="Workplace representative",
        reservations=RESERVATIONS,
        expected_hash=workflow.subject_hash(assessment),
        context=CONTEXT,
    )
    for rep in reps:
        workflow.subject_sign(
            subject=assessment,
            signer=rep,
            decision="sign_with_reservations",
            typed_name=rep.full_name,
            job_title="Workplace representative",
            reservations=RESERVATIONS,
            expected_hash=workflow.subject_hash(assessment),
            context=CONTEXT,
        )
    workflow.subject_sign(
        subject=assessment,
        signer=tenant.owner,
        decision="sign",
        typed_name="Olivia Owen",
        job_title="Managing Director",
        expected_hash=workflow.subject_hash(assessment),
        context=CONTEXT,
    )
    with scope(organisation=tenant.organisation):
        final = Assessment.objects.select_related("framework", "organisation").get(pk=assessment.pk)
    assert final.status == AssessmentStatus.FINAL
    return final


@pytest.fixture
def final_assessment(tenant, draft_assessment, evidence, django_capture_on_commit_callbacks) -> Assessment:
    with django_capture_on_commit_callbacks(execute=True):
        return make_final(tenant, draft_assessment, evidence)


@dataclass
class SupplyChain:
    campaign: object
    invited: int
    accepted: int


@pytest.fixture
def supply_chain(tenant, framework, django_capture_on_commit_callbacks) -> SupplyChain:
    """Four tier-1 suppliers invited two tiers deep; one has accepted (25% of tier 1)."""
    from supplychain import services as supplychain_services
    from supplychain.models import SupplierInvitation

    accepting_org = OrganisationFactory(name="Bravo Castings")
    accepting_owner = UserFactory(email="owner@bravo.example")
    add_member(accepting_org, accepting_owner, Role.OWNER)
    emails = [accepting_owner.email, "sales@charlie.example", "hello@delta.example", "info@echo.example"]
    for number, email in enumerate(emails):
        supplychain_services.supplier_save(
            organisation=tenant.organisation,
            actor=tenant.owner,
            name=f"Supplier {number} Ltd",
            contact_name="",
            contact_email=email,
        )
    with django_capture_on_commit_callbacks(execute=True):
        campaign = supplychain_services.campaign_start(
            organisation=tenant.organisation,
            actor=tenant.owner,
            title="Principles 2026",
            message="Please commit to the principles",
            depth=2,
            due_date=timezone.localdate() + timedelta(days=30),
            supplier_ids=None,
        )
    with scopes_disabled():
        invitation = SupplierInvitation.objects.get(campaign=campaign, email=accepting_owner.email)
    supplychain_services.invitation_accept(
        invitation=invitation,
        user=accepting_owner,
        organisation=accepting_org,
        typed_name="Bravo Owner",
        job_title="Owner",
        context=CONTEXT,
    )
    return SupplyChain(campaign=campaign, invited=4, accepted=1)


@pytest.fixture
def commitment(tenant, framework):
    """The organisation's signed commitment to the principles (ask for it before `report`)."""
    from principles.services import commitment_sign

    return commitment_sign(
        organisation=tenant.organisation,
        framework=framework,
        signer=tenant.owner,
        typed_name="Olivia Owen",
        job_title="Managing Director",
        extends_to_supply_chain=True,
        context=CONTEXT,
    )


@pytest.fixture
def final_plan(tenant):
    """A final plan (its equality impact assessment has a row per characteristic), signed by both sides."""
    from assessments.models import AssessmentStatus
    from tests.assessments.test_plans import new_plan, submitted
    from tests.assessments.test_plans import sign as plan_sign

    plan = submitted(new_plan(tenant), tenant)
    plan_sign(plan, tenant.rep, "sign_with_reservations", reservations="Review after six months.")
    plan_sign(plan, tenant.manager)
    assert plan.status == AssessmentStatus.FINAL
    return plan


def request_and_render(tenant, assessment, capture, actor=None) -> AttestationReport:
    """Request a report through the service; the task runs in-process after commit."""
    from reports.services import report_request

    with capture(execute=True):
        report = report_request(organisation=tenant.organisation, actor=actor or tenant.owner, assessment=assessment)
    with scope(organisation=tenant.organisation):
        return AttestationReport.objects.select_related("organisation", "assessment").get(pk=report.pk)


@pytest.fixture
def report(tenant, final_assessment, supply_chain, django_capture_on_commit_callbacks) -> AttestationReport:
    """A real report: requested as owner, rendered in-process by WeasyPrint, refreshed."""
    rendered = request_and_render(tenant, final_assessment, django_capture_on_commit_callbacks)
    assert rendered.status == ReportStatus.READY, rendered.error
    return rendered


def report_bytes(report: AttestationReport) -> bytes:
    with report.file.open("rb") as handle:
        return handle.read()


def ready_report(
    tenant,
    assessment,
    *,
    rendered_at=None,
    content: bytes | None = None,
    requested_by=None,
    audit_chain_ok: bool = True,
    audit_broken_at: int | None = None,
) -> AttestationReport:
    """A stored READY report row without running WeasyPrint (for status, permission and query tests)."""
    content = content or b"%PDF-1.7\n% stand-in report " + str(timezone.now().timestamp()).encode() + b"\n%%EOF\n"
    rendered_at = rendered_at or timezone.now()
    with scope(organisation=tenant.organisation):
        report = AttestationReport.objects.create(
            organisation=tenant.organisation,
            assessment=assessment,
            requested_by=requested_by or tenant.owner,
            requested_at=rendered_at - timedelta(seconds=5),
            claimed_at=rendered_at - timedelta(seconds=4),
            rendered_at=rendered_at,
            status=ReportStatus.READY,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            page_count=1,
            attempts=1,
            audit_chain_ok=audit_chain_ok,
            audit_broken_at=audit_broken_at,
        )
        report.file = default_storage.save(f"reports/{tenant.organisation.pk}/{report.pk}.pdf", ContentFile(content))
        report.save(update_fields=["file"])
    return report


def break_audit_chain(tenant, sequence: int = 3) -> None:
    """Change one recorded audit event behind the portal's back: the chain breaks at `sequence`."""
    from portal.models import AuditEvent

    with scopes_disabled():
        assert AuditEvent.objects.filter(organisation=tenant.organisation, sequence=sequence).update(
            target_label="edited in the database"
        )
