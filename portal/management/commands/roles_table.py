"""Print the actions x roles table of portal.roles as Markdown (docs/architecture.md, DESIGN.md section 5)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.roles import permissions_markdown


class Command(BaseCommand):
    help = "Print the table of what each role may do, generated from portal.roles.ACTIONS, as Markdown."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(permissions_markdown(), ending="")
