"""The web process refuses to start, with a clear message, when production static files were never
collected (it would otherwise answer 500 on every page)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
SECRET = "k" * 20 + "-production-secret-for-the-start-up-check-0123456789"


def _check_gunicorn(var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Load the application as gunicorn does, then exit (`--check-config`)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    return subprocess.run(
        [GUNICORN, "--check-config", "portal.wsgi:application"],
        cwd=ROOT,
        env={**clean, "PORTAL_VAR_DIR": str(var_dir), "DJANGO_ALLOWED_HOSTS": "portal.example", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_web_refuses_to_start_until_static_files_are_collected(tmp_path) -> None:
    result = _check_gunicorn(tmp_path, DJANGO_ENV="production", DJANGO_SECRET_KEY=SECRET)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    manifest = tmp_path / "static" / "staticfiles.json"
    assert f"Static files have not been collected: {manifest} is missing" in output
    assert "python manage.py collectstatic --noinput" in output

    # Once collectstatic has written its manifest, the same start-up goes through.
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"paths": {}, "version": "1.1", "hash": ""}))
    started = _check_gunicorn(tmp_path, DJANGO_ENV="production", DJANGO_SECRET_KEY=SECRET)
    assert started.returncode == 0, started.stdout + started.stderr


def test_development_needs_no_collected_static_files(tmp_path) -> None:
    result = _check_gunicorn(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_environment_variable_the_settings_read_is_in_the_readme_table() -> None:
    import re

    settings_source = (ROOT / "portal" / "settings.py").read_text()
    read = set(re.findall(r"env_(?:str|bool|int|list|url)\(\s*\"([A-Z0-9_]+)\"", settings_source))
    assert {
        "DJANGO_SECURE_SSL_REDIRECT",
        "DJANGO_HSTS_SECONDS",
        "ALLAUTH_TRUSTED_PROXY_COUNT",
        "PORTAL_STATIC_ROOT",
    } <= read
    table = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")]
    documented = {name for line in table for name in re.findall(r"`([A-Z0-9_]+)`", line.split("|")[1])}
    assert read - documented == set()
