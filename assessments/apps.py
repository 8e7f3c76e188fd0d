from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = "Assessments"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from portal.audit import register_verb_labels

        register_verb_labels(
            {
                "assessment.created": _("started a self-assessment"),
                "assessment.submitted": _("sent a self-assessment for workforce review"),
                "response.updated": _("changed an answer"),
                "evidence.uploaded": _("uploaded evidence"),
                "evidence.deleted": _("deleted evidence"),
                "action.created": _("added an action"),
                "action.updated": _("updated an action"),
                "action.deleted": _("deleted an action"),
            }
        )
        from assessments.dashboard import assessment_panel
        from assessments.demo import demo_assessment, demo_plans
        from portal.dashboard import register_panel
        from portal.demo import register_demo_step

        register_panel(order=20, name="assessment", provider=assessment_panel)

        from assessments.selectors import awaiting_count, awaiting_user
        from portal.dashboard import register_awaiting

        register_awaiting(name="reviews", provider=awaiting_user, counter=awaiting_count)
        register_demo_step(order=20, name="assessment", step=demo_assessment)
        register_demo_step(order=30, name="plans", step=demo_plans)
