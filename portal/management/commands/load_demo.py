from django.conf import settings
from django.core.management.base import BaseCommand

from portal.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Create (or refresh) the demo organisations and users. Safe to run more than once."

    def handle(self, *args, **options) -> None:
        logins = load_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Sign in at {settings.SITE_URL} with:"))
        width = max(len(login.email) for login in logins)
        for login in logins:
            self.stdout.write(f"  {login.email.ljust(width)}  {login.role:<14} {login.organisation}")
        self.stdout.write(f"  password for all: {DEMO_PASSWORD}")
