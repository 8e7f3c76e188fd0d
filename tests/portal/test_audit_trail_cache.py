"""The audit trail's table is cached per organisation version and trail version (issue 19): a warm
request reads it from the cache and shows the same page, and every new event (an auditor's page view
too, which keeps the other caches) or a new name of someone in it is seen on the very next request.
Each page of events and each filter is its own entry. The empty filter form is rendered once per
language. The real cache (locmem on SQLite, Redis on PostgreSQL); `bumps_at_commit` makes each bump
take effect when its write would commit."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.utils import translation

from portal import services
from portal.activity import verb_choices
from portal.audit import audit_record
from portal.forms import _EMPTY_AUDIT_FILTERS, AuditFilterForm
from portal.versions import bump
from tests.conftest import client_for
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db

_MASK = re.compile(r'(csrfmiddlewaretoken" value=")[^"]+|(nonce=")[^"]+')


def _trail(client, tenant, query: str = "") -> str:
    response = client.get(f"/o/{tenant.organisation.slug}/audit/{query}")
    assert response.status_code == 200
    return _MASK.sub(r"\1\2", response.content.decode())


def test_a_warm_audit_trail_reads_its_table_from_the_cache_and_shows_the_same(tenant) -> None:
    for n in range(3):
        audit_record(
            organisation=tenant.organisation, actor=tenant.owner, verb="organisation.updated", target_label=f"n{n}"
        )
    client = client_for(tenant.owner)
    _trail(client, tenant)  # the session's first request records it
    bump(organisations=[tenant.organisation])
    with assert_queries(5, "audit trail, cold"):  # the base 3, the count and the page of events
        cold = _trail(client, tenant)
    with assert_queries(3, "audit trail, warm"):  # the base 3
        warm = _trail(client, tenant)
    assert warm == cold
    assert "n2" in warm and "3 events" in warm


def test_each_new_event_and_a_new_name_are_seen_on_the_next_request(tenant) -> None:
    owner = client_for(tenant.owner)
    before = _trail(owner, tenant)
    assert "newcomer@acme.example" not in before and "viewed “members”" not in before

    services.invitation_create(
        organisation=tenant.organisation, actor=tenant.owner, email="newcomer@acme.example", role="member"
    )
    assert "invited newcomer@acme.example to join" in _trail(owner, tenant)

    # An auditor's page view moves on the trail's version only, and the trail shows it at once.
    auditor = client_for(tenant.auditor)
    assert auditor.get(f"/o/{tenant.organisation.slug}/members/").status_code == 200
    assert "viewed “members” with auditor access" in _trail(owner, tenant)

    # A person's new name (not audited) is seen in the rows that name them.
    response = owner.post("/account/", {"full_name": "Ottoline Renamed"})
    assert response.status_code == 302
    assert "Ottoline Renamed invited newcomer@acme.example" in _trail(owner, tenant)


def test_each_page_and_each_filter_is_its_own_entry(tenant) -> None:
    for n in range(55):  # more than a page (50)
        audit_record(
            organisation=tenant.organisation, actor=tenant.owner, verb="organisation.updated", target_label=f"ev{n}"
        )
    services.invitation_create(
        organisation=tenant.organisation, actor=tenant.owner, email="solo@acme.example", role="member"
    )
    client = client_for(tenant.owner)
    first, second = _trail(client, tenant), _trail(client, tenant, "?page=2")
    assert "page 1 of 2" in first and "page 2 of 2" in second
    assert "solo@acme.example" in first and "solo@acme.example" not in second
    filtered = _trail(client, tenant, "?verb=invitation.created")
    assert "1 event<" in filtered and "solo@acme.example" in filtered and "ev54" not in filtered
    nothing = _trail(client, tenant, "?q=no-such-thing")
    assert "No events match these filters." in nothing
    # The pagination links keep the query they were built for.
    assert 'href="?verb=organisation.updated&amp;page=2"' in _trail(client, tenant, "?verb=organisation.updated")
    assert 'href="?page=2"' in _trail(client, tenant)


@override_settings(LANGUAGES=[("en-gb", "English"), ("cy", "Welsh")])
def test_the_empty_filter_form_is_the_same_html_as_rendered_afresh_in_each_language() -> None:
    for language in ("en-gb", "cy"):
        with translation.override(language):
            form = AuditFilterForm(verbs=verb_choices())
            afresh = super(AuditFilterForm, form).render()
            assert form.render() == afresh
            assert AuditFilterForm(verbs=verb_choices()).render() == afresh  # from the process's copy
            # `{{ form }}` in the page calls __html__ / __str__: the process's copy too, the very object.
            copy = _EMPTY_AUDIT_FILTERS[(translation.get_language(), repr(verb_choices()))]
            assert AuditFilterForm(verbs=verb_choices()).__html__() is copy
            assert str(AuditFilterForm(verbs=verb_choices())) is copy
    # A filled-in form is written each time, with its values and errors.
    bound = AuditFilterForm({"q": "<script>", "date_from": "2026-02-01", "date_to": "2026-01-01"}, verbs=verb_choices())
    assert bound.is_valid() is False
    html = bound.render()
    assert 'value="&lt;script&gt;"' in html and "The end date must be the same as or after the start date" in html
    assert "<script>" not in html
