"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright, with axe-core checks."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BLOCKING_IMPACTS = {"serious", "critical"}
AXE_SCRIPT = Axe().axe_script
# What makes two renderings of a page differ without changing what axe sees: the CSP nonce and the
# CSRF token (fresh on every response).
_PER_RESPONSE = re.compile(r'(?<=name="csrfmiddlewaretoken" )value="[^"]*"|nonce="[^"]*"')
# Documents axe found nothing blocking in, by their markup and viewport, for this test process: the
# same markup at the same size under the same stylesheets gives axe the same answer.
_PASSED: set[str] = set()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visitor:
    """A person at a browser. Every page they land on is checked by axe-core and for CSP errors."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.console_errors: list[str] = []
        self.checked: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)

    def goto(self, path: str, *, status: int = 200) -> None:
        response = self.page.goto(path if path.startswith("http") else self.base_url + path)
        assert response is not None and response.status == status, f"{path}: {response and response.status}"
        if status >= 400:
            # The browser logs the error status of the page itself; that one is expected.
            self.console_errors = [e for e in self.console_errors if f"status of {status}" not in e]
        self.check()

    def check(self) -> None:
        """axe-core on the current page: no serious or critical violations; no console errors.

        axe is loaded into a document once (a page updated by htmx keeps it), not on every check, and a
        document whose markup and viewport are exactly those of one axe already passed in this test
        process (the same page seen again, unchanged) is not run through axe again: most of a
        journey's time was axe, and about three quarters of axe's time is its colour-contrast rule."""
        self.page.wait_for_load_state()
        where = re.sub(r"^https?://[^/]+", "", self.page.url)
        key = hashlib.sha256(
            f"{self.page.viewport_size}|{_PER_RESPONSE.sub('', self.page.content())}".encode()
        ).hexdigest()
        if key not in _PASSED:
            if not self.page.evaluate("() => typeof window.axe === 'object'"):
                self.page.evaluate(AXE_SCRIPT)
            response = self.page.evaluate("() => axe.run({resultTypes: ['violations']})")
            blocking = [v for v in response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
            assert not blocking, f"axe on {where}: " + "; ".join(
                f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in blocking
            )
            _PASSED.add(key)
        assert not self.console_errors, f"console errors on {where}: {self.console_errors}"
        self.checked.append(where)

    def submit(self, button_text: str) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button_text).click()
        self.check()


@pytest.fixture
def visitor_factory(browser, live_server) -> Iterator:
    contexts = []

    def make() -> Visitor:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        contexts.append(context)
        return Visitor(context.new_page(), live_server.url)

    yield make
    for context in contexts:
        context.close()
