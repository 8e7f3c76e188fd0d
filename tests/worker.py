"""A real Celery worker process on Redis, against the test database (PostgreSQL pass only).

Tests that ask for `celery_worker` publish to a queue of their own; the worker sends email with
Django's file backend into a folder that `Mailbox` reads, so assertions see what was really sent.
"""

from __future__ import annotations

import email
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.policy import default
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class SentEmail:
    to: list[str]
    subject: str
    text: str
    html: str


def _from_django(message) -> SentEmail:
    html = next((content for content, mimetype in getattr(message, "alternatives", []) if mimetype == "text/html"), "")
    return SentEmail(to=list(message.to), subject=message.subject, text=message.body, html=html)


def _from_file(raw: Message) -> SentEmail:
    text = html = ""
    for part in raw.walk():
        if part.get_content_type() not in ("text/plain", "text/html"):
            continue
        if part.get("Content-Transfer-Encoding", "").lower() == "8bit":
            # Read back from a text file, an 8bit part is already text: decoding it again as bytes
            # would mangle anything beyond ASCII (curly quotes, a name like Zoë).
            body = part.get_payload()
        else:
            payload = part.get_payload(decode=True)
            if payload is None:
                continue
            body = payload.decode(part.get_content_charset() or "utf-8")
        if part.get_content_type() == "text/plain":
            text = body
        else:
            html = body
    return SentEmail(to=[a.strip() for a in raw["To"].split(",")], subject=str(raw["Subject"]), text=text, html=html)


class Mailbox:
    """Every email sent so far: in-process ones (Django's outbox) and the worker's files."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def messages(self) -> list[SentEmail]:
        found = [_from_django(m) for m in getattr(mail, "outbox", [])]
        if self.folder and self.folder.exists():
            for path in sorted(self.folder.glob("*.log"), key=lambda p: p.stat().st_mtime):
                for chunk in path.read_text().split("-" * 79):
                    if chunk.strip():
                        # The default policy unfolds long headers (a Subject over 78 characters).
                        found.append(_from_file(email.message_from_string(chunk.strip() + "\n", policy=default)))
        return found

    def wait_for(self, to: str, *, containing: str = "", timeout: float = 30.0) -> SentEmail:
        """The newest email to `to` whose subject or text contains `containing`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.messages()):
                if to in message.to and (containing in message.subject or containing in message.text):
                    return message
            time.sleep(0.2)
        raise AssertionError(f"No email to {to} within {timeout}s; sent: {[m.to for m in self.messages()]}")


@dataclass
class Worker:
    queue: str
    mail_folder: Path
    log: Path


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(mail_folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker process: this test run's database and Redis, email into files."""
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_folder),
        "DJANGO_CONN_MAX_AGE": "0",
        **extra,
    }


def start_worker(
    queue: str,
    *,
    log: Path,
    env: dict[str, str],
    pool: str = "solo",
    concurrency: int = 1,
    own_process_group: bool = False,
    timeout: float = 60,
    clock: str = "",
) -> subprocess.Popen:
    """Start `celery worker` on `queue`, logging to `log`, and return once it is ready.

    With `own_process_group` the worker and its pool children form a process group of their own,
    which a test can kill at once (`os.killpg(process.pid, signal.SIGKILL)`) without killing itself.
    With `clock` (an ISO datetime) the worker's clock starts at that instant (tests.travelling_celery).
    """
    log_file = log.open("w")
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "portal",
        "worker",
        f"--pool={pool}",
        "--loglevel=INFO",
        "-Q",
        queue,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{queue}@%h",
    ]
    if pool != "solo":
        command.append(f"--concurrency={concurrency}")
    if clock:
        command[:1] = [sys.executable, "-m", "tests.travelling_celery", clock]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=own_process_group,
    )
    log_file.close()  # the child holds its own copy
    deadline = time.monotonic() + timeout
    while "ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"Celery worker did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return process


def stop_worker(process: subprocess.Popen) -> None:
    """Warm shutdown, then kill if it does not stop within 20 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:
    """A `celery worker` subprocess consuming a queue private to this test run."""
    if not on_production_services():
        pytest.skip("needs a real Celery worker on Redis and PostgreSQL: runs in the PostgreSQL + Redis pass")
    from portal.celery import app

    folder = tmp_path_factory.mktemp("worker")
    mail_folder = folder / "mail"
    mail_folder.mkdir()
    log = folder / "worker.log"
    queue = f"portal-test-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        # Tasks that tasks publish (an export's ready email) come back to this worker too.
        env = worker_env(mail_folder, CELERY_TASK_DEFAULT_QUEUE=queue)
    process = start_worker(queue, log=log, env=env)
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield Worker(queue=queue, mail_folder=mail_folder, log=log)
    finally:
        app.conf.task_default_queue = previous_queue
        stop_worker(process)


@pytest.fixture
def worker(celery_worker) -> Iterator[Worker]:
    """For this test, tasks go through Redis to the worker instead of running in-process."""
    from portal.celery import app

    app.conf.task_always_eager = False
    try:
        yield celery_worker
    finally:
        app.conf.task_always_eager = True


def on_production_services() -> bool:
    return bool(settings.REDIS_URL) and settings.DATABASES["default"]["ENGINE"] == "portal.dbbackend"


@pytest.fixture
def mailbox(request) -> Mailbox:
    """Where sent email can be read. On the PostgreSQL + Redis pass, sending goes through the worker."""
    if on_production_services():
        return Mailbox(request.getfixturevalue("worker").mail_folder)
    return Mailbox(None)
