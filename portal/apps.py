from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from allauth.account.signals import password_changed, password_reset, password_set

        # Their own export sections, personal-data sections and retention steps register on import.
        from portal import adapters, exports, privacy, rls  # noqa: F401
        from portal.activity import register_portal_verbs

        register_portal_verbs()

        # A password change or reset revokes the person's API tokens, as it ends their other sessions.
        password_changed.connect(adapters.on_password_changed, dispatch_uid="portal.tokens.password_changed")
        password_set.connect(adapters.on_password_changed, dispatch_uid="portal.tokens.password_set")
        password_reset.connect(adapters.on_password_reset, dispatch_uid="portal.tokens.password_reset")

        # Cached API tokens (portal.tokens) are read again after any save or delete of their person,
        # a token or a membership, whichever path made it (the services also bump explicitly).
        from django.db.models.signals import post_delete, post_save

        from portal.models import ApiToken, Membership, User
        from portal.tokens import bump_person_on_save

        for model in (User, ApiToken, Membership):
            for name, signal in (("saved", post_save), ("deleted", post_delete)):
                uid = f"portal.tokens.{model.__name__}.{name}"
                signal.connect(bump_person_on_save, sender=model, dispatch_uid=uid)

        # "Your work": invitations to join an organisation (the other kinds register in their own apps).
        from portal.dashboard import invitation_item, invitation_queries, register_awaiting

        register_awaiting(name="invitations", queries=invitation_queries, build=invitation_item)

        # Last in the demo: the reminders the beat would make now, so the demo people have some.
        from portal.demo import register_demo_step
        from portal.reminders import demo_reminders

        register_demo_step(order=1000, name="reminders", step=demo_reminders)

        # After every migrate (all apps' tables exist by then): the row-level-security policies.
        post_migrate.connect(rls.install_after_migrate, sender=self, dispatch_uid="portal.rls.install")

        from django.utils.translation import gettext_lazy as _

        from portal.dashboard import register_getting_started, workforce_rep_invited

        register_getting_started(
            name="workforce_rep",
            order=20,
            label=_("Invite a workforce representative"),
            action="manage_members",
            url_name="portal:invitation_create",
            query="?role=workforce_rep",
            done=workforce_rep_invited,
        )
