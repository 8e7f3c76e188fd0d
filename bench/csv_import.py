"""Benchmark: importing a supplier CSV of N rows (issue 8's goal: 10,000 rows in under 5 s).

Usage:  .venv/bin/python bench/csv_import.py [--rows 10000] [--runs 3] [--profile]
        (on the embedded SQLite default, or with DATABASE_URL=postgres://... for PostgreSQL)

What it does, in one process:

1. Generates a deterministic CSV (`--seed`) of `--rows` data rows in the template's columns, as Excel's
   "CSV UTF-8" writes it (byte order mark, CRLF, three blank lines at the end): UK and European
   manufacturing suppliers with contacts, emails in mixed case with stray spaces, company numbers in
   several national formats (some written with spaces or in lower case), countries as codes, "uk" or
   blank. One row in 50 is deliberately bad (missing or malformed email, missing name, bad company
   number, country written out, an unquoted comma, an over-long cell) and one in 100 is a duplicate of
   an earlier row written differently (company number spaced or lower-cased; "Ltd" for "Limited" with
   another person at the same domain). At 10,000 rows: 200 bad, 100 duplicates, 9,700 to import.
2. For each of `--runs` runs, creates two throwaway organisations with an owner each (unique slugs) and
   imports the file into each, so every measurement starts from an empty register:
   - services: `import_preview` (read the register's keys, parse, store the pending SupplierImport)
     then `import_confirm` (bulk insert, audit event), timed separately;
   - view: a signed-in django.test.Client uploads the file (POST), opens the preview page (GET) and
     confirms (POST), as a user would; "whole" is the three requests together.
   Checks the preview's counts against the generator's and the register's size after each import.
   Besides elapsed time it records this process's CPU time and, on a local PostgreSQL, the CPU time of
   the connection's server process: on a shared machine the load of others inflates elapsed time, not
   CPU time. A warm-up before the measured runs counts the SQL statements at 50 and 1,000 rows (a
   query per row would show as growth).
3. Deletes the throwaway organisations, users and sessions afterwards (also after a failure); on
   PostgreSQL it then VACUUMs the supplier and import tables, as their dead rows would otherwise stay
   where autovacuum is off.
4. Prints medians as a markdown table row for docs/benchmarks.md and writes everything as JSON to
   PORTAL_VAR_DIR/bench/csv-import-<time>.json.

`--profile` adds one more, unmeasured, run of each path under cProfile and prints the top functions by
cumulative time (the .prof files are written beside the JSON).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

GOAL_SECONDS = 5.0
MACHINE = "2 cores (python-svc)"
SLUG_PREFIX = "bench-csv-"
EMAIL_DOMAIN = "bench-csv.example"

# --- The file -------------------------------------------------------------------------------------

_PLACES = (
    "Severn", "Pennine", "Wolds", "Humber", "Mersey", "Tyne", "Cotswold", "Dales", "Fenland", "Solent",
    "Chiltern", "Trent", "Avon", "Clyde", "Tamar", "Medway", "Ribble", "Wessex", "Mendip", "Calder",
    "Derwent", "Ouse", "Cheviot", "Lomond", "Forth", "Tees", "Wear", "Exe", "Dart", "Usk",
    "Brecon", "Malvern", "Quantock", "Peak", "Lune", "Eden", "Kennet", "Stour", "Arun", "Witham",
)  # fmt: skip
_MIDDLES = (
    "", "", "", "Valley", "Precision", "Advanced", "Industrial", "Technical", "United", "Northern",
    "Southern", "Midland", "Coastal", "Allied", "Modern", "Classic",
)  # fmt: skip
_TRADES = (
    "Plastics", "Castings", "Fasteners", "Electrical", "Engineering", "Coatings", "Tooling", "Packaging",
    "Logistics", "Springs", "Machining", "Fabrications", "Polymers", "Hydraulics", "Components", "Steel",
    "Alloys", "Forgings", "Electronics", "Pressings", "Gaskets", "Bearings", "Composites", "Extrusions",
    "Welding", "Finishing", "Moulding", "Cables", "Valves", "Pumps",
)  # fmt: skip
_UK_SUFFIXES = ("Ltd", "Ltd", "Ltd", "Limited", "Limited", "PLC", "LLP", "& Sons Ltd", "Group Ltd", "UK Ltd")
_FIRST = (
    "Jane", "Sam", "Wendy", "Tom", "Priya", "Mohammed", "Olivia", "Liam", "Aisha", "James", "Sophie",
    "Daniel", "Grace", "Owen", "Chloe", "Harry", "Amelia", "Rhys", "Niamh", "Callum", "Zara", "Ewan",
    "Fatima", "George", "Isla", "Jack", "Megan", "Ravi", "Siobhan", "Tariq",
)  # fmt: skip
_LAST = (
    "Smith", "Price", "Ross", "Jones", "Patel", "Khan", "Williams", "Brown", "Taylor", "Davies", "Evans",
    "Wilson", "Thomas", "Roberts", "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards",
    "Green", "Hall", "Wood", "O'Brien", "McLeod", "Murphy", "Campbell", "Kelly", "Ahmed",
)  # fmt: skip
_ROLES = ("", "", "", "Purchasing", "Quality", "Sales", "Operations")


@dataclass(frozen=True)
class Country:
    code: str
    weight: int
    suffixes: tuple[str, ...]
    tlds: tuple[str, ...]
    written: tuple[str, ...]  # how the country cell is filled in


_COUNTRIES = (
    Country("GB", 80, _UK_SUFFIXES, (".co.uk", ".co.uk", ".com", ".uk"), ("GB", "GB", "gb", "UK", "uk", "")),
    Country("DE", 6, ("GmbH", "GmbH & Co. KG", "AG"), (".de",), ("DE", "de")),
    Country("FR", 4, ("SARL", "SAS", "SA"), (".fr",), ("FR",)),
    Country("IE", 4, ("Ltd", "Teoranta", "DAC"), (".ie", ".com"), ("IE",)),
    Country("NL", 3, ("B.V.", "N.V."), (".nl",), ("NL", "nl")),
    Country("PL", 3, ("Sp. z o.o.", "S.A."), (".pl",), ("PL",)),
)
_BAD_KINDS = (
    "missing email",
    "malformed email",
    "missing name",
    "bad company number",
    "country written out",
    "unquoted comma",
    "over-long cell",
)


@dataclass(frozen=True)
class Supplier:
    name: str
    contact_name: str
    email: str  # as written in the file
    company_number: str  # as written in the file
    country: str  # as written in the file
    country_code: str
    domain: str


@dataclass
class SupplierFile:
    data: bytes
    rows: int
    valid: int
    bad: int
    duplicates: int
    bad_kinds: dict[str, int]


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        self.names: set[str] = set()
        self.numbers: set[str] = set()

    def company_number(self, country: str) -> tuple[str, str]:
        """A new company number: (normalised, as written in the file)."""
        rng = self.rng
        while True:
            if country == "GB":
                number = rng.choice(("", "", "", "SC", "NI")) or "0"
                number += "".join(rng.choices("0123456789", k=8 - len(number)))
            elif country == "DE":
                number = f"HRB{rng.randrange(10_000, 99_999)}"
            elif country == "FR":
                number = "".join(rng.choices("0123456789", k=9))
            elif country == "IE":
                number = str(rng.randrange(100_000, 999_999))
            else:
                number = "".join(rng.choices("0123456789", k=8))
            if number not in self.numbers:
                self.numbers.add(number)
                break
        written = number
        if rng.random() < 0.05 and len(number) == 8:
            written = f"{number[:4]} {number[4:]}"
        elif country == "DE" and rng.random() < 0.5:
            written = f"HRB {number[3:]}"
        return number, written

    def supplier(self) -> Supplier:
        rng = self.rng
        country = rng.choices(_COUNTRIES, weights=[c.weight for c in _COUNTRIES])[0]
        while True:
            words = [rng.choice(_PLACES), rng.choice(_MIDDLES), rng.choice(_TRADES)]
            base = " ".join(word for word in words if word)
            if base.lower() not in self.names:
                self.names.add(base.lower())
                break
        name = f"{base} {rng.choice(country.suffixes)}"
        domain = base.lower().replace(" ", rng.choice(("", "-"))) + rng.choice(country.tlds)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        role = rng.choice(_ROLES)
        contact = f"{first} {last}" + (f" ({role})" if role else "")
        local = rng.choice(
            (f"{first}.{last}", f"{first[0]}{last}", first, "purchasing", "accounts", "info", "sales")
        ).replace("'", "")
        email = f"{local}@{domain}"
        if rng.random() < 0.3:
            email = email.title() if rng.random() < 0.5 else email.replace(local, local.title())
        if rng.random() < 0.03:
            email = f" {email} "
        number = ""
        if rng.random() < 0.65:
            number = self.company_number(country.code)[1]
        return Supplier(
            name=name,
            contact_name=contact,
            email=email,
            company_number=number,
            country=rng.choice(country.written),
            country_code=country.code,
            domain=domain,
        )

    def duplicate(self, of: Supplier) -> Supplier:
        """The same company written differently, as a second copy pasted in from another list."""
        rng = self.rng
        if of.company_number:
            number = of.company_number.replace(" ", "")
            number = number.lower() if rng.random() < 0.5 else f"{number[:2]} {number[2:]}"
            return Supplier(
                f"{of.name.upper()}", of.contact_name, of.email, number, of.country, of.country_code, of.domain
            )
        if of.name.endswith(" Ltd"):
            name = of.name.removesuffix(" Ltd") + " Limited"
        elif of.name.endswith(" Limited"):
            name = of.name.removesuffix(" Limited") + " Ltd"
        else:
            name = of.name + "."
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first}.{last}@{of.domain}".replace("'", "")
        return Supplier(name, f"{first} {last}", email, "", of.country, of.country_code, of.domain)

    def bad(self, kind: str) -> list[str]:
        """A row that cannot be imported, as its cells (one kind of mistake each)."""
        s = self.supplier()
        cells = [s.name, s.contact_name, s.email, s.company_number, s.country]
        if kind == "missing email":
            cells[2] = ""
        elif kind == "malformed email":
            cells[2] = self.rng.choice(
                (s.email.replace("@", " at "), s.email.split("@")[0] + "@", s.email.replace("@", "@@"), s.contact_name)
            )
        elif kind == "missing name":
            cells[0] = ""
        elif kind == "bad company number":
            cells[3] = self.rng.choice(("12-345", "ABC", "n/a", "0123456789012", "TBC"))
        elif kind == "country written out":
            cells[4] = {"GB": "United Kingdom", "DE": "Germany", "FR": "France", "IE": "Ireland"}.get(
                s.country_code, "Netherlands"
            )
        elif kind == "over-long cell":
            cells[1] = f"{s.contact_name} - " + "call before 10am, ask for the purchasing office; " * 5
        return cells


def make_file(rows: int, seed: int) -> SupplierFile:
    """The CSV, with how many rows each outcome should have."""
    import csv

    from supplychain.csv_io import COLUMNS, MAX_ROWS

    if not 1 <= rows <= MAX_ROWS:
        sys.exit(f"--rows must be between 1 and {MAX_ROWS:,} (the import's own limit).")
    gen = _Generator(seed)
    bad, duplicates = rows // 50, rows // 100
    head = min(10, rows)  # the file starts with good rows, so a duplicate always has an earlier original
    rest = ["bad"] * bad + ["duplicate"] * duplicates + ["good"] * (rows - bad - duplicates - head)
    gen.rng.shuffle(rest)
    kinds = ["good"] * head + rest

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    good: list[Supplier] = []
    bad_kinds = dict.fromkeys(_BAD_KINDS, 0)
    for kind in kinds:
        if kind == "good":
            supplier = gen.supplier()
            good.append(supplier)
            writer.writerow(
                [supplier.name, supplier.contact_name, supplier.email, supplier.company_number, supplier.country]
            )
        elif kind == "duplicate":
            copy = gen.duplicate(gen.rng.choice(good))
            writer.writerow([copy.name, copy.contact_name, copy.email, copy.company_number, copy.country])
        else:
            mistake = _BAD_KINDS[sum(bad_kinds.values()) % len(_BAD_KINDS)]
            bad_kinds[mistake] += 1
            cells = gen.bad(mistake)
            if mistake == "unquoted comma":  # "Severn Plastics, Ltd" typed into a text file by hand
                name, _space, suffix = cells[0].rpartition(" ")
                cells[0] = f"{name}, {suffix}"
                buffer.write(",".join(cells) + "\r\n")
            else:
                writer.writerow(cells)
    buffer.write(",,,,\r\n\r\n,,,,\r\n")  # the blank rows Excel leaves below the data
    data = "\ufeff".encode() + buffer.getvalue().encode()
    return SupplierFile(
        data=data, rows=rows, valid=rows - bad - duplicates, bad=bad, duplicates=duplicates, bad_kinds=bad_kinds
    )


# --- The runs -------------------------------------------------------------------------------------


def database_label() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        version = connection.pg_version  # e.g. 150010
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    return connection.vendor


def throwaway(run_id: str, label: str) -> tuple[Any, Any]:
    """A new organisation with its owner, made as the sign-up page makes them."""
    from portal.models import User
    from portal.services import organisation_create

    user = User.objects.create_user(email=f"owner.{run_id}.{label}@{EMAIL_DOMAIN}", password=None)
    organisation = organisation_create(
        creator=user, name=f"{SLUG_PREFIX}{run_id}-{label} Ltd", sector="machinery", size_band="medium"
    )
    return organisation, user


def database_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend, when it runs on this machine (else 0).

    With the process's own CPU time this is the work an import costs, which the load of other processes on
    a shared machine does not inflate as it does the elapsed time.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def register_size(organisation: Any) -> int:
    from django_scopes import scope

    from supplychain.models import Supplier

    with scope(organisation=organisation):
        return Supplier.objects.filter(organisation=organisation).count()


def check(what: str, got: object, expected: object) -> None:
    if got != expected:
        raise SystemExit(f"{what}: got {got}, expected {expected}")


def run_services(file: SupplierFile, organisation: Any, user: Any) -> dict[str, float]:
    from supplychain import services

    d0 = database_cpu()
    c0, t0 = time.process_time(), time.perf_counter()
    pending, preview = services.import_preview(
        organisation=organisation, actor=user, data=file.data, file_name="suppliers.csv"
    )
    c1, t1 = time.process_time(), time.perf_counter()
    d1 = database_cpu()
    check("file errors", preview.file_errors, [])
    check("rows read", preview.total_rows, file.rows)
    check("rows to import", len(preview.valid), file.valid)
    check("rows refused", len(preview.errors), file.bad + file.duplicates)
    check("rows already in the register", len(preview.skipped), 0)
    assert pending is not None
    d2 = database_cpu()
    c2, t2 = time.process_time(), time.perf_counter()
    count = services.import_confirm(pending=pending, actor=user)
    c3, t3 = time.process_time(), time.perf_counter()
    d3 = database_cpu()
    check("suppliers imported", count, file.valid)
    check("register size after the services' import", register_size(organisation), file.valid)
    stored = len(json.dumps([pending.rows, pending.errors, pending.skipped], ensure_ascii=False).encode())
    return {
        "preview": t1 - t0,
        "confirm": t3 - t2,
        "preview_cpu": c1 - c0,
        "confirm_cpu": c3 - c2,
        "preview_database_cpu": d1 - d0,
        "confirm_database_cpu": d3 - d2,
        "pending_json_bytes": stored,
    }


def run_view(file: SupplierFile, organisation: Any, user: Any) -> dict[str, float]:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    client = Client()
    client.force_login(user)
    url = f"/o/{organisation.slug}/supply-chain/suppliers/import/"
    upload = SimpleUploadedFile("suppliers.csv", file.data, content_type="text/csv")
    elapsed: dict[str, float] = {}
    cpu = database = 0.0

    def timed(step: str, request: Callable[[], Any]) -> Any:
        """One request, timed; the checks between requests are not."""
        nonlocal cpu, database
        d0, c0, t0 = database_cpu(), time.process_time(), time.perf_counter()
        response = request()
        elapsed[step] = time.perf_counter() - t0
        cpu += time.process_time() - c0
        database += database_cpu() - d0
        return response

    try:
        response = timed("upload", lambda: client.post(url, {"file": upload}))
        check("upload response", response.status_code, 302)
        preview_url = response["Location"]
        page = timed("preview_page", lambda: client.get(preview_url))
        check("preview page", page.status_code, 200)
        if f"Import {file.valid} suppliers" not in page.content.decode():
            raise SystemExit(f"The preview page does not offer to import {file.valid} suppliers.")
        done = timed("confirm", lambda: client.post(preview_url))
        check("confirm response", done.status_code, 302)
        check("register size after the view's import", register_size(organisation), file.valid)
    finally:
        client.logout()  # deletes the session row
    return {**elapsed, "whole": sum(elapsed.values()), "whole_cpu": cpu, "whole_database_cpu": database}


def queries(function: Callable[..., Any], *args: Any) -> dict[str, int]:
    """How many SQL statements `function` runs, by kind (INSERT, SELECT, ...)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        function(*args)
    kinds: dict[str, int] = {}
    for query in captured.captured_queries:
        kind = query["sql"].split(None, 1)[0].upper() if query["sql"].strip() else "?"
        kinds[kind] = kinds.get(kind, 0) + 1
    return {"total": len(captured.captured_queries), **dict(sorted(kinds.items()))}


