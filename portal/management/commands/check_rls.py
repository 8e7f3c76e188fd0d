"""Confirm that the portal's database connection is held by row-level security (docs/operations.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from portal import rls


class Command(BaseCommand):
    help = (
        "Check, as the portal connects (DATABASE_URL), that the role is not a superuser, does not bypass "
        "row-level security, owns no tenant table, cannot read the signing key or run other SECURITY DEFINER "
        "functions, that every tenant table has its policy resting on the signed context, and that the "
        "database accepts this deployment's key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("Not PostgreSQL: there is no row-level security to check (django-scopes only).")
            return
        from django.core.checks import ERROR

        problems = rls.check_database(connection)
        for problem in problems:
            self.stderr.write(f"{problem.id}: {problem.msg}\n  {problem.hint}")
        errors = [problem for problem in problems if problem.level >= ERROR]
        if errors:
            raise CommandError(f"{len(errors)} problem(s): tenant rows are not protected by the database.")
        tables = len(rls.protected_tables())
        self.stdout.write(
            self.style.SUCCESS(f"Row-level security holds: {tables} tenant tables, connected as a role bound by it.")
        )
