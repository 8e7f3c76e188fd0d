"""Assessment and evidence pages run a fixed number of queries however many responses, files, actions,
comments, members and cycles exist, and none runs more than the budget (tests/querycount.py)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments import services, workflow
from assessments.models import ActionItem, Assessment
from portal.roles import Role
from portal.versions import bump
from tests.assessments.conftest import PDF, responses_by_code
from tests.conftest import client_for
from tests.factories import UserFactory, add_member
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


def _upload(tenant, name: str, **dates):
    return services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name=name,
        description="x",
        effective_date=dates.get("effective_date", timezone.localdate() - timedelta(days=10)),
        expiry_date=dates.get("expiry_date"),
    )


@pytest.fixture
def pinned(tenant):
    """A file every grown response cites, so one file's citations grow too."""
    return _upload(tenant, "pinned.pdf")


def _grow(tenant, assessment, pinned, n: int) -> None:
    responses = list(responses_by_code(assessment).values())
    for i in range(n):
        evidence = _upload(
            tenant,
            f"f{i}-{n}.pdf",
            expiry_date=timezone.localdate() - timedelta(days=1) if i % 2 else None,
        )
        for response in responses[:6] + responses[i % 36 : i % 36 + 1]:
            services.response_save(
                response=response,
                actor=tenant.manager,
                maturity=i % 5,
                narrative=f"n{i}",
                evidence_ids=[evidence.pk, pinned.pk],
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
        # Members (action owners, representatives to notify) and older cycles (the list).
        add_member(tenant.organisation, UserFactory(), Role.MEMBER)
        add_member(tenant.organisation, UserFactory(), Role.WORKFORCE_REP)
        older = services.assessment_create(
            organisation=tenant.organisation,
            actor=tenant.manager,
            framework=assessment.framework,
            title=f"Self-assessment {2000 + i}-{n}",
            period_start=date(2000 + i, 1, 1),
            period_end=date(2000 + i, 12, 31),
        )
        with scopes_disabled():  # older than `assessment`, which stays the dashboard's current cycle
            Assessment.objects.filter(pk=older.pk).update(created_at=assessment.created_at - timedelta(days=n + i))


def _close(response) -> None:
    """Close a response (a download's file) as the test client closes its own: without the
    request_finished handler that would close the database connection of the test's transaction
    (on PostgreSQL; SQLite's in-memory database is never closed)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def _count(client, url: str, expected: int, label: str) -> None:
    _close(client.get(url))  # the first request of a session records it (allauth usersessions)
    with assert_queries(expected, label):
        response = client.get(url)
    assert response.status_code == 200, label
    _close(response)


# Every tenant page pays 3 (see tests/portal/test_query_counts.py): the user; the user's memberships
# with their organisations (tenancy and the header's switcher); the "Your work" count. Then the
# page's own reads. {a}: the assessment, {r}: a response, {i}: an action item on it,
# {e}: the pinned file.
PAGES = {
    # + the organisation's cycles with their framework
    "list": ("assessments/", 4),
    # + the current framework
    "create": ("assessments/new/", 4),
    # + the assessment (framework, organisation, submitter); the progress, one row of counts per response.
    # The framework's principles are read once per process (principles.framework.principles_of), not per
    # page. A draft (this one) has never been sent for review: no signatures or change requests to read
    # and no snapshot to hash (once reviewed, the responses with their criteria and cited evidence serve
    # both the snapshot and the progress: see the reviewed overview's test below).
    "overview": ("assessments/{a}/", 5),
    # + the assessment, responses, their citations with evidence, their action items with owners,
    # the evidence library, the comments and their replies (the principles: from memory)
    "principle": ("assessments/{a}/principles/1/", 9),
    # + the assessment, the response with its criterion and principle, the members, the owner choices
    "action_create": ("assessments/{a}/responses/{r}/actions/new/", 7),
    # + the assessment, the action item with its response, criterion, principle and owner, the members,
    # the owner choices
    "action_edit": ("assessments/{a}/actions/{i}/", 7),
    # + the assessment, the action item
    "action_delete": ("assessments/{a}/actions/{i}/delete/", 5),
    # + the assessment, the responses as rows (assessments/response_rows.py: one row of counts per
    # response, serving both the problems and the progress; the principles from memory), the representatives
    "submit": ("assessments/{a}/submit/", 6),
    # + count and one page of files
    "evidence_list": ("evidence/", 5),
    "evidence_upload": ("evidence/new/", 3),
    # + the file, the responses citing it, the submitted assessments citing it
    "evidence_detail": ("evidence/{e}/", 6),
    # + the file, its citation count, the submitted assessments citing it
    "evidence_delete": ("evidence/{e}/delete/", 6),
    # a download renders no page (no header): the user, memberships, the file
    "evidence_download": ("evidence/{e}/download/", 3),
    # the organisation dashboard (portal's page) with the self-assessment panels: + members (with the
    # getting-started steps), commitment, the current and last final cycles, their progress (one row
    # per response; the principles from memory), the current plans, overdue actions, recent activity
    # (a manager: no pending-invitations query, that is for owners). Warm: the panels, the activity and
    # the members come from the cache (issue 19), so the page reads only the person and their
    # memberships; cold (after any write it shows): DASHBOARD_COLD, measured below.
    "dashboard": ("", 3),
}
DASHBOARD_COLD = 10


def test_assessment_pages_do_not_grow_with_data(tenant, assessment, pinned) -> None:
    """Every page, measured with a little data and again with much more (one test: growing is slow)."""
    client = client_for(tenant.manager)
    failures = []
    for grow in (1, 8):
        _grow(tenant, assessment, pinned, grow)
        with scope(organisation=tenant.organisation):
            item = ActionItem.objects.filter(assessment=assessment).order_by("created_at").first()
        for page, (path, expected) in PAGES.items():
            url = f"/o/{tenant.organisation.slug}/" + path.format(
                a=assessment.pk, r=item.response_id, i=item.pk, e=pinned.pk
            )
            try:
                _count(client, url, expected, f"{page} (grown {grow})")
                if page == "dashboard":
                    bump(organisations=[tenant.organisation])  # as any write it shows: cold again
                    with assert_queries(DASHBOARD_COLD, f"dashboard, cold (grown {grow})"):
                        client.get(url)
            except AssertionError as failure:
                failures.append(str(failure))
    assert not failures, "\n\n".join(failures)


def test_the_overview_of_a_reviewed_assessment_reads_its_signatures_and_change_requests(tenant, assessment) -> None:
    """Once sent for review the overview reads the responses with their cited files as rows (serving both
    the snapshot the signatures are checked against and the progress), the signatures and the change
    requests: 7; a final one also asks whether the next cycle can start from it (one query)."""
    from tests.reports.conftest import make_final, upload_evidence

    final = make_final(tenant, assessment, upload_evidence(tenant))
    client = client_for(tenant.manager)
    _count(client, f"/o/{tenant.organisation.slug}/assessments/{final.pk}/", 8, "overview, final")
