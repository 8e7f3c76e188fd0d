"""Versions of cached page data: a bump is seen by the next reader, only after commit, and a lost
version is never mistaken for the old one."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction

from portal.audit import audit_record
from portal.versions import bump, versions

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_bump_changes_only_what_it_names(tenant, outsider):
    other = outsider.memberships.get().organisation
    before = versions(organisations=[tenant.organisation], people=[tenant.owner])
    other_before = versions(organisations=[other])
    assert versions(organisations=[tenant.organisation], people=[tenant.owner]) == before  # stable
    bump(organisations=[tenant.organisation])
    after = versions(organisations=[tenant.organisation], people=[tenant.owner])
    assert after != before
    assert versions(organisations=[other]) == other_before
    bump(people=[tenant.owner.pk])
    assert versions(organisations=[tenant.organisation], people=[tenant.owner]) != after


def test_a_bump_inside_a_transaction_takes_effect_at_commit_and_not_on_rollback(tenant):
    before = versions(organisations=[tenant.organisation])
    with transaction.atomic():
        bump(organisations=[tenant.organisation])
        assert versions(organisations=[tenant.organisation]) == before  # readers keep the committed view
    committed = versions(organisations=[tenant.organisation])
    assert committed != before

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        bump(organisations=[tenant.organisation])
        raise Rollback
    assert versions(organisations=[tenant.organisation]) == committed


def test_a_lost_version_comes_back_as_a_new_one(tenant):
    before = versions(organisations=[tenant.organisation])
    cache.clear()  # Redis flushed or restarted
    assert versions(organisations=[tenant.organisation]) != before


def test_every_audited_change_bumps_its_organisation(tenant):
    before = versions(organisations=[tenant.organisation], trails=[tenant.organisation])
    audit_record(organisation=tenant.organisation, actor=tenant.owner, verb="organisation.updated")
    assert versions(organisations=[tenant.organisation]) != before.split(".")[0]
    assert versions(trails=[tenant.organisation]) != before.split(".")[1]


def test_an_auditors_page_views_keep_the_caches_and_stay_off_the_dashboard_feed(tenant):
    """An auditor browsing must not empty every member's cached pages; the dashboard's recent activity
    lists changes, and the audit trail still records each view."""
    from portal.audit import VIEW_VERBS
    from portal.models import AuditEvent
    from portal.selectors import recent_activity

    before = versions(organisations=[tenant.organisation])
    trail = versions(trails=[tenant.organisation])
    for verb in sorted(VIEW_VERBS):
        audit_record(organisation=tenant.organisation, actor=tenant.auditor, verb=verb, target_label="/o/x/")
        assert versions(trails=[tenant.organisation]) != trail  # the audit trail, which lists them, moves on
        trail = versions(trails=[tenant.organisation])
    assert versions(organisations=[tenant.organisation]) == before
    assert AuditEvent.objects.filter(organisation=tenant.organisation, verb__in=VIEW_VERBS).count() == 2
    assert recent_activity(tenant.organisation) == []
    audit_record(organisation=tenant.organisation, actor=tenant.owner, verb="organisation.updated")
    assert len(recent_activity(tenant.organisation)) == 1
