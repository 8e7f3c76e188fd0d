"""Retries on a real Celery worker (PostgreSQL + Redis pass): every kind of task meets a failure
that passes (the mail server down, then up; the storage folder unwritable, then writable), records
it on its row, tries again after the backoff and finishes with exactly one email or one file.

In-process (eager) runs record the first failure as final, so only a real worker can show this.
The worker here sends email over SMTP to a server the test starts and stops (tests/smtp.py), keeps
files in a folder of its own, and waits PORTAL_TASK_RETRY_SECONDS before the first retry.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from portal.models import AuditEvent, EmailStatus, Invitation, Outbox
from portal.roles import Role
from tests.smtp import SmtpServer
from tests.worker import on_production_services, start_worker, stop_worker, worker_env

pytestmark = pytest.mark.django_db(transaction=True)

RETRY_SECONDS = 3  # the worker's PORTAL_TASK_RETRY_SECONDS: first retry after 3 s, then 6 s, ...
T = TypeVar("T")


@dataclass
class RetryWorker:
    queue: str
    log: Path
    storage: Path  # the worker's private file storage (PORTAL_VAR_DIR/private)
    smtp: SmtpServer  # down until a test starts it
    since: int = 0  # where in the log the current test's tasks begin

    @contextmanager
    def running(self) -> Iterator[None]:
        """Tasks published inside go through Redis to this worker instead of running in-process."""
        from portal.celery import app

        self.since = len(self.log.read_text())
        previous = app.conf.task_default_queue, app.conf.task_always_eager
        app.conf.task_default_queue, app.conf.task_always_eager = self.queue, False
        try:
            yield
        finally:
            app.conf.task_default_queue, app.conf.task_always_eager = previous

    def timeline(self, task: str) -> list[tuple[datetime, str]]:
        """(time, what) for each retry and success the worker logged for `task` in this test, in order."""
        pattern = re.compile(
            r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO celery\.app\.trace .*Task "
            + re.escape(task)
            + r"\[[0-9a-f-]+\] (retry: Retry in \d+s|succeeded)"
        )
        found = []
        for line in self.log.read_text()[self.since :].splitlines():
            if match := pattern.match(line):
                found.append((datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f"), match[2]))
        return found


@pytest.fixture(scope="module")
def retry_worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[RetryWorker]:
    if not on_production_services():
        pytest.skip("retries need a real Celery worker on Redis and PostgreSQL: runs in the PostgreSQL + Redis pass")
    folder = tmp_path_factory.mktemp("retry-worker")
    smtp = SmtpServer()
    queue = f"portal-retry-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        env = worker_env(
            folder / "mail",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp.port),
            EMAIL_USE_TLS="false",
            PORTAL_VAR_DIR=str(folder / "var"),
            PORTAL_TASK_RETRY_SECONDS=str(RETRY_SECONDS),
            CELERY_TASK_DEFAULT_QUEUE=queue,  # what its tasks publish (the export's email) comes back to it
        )
    log = folder / "worker.log"
    process = start_worker(queue, log=log, env=env)
    try:
        yield RetryWorker(queue=queue, log=log, storage=folder / "var" / "private", smtp=smtp)
    finally:
        smtp.stop()
        stop_worker(process)


@pytest.fixture
def smtp(retry_worker) -> Iterator[SmtpServer]:
    """The worker's mail server: down at the start of each test."""
    retry_worker.smtp.stop()
    yield retry_worker.smtp
    retry_worker.smtp.stop()


@pytest.fixture
def shared_storage(retry_worker, settings) -> Path:
    """This process stores files where the worker reads them (evidence cited by a report)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(retry_worker.storage)},
        },
    }
    return retry_worker.storage


def wait_until(load: Callable[[], T], done: Callable[[T], bool], what: str, timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while True:
        with scopes_disabled():
            value = load()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {value!r} after {timeout} s")
        time.sleep(0.1)


def assert_retried_after_backoff(worker: RetryWorker, task: str) -> None:
    """One retry, logged as due in RETRY_SECONDS, then success no sooner than that (and not much later)."""
    timeline = wait_until(lambda: worker.timeline(task), lambda t: bool(t) and t[-1][1] == "succeeded", task)
    assert [what for _at, what in timeline] == [f"retry: Retry in {RETRY_SECONDS}s", "succeeded"], timeline
    waited = (timeline[1][0] - timeline[0][0]).total_seconds()
    assert RETRY_SECONDS - 0.2 <= waited < RETRY_SECONDS + 20, waited


def block(folder: Path) -> Path:
    """Make `folder` impossible to create (a file stands in its place): storage fails until unblocked."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("not a folder")
    return folder


def test_an_invitation_email_is_retried_after_backoff_once_the_mail_server_is_back(tenant, retry_worker, smtp) -> None:
    from portal import services

    with retry_worker.running():
        invitation = services.invitation_create(
            organisation=tenant.organisation, actor=tenant.owner, email="late.mail@example.org", role=Role.MEMBER
        )
        failed = wait_until(
            lambda: Invitation.objects.get(pk=invitation.pk), lambda i: i.email_attempts == 1, "first attempt"
        )
        assert failed.email_status == EmailStatus.PENDING  # not given up: waiting for its retry
        assert "ConnectionRefusedError" in failed.email_error
        smtp.start()
        sent = wait_until(
            lambda: Invitation.objects.get(pk=invitation.pk), lambda i: i.email_status == EmailStatus.SENT, "sent"
        )
    assert sent.email_attempts == 2 and sent.email_error == ""
    assert_retried_after_backoff(retry_worker, "portal.tasks.send_invitation_email")
    [received] = smtp.to("late.mail@example.org")
    assert "Acme Precision Engineering" in received.subject


