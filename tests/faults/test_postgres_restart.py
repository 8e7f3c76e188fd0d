"""PostgreSQL restarted under load (PostgreSQL + Redis pass): gunicorn under production settings
keeps serving a signed-in page and `/healthz/database` while the database goes away and comes
back, and once it is back every request succeeds: no stale connection answers a 500.

The restarted server is a PostgreSQL cluster of the test's own (initdb into a temporary folder,
its own port), not the machine's: other test sessions keep their database, and the test can stop
the server, hold it down for a measured outage and start it again, as `pg_ctlcluster restart` or
a managed database's failover would. gunicorn, the sign-in and the seeded data come from
`bench/pages.py` and `manage.py seed_scale`, as in the benchmarks.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench import pages
from tests.conftest import APP_ROLE, ON_POSTGRES, ON_REDIS

ROOT = Path(__file__).resolve().parents[2]
OUTAGE_SECONDS = 3.0
THREADS = 6
GUNICORN_WORKERS, GUNICORN_THREADS = 2, 2
AFTER_REQUESTS = 20  # per page, once the database is back
PATHS = ("floor", "dashboard", "principle page")

pytestmark = pytest.mark.skipif(
    not (ON_POSTGRES and ON_REDIS),
    reason="restarts a PostgreSQL server under gunicorn in production settings: runs in the PostgreSQL + Redis pass",
)


def _bindir() -> Path | None:
    try:
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        candidates = [Path(found)]
    except (OSError, subprocess.CalledProcessError):
        candidates = []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None)


@dataclass
class Cluster:
    """A throwaway PostgreSQL server: initdb'd into `data`, listening on 127.0.0.1:`port`."""

    bindir: Path
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/portal"

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        # initdb and postgres refuse to run as root: as root, run them as the postgres user.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, check=check, timeout=120)

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), *args, check=check)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        self.pg_ctl("-o", options, "-l", str(self.folder / "postgres.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "stop")

    def connections_of(self, role: str) -> int:
        """How many sessions `role` holds open on the server now."""
        import psycopg

        with psycopg.connect(self.url, connect_timeout=10) as connection:
            row = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", [role]).fetchone()
        return int(row[0]) if row else 0


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("needs PostgreSQL's server programs (initdb, pg_ctl) to run a cluster of the test's own")
    folder = Path(tempfile.mkdtemp(prefix="portal-faults-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = Cluster(bindir=bindir, folder=folder, port=pages.free_port())
    try:
        server.run(
            str(bindir / "initdb"), "-D", str(server.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )
        server.start()
        server.run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "portal")
        yield server
    finally:
        server.pg_ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Result:
    started: float
    finished: float
    path: str
    status: int | str  # an HTTP status, or the name of a connection error


def _get(port: int, path: str, headers: dict[str, str]) -> int | str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError as exc:
        return type(exc).__name__
    finally:
        connection.close()


def _load(port: int, ids: dict[str, str], stop: threading.Event, results: list[Result], offset: int) -> None:
    """Request the pages in turn until `stop`, as a signed-in user behind a TLS-terminating proxy."""
    turn = offset
    while not stop.is_set():
        name = PATHS[turn % len(PATHS)]
        turn += 1
        headers = dict(h.split(": ", 1) for h in pages.headers_for(name, ids))
        started = time.monotonic()
        status = _get(port, ids[name], headers)
        results.append(Result(started, time.monotonic(), name, status))


def _wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def _schema_from(source_url: str, cluster: Cluster) -> None:
    """The migrated schema of the test database, copied into `cluster` (seconds, where migrating
    from nothing takes minutes on a busy machine). Owners and grants stay behind: the copy's
    tables belong to the cluster's superuser."""
    dump = subprocess.run(
        [str(cluster.bindir / "pg_dump"), "--no-owner", "--no-privileges", "--dbname", source_url],
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout
    subprocess.run(
        [str(cluster.bindir / "psql"), "-q", "-X", "-v", "ON_ERROR_STOP=1", "--dbname", cluster.url],
        input=dump,
        capture_output=True,
        check=True,
        timeout=300,
    )


def _collected_static(env: dict[str, str]) -> Path:
    """Production static files (hashed and compressed: minutes of CPU on a busy machine), collected
    once per version of the static sources and the locked packages, kept in the temporary folder."""
    digest = hashlib.sha256((ROOT / "uv.lock").read_bytes())
    for path in sorted((ROOT / "static").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    target = Path(tempfile.gettempdir()) / f"portal-faults-static-{digest.hexdigest()[:16]}"
    if not (target / "staticfiles.json").exists():
        building = Path(tempfile.mkdtemp(prefix="portal-faults-var-"))
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env={**env, "PORTAL_VAR_DIR": str(building)},
            check=True,
            capture_output=True,
            timeout=900,
        )
        with contextlib.suppress(OSError):  # another run collected them meanwhile
            (building / "static").rename(target)
        shutil.rmtree(building, ignore_errors=True)
    return target


def _serve(cluster: Cluster, folder: Path, source_url: str) -> tuple[dict[str, str], int, dict[str, str]]:
    """The production configuration on `cluster`: schema, seeded data, static files, a session."""
    port = pages.free_port()
    env = pages.production_env(port)
    env.update(DATABASE_URL=cluster.url, PORTAL_VAR_DIR=str(folder / "var"))
    python = str(Path(sys.executable))
    timings = {}

    def step(name: str, command: list[str]) -> str:
        began = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=600)
        timings[name] = round(time.monotonic() - began, 1)
        return done.stdout

    began = time.monotonic()
    _schema_from(source_url, cluster)
    timings["schema"] = round(time.monotonic() - began, 1)
    # As the owner, as production migrates: normally nothing left to migrate, but the policies, and
    # the application role created in this cluster with its grants.
    env["PORTAL_DB_APP_ROLE"] = "portal_app"
    step("migrate", [python, "manage.py", "migrate", "--noinput", "-v0"])
    step(
        "seed",
        [
            python,
            "manage.py",
            "seed_scale",
            "--organisations=3",
            "--years=1",
            "--evidence=6",
            "--links=4",
            "--events=60",
        ]
        + ["--quiet"],
    )
    # From here on, as production runs: the web connects as the application role, under RLS.
    env["DATABASE_URL"] = cluster.url.replace("postgres://postgres@", "postgres://portal_app@")
    began = time.monotonic()
    (folder / "var").mkdir(exist_ok=True)
    (folder / "var" / "static").symlink_to(_collected_static(env))
    timings["static"] = round(time.monotonic() - began, 1)
    prepare = f"import json; from bench import pages; print(json.dumps(pages.prepare(pages.production_env({port}))))"
    ids = json.loads(step("sign in", [python, "-c", prepare]).strip().splitlines()[-1])
    print(f"\n[postgres restart] set up in seconds: {timings}")
    return ids, port, env


def test_the_web_recovers_without_a_500_once_postgresql_is_back(cluster, tmp_path, transactional_db) -> None:
    from tests.conftest import DATABASE_OWNER
    from tests.worker import _database_url

    # pg_dump reads every row: as the owner, which row-level security does not restrict.
    source = _database_url().replace(f"postgres://{APP_ROLE}", f"postgres://{DATABASE_OWNER}", 1)
    ids, port, env = _serve(cluster, tmp_path, source)
    log = (tmp_path / "gunicorn.log").open("w")
    server = pages.start_gunicorn(port, env, log, workers=GUNICORN_WORKERS, threads=GUNICORN_THREADS)
    results: list[Result] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_load, args=(port, ids, stop, results, n)) for n in range(THREADS)]
    try:
        pages.wait_for(f"http://127.0.0.1:{port}", server)
        for name in PATHS:
            pages.check(f"http://127.0.0.1:{port}", ids[name], pages.headers_for(name, ids))
        for thread in threads:
            thread.start()
        # Steady load first, until every gunicorn thread holds a persistent connection (seen by the
        # server) and every page has answered: the restart must break connections in use.
        _wait_for(
            lambda: (
                cluster.connections_of("portal_app") >= GUNICORN_WORKERS * GUNICORN_THREADS
                and all(any(r.path == name and r.status == 200 for r in list(results)) for name in PATHS)
            ),
            timeout=120,
            what="every gunicorn thread to hold a database connection",
        )
        down_at = time.monotonic()
        cluster.stop("fast")  # as `pg_ctlcluster restart` does first: connections are terminated
        stopped_at = time.monotonic()
        # Held down for the outage, and at least until every page has answered a request sent
        # while the server was down: the portal is seen answering without its database.
        time.sleep(OUTAGE_SECONDS)
        _wait_for(
            lambda: all(any(r.path == name and r.started >= stopped_at for r in list(results)) for name in PATHS),
            timeout=120,
            what="requests answered during the outage",
        )
        cluster.start()
        up_at = time.monotonic()
        # Load on until every page has answered AFTER_REQUESTS requests sent after the server was back.
        deadline = up_at + 120
        while time.monotonic() < deadline and any(
            sum(1 for r in list(results) if r.path == name and r.started >= up_at) < AFTER_REQUESTS for name in PATHS
        ):
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()

    before = [r for r in results if r.finished < down_at]
    during = [r for r in results if r.finished >= down_at and r.started < up_at]
    after = [r for r in results if r.started >= up_at]
    first_ok = {
        name: min((r.finished for r in after if r.path == name and r.status == 200), default=None) for name in PATHS
    }
    errors = [r for r in results if r.status != 200]
    last_error = max((r.finished for r in errors), default=down_at)
    by_page = {name: dict(Counter(str(r.status) for r in during if r.path == name)) for name in PATHS}
    gunicorn_log = (tmp_path / "gunicorn.log").read_text()
    print(
        f"\n[postgres restart] {len(results)} requests by {THREADS} threads; before: {len(before)} "
        f"({dict(Counter(str(r.status) for r in before))}); stop took {stopped_at - down_at:.2f}s, held down "
        f"{OUTAGE_SECONDS:.0f}s, start took {up_at - stopped_at - OUTAGE_SECONDS:.2f}s; during the outage: "
        f"{len(during)} requests, by page {by_page}; after it was back: {len(after)} "
        f"({dict(Counter(str(r.status) for r in after))}); first 200 after it was back, per page: "
        + ", ".join(f"{name} {t - up_at:.3f}s" if t else f"{name} never" for name, t in first_ok.items())
        + f"; errors in all {len(errors)} ({dict(Counter(str(r.status) for r in errors))}), the last one "
        f"{last_error - up_at:+.2f}s from the server being back"
    )
    assert before and all(r.status == 200 for r in before), Counter(str(r.status) for r in before)
    assert all(any(r.path == name for r in during) for name in PATHS), by_page
    assert all(sum(1 for r in after if r.path == name) >= AFTER_REQUESTS for name in PATHS)
    failed_after = [r for r in after if r.status != 200]
    assert not failed_after, (Counter((r.path, r.status) for r in failed_after), gunicorn_log[-3000:])
    assert all(first_ok.values())
    # During the outage the portal says it is unavailable for a moment (503), never a server error.
    assert {r.status for r in errors} <= {503}, Counter(str(r.status) for r in errors)
