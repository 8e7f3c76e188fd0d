"""Notifications (issue 16, part 3): the person's list and its count, read and unread, preferences,
the emails and their one-click unsubscribe (RFC 8058).

Which events make which notifications is tested beside each app's services
(tests/assessments/test_review_notifications.py, tests/supplychain/test_supplier_notifications.py);
here `notify` is called directly, as every app calls it.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django_scopes import scopes_disabled

from portal import notifications
from portal.models import Delivery, Notification, NotificationPreference, Outbox, User
from portal.notifications import KINDS, Email, notify
from portal.roles import Role
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


def tell(
    tenant, recipients, *, kind: str = "signature_requested", key: str = "k1", actor=None, url: str = "/your-work/"
):
    return notify(
        kind=kind,
        recipients=recipients,
        organisation=tenant.organisation,
        actor=actor if actor is not None else tenant.manager,
        text=f"{tenant.manager.display_name} sent Self-assessment 2026 for workforce review ({key})",
        url=url,
        key=key,
    )


def listed(user: User) -> list[Notification]:
    with scopes_disabled():
        return list(Notification.objects.filter(recipient=user).order_by("created_at"))


def sent_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


def unsubscribe_path(user: User, kind: str) -> str:
    return urlparse(notifications.unsubscribe_url(user, kind)).path


# --- notify(): who is told, and how -------------------------------------------------------------


def test_notify_tells_each_person_once_never_the_actor_and_emails_as_each_prefers(
    tenant, django_capture_on_commit_callbacks
) -> None:
    notifications.set_preference(user=tenant.owner, kind="signature_requested", delivery=Delivery.DIGEST)
    notifications.set_preference(user=tenant.auditor, kind="signature_requested", delivery=Delivery.OFF)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        made = tell(tenant, [tenant.rep, tenant.owner, tenant.auditor, tenant.manager])  # the manager acts
        again = tell(tenant, [tenant.rep, tenant.owner])  # a retry with the same key makes nothing
    assert {n.recipient for n in made} == {tenant.rep, tenant.owner, tenant.auditor}
    assert again == []
    assert listed(tenant.manager) == [] and listed(tenant.member) == []
    assert [n.delivery for n in listed(tenant.owner)] == [Delivery.DIGEST]
    # Straight away for the rep (the default), none for the digest (sent later by the digest) or off.
    assert [m.to for m in mail.outbox] == [[tenant.rep.email]]


def test_every_notification_email_has_the_one_click_unsubscribe_headers_and_footer(
    tenant, django_capture_on_commit_callbacks
) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tell(tenant, [tenant.rep])
    (message,) = mail.outbox
    link = notifications.unsubscribe_url(tenant.rep, "signature_requested")
    assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # And on the wire, as a mail provider reads them.
    raw = message.message()
    assert raw["List-Unsubscribe"] == f"<{link}>" and raw["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert link in body and "/account/notifications/" in body
        assert str(KINDS["signature_requested"].label) in body
    assert "sent Self-assessment 2026 for workforce review" in message.body


def test_a_kind_that_is_never_emailed_sends_no_email_whatever_the_preference(
    tenant, django_capture_on_commit_callbacks
) -> None:
    assert KINDS["supplier_request_received"].emailed is False
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        (made,) = tell(tenant, [tenant.owner], kind="supplier_request_received")
    assert made.delivery == Delivery.OFF and mail.outbox == []


def test_a_kinds_own_email_template_gets_the_footer_too(tenant, django_capture_on_commit_callbacks) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            kind="export_ready",
            recipients=[tenant.owner],
            organisation=tenant.organisation,
            actor=None,
            text="The data export is ready",
            url="/",
            key="export",
            email=Email(subject="Export ready", template="export_ready", context={"url": "https://x.example/e/"}),
        )
    (message,) = mail.outbox
    assert message.subject == "Export ready" and "https://x.example/e/" in message.body
    assert notifications.unsubscribe_url(tenant.owner, "export_ready") in message.body
    assert "List-Unsubscribe" in message.extra_headers


# --- The list, the count in the navigation, read and unread ------------------------------------


def test_the_list_shows_only_the_persons_own_newest_first_with_new_ones_marked(tenant, outsider) -> None:
    tell(tenant, [tenant.rep, tenant.owner], key="first")
    tell(tenant, [tenant.rep], key="second")
    other = OrganisationFactory(name="Northern Castings Two")
    add_member(other, outsider, Role.OWNER)
    html = client_for(tenant.rep).get("/notifications/").content.decode()
    assert html.index("(second)") < html.index("(first)")
    assert html.count(">New</strong>") == 2
    assert 'class="header__badge">2<span class="visually-hidden"> unread notifications' in html
    assert "(first)" not in client_for(outsider).get("/notifications/").content.decode()
    assert "No notifications yet" in client_for(tenant.auditor).get("/notifications/").content.decode()


def test_the_navigation_count_and_the_list_agree_and_mark_all_read_touches_only_ones_own(tenant) -> None:
    for i in range(3):
        tell(tenant, [tenant.rep, tenant.owner], key=f"k{i}")
    rep = client_for(tenant.rep)
    unread = rep.get("/notifications/?show=unread").content.decode()
    assert unread.count('data-notification="') == 3 and 'class="header__badge">3<' in unread

    response = rep.post("/notifications/read-all/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    assert all(n.read_at for n in listed(tenant.rep))
    assert not any(n.read_at for n in listed(tenant.owner))  # the owner's copies are untouched
    html = rep.get("/notifications/?show=unread").content.decode()
    assert "You have no unread notifications" in html and "header__badge" not in html.split("Your organisations")[0]
    everything = rep.get("/notifications/").content.decode()
    assert everything.count('data-notification="') == 3 and ">New</strong>" not in everything
    assert rep.get("/notifications/read-all/").status_code == 405  # a GET changes nothing


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(tenant) -> None:
    (mine,) = tell(tenant, [tenant.rep], url=f"/o/{tenant.organisation.slug}/assessments/")
    rep = client_for(tenant.rep)
    response = rep.post(f"/notifications/{mine.pk}/open/")
    assert response.status_code == 302 and response["Location"] == f"/o/{tenant.organisation.slug}/assessments/"
    assert listed(tenant.rep)[0].read_at is not None
    assert rep.get(f"/notifications/{mine.pk}/open/").status_code == 405  # only the button (a POST) opens it


def test_nobody_opens_or_marks_read_someone_elses_notification(tenant, outsider) -> None:
    (theirs,) = tell(tenant, [tenant.owner])
    for intruder in (tenant.rep, outsider):
        assert client_for(intruder).post(f"/notifications/{theirs.pk}/open/").status_code == 404
    assert Client().post(f"/notifications/{theirs.pk}/open/").status_code == 302  # to sign in
    assert notifications.mark_read(tenant.rep, [theirs.pk]) == 0
    assert listed(tenant.owner)[0].read_at is None


@pytest.mark.parametrize(
    "url",
    ["https://evil.example/phish", "//evil.example/phish", "/\\evil.example", "javascript:alert(1)", "http:/x"],
)
def test_opening_a_notification_never_redirects_off_the_site(tenant, url) -> None:
    (mine,) = tell(tenant, [tenant.rep], url=url)
    response = client_for(tenant.rep).post(f"/notifications/{mine.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"


def test_the_list_is_paginated(tenant, settings) -> None:
    settings.NOTIFICATIONS_PER_PAGE = 2
    for i in range(5):
        tell(tenant, [tenant.rep], key=f"page{i}")
    rep = client_for(tenant.rep)
    first = rep.get("/notifications/").content.decode()
    assert first.count('data-notification="') == 2 and "(page4)" in first and 'rel="next"' in first
    last = rep.get("/notifications/?page=3").content.decode()
    assert last.count('data-notification="') == 1 and "(page0)" in last
    unread = rep.get("/notifications/?show=unread").content.decode()
    assert "?show=unread&amp;page=2" in unread


def test_signed_in_base_cost_stays_three_queries_with_the_unread_count(tenant) -> None:
    """The navigation's two counts (what waits, what is unread) are one query."""
    owner = client_for(tenant.owner)
    owner.get("/account/")
    with assert_queries(3, "account page"):
        html = owner.get("/account/").content.decode()
    assert "unread notification" not in html
    tell(tenant, [tenant.owner], key="a")
    tell(tenant, [tenant.owner], key="b")
    with assert_queries(3, "account page, with notifications"):
        html = owner.get("/account/").content.decode()
    assert 'class="header__badge">2<span class="visually-hidden"> unread notifications' in html


