"""The principle page's criterion sections are built in Python (assessments/templatetags/principle_tags.py):
the page is the same HTML, byte for byte, as the template loop it replaced
(tests/assessments/reference/principle_loop.html, the template as it was), for editors and readers, with
answers, problems, errors, carried-over answers, actions in every state, evidence and comments."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.template import engines
from django.utils import timezone
from django_scopes import scope

from assessments import services, workflow
from assessments.models import Response
from tests.assessments.conftest import PDF, responses_by_code
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

REFERENCE = engines["django"].from_string((Path(__file__).parent / "reference" / "principle_loop.html").read_text())
TOKEN = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')


def _same_as_reference(page) -> str:
    """The page against the reference template rendered with the same context and request (each render
    masks the CSRF token afresh, so the tokens are compared as one)."""
    assert page.status_code in (200, 400)
    html = page.content.decode()
    context = next(c for c in page.context if "responses" in c).flatten()
    old = REFERENCE.render(context, page.wsgi_request)
    assert TOKEN.sub(r"\1T", html) == TOKEN.sub(r"\1T", old)
    return html


def _world(tenant, assessment):
    responses = [r for code, r in sorted(responses_by_code(assessment).items()) if code.startswith("1.")]
    cited = services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name="minutes <1>.pdf",
        description="Joint meeting & notes",
        effective_date=date(2024, 1, 1),
        expiry_date=date(2025, 1, 1),
    )
    first, second, third = responses[0], responses[1], responses[2]
    services.response_save(
        response=first, actor=tenant.manager, maturity=3, narrative="We <share>\nplans", evidence_ids=[cited.pk]
    )
    services.response_save(response=second, actor=tenant.manager, maturity=4, narrative="", evidence_ids=[])
    today = timezone.localdate()
    for title, owner, due, status in (
        ("Brief the <reps>", tenant.manager, today - timedelta(days=3), None),
        ("Write it up", None, today + timedelta(days=30), None),
        ("Started", tenant.owner, today + timedelta(days=5), "in_progress"),
        ("Finished", tenant.owner, today - timedelta(days=5), "done"),
    ):
        item = services.action_item_create(response=first, actor=tenant.manager, title=title, owner=owner, due_date=due)
        if status:
            with scope(organisation=tenant.organisation):
                type(item).objects.filter(pk=item.pk).update(status=status)
    with scope(organisation=tenant.organisation):
        Response.objects.filter(pk=third.pk).update(carried_over=True, confirmed_at=None, maturity=2)
    comment = workflow.comment_add(subject=assessment, author=tenant.rep, anchor=first.criterion.code, body="Why?")
    workflow.comment_add(subject=assessment, author=tenant.manager, anchor="", body="Because", parent=comment)
    return first, second


def test_editors_page_is_the_templates_html(tenant, assessment) -> None:
    first, _ = _world(tenant, assessment)
    path = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/"
    manager = client_for(tenant.manager)
    html = _same_as_reference(manager.get(path))
    assert 'hx-post="/o/' in html and "Carried over: confirm or change" in html and "Overdue" in html
    html = _same_as_reference(manager.get(path + "?check=1"))  # each problem at its field
    assert "form-group--error" in html
    page = manager.post(path, {f"r-{first.pk}-maturity": "x"})  # an error on one criterion
    assert page.status_code == 400
    _same_as_reference(page)
    for reader in (tenant.rep, tenant.owner):  # auditors see final assessments only
        _same_as_reference(client_for(reader).get(path))


def test_readers_page_of_a_final_assessment_is_the_templates_html(tenant, assessment) -> None:
    _world(tenant, assessment)
    with scope(organisation=tenant.organisation):
        type(assessment).objects.filter(pk=assessment.pk).update(status="final")
    path = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/"
    for reader in (tenant.manager, tenant.rep, tenant.auditor):
        html = _same_as_reference(client_for(reader).get(path))
        assert "summary-list" in html and "hx-post" not in html
