from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from portal.demo import register_demo_step
        from reports.demo import demo_report

        register_demo_step(order=50, name="report", step=demo_report)
