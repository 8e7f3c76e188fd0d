"""Start-up checks for the web process: refuse to serve rather than answer 500 on every page."""

from __future__ import annotations

import logging

from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages

logger = logging.getLogger("portal.startup")


def static_files_problem() -> str | None:
    """Why pages cannot render, if static files have not been collected for the manifest storage.

    Production names static files by their hash (`staticfiles.json`, written by `collectstatic`); without
    that manifest every `{% static %}` raises, so every page answers 500. Development serves the files
    from the app folders and needs nothing."""
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return None
    if storage.manifest_storage.exists(storage.manifest_name):
        return None
    path = storage.manifest_storage.path(storage.manifest_name)
    return (
        f"Static files have not been collected: {path} is missing, so every page would answer 500. "
        "Run `python manage.py collectstatic --noinput` with the same environment (DJANGO_ENV, PORTAL_VAR_DIR, "
        "PORTAL_STATIC_ROOT) before starting the web server (the Docker image does it when built; see docs/deploy.md)."
    )


def require_collected_static_files() -> None:
    """Stop the web process at start-up, with the reason in its log, when static files are missing."""
    problem = static_files_problem()
    if problem:
        logger.critical(problem)
        raise ImproperlyConfigured(problem)
