from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from portal.models import Organisation
from portal.storage import check_recorded_files, storage_description


class Command(BaseCommand):
    help = (
        "Re-read every stored file (evidence, report PDFs, exports) from the folder or bucket it lives in "
        "and check it against the SHA-256 recorded when it was stored."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--organisation", help="Slug of one organisation to check (default: all)")

    def handle(self, *args, **options) -> None:
        organisation_id = None
        if options["organisation"]:
            with scopes_disabled():
                organisation = Organisation.objects.filter(slug=options["organisation"]).first()
            if organisation is None:
                raise CommandError(f"No organisation with slug {options['organisation']!r}")
            organisation_id = organisation.pk
        result = check_recorded_files(organisation_id=organisation_id)
        for problem in result.problems or []:
            item = problem.file
            self.stdout.write(
                self.style.ERROR(f"BAD   {item.model} {item.pk}  {item.name}: {problem.problem}"),
            )
        summary = (
            f"{result.checked} file(s) checked in the {storage_description()}: {result.matched} match their "
            f"recorded SHA-256, {result.unhashed} with no recorded hash are present, "
            f"{len(result.problems or [])} missing or changed."
        )
        if not result.ok:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
