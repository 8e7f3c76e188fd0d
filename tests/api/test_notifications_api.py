"""The person's own things through the API: "Your work" (`inbox/`), notifications (list, mark read,
mark all read) and notification preferences. A token works in one organisation: it never shows what
is about another organisation, nor what was sent to the person's address without one; another
person's notifications are never listed nor markable; the query count does not grow with the rows."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_scopes import scopes_disabled

from assessments import services
from portal.dashboard import awaiting_by_organisation, awaiting_items
from portal.models import Delivery, Membership, Notification, NotificationPreference
from portal.notifications import KINDS, deliveries, notify
from portal.roles import Role
from portal.selectors import memberships_of_user
from portal.services import invitation_create
from supplychain import services as supply
from tests.api.conftest import make_token, token_client
from tests.assessments.conftest import responses_by_code
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.querycount import MAX_QUERIES, counting
from tests.supplychain.test_cascade import Company, start

pytestmark = pytest.mark.django_db

INBOX = "/api/v1/inbox/"
NOTIFICATIONS = "/api/v1/notifications/"
PREFERENCES = "/api/v1/notification-preferences/"


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:400]
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code, body
    return body


def _assessment(organisation, actor, framework, title: str):
    return services.assessment_create(
        organisation=organisation,
        actor=actor,
        framework=framework,
        title=title,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )


def _actions(assessment, actor, owner, dues: list[int], prefix: str = "Action") -> None:
    response = next(iter(responses_by_code(assessment).values()))
    today = timezone.localdate()
    for n, days in enumerate(dues):
        services.action_item_create(
            response=response, actor=actor, title=f"{prefix} {n}", owner=owner, due_date=today + timedelta(days)
        )


def _results(client, url: str) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200, response.content[:400]
    return response.json()["results"]


def _walk(client, url: str) -> list[dict]:
    rows: list[dict] = []
    next_url: str | None = url
    while next_url:
        body = client.get(next_url).json()
        rows += body["results"]
        next_url = body["next"]
    return rows


@pytest.fixture
def two_organisations(tenant, framework):
    """The manager of Acme also manages Bravo Foundry; each organisation has an action of theirs due,
    a buyer has sent a request to their own address, and a third organisation invites them to join."""
    manager = tenant.manager
    bravo = OrganisationFactory(name="Bravo Foundry")
    add_member(bravo, manager, Role.MANAGER)
    _actions(_assessment(tenant.organisation, manager, framework, "Acme 2026"), manager, manager, [3, -2], "Acme")
    _actions(_assessment(bravo, manager, framework, "Bravo 2026"), manager, manager, [1], "Bravo")
    buyer = Company("Alpha")
    supply.supplier_save(
        organisation=buyer.org, actor=buyer.owner, name="Mo's own", contact_name="", contact_email=manager.email
    )
    start(buyer, depth=1)
    other = OrganisationFactory(name="Calder Springs")
    other_owner = UserFactory()
    add_member(other, other_owner, Role.OWNER)
    invitation_create(organisation=other, actor=other_owner, email=manager.email, role=Role.MEMBER)
    return bravo


# --- The inbox ---------------------------------------------------------------------------------------


def test_a_session_sees_every_item_of_the_page_in_the_pages_order(tenant, two_organisations) -> None:
    manager = tenant.manager
    page = [
        item
        for _organisation, items in awaiting_by_organisation(awaiting_items(manager, memberships_of_user(manager)))
        for item in items
    ]
    rows = _results(client_for(manager), INBOX)
    assert [(r["kind"], r["title"], r["action"]) for r in rows] == [(i.kind, i.title, i.action) for i in page]
    assert {r["kind"] for r in rows} == {"action", "supplier_request", "invitation"}
    # Sent to the address first, then by organisation name: Acme, Bravo, Calder (the invitation).
    assert [r["organisation"] and r["organisation"]["name"] for r in rows] == [
        None,
        "Acme Precision Engineering",
        "Acme Precision Engineering",
        "Bravo Foundry",
        "Calder Springs",
    ]
    overdue, soon = rows[1], rows[2]
    assert (overdue["title"], soon["title"]) == ("Acme 1", "Acme 0")
    assert overdue["overdue"] is True and soon["overdue"] is False
    assert overdue["due"] == (timezone.localdate() - timedelta(days=2)).isoformat()
    assert overdue["organisation"] == {"slug": tenant.organisation.slug, "name": "Acme Precision Engineering"}
    assert overdue["action"].startswith("Overdue") and overdue["detail"] == "An action you own"
    assert all(r["url"].startswith(settings.SITE_URL + "/") for r in rows)
    # The link is the page where it is done.
    path = overdue["url"].removeprefix(settings.SITE_URL)
    assert client_for(manager).get(path).status_code == 200


def test_a_token_shows_only_its_organisations_items(tenant, two_organisations) -> None:
    manager = tenant.manager
    acme = token_client(make_token(manager, tenant.organisation))
    rows = _results(acme, INBOX)
    assert [(r["kind"], r["title"]) for r in rows] == [("action", "Acme 1"), ("action", "Acme 0")]
    assert {r["organisation"]["slug"] for r in rows} == {tenant.organisation.slug}
    bravo = token_client(make_token(manager, two_organisations))
    assert [r["title"] for r in _results(bravo, INBOX)] == ["Bravo 0"]
    # Nothing sent to the address (no organisation) nor invitations from elsewhere, with either token.
    for client in (acme, bravo):
        assert {r["kind"] for r in _results(client, INBOX)} == {"action"}


def test_a_narrower_token_sees_what_its_role_sees(tenant, framework) -> None:
    assessment = _assessment(tenant.organisation, tenant.manager, framework, "Self-assessment 2026")
    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=tenant.manager, maturity=1, narrative="Some", evidence_ids=[])
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    as_owner = token_client(make_token(tenant.owner, tenant.organisation))
    as_member = token_client(make_token(tenant.owner, tenant.organisation, role=Role.MEMBER))
    assert [(r["kind"], r["action"]) for r in _results(as_owner, INBOX)] == [("signature", "Sign for management")]
    assert _results(as_member, INBOX) == []
    # Nobody else's token shows it either.
    assert _results(token_client(make_token(tenant.member, tenant.organisation)), INBOX) == []


def test_inbox_pages_walk_every_item_once_both_ways(tenant, framework) -> None:
    manager = tenant.manager
    _actions(
        _assessment(tenant.organisation, manager, framework, "Acme 2026"), manager, manager, [5, 1, 1, 3, -4, 0, 2]
    )
    client = token_client(make_token(manager, tenant.organisation))
    everything = _results(client, INBOX)
    assert len(everything) == 7
    assert [r["due"] for r in everything] == sorted(r["due"] for r in everything)
    forward = _walk(client, INBOX + "?page_size=3")
    assert forward == everything
    # Back from the last page.
    body = client.get(INBOX + "?page_size=3").json()
    body = client.get(body["next"]).json()
    last = client.get(body["next"]).json()
    assert last["next"] is None and len(last["results"]) == 1
    back = client.get(last["previous"]).json()
    assert back["results"] == everything[3:6]
    first = client.get(back["previous"]).json()
    assert first["results"] == everything[:3] and first["previous"] is None
    _error(client.get(INBOX + "?cursor=garbage"), 404, "not_found")
    _error(client.get(INBOX + "?cursor=eyJkIjoieCJ9"), 404, "not_found")  # {"d":"x"}


def test_a_cursor_stays_put_when_earlier_items_are_done(tenant, framework) -> None:
    from assessments.models import ActionItem, ActionStatus

    manager = tenant.manager
    _actions(_assessment(tenant.organisation, manager, framework, "Acme 2026"), manager, manager, [1, 2, 3, 4, 5])
    client = token_client(make_token(manager, tenant.organisation))
    first = client.get(INBOX + "?page_size=2").json()
    ActionItem.objects.filter(title="Action 0").update(status=ActionStatus.DONE)
    second = client.get(first["next"]).json()
    assert [r["title"] for r in second["results"]] == ["Action 2", "Action 3"]


# --- Notifications -----------------------------------------------------------------------------------


def _notify(user, organisation, text: str, *, kind: str = "comment", actor=None) -> Notification:
    [notification] = notify(
        kind=kind,
        recipients=[user],
        organisation=organisation,
        actor=actor,
        text=text,
        url="/your-work/",
        key=f"test:{uuid.uuid4()}",
    )
    return notification


@pytest.fixture
def inbox(tenant, outsider):
    """The manager's notifications: two about Acme (one read), one about Bravo, one with no
    organisation; and the owner's and an outsider's."""
    bravo = OrganisationFactory(name="Bravo Foundry")
    add_member(bravo, tenant.manager, Role.MANAGER)
    mine = {
        "acme_read": _notify(
            tenant.manager, tenant.organisation, "Olivia commented on principle 1", actor=tenant.owner
        ),
        "acme": _notify(tenant.manager, tenant.organisation, "Rita asked for changes", actor=tenant.rep),
        "bravo": _notify(tenant.manager, bravo, "A comment in Bravo"),
        "address": _notify(tenant.manager, None, "Alpha sent you a request", kind="supplier_request_received"),
    }
    Notification.objects.filter(pk=mine["acme_read"].pk).update(read_at=timezone.now())
    others = {
        "owner": _notify(tenant.owner, tenant.organisation, "For the owner"),
        "outsider": _notify(outsider, Membership.objects.get(user=outsider).organisation, "For Northern"),
    }
    return {**mine, **others, "bravo_org": bravo}


def test_a_session_lists_all_of_the_persons_own_notifications_newest_first(tenant, inbox) -> None:
    rows = _results(client_for(tenant.manager), NOTIFICATIONS)
    assert [r["text"] for r in rows] == [
        "Alpha sent you a request",
        "A comment in Bravo",
        "Rita asked for changes",
        "Olivia commented on principle 1",
    ]
    read = rows[-1]
    assert read["read"] is True and read["read_at"] is not None
    assert read["kind"] == "comment" and read["kind_label"] == str(KINDS["comment"].label)
    assert read["organisation"] == {"slug": tenant.organisation.slug, "name": tenant.organisation.name}
    assert read["actor_name"] == tenant.owner.display_name
    assert read["url"] == settings.SITE_URL + "/your-work/"
    assert rows[0]["organisation"] is None and rows[0]["actor_name"] is None
    unread = _results(client_for(tenant.manager), NOTIFICATIONS + "?unread=true")
    assert [r["text"] for r in unread] == [r["text"] for r in rows[:3]]
    assert len(_results(client_for(tenant.manager), NOTIFICATIONS + "?unread=false")) == 4
    _error(client_for(tenant.manager).get(NOTIFICATIONS + "?unread=perhaps"), 400, "validation_error")


def test_a_notification_reads_exactly_as_its_serializer_fields_say(tenant, inbox) -> None:
    """The serializer builds each row directly (cheaper than DRF's walk over its fields): the same data
    as the fields give, read or not, with an actor or none, about an organisation or none."""
    from rest_framework import serializers

    from portal.api.notifications import NotificationSerializer

    with scopes_disabled():
        rows = list(Notification.objects.filter(recipient=tenant.manager).select_related("organisation", "actor"))
    assert len(rows) == 4
    for notification in rows:
        fast = NotificationSerializer(notification).data
        assert fast == serializers.ModelSerializer.to_representation(NotificationSerializer(), notification)
        assert list(fast) == list(NotificationSerializer().fields)


def test_a_token_lists_only_notifications_about_its_organisation(tenant, inbox) -> None:
    acme = token_client(make_token(tenant.manager, tenant.organisation))
    assert [r["text"] for r in _results(acme, NOTIFICATIONS)] == [
        "Rita asked for changes",
        "Olivia commented on principle 1",
    ]
    bravo = token_client(make_token(tenant.manager, inbox["bravo_org"]))
    assert [r["text"] for r in _results(bravo, NOTIFICATIONS)] == ["A comment in Bravo"]
    # The owner's token sees the owner's, never the manager's.
    owner = token_client(make_token(tenant.owner, tenant.organisation))
    assert [r["text"] for r in _results(owner, NOTIFICATIONS)] == ["For the owner"]


def test_marking_read_only_ever_touches_the_persons_own(tenant, inbox) -> None:
    client = token_client(make_token(tenant.manager, tenant.organisation))
    response = client.post(f"{NOTIFICATIONS}{inbox['acme'].pk}/read/")
    assert response.status_code == 200, response.content
    assert response.json()["read"] is True and response.json()["id"] == str(inbox["acme"].pk)
    first_read_at = Notification.objects.get(pk=inbox["acme"].pk).read_at
    assert first_read_at is not None
    # Marking it again changes nothing.
    again = client.post(f"{NOTIFICATIONS}{inbox['acme'].pk}/read/")
    assert again.status_code == 200 and Notification.objects.get(pk=inbox["acme"].pk).read_at == first_read_at
    # Another person's, another organisation's (through this token) and the address's: 404, untouched.
    for other in ("owner", "outsider", "bravo", "address"):
        _error(client.post(f"{NOTIFICATIONS}{inbox[other].pk}/read/"), 404, "not_found")
        assert Notification.objects.get(pk=inbox[other].pk).read_at is None, other
    _error(client.post(f"{NOTIFICATIONS}{uuid.uuid4()}/read/"), 404, "not_found")
    # The owner's own session cannot mark the manager's either.
    _error(client_for(tenant.owner).post(f"{NOTIFICATIONS}{inbox['acme'].pk}/read/"), 404, "not_found")


def test_read_all_with_a_token_marks_its_organisations_and_nobody_elses(tenant, inbox) -> None:
    _notify(tenant.manager, tenant.organisation, "One more")
    client = token_client(make_token(tenant.manager, tenant.organisation))
    response = client.post(f"{NOTIFICATIONS}read-all/")
    assert response.status_code == 200 and response.json() == {"marked": 2, "unread": 0}
    assert _results(client, NOTIFICATIONS + "?unread=true") == []
    unread = set(Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True))
    assert unread == {inbox[k].pk for k in ("bravo", "address", "owner", "outsider")}
    # The session (the portal's own pages) marks all of the person's, in every organisation.
    session = client_for(tenant.manager).post(f"{NOTIFICATIONS}read-all/")
    assert session.json() == {"marked": 2, "unread": 0}
    unread = set(Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True))
    assert unread == {inbox["owner"].pk, inbox["outsider"].pk}


def test_read_all_honours_an_idempotency_key(tenant, inbox) -> None:
    client = token_client(make_token(tenant.manager, tenant.organisation))
    first = client.post(f"{NOTIFICATIONS}read-all/", HTTP_IDEMPOTENCY_KEY="read-all-1")
    _notify(tenant.manager, tenant.organisation, "Arrived after")
    replay = client.post(f"{NOTIFICATIONS}read-all/", HTTP_IDEMPOTENCY_KEY="read-all-1")
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == first.json() == {"marked": 1, "unread": 0}
    assert Notification.objects.get(text="Arrived after").read_at is None


def test_every_token_role_may_mark_its_own_notifications(tenant) -> None:
    """Tokens carry a role, not read-only scopes; marking read changes only the person's own list."""
    notification = _notify(tenant.auditor, tenant.organisation, "An action of yours is due", kind="action_due")
    auditor = token_client(make_token(tenant.auditor, tenant.organisation))
    assert auditor.post(f"{NOTIFICATIONS}{notification.pk}/read/").json()["read"] is True


def test_a_token_whose_person_left_or_was_narrowed_is_refused(tenant, inbox) -> None:
    raw = make_token(tenant.manager, tenant.organisation)
    Membership.objects.filter(user=tenant.manager, organisation=tenant.organisation).update(role=Role.MEMBER)
    for url in (INBOX, NOTIFICATIONS, PREFERENCES):
        _error(token_client(raw).get(url), 403, "token_role_exceeded")
    Membership.objects.filter(user=tenant.manager, organisation=tenant.organisation).delete()
    for url in (INBOX, NOTIFICATIONS, PREFERENCES):
        _error(token_client(raw).get(url), 403, "token_membership_ended")
    _error(token_client(raw).post(f"{NOTIFICATIONS}{inbox['acme'].pk}/read/"), 403, "token_membership_ended")
    assert Notification.objects.get(pk=inbox["acme"].pk).read_at is None


# --- Preferences -------------------------------------------------------------------------------------


def test_preferences_list_every_kind_with_its_label_delivery_and_default(tenant) -> None:
    client = token_client(make_token(tenant.member, tenant.organisation))
    body = client.get(PREFERENCES).json()
    assert body["time_zone"] == "Europe/London"
    assert [k["kind"] for k in body["kinds"]] == list(KINDS)
    for row in body["kinds"]:
        kind = KINDS[row["kind"]]
        assert row == {"kind": kind.key, "label": str(kind.label), "delivery": kind.default, "default": kind.default}


def test_put_sets_every_kind_and_the_time_zone_and_they_are_obeyed(tenant) -> None:
    client = token_client(make_token(tenant.member, tenant.organisation))
    kinds = [{"kind": key, "delivery": Delivery.OFF if key == "comment" else Delivery.DIGEST} for key in KINDS]
    response = client.put(PREFERENCES, {"time_zone": "America/New_York", "kinds": kinds}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["time_zone"] == "America/New_York"
    assert {k["kind"]: k["delivery"] for k in body["kinds"]} == {k["kind"]: k["delivery"] for k in kinds}
    assert client.get(PREFERENCES).json() == body
    tenant.member.refresh_from_db()
    assert tenant.member.time_zone == "America/New_York"
    # What notify() reads is what was set.
    assert deliveries([tenant.member], "comment") == {tenant.member.pk: Delivery.OFF}
    assert deliveries([tenant.member], "report_ready") == {tenant.member.pk: Delivery.DIGEST}
    # Only this person's.
    assert deliveries([tenant.owner], "comment") == {tenant.owner.pk: KINDS["comment"].default}


def test_patch_changes_only_what_it_names(tenant) -> None:
    client = client_for(tenant.member)
    response = client.patch(
        PREFERENCES, {"kinds": [{"kind": "report_ready", "delivery": "off"}]}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    deliveries_now = {k["kind"]: k["delivery"] for k in response.json()["kinds"]}
    assert deliveries_now["report_ready"] == "off"
    assert all(deliveries_now[key] == kind.default for key, kind in KINDS.items() if key != "report_ready")
    assert response.json()["time_zone"] == "Europe/London"
    client.patch(PREFERENCES, {"time_zone": "Asia/Kolkata"}, content_type="application/json")
    body = client.get(PREFERENCES).json()
    assert body["time_zone"] == "Asia/Kolkata" and {k["kind"]: k["delivery"] for k in body["kinds"]} == deliveries_now


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("patch", {"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ("patch", {"time_zone": ""}, "time_zone"),
        ("patch", {"kinds": [{"kind": "comment", "delivery": "weekly"}]}, "kinds.0.delivery"),
        (
            "patch",
            {"kinds": [{"kind": "comment", "delivery": "off"}, {"kind": "gossip", "delivery": "off"}]},
            "kinds.1.kind",
        ),
        (
            "patch",
            {"kinds": [{"kind": "comment", "delivery": "off"}, {"kind": "comment", "delivery": "digest"}]},
            "kinds.1.kind",
        ),
        ("patch", {"kinds": [{"kind": "comment"}]}, "kinds.0.delivery"),
        ("patch", {"kinds": "comment=off"}, "kinds"),
        ("patch", {"kinds": [{"kind": "comment", "delivery": "off", "user": 1}]}, "kinds.0.user"),
        ("patch", {"recipient": "someone@else.example"}, "recipient"),
        ("put", {"kinds": [{"kind": key, "delivery": "off"} for key in KINDS]}, "time_zone"),
        ("put", {"time_zone": "Europe/London", "kinds": [{"kind": "comment", "delivery": "off"}]}, "kinds"),
    ],
)
def test_invalid_preferences_are_refused_at_the_field_and_nothing_is_saved(tenant, method, body, field) -> None:
    client = token_client(make_token(tenant.member, tenant.organisation))
    # A valid change alongside the invalid one is not saved either.
    if method == "patch" and "time_zone" not in body:
        body = {**body, "time_zone": "Asia/Tokyo"}
    elif method == "patch" and "kinds" not in body:
        body = {**body, "kinds": [{"kind": "report_ready", "delivery": "off"}]}
    response = getattr(client, method)(PREFERENCES, body, format="json")
    error = _error(response, 400, "validation_error")
    assert field in error["fields"], error
    assert error["message"].startswith("Check ")
    tenant.member.refresh_from_db()
    assert tenant.member.time_zone == "Europe/London"
    assert not NotificationPreference.objects.filter(user=tenant.member).exists()


# --- Query counts ------------------------------------------------------------------------------------


def _constant(client, url: str, grow) -> tuple[int, int]:
    """Queries for the list with few rows, then after `grow()` adds many; both on the whole page."""
    counts = []
    for step in (None, grow):
        if step is not None:
            step()
        client.get(url)  # warm: the token's last-used time
        with counting() as queries:
            response = client.get(url)
        assert response.status_code == 200
        counts.append((len(queries), len(response.json()["results"]), queries))
    (few, few_rows, _), (many, many_rows, listing) = counts
    assert many_rows > few_rows
    assert few == many, listing.listing()
    assert many <= MAX_QUERIES, listing.listing()
    return few, many_rows


def test_notification_list_queries_do_not_grow(tenant) -> None:
    _notify(tenant.manager, tenant.organisation, "The first")

    def sixty_more() -> None:
        for n in range(60):
            _notify(tenant.manager, tenant.organisation, f"Number {n}", actor=tenant.owner)

    token = token_client(make_token(tenant.manager, tenant.organisation))
    # The token (with its person, organisation and membership); the page.
    assert _constant(token, NOTIFICATIONS + "?page_size=100", sixty_more) == (2, 61)
    # A session (kept in the cache): the person, the page.
    session = client_for(tenant.manager)
    session.get(NOTIFICATIONS)
    with counting() as queries:
        assert len(session.get(NOTIFICATIONS + "?page_size=100").json()["results"]) == 61
    assert len(queries) == 2, queries.listing()


def test_inbox_queries_do_not_grow_with_items(tenant, framework) -> None:
    manager = tenant.manager
    assessment = _assessment(tenant.organisation, manager, framework, "Acme 2026")
    _actions(assessment, manager, manager, [1])
    token = token_client(make_token(manager, tenant.organisation))
    queries, rows = _constant(token, INBOX, lambda: _actions(assessment, manager, manager, list(range(-10, 12))))
    assert rows == 23
    # The token with its membership; every kind of item in one query.
    assert queries == 2
