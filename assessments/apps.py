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

        from assessments import work
        from portal.dashboard import register_awaiting

        register_awaiting(name="signatures", provider=work.signature_items, counter=work.signature_count)
        register_awaiting(name="reviews", provider=work.review_items, counter=work.review_count)
        register_awaiting(name="actions", provider=work.action_items, counter=work.action_count)
        register_awaiting(name="evidence", provider=work.evidence_items, counter=work.evidence_count)
        register_demo_step(order=20, name="assessment", step=demo_assessment)

        from assessments import data_protection as dp
        from portal.exports import register_export_files, register_export_section
        from portal.privacy import register_account_deletion, register_personal_data

        register_export_section(name="assessments", order=20, rows=dp.assessment_rows)
        register_export_section(name="evidence", order=21, rows=dp.evidence_rows)
        register_export_section(name="plans", order=30, rows=dp.plan_rows)
        register_export_section(name="comments", order=40, rows=dp.comment_rows)
        register_export_section(name="change_requests", order=41, rows=dp.change_request_rows)
        register_export_files(name="evidence", files=dp.evidence_files)
        register_personal_data(name="comments", order=30, rows=dp.comments_written)
        register_personal_data(name="change_requests", order=31, rows=dp.change_requests_made)
        register_account_deletion(name="signed_eqia_owners", hook=dp.keep_signed_eqia_owners)
        register_demo_step(order=30, name="plans", step=demo_plans)
