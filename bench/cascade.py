"""Benchmark: a supplier cascade on a real Celery worker and Redis, against Celery's no-op task rate.

Usage (PostgreSQL and Redis running; the database is created and migrated if needed):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_cascade REDIS_URL=redis://127.0.0.1:6379/0 \\
    PORTAL_VAR_DIR=/tmp/cascadevar .venv/bin/python bench/cascade.py [--fanout 10,10,10,9] [--noop 2000] \\
        [--answerers 1] [--skip-leaves] [--rebuild]

Issue 8's goal: every invitation of a 10,110-supplier, four-tier cascade sent in under 30 s on 2 cores.
What it does, in one run on one machine:

1. Builds the data set once per fan-out (bulk inserts, deterministic ids, one transaction, so a
   data set is there whole or not at all; later runs reuse it, `--rebuild` drops the database
   first): a buyer and a tree of suppliers, `--fanout` register rows per organisation and tier
   (default 10,10,10,9: 10 + 100 + 1,000 + 9,000 = 10,110 suppliers). Every organisation has an
   owner and an active commitment, signed as `commitment_sign` would leave it (a signature on
   the statement's snapshot, two events in a valid audit chain), so accepting only confirms it,
   as for a supplier already committed for another buyer. Each register row is linked to the
   supplier's organisation. Several fan-outs can live in one database side by side.
2. Starts a real worker subprocess, `celery -A portal worker --concurrency=2 --loglevel=WARNING`
   (the Makefile's `worker` with a private queue, no gossip/mingle/heartbeat so it keeps apart
   from other workers on the same Redis), with the same environment, `EMAIL_BACKEND` set to
   Django's locmem backend (emails are rendered and built, nothing leaves the machine) and
   DJANGO_DEBUG off. Tasks are published to that private queue only.
3. Celery's no-op rate, before and after the cascade: `--noop` calls of Celery's built-in
   `celery.accumulate` (which returns its arguments: a no-op that every worker knows, through the
   portal's TenantTask base like every task), timed from the first publish until the worker has
   taken the last one (its `total` counter, read by `inspect stats`: no result backend needed).
4. The cascade: `campaign_start` from the buyer (depth = number of tiers), then this process acts
   as every supplier answering at once: one loop that, as soon as an invitation's email is sent
   (email_status "sent"), accepts it with `invitation_accept` as the supplier's owner and, above
   the last tier, forwards it to the supplier's whole register with `invitation_forward`.
   Invitations that can be forwarded go first; last-tier ones are accepted when nothing else
   waits (`--skip-leaves`: not at all). `--answerers N` answers with N threads side by side, as
   several web workers would (default 1: the loop answers one at a time, so the ~1,110 accepts and
   forwards above the last tier are a serial critical path of their own).
   Time: from calling `campaign_start` to the last `email_sent_at`, once all are sent.
5. Prints per-tier timings (when queued, when sent, queue-to-sent delay: a long one means the
   worker is the bottleneck, a short one the answering suppliers), the time spent in the services,
   emails per second, no-op tasks per second and their ratio; and, since the machine may be shared,
   CPU time read from /proc: the worker's (process group), this process's and the database
   backends' (of this database) during the cascade, the worker's CPU per email against its CPU
   per no-op task, and the share of the cores all of them got. Then a markdown table row for
   docs/benchmarks.md, and the same as JSON in PORTAL_VAR_DIR/bench/cascade-<time>.json (the
   worker's log beside it).
6. Stops the worker (also on error or Ctrl-C) and purges the private queue.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
GOAL_SECONDS = 30.0
QUEUE = "portal-bench-cascade"
NOOP_TASK = "celery.accumulate"
SEND_TASK = "supplychain.tasks.send_supplier_invitations"
ANCHOR = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)  # fixed dates: the same data set on any day
_WORDS_A = ["Northern", "Pennine", "Severn", "Tyne", "Wolds", "Humber", "Calder", "Moorland", "Dales", "Ribble"]
_WORDS_B = ["Precision", "Castings", "Fasteners", "Coatings", "Plastics", "Electrical", "Tooling", "Springs"]


# --- Environment, database and worker --------------------------------------------------------


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    url = env.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")) or not env.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: the benchmark needs a real worker (see the docstring).")
    env.update(
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DJANGO_DEBUG="0",  # DEBUG would keep every query in memory
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    env.setdefault("PORTAL_VAR_DIR", str(ROOT / "var"))
    return env


def ensure_database(url: str, *, rebuild: bool) -> None:
    """Create the database if it is missing (on the server's `postgres` database); drop it first on --rebuild."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    db = dj_database_url.parse(url)
    name = db["NAME"]
    if rebuild and "bench" not in name:
        sys.exit(f"--rebuild drops the database: refusing for {name!r}, whose name does not say it is a bench one.")
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or "postgres",
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if rebuild:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}", file=sys.stderr, flush=True)


