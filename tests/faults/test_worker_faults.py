"""Fault injection with real processes (PostgreSQL + Redis pass): a Celery worker killed with
SIGKILL in the middle of a report render and of a cascade, and the broker's Redis database
flushed while invitations are queued. The database rows and the sweeps must finish the work,
each piece of it once.

Each test runs its own worker processes on a queue of its own (prefork, in a process group of
their own so the main process and its pool children die together), sending email into files
and storing reports in a folder of the test's own.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from django_scopes import scopes_disabled

from portal.models import AuditEvent, EmailStatus
from tests.conftest import ON_POSTGRES, ON_REDIS
from tests.worker import Mailbox, start_worker, worker_env

pytestmark = [
    pytest.mark.skipif(
        not (ON_POSTGRES and ON_REDIS),
        reason="kills real Celery worker processes on Redis and PostgreSQL: runs in the PostgreSQL + Redis pass",
    ),
    pytest.mark.django_db(transaction=True),
]

CONCURRENCY = 2  # pool processes per worker: each may be in the middle of one email when killed


@dataclass
class Workers:
    """Workers started, killed and restarted within one test, all on one private queue."""

    queue: str
    folder: Path
    mail_folder: Path
    var_dir: Path
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self) -> subprocess.Popen:
        log = self.folder / f"worker-{len(self.processes) + 1}.log"
        process = start_worker(
            self.queue,
            log=log,
            env=self.env,
            pool="prefork",
            concurrency=CONCURRENCY,
            own_process_group=True,
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> list[int]:
        """SIGKILL the worker's whole process group (main process and pool children) at once."""
        members = group_members(process.pid)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while group_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not group_members(process.pid), "a pool process survived the kill"
        return members

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.folder.glob("worker-*.log")))

    def mailbox(self) -> Mailbox:
        return Mailbox(self.mail_folder)

    def broker(self) -> redis.Redis:
        return redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def unacked(self) -> set[bytes]:
        """Delivery tags of this queue's messages taken by a worker and not acknowledged yet."""
        return {tag for tag, raw in self.broker().hgetall("unacked").items() if json.loads(raw)[2] == self.queue}

    def task_names(self, tags: set[bytes]) -> list[str]:
        broker = self.broker()
        raws = [broker.hget("unacked", tag) for tag in tags]
        return sorted(json.loads(raw)[0]["headers"]["task"] for raw in raws if raw is not None)

    def redeliver(self, tags: set[bytes]) -> int:
        """Put back messages a killed worker had taken but not acknowledged, as Redis's visibility
        timeout (2 h) eventually would: a late duplicate delivery of the lost tasks."""
        broker = self.broker()
        moved = 0
        for tag in tags:
            raw = broker.hget("unacked", tag)
            if raw is None:
                continue
            message, _exchange, _routing_key = json.loads(raw)
            broker.lpush(self.queue, json.dumps(message))
            broker.hdel("unacked", tag)
            broker.zrem("unacked_index", tag)
            moved += 1
        return moved


