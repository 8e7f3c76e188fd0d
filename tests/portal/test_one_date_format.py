"""One date format on every page people read: "5 January 2027" (or "5 Jan 2027" in a table cell),
never "2027-01-05" beside it. Date inputs keep ISO values (the HTML format); attributes, code and
inputs are not read."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django_scopes import scopes_disabled

from portal.demo import DEMO_PASSWORD
from portal.models import Organisation

pytestmark = pytest.mark.django_db

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# A clock time shown without its zone: every moment goes through `when` ("14:05 GMT", BST in summer).
UNLABELLED_TIME = re.compile(r"\b\d{2}:\d{2}(?::\d{2})?\b(?! ?(?:GMT|BST)\b)")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SKIP = ("/static/", "/media/", "/accounts/logout/", "/api/", "/notifications/unsubscribe/")
DOWNLOADS = ("/download/", ".csv", ".pdf", ".xlsx", ".zip")
MAX_PAGES = 160
MAX_PER_SHAPE = 2  # pages differing only in their ids add little


class VisibleText(HTMLParser):
    """The text a person sees: not attributes, scripts, styles, code or form fields' values."""

    HIDDEN = {"script", "style", "code", "pre", "textarea", "template"}

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.text.append(data)


def _shape(path: str) -> str:
    return UUID_RE.sub("<id>", path)


def test_no_page_shows_an_iso_date_to_a_signed_in_owner_of_the_demo() -> None:
    call_command("load_demo", stdout=StringIO())
    with scopes_disabled():
        acme = Organisation.objects.get(name="Acme Precision Engineering")
    client = Client()
    client.post("/accounts/login/", {"login": "owner@acme.example", "password": DEMO_PASSWORD})
    queue = deque(["/your-work/", f"/o/{acme.slug}/", "/notifications/", "/account/", "/organisations/"])
    seen: set[str] = set(queue)
    shapes: dict[str, int] = {}
    found: dict[str, list[str]] = {}
    unlabelled: dict[str, list[str]] = {}
    pages = 0
    visited: set[str] = set()
    while queue and pages < MAX_PAGES:
        path = queue.popleft()
        response = client.get(path, follow=True)  # "Repeat this campaign" redirects to its check page
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        if response.has_header("Content-Disposition"):
            continue
        pages += 1
        visited.add(_shape(response.request["PATH_INFO"]).replace(acme.slug, "<org>"))
        parser = VisibleText()
        parser.feed(response.content.decode())
        text = " ".join(parser.text)
        hits = ISO_DATE.findall(text)
        if hits:
            found[path] = [m.group(0) for m in re.finditer(r".{0,60}\b\d{4}-\d{2}-\d{2}\b.{0,20}", text)]
        # The notification settings name the daily summary's hour in the person's own zone, chosen beside it.
        if UNLABELLED_TIME.search(text) and path != "/account/notifications/":
            unlabelled[path] = [m.group(0) for m in re.finditer(r".{0,60}\b\d{2}:\d{2}\b.{0,12}", text)]
        for href in parser.links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith(SKIP):
                continue
            if parts.path.endswith(DOWNLOADS):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query and "page=" not in parts.query else "")
            if parts.query and "page=" in parts.query:
                continue
            shape = _shape(parts.path)
            if target in seen or shapes.get(shape, 0) >= MAX_PER_SHAPE:
                continue
            seen.add(target)
            shapes[shape] = shapes.get(shape, 0) + 1
            queue.append(target)
    assert pages > 40, pages  # the walk reached the portal's pages, not just a sign-in page
    for page in ("/o/<org>/audit/", "/o/<org>/supply-chain/campaigns/new/check/", "/o/<org>/reports/"):
        assert page in visited, sorted(visited)
    assert found == {}
    assert unlabelled == {}  # the time zone is named wherever a time is shown
