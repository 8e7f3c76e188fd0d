from __future__ import annotations

import pytest

from assessments import services
from assessments.models import Response
from tests.sample_files import pdf

PDF = pdf()


@pytest.fixture
def assessment(tenant, framework):
    from datetime import date

    return services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )


def responses_by_code(assessment) -> dict[str, Response]:
    from django_scopes import scope

    with scope(organisation=assessment.organisation):
        return {
            r.criterion.code: r
            for r in Response.objects.filter(assessment=assessment).select_related(
                "criterion", "assessment", "criterion__principle"
            )
        }
