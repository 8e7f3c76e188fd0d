from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        # Their own export sections, personal-data sections and retention steps register on import.
        from portal import exports, privacy, rls  # noqa: F401

        # After every migrate (all apps' tables exist by then): the row-level-security policies.
        post_migrate.connect(rls.install_after_migrate, sender=self, dispatch_uid="portal.rls.install")
