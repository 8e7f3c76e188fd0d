""" "Reports ready" on Your work: a report the person requested, ready and not yet downloaded by them,
waits for them (and nobody else) for 14 days, and goes once they download it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from portal.dashboard import awaiting_count, awaiting_items
from portal.models import Membership
from portal.roles import Role
from portal.selectors import memberships_of_user
from reports.models import AttestationReport
from tests.api.conftest import make_token, token_client
from tests.conftest import client_for
from tests.querycount import assert_queries
from tests.reports.conftest import ready_report
from tests.reports.test_reports import get_file

pytestmark = pytest.mark.django_db


def _items(user):
    items = awaiting_items(user, memberships_of_user(user))
    assert awaiting_count(user, memberships_of_user(user)) == len(items)  # the count agrees with the page
    return [i for i in items if i.kind == "report_ready"]


def test_a_ready_report_waits_for_its_requester_only_until_downloaded(tenant, final_assessment, outsider) -> None:
    report = ready_report(tenant, final_assessment, requested_by=tenant.manager)
    [item] = _items(tenant.manager)
    assert item.action == "Download the attestation report" and item.title == final_assessment.title
    assert item.url == f"/o/{tenant.organisation.slug}/reports/{report.pk}/"
    assert item.due == timezone.localdate(report.rendered_at) + timedelta(days=14)
    for person in (tenant.owner, tenant.rep, tenant.auditor, tenant.member, outsider):
        assert _items(person) == []
    manager = client_for(tenant.manager)
    assert "Download the attestation report" in manager.get("/your-work/").content.decode()
    assert manager.get(item.url).status_code == 200  # the report page: seeing it is not downloading it
    assert len(_items(tenant.manager)) == 1
    # Someone else downloading it does not take it off the requester's list.
    assert get_file(client_for(tenant.owner), item.url + "download/")[0].status_code == 200
    assert len(_items(tenant.manager)) == 1
    download, body = get_file(manager, item.url + "download/")
    assert download.status_code == 200 and body.startswith(b"%PDF")
    assert _items(tenant.manager) == []
    with scope(organisation=tenant.organisation):
        first = AttestationReport.objects.get(pk=report.pk).first_downloaded_at
    assert first is not None
    get_file(manager, item.url + "download/")
    with scope(organisation=tenant.organisation):
        assert AttestationReport.objects.get(pk=report.pk).first_downloaded_at == first  # the first one kept


def test_the_api_download_counts_too(tenant, final_assessment) -> None:
    report = ready_report(tenant, final_assessment, requested_by=tenant.owner)
    assert len(_items(tenant.owner)) == 1
    api = token_client(make_token(tenant.owner, tenant.organisation))
    response, body = get_file(api, f"/api/v1/organisations/{tenant.organisation.slug}/reports/{report.pk}/download/")
    assert response.status_code == 200 and body.startswith(b"%PDF")
    assert _items(tenant.owner) == []


def test_it_goes_after_14_days_or_when_revoked_or_when_the_requester_loses_report_rights(
    tenant, final_assessment
) -> None:
    old = ready_report(tenant, final_assessment, rendered_at=timezone.now() - timedelta(days=15))
    assert old.status == "ready" and _items(tenant.owner) == []
    revoked = ready_report(tenant, final_assessment)
    assert len(_items(tenant.owner)) == 1
    with scopes_disabled():
        AttestationReport.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    assert _items(tenant.owner) == []
    ready_report(tenant, final_assessment, requested_by=tenant.manager)
    assert len(_items(tenant.manager)) == 1
    with scopes_disabled():
        Membership.objects.filter(organisation=tenant.organisation, user=tenant.manager).update(role=Role.WORKFORCE_REP)
    assert _items(tenant.manager) == []
    with scopes_disabled():
        Membership.objects.filter(organisation=tenant.organisation, user=tenant.manager).delete()
    assert _items(tenant.manager) == []


def test_a_report_not_yet_rendered_is_not_listed(tenant, final_assessment) -> None:
    report = ready_report(tenant, final_assessment)
    with scopes_disabled():
        AttestationReport.objects.filter(pk=report.pk).update(status="rendering")
    assert _items(tenant.owner) == []


def test_query_count_of_your_work_does_not_grow_with_ready_reports(tenant, final_assessment) -> None:
    """The owner's page: the user, memberships, then every kind an owner can have in one query."""
    ready_report(tenant, final_assessment)
    owner = client_for(tenant.owner)
    owner.get("/your-work/")
    with assert_queries(3, "your work, owner"):
        one = owner.get("/your-work/").content.decode()
    for _ in range(3):
        ready_report(tenant, final_assessment)
    with assert_queries(3, "your work, owner, more reports"):
        four = owner.get("/your-work/").content.decode()
    assert one.count("Download the attestation report") == 1 and four.count("Download the attestation report") == 4
