"""When the database cannot be reached, pages answer 503 with a page that says it is temporary
(rendered without the database), the API answers JSON 503, and the health checks report it
rather than failing to open a request transaction. Runs on both passes."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def refused(*args, **kwargs):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


def test_a_page_whose_database_is_unreachable_answers_503_saying_it_is_temporary(tenant, monkeypatch) -> None:
    from portal import views

    monkeypatch.setattr(views.selectors, "organisation_members_head", refused)
    client = client_for(tenant.owner)
    client.raise_request_exception = False
    response = client.get(f"/o/{tenant.organisation.slug}/")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert "unavailable for a moment" in response.content.decode()


def test_the_api_answers_json_503_when_the_database_is_unreachable(tenant, monkeypatch) -> None:
    from portal.api import base

    monkeypatch.setattr(base, "resolve_organisation", refused)
    client = client_for(tenant.owner)
    client.raise_request_exception = False
    response = client.get(f"/api/v1/organisations/{tenant.organisation.slug}/suppliers/")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert response.json()["code"] == "service_unavailable" and "unavailable" in response.json()["message"]


def test_health_checks_report_the_database_down_with_503(monkeypatch, settings) -> None:
    from portal import views

    class Down:
        def cursor(self):
            refused()

    monkeypatch.setattr(views, "connection", Down())
    client = Client(raise_request_exception=False)
    response = client.get("/healthz/database")
    assert response.status_code == 503 and response.json()["checks"]["database"] == "error"
    assert views.healthz_database._non_atomic_requests and views.healthz._non_atomic_requests


def test_other_server_errors_are_still_500(tenant, monkeypatch) -> None:
    from portal import views

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.selectors, "organisation_members_head", broken)
    client = client_for(tenant.owner)
    client.raise_request_exception = False
    assert client.get(f"/o/{tenant.organisation.slug}/").status_code == 500
