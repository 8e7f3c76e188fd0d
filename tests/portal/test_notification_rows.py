"""The notifications page's items are written in Python (portal/templatetags/notification_rows.py): the
same HTML as the template's loop (kept as tests/portal/reference/notification_rows.html), byte for byte,
for unread and read items, with and without an organisation, hostile text and names, in summer and
winter time; and the page shows them with their forms."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import timezone
from django_scopes import scopes_disabled

from portal import notifications
from portal.models import Notification
from tests.conftest import client_for
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

NEW = engines["django"].from_string("{% load notification_rows %}{% notification_rows items %}")


def _old():
    return engines["django"].from_string((Path(__file__).parent / "reference" / "notification_rows.html").read_text())


def _items(tenant) -> list[Notification]:
    hostile = OrganisationFactory(name='Bell & <script>alert("x")</script> "Ltd"')
    made = []
    for i, (organisation, text) in enumerate(
        [
            (tenant.organisation, "A plan is waiting for your signature"),
            (None, 'Tom & Jerry\'s <b>request</b> "now"'),
            (hostile, "Evidence runs out on 1 July"),
        ]
    ):
        made += notifications.notify(
            kind="comment",
            recipients=[tenant.owner],
            organisation=organisation,
            actor=None,
            text=text,
            url="/",
            key=f"k{i}",
        )
    with scopes_disabled():
        Notification.objects.filter(pk=made[1].pk).update(read_at=timezone.now())
        Notification.objects.filter(pk=made[0].pk).update(
            created_at=datetime(2026, 7, 1, 23, 30, tzinfo=ZoneInfo("UTC"))  # summer time: 2 July, 00:30 BST
        )
        Notification.objects.filter(pk=made[2].pk).update(
            created_at=datetime(2026, 12, 7, 9, 5, 7, tzinfo=ZoneInfo("UTC"))
        )
        return list(notifications.notifications_of(tenant.owner))


def test_the_items_are_the_templates_html_byte_for_byte(tenant) -> None:
    items = _items(tenant)
    assert {bool(n.read_at) for n in items} == {True, False}
    assert {n.organisation is None for n in items} == {True, False}
    request = RequestFactory().get("/notifications/")
    request.user = tenant.owner
    old = _old()
    compared = 0
    for shown in (items, items[:1], items[1:2], []):
        for token in ("a-token", None):
            for zone in ("Europe/London", "America/New_York"):
                with timezone.override(zone):
                    context = {"page": {"object_list": shown}, "items": shown, "request": request, "csrf_token": token}
                    before = old.render(context, request)
                    after = NEW.render(context, request)
                assert after == before
                compared += 1
    assert compared == 16
    html = NEW.render({"items": items, "csrf_token": "a-token"}, request)
    assert "Bell &amp; &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &quot;Ltd&quot;" in html
    assert "Tom &amp; Jerry&#x27;s &lt;b&gt;request&lt;/b&gt; &quot;now&quot;" in html
    assert "<script>" not in html and html.count("notification-list__item--unread") == 2


def test_the_page_shows_each_item_with_its_open_form(tenant) -> None:
    items = _items(tenant)
    client = client_for(tenant.owner)
    html = client.get("/notifications/").content.decode()
    for n in items:
        assert f'data-notification="{n.pk}"' in html
        assert f'action="/notifications/{n.pk}/open/"' in html
    assert html.count('name="csrfmiddlewaretoken"') >= len(items)
    opened = client.post(f"/notifications/{items[0].pk}/open/")
    assert opened.status_code == 302
