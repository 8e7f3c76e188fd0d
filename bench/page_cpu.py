"""Benchmark: server CPU per request of each page, against the one-query floor view (issue 19, part 1).

Usage (PostgreSQL and Redis running; DATABASE_URL names the database's owner, as `migrate` runs):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench REDIS_URL=redis://127.0.0.1:6379/12 \\
    CACHE_URL=redis://127.0.0.1:6379/13 PORTAL_VAR_DIR=/tmp/benchvar \\
    .venv/bin/python bench/page_cpu.py --prepare [--requests 100] [--data demo|scale]

Preparation (the demo data set): `--prepare` runs, in the production configuration below,
`manage.py migrate` as the owner with `PORTAL_DB_APP_ROLE` (default `portal_app`), so the
application role gets its grants and row-level-security policies, then `manage.py load_demo`
(safe to run again) and `ANALYZE` (autovacuum is off on this machine type). Without `--prepare`
the database must already hold both. `--data scale` measures the first `seed_scale` organisation
instead (build it first with `manage.py seed_scale`, docs/benchmarks.md); its people cannot sign in
with a password, so there the session is made in-process (a real session in the same store).

What it does, in one run:

1. Serves the portal with gunicorn, ONE sync worker, under production settings (bench/pages.py's
   `production_env`: DJANGO_ENV=production, DEBUG off, manifest static files, sessions in Redis,
   persistent database connections) behind a pretend TLS proxy (`X-Forwarded-Proto: https`),
   connecting to PostgreSQL as the application role (not the owner, not a superuser), so
   row-level security applies as in production.
2. Signs in through the sign-in form as owner@acme.example with the demo password (a real session
   cookie), and makes an API token for the same person (`portal.tokens.token_create`).
3. Checks every page answers 200 (not a redirect to sign-in) and warms each with 5 requests;
   then, page by page, warms it with 5 more and requests it `--requests` times one after another,
   reading the worker process's own CPU time (user + system from /proc/<pid>/stat; its children's
   fields are not counted, and a warning is printed if they move) before and after the batch. CPU
   per request is the difference divided by the requests. The floor, `/healthz/database` (one
   query, no session), is measured first and last in the same run, and each page is compared
   with the mean of the two.
4. Prints a table (page, CPU ms a request, x floor, issue 19's budget: 5x for HTML pages, 4x for
   API lists) and writes the same as JSON to PORTAL_VAR_DIR/bench/page-cpu-<time>.json.

Also recorded (JSON): the worker's scheduler run time from /proc/<pid>/task/*/schedstat
(nanoseconds, a finer clock than /proc/<pid>/stat's 10 ms ticks), the wall time of each batch and
the load average, so a busy machine shows (CPU time per process does not grow with load; wall
time does).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from pages import ROOT, VENV_BIN, free_port, out_dir, production_env, start_gunicorn, wait_for

HTML_BUDGET = 5.0
API_BUDGET = 4.0
DEMO_EMAIL = "owner@acme.example"  # owns Acme: many items on "Your work", sees every page below
WARM_UP = 5


def app_role_url(owner_url: str, role: str) -> str:
    """The same database as `owner_url`, connecting as `role` (trust or .pgpass authentication)."""
    parts = urlsplit(owner_url)
    host = parts.hostname or ""
    netloc = f"{role}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(VENV_BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True)


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def demo_pages(email: str) -> tuple[dict[str, str], object, object]:
    """The demo organisation's pages, for `email`; also the user and organisation (for the token)."""
    from django.contrib.auth import get_user_model
    from django_scopes import scopes_disabled

    from assessments.models import Assessment, AssessmentStatus, Plan
    from portal.models import Organisation
    from principles.models import Commitment
    from supplychain.models import Campaign

    with scopes_disabled():
        organisation = Organisation.objects.filter(name="Acme Precision Engineering").first()
        if organisation is None:
            sys.exit("No demo data in this database: run with --prepare (or `manage.py load_demo`).")
        user = get_user_model().objects.get(email=email)
        assessment = Assessment.objects.filter(organisation=organisation, status=AssessmentStatus.DRAFT).latest(
            "period_start"
        )
        plan = Plan.objects.filter(organisation=organisation, status=AssessmentStatus.FINAL).first()
        campaign = Campaign.objects.filter(organisation=organisation).order_by("-created_at").first()
        if plan is None or campaign is None or not Commitment.objects.filter(organisation=organisation).exists():
            sys.exit("The demo data has no final plan, campaign or commitment: run `manage.py load_demo` again.")
    return tenant_pages(organisation.slug, assessment.pk, plan.pk, campaign.pk), user, organisation