def out_dir(env: dict[str, str]) -> Path:
    path = Path(env["PORTAL_VAR_DIR"]) / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_worker(env: dict[str, str], nodename: str, concurrency: int, log: Path) -> subprocess.Popen:
    with log.open("w") as handle:
        return subprocess.Popen(
            [
                str(VENV_BIN / "celery"),
                "-A",
                "portal",
                "worker",
                f"--concurrency={concurrency}",
                "--loglevel=WARNING",
                "-Q",
                QUEUE,
                "-n",
                nodename,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops its pool children too
        )


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)  # the group of the worker we started, nothing else
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def wait_ready(app: Any, worker: subprocess.Popen, nodename: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            sys.exit(f"The worker exited before it was ready:\n{log.read_text()[-3000:]}")
        if app.control.ping(destination=[nodename], timeout=0.5):
            return
    sys.exit(f"The worker did not answer a ping within 60 s:\n{log.read_text()[-3000:]}")


def purge_queue(app: Any) -> int:
    with app.connection_for_write() as conn:
        try:
            return conn.default_channel.queue_purge(QUEUE) or 0
        except Exception:  # no such queue yet
            return 0


def worker_totals(app: Any, nodename: str) -> dict[str, int]:
    """How many tasks of each name the worker has taken since it started."""
    reply = app.control.inspect(destination=[nodename], timeout=2.0, limit=1).stats() or {}
    if nodename not in reply:
        raise RuntimeError(f"worker {nodename} did not answer `inspect stats`")
    return dict(reply[nodename].get("total", {}))


class CpuMeter:
    """CPU seconds used by the worker (its process group), this process and the database's backends.

    On a machine shared with other work, wall-clock rates move with the load; CPU time per task
    moves much less, so the comparison with the no-op task is also made in CPU time.
    """

    def __init__(self, worker_pgid: int, database: str) -> None:
        self.worker_pgid, self.database = worker_pgid, database
        self.tick = os.sysconf("SC_CLK_TCK")

    def _stat(self, pid: str) -> list[str] | None:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        return text.rpartition(")")[2].split()  # fields from the 3rd on: state, ppid, pgrp, ...

    def _cpu(self, fields: list[str]) -> float:
        # utime, stime and the reaped children's cutime, cstime (pool processes that were replaced)
        return sum(int(f) for f in fields[11:15]) / self.tick

    def read(self) -> dict[str, float]:
        worker = database = 0.0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            fields = self._stat(entry.name)
            if fields is None:
                continue
            if int(fields[2]) == self.worker_pgid:
                worker += self._cpu(fields)
            else:
                try:
                    command = Path(f"/proc/{entry.name}/cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                if command.startswith("postgres:") and f" {self.database} " in command:
                    database += self._cpu(fields)
        times = os.times()
        return {"worker": worker, "bench": times.user + times.system, "database": database, "wall": time.monotonic()}

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {key: round(after[key] - before[key], 3) for key in before}


# --- The data set ------------------------------------------------------------------------------


def _id(*parts: object) -> uuid.UUID:
    """The same id for the same thing on every run."""
    return uuid.UUID(bytes=hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:16], version=4)


def tree(fanout: list[int]) -> tuple[list[list[int]], dict[int, list[int]]]:
    """Node numbers tier by tier (node 0 is the buyer) and each node's children."""
    tiers, children, n = [[0]], {}, 1
    for fan in fanout:
        below = []
        for parent in tiers[-1]:
            children[parent] = list(range(n, n + fan))
            below += children[parent]
            n += fan
        tiers.append(below)
    return tiers, children


class DataSet:
    def __init__(self, fanout: list[int]) -> None:
        self.fanout = fanout
        self.tag = "x".join(map(str, fanout))
        self.tiers, self.children = tree(fanout)
        self.expected = sum(len(t) for t in self.tiers[1:])

    def slug(self, n: int) -> str:
        return f"cascade-{self.tag}-{n:06d}"

    def email(self, n: int) -> str:
        return f"owner.{n:06d}@{self.tag}.cascade.example"

    def name(self, n: int) -> str:
        if n == 0:
            return f"Cascade Buyer {self.tag} plc"
        return f"{_WORDS_A[n % len(_WORDS_A)]} {_WORDS_B[n // len(_WORDS_A) % len(_WORDS_B)]} {n:06d} Ltd"

    def company_number(self, n: int) -> str:
        return f"CB{n:06d}"


def build(data: DataSet) -> float:
    """Build the data set unless it is there (all in one transaction: whole or absent). Seconds taken."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django_scopes import scopes_disabled

    from portal.audit import GENESIS_HASH, event_hash
    from portal.canonical import to_jsonable
    from portal.models import (
        AuditEvent,
        Membership,
        Organisation,
        Sector,
        Signature,
        SignatureCapacity,
        SignatureDecision,
        SizeBand,
        User,
    )
    from portal.roles import Role
    from portal.signing import snapshot_hash
    from principles.framework import ensure_framework
    from principles.models import Commitment
    from principles.services import commitment_snapshot, commitment_statement
    from supplychain.csv_io import match_key
    from supplychain.models import Supplier

    started = time.monotonic()
    with scopes_disabled():
        if Organisation.objects.filter(slug=data.slug(0)).exists():
            return 0.0
        total = data.expected + 1
        print(f"building the {data.tag} data set ({total:,} organisations) ...", file=sys.stderr, flush=True)
        framework = ensure_framework()
        password = make_password(None)  # unusable: nobody signs in
        nodes = [n for tier in data.tiers for n in tier]
        with transaction.atomic():
            orgs, users, memberships, signatures, commitments, events, suppliers = [], [], [], [], [], [], []
            for n in nodes:
                created = ANCHOR + timedelta(seconds=n)
                org = Organisation(
                    id=_id(data.tag, "org", n),
                    name=data.name(n),
                    slug=data.slug(n),
                    company_number=data.company_number(n),
                    sector=Sector.values[n % len(Sector.values)],
                    size_band=SizeBand.values[n % len(SizeBand.values)],
                    country="GB",
                    created_at=created,
                )
                owner = User(
                    id=None,
                    email=data.email(n),
                    full_name=f"Owner {n:06d}",
                    password=password,
                    date_joined=created,
                )
                orgs.append(org)
                users.append(owner)
            User.objects.bulk_create(users, batch_size=2000)  # PostgreSQL returns the new ids
            for n, org, owner in zip(nodes, orgs, users, strict=True):
                memberships.append(
                    Membership(
                        id=_id(data.tag, "membership", n),
                        organisation=org,
                        user=owner,
                        role=Role.OWNER,
                        created_at=org.created_at,
                    )
                )
                # The commitment as commitment_sign leaves it: signature, commitment, two audit events.
                signed = org.created_at + timedelta(days=1)
                statement = commitment_statement(organisation=org, framework=framework, extends_to_supply_chain=True)
                snapshot = to_jsonable(
                    commitment_snapshot(
                        organisation=org,
                        framework=framework,
                        statement=statement,
                        extends_to_supply_chain=True,
                        typed_name=owner.full_name,
                        job_title="Managing director",
                    )
                )
                signature = Signature(
                    id=_id(data.tag, "signature", n),
                    organisation=org,
                    subject_type="commitment",
                    subject_id=org.pk,
                    snapshot=snapshot,
                    content_hash=snapshot_hash(snapshot),
                    capacity=SignatureCapacity.MANAGEMENT,
                    decision=SignatureDecision.SIGN,
                    statement=statement,
                    signer=owner,
                    signer_email=owner.email,
                    signer_role=Role.OWNER,
                    typed_name=owner.full_name,
                    job_title="Managing director",
                    signed_at=signed,
                    ip_address="127.0.0.1",
                    user_agent="bench/cascade.py",
                    auth_methods=["password"],
                    mfa_used=False,
                )
                commitment = Commitment(
                    id=_id(data.tag, "commitment", n),
                    organisation=org,
                    framework=framework,
                    statement=statement,
                    extends_to_supply_chain=True,
                    signature=signature,
                    signed_at=signed,
                )
                signatures.append(signature)
                commitments.append(commitment)
                prev = GENESIS_HASH
                for sequence, (verb, target_type, target_id, label, after) in enumerate(
                    [
                        (
                            "signature.sign",
                            "signature",
                            signature.pk,
                            f"commitment {org.pk}",
                            {
                                "subject": "commitment",
                                "capacity": signature.capacity,
                                "decision": signature.decision,
                                "content_hash": signature.content_hash,
                                "typed_name": owner.full_name,
                                "mfa_used": False,
                            },
                        ),
                        (
                            "commitment.signed",
                            "commitment",
                            commitment.pk,
                            framework.title,
                            {
                                "framework_version": framework.version,
                                "extends_to_supply_chain": True,
                                "content_hash": signature.content_hash,
                            },
                        ),
                    ],
                    start=1,
                ):
                    event = AuditEvent(
                        id=_id(data.tag, "event", n, sequence),
                        organisation=org,
                        sequence=sequence,
                        actor=owner,
                        actor_label=owner.email,
                        verb=verb,
                        target_type=target_type,
                        target_id=str(target_id),
                        target_label=label,
                        before=None,
                        after=to_jsonable(after),
                        created_at=signed,
                        request_id="",
                        prev_hash=prev,
                    )
                    event.hash = event_hash(event)
                    prev = event.hash
                    events.append(event)
                org.audit_head_sequence, org.audit_head_hash = 2, prev
                # This organisation's register: its children in the tree, linked to their organisations.
                for child in data.children.get(n, []):
                    email = data.email(child)
                    suppliers.append(
                        Supplier(
                            id=_id(data.tag, "supplier", n, child),
                            organisation=org,
                            name=data.name(child),
                            contact_name=f"Owner {child:06d}",
                            contact_email=email,
                            company_number=data.company_number(child),
                            country="GB",
                            match_key=match_key(
                                name=data.name(child), email=email, company_number=data.company_number(child)
                            ),
                            linked_organisation_id=_id(data.tag, "org", child),
                            created_by=owner,
                            created_at=org.created_at + timedelta(days=2),
                        )
                    )
            Organisation.objects.bulk_create(orgs, batch_size=2000)  # with their audit chain heads
            Membership.objects.bulk_create(memberships, batch_size=2000)
            Signature.objects.bulk_create(signatures, batch_size=2000)
            Commitment.objects.bulk_create(commitments, batch_size=2000)
            AuditEvent.objects.bulk_create(events, batch_size=2000)
            Supplier.objects.bulk_create(suppliers, batch_size=2000)
    return time.monotonic() - started


# --- The measurements ----------------------------------------------------------------------------


def noop_rate(app: Any, nodename: str, count: int, meter: CpuMeter) -> dict[str, Any]:
    """Publish `count` no-op tasks; seconds until the worker has taken the last one."""
    task = app.tasks[NOOP_TASK]
    before = worker_totals(app, nodename).get(NOOP_TASK, 0)
    cpu = meter.read()
    started = time.monotonic()
    for _ in range(count):
        task.apply_async(queue=QUEUE)
    published = time.monotonic() - started
    deadline = started + 120
    with app.connection_for_write() as conn:  # wait on Redis first: asking the worker costs it CPU
        while conn.default_channel.client.llen(QUEUE) > 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    while (done := worker_totals(app, nodename).get(NOOP_TASK, 0) - before) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {count} no-op tasks ran within 120 s")
        time.sleep(0.02)
    seconds = time.monotonic() - started
    used = meter.delta(cpu, meter.read())
    return {
        "tasks": count,
        "seconds": seconds,
        "publish_seconds": published,
        "per_second": count / seconds,
        "cpu_seconds": used,
        "worker_cpu_ms_per_task": 1000 * used["worker"] / count,
    }


class Supplies:
    """What the suppliers' people know: their organisation, their owner, their register."""

    def __init__(self, data: DataSet) -> None:
        from django_scopes import scopes_disabled

        from portal.models import Membership, Organisation
        from portal.roles import Role
        from supplychain.models import Supplier

        with scopes_disabled():
            orgs = list(Organisation.objects.filter(slug__startswith=f"cascade-{data.tag}-"))
            self.org = {o.pk: o for o in orgs}
            self.buyer = next(o for o in orgs if o.slug == data.slug(0))
            self.owner = {
                m.organisation_id: m.user
                for m in Membership.objects.filter(organisation__in=orgs, role=Role.OWNER).select_related("user")
            }
            self.register: dict[Any, list[str]] = {}
            for org_id, pk in Supplier.objects.filter(organisation__in=orgs, archived_at__isnull=True).values_list(
                "organisation_id", "pk"
            ):
                self.register.setdefault(org_id, []).append(str(pk))


def run_cascade(
    data: DataSet, supplies: Supplies, *, timeout: float, accept_leaves: bool, answerers: int, meter: CpuMeter
) -> dict[str, Any]:
    from django.db.models import Count, Max, Q
    from django.utils import timezone

    from portal.models import EmailStatus
    from portal.signing import SigningContext
    from supplychain.models import InvitationState, SupplierInvitation
    from supplychain.services import campaign_start, invitation_accept, invitation_forward

    context = SigningContext(ip_address="127.0.0.1", user_agent="bench/cascade.py", auth_methods=["password"])
    depth = len(data.fanout)
    spent = {"campaign_start": 0.0, "accept": 0.0, "forward": 0.0, "poll": 0.0}
    calls = {"accept": [0] * (depth + 1), "forward": [0] * (depth + 1)}
    per_call: dict[str, list[float]] = {"accept": [], "forward": []}
    cpu_per_call: dict[str, list[float]] = {"accept": [], "forward": []}  # this thread's CPU time

    def answer(invitation: SupplierInvitation) -> tuple[int, tuple[float, float], tuple[float, float] | None]:
        """One supplier's owner accepts and, above the last tier, passes the request on to the whole register."""
        organisation = supplies.org[invitation.supplier.linked_organisation_id]
        owner = supplies.owner[organisation.pk]
        t0, c0 = time.monotonic(), time.thread_time()
        accepted = invitation_accept(invitation=invitation, user=owner, organisation=organisation, context=context)
        t1, c1 = time.monotonic(), time.thread_time()
        if invitation.tier == depth:
            return invitation.tier, (t1 - t0, c1 - c0), None
        invitation_forward(invitation=accepted, actor=owner, supplier_ids=supplies.register[organisation.pk])
        return invitation.tier, (t1 - t0, c1 - c0), (time.monotonic() - t1, time.thread_time() - c1)

    def record(tier: int, accept: tuple[float, float], forward: tuple[float, float] | None) -> None:
        for name, (wall, cpu) in (("accept", accept), ("forward", forward)) if forward else (("accept", accept),):
            spent[name] += wall
            per_call[name].append(wall)
            cpu_per_call[name].append(cpu)
            calls[name][tier] += 1

    # With --answerers above 1, that many threads answer side by side (each with its own connection),
    # as several web workers would; the main thread keeps polling and hands them invitations.
    pool = ThreadPoolExecutor(answerers, thread_name_prefix="supplier") if answerers > 1 else None
    in_flight: dict[Future, Any] = {}
    backlog: deque[SupplierInvitation] = deque()  # polled, not yet answered

    cpu = meter.read()
    wall_start = timezone.now()
    started = time.monotonic()
    buyer_owner = supplies.owner[supplies.buyer.pk]
    campaign = campaign_start(
        organisation=supplies.buyer,
        actor=buyer_owner,
        title=f"Cascade bench {wall_start:%Y-%m-%d %H:%M:%S}",
        message="Please commit to the Made Smarter Guiding Principles and pass this on to your suppliers.",
        depth=depth,
        due_date=timezone.localdate() + timedelta(days=30),
        supplier_ids=None,
    )
    spent["campaign_start"] = time.monotonic() - started
    invitations = SupplierInvitation.objects.filter(campaign=campaign)
    next_check, finished = 0.0, None
    while finished is None:
        now = time.monotonic()
        if now - started > timeout:
            break
        if now >= next_check:  # all sent (or given up on)? Checked twice a second, even while busy.
            counts = invitations.aggregate(
                sent=Count("id", filter=Q(email_status=EmailStatus.SENT)),
                failed=Count("id", filter=Q(email_status=EmailStatus.FAILED)),
            )
            if counts["sent"] + counts["failed"] >= data.expected:
                finished = time.monotonic()
                break
            next_check = now + 0.5
        if in_flight:  # threads: collect the answers that are done, waiting a little for one
            done, _ = wait(in_flight, timeout=0.005 if backlog else 0.02, return_when=FIRST_COMPLETED)
            for future in done:
                del in_flight[future]
                record(*future.result())
        if not backlog:
            # Invitations that lead further go first; leaves are accepted a few at a time in between.
            t0 = time.monotonic()
            waiting = invitations.filter(state=InvitationState.PENDING, email_status=EmailStatus.SENT).exclude(
                pk__in=list(in_flight.values())
            )
            backlog.extend(waiting.filter(tier__lt=depth).select_related("campaign", "supplier").order_by("tier")[:50])
            if not backlog and accept_leaves:
                backlog.extend(waiting.filter(tier=depth).select_related("campaign", "supplier")[: 10 * answerers])
            spent["poll"] += time.monotonic() - t0
            if not backlog:
                if not in_flight:
                    time.sleep(0.05)  # nothing to answer: the worker has the work; do not take its CPU
                continue
        if pool is None:
            record(*answer(backlog.popleft()))
        else:
            while backlog and len(in_flight) < answerers:
                invitation = backlog.popleft()
                in_flight[pool.submit(answer, invitation)] = invitation.pk
    if pool is not None:
        for future in in_flight:
            record(*future.result())
        pool.shutdown()
    used = meter.delta(cpu, meter.read())

    rows = list(invitations.values_list("tier", "email_status", "email_queued_at", "email_claimed_at", "email_sent_at"))
    sent = [r for r in rows if r[1] == EmailStatus.SENT]
    last_sent = invitations.aggregate(last=Max("email_sent_at"))["last"]
    complete = len(sent) == data.expected
    total = (last_sent - wall_start).total_seconds() if complete and last_sent else None

    def rel(moment: datetime | None) -> float | None:
        return round((moment - wall_start).total_seconds(), 3) if moment else None

    tiers = []
    for tier in range(1, depth + 1):
        mine = [r for r in sent if r[0] == tier]
        lags = sorted((r[4] - r[2]).total_seconds() for r in mine if r[2])
        tiers.append(
            {
                "tier": tier,
                "invitations": sum(1 for r in rows if r[0] == tier),
                "sent": len(mine),
                "first_queued_s": rel(min((r[2] for r in mine if r[2]), default=None)),
                "last_sent_s": rel(max((r[4] for r in mine), default=None)),
                "queue_to_sent_mean_s": round(statistics.fmean(lags), 3) if lags else None,
                "queue_to_sent_p95_s": round(lags[int(0.95 * (len(lags) - 1))], 3) if lags else None,
                "accepted_by_bench": calls["accept"][tier],
                "forwarded_by_bench": calls["forward"][tier],
            }
        )
    per_email = [(r[4] - r[3]).total_seconds() for r in sent if r[3]]
    return {
        "campaign": str(campaign.pk),
        "expected": data.expected,
        "sent": len(sent),
        "failed": sum(1 for r in rows if r[1] == EmailStatus.FAILED),
        "complete": complete,
        "total_seconds": total,
        "loop_seconds": (finished or time.monotonic()) - started,
        "bench_seconds": spent,
        "bench_service_seconds": spent["campaign_start"] + spent["accept"] + spent["forward"],
        "accept_ms_mean": 1000 * statistics.fmean(per_call["accept"]) if per_call["accept"] else None,
        "forward_ms_mean": 1000 * statistics.fmean(per_call["forward"]) if per_call["forward"] else None,
        "accept_cpu_ms_mean": 1000 * statistics.fmean(cpu_per_call["accept"]) if cpu_per_call["accept"] else None,
        "forward_cpu_ms_mean": 1000 * statistics.fmean(cpu_per_call["forward"]) if cpu_per_call["forward"] else None,
        "worker_ms_per_email_mean": 1000 * statistics.fmean(per_email) if per_email else None,
        "cpu_seconds": used,
        "worker_cpu_ms_per_email": 1000 * used["worker"] / len(sent) if sent else None,
        "tiers": tiers,
    }


# --- Main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fanout", default="10,10,10,9", help="register rows per organisation, tier by tier")
    parser.add_argument("--noop", type=int, default=2000, help="no-op tasks per yardstick run (default 2000)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--timeout", type=float, default=600, help="give up on the cascade after this many seconds")
    parser.add_argument("--rebuild", action="store_true", help="drop and recreate the database first")
    parser.add_argument(
        "--answerers",
        type=int,
        default=1,
        help="threads acting for the suppliers side by side (default 1: one loop answers one at a time)",
    )
    parser.add_argument(
        "--skip-leaves",
        action="store_true",
        help="do not accept last-tier invitations (they lead nowhere; accepting them competes with the worker)",
    )
    args = parser.parse_args()
    fanout = [int(f) for f in args.fanout.split(",")]
    if not 1 <= len(fanout) <= 5 or min(fanout) < 1:
        sys.exit("--fanout takes 1 to 5 tiers (a campaign goes at most 5 deep) of at least 1 supplier each")

    env = bench_env()
    ensure_database(env["DATABASE_URL"], rebuild=args.rebuild)
    migrate = [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    from portal.celery import app

    app.conf.task_default_queue = QUEUE  # the services' tasks go to our worker only
    data = DataSet(fanout)
    build_seconds = build(data)
    supplies = Supplies(data)

    folder = out_dir(env)
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    log = folder / f"cascade-{stamp}-worker.log"
    nodename = f"bench-cascade-{os.getpid()}@{socket.gethostname()}"
    purge_queue(app)
    load_before = os.getloadavg()
    print(f"starting the worker ({nodename}) ...", file=sys.stderr, flush=True)
    worker = start_worker(env, nodename, args.concurrency, log)
    meter = CpuMeter(worker.pid, str(settings.DATABASES["default"]["NAME"]))
    try:
        wait_ready(app, worker, nodename, log)
        noop_rate(app, nodename, min(200, args.noop), meter)  # warm the pool
        print(f"no-op yardstick: {args.noop} tasks ...", file=sys.stderr, flush=True)
        noop_before = noop_rate(app, nodename, args.noop, meter)
        tasks_before = worker_totals(app, nodename).get(SEND_TASK, 0)
        print(f"cascade: {data.expected:,} invitations over {len(fanout)} tiers ...", file=sys.stderr, flush=True)
        cascade = run_cascade(
            data,
            supplies,
            timeout=args.timeout,
            accept_leaves=not args.skip_leaves,
            answerers=args.answerers,
            meter=meter,
        )
        cascade["email_tasks"] = worker_totals(app, nodename).get(SEND_TASK, 0) - tasks_before
        print(f"no-op yardstick again: {args.noop} tasks ...", file=sys.stderr, flush=True)
        noop_after = noop_rate(app, nodename, args.noop, meter)
    finally:
        stop_worker(worker)
        purge_queue(app)
    load_after = os.getloadavg()

    noop = (noop_before["per_second"] + noop_after["per_second"]) / 2
    noop_cpu = (noop_before["worker_cpu_ms_per_task"] + noop_after["worker_cpu_ms_per_task"]) / 2
    total = cascade["total_seconds"]
    emails_per_s = cascade["sent"] / total if total else None
    ratio = emails_per_s / noop if emails_per_s else None
    email_cpu = cascade["worker_cpu_ms_per_email"]
    cpu_ratio = noop_cpu / email_cpu if email_cpu else None
    goal = "met" if total is not None and total < GOAL_SECONDS else "not met"
    cpu = cascade["cpu_seconds"]
    ours = (cpu["worker"] + cpu["bench"] + cpu["database"]) / (os.cpu_count() or 1) / cpu["wall"]

    print(
        f"\nfan-out {args.fanout}: {data.expected:,} invitations; worker concurrency {args.concurrency}, "
        f"{os.cpu_count()} cores; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
        f"data set built in {build_seconds:.1f} s; last-tier invitations "
        f"{'not accepted' if args.skip_leaves else 'accepted'}"
    )
    print("\n| tier | invitations | sent | first queued (s) | last sent (s) | queue->sent mean / p95 (s) | accepted |")
    print("|---|---|---|---|---|---|---|")
    for t in cascade["tiers"]:
        print(
            f"| {t['tier']} | {t['invitations']:,} | {t['sent']:,} | {t['first_queued_s']} | {t['last_sent_s']} "
            f"| {t['queue_to_sent_mean_s']} / {t['queue_to_sent_p95_s']} | {t['accepted_by_bench']:,} |"
        )
    spent = cascade["bench_seconds"]
    print(
        f"\nbench ({'one loop' if args.answerers == 1 else f'{args.answerers} threads, times summed'} acting for "
        f"every supplier): {cascade['bench_service_seconds']:.1f} s in the services "
        f"(campaign_start {spent['campaign_start']:.2f} s, accept {spent['accept']:.1f} s at "
        f"{cascade['accept_ms_mean'] or 0:.1f} ms each ({cascade['accept_cpu_ms_mean'] or 0:.1f} ms CPU), forward "
        f"{spent['forward']:.1f} s at {cascade['forward_ms_mean'] or 0:.1f} ms each "
        f"({cascade['forward_cpu_ms_mean'] or 0:.1f} ms CPU)), polling {spent['poll']:.1f} s"
    )
    print(
        f"worker: {cascade['email_tasks']:,} email tasks; {cascade['worker_ms_per_email_mean'] or 0:.1f} ms per email "
        f"from claim to sent; CPU {email_cpu or 0:.2f} ms per email against {noop_cpu:.2f} ms per no-op task"
    )
    print(
        f"CPU during the cascade: worker {cpu['worker']:.1f} s, bench {cpu['bench']:.1f} s, "
        f"database {cpu['database']:.1f} s in {cpu['wall']:.1f} s: {ours:.0%} of the machine's cores"
    )
    print(f"no-op: {noop_before['per_second']:.0f} tasks/s before the cascade, {noop_after['per_second']:.0f} after")
    print(
        "\n| date | fan-out | invitations | all sent (s) | goal (< 30 s) | bench in services (s) | emails/s "
        "| no-op tasks/s | emails/s / no-op/s | worker CPU ms per email / per no-op | CPU ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {datetime.now(UTC):%Y-%m-%d} | {args.fanout}{' (leaves not accepted)' if args.skip_leaves else ''}"
        f"{f', {args.answerers} answerers' if args.answerers > 1 else ''} "
        f"| {cascade['sent']:,} of {data.expected:,} "
        f"| {f'{total:.1f}' if total else 'incomplete'} | {goal} | {cascade['bench_service_seconds']:.1f} "
        f"| {emails_per_s or 0:.0f} | {noop:.0f} | {ratio or 0:.2f} | {email_cpu or 0:.2f} / {noop_cpu:.2f} "
        f"| {cpu_ratio or 0:.2f} |"
    )
    target = folder / f"cascade-{stamp}.json"
    target.write_text(
        json.dumps(
            {
                "args": vars(args),
                "cores": os.cpu_count(),
                "load_average": {"before": load_before, "after": load_after},
                "build_seconds": build_seconds,
                "noop": {"before": noop_before, "after": noop_after, "mean_per_second": noop},
                "cascade": cascade,
                "emails_per_second": emails_per_s,
                "ratio_emails_to_noop": ratio,
                "worker_cpu_ms_per_noop": noop_cpu,
                "cpu_ratio_noop_to_email": cpu_ratio,
                "machine_share": ours,
                "goal_seconds": GOAL_SECONDS,
                "goal": goal,
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nWritten to {target} (worker log: {log.name})")
    if not cascade["complete"]:
        sys.exit(f"The cascade did not finish: {cascade['sent']} of {data.expected} sent, {cascade['failed']} failed.")


if __name__ == "__main__":
    main()
