"""The principle page offers every file of the library to every criterion: cited files ticked,
expired ones marked, names escaped (the boxes are built in Python, assessments/templatetags)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from assessments import services
from tests.assessments.conftest import PDF, responses_by_code
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _upload(tenant, name: str, description: str, expiry: date | None):
    return services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name=name,
        description=description,
        effective_date=date(2024, 1, 1),
        expiry_date=expiry,
    )


def test_each_criterion_offers_every_file_with_its_own_ticks(tenant, assessment) -> None:
    current = _upload(tenant, "training-log.pdf", "Forklift training", None)
    expired = _upload(tenant, "risk.pdf", "<b>Old</b> & stale", date(2025, 3, 1))
    responses = [r for code, r in sorted(responses_by_code(assessment).items()) if code.startswith("1.")]
    first, second = responses[0], responses[1]
    services.response_save(response=first, actor=tenant.manager, maturity=2, narrative="x", evidence_ids=[current.pk])

    page = client_for(tenant.manager).get(f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/")
    html = page.content.decode()

    boxes = re.findall(r'<input form="principle-form" class="checkboxes__input" type="checkbox"[^>]*>', html)
    assert len(boxes) == len(responses) * 2, "every criterion offers both files"
    ticked = [b for b in boxes if b.endswith(" checked>")]
    assert ticked == [
        f'<input form="principle-form" class="checkboxes__input" type="checkbox" id="r-{first.pk}-evidence-'
        f'{current.pk}" name="r-{first.pk}-evidence" value="{current.pk}" checked>'
    ]
    assert f'id="r-{second.pk}-evidence-{expired.pk}" name="r-{second.pk}-evidence"' in html
    assert f'<label class="checkboxes__label" for="r-{first.pk}-evidence-{current.pk}">training-log.pdf' in html
    # The description is escaped, and the expiry is shown with its date.
    assert "<b>Old</b>" not in html
    assert '<span class="secondary-text">– &lt;b&gt;Old&lt;/b&gt; &amp; stale</span>' in html
    assert '<strong class="tag tag--red">Expired 1 Mar 2025</strong>' in html