def test_the_list_page_costs_the_same_whatever_the_number_of_notifications(tenant) -> None:
    """Base 3 (the user, the memberships, the navigation's counts); the page's count and its rows."""
    owner = client_for(tenant.owner)
    tell(tenant, [tenant.owner], key="one")
    for url in ("/notifications/", "/notifications/?show=unread"):
        owner.get(url)
        with assert_queries(5, url):
            owner.get(url)
    for i in range(40):
        tell(tenant, [tenant.owner], key=f"many{i}")
    for url in ("/notifications/", "/notifications/?show=unread", "/notifications/?page=2"):
        with assert_queries(5, url):
            assert owner.get(url).status_code == 200


def test_your_work_shows_the_unread_count_at_no_extra_query(tenant) -> None:
    tell(tenant, [tenant.rep], key="w1")
    html = client_for(tenant.rep).get("/your-work/").content.decode()
    assert 'class="header__badge">1<span class="visually-hidden"> unread notification<' in html


# --- Preferences ---------------------------------------------------------------------------------


def preference_form(**changes: str) -> dict[str, str]:
    data = {f"kind_{k}": kind.default for k, kind in KINDS.items() if kind.emailed}
    data["time_zone"] = "Europe/London"
    data.update(changes)
    return data


def test_the_preferences_page_lists_every_kind_and_saves_choices_and_time_zone(tenant) -> None:
    rep = client_for(tenant.rep)
    html = rep.get("/account/notifications/").content.decode()
    for key, kind in KINDS.items():
        assert str(kind.label).replace("'", "&#x27;") in html
        if kind.emailed:
            assert f'name="kind_{key}"' in html
    assert '<option value="Europe/London" selected>' in html
    assert 'href="/account/notifications/" aria-current="page"' in html  # in the account navigation

    response = rep.post(
        "/account/notifications/",
        preference_form(kind_comment="immediate", kind_signature_requested="off", time_zone="America/New_York"),
    )
    assert response.status_code == 302 and response["Location"] == "/account/notifications/"
    tenant.rep.refresh_from_db()
    assert tenant.rep.time_zone == "America/New_York"
    chosen = notifications.preferences(tenant.rep)
    assert chosen["comment"] == "immediate" and chosen["signature_requested"] == "off"
    assert chosen["action_due"] == KINDS["action_due"].default
    page = rep.get("/account/notifications/").content.decode()
    assert "Your notification settings have been saved." in page
    assert '<option value="America/New_York" selected>' in page
    assert notifications.preferences(tenant.owner)["signature_requested"] == "immediate"  # nobody else's


