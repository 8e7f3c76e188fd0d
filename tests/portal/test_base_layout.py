"""The base layout's fixed parts (static assets, skip link, footer) are rendered once per language and
reused, and the messages-and-errors block is skipped when empty (portal_header's `fixed_fragment` and
`page_top`): every page must still be what the template made, byte for byte.

Each page is requested through its view; its top template is then rendered again, with the very same
context, by an engine that finds the layouts as they were before (tests/portal/reference/: `base.html`
and allauth's `manage.html`, the fragments inline), and the two outputs are compared. The states: signed
in (on a tenant page, a personal page, the account pages' layout) and signed out (the sign-in page's
layout), a flash message, a form with errors (the title's "Error:" and the error summary), a 404.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template import Context, Engine, engines

from portal import notifications
from tests.conftest import client_for
from tests.factories import OrganisationFactory, add_member

pytestmark = pytest.mark.django_db

REFERENCE = Path(__file__).parent / "reference"


def _reference_engine() -> Engine:
    engine = engines["django"].engine
    return Engine(
        dirs=[str(REFERENCE), *engine.dirs],
        app_dirs=engine.app_dirs,
        context_processors=[],
        libraries=engine.libraries,
        builtins=engine.builtins,
        autoescape=engine.autoescape,
        string_if_invalid=engine.string_if_invalid,
    )


def _same_as_before(response) -> str:
    """The page as served, after checking that the reference layouts make the same bytes."""
    html = response.content.decode()
    templates, contexts = response.templates, response.context
    contexts = contexts if isinstance(contexts, list) else [contexts]
    # The page's own template: the start of the chain of `extends` that ends with base.html (a view may
    # render fragments of its own first).
    top = [t.name for t in templates].index("base.html")
    while top > 0 and f'{{% extends "{templates[top].name}" %}}' in templates[top - 1].source:
        top -= 1
    template, context = templates[top], contexts[top]
    before = _reference_engine().get_template(template.name).render(Context(context.flatten(), autoescape=True))
    assert html == before, template.name
    return html


def test_signed_in_pages_are_the_templates_output(tenant) -> None:
    other = OrganisationFactory(name='Bell & <script>alert("x")</script> Ltd')
    add_member(other, tenant.owner, "manager")
    client = client_for(tenant.owner)
    for url in ("/account/", "/notifications/", f"/o/{tenant.organisation.slug}/", "/your-work/", "/account/tokens/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = _same_as_before(response)
        assert 'class="skip-link">Skip to main content</a>' in html
        assert '<footer class="footer">' in html and "/static/" in html
        assert "&lt;script&gt;" in html and '<script>alert("x")' not in html


def test_signed_out_pages_are_the_templates_output(client) -> None:
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        response = client.get(url)
        assert response.status_code == 200, url
        _same_as_before(response)


def test_a_form_with_errors_and_a_flash_message_are_the_templates_output(tenant) -> None:
    client = client_for(tenant.owner)
    invalid = client.post("/account/", {"full_name": "x" * 200})
    assert invalid.status_code == 200
    html = _same_as_before(invalid)
    assert "<title>Error: " in html and "error-summary" in html

    saved = client.post("/account/", {"full_name": "Ada <Lovelace> & Co"}, follow=True)
    assert saved.redirect_chain
    html = _same_as_before(saved)
    assert "Your name has been updated." in html and "notification-banner--success" in html

    # The message was shown, so it is gone from the next page, as with the template.
    after = client.get("/account/")
    assert "Your name has been updated." not in _same_as_before(after)


def test_a_message_on_a_base_layout_page_is_the_templates_output(tenant) -> None:
    notifications.notify(
        kind="comment", recipients=[tenant.owner], organisation=None, actor=None, text="Hello", url="/", key="k"
    )
    client = client_for(tenant.owner)
    response = client.post("/notifications/read-all/", follow=True)
    assert response.status_code == 200
    assert "1 notification marked as read." in _same_as_before(response)


def test_not_found_is_the_templates_output(tenant) -> None:
    client = client_for(tenant.owner)
    response = client.get("/o/no-such-organisation/")
    assert response.status_code == 404
    _same_as_before(response)
