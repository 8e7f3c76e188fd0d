from django.apps import AppConfig


class SupplychainConfig(AppConfig):
    name = "supplychain"
    verbose_name = "Supply chain"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from portal.demo import register_demo_step
        from supplychain.activity import register as register_activity
        from supplychain.demo import demo_supply_chain

        register_activity()
        register_demo_step(order=40, name="supply_chain", step=demo_supply_chain)

        from portal.dashboard import register_awaiting
        from supplychain.selectors import waiting_request_item, waiting_request_queries

        register_awaiting(name="supplier_requests", queries=waiting_request_queries, build=waiting_request_item)

        from portal.exports import register_export_section
        from portal.privacy import register_retention
        from supplychain import data_protection as dp

        register_export_section(name="suppliers", order=60, rows=dp.supplier_rows)
        register_export_section(name="campaigns", order=61, rows=dp.campaign_rows)
        register_export_section(name="supplier_requests_forwarded", order=62, rows=dp.forwarded_rows)
        register_export_section(name="supplier_requests_received", order=63, rows=dp.received_rows)
        register_export_section(name="supplier_links", order=64, rows=dp.link_rows)
        register_retention(name="supplier_invitations", step=dp.supplier_invitation_retention)

        from portal.dashboard import register_getting_started
        from supplychain.dashboard import suppliers_invited

        register_getting_started(
            name="suppliers",
            order=50,
            label=_("Invite your suppliers"),
            action="edit_content",
            url_name="supplychain:campaigns",
            done=suppliers_invited,
        )
