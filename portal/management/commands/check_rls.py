"""Confirm that the portal's database connection is held by row-level security (docs/operations.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from portal import rls


class Command(BaseCommand):
    help = (
        "Check, as the portal connects (DATABASE_URL), that the role is not a superuser, does not bypass "
        "row-level security, owns no tenant table, and that every tenant table has its policy."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("Not PostgreSQL: there is no row-level security to check (django-scopes only).")
            return
        errors = rls.check_database(connection)
        for error in errors:
            self.stderr.write(f"{error.id}: {error.msg}\n  {error.hint}")
        if errors:
            raise CommandError(f"{len(errors)} problem(s): tenant rows are not protected by the database.")
        tables = len(rls.tenant_tables())
        self.stdout.write(
            self.style.SUCCESS(f"Row-level security holds: {tables} tenant tables, connected as a role bound by it.")
        )
