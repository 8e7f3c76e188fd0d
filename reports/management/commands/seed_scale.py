"""`manage.py seed_scale`: the large data set the benchmarks in bench/ run against (see docs/benchmarks.md)."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from reports.scale import ScalePlan, seed_scale


class Command(BaseCommand):
    help = (
        "Build a realistic large data set: organisations with years of assessments, evidence files, "
        "supplier links over four tiers and audit events. Deterministic (--seed) and resumable: run it "
        "again after an interruption and it finishes the job."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = ScalePlan()
        parser.add_argument("--organisations", type=int, default=defaults.organisations)
        parser.add_argument("--years", type=int, default=defaults.years, help="assessments per organisation")
        parser.add_argument("--evidence", type=int, default=defaults.evidence, help="evidence files in all")
        parser.add_argument("--links", type=int, default=defaults.links, help="supplier links in all")
        parser.add_argument("--events", type=int, default=defaults.events, help="audit events in all")
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        plan = ScalePlan(
            organisations=options["organisations"],
            years=options["years"],
            evidence=options["evidence"],
            links=options["links"],
            events=options["events"],
            seed=options["seed"],
        )
        if plan.organisations < 1 or plan.years < 1 or min(plan.evidence, plan.links, plan.events) < 0:
            raise CommandError("--organisations and --years must be at least 1; totals cannot be negative")
        if connection.vendor != "postgresql":
            self.stderr.write(f"Note: seeding {connection.vendor}; the benchmarks are meant for PostgreSQL.")
        started = time.monotonic()
        bar = _ProgressBar(enabled=not options["quiet"] and sys.stderr.isatty(), stream=self.stderr)
        result = seed_scale(plan, progress=bar.update)
        bar.finish()
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"{plan.organisations} organisations ready: {result.built} built, {result.skipped} already there; "
                f"{result.buyers_linked} buyers linked to their suppliers, plans added for {result.plans_built} "
                f"and campaigns for {result.campaigns_built}, in {seconds:.1f} s."
            )
        )


class _ProgressBar:
    """`organisations  1234/2000 [###########.........]  61%  0:42 left` on one line."""

    def __init__(self, *, enabled: bool, stream: Any) -> None:
        self.enabled = enabled
        self.stream = stream
        self.started: dict[str, float] = {}
        self.last_label = ""
        self.last_print = 0.0

    def update(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        start = self.started.setdefault(label, now)
        if label != self.last_label and self.last_label:
            self._line_end()
        self.last_label = label
        if not (done == total or now - self.last_print > 0.2):
            return
        self.last_print = now
        fraction = done / total if total else 1.0
        left = (now - start) / done * (total - done) if done else 0.0
        filled = int(fraction * 30)
        text = (
            f"{label:<15} {done:>6}/{total:<6} [{'#' * filled}{'.' * (30 - filled)}] {fraction:>4.0%}"
            f"  {int(left // 60)}:{int(left % 60):02d} left"
        )
        if self.enabled:
            self.stream.write("\r" + text, ending="")
            self.stream.flush()
        elif done == total:
            self.stream.write(text)

    def _line_end(self) -> None:
        if self.enabled:
            self.stream.write("")

    def finish(self) -> None:
        self._line_end()
