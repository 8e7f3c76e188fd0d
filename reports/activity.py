"""How the reports app's audit events read (registered in ReportsConfig.ready())."""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.activity import Verb, actor_name, quoted, register_verbs
from portal.models import AuditEvent


def _on(event: AuditEvent) -> str:
    """'on “Self-assessment 2026”' from the request event's label (the report names no title itself)."""
    title = getattr(event, "subject_title", "") or ""
    return gettext(" on %(title)s") % {"title": quoted(title)} if title else ""


def report_rendered(event: AuditEvent) -> str:
    if event.actor_id is None and event.actor_label in ("", "system"):
        return gettext("The attestation report%(on)s was issued") % {"on": _on(event)}
    return gettext("%(actor)s's attestation report%(on)s was issued") % {"actor": actor_name(event), "on": _on(event)}


def report_revoked(event: AuditEvent) -> str:
    return gettext("%(actor)s revoked the attestation report%(on)s") % {"actor": actor_name(event), "on": _on(event)}


def register() -> None:
    register_verbs(
        group=_("Attestation reports"),
        verbs={
            "report.requested": Verb(
                _("Requested an attestation report"),
                _("%(actor)s requested an attestation report on %(target)s"),
                label_is_title=True,
            ),
            "report.rendered": Verb(_("Issued an attestation report"), report_rendered, names_subject_by_id=True),
            "report.revoked": Verb(_("Revoked an attestation report"), report_revoked, names_subject_by_id=True),
        },
    )