def test_a_notification_email_is_retried_after_backoff_once_the_mail_server_is_back(
    tenant, framework, retry_worker, smtp
) -> None:
    from assessments import services
    from tests.assessments.conftest import responses_by_code

    assessment = services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Retried review",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=tenant.manager, maturity=1, narrative="", evidence_ids=[])
    with retry_worker.running():
        assert services.assessment_submit(assessment=assessment, actor=tenant.manager) == [tenant.rep.email]
        failed = wait_until(lambda: Outbox.objects.get(), lambda e: e.attempts == 1, "first attempt")
        assert failed.status == EmailStatus.PENDING and "ConnectionRefusedError" in failed.last_error
        smtp.start()
        sent = wait_until(lambda: Outbox.objects.get(), lambda e: e.status == EmailStatus.SENT, "sent")
    assert sent.attempts == 2 and sent.last_error == ""
    assert_retried_after_backoff(retry_worker, "portal.tasks.send_outbox_email")
    [received] = smtp.to(tenant.rep.email)
    assert "Retried review" in received.subject


def test_a_cascade_batch_retries_the_emails_that_failed_after_backoff(framework, retry_worker, smtp) -> None:
    from supplychain.models import SupplierInvitation
    from tests.supplychain.test_cascade import Company, start

    buyer, bravo, charlie = Company("Alpha"), Company("Bravo"), Company("Charlie")
    buyer.lists(bravo, charlie)
    with retry_worker.running():
        campaign = start(buyer, depth=1)

        def rows() -> list[Any]:
            return list(SupplierInvitation.objects.filter(campaign=campaign).order_by("email"))

        failed = wait_until(rows, lambda r: len(r) == 2 and all(i.email_attempts == 1 for i in r), "first attempt")
        assert {i.email_status for i in failed} == {EmailStatus.PENDING}
        assert all("ConnectionRefusedError" in i.email_error for i in failed)
        smtp.start()
        sent = wait_until(rows, lambda r: all(i.email_status == EmailStatus.SENT for i in r), "sent")
    assert [(i.email_attempts, i.email_error) for i in sent] == [(2, ""), (2, "")]
    assert_retried_after_backoff(retry_worker, "supplychain.tasks.send_supplier_invitations")
    for company in (bravo, charlie):
        [received] = smtp.to(company.email)
        assert "Alpha" in received.subject


def test_a_report_render_is_retried_after_backoff_once_storage_is_writable(
    tenant, framework, shared_storage, retry_worker
) -> None:
    from assessments.services import assessment_create
    from reports.models import AttestationReport, ReportStatus
    from reports.services import report_request
    from tests.reports.conftest import make_final, upload_evidence

    draft = assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    final = make_final(tenant, draft, upload_evidence(tenant))
    blocked = block(shared_storage / "reports" / str(tenant.organisation.pk))
    with retry_worker.running():
        report = report_request(organisation=tenant.organisation, actor=tenant.owner, assessment=final)
        failed = wait_until(lambda: AttestationReport.objects.get(pk=report.pk), lambda r: r.attempts == 1, "render")
        assert failed.status == ReportStatus.QUEUED and failed.error  # waiting for its retry
        assert "Error" in failed.error  # the storage's own error, e.g. FileExistsError
        blocked.unlink()
        ready = wait_until(
            lambda: AttestationReport.objects.get(pk=report.pk),
            lambda r: r.status in (ReportStatus.READY, ReportStatus.FAILED),
            "ready",
        )
    assert (ready.status, ready.attempts, ready.error) == (ReportStatus.READY, 2, "")
    assert_retried_after_backoff(retry_worker, "reports.tasks.render_report_task")
    [pdf] = blocked.iterdir()
    assert pdf.name == Path(ready.file.name).name and pdf.read_bytes().startswith(b"%PDF")
    with scopes_disabled():
        assert AuditEvent.objects.filter(verb="report.rendered", target_id=str(report.pk)).count() == 1


def test_an_organisation_export_is_retried_after_backoff_once_storage_is_writable(
    tenant, shared_storage, retry_worker, smtp
) -> None:
    from portal.exports import export_request
    from portal.models import ExportStatus, OrganisationExport

    smtp.start()  # the ready email goes out when the export is done
    blocked = block(shared_storage / "exports" / str(tenant.organisation.pk))
    with retry_worker.running():
        export = export_request(organisation=tenant.organisation, actor=tenant.owner)
        failed = wait_until(lambda: OrganisationExport.objects.get(pk=export.pk), lambda e: e.attempts == 1, "build")
        assert failed.status == ExportStatus.QUEUED and "Error" in failed.error
        blocked.unlink()
        ready = wait_until(
            lambda: OrganisationExport.objects.get(pk=export.pk),
            lambda e: e.status in (ExportStatus.READY, ExportStatus.FAILED),
            "ready",
        )
        assert (ready.status, ready.attempts, ready.error) == (ExportStatus.READY, 2, "")
        email = wait_until(lambda: Outbox.objects.get(), lambda e: e.status == EmailStatus.SENT, "the ready email")
    assert email.attempts == 1
    assert_retried_after_backoff(retry_worker, "portal.tasks.build_organisation_export")
    [archive] = blocked.iterdir()
    assert archive.name == Path(ready.file.name).name and archive.read_bytes().startswith(b"PK")
    [received] = smtp.to(tenant.owner.email)
    assert "ready to download" in received.subject
    assert timezone.now() - ready.completed_at < timedelta(minutes=1)
