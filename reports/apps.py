from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from reports.activity import register as register_activity

        register_activity()
        from portal.demo import register_demo_step
        from reports.demo import demo_report

        register_demo_step(order=50, name="report", step=demo_report)

        from portal.dashboard import register_awaiting
        from reports.work import ready_report_item, ready_report_queries

        register_awaiting(name="reports_ready", queries=ready_report_queries, build=ready_report_item)

        from portal.exports import register_export_files, register_export_section
        from reports.data_protection import report_files, report_rows

        register_export_section(name="reports", order=70, rows=report_rows)
        register_export_files(name="reports", files=report_files)

        from django.utils.translation import gettext_lazy as _

        from portal.dashboard import register_getting_started
        from reports.dashboard import report_requested

        register_getting_started(
            name="report",
            order=60,
            label=_("Request an attestation report"),
            action="request_report",
            url_name="reports:create",
            done=report_requested,
        )