def profiled(name: str, out: Path, function: Callable[[], Any]) -> None:
    profile = cProfile.Profile()
    profile.runcall(function)
    target = out / f"csv-import-{name}.prof"
    profile.dump_stats(str(target))
    text = io.StringIO()
    pstats.Stats(profile, stream=text).strip_dirs().sort_stats("cumulative").print_stats(25)
    print(f"\n--- profile: {name} (written to {target}) ---\n{text.getvalue()}")


def cleanup(run_id: str) -> int:
    from django_scopes import scopes_disabled

    from portal.models import Organisation, User
    from supplychain.models import Supplier, SupplierImport

    with scopes_disabled():
        organisations = Organisation.objects.filter(slug__startswith=f"{SLUG_PREFIX}{run_id}-")
        count = organisations.count()
        organisations.delete()
        User.objects.filter(email__startswith=f"owner.{run_id}.", email__endswith=f"@{EMAIL_DOMAIN}").delete()
    from django.db import connection

    if connection.vendor == "postgresql":
        # Each run adds and deletes tens of thousands of rows; where autovacuum is off (as on the benchmark
        # machine) their dead tuples would stay and bloat the shared data set. VACUUM takes no lock that
        # stops readers or writers.
        with connection.cursor() as cursor:
            for model in (Supplier, SupplierImport):
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
    return count


