from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from portal.audit import audit_verify_chain
from portal.models import Organisation


class Command(BaseCommand):
    help = "Check every organisation's hash-chained audit trail and report the first broken link."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--organisation", help="Slug of one organisation to check (default: all)")

    def handle(self, *args, **options) -> None:
        with scopes_disabled():
            organisations = Organisation.objects.order_by("name")
            if options["organisation"]:
                organisations = organisations.filter(slug=options["organisation"])
                if not organisations.exists():
                    raise CommandError(f"No organisation with slug {options['organisation']!r}")
        broken = 0
        for organisation in organisations:
            result = audit_verify_chain(organisation=organisation)
            if result.ok:
                self.stdout.write(f"OK      {organisation.slug}: {result.events_checked} events")
            else:
                broken += 1
                self.stdout.write(
                    self.style.ERROR(
                        f"BROKEN  {organisation.slug}: first broken link at event #{result.broken_at}: {result.reason}"
                    )
                )
        if broken:
            raise CommandError(f"{broken} organisation(s) have a broken audit trail")
