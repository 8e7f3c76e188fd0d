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
                "supplier_link.sharing_changed": _("changed what a buyer can see"),
                "report.requested": _("requested an attestation report"),
                "report.rendered": _("issued an attestation report"),
                "report.revoked": _("revoked an attestation report"),
            }
        )
        register_demo_step(order=40, name="supply_chain", step=demo_supply_chain)
