"""The plan page's task list of sections, built in Python.

Each of the plan's seven sections was a template loop pass with two url tags, an include for its title
and a chain of translate tags for its status. Built here, the words and addresses are looked up once a
page. The HTML is the template's, byte for byte (tests/assessments/test_plan_task_list.py renders both
and compares them).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()

_KEY = "section-key-placeholder"


def section_title(key: str) -> str:
    """A plan section's title, in the active language (as templates/review/_section_title.html says it)."""
    titles = {
        "technology": _("The technology and why"),
        "consultation": _("Consultation with the workforce"),
        "health_safety": _("Health, safety, welfare and environment"),
        "skills": _("Skills and retraining"),
        "data": _("Employee data use"),
        "jobs": _("Jobs, redeployment and reinvestment"),
        # A data-protection impact assessment's own sections (assessments.workflow.DPIA_SECTIONS).
        "processing": _("Nature, scope, context and purpose of the processing"),
        "necessity": _("Necessity and proportionality"),
        "risks": _("Risks to the people whose data it is"),
        "measures": _("Measures to reduce the risks"),
        "workforce_views": _("The workforce's views"),
    }
    return titles.get(key) or _("Equality impact assessment")


@register.simple_tag(takes_context=True)
def plan_task_list(context: Any, sections: list[dict[str, Any]], plan: Any) -> SafeString:
    """The items of the plan's task list: each section's link, its problem and its status."""
    org_slug = context["current_organisation"].slug
    eqia_url = conditional_escape(reverse("assessments:plan_eqia", kwargs={"org_slug": org_slug, "plan_id": plan.pk}))
    section_url = reverse(
        "assessments:plan_section", kwargs={"org_slug": org_slug, "plan_id": plan.pk, "section": _KEY}
    )
    tags = {
        "completed": f'<strong class="tag tag--green">{_("Completed")}</strong>',
        "in_progress": f'<strong class="tag tag--blue">{_("In progress")}</strong>',
    }
    not_started = f'<strong class="tag tag--grey">{_("Not started")}</strong>'
    items = []
    for counter, s in enumerate(sections, start=1):
        key = conditional_escape(s["key"])
        url = eqia_url if s["key"] == "equality" else conditional_escape(section_url.replace(_KEY, str(s["key"])))
        problem = s.get("problem")
        hint = (
            f'<div class="task-list__hint" id="section-{key}-hint">{conditional_escape(problem)}</div>'
            if problem
            else ""
        )
        described = f" section-{key}-hint" if problem else ""
        items.append(
            '\n  <li class="task-list__item task-list__item--with-link">\n'
            '    <div class="task-list__name-and-hint">\n'
            f'      <a class="task-list__link" href="{url}" aria-describedby="section-{key}-status{described}">'
            f"{counter}. {section_title(s['key'])}\n</a>\n"
            f"      {hint}\n"
            "    </div>\n"
            f'    <div class="task-list__status" id="section-{key}-status">\n'
            f"      {tags.get(s['status'], not_started)}\n"
            "    </div>\n"
            "  </li>\n  "
        )
    return mark_safe("".join(items))  # noqa: S308 - every value in it escaped above
