"""An integrator's journey in a real browser: make a personal API token on the account page, copy
it (shown once), call the API with it over HTTP, see its last use, revoke it; and the API docs page
renders from the project's own files."""

from __future__ import annotations

import pytest
import requests

from portal.roles import Role
from tests.browser.steps import follow, sign_in, submit_refused
from tests.factories import OrganisationFactory, UserFactory, add_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_make_use_and_revoke_a_token(visitor_factory, live_server) -> None:
    organisation = OrganisationFactory(name="Acme Precision Engineering")
    owner = UserFactory(email="owner@acme.example", full_name="Olivia Owen")
    add_member(organisation, owner, Role.OWNER)

    visitor = visitor_factory()
    page = visitor.page
    sign_in(visitor, owner.email)
    visitor.goto("/account/")
    follow(visitor, "API tokens")
    assert "You have no API tokens yet." in page.content()

    # No name: refused at the field, nothing made.
    submit_refused(visitor, "Create token")
    assert "Enter a name for the token" in page.content()

    page.get_by_label("Token name").fill("SAP supplier sync")
    page.get_by_label("Organisation and role").select_option(label="Acme Precision Engineering: Manager")
    page.get_by_label("30 days").check()
    visitor.submit("Create token")
    raw = page.get_by_label("Token ‘SAP supplier sync’").input_value()
    assert raw.startswith("msp_")
    assert "shown only once" in page.content()

    api = f"{live_server.url}/api/v1/"
    me = requests.get(api + "me/", headers={"Authorization": f"Bearer {raw}"}, timeout=10)
    assert me.status_code == 200
    assert me.json()["email"] == owner.email and me.json()["token_role"] == "manager"
    members = requests.get(
        f"{api}organisations/{organisation.slug}/members/", headers={"Authorization": f"Bearer {raw}"}, timeout=10
    )
    assert [m["email"] for m in members.json()["results"]] == [owner.email]

    follow(visitor, "I have copied it: back to API tokens")
    row = page.get_by_role("row", name="SAP supplier sync")
    assert "Manager" in row.inner_text() and "Active" in row.inner_text()
    assert "Never" not in row.inner_text(), "the last use is shown"
    assert raw not in page.content(), "the token is never shown again"

    follow(visitor, "Revoke SAP supplier sync")
    visitor.submit("Yes, revoke it")
    assert "has been revoked" in page.content()
    refused = requests.get(api + "me/", headers={"Authorization": f"Bearer {raw}"}, timeout=10)
    assert refused.status_code == 401
    assert refused.json()["code"] == "authentication_failed"


def test_api_docs_render_from_our_own_files(visitor_factory, live_server) -> None:
    visitor = visitor_factory()
    page = visitor.page
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(live_server.url + "/api/docs/")
    page.get_by_text("/api/v1/organisations/{org}/assessments/", exact=True).first.wait_for()
    assert page.get_by_text("Made Smarter Principles Portal API").first.is_visible()
    assert all(url.startswith(live_server.url) for url in requested), [u for u in requested if live_server.url not in u]
    assert not visitor.console_errors, visitor.console_errors
