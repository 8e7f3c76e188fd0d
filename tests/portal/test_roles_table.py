"""The members page's table of what each role can do is rendered once per language and process
(issue 19): the same HTML as its template renders afresh, in each language, on the page."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import translation

from portal.roles import Role, permission_rows
from portal.templatetags.portal_tags import roles_table_html
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@override_settings(LANGUAGES=[("en-gb", "English"), ("cy", "Welsh")])
def test_the_roles_table_is_the_templates_output_in_each_language() -> None:
    for language in ("en-gb", "cy"):
        with translation.override(language):
            afresh = render_to_string("portal/_roles_table.html")
            assert roles_table_html() == afresh
            assert roles_table_html() == afresh  # the process's copy
    with translation.override("en-gb"):
        html = roles_table_html()
    assert html.count("<tr>") == len(list(permission_rows())) + 1
    for role in Role:
        assert f">{role.label}</th>" in html


def test_the_members_page_shows_the_roles_table(tenant) -> None:
    html = client_for(tenant.member).get(f"/o/{tenant.organisation.slug}/members/").content.decode()
    with translation.override("en-gb"):
        assert roles_table_html() in html
    assert "What each role can do" in html
