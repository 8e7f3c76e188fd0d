"""/healthz reports each dependency and answers 503 when one is down."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import ON_REDIS

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_cache_and_broker() -> None:
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert body["checks"]["database"] == "ok" and body["checks"]["cache"] == "ok"
    assert body["checks"]["broker"] == ("ok" if ON_REDIS else "in-process")


def test_healthz_is_503_when_the_broker_is_unreachable(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error"


def test_healthz_is_503_when_the_cache_is_unreachable(settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    from django.core.cache import caches

    caches._settings = None  # type: ignore[attr-defined]
    try:
        response = Client().get("/healthz")
    finally:
        caches._settings = None  # type: ignore[attr-defined]
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "error"


def test_healthz_database_is_one_query_the_benchmarks_floor() -> None:
    from tests.querycount import counting

    with counting() as counted:
        response = Client().get("/healthz/database")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert len(counted) == 1, counted.listing()
    assert response["Cache-Control"].startswith("max-age=0")