def test_bad_preferences_are_refused_with_an_error_summary_and_nothing_saved(tenant) -> None:
    rep = client_for(tenant.rep)
    response = rep.post(
        "/account/notifications/", preference_form(kind_comment="sometimes", time_zone="Mars/Olympus_Mons")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error:" in html and "There is a problem" in html
    assert 'href="#id_kind_comment_0"' in html and 'href="#id_time_zone"' in html
    assert "Choose a time zone from the list" in html
    tenant.rep.refresh_from_db()
    assert tenant.rep.time_zone == "Europe/London"
    with scopes_disabled():
        assert not NotificationPreference.objects.filter(user=tenant.rep).exists()
    # The rule the page and the API share refuses it too, on the field.
    with pytest.raises(ValidationError) as refused:
        notifications.preferences_save(user=tenant.rep, choices={}, time_zone="Not/AZone")
    assert "time_zone" in refused.value.message_dict
    assert Client().get("/account/notifications/").status_code == 302  # to sign in


def test_the_preferences_page_draws_each_choice_as_the_form_template_does(tenant) -> None:
    """The radio groups are built in Python (the template cost more than the rest of the page): the same
    HTML as templates/forms/field.html, byte for byte, unbound, bound, and with each kind of error; the
    page shows them with the person's choices and errors."""
    from portal.forms import NotificationPreferencesForm
    from portal.notification_views import _radio_group

    current = {key: kind.default for key, kind in KINDS.items()} | {"comment": "off"}
    data = {"kind_comment": "sometimes", "kind_signature_requested": "digest", "time_zone": "Europe/London"}
    for form in (
        NotificationPreferencesForm(None, current=current, time_zone="Europe/London"),
        NotificationPreferencesForm(data, current=current, time_zone="Europe/London"),
    ):
        form.is_valid()  # the bound one: an invalid choice, a missing choice (required), a valid one
        for name in form.fields:
            if name.startswith("kind_"):
                assert str(_radio_group(form[name])) == str(form[name].as_field_group()), name

    rep = client_for(tenant.rep)
    notifications.set_preference(user=tenant.rep, kind="comment", delivery="off")
    html = rep.get("/account/notifications/").content.decode()
    assert 'value="off" id="id_kind_comment_2" checked>' in html
    assert 'value="digest" id="id_kind_action_due_1" checked>' in html
    html = rep.post("/account/notifications/", preference_form(kind_comment="sometimes")).content.decode()
    assert '<fieldset class="fieldset" aria-describedby="id_kind_comment_error">' in html
    assert '<p class="error-message" id="id_kind_comment_error"><span class="visually-hidden">Error:</span> ' in html


# --- One-click unsubscribe (RFC 8058) ------------------------------------------------------------


def test_unsubscribe_get_changes_nothing_and_one_click_post_turns_the_kind_off(
    tenant, django_capture_on_commit_callbacks
) -> None:
    path = unsubscribe_path(tenant.rep, "signature_requested")
    anonymous = Client(enforce_csrf_checks=True)  # as a mail provider posts: no session, no CSRF token
    page = anonymous.get(path)
    assert page.status_code == 200 and str(KINDS["signature_requested"].label) in page.content.decode()
    assert notifications.preferences(tenant.rep)["signature_requested"] == "immediate"

    response = anonymous.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "You have unsubscribed" in response.content.decode()
    assert "/account/notifications/" in response.content.decode()
    assert notifications.preferences(tenant.rep)["signature_requested"] == "off"
    assert notifications.preferences(tenant.rep)["changes_requested"] == "immediate"  # only that kind
    assert notifications.preferences(tenant.owner)["signature_requested"] == "immediate"  # only that person

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tell(tenant, [tenant.rep, tenant.owner], key="after")
    assert [m.to for m in mail.outbox] == [[tenant.owner.email]]
    assert len(listed(tenant.rep)) == 1  # still in the portal list


def test_the_unsubscribe_button_works_without_signing_in_and_a_multipart_one_click_too(tenant) -> None:
    path = unsubscribe_path(tenant.owner, "comment")
    response = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})  # multipart
    assert response.status_code == 200
    assert notifications.preferences(tenant.owner)["comment"] == "off"


