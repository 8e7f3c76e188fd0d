"""The audit trail: a hash chain per organisation that shows edits and deletions, and its pages."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_scopes import scope, scopes_disabled

from portal.audit import audit_record, audit_verify_chain
from portal.models import AuditEvent, Organisation
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _record(tenant, n: int) -> None:
    for i in range(n):
        audit_record(
            organisation=tenant.organisation,
            actor=tenant.owner,
            verb="member.role_changed",
            target_label=f"person{i}@example.org",
            before={"role": "member"},
            after={"role": "manager"},
        )


def test_events_chain_and_verify(tenant) -> None:
    _record(tenant, 5)
    result = audit_verify_chain(organisation=tenant.organisation)
    assert result.ok and result.events_checked == 5
    with scope(organisation=tenant.organisation):
        events = list(AuditEvent.objects.order_by("sequence"))
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == "0" * 64
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:], strict=False))


def test_chains_are_per_organisation(tenant, outsider) -> None:
    _record(tenant, 2)
    with scopes_disabled():
        other = Organisation.objects.exclude(pk=tenant.organisation.pk).get()
    audit_record(organisation=other, actor=outsider, verb="member.left")
    with scope(organisation=other):
        assert AuditEvent.objects.get().sequence == 1
    assert audit_verify_chain(organisation=tenant.organisation).ok
    assert audit_verify_chain(organisation=other).ok


def _tamper(**update) -> None:
    with scopes_disabled():
        AuditEvent.objects.filter(sequence=3).update(**update)


def test_editing_an_event_in_the_database_is_reported_by_the_command(tenant) -> None:
    _record(tenant, 5)
    _tamper(after={"role": "owner"})
    out = StringIO()
    with pytest.raises(CommandError, match="1 organisation"):
        call_command("verify_audit_trail", stdout=out)
    assert "first broken link at event #3: event #3 was changed after it was recorded" in out.getvalue()


def test_deleting_an_event_in_the_middle_is_reported(tenant) -> None:
    _record(tenant, 5)
    with scopes_disabled():
        AuditEvent.objects.filter(sequence=3).delete()
    result = audit_verify_chain(organisation=tenant.organisation)
    assert not result.ok and result.broken_at == 3 and "missing" in result.reason


def test_deleting_the_newest_events_is_reported(tenant) -> None:
    _record(tenant, 5)
    with scopes_disabled():
        AuditEvent.objects.filter(sequence__gte=4).delete()
    result = audit_verify_chain(organisation=tenant.organisation)
    assert not result.ok and result.broken_at == 4 and "deleted" in result.reason


def test_rehashing_an_edited_event_still_breaks_the_next_link(tenant) -> None:
    """An attacker who recomputes the edited event's own hash still breaks the chain after it."""
    from portal.audit import event_hash

    _record(tenant, 5)
    with scopes_disabled():
        event = AuditEvent.objects.get(sequence=3)
        event.target_label = "someone.else@example.org"
        event.hash = event_hash(event)
        event.save()
    result = audit_verify_chain(organisation=tenant.organisation)
    assert not result.ok and result.broken_at == 4


def test_command_reports_ok_per_organisation(tenant) -> None:
    _record(tenant, 3)
    out = StringIO()
    call_command("verify_audit_trail", "--organisation", tenant.organisation.slug, stdout=out)
    assert f"OK      {tenant.organisation.slug}: 3 events" in out.getvalue()
    with pytest.raises(CommandError, match="No organisation"):
        call_command("verify_audit_trail", "--organisation", "nope", stdout=StringIO())


def test_audit_page_shows_events_filters_and_paginates(tenant, settings) -> None:
    settings.AUDIT_EVENTS_PER_PAGE = 10
    _record(tenant, 23)
    audit_record(organisation=tenant.organisation, actor=tenant.rep, verb="member.left", target_label="rep")
    client = client_for(tenant.auditor)
    url = f"/o/{tenant.organisation.slug}/audit/"
    html = client.get(url).content.decode()
    assert "24 events, page 1 of 3" in html
    assert 'rel="next"' in html
    page3 = client.get(url, {"page": 3}).content.decode()
    assert "person0@example.org" in page3 and 'rel="prev"' in page3
    filtered = client.get(url, {"verb": "member.left"}).content.decode()
    assert "1 event" in filtered and "left the organisation" in filtered
    search = client.get(url, {"q": "person22@"}).content.decode()
    assert "1 event" in search
    bad = client.get(url, {"date_from": "2026-12-01", "date_to": "2026-11-01"})
    assert "The end date must be the same as or after the start date" in bad.content.decode()
    empty = client.get(url, {"q": "nobody-like-this"}).content.decode()
    assert "No events match these filters" in empty


def test_auditor_page_verifies_the_chain_and_shows_tampering(tenant) -> None:
    _record(tenant, 4)
    client = client_for(tenant.auditor)
    url = f"/o/{tenant.organisation.slug}/audit/"
    assert "All 4 events checked" in client.get(url, {"verify": "1"}).content.decode()
    _tamper(target_label="rewritten")
    html = client.get(url, {"verify": "1"}).content.decode()
    assert "The audit trail has been tampered with" in html and "event #3" in html


def test_audit_event_keeps_the_request_id(tenant, owner_client) -> None:
    response = owner_client.post(
        f"/o/{tenant.organisation.slug}/invitations/new/",
        {"email": "rid@example.org", "role": "member"},
        HTTP_X_REQUEST_ID="req-1234567890",
    )
    assert response["X-Request-ID"] == "req-1234567890"
    with scope(organisation=tenant.organisation):
        assert AuditEvent.objects.get(verb="invitation.created").request_id == "req-1234567890"