def group_members(pgid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture
def workers(tmp_path) -> Iterator[Workers]:
    from portal.celery import app

    queue = f"portal-faults-{uuid.uuid4().hex[:8]}"
    mail_folder = tmp_path / "mail"
    mail_folder.mkdir()
    var_dir = tmp_path / "var"
    pool = Workers(
        queue=queue,
        folder=tmp_path,
        mail_folder=mail_folder,
        var_dir=var_dir,
        env=worker_env(mail_folder, PORTAL_VAR_DIR=str(var_dir)),
    )
    previous = (app.conf.task_default_queue, app.conf.task_always_eager)
    app.conf.task_default_queue = queue
    app.conf.task_always_eager = False
    try:
        yield pool
    finally:
        app.conf.task_default_queue, app.conf.task_always_eager = previous
        for process in pool.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        broker = pool.broker()
        broker.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        for tag, raw in broker.hgetall("unacked").items():
            if json.loads(raw)[2] == queue:
                broker.hdel("unacked", tag)
                broker.zrem("unacked_index", tag)


def wait_until(condition: Callable[[], object], *, timeout: float, interval: float = 0.05, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


def run_in_worker(workers: Workers, task) -> str:
    """Send `task` (a sweep) through the queue and wait for the worker's log line saying it finished;
    its result, as logged. A positive signal that the workers have taken everything sent before it."""
    sent = task.delay()
    marker = f"{task.name}[{sent.id}] succeeded in "
    line = wait_until(
        lambda: next((line for line in workers.logs().splitlines() if marker in line), None),
        timeout=60,
        what=f"{task.name} to run in the worker",
    )
    return str(line).rsplit(": ", 1)[1].strip()


def wait_idle(workers: Workers, sweep, *, still_unacked: set[bytes] = frozenset(), timeout: float = 120) -> str:
    """Wait until the live workers have finished everything queued so far, then return the result of
    `sweep` run by a worker. Finished means: the queue is empty, and no message is taken but
    unacknowledged (tasks acknowledge late, on completion) apart from `still_unacked` (a killed
    worker's, which wait in Redis for the visibility timeout). The sweep, sent once the queue is
    empty, closes the gap between a message leaving the queue and being recorded as unacknowledged."""

    def idle() -> bool:
        return workers.broker().llen(workers.queue) == 0 and not (workers.unacked() - set(still_unacked))

    wait_until(idle, timeout=timeout, interval=0.1, what="the queue to drain")
    result = run_in_worker(workers, sweep)
    wait_until(idle, timeout=timeout, interval=0.1, what="the queue to drain after the sweep")
    return result


# --- SIGKILL in the middle of a render --------------------------------------------------------


def large_final_assessment(tenant, framework):
    """A final self-assessment whose report is long (a few pages of narrative per criterion), so
    rendering really takes seconds: no test-only hook slows the worker down."""
    from assessments import services as assessment_services
    from assessments import workflow
    from tests.reports.conftest import CONTEXT, responses_by_code, upload_evidence

    evidence = upload_evidence(tenant)
    assessment = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    paragraph = (
        "Operators were consulted on the new line in paid hours; their representatives reviewed "
        "the monitoring data kept and agreed the retraining plan with the site manager. "
    )
    for code, response in responses_by_code(assessment).items():
        assessment_services.response_save(
            response=response,
            actor=tenant.manager,
            maturity=3,
            narrative=f"Criterion {code}.\n\n" + "\n\n".join(paragraph * 4 for _ in range(3)),
            evidence_ids=[evidence.pk],
        )
    assessment_services.assessment_submit(assessment=assessment, actor=tenant.manager)
    for signer, name in ((tenant.rep, "Rachel Reid"), (tenant.owner, "Olivia Owen")):
        workflow.subject_sign(
            subject=assessment,
            signer=signer,
            decision="sign",
            typed_name=name,
            job_title="Signatory",
            expected_hash=workflow.subject_hash(assessment),
            context=CONTEXT,
        )
    return assessment


def test_a_worker_killed_mid_render_leaves_the_report_to_the_sweep_which_finishes_it_once(
    tenant, framework, workers
) -> None:
    from reports.models import AttestationReport, ReportStatus
    from reports.services import report_request
    from reports.tasks import sweep_reports

    t0 = time.monotonic()
    assessment = large_final_assessment(tenant, framework)
    first = workers.start()
    print(f"\n[mid-render] assessment and worker ready in {time.monotonic() - t0:.1f}s")
    report = report_request(organisation=tenant.organisation, actor=tenant.owner, assessment=assessment)

    def row() -> AttestationReport:
        with scopes_disabled():
            return AttestationReport.objects.get(pk=report.pk)

    wait_until(lambda: row().status == ReportStatus.RENDERING, timeout=60, interval=0.02, what="the claim")
    # Inside WeasyPrint's layout of the long report, as its own progress log says; killed at once.
    wait_until(
        lambda: "Creating layout - Page 2" in workers.logs(), timeout=60, interval=0.02, what="the layout under way"
    )
    print(f"[mid-render] layout under way at {time.monotonic() - t0:.1f}s")
    killed = workers.kill(first)
    lost = workers.unacked()
    storage = workers.var_dir / "private" / "reports"
    killed_row = row()
    print(f"[mid-render] killed worker group {first.pid} ({len(killed)} processes) while the report was rendering")
    assert killed_row.status == ReportStatus.RENDERING and not killed_row.file, (
        "the render finished before the kill: make the report longer"
    )
    assert not list(storage.rglob("*.pdf")), "nothing is stored by a render that was killed"

    # A new worker alone does not pick it up: the message waits in Redis's unacked set for the
    # visibility timeout, and the row stays `rendering` until the sweep thinks it stuck. The new
    # worker has run everything queued, and a sweep of its own, before this is checked.
    workers.start()
    assert wait_idle(workers, sweep_reports, still_unacked=lost) == "0"  # claimed moments ago: not stuck
    assert row().status == ReportStatus.RENDERING
    assert workers.task_names(lost).count("reports.tasks.render_report_task") == 1
    # As the beat's sweep would find it after STUCK_AFTER (15 minutes): moved back in time.
    with scopes_disabled():
        AttestationReport.objects.filter(pk=report.pk).update(
            claimed_at=timezone.now() - timedelta(minutes=16), queued_at=timezone.now() - timedelta(minutes=16)
        )
    started = time.monotonic()
    assert sweep_reports.apply().get() == 1
    wait_until(
        lambda: row().status in (ReportStatus.READY, ReportStatus.FAILED), timeout=120, interval=0.2, what="the render"
    )
    recovered_in = time.monotonic() - started
    ready = row()
    assert ready.status == ReportStatus.READY, (ready.error, workers.logs()[-3000:])

    # The killed task's own message, delivered late (visibility timeout), claims nothing.
    # (The other pool process may have been holding a notification email's message: it goes back too.)
    assert workers.task_names(lost).count("reports.tasks.render_report_task") == 1
    assert workers.redeliver(lost) == len(lost)
    wait_until(lambda: "not-claimed" in workers.logs(), timeout=30, what="the late duplicate delivery")
    assert wait_idle(workers, sweep_reports) == "0"
    assert sweep_reports.apply().get() == 0

    ready = row()
    files = sorted(storage.rglob("*"))
    pdfs = [p for p in files if p.is_file()]
    with scopes_disabled():
        rendered_events = AuditEvent.objects.filter(verb="report.rendered", target_id=str(report.pk)).count()
        ready_rows = AttestationReport.objects.filter(organisation=tenant.organisation, status=ReportStatus.READY)
    about_the_report = [m.subject for m in workers.mailbox().messages() if "report" in m.subject.lower()]
    print(
        f"[mid-render] recovered by the sweep in {recovered_in:.1f}s: status {ready.status}, attempts "
        f"{ready.attempts}, {ready.page_count} pages, files stored {len(pdfs)}, report.rendered events "
        f"{rendered_events}, emails about the report {len(about_the_report)} (none is sent when it is ready)"
    )
    assert ready.attempts == 1 and ready.page_count > 1
    assert len(pdfs) == 1 and pdfs[0].name == Path(ready.file.name).name
    assert hashlib.sha256(pdfs[0].read_bytes()).hexdigest() == ready.sha256
    assert rendered_events == 1 and ready_rows.count() == 1
    assert about_the_report == []  # no "report ready" email exists: the page's status fragment announces it


# --- SIGKILL in the middle of a cascade -------------------------------------------------------


def suppliers_on_register(tenant, count: int) -> None:
    """`count` suppliers, through the register's CSV import (one bulk insert)."""
    from supplychain.services import import_confirm, import_preview

    lines = ["name,contact_name,contact_email"] + [
        f"Supplier {n:03d} Ltd,Contact {n:03d},sales@supplier{n:03d}.example" for n in range(count)
    ]
    pending, preview = import_preview(
        organisation=tenant.organisation, actor=tenant.owner, data="\n".join(lines).encode(), file_name="s.csv"
    )
    assert pending is not None, preview.errors
    assert import_confirm(pending=pending, actor=tenant.owner) == count


def start_campaign(tenant):
    from supplychain.services import campaign_start

    return campaign_start(
        organisation=tenant.organisation,
        actor=tenant.owner,
        title="Principles 2026",
        message="Please commit to the principles",
        depth=1,
        due_date=timezone.localdate() + timedelta(days=30),
        supplier_ids=None,
    )


def email_counts(campaign) -> Counter:
    from supplychain.models import SupplierInvitation

    with scopes_disabled():
        return Counter(SupplierInvitation.objects.filter(campaign=campaign).values_list("email_status", flat=True))


def per_address(mailbox: Mailbox) -> Counter:
    return Counter(address for message in mailbox.messages() for address in message.to)


def backdate_and_sweep(campaign, minutes: int) -> int:
    """Run the sweep as the beat would `minutes` later (rows moved back in time, not the clock)."""
    from supplychain.models import SupplierInvitation
    from supplychain.tasks import sweep_supplier_invitations

    past = timezone.now() - timedelta(minutes=minutes)
    with scopes_disabled():
        rows = SupplierInvitation.objects.filter(campaign=campaign).exclude(email_status=EmailStatus.SENT)
        rows.filter(email_status=EmailStatus.SENDING).update(email_claimed_at=past)
        rows.update(email_queued_at=past)
    return sweep_supplier_invitations.apply().get()


def test_a_worker_killed_mid_cascade_and_the_sweep_send_every_invitation(
    tenant, framework, workers, monkeypatch
) -> None:
    from supplychain import services
    from supplychain.models import SupplierInvitation
    from supplychain.tasks import sweep_supplier_invitations

    suppliers = 200
    monkeypatch.setattr(services, "BATCH_SIZE", 10)  # 20 tasks, so the kill lands between and inside batches
    suppliers_on_register(tenant, suppliers)
    first = workers.start()
    mailbox = workers.mailbox()
    campaign = start_campaign(tenant)

    def in_flight() -> Counter | None:
        counts = email_counts(campaign)
        return counts if counts["sent"] >= 30 and counts["sending"] else None

    wait_until(in_flight, timeout=60, interval=0.01, what="invitations being sent")
    workers.kill(first)
    lost = workers.unacked()
    at_kill = email_counts(campaign)
    with scopes_disabled():
        sending_at_kill = set(
            SupplierInvitation.objects.filter(campaign=campaign, email_status=EmailStatus.SENDING).values_list(
                "email", flat=True
            )
        )
    written_at_kill = per_address(mailbox)
    # Emails written by the killed worker whose row it did not get to mark `sent`.
    unmarked = sorted(address for address in written_at_kill if address in sending_at_kill)
    print(
        f"\n[mid-cascade] killed at {dict(at_kill)}; emails written {sum(written_at_kill.values())}; "
        f"written but not marked sent: {unmarked}"
    )

    workers.start()
    # The queued batches go to the new worker; the killed batches' rows stay where the kill left
    # them (`sending`, or `pending` for a batch taken but not yet claimed) until the sweep.
    # The beat's sweep, run by the worker once it has sent every queued batch, finds nothing yet:
    # the rows were queued and claimed moments ago.
    assert wait_idle(workers, sweep_supplier_invitations, still_unacked=lost) == "0"
    settled = email_counts(campaign)
    stuck = suppliers - settled["sent"]
    assert stuck >= len(sending_at_kill) and set(settled) <= {"sent", "sending", "pending"}
    # Only the killed worker's batches wait: every other one went to the new worker. A worker holds at
    # most one batch per pool process (prefetch multiplier 1). Those Redis lists as unacknowledged are
    # redelivered late below; one taken off the queue in the instant before the worker recorded it as
    # unacknowledged (kombu's BRPOP and its `unacked` write are two commands) is in neither place, so
    # only the sweep can finish it: the bound is the worker's capacity, not the `unacked` count.
    killed_batches = workers.task_names(lost).count("supplychain.tasks.send_supplier_invitations")
    assert killed_batches <= CONCURRENCY
    assert stuck <= CONCURRENCY * services.BATCH_SIZE, (stuck, killed_batches)
    # The sweep leaves a `sending` row alone for STUCK_SENDING_AFTER (10 minutes) ...
    assert backdate_and_sweep(campaign, 0) == 0
    # ... then hands it back.
    started = time.monotonic()
    swept = backdate_and_sweep(campaign, 11)
    assert swept == stuck
    wait_until(lambda: email_counts(campaign) == Counter(sent=suppliers), timeout=120, interval=0.2, what="all sent")
    recovered_in = time.monotonic() - started
    # The killed batches' own messages, delivered late (visibility timeout), claim nothing.
    redelivered = workers.redeliver(lost)
    wait_until(lambda: workers.logs().count("not-claimed") >= redelivered, timeout=30, what="late deliveries")
    assert wait_idle(workers, sweep_supplier_invitations) == "0"
    assert backdate_and_sweep(campaign, 11) == 0

    received = per_address(mailbox)
    twice = {address: n for address, n in received.items() if n > 1}
    with scopes_disabled():
        addresses = set(SupplierInvitation.objects.filter(campaign=campaign).values_list("email", flat=True))
    print(
        f"[mid-cascade] {suppliers} invitations, {stuck} stuck ({len(sending_at_kill)} `sending`) swept in "
        f"{recovered_in:.1f}s, {redelivered} killed batches redelivered late; emails {sum(received.values())}, "
        f"addresses reached {len(received)}, more than once: {twice}"
    )
    assert set(received) == addresses and len(addresses) == suppliers
    assert email_counts(campaign) == Counter(sent=suppliers)
    # At-least-once, by design: only an email written in the instant between the send and the row's
    # `sent` mark, by a process killed in that instant, goes out again; every other one goes once.
    assert set(twice) <= set(unmarked) and all(n == 2 for n in twice.values())
    assert len(twice) <= CONCURRENCY


# --- Redis flushed while invitations wait -----------------------------------------------------


def test_invitations_lost_from_a_flushed_broker_are_sent_once_by_the_sweep(
    tenant, framework, workers, monkeypatch
) -> None:
    from supplychain import services
    from supplychain.tasks import sweep_supplier_invitations

    suppliers = 60
    monkeypatch.setattr(services, "BATCH_SIZE", 10)
    suppliers_on_register(tenant, suppliers)
    broker = workers.broker()
    campaign = start_campaign(tenant)  # no worker yet: the batches wait in Redis
    queued = broker.llen(workers.queue)
    assert queued == suppliers // 10
    # Only the broker's own database (REDIS_URL's), not the server (others share this Redis) and
    # not the cache's database (sessions, rate limits).
    cache_db = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"]).connection_pool.connection_kwargs["db"]
    assert broker.connection_pool.connection_kwargs["db"] != cache_db
    broker.flushdb()
    assert broker.llen(workers.queue) == 0

    workers.start()
    # Nothing left to deliver: the worker takes no invitation, and the beat's sweep, run by the
    # worker, leaves rows queued moments ago alone (their messages may still be on their way).
    assert wait_idle(workers, sweep_supplier_invitations) == "0"
    assert email_counts(campaign) == Counter(pending=suppliers)
    assert workers.mailbox().messages() == []
    started = time.monotonic()
    assert backdate_and_sweep(campaign, 3) == suppliers  # as the beat would 2+ minutes later
    wait_until(lambda: email_counts(campaign) == Counter(sent=suppliers), timeout=120, interval=0.2, what="all sent")
    recovered_in = time.monotonic() - started
    assert backdate_and_sweep(campaign, 0) == 0  # the sweep just ran: nothing to hand out twice
    assert wait_idle(workers, sweep_supplier_invitations) == "0"  # every message sent has been handled
    received = per_address(workers.mailbox())
    print(
        f"\n[flushed broker] {queued} batch messages of {suppliers} invitations flushed; sweep re-sent "
        f"{suppliers} in {recovered_in:.1f}s; emails {sum(received.values())} to {len(received)} addresses"
    )
    assert len(received) == suppliers and set(received.values()) == {1}