def test_a_tampered_or_forged_unsubscribe_token_is_refused_and_changes_nothing(tenant) -> None:
    from django.core import signing

    good = notifications.unsubscribe_token(tenant.rep, "signature_requested")
    forged = [
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),  # the signature altered
        signing.Signer(salt="another.salt").sign_object({"u": tenant.owner.pk, "k": "signature_requested"}),
        signing.Signer(key="not-the-secret-key", salt=notifications.UNSUBSCRIBE_SALT).sign_object(
            {"u": tenant.owner.pk, "k": "signature_requested"}
        ),
        signing.dumps({"u": tenant.owner.pk, "k": "comment"}, salt=notifications.UNSUBSCRIBE_SALT),  # timestamped
        signing.Signer(salt=notifications.UNSUBSCRIBE_SALT).sign_object({"u": tenant.owner.pk, "k": "no_such_kind"}),
        signing.Signer(salt=notifications.UNSUBSCRIBE_SALT).sign_object({"u": 999999, "k": "comment"}),
        "not-a-token",
    ]
    client = Client(enforce_csrf_checks=True)
    for token in forged:
        for method in (client.get, client.post):
            response = method(f"/notifications/unsubscribe/{token}/")
            assert response.status_code == 400, token
            assert "This unsubscribe link does not work" in response.content.decode()
    with scopes_disabled():
        assert not NotificationPreference.objects.exists()


