from django.apps import AppConfig


class PrinciplesConfig(AppConfig):
    name = "principles"
    verbose_name = "Principles"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from portal.activity import Verb, register_subject, register_verbs

        register_subject(subject_type="commitment", noun=_("the commitment"))
        register_verbs(
            group=_("Commitment"),
            verbs={
                "commitment.signed": Verb(
                    _("Signed the commitment"), _("%(actor)s signed the commitment to %(target)s"), label_is_title=True
                ),
                "commitment.reaffirmed": Verb(
                    _("Reaffirmed the commitment"),
                    _("%(actor)s reaffirmed the commitment to %(target)s for another year"),
                    label_is_title=True,
                ),
                "commitment.withdrawn": Verb(
                    _("Withdrew the commitment"),
                    _("%(actor)s withdrew the commitment to %(target)s"),
                    label_is_title=True,
                ),
            },
        )
        from portal.dashboard import register_panel
        from portal.demo import register_demo_step
        from principles.dashboard import commitment_panel
        from principles.demo import demo_commitment

        register_panel(order=10, name="commitment", provider=commitment_panel)

        from portal.dashboard import register_awaiting
        from principles.work import reaffirm_item, reaffirm_queries

        register_awaiting(name="commitment_reaffirm", queries=reaffirm_queries, build=reaffirm_item)

        from portal.dashboard import register_getting_started
        from principles.dashboard import commitment_signed

        register_getting_started(
            name="commitment",
            order=10,
            label=_("Sign the commitment to the principles"),
            action="sign_commitment",
            url_name="principles:commitment_sign",
            done=commitment_signed,
        )

        from portal.exports import register_export_section
        from principles.data_protection import commitment_rows

        register_export_section(name="commitments", order=10, rows=commitment_rows)
        register_demo_step(order=10, name="commitment", step=demo_commitment)
