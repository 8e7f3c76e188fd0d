"""A DPIA on the plan pages: its own sections, the representatives writing the workforce's views (and
nothing else), and the check page before review naming the DPIA's sections."""

from __future__ import annotations

import html

import pytest
from django_scopes import scope

from assessments import technology
from assessments.models import Plan, SystemStatus
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpia(tenant) -> Plan:
    system = technology.system_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        values={"name": "Cell output dashboard", "status": SystemStatus.PLANNED, "monitors_people": True},
    )
    return technology.dpia_start(system=system, actor=tenant.manager)


def _url(tenant, dpia: Plan, section: str = "") -> str:
    base = f"/o/{tenant.organisation.slug}/plans/{dpia.pk}/"
    return f"{base}sections/{section}/" if section else base


def test_the_task_list_shows_the_dpias_own_sections(tenant, dpia) -> None:
    page = html.unescape(client_for(tenant.manager).get(_url(tenant, dpia)).content.decode())
    for title in ("Necessity and proportionality", "Risks to the people whose data it is", "The workforce's views"):
        assert title in page
    assert "Skills and retraining" not in page


def test_the_representative_writes_the_workforces_views_but_no_other_section(tenant, dpia) -> None:
    rep = client_for(tenant.rep)
    views = {
        "consultation_method": "Shift meetings",
        "workers_views": "“No names on the screens.”",
        "reps_response": "Agreed at cell level only",
    }
    response = rep.post(_url(tenant, dpia, "workforce_views"), views)
    assert response.status_code == 302
    with scope(organisation=tenant.organisation):
        assert Plan.objects.get(pk=dpia.pk).workers_views == "“No names on the screens.”"
    page = rep.get(_url(tenant, dpia, "risks")).content.decode()
    assert 'name="dpia_risks"' not in page
    assert rep.post(_url(tenant, dpia, "risks"), {"dpia_risks": "None"}).status_code == 403
    # A member reads it but writes nothing.
    assert client_for(tenant.member).post(_url(tenant, dpia, "workforce_views"), views).status_code == 403


def test_a_plain_plans_section_names_are_not_a_dpias(tenant, dpia) -> None:
    assert client_for(tenant.manager).get(_url(tenant, dpia, "skills")).status_code == 404


def test_the_check_page_lists_the_dpia_sections_with_what_is_missing(tenant, dpia) -> None:
    page = client_for(tenant.manager).get(_url(tenant, dpia) + "submit/").content.decode()
    assert "Nature, scope, context and purpose of the processing" in page
    assert "Record how workers were consulted and what they said" in page
    assert "The technology and why" not in page