def test_a_persons_token_changes_only_that_person_and_that_kind(tenant) -> None:
    """Swapping the person or kind inside a real token breaks its signature: one person's link can
    never turn off another's emails, nor another kind."""
    from django.core import signing

    token = notifications.unsubscribe_token(tenant.rep, "comment")
    _payload, signed = token.split(":", 1)
    for other in (
        notifications.unsubscribe_token(tenant.owner, "comment"),
        notifications.unsubscribe_token(tenant.rep, "signature_requested"),
    ):
        tampered = other.split(":", 1)[0] + ":" + signed  # another person's or kind's payload, this signature
        assert tampered != token and tampered != other
        with pytest.raises(signing.BadSignature):
            signing.Signer(salt=notifications.UNSUBSCRIBE_SALT).unsign_object(tampered)
        assert Client().post(f"/notifications/unsubscribe/{tampered}/").status_code == 400
    assert Client().post(f"/notifications/unsubscribe/{token}/").status_code == 200
    assert notifications.preferences(tenant.rep)["comment"] == "off"
    assert notifications.preferences(tenant.owner)["comment"] == KINDS["comment"].default


def test_only_the_unsubscribe_view_is_exempt_from_csrf(tenant) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.rep)
    assert client.post("/account/notifications/", preference_form()).status_code == 403
    assert client.post("/notifications/read-all/").status_code == 403


def test_outbox_rows_keep_the_headers_for_the_worker(tenant, django_capture_on_commit_callbacks) -> None:
    """The headers travel on the outbox row, so a retried or swept email still carries them."""
    tell(tenant, [tenant.rep], key="row")
    with scopes_disabled():
        (row,) = Outbox.objects.filter(to_email=tenant.rep.email)
    assert row.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (
        row.headers["List-Unsubscribe"].startswith("<http")
        and "/notifications/unsubscribe/" in row.headers["List-Unsubscribe"]
    )


def test_a_deleted_or_inactive_person_is_not_told(tenant) -> None:
    gone = UserFactory()
    add_member(tenant.organisation, gone, Role.MEMBER)
    User.objects.filter(pk=gone.pk).update(is_active=False)
    gone.refresh_from_db()
    assert tell(tenant, [gone]) == []


def test_a_ready_export_tells_whoever_asked_with_its_own_email(tenant, django_capture_on_commit_callbacks) -> None:
    from datetime import timedelta

    from django.utils import timezone
    from django_scopes import scope

    from portal.exports import export_notify_ready
    from portal.models import ExportStatus, OrganisationExport

    now = timezone.now()
    with scope(organisation=tenant.organisation):
        export = OrganisationExport.objects.create(
            organisation=tenant.organisation,
            requested_by=tenant.owner,
            status=ExportStatus.READY,
            completed_at=now,
            expires_at=now + timedelta(days=7),
        )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        export_notify_ready(organisation=tenant.organisation, export=export)
        export_notify_ready(organisation=tenant.organisation, export=export)  # a retried task: once
    (line,) = listed(tenant.owner)
    assert line.kind == "export_ready" and line.url == f"/o/{tenant.organisation.slug}/settings/export/{export.pk}/"
    assert line.text == f"The data export of {tenant.organisation.name} you asked for is ready to download"
    (message,) = mail.outbox
    assert message.to == [tenant.owner.email] and "your data export is ready" in message.subject
    assert f"Hello {tenant.owner.display_name}" in message.body and str(export.pk) in message.body
    assert "List-Unsubscribe" in message.extra_headers


def test_a_persons_notifications_are_in_their_data_and_go_with_their_account(tenant) -> None:
    from portal import privacy

    tell(tenant, [tenant.rep, tenant.owner], key="data")
    notifications.set_preference(user=tenant.rep, kind="comment", delivery=Delivery.OFF)
    data = privacy.personal_data(tenant.rep)
    assert [n["kind"] for n in data["notifications"]] == ["signature_requested"]
    assert data["notification_settings"][0]["emails"]["comment"] == "off"
    privacy.account_delete(user=tenant.rep)
    with scopes_disabled():
        assert not Notification.objects.filter(recipient=tenant.rep).exists()
        assert not NotificationPreference.objects.filter(user=tenant.rep).exists()
        assert Notification.objects.filter(recipient=tenant.owner).count() == 1
