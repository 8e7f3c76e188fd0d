"""Open redirects: every view that reads `next` lands on this site whatever `next` says."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote, urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from assessments import services as assessment_services
from tests.conftest import client_for
from tests.factories import PASSWORD
from tests.hostile.corpus import EVIL_NEXT, PDF

pytestmark = pytest.mark.django_db


def assert_same_site(location: str) -> None:
    """Where a browser goes: it drops tabs and line breaks, trims spaces and controls, reads a backslash
    as a slash, then resolves the reference against the page it was on."""
    assert location, "no Location header"
    browser = "".join(c for c in location if c not in "\t\r\n").strip("\x00\x01\x02\x03 ").replace("\\", "/")
    landed = urlsplit(urljoin("http://testserver/accounts/login/", browser))
    assert landed.scheme in ("http", "https"), location
    assert landed.netloc == "testserver", location


def _assessment(tenant, framework):
    return assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )


def follow_next(view: str, target: str, tenant, request):
    slug = tenant.organisation.slug
    query = f"?next={quote(target, safe='')}"
    if view == "login":
        return Client().post(f"/accounts/login/{query}", {"login": tenant.owner.email, "password": PASSWORD})
    if view == "login-form-field":
        return Client().post("/accounts/login/", {"login": tenant.owner.email, "password": PASSWORD, "next": target})
    if view == "logout":
        return client_for(tenant.owner).post("/accounts/logout/", {"next": target})
    if view == "organisation-create":
        data = {"name": "Redirect Test Ltd", "sector": "machinery", "size_band": "medium", "country": "GB"}
        return client_for(tenant.owner).post(f"/organisations/new/{query}", data)
    if view == "evidence-upload":
        data = {"description": "Minutes", "effective_date": "2026-03-01", "file": SimpleUploadedFile("m.pdf", PDF)}
        return client_for(tenant.owner).post(f"/o/{slug}/evidence/new/{query}", data)
    if view == "supplier-edit":
        data = {"name": "Pennine", "contact_email": "ops@pennine.example", "country": "GB"}
        return client_for(tenant.owner).post(f"/o/{slug}/supply-chain/suppliers/new/{query}", data)
    if view == "comment":
        assessment = _assessment(tenant, request.getfixturevalue("framework"))
        url = f"/o/{slug}/review/assessment/{assessment.pk}/comments/"
        return client_for(tenant.owner).post(url, {"anchor": "1.1", "body": "Looks right", "next": target})
    raise AssertionError(view)


VIEWS = [
    "login",
    "login-form-field",
    "logout",
    "organisation-create",
    "evidence-upload",
    "supplier-edit",
    "comment",
]


@pytest.mark.parametrize("target", EVIL_NEXT, ids=[repr(t) for t in EVIL_NEXT])
@pytest.mark.parametrize("view", VIEWS)
def test_next_never_leaves_the_site(view, target, tenant, request) -> None:
    response = follow_next(view, target, tenant, request)

    assert response.status_code == 302, (response.status_code, response.content[:300])
    assert_same_site(response["Location"])


def test_the_upload_pages_back_link_never_points_off_site(tenant) -> None:
    client = client_for(tenant.owner)
    for target in EVIL_NEXT:
        page = client.get(f"/o/{tenant.organisation.slug}/evidence/new/?next={quote(target, safe='')}")
        assert page.status_code == 200
        assert page.context["next"] == ""
    good = f"/o/{tenant.organisation.slug}/assessments/"
    assert client.get(f"/o/{tenant.organisation.slug}/evidence/new/?next={quote(good)}").context["next"] == good
