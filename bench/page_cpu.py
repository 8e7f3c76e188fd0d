"""Benchmark: server CPU per request of every page, against the one-query floor view (issue 19, parts 1 and 4).

Usage (PostgreSQL and Redis running; DATABASE_URL names the database's owner, as `migrate` runs):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench REDIS_URL=redis://127.0.0.1:6379/12 \\
    CACHE_URL=redis://127.0.0.1:6379/13 PORTAL_VAR_DIR=/tmp/benchvar \\
    .venv/bin/python bench/page_cpu.py --prepare [--requests 100] [--data demo|scale] [--pages REGEX] [--check]

Which pages: every page in bench/catalogue.py, which lists every URL pattern that answers GET with
a page (signed in, signed out, and on the supplier's side) and every API list, filled with the
data set's ids (bench/datasets.py). tests/portal/test_bench_coverage.py fails when a new GET
pattern is neither listed there nor excluded with its reason, so a new page is measured by the
next run. `--pages REGEX` measures only the pages whose label or path matches (the floor always);
`--list` prints the pages and their paths without serving anything. A page whose object the data
set lacks (no change request in the demo, say) is listed at the end as not measured, with why.

Preparation (the demo data set): `--prepare` runs, in the production configuration below,
`manage.py migrate` as the owner with `PORTAL_DB_APP_ROLE` (default `portal_app`), so the
application role gets its grants and row-level-security policies, then `manage.py load_demo`
(safe to run again), adds a requested data export and a supplier import waiting for confirmation
(the only pages the demo has no object for that a run can make without changing the demo's
state), and `ANALYZE` (autovacuum is off on this machine type). Without `--prepare` the database
must already hold the demo. `--data scale` measures the first `seed_scale` organisation instead
(build it first with `manage.py seed_scale`, docs/benchmarks.md), as its manager; its people cannot
sign in with a password, so there sessions are made in-process (real sessions in the same store).

What it does, in one run:

1. Serves the portal with gunicorn, ONE sync worker, under production settings (bench/pages.py's
   `production_env`: DJANGO_ENV=production, DEBUG off, manifest static files, sessions in Redis,
   persistent database connections) behind a pretend TLS proxy (`X-Forwarded-Proto: https`, one
   trusted proxy), connecting to PostgreSQL as the application role (not the owner, not a
   superuser), so row-level security applies as in production.
2. Signs in each person the pages need through the sign-in form (the demo password; a real
   session cookie): Acme's owner, and for their own pages Acme's workforce representative, the
   owner of a supplier (Northern Castings) and of an organisation without a commitment (Tyne
   Coatings). Makes an API token for each person with API pages (`portal.tokens.token_create`).
3. Checks every page answers 200 (not a redirect to sign-in), listing every one that does not;
   warms each with 5 requests; then, page by page, warms it with 5 more and requests it
   `--requests` times one after another, reading the worker process's own CPU time (user +
   system from /proc/<pid>/stat; its children's fields are not counted, and a warning is printed
   if they move) before and after the batch. CPU per request is the difference divided by the
   requests. The floor, `/healthz/database` (one query, no session), is measured first and last in
   the same run, and each page is compared with the mean of the two.
4. Prints a table (page, CPU ms a request, x floor, issue 19's budget: 5x for HTML pages, 4x for
   API lists) and writes the same as JSON to PORTAL_VAR_DIR/bench/page-cpu-<time>.json.
   `--check` then exits with status 1, naming them, if any page is over its budget.

Also recorded (JSON): the worker's scheduler run time from /proc/<pid>/task/*/schedstat
(nanoseconds, a finer clock than /proc/<pid>/stat's 10 ms ticks), the wall time of each batch and
the load average, so a busy machine shows (CPU time per process does not grow with load; wall
time does).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from catalogue import FLOOR, PAGES, Page
from datasets import (
    DEMO_EMAIL,
    Http,
    app_role_url,
    collect_static,
    data_ids,
    make_token,
    manage,
    prepare_demo,
    session_in_process,
    setup_django,
    sign_in,
)
from pages import free_port, out_dir, production_env, start_gunicorn, wait_for

WARM_UP = 5
_addresses = itertools.count(1)


@dataclass
class Target:
    """A catalogue page filled with the data set's ids: its path, or why it cannot be measured."""

    page: Page
    path: str = ""
    prime_path: str = ""
    missing: str = ""

    @property
    def label(self) -> str:
        return self.page.label


def targets(ids: dict[str, Any], people: dict[str, tuple[str, str]]) -> list[Target]:
    from django.urls import reverse

    out = []
    for page in PAGES:
        absent = [key for key in (*page.kwargs.values(), *page.prime_kwargs.values()) if key not in ids]
        if page.person is not None and page.person not in people:
            absent.insert(0, f"person {page.person!r}")
        if absent:
            out.append(Target(page, missing=", ".join(dict.fromkeys(absent))))
            continue
        path = reverse(page.url_name, kwargs={name: ids[key] for name, key in page.kwargs.items()}) + page.query
        prime = ""
        if page.prime:
            prime = reverse(page.prime, kwargs={name: ids[key] for name, key in page.prime_kwargs.items()})
        out.append(Target(page, path=path, prime_path=prime))
    return out