def scale_pages() -> tuple[dict[str, str], object, object]:
    """The first seed_scale organisation's pages, for its manager (as bench/pages.py)."""
    from django.contrib.auth import get_user_model
    from django_scopes import scopes_disabled

    from assessments.models import Assessment, AssessmentStatus, Plan
    from portal.models import Organisation
    from reports.scale import EMAIL_DOMAIN, SLUG_PREFIX
    from supplychain.models import Campaign

    with scopes_disabled():
        organisation = Organisation.objects.filter(slug=f"{SLUG_PREFIX}00000").first()
        if organisation is None:
            sys.exit("No seed_scale data in this database: run `manage.py seed_scale` first (docs/benchmarks.md).")
        user = get_user_model().objects.get(email=f"manager.00000@{EMAIL_DOMAIN}")
        assessment = Assessment.objects.filter(organisation=organisation, status=AssessmentStatus.DRAFT).latest(
            "period_start"
        )
        plan = Plan.objects.filter(organisation=organisation, status=AssessmentStatus.FINAL).first()
        campaign = Campaign.objects.filter(organisation=organisation).first()
        if plan is None or campaign is None:
            sys.exit("The data set has no plans or campaigns: run `manage.py seed_scale` again to add them.")
    return tenant_pages(organisation.slug, assessment.pk, plan.pk, campaign.pk), user, organisation


def tenant_pages(slug: str, assessment_id: object, plan_id: object, campaign_id: object) -> dict[str, str]:
    o = f"/o/{slug}"
    return {
        "floor": "/healthz/database",
        "account": "/account/",
        "your work": "/your-work/",
        "notifications": "/notifications/",
        "notification settings": "/account/notifications/",
        "dashboard": f"{o}/",
        "assessment overview": f"{o}/assessments/{assessment_id}/",
        "principle page": f"{o}/assessments/{assessment_id}/principles/1/",
        "plan page": f"{o}/plans/{plan_id}/",
        "campaign page": f"{o}/supply-chain/campaigns/{campaign_id}/",
        "commitment page": f"{o}/commitment/",
        "API: suppliers": f"/api/v1/organisations/{slug}/suppliers/",
        "API: inbox": "/api/v1/inbox/",
        "API: notifications": "/api/v1/notifications/",
    }


class Http:
    """One request per connection (gunicorn's sync worker closes each), no redirects followed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers={"X-Forwarded-Proto": "https", **(headers or {})})
            response = connection.getresponse()
            content = response.read()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, {k.lower(): v for k, v in response.getheaders()}, content
        finally:
            connection.close()

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def sign_in(http_: Http, email: str, password: str) -> str:
    """Sign in through allauth's form, as a browser does; returns the Cookie header."""
    status, _, page = http_.request("GET", "/accounts/login/")
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or match is None:
        sys.exit(f"The sign-in page answered {status} without a form token.")
    body = urlencode({"csrfmiddlewaretoken": match.group(1).decode(), "login": email, "password": password})
    status, headers, _ = http_.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": http_.cookie_header(),
            "Origin": f"https://127.0.0.1:{http_.port}",
            "Referer": f"https://127.0.0.1:{http_.port}/accounts/login/",
        },
    )
    if status != 302 or "/accounts/" in headers.get("location", "/accounts/"):
        sys.exit(
            f"Signing in as {email} answered {status} (to {headers.get('location')}), not a redirect into the portal."
        )
    return http_.cookie_header()


def headers_for(name: str, cookie: str, token: str) -> dict[str, str]:
    if name == "floor":
        return {}
    if name.startswith("API"):
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return {"Cookie": cookie}


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


