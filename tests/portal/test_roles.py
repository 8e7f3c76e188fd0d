"""The roles table (portal.roles.ACTIONS) is the one source: docs, role descriptions and the members
page are generated from it. What each role may reach is walked in test_role_walk.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from portal.roles import ACTIONS, ROLE_DESCRIPTIONS, Role, permissions_markdown, role_can
from tests.conftest import client_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_the_docs_show_the_table_the_code_uses() -> None:
    text = DOCS.read_text()
    found = re.search(r"<!-- roles-table:start[^\n]*-->\n(.*?)<!-- roles-table:end -->", text, re.S)
    assert found, "docs/architecture.md lost its roles-table markers"
    assert found.group(1) == permissions_markdown(), (
        "docs/architecture.md's roles table differs from portal.roles.ACTIONS; replace it with the output of "
        "`python manage.py roles_table`:\n" + permissions_markdown()
    )


def test_a_member_may_follow_the_work_and_no_more() -> None:
    allowed = {name for name in ACTIONS if role_can(Role.MEMBER, name)}
    assert allowed == {"view_dashboard", "view_members"}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_description_lists_exactly_what_the_table_allows(role) -> None:
    with translation.override("en"):
        description = str(ROLE_DESCRIPTIONS[role])
        for action in ACTIONS.values():
            assert (str(action.label) in description) == (role in action.roles), (role, action.label)


@pytest.mark.django_db
def test_the_members_page_shows_the_table_to_every_role(tenant) -> None:
    for role in Role:
        page = client_for(tenant.user(role)).get(f"/o/{tenant.organisation.slug}/members/")
        html = page.content.decode()
        assert "What each role can do" in html
        for action in ACTIONS.values():
            label = str(action.label)
            assert label[0].upper() + label[1:] in html.replace("&#x27;", "'"), label
    row = re.search(r"Browse the evidence library</th>(.*?)</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert ["Yes" in c for c in cells] == [True, True, True, False, False]  # owner .. member
