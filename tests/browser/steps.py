"""Steps the browser journeys share: signing in and up, following links, refused submissions."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page

from tests.factories import PASSWORD


def sign_in(visitor, email: str, password: str = PASSWORD) -> None:
    visitor.goto("/accounts/login/")
    visitor.page.get_by_label("Email").fill(email)
    visitor.page.get_by_label("Password").fill(password)
    visitor.submit("Sign in")


def verification_code(text: str) -> str:
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", text, re.M)
    assert match, text
    return match.group(1)


def sign_up(visitor, *, email: str, name: str, mailbox, password: str) -> None:
    """Create an account on the sign-up page and confirm it with the code from the email."""
    page = visitor.page
    page.get_by_label("Email").fill(email)
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Confirm password").fill(password)
    visitor.submit("Create account")
    assert "/accounts/confirm-email/" in page.url, page.url
    page.get_by_label("Code").fill(verification_code(mailbox.wait_for(email, containing="verification code").text))
    visitor.submit("Continue")


def follow(visitor, name: str | re.Pattern[str], *, within: Locator | None = None) -> None:
    """Click a link (the first of that name) and check the page it leads to."""
    with visitor.page.expect_navigation():
        (within or visitor.page).get_by_role("link", name=name).first.click()
    visitor.check()


def nav(visitor, name: str) -> None:
    follow(visitor, name, within=visitor.page.get_by_role("navigation", name="Main"))


def submit_refused(visitor, button_text: str) -> None:
    """Submit a form that the server refuses with 400 and the form again, errors shown."""
    with visitor.page.expect_navigation() as navigation:
        visitor.page.get_by_role("button", name=button_text).click()
    assert navigation.value is not None and navigation.value.status == 400, navigation.value
    # The browser logs the 400 of the page itself; that one is expected (as in Visitor.goto).
    visitor.console_errors = [e for e in visitor.console_errors if "status of 400" not in e]
    visitor.check()


def path(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("#")[0]


def main(page: Page) -> Locator:
    return page.locator("main")
