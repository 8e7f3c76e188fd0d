from django.apps import AppConfig


class SupplychainConfig(AppConfig):
    name = "supplychain"
    verbose_name = "Supply chain"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from portal.audit import register_verb_labels
        from portal.demo import register_demo_step
        from supplychain.demo import demo_supply_chain

        register_verb_labels(
            {
                "supplier.added": _("added a supplier"),
                "supplier.changed": _("changed a supplier"),
                "supplier.archived": _("archived a supplier"),
                "supplier.restored": _("restored a supplier"),
                "supplier.imported": _("imported suppliers"),
                "campaign.started": _("started a supplier campaign"),
                "supplier_request.accepted": _("accepted a supplier request"),
                "supplier_request.declined": _("declined a supplier request"),
                "supplier_request.forwarded": _("passed a supplier request on"),
                "supplier_request.resent": _("resent a supplier request"),
                "supplier_request.revoked": _("revoked a supplier request"),
                "supplier_request.answer_held": _("answered a supplier request sent to another address"),
                "supplier_request.answer_confirmed": _("confirmed who answered a supplier request"),
                "supplier_request.answer_rejected": _("rejected an answer to a supplier request"),
                "supplier_link.sharing_changed": _("changed what a buyer can see"),
                "report.requested": _("requested an attestation report"),
                "report.rendered": _("issued an attestation report"),
                "report.revoked": _("revoked an attestation report"),
            }
        )
        register_demo_step(order=40, name="supply_chain", step=demo_supply_chain)

        from portal.dashboard import register_awaiting
        from supplychain.selectors import waiting_request_count, waiting_request_items

        register_awaiting(name="supplier_requests", provider=waiting_request_items, counter=waiting_request_count)

        from portal.exports import register_export_section
        from portal.privacy import register_retention
        from supplychain import data_protection as dp

        register_export_section(name="suppliers", order=60, rows=dp.supplier_rows)
        register_export_section(name="campaigns", order=61, rows=dp.campaign_rows)
        register_export_section(name="supplier_requests_forwarded", order=62, rows=dp.forwarded_rows)
        register_export_section(name="supplier_requests_received", order=63, rows=dp.received_rows)
        register_export_section(name="supplier_links", order=64, rows=dp.link_rows)
        register_retention(name="supplier_invitations", step=dp.supplier_invitation_retention)
