"""A signature list says whether each signature still matches the content; the content's hash is cached
(`workflow.current_subject_hash`, under the organisation's version), and every write that changes what a
signature covers shows on the very next request: answers (maturity, narrative alone, cited evidence), a
plan's sections, cited evidence alone, meetings, the EqIA, and an EqIA owner's email.

Real cache (locmem on SQLite, Redis on PostgreSQL) and committed transactions: a bump applies at commit,
so these tests are transactional. Each warms the list first (the hash is stored), checks that the warm
request does not read the content again, then writes through the service a page or the API calls.
"""

from __future__ import annotations

from datetime import date

import pytest
from django_scopes import scope

from assessments import plans, services, workflow
from assessments.models import Characteristic, Impact, Plan
from assessments.plans import EqiaRowInput
from tests.api.conftest import make_token, token_client
from tests.assessments.conftest import responses_by_code
from tests.assessments.test_plans import complete, new_plan, rows, sign, upload_evidence
from tests.querycount import counting

pytestmark = pytest.mark.django_db(transaction=True)


def _standing(client, url: str) -> list[bool]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return [s["valid"] for s in response.json()["results"]]


def _warm(client, url: str) -> list[bool]:
    for _ in range(3):
        standing = _standing(client, url)
    with counting() as counted:
        assert _standing(client, url) == standing
    assert "assessments_response" not in counted.listing() and "assessments_eqiarow" not in counted.listing()
    return standing


@pytest.fixture
def reader(tenant):
    return token_client(make_token(tenant.member, tenant.organisation))


def _sent_back(subject, tenant):
    """Signed by the representative, then sent back for changes: editable, the signature still valid."""
    sign(subject, tenant.rep)
    workflow.changes_request(subject=subject, actor=tenant.rep, reasons="Say more about retraining")
    return subject


@pytest.fixture
def assessment(tenant, framework):
    assessment = services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=tenant.manager, maturity=1, narrative="Some", evidence_ids=[])
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    return _sent_back(assessment, tenant)


def _assessment_url(tenant, assessment) -> str:
    return f"/api/v1/organisations/{tenant.organisation.slug}/assessments/{assessment.pk}/signatures/"


def _response(assessment, code: str = "1.1"):
    with scope(organisation=assessment.organisation):
        response = responses_by_code(assessment)[code]
        return response, [c.evidence_id for c in response.citations.all()]


def _save(tenant, assessment, **change) -> None:
    response, cited = _response(assessment)
    values = {"maturity": response.maturity, "narrative": response.narrative, "evidence_ids": cited, **change}
    assert services.response_save(response=response, actor=tenant.manager, **values).changed


def test_a_narrative_edited_alone_voids_the_signature_on_the_next_request(tenant, assessment, reader) -> None:
    url = _assessment_url(tenant, assessment)
    assert _warm(reader, url) == [True]
    _save(tenant, assessment, narrative="Rewritten after the representative's comments")  # not audited
    assert _standing(reader, url) == [False]
    _save(tenant, assessment, narrative="Some")  # back to what was signed
    assert _standing(reader, url) == [True]


def test_a_maturity_change_voids_the_signature_on_the_next_request(tenant, assessment, reader) -> None:
    url = _assessment_url(tenant, assessment)
    assert _warm(reader, url) == [True]
    _save(tenant, assessment, maturity=3)
    assert _standing(reader, url) == [False]


def test_citing_evidence_voids_the_signature_on_the_next_request(tenant, assessment, reader) -> None:
    url = _assessment_url(tenant, assessment)
    evidence = upload_evidence(tenant)
    assert _warm(reader, url) == [True]
    _save(tenant, assessment, evidence_ids=[evidence.pk])
    assert _standing(reader, url) == [False]


def test_an_answer_changed_through_the_api_shows_on_the_next_request(tenant, assessment, reader) -> None:
    url = _assessment_url(tenant, assessment)
    assert _warm(reader, url) == [True]
    manager = token_client(make_token(tenant.manager, tenant.organisation))
    base = f"/api/v1/organisations/{tenant.organisation.slug}/assessments/{assessment.pk}"
    patched = manager.patch(f"{base}/responses/1.1/", {"narrative": "Changed over the API"}, format="json")
    assert patched.status_code == 200, patched.content
    assert _standing(reader, url) == [False]


# --- plans ---------------------------------------------------------------------------------------


@pytest.fixture
def plan(tenant) -> Plan:
    plan = new_plan(tenant)
    owned = EqiaRowInput(
        characteristic=Characteristic.AGE,
        impact=Impact.NEGATIVE,
        evidence="Older operators",
        mitigation="Paired training",
        owner=tenant.member,
    )
    complete(plan, tenant, eqia_rows=rows(**{Characteristic.AGE: owned}))
    plans.plan_submit(plan=plan, actor=tenant.manager)
    return _sent_back(plan, tenant)


def _plan_url(tenant, plan) -> str:
    return f"/api/v1/organisations/{tenant.organisation.slug}/plans/{plan.pk}/signatures/"


def test_a_plan_section_change_voids_the_signature_on_the_next_request(tenant, plan, reader) -> None:
    url = _plan_url(tenant, plan)
    assert _warm(reader, url) == [True]
    plans.plan_update_section(
        plan=plan, actor=tenant.manager, section="technology", values={"technology": "Two cobots, not one"}
    )
    assert _standing(reader, url) == [False]


def test_evidence_cited_alone_on_a_plan_voids_the_signature_on_the_next_request(tenant, plan, reader) -> None:
    url = _plan_url(tenant, plan)
    evidence = upload_evidence(tenant)
    assert _warm(reader, url) == [True]
    # The section's fields unchanged, one more file cited: no audit event, a bump of its own.
    plans.plan_update_section(
        plan=plan, actor=tenant.manager, section="technology", values={}, evidence_ids=[evidence.pk]
    )
    assert _standing(reader, url) == [False]


def test_a_meeting_added_voids_the_signature_on_the_next_request(tenant, plan, reader) -> None:
    url = _plan_url(tenant, plan)
    assert _warm(reader, url) == [True]
    plans.meeting_add(plan=plan, actor=tenant.manager, held_on=date(2026, 3, 1), participants="Reps", notes="")
    assert _standing(reader, url) == [False]


def test_an_eqia_change_voids_the_signature_on_the_next_request(tenant, plan, reader) -> None:
    url = _plan_url(tenant, plan)
    assert _warm(reader, url) == [True]
    plans.eqia_save(plan=plan, actor=tenant.manager, rows=rows(), outcome="no_major_change", justification="Again")
    assert _standing(reader, url) == [False]


def test_an_eqia_owners_new_email_voids_the_signature_on_the_next_request(tenant, plan, reader) -> None:
    # The snapshot names the owner by their current email; changing it writes nothing in the organisation.
    url = _plan_url(tenant, plan)
    assert _warm(reader, url) == [True]
    tenant.member.email = "renamed@example.com"
    tenant.member.save(update_fields=["email"])
    assert _standing(reader, url) == [False]


def test_without_changes_the_hash_is_the_same_as_computed(tenant, plan, assessment, reader) -> None:
    for url, subject in ((_plan_url(tenant, plan), plan), (_assessment_url(tenant, assessment), assessment)):
        _warm(reader, url)
        version = workflow.subject_content_version(tenant.organisation.pk)
        assert version is not None
        assert workflow.current_subject_hash(subject, version) == workflow.subject_hash(subject)
