"""Settings from the environment, production checks, security headers, request ids in logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from portal.env import ImproperlyConfiguredEnv, env_bool, env_int, env_list, env_url

ROOT = Path(__file__).resolve().parents[2]


def test_env_helpers_parse_and_refuse_bad_values(monkeypatch) -> None:
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a.example, b.example,")
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 1) == 42
    assert env_list("X_LIST", []) == ["a.example", "b.example"]
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfiguredEnv, match="X_BOOL"):
        env_bool("X_BOOL")
    monkeypatch.setenv("X_INT", "forty")
    with pytest.raises(ImproperlyConfiguredEnv, match="whole number"):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "-1")
    with pytest.raises(ImproperlyConfiguredEnv, match="at least 0"):
        env_int("X_INT", 1, minimum=0)
    monkeypatch.setenv("X_URL", "mysql://nope")
    with pytest.raises(ImproperlyConfiguredEnv, match="postgres://"):
        env_url("X_URL", schemes=("postgres",))


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy_with_no_warnings() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY="k" * 20 + "-production-secret-for-the-deploy-check-0123456789",
        DJANGO_ALLOWED_HOSTS="portal.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_ENV": "production"}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": "short"}, "at least 50"),
        ({"DJANGO_ENV": "staging"}, "DJANGO_ENV must be development or production"),
        ({"DJANGO_DEBUG": "perhaps"}, "DJANGO_DEBUG must be one of"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must be a URL"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be"),
        ({"PORTAL_SURVEY_MIN_RESPONSES": "4"}, "PORTAL_SURVEY_MIN_RESPONSES must be at least 5; got 4"),
    ],
)
def test_bad_configuration_stops_start_up_with_a_clear_message(env, message) -> None:
    result = _manage("check", **env)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.django_db
def test_security_headers_on_every_page() -> None:
    response = Client().get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_pages_have_no_inline_script_or_style(tenant) -> None:
    """The CSP forbids them, so none may be relied on."""
    from tests.conftest import client_for

    for url in ("/accounts/login/", "/accounts/signup/", f"/o/{tenant.organisation.slug}/"):
        client = client_for(tenant.owner) if url.startswith("/o/") else Client()
        html = client.get(url).content.decode()
        assert "<script>" not in html and " style=" not in html and "<style" not in html, url


@pytest.mark.django_db
def test_each_request_logs_one_line_with_its_request_id(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="portal.request"):
        response = Client().get("/accounts/login/")
    request_id = response["X-Request-ID"]
    lines = [r for r in caplog.records if r.name == "portal.request"]
    assert len(lines) == 1
    assert lines[0].request_id == request_id
    assert "GET /accounts/login/ 200" in lines[0].getMessage()


@pytest.mark.django_db
def test_a_bogus_incoming_request_id_is_replaced() -> None:
    response = Client().get("/accounts/login/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline" and len(response["X-Request-ID"]) == 32
