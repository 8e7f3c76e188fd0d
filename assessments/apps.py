from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = "Assessments"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from assessments.activity import register as register_activity

        register_activity()
        from assessments.dashboard import current_work_panel, final_results_panel
        from assessments.demo import demo_assessment, demo_plans, demo_technology
        from portal.dashboard import register_panel
        from portal.demo import register_demo_step

        register_panel(order=5, name="current_work", provider=current_work_panel)
        register_panel(order=20, name="assessment", provider=final_results_panel)

        from assessments.dashboard import assessment_started, plan_with_eqia
        from portal.dashboard import register_getting_started

        register_getting_started(
            name="assessment",
            order=30,
            label=_("Start the self-assessment"),
            action="edit_content",
            url_name="assessments:create",
            done=assessment_started,
        )
        register_getting_started(
            name="plan",
            order=40,
            label=_("Write a plan with its equality impact assessment"),
            action="edit_content",
            url_name="assessments:plans",
            done=plan_with_eqia,
        )

        from assessments import work
        from portal.dashboard import register_awaiting

        register_awaiting(name="signatures", queries=work.signature_queries, build=work.signature_item)
        register_awaiting(name="reviews", queries=work.review_queries, build=work.review_item)
        register_awaiting(name="actions", queries=work.action_queries, build=work.action_item)
        register_awaiting(name="evidence", queries=work.evidence_queries, build=work.evidence_item)
        register_awaiting(name="plans", queries=work.plan_queries, build=work.plan_item)
        register_awaiting(name="surveys", queries=work.survey_queries, build=work.survey_item)
        register_awaiting(name="technology", queries=work.technology_queries, build=work.technology_item)
        register_demo_step(order=20, name="assessment", step=demo_assessment)

        from assessments import data_protection as dp
        from portal.exports import register_export_files, register_export_section
        from portal.privacy import register_account_deletion, register_personal_data

        register_export_section(name="assessments", order=20, rows=dp.assessment_rows)
        register_export_section(name="evidence", order=21, rows=dp.evidence_rows)
        register_export_section(name="plans", order=30, rows=dp.plan_rows)
        register_export_section(name="surveys", order=31, rows=dp.survey_rows)
        register_export_section(name="technology", order=32, rows=dp.technology_rows)
        register_export_section(name="comments", order=40, rows=dp.comment_rows)
        register_export_section(name="change_requests", order=41, rows=dp.change_request_rows)
        register_export_files(name="evidence", files=dp.evidence_files)
        register_personal_data(name="comments", order=30, rows=dp.comments_written)
        register_personal_data(name="change_requests", order=31, rows=dp.change_requests_made)
        register_account_deletion(name="signed_eqia_owners", hook=dp.keep_signed_eqia_owners)
        register_demo_step(order=30, name="plans", step=demo_plans)
        register_demo_step(order=31, name="technology", step=demo_technology)

        from assessments import reminders
        from portal.reminders import register_scan, register_still_applies

        register_scan(name="actions", scan=reminders.scan_actions)
        register_scan(name="evidence", scan=reminders.scan_evidence)
        register_still_applies(kind="action_due", check=reminders.action_still_applies)
        register_still_applies(kind="evidence_expiring", check=reminders.evidence_still_applies)
        register_scan(name="plan_reviews", scan=reminders.scan_plan_reviews)
        register_still_applies(kind="plan_review_due", check=reminders.plan_review_still_applies)
        # Also runs the technology register's daily sweep of its clocks (assessments.technology.sweep_clocks).
        register_scan(name="technology", scan=reminders.scan_technology)
        register_still_applies(kind="technology_clock", check=reminders.technology_still_applies)
