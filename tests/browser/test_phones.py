"""The portal on a phone (375 x 800): the header leaves room for the page, its menu opens and closes by
mouse and keyboard and is open without JavaScript; every wide table shows that it scrolls and its last
column (status, actions) can be reached; the dashboard chart's text is legible. axe-core finds nothing
serious at 320 px and 1280 px, with the menu closed and open.

Set PHONE_SCREENSHOTS=<dir> to keep screenshots of the dashboard and the supplier register at 375 px."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import sign_in
from tests.factories import PASSWORD
from tests.reports.conftest import draft_assessment, evidence, final_assessment, supply_chain  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}
# Every link of the owner's navigation, in order ("Your work" sits beside the Menu button on a phone).
NAV_LINKS = [
    "Dashboard",
    "Commitment",
    "Self-assessment",
    "Evidence",
    "Plans",
    "Supply chain",
    "Reports",
    "Members",
    "Audit trail",
    "Notifications",
    "Your organisations",
    "Your account",
]


@pytest.fixture
def pages(tenant, final_assessment, supply_chain) -> dict[str, str]:  # noqa: F811 - the reports' fixtures
    """The signed-in pages a phone user reads most, with a final self-assessment (the dashboard chart),
    an evidence file, a supplier register and a campaign, and the audit trail they all wrote."""
    base = f"/o/{tenant.organisation.slug}"
    return {
        "dashboard": f"{base}/",
        "evidence": f"{base}/evidence/",
        "suppliers": f"{base}/supply-chain/suppliers/",
        "audit": f"{base}/audit/",
        "campaign": f"{base}/supply-chain/campaigns/{supply_chain.campaign.pk}/",
    }


def _phone(visitor_factory, tenant, viewport=PHONE):
    visitor = visitor_factory()
    visitor.page.set_viewport_size(viewport)
    sign_in(visitor, tenant.owner.email)
    return visitor


def _shot(page: Page, name: str) -> None:
    folder = os.environ.get("PHONE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def _nav_link(page: Page, name: str):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(rf"^{re.escape(name)}"))


def _in_view(page: Page, box) -> bool:
    width = page.viewport_size["width"]
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5


def test_on_a_phone_the_header_takes_a_quarter_of_the_screen_and_its_menu_opens_and_closes(
    browser, visitor_factory, tenant, pages
) -> None:
    visitor = _phone(visitor_factory, tenant)
    page = visitor.page
    menu = page.get_by_role("button", name="Menu")
    for name, path in pages.items():
        page.goto(visitor.base_url + path)
        # The page's own heading starts within the top quarter of the screen.
        top = page.get_by_role("heading", level=1).bounding_box()["y"]
        assert top <= PHONE["height"] / 4, f"{name}: the h1 starts {top:.0f} px down"
        # The menu is closed; the organisation and "Your work" stay in view beside it.
        expect(menu).to_be_visible()
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(_nav_link(page, "Dashboard")).to_be_hidden()
        expect(page.locator("header").get_by_role("link", name=re.compile(r"^Your work"))).to_be_visible()
        expect(page.locator(".header__org")).to_contain_text(tenant.organisation.name)
        if name in ("dashboard", "suppliers"):
            _shot(page, f"phones-{name}-375")

    # Opened and closed by a tap; every link of the navigation, and Sign out, shows when open.
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for link in NAV_LINKS:
        expect(_nav_link(page, link)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    _shot(page, "phones-menu-open-375")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(_nav_link(page, "Audit trail")).to_be_hidden()

    # By keyboard: Enter opens, Space closes, focus stays on the button; Escape in the menu closes it
    # and brings focus back to the button.
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(menu).to_be_focused()
    page.keyboard.press("Space")
    expect(menu).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # into the menu: the account link first
    expect(page.locator("#header-menu a").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    # A link in the menu opens its page with the menu closed again.
    menu.click()
    with page.expect_navigation():
        _nav_link(page, "Audit trail").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    expect(menu).to_have_attribute("aria-expanded", "false")

    # Turning the phone round (wider than 40em) shows the whole navigation and no Menu button.
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(menu).to_be_hidden()
    for link in NAV_LINKS + ["Your work"]:
        expect(_nav_link(page, link)).to_be_visible()
    expect(page.locator("header").get_by_role("link", name=re.compile(r"^Your work"))).to_have_count(1)

    # Without JavaScript there is no button, and every link of the menu is in view.
    context = browser.new_context(viewport=PHONE, locale="en-GB", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(visitor.base_url + "/accounts/login/")
        page.get_by_label("Email").fill(tenant.owner.email)
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        page.goto(visitor.base_url + pages["dashboard"])
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        for link in NAV_LINKS:
            target = _nav_link(page, link)
            expect(target).to_be_visible()
            assert _in_view(page, target.bounding_box()), link
        expect(page.locator("header").get_by_role("link", name=re.compile(r"^Your work"))).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


def test_on_a_phone_every_wide_table_says_it_scrolls_and_its_last_column_can_be_reached(
    visitor_factory, tenant, pages
) -> None:
    visitor = _phone(visitor_factory, tenant)
    page = visitor.page
    checked = 0
    for name in ("evidence", "suppliers", "audit", "campaign"):
        page.goto(visitor.base_url + pages[name])
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        for index in range(page.locator(".table-wrapper").count()):
            wrapper = page.locator(".table-wrapper").nth(index)
            last_header = wrapper.locator("thead th").last
            if _in_view(page, last_header.bounding_box()):
                continue  # a table that fits shows all of itself
            checked += 1
            label = wrapper.get_attribute("aria-label")
            # A focusable region named like its table, a hint to scroll, and a shadow at the edge.
            assert wrapper.get_attribute("role") == "region" and wrapper.get_attribute("tabindex") == "0"
            hint = wrapper.locator("xpath=preceding-sibling::*[1]")
            expect(hint, f"{name}: {label}").to_have_class("table-scroll-hint")
            expect(hint).to_have_text("Scroll the table sideways to see all columns")
            expect(hint).to_be_visible()
            assert "radial-gradient" in wrapper.evaluate("e => getComputedStyle(e).backgroundImage")
            # The keyboard scrolls it sideways; scrolled to its end, the last column is in view.
            wrapper.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function("e => e.scrollLeft > 0", arg=wrapper.element_handle(), timeout=2000)
            wrapper.evaluate("e => e.scrollTo({left: e.scrollWidth})")
            assert _in_view(page, last_header.bounding_box()), f"{name}: {label}"
            # A row's actions take focus, and focus brings them into view.
            wrapper.evaluate("e => e.scrollTo({left: 0})")
            actions = wrapper.locator("tbody tr").first.locator("td").last.locator("a, button")
            if actions.count():
                actions.first.focus()
                assert _in_view(page, actions.first.bounding_box()), f"{name}: {label} actions"
    assert checked >= 4  # evidence, suppliers, audit events, and the campaign's suppliers at least
    # On a wide screen the tables fit and no hint shows.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(visitor.base_url + pages["suppliers"])
    expect(page.locator(".table-scroll-hint")).to_be_hidden()


def _chart_text_sizes(page: Page) -> list[float]:
    """The rendered size in CSS px of every text of the dashboard chart (the SVG scales its text)."""
    return page.evaluate(
        """[...document.querySelectorAll('main svg.chart text')].map(
            t => t.getScreenCTM().a * parseFloat(getComputedStyle(t).fontSize))"""
    )


def test_the_dashboard_chart_text_is_legible_at_every_width(visitor_factory, tenant, pages) -> None:
    visitor = _phone(visitor_factory, tenant)
    page = visitor.page
    page.goto(visitor.base_url + pages["dashboard"])
    expect(page.get_by_role("img", name=re.compile(r"^Maturity per principle"))).to_be_visible()
    for width in (320, 375, 600, 800, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        sizes = _chart_text_sizes(page)
        assert len(sizes) > 12 and min(sizes) >= 12, (width, min(sizes))
        assert max(sizes) <= 19, (width, max(sizes))  # not larger than the body text beside it


def test_the_phone_pages_pass_axe_at_320_and_1280(visitor_factory, tenant, pages) -> None:
    visitor = _phone(visitor_factory, tenant, {"width": 320, "height": 640})
    signed_in = len(visitor.checked)
    for path in pages.values():
        visitor.goto(path)
        assert visitor.page.evaluate("document.documentElement.scrollWidth") <= 320, path
    visitor.page.get_by_role("button", name="Menu").click()
    visitor.check()  # the campaign page again, with the menu open
    visitor.page.set_viewport_size({"width": 1280, "height": 900})
    for path in pages.values():
        visitor.goto(path)
    assert visitor.checked[signed_in:] == [*pages.values(), pages["campaign"], *pages.values()]
