"""Demo data: last year's self-assessment, agreed with the workforce, and a report issued from it."""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django_scopes import scope

from assessments import services as assessment_services
from assessments import workflow
from assessments.models import Assessment, Response
from portal.models import Organisation, User
from portal.signing import SigningContext
from principles.framework import ensure_framework


def demo_report(organisation: Organisation, users: dict[str, User]) -> None:
    manager, rep, owner = users["manager@acme.example"], users["rep@acme.example"], users["owner@acme.example"]
    year = timezone.localdate().year - 1
    with scope(organisation=organisation):
        if Assessment.objects.filter(organisation=organisation, title=f"Self-assessment {year}").exists():
            return
    assessment = assessment_services.assessment_create(
        organisation=organisation,
        actor=manager,
        framework=ensure_framework(),
        title=f"Self-assessment {year}",
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
    )
    with scope(organisation=organisation):
        responses = list(Response.objects.filter(assessment=assessment).select_related("criterion", "assessment"))
    for response in responses:
        level = 2 if response.criterion.code.endswith(("1", "2")) else 1
        assessment_services.response_save(
            response=response,
            actor=manager,
            maturity=level,
            narrative=f"{response.criterion.title}: in place for the main projects; records kept by the works office.",
            evidence_ids=[],
        )
    assessment_services.assessment_submit(assessment=assessment, actor=manager)
    context = SigningContext(user_agent="demo data")
    workflow.subject_sign(
        subject=assessment,
        signer=rep,
        decision="sign_with_reservations",
        typed_name="Rachel Reid",
        job_title="Unite workplace representative",
        reservations="Retraining for night-shift staff must be scheduled in paid hours.",
        expected_hash=workflow.subject_hash(assessment),
        context=context,
    )
    workflow.subject_sign(
        subject=assessment,
        signer=owner,
        decision="sign",
        typed_name="Olivia Owen",
        job_title="Managing Director",
        expected_hash=workflow.subject_hash(assessment),
        context=context,
    )
    from reports.services import report_request

    with scope(organisation=organisation):
        final = Assessment.objects.select_related("framework").get(pk=assessment.pk)
    report_request(organisation=organisation, actor=owner, assessment=final)
