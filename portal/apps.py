from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        # Their own export sections, personal-data sections and retention steps register on import.
        from portal import exports, privacy  # noqa: F401