def measure(http_: Http, pid: int, path: str, headers: dict[str, str], requests: int) -> dict[str, float]:
    for _ in range(WARM_UP):
        http_.request("GET", path, headers=headers)
    before, wall = cpu_of(pid), time.perf_counter()
    for _ in range(requests):
        status, _, _ = http_.request("GET", path, headers=headers)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="sequential requests per page (default 100)")
    parser.add_argument("--data", choices=["demo", "scale"], default="demo", help="data set (default demo)")
    parser.add_argument("--prepare", action="store_true", help="migrate, load_demo and ANALYZE first")
    parser.add_argument("--email", default=DEMO_EMAIL, help=f"demo person to sign in as (default {DEMO_EMAIL})")
    args = parser.parse_args()

    port = free_port()
    env = production_env(port)  # owner's DATABASE_URL: migrate, load_demo, ids and the token
    role = env.get("PORTAL_DB_APP_ROLE") or "portal_app"
    env["PORTAL_DB_APP_ROLE"] = role
    if urlsplit(env["DATABASE_URL"]).username == role:
        sys.exit(f"DATABASE_URL must name the database's owner; the server connects as {role} itself.")
    if args.prepare:
        manage(env, "migrate", "--noinput", "-v0")
        if args.data == "demo":
            manage(env, "load_demo")
    manage(env, "collectstatic", "--noinput", "-v0")
    setup_django(env)
    from django.db import connection
    from django_scopes import scopes_disabled

    from portal.demo import DEMO_PASSWORD
    from portal.tokens import token_create

    if args.prepare:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    pages, user, organisation = demo_pages(args.email) if args.data == "demo" else scale_pages()
    with scopes_disabled():
        membership_role = organisation.memberships.get(user=user).role  # type: ignore[attr-defined]
        token = token_create(
            user=user, organisation=organisation, name="bench page_cpu", role=membership_role, expires_at=None
        ).raw
    server_env = {**env, "DATABASE_URL": app_role_url(env["DATABASE_URL"], role)}
    server_env.pop("PORTAL_DB_APP_ROLE")  # the server does not migrate

    http_ = Http(port)
    base = f"http://127.0.0.1:{port}"
    log = open(out_dir(env) / "gunicorn-page-cpu.log", "w")  # noqa: SIM115 - open for the server's lifetime
    server = start_gunicorn(port, server_env, log, workers=1, threads=1, worker_class="sync")
    order = [*pages, "floor"]
    results: list[tuple[str, dict[str, float]]] = []
    load_before = os.getloadavg()
    try:
        wait_for(base, server)
        pid = worker_pid(server.pid)
        if args.data == "demo":
            cookie = sign_in(http_, args.email, DEMO_PASSWORD)
        else:
            from django.conf import settings
            from django.test import Client

            client = Client()
            client.force_login(user)
            cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        for name, path in pages.items():
            status, headers, _ = http_.request("GET", path, headers=headers_for(name, cookie, token))
            if status != 200:
                sys.exit(f"{name} ({path}) answered {status} (to {headers.get('location')}), not 200.")
        # Warm every page once before the first batch, so the first floor is measured on a worker as
        # warm as the last (without this the first floor read 1.5-2.5 ms against 1.3-1.4 ms last).
        for name, path in pages.items():
            for _ in range(WARM_UP):
                http_.request("GET", path, headers=headers_for(name, cookie, token))
        for name in order:
            print(f"measuring {name} ({pages[name]}) x {args.requests} ...", file=sys.stderr, flush=True)
            results.append((name, measure(http_, pid, pages[name], headers_for(name, cookie, token), args.requests)))
        if worker_pid(server.pid) != pid:
            sys.exit("The gunicorn worker was replaced during the run: the figures mix two processes.")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    load_after = os.getloadavg()

    floors = [r["cpu_ms"] for name, r in results if name == "floor"]
    floor = sum(floors) / len(floors)
    print(
        f"\n{args.data} data, {args.requests} sequential requests a page, gunicorn 1 sync worker, production "
        f"settings, PostgreSQL as {role}; floor {floor:.2f} ms (runs: {' and '.join(f'{f:.2f}' for f in floors)}); "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after\n"
    )
    print("| page | path | CPU ms a request | x floor | budget | within |")
    print("|---|---|---|---|---|---|")
    report = []
    for index, (name, r) in enumerate(results):
        ratio = r["cpu_ms"] / floor
        budget = None if name == "floor" else (API_BUDGET if name.startswith("API") else HTML_BUDGET)
        within = "floor" if budget is None else ("yes" if ratio <= budget else "no")
        label = name if name != "floor" else ("floor (first)" if index == 0 else "floor (last)")
        print(
            f"| {label} | `{pages[name]}` | {r['cpu_ms']:.1f} | {ratio:.1f} | "
            f"{'' if budget is None else f'{budget:g}x'} | {within} |"
        )
        report.append({"page": label, "path": pages[name], "x_floor": ratio, "budget": budget, "within": within, **r})
    target = out_dir(env) / f"page-cpu-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    target.write_text(
        json.dumps(
            {
                "args": vars(args),
                "floor_cpu_ms": floor,
                "load_average_before": load_before,
                "load_average_after": load_after,
                "pages": report,
            },
            indent=2,
        )
    )
    print(f"\nWritten to {target}")


if __name__ == "__main__":
    main()
