from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from assessments.signatures import void_signatures
from portal.models import Organisation


class Command(BaseCommand):
    help = "List signatures that no longer match what was signed (content or cited files changed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--organisation", help="Slug of one organisation to check (default: all)")

    def handle(self, *args, **options) -> None:
        with scopes_disabled():
            organisations = list(Organisation.objects.order_by("name"))
        if options["organisation"]:
            organisations = [o for o in organisations if o.slug == options["organisation"]]
            if not organisations:
                raise CommandError(f"No organisation with slug {options['organisation']!r}")
        void = 0
        for organisation in organisations:
            for item in void_signatures(organisation):
                void += 1
                s = item.signature
                self.stdout.write(
                    self.style.ERROR(
                        f"VOID  {organisation.slug}  {s.subject_type} {s.subject_id}  signed by {s.typed_name} "
                        f"({s.get_capacity_display().lower()}) on {s.signed_at:%Y-%m-%d %H:%M} UTC: {item.reason}"
                    )
                )
        if void:
            raise CommandError(f"{void} signature(s) are void")
        self.stdout.write(self.style.SUCCESS("All signatures match what was signed."))