def out_dir() -> Path:
    from django.conf import settings

    path = Path(settings.VAR_DIR) / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="data rows in the file (default 10,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each path, median reported (default 3)")
    parser.add_argument("--seed", type=int, default=8, help="seed of the generated file (default 8)")
    parser.add_argument("--profile", action="store_true", help="one more run of each path under cProfile")
    args = parser.parse_args()

    import logging

    import django

    django.setup()
    logging.getLogger("portal.request").setLevel(logging.WARNING)  # one line per request otherwise
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    started = time.perf_counter()
    file = make_file(args.rows, args.seed)
    print(
        f"{database_label()}: {file.rows:,} rows ({len(file.data) / 1024:.0f} KiB): {file.valid:,} to import, "
        f"{file.bad} bad ({', '.join(f'{n} {k}' for k, n in file.bad_kinds.items())}), "
        f"{file.duplicates} duplicates of earlier rows; made in {time.perf_counter() - started:.2f} s",
        file=sys.stderr,
    )

    run_id = uuid.uuid4().hex[:8]
    services_runs: list[dict[str, float]] = []
    view_runs: list[dict[str, float]] = []
    query_counts: dict[str, dict[str, int]] = {}
    out = out_dir()
    try:
        # Unmeasured warm-up (the first request loads templates, URL patterns and code; a running server
        # has), counting SQL statements at two sizes: per-row queries would show as growth.
        for size in sorted({min(args.rows, 50), min(args.rows, 1000)}):
            small = make_file(size, args.seed + 1)
            organisation, user = throwaway(run_id, f"qs{size}")
            query_counts[f"services, {size} rows"] = queries(run_services, small, organisation, user)
            organisation, user = throwaway(run_id, f"qv{size}")
            query_counts[f"view, {size} rows"] = queries(run_view, small, organisation, user)
        for label, counts in query_counts.items():
            print(f"SQL statements, {label}: {counts}", file=sys.stderr)
        for run in range(args.runs):
            organisation, user = throwaway(run_id, f"s{run}")
            services_runs.append(run_services(file, organisation, user))
            organisation, user = throwaway(run_id, f"v{run}")
            view_runs.append(run_view(file, organisation, user))
            s, v = services_runs[-1], view_runs[-1]
            print(
                f"run {run + 1}: services preview {s['preview']:.2f} s, confirm {s['confirm']:.2f} s; "
                f"view upload {v['upload']:.2f} s, preview page {v['preview_page']:.2f} s, "
                f"confirm {v['confirm']:.2f} s, whole {v['whole']:.2f} s",
                file=sys.stderr,
                flush=True,
            )
        if args.profile:
            organisation, user = throwaway(run_id, "ps")
            profiled("services", out, lambda: run_services(file, organisation, user))
            organisation, user = throwaway(run_id, "pv")
            profiled("view", out, lambda: run_view(file, organisation, user))
    finally:
        removed = cleanup(run_id)
        print(f"removed {removed} throwaway organisations", file=sys.stderr)

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    preview, confirm = median(services_runs, "preview"), median(services_runs, "confirm")
    whole = median(view_runs, "whole")
    today = datetime.now(UTC)
    print(
        f"\nmedian of {args.runs} runs; preview and confirm through the services (CPU time "
        f"{median(services_runs, 'preview_cpu'):.2f} s and {median(services_runs, 'confirm_cpu'):.2f} s here, "
        f"{median(services_runs, 'preview_database_cpu'):.2f} s and "
        f"{median(services_runs, 'confirm_database_cpu'):.2f} s in the database server; pending "
        f"SupplierImport JSON {services_runs[0]['pending_json_bytes'] / 1e6:.1f} MB), whole = upload + preview page "
        f"+ confirm through the view (upload {median(view_runs, 'upload'):.2f} s, preview page "
        f"{median(view_runs, 'preview_page'):.2f} s, confirm {median(view_runs, 'confirm'):.2f} s; CPU time "
        f"{median(view_runs, 'whole_cpu'):.2f} s here + {median(view_runs, 'whole_database_cpu'):.2f} s in the "
        f"database server); goal: whole under {GOAL_SECONDS:.0f} s: "
        f"{'met' if whole < GOAL_SECONDS else 'NOT met'}; load average at the end {os.getloadavg()[0]:.1f}\n"
    )
    print("| date | machine | database | rows | preview s | confirm s | whole s |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {today:%Y-%m-%d} | {MACHINE} | {database_label()} | {file.rows:,} ({file.valid:,} imported) "
        f"| {preview:.2f} | {confirm:.2f} | {whole:.2f} |"
    )
    target = out / f"csv-import-{today:%Y%m%dT%H%M%SZ}.json"
    target.write_text(
        json.dumps(
            {
                "date": today.isoformat(),
                "machine": MACHINE,
                "database": database_label(),
                "args": vars(args),
                "file": {
                    "rows": file.rows,
                    "bytes": len(file.data),
                    "valid": file.valid,
                    "bad": file.bad,
                    "bad_kinds": file.bad_kinds,
                    "duplicates": file.duplicates,
                },
                "median_seconds": {"preview": preview, "confirm": confirm, "whole": whole},
                "goal_seconds": GOAL_SECONDS,
                "goal_met": whole < GOAL_SECONDS,
                "load_average_at_end": os.getloadavg(),
                "sql_statements": query_counts,
                "services_runs": services_runs,
                "view_runs": view_runs,
            },
            indent=2,
        )
    )
    print(f"\nWritten to {target}")


if __name__ == "__main__":
    main()