def worker_pid(master: int) -> int:
    children = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                children.append(int(entry.name))
    if len(children) != 1:
        sys.exit(f"Expected one gunicorn worker under {master}, found {children}.")
    return children[0]


def cpu_of(pid: int) -> dict[str, float]:
    """The process's own user + system CPU seconds (/proc/<pid>/stat utime, stime), its waited-for
    children's (cutime, cstime: should stay 0) and its threads' scheduler run time (schedstat)."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # fields after the name start at state (field 3): utime is field 14, stime 15, cutime 16, cstime 17
    run_ns = 0
    for task in os.scandir(f"/proc/{pid}/task"):
        run_ns += int(Path(f"/proc/{pid}/task/{task.name}/schedstat").read_text().split()[0])
    return {
        "cpu": (int(fields[11]) + int(fields[12])) / tick,
        "children": (int(fields[13]) + int(fields[14])) / tick,
        "run": run_ns / 1e9,
    }


Headers = Callable[[], dict[str, str]]


def measure(http_: Http, pid: int, path: str, headers: Headers, requests: int) -> dict[str, float]:
    for _ in range(WARM_UP):
        http_.request("GET", path, headers=headers())
    before, wall = cpu_of(pid), time.perf_counter()
    for _ in range(requests):
        status, _, _ = http_.request("GET", path, headers=headers())
        if status != 200:
            sys.exit(f"{path} answered {status} during the batch.")
    wall, after = time.perf_counter() - wall, cpu_of(pid)
    if after["children"] != before["children"]:
        print(f"warning: the worker's children used CPU during {path}: not counted.", file=sys.stderr)
    return {
        "cpu_ms": (after["cpu"] - before["cpu"]) * 1000 / requests,
        "schedstat_ms": (after["run"] - before["run"]) * 1000 / requests,
        "children_cpu_ms": (after["children"] - before["children"]) * 1000,
        "wall_ms": wall * 1000 / requests,
    }


def header_maker(page: Page, cookies: dict[str, str], tokens: dict[str, str]) -> Headers:
    if page.url_name == "verify:report":
        # 30 checks a minute per address: each request comes from an address of its own (the
        # server trusts one proxy), so every one is answered, the limit's counter still paid.
        return lambda: {"X-Forwarded-For": "10.{}.{}.{}".format(*next(_addresses).to_bytes(3, "big"))}
    if page.person is None:
        return dict
    if page.is_api:
        token = tokens[page.person]
        return lambda: {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    cookie = cookies[page.person]
    return lambda: {"Cookie": cookie}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="sequential requests per page (default 100)")
    parser.add_argument("--data", choices=["demo", "scale"], default="demo", help="data set (default demo)")
    parser.add_argument("--prepare", action="store_true", help="migrate, load_demo and ANALYZE first")
    parser.add_argument("--email", default=DEMO_EMAIL, help=f"demo: the main person (default {DEMO_EMAIL})")
    parser.add_argument("--pages", metavar="REGEX", help="measure only the pages whose label or path matches")
    parser.add_argument("--check", action="store_true", help="exit 1, naming them, if a page is over its budget")
    parser.add_argument("--list", action="store_true", help="print the pages and their paths, measure nothing")
    args = parser.parse_args()

    port = free_port()
    env = production_env(port)  # owner's DATABASE_URL: migrate, load_demo, ids and the tokens
    role = env.get("PORTAL_DB_APP_ROLE") or "portal_app"
    env["PORTAL_DB_APP_ROLE"] = role
    if urlsplit(env["DATABASE_URL"]).username == role:
        sys.exit(f"DATABASE_URL must name the database's owner; the server connects as {role} itself.")
    if args.prepare:
        if args.data == "demo":
            prepare_demo(env)
        else:
            manage(env, "migrate", "--noinput", "-v0")
    setup_django(env)
    if not args.list:
        collect_static(env)
    if args.prepare and args.data == "scale":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    ids, people = data_ids(args.data)
    ids["token"] = uuid.UUID(int=0)  # the main person's token, made below (the token revoke page shows it)
    if args.data == "demo" and args.email != DEMO_EMAIL:
        people["main"] = (args.email, people["main"][1])
    all_targets = targets(ids, people)
    chosen = [t for t in all_targets if t.page.url_name != FLOOR]
    if args.pages:
        pattern = re.compile(args.pages, re.IGNORECASE)
        chosen = [t for t in chosen if pattern.search(t.label) or pattern.search(t.path)]
    floor = next(t for t in all_targets if t.page.url_name == FLOOR)
    measured = [t for t in chosen if t.path]
    unmeasured = [t for t in chosen if not t.path]
    if args.list:
        for t in [floor, *chosen]:
            who = t.page.person or "signed out"
            print(f"{t.label}\t{t.path or '(not measured: no ' + t.missing + ')'}\t{who}")
        return

    # Sessions and tokens for the people these pages need. The main person's token always exists:
    # the token revoke page shows it.
    from portal.demo import DEMO_PASSWORD

    persons = {t.page.person for t in measured if t.page.person}
    api_persons = {t.page.person for t in measured if t.page.person and t.page.is_api} | {"main"}
    tokens: dict[str, str] = {}
    for person in sorted(api_persons):
        token, tokens[person] = make_token(*people[person], name="bench page_cpu")
        if person == "main":
            ids["token"] = token.pk
    all_targets = targets(ids, people)
    by_label = {t.label: t for t in all_targets}
    measured = [by_label[t.label] for t in measured]
    server_env = {**env, "DATABASE_URL": app_role_url(env["DATABASE_URL"], role), "ALLAUTH_TRUSTED_PROXY_COUNT": "1"}
    server_env.pop("PORTAL_DB_APP_ROLE")  # the server does not migrate

    http_ = Http(port)
    base = f"http://127.0.0.1:{port}"
    log = open(out_dir(env) / "gunicorn-page-cpu.log", "w")  # noqa: SIM115 - open for the server's lifetime
    server = start_gunicorn(port, server_env, log, workers=1, threads=1, worker_class="sync")
    order = [floor, *measured, floor]
    results: list[tuple[Target, dict[str, float]]] = []
    load_before = os.getloadavg()
    try:
        wait_for(base, server)
        pid = worker_pid(server.pid)
        cookies = {
            person: (
                sign_in(port, people[person][0], DEMO_PASSWORD)
                if args.data == "demo"
                else session_in_process(people[person][0])
            )
            for person in sorted(persons)
        }
        headers = {t.label: header_maker(t.page, cookies, tokens) for t in order}
        for t in measured:
            if t.prime_path:
                http_.request("GET", t.prime_path, headers=headers[t.label]())
        failures = []
        for t in order[:-1]:
            status, answer, _ = http_.request("GET", t.path, headers=headers[t.label]())
            if status != 200:
                failures.append(f"  {t.label} ({t.path}) answered {status} (to {answer.get('location')})")
        if failures:
            sys.exit(
                "Not every page answers 200, so the figures would measure an error or a redirect:\n"
                + "\n".join(failures)
            )
        # Warm every page once before the first batch, so the first floor is measured on a worker as
        # warm as the last (without this the first floor read 1.5-2.5 ms against 1.3-1.4 ms last).
        for t in order[:-1]:
            for _ in range(WARM_UP):
                http_.request("GET", t.path, headers=headers[t.label]())
        for t in order:
            print(f"measuring {t.label} ({t.path}) x {args.requests} ...", file=sys.stderr, flush=True)
            results.append((t, measure(http_, pid, t.path, headers[t.label], args.requests)))
        if worker_pid(server.pid) != pid:
            sys.exit("The gunicorn worker was replaced during the run: the figures mix two processes.")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    load_after = os.getloadavg()

    floors = [r["cpu_ms"] for t, r in results if t.page.url_name == FLOOR]
    floor_ms = sum(floors) / len(floors)
    print(
        f"\n{args.data} data, {args.requests} sequential requests a page, gunicorn 1 sync worker, production "
        f"settings, PostgreSQL as {role}; floor {floor_ms:.2f} ms (runs: {' and '.join(f'{f:.2f}' for f in floors)}); "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after\n"
    )
    print("| page | path | who | CPU ms a request | x floor | budget | within |")
    print("|---|---|---|---|---|---|---|")
    report = []
    over = []
    for index, (t, r) in enumerate(results):
        ratio = r["cpu_ms"] / floor_ms
        budget = t.page.budget
        within = "floor" if budget is None else ("yes" if ratio <= budget else "no")
        label = t.label if budget is not None else ("floor (first)" if index == 0 else "floor (last)")
        who = t.page.person or "signed out"
        if within == "no":
            over.append(f"  {label} ({t.path}): {ratio:.2f}x the floor, budget {budget:g}x")
        print(
            f"| {label} | `{t.path}` | {who} | {r['cpu_ms']:.1f} | {ratio:.1f} | "
            f"{'' if budget is None else f'{budget:g}x'} | {within} |"
        )
        report.append(
            {"page": label, "path": t.path, "url_name": t.page.url_name, "person": t.page.person, "x_floor": ratio}
            | {"budget": budget, "within": within, **r}
        )
    if unmeasured:
        print("\nNot measured (the data set has no such object):")
        for t in unmeasured:
            print(f"  {t.label} ({t.page.url_name}): no {t.missing}")
    target = out_dir(env) / f"page-cpu-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    target.write_text(
        json.dumps(
            {
                "args": vars(args),
                "floor_cpu_ms": floor_ms,
                "load_average_before": load_before,
                "load_average_after": load_after,
                "pages": report,
                "not_measured": [
                    {"page": t.label, "url_name": t.page.url_name, "missing": t.missing} for t in unmeasured
                ],
            },
            indent=2,
        )
    )
    print(f"\nWritten to {target}")
    if args.check:
        if over:
            print(f"\n{len(over)} of {len(results) - 2} pages over budget:\n" + "\n".join(over), file=sys.stderr)
            sys.exit(1)
        print(f"\nEvery measured page is within its budget ({len(results) - 2} pages).", file=sys.stderr)


if __name__ == "__main__":
    main()
