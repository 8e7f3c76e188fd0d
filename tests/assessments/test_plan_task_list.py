"""The plan page's task list of sections is built in Python (assessments/templatetags/plan_tags.py):
the same HTML, byte for byte, as the template loop it replaced (tests/assessments/reference/
plan_task_list.html, as it was in templates/plans/detail.html), for every status, with and without a
problem; and the plan page shows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template import engines

from assessments import workflow
from tests.assessments.test_plans import new_plan
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(tenant):
    return new_plan(tenant)


OLD_LOOP = (Path(__file__).parent / "reference" / "plan_task_list.html").read_text()
OLD = engines["django"].from_string("{% load i18n %}" + OLD_LOOP)
NEW = engines["django"].from_string("{% load plan_tags %}  {% plan_task_list sections plan %}")


def test_the_task_list_is_the_templates_html_byte_for_byte(tenant, plan) -> None:
    statuses = ["completed", "in_progress", "not_started"]
    for shift in range(3):
        sections = [
            {
                "key": key,
                "title": title,
                "status": statuses[(i + shift) % 3],
                "problem": f"Fill in <{key}> & more" if (i + shift) % 2 else None,
            }
            for i, (key, title, _fields) in enumerate(workflow.PLAN_SECTIONS)
        ]
        context = {"sections": sections, "plan": plan, "current_organisation": tenant.organisation}
        assert NEW.render(context) == OLD.render(context)
    assert "&lt;jobs&gt; &amp; more" in NEW.render(context)


def test_the_plan_page_lists_every_section_with_its_link(tenant, plan) -> None:
    html = client_for(tenant.manager).get(f"/o/{tenant.organisation.slug}/plans/{plan.pk}/").content.decode()
    assert f'href="/o/{tenant.organisation.slug}/plans/{plan.pk}/sections/technology/"' in html
    assert f'href="/o/{tenant.organisation.slug}/plans/{plan.pk}/equality/"' in html
    assert "7. Equality impact assessment\n</a>" in html
