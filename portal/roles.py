"""Roles in an organisation and what each may do (DESIGN.md section 5)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    WORKFORCE_REP = "workforce_rep", _("Workforce representative")
    AUDITOR = "auditor", _("Auditor")
    MEMBER = "member", _("Member")


ROLE_DESCRIPTIONS = {
    Role.OWNER: _("Manages members, roles, auditor access and data export; signs the commitment."),
    Role.MANAGER: _("Edits assessments, plans and suppliers; signs for management."),
    Role.WORKFORCE_REP: _(
        "Union or employee representative: reviews, comments, requests changes and countersigns for the workforce."
    ),
    Role.AUDITOR: _("Read-only access to finalised work, signed plans, reports and the audit trail."),
    Role.MEMBER: _("Sees the dashboard, assessments and plans."),
}

_ALL = frozenset(Role)

# action -> roles allowed. Rules about *state* (e.g. auditors see only final items) live with the
# thing they guard; this table only says who may try.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view_dashboard": _ALL,
    "view_members": _ALL,
    "edit_content": frozenset({Role.OWNER, Role.MANAGER}),
    "comment": frozenset({Role.OWNER, Role.MANAGER, Role.WORKFORCE_REP}),
    "sign_management": frozenset({Role.OWNER, Role.MANAGER}),
    "sign_commitment": frozenset({Role.OWNER}),
    "countersign_workforce": frozenset({Role.WORKFORCE_REP}),
    "request_report": frozenset({Role.OWNER, Role.MANAGER}),
    "download_report": frozenset({Role.OWNER, Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR}),
    "view_audit_trail": frozenset({Role.OWNER, Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR}),
    "manage_members": frozenset({Role.OWNER}),
    "export_data": frozenset({Role.OWNER}),
}


def role_can(role: str, action: str) -> bool:
    try:
        return role in PERMISSIONS[action]
    except KeyError:
        raise ValueError(f"Unknown action {action!r}") from None
