"""Every foundation page, visited in a real browser by an owner: no serious or critical axe-core
violations, no CSP errors, usable at 320px wide and by keyboard."""

from __future__ import annotations

import pytest
from django_scopes import scope

from portal import services
from portal.models import Membership
from portal.roles import Role
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, add_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def organisation_with_people():
    organisation = OrganisationFactory(name="Acme Precision Engineering")
    owner = UserFactory(email="owner@acme.example", full_name="Olivia Owen")
    add_member(organisation, owner, Role.OWNER)
    for role in (Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR):
        add_member(organisation, UserFactory(), role)
    invitation = services.invitation_create(
        organisation=organisation, actor=owner, email="pending@acme.example", role=Role.MEMBER
    )
    return organisation, owner, invitation


def _sign_in(visitor, email: str) -> None:
    visitor.goto("/accounts/login/")
    visitor.page.get_by_label("Email").fill(email)
    visitor.page.get_by_label("Password").fill(PASSWORD)
    visitor.submit("Sign in")


def test_every_page_an_owner_reaches_is_accessible(visitor_factory, organisation_with_people) -> None:
    organisation, owner, invitation = organisation_with_people
    with scope(organisation=organisation):
        member = Membership.objects.exclude(user=owner).first()
    anonymous = visitor_factory()
    for path in ("/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        anonymous.goto(path)
    # A failed sign-in shows the error summary, which axe checks too.
    anonymous.goto("/accounts/login/")
    anonymous.page.get_by_label("Email").fill("nobody@example.org")
    anonymous.page.get_by_label("Password").fill("wrong password")
    anonymous.submit("Sign in")
    assert anonymous.page.title().startswith("Error:")

    visitor = visitor_factory()
    _sign_in(visitor, owner.email)
    slug = organisation.slug
    for path in (
        f"/o/{slug}/",
        f"/o/{slug}/members/",
        f"/o/{slug}/members/{member.pk}/role/",
        f"/o/{slug}/members/{member.pk}/remove/",
        f"/o/{slug}/invitations/new/",
        f"/o/{slug}/invitations/{invitation.pk}/revoke/",
        f"/o/{slug}/leave/",
        f"/o/{slug}/audit/",
        f"/o/{slug}/audit/?verify=1",
        "/organisations/",
        "/organisations/new/",
        "/your-work/",
        "/account/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/sessions/",
    ):
        visitor.goto(path)
    visitor.goto("/o/no-such-organisation/", status=404)
    assert "Page not found" in visitor.page.content()
    assert len(visitor.checked) >= 18


def test_notification_pages_are_accessible(visitor_factory, organisation_with_people) -> None:
    from urllib.parse import urlparse

    from portal.notifications import notify, unsubscribe_url

    organisation, owner, _ = organisation_with_people
    with scope(organisation=organisation):
        manager = Membership.objects.get(role=Role.MANAGER).user
    for i in range(2):
        notify(
            kind="changes_requested",
            recipients=[owner],
            organisation=organisation,
            actor=manager,
            text=f"{manager.display_name} asked for changes to Self-assessment 2026 ({i})",
            url=f"/o/{organisation.slug}/",
            key=f"browser-{i}",
        )
    visitor = visitor_factory()
    _sign_in(visitor, owner.email)
    visitor.goto("/notifications/")
    assert visitor.page.get_by_text("unread notifications").count() == 1  # the count in the navigation
    visitor.goto("/notifications/?show=unread")
    visitor.submit("Mark all as read")
    assert "notification-list__item--unread" not in visitor.page.content()  # back on the list, all read
    visitor.goto("/notifications/?show=unread")
    assert "You have no unread notifications" in visitor.page.content()
    visitor.goto("/account/notifications/")
    visitor.page.get_by_role("group", name="A comment on your work").get_by_label("Straight away").check()
    visitor.submit("Save settings")
    assert "Your notification settings have been saved." in visitor.page.content()

    anonymous = visitor_factory()
    path = urlparse(unsubscribe_url(owner, "changes_requested")).path
    anonymous.goto(path)
    anonymous.submit("Unsubscribe")
    assert "You have unsubscribed" in anonymous.page.content()
    anonymous.goto("/notifications/unsubscribe/not-a-real-token/", status=400)
    assert "This unsubscribe link does not work" in anonymous.page.content()


def test_small_screen_and_keyboard_only(visitor_factory, organisation_with_people) -> None:
    organisation, owner, _ = organisation_with_people
    visitor = visitor_factory()
    visitor.page.set_viewport_size({"width": 320, "height": 640})
    _sign_in(visitor, owner.email)
    visitor.goto(f"/o/{organisation.slug}/members/")
    # Nothing forces sideways scrolling of the whole page on a 320px phone.
    assert visitor.page.evaluate("document.documentElement.scrollWidth") <= 320
    # The first Tab reaches the skip link, and following it lands on the main content.
    visitor.page.keyboard.press("Tab")
    assert visitor.page.evaluate("document.activeElement.textContent.trim()") == "Skip to main content"
    visitor.page.keyboard.press("Enter")
    assert visitor.page.evaluate("document.activeElement.id") == "main-content"
    # Inviting someone works with the keyboard alone.
    visitor.goto(f"/o/{organisation.slug}/invitations/new/")
    visitor.page.get_by_label("Email address").focus()
    visitor.page.keyboard.type("keyboard.user@acme.example")
    visitor.page.keyboard.press("Tab")
    visitor.page.keyboard.press("Space")  # the first role option
    visitor.page.get_by_role("button", name="Send invitation").focus()
    with visitor.page.expect_navigation():
        visitor.page.keyboard.press("Enter")
    visitor.check()
    assert "Invitation sent to keyboard.user@acme.example" in visitor.page.content()


def test_the_verify_page_is_accessible_in_its_fullest_state(
    visitor_factory, organisation_with_people, framework, tmp_path
) -> None:
    """A report issued with a failed audit-trail check, a newer one revoked and a newest one superseding
    it, and a copy that does not match: every callout, note and the history table, checked by axe."""
    from datetime import date, timedelta

    from django.utils import timezone

    from assessments import services as assessment_services
    from reports import services as report_services
    from tests.reports.conftest import ready_report
    from tests.sample_files import pdf

    organisation, owner, _ = organisation_with_people
    tenant = type("Tenant", (), {"organisation": organisation, "owner": owner})()
    assessment = assessment_services.assessment_create(
        organisation=organisation,
        actor=owner,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    now = timezone.now()
    report = ready_report(
        tenant, assessment, rendered_at=now - timedelta(days=3), audit_chain_ok=False, audit_broken_at=40
    )
    revoked = ready_report(tenant, assessment, rendered_at=now - timedelta(days=2))
    report_services.report_revoke(report=revoked, actor=owner, reason="Issued on the wrong figures")
    ready_report(tenant, assessment, rendered_at=now - timedelta(days=1))
    anonymous = visitor_factory()
    anonymous.goto(f"/verify/{report.pk}/")
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(pdf("not the issued report"))
    anonymous.page.get_by_label("The PDF file you received").set_input_files(copy)
    anonymous.submit("Check the file")
    content = anonymous.page.content()
    assert "The file does not match" in content and "Issued with a failed audit-trail check" in content
    assert "was revoked on" in content and "Superseded" in content
