"""Assessment pages run a fixed number of queries however many responses, files and actions exist."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from assessments import services, workflow
from tests.assessments.conftest import PDF, responses_by_code
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _grow(tenant, assessment, n: int) -> None:
    responses = list(responses_by_code(assessment).values())
    for i in range(n):
        evidence = services.evidence_upload(
            organisation=tenant.organisation,
            actor=tenant.manager,
            file=io.BytesIO(PDF),
            name=f"f{i}-{n}.pdf",
            description="x",
            effective_date=timezone.localdate() - timedelta(days=10),
            expiry_date=timezone.localdate() - timedelta(days=1) if i % 2 else None,
        )
        for response in responses[:6] + responses[i % 36 : i % 36 + 1]:
            services.response_save(
                response=response, actor=tenant.manager, maturity=i % 5, narrative=f"n{i}", evidence_ids=[evidence.pk]
            )
            services.action_item_create(
                response=response,
                actor=tenant.manager,
                title=f"a{i}",
                owner=tenant.rep,
                due_date=timezone.localdate() - timedelta(days=i % 3),
            )
            top = workflow.comment_add(
                subject=assessment, author=tenant.rep, anchor=response.criterion.code, body="Why?"
            )
            workflow.comment_add(subject=assessment, author=tenant.manager, anchor="", body="Because.", parent=top)


def _count(django_assert_num_queries, client, url: str, expected: int) -> None:
    client.get(url)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


# base of a tenant page: organisation, session, user, membership, savepoint pair, header (switcher,
# invitations, reviews waiting: 4) = 10
PAGES = {
    # + assessment, principle, responses, citations+evidence, action items, evidence library, principle list,
    # comments and their replies
    "principle": ("assessments/{a}/principles/1/", 19),
    # + assessment, principles, response rows, overdue actions
    "overview": ("assessments/{a}/", 18),
    # + members, member count, activity, commitment, assessment, progress (3), overdue actions
    # (a manager: no pending-invitations query, that is for owners)
    "dashboard": ("", 19),
    # + count and page of files
    "evidence": ("evidence/", 12),
    # + assessment, problems (responses, citations), reps, progress (3)
    "submit": ("assessments/{a}/submit/", 17),
}


@pytest.mark.parametrize("page", PAGES)
def test_assessment_pages_do_not_grow_with_data(tenant, assessment, django_assert_num_queries, page) -> None:
    path, expected = PAGES[page]
    url = f"/o/{tenant.organisation.slug}/" + path.format(a=assessment.pk)
    client = client_for(tenant.manager)
    _grow(tenant, assessment, 1)
    _count(django_assert_num_queries, client, url, expected)
    _grow(tenant, assessment, 8)
    _count(django_assert_num_queries, client, url, expected)
