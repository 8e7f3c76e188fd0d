"""The accessibility check every browser test runs (tests/browser/conftest.py, Visitor.check): a
document axe already passed is not run through axe again, so the check must still fail on any
document that differs from a passed one, however little, and on a failing one every time."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Visitor

pytestmark = pytest.mark.browser

CLEAN = (
    '<!doctype html><html lang="en"><head><title>Check</title></head>'
    '<body><main><h1>Plan</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="{alt}"></main></body></html>'
)
# The same document with the image's text alternative gone: axe's image-alt rule, impact critical.
MISSING_ALT = CLEAN.replace(' alt="{alt}"', "")


@pytest.fixture
def visitor(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield Visitor(context.new_page(), "http://127.0.0.1")
    context.close()


def test_a_violation_fails_the_check_every_time_even_next_to_a_passed_twin(visitor) -> None:
    visitor.page.set_content(CLEAN.format(alt="A chart of maturity"))
    visitor.check()
    visitor.check()  # the same document again: passes without running axe

    visitor.page.set_content(MISSING_ALT)
    for _ in range(2):
        with pytest.raises(AssertionError, match="image-alt"):
            visitor.check()


def test_a_page_changed_in_place_is_checked_again(visitor) -> None:
    visitor.page.set_content(CLEAN.format(alt="A chart of maturity"))
    visitor.check()
    # As an htmx swap would: the document changes without a navigation.
    visitor.page.evaluate("() => document.querySelector('img').removeAttribute('alt')")
    with pytest.raises(AssertionError, match="image-alt"):
        visitor.check()
