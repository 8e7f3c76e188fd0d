from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from principles.framework import DEFAULT_FRAMEWORK_FILE, FrameworkFileError, framework_load


class Command(BaseCommand):
    help = "Load a framework file. Unchanged content does nothing; changed content becomes a new version."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", nargs="?", default=str(DEFAULT_FRAMEWORK_FILE))

    def handle(self, *args, **options) -> None:
        try:
            framework, created = framework_load(path=Path(options["path"]))
        except FrameworkFileError as exc:
            raise CommandError(f"Framework not loaded: {exc}") from exc
        criteria = framework.criteria.count()
        if created:
            self.stdout.write(self.style.SUCCESS(f"Loaded {framework} with {criteria} criteria."))
        else:
            self.stdout.write(f"{framework} is already loaded ({criteria} criteria); nothing to do.")
