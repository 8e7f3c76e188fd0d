"""The first journey, in a real browser: sign up, verify, create an organisation, invite a
workforce representative who signs up through the invitation, and see it in the audit trail."""

from __future__ import annotations

import re
from functools import partial

import pytest
from django_scopes import scopes_disabled

from portal.models import Membership
from portal.roles import Role
from tests.browser import steps

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long and memorable passphrase"


_code = steps.verification_code
_sign_up = partial(steps.sign_up, password=PASSWORD)


def test_owner_invites_a_workforce_rep_who_joins_and_it_is_audited(visitor_factory, mailbox) -> None:
    owner = visitor_factory()
    page = owner.page

    owner.goto("/")
    page.get_by_role("link", name="Create an account").first.click()
    owner.check()
    _sign_up(owner, email="olivia@brampton.example", name="Olivia Owen", mailbox=mailbox)

    # Signed in with no organisation: the empty state offers to create one.
    owner.goto("/organisations/")
    page.get_by_role("link", name="Create an organisation").click()
    owner.check()

    # A failed submit shows the error summary, keeps what was typed, and moves focus to it.
    page.get_by_label("Organisation name").fill("Brampton Plastics")
    owner.submit("Create organisation")
    assert page.title().startswith("Error:")
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert page.get_by_label("Organisation name").input_value() == "Brampton Plastics"
    page.get_by_label("Sector").select_option(label="Plastics and rubber")
    page.get_by_label("Small (10 to 49 employees)").check()
    owner.submit("Create organisation")
    assert "Brampton Plastics has been created" in page.content()
    dashboard_url = page.url

    # Invite a workforce representative.
    page.get_by_role("link", name="Invite someone").first.click()
    owner.check()
    page.get_by_label("Email address").fill("rachel@brampton.example")
    page.get_by_label("Workforce representative").check()
    owner.submit("Send invitation")
    assert "Invitation sent to rachel@brampton.example" in page.content()

    # The rep opens the link from the email, signs up through it and accepts.
    invitation = mailbox.wait_for("rachel@brampton.example", containing="invited you")
    link = re.search(r"https?://\S+/invitations/\S+/", invitation.text).group(0)
    path = "/invitations/" + link.split("/invitations/")[1]
    rep = visitor_factory()
    rep.goto(path)
    assert "Join Brampton Plastics" in rep.page.content()
    rep.page.locator("#main-content").get_by_role("link", name="Create an account").click()
    rep.check()
    _sign_up(rep, email="rachel@brampton.example", name="Rachel Reid", mailbox=mailbox)
    assert path in rep.page.url
    rep.submit("Accept and join Brampton Plastics")
    assert rep.page.url == dashboard_url
    assert "You have joined Brampton Plastics as Workforce representative" in rep.page.content()
    with scopes_disabled():
        assert Membership.objects.get(user__email="rachel@brampton.example").role == Role.WORKFORCE_REP

    # The owner sees it in the audit trail, and the chain checks out.
    owner.goto(dashboard_url + "audit/")
    table = page.locator("table").inner_text()
    assert "Rachel Reid accepted the invitation and joined as" in table
    page.get_by_role("button", name="Check the chain").click()
    owner.check()
    assert "Chain intact" in page.content()
