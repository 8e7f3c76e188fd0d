from django.conf import settings
from django.core.management.base import BaseCommand

from portal.privacy import retention_apply


class Command(BaseCommand):
    help = (
        "Delete what the retention settings say has been kept long enough: expired or revoked invitations, "
        "expired supplier invitations, expired sessions and expired data exports (the beat task runs the same)."
    )

    def handle(self, *args, **options) -> None:
        removed = retention_apply()
        self.stdout.write(
            f"Retention: invitations {settings.PORTAL_INVITATION_RETENTION_DAYS} days after expiry, "
            f"exports {settings.PORTAL_EXPORT_RETENTION_DAYS} days after they were made."
        )
        for kind, count in removed.items():
            self.stdout.write(f"{kind.replace('_', ' ')}: {count}")
        self.stdout.write(self.style.SUCCESS(f"Removed or anonymised {sum(removed.values())} in all."))
