"""Roles in an organisation and what each may do (DESIGN.md section 5).

`ACTIONS` is the one table of actions x roles. Code asks it through `role_can` (via
`Membership.can`, `portal.tenancy.require` and the API's `OrganisationMixin.actions`); the role
descriptions in invitations and on the members page, and the table in docs/architecture.md, are
generated from it (tests/portal/test_roles.py checks the docs; tests/portal/test_role_walk.py
requests every tenant URL as every role and expects what this table says).

What a plain member sees, and why: the member role is for people who should follow the work
(the dashboard, the commitment, the self-assessments and the technology plans with their
signatures) without handling its raw material. The evidence library and its files can hold
personal data (training records, HR documents, meeting notes), and the supply chain holds other
companies' contact people and email addresses; both are working material for the people who edit,
review or countersign the work (owners, managers, workforce representatives), so a member gets 403
there, as for reports and the audit trail. The names of files cited by an assessment still show on
its pages: that is part of reading the assessment, and a name is not the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from django.db import models
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    WORKFORCE_REP = "workforce_rep", _("Workforce representative")
    AUDITOR = "auditor", _("Auditor")
    MEMBER = "member", _("Member")


@dataclass(frozen=True)
class Action:
    """Something a role may try. `label` completes "Can ..."; `limits` narrows it for some roles
    (the rule itself lives with the thing it guards, e.g. auditors see only finalised work)."""

    label: Promise
    roles: frozenset[str]
    limits: Mapping[str, Promise] = field(default_factory=dict)


_ALL = frozenset(Role)
_EDITORS = frozenset({Role.OWNER, Role.MANAGER})
_REVIEWERS = frozenset({Role.OWNER, Role.MANAGER, Role.WORKFORCE_REP})
_FINALISED = _("finalised and signed work only")

# Rules about *state* (e.g. auditors see only final items) live with the thing they guard; this
# table says who may try. Order: as the members page and the docs show it.
ACTIONS: dict[str, Action] = {
    "view_dashboard": Action(
        _("see the dashboard, the commitment, assessments and plans"), _ALL, {Role.AUDITOR: _FINALISED}
    ),
    "view_members": Action(_("see who belongs to the organisation"), _ALL),
    "view_evidence_library": Action(_("browse the evidence library"), _REVIEWERS),
    "download_evidence": Action(
        _("download evidence files"),
        _REVIEWERS | {Role.AUDITOR},
        {Role.AUDITOR: _("files cited by finalised work only")},
    ),
    "view_supply_chain": Action(_("see the supplier register, campaigns and buyers' requests"), _REVIEWERS),
    "edit_content": Action(_("edit assessments, plans, EqIAs, evidence and suppliers"), _EDITORS),
    "comment": Action(_("comment on assessments and plans"), _REVIEWERS),
    "record_workforce_views": Action(
        _("record the workforce's views in a data-protection impact assessment"), _REVIEWERS
    ),
    "negotiate_agreement": Action(_("draft and adapt the new technology agreement's clauses"), _REVIEWERS),
    "run_surveys": Action(
        _("draft workforce surveys, open and close them, and hand out their codes"),
        _REVIEWERS,
    ),
    "sign_management": Action(_("sign for management"), _EDITORS),
    "sign_commitment": Action(_("sign or withdraw the commitment"), frozenset({Role.OWNER})),
    "countersign_workforce": Action(
        _("request changes and countersign for the workforce"), frozenset({Role.WORKFORCE_REP})
    ),
    "request_report": Action(_("request attestation reports"), _EDITORS),
    "download_report": Action(_("download attestation reports"), _REVIEWERS | {Role.AUDITOR}),
    "revoke_report": Action(_("revoke attestation reports"), frozenset({Role.OWNER})),
    "view_audit_trail": Action(_("see and verify the audit trail"), _REVIEWERS | {Role.AUDITOR}),
    "manage_members": Action(
        _("invite and remove members, change roles and grant auditors access"), frozenset({Role.OWNER})
    ),
    "export_data": Action(_("export the organisation's data"), frozenset({Role.OWNER})),
    "manage_webhooks": Action(
        _("send the organisation's events to other systems by webhooks"), frozenset({Role.OWNER})
    ),
}

# action -> roles allowed (what `role_can` reads).
PERMISSIONS: dict[str, frozenset[str]] = {name: action.roles for name, action in ACTIONS.items()}

# Who each role is for; what it may do is appended from ACTIONS.
ROLE_PURPOSES = {
    Role.OWNER: _("Runs the organisation's account."),
    Role.MANAGER: _("Does the work for management."),
    Role.WORKFORCE_REP: _("Union or employee representative: reviews the work for the workforce."),
    Role.AUDITOR: _("Read-only access that ends on a set date."),
    Role.MEMBER: _("Follows the work without handling its evidence or suppliers."),
}


def role_can(role: str, action: str) -> bool:
    try:
        return role in PERMISSIONS[action]
    except KeyError:
        raise ValueError(f"Unknown action {action!r}") from None


def _allowed_phrase(action: Action, role: str) -> str:
    limit = action.limits.get(role)
    return f"{action.label} ({limit})" if limit else str(action.label)


def role_description(role: str) -> str:
    """What the role is for and everything it may do, in the current language."""
    allowed = "; ".join(_allowed_phrase(action, role) for action in ACTIONS.values() if role in action.roles)
    return gettext("%(purpose)s Can %(actions)s.") % {"purpose": ROLE_PURPOSES[Role(role)], "actions": allowed}


_role_description_lazy = lazy(role_description, str)

ROLE_DESCRIPTIONS: dict[Role, str] = {role: _role_description_lazy(role) for role in Role}


@dataclass(frozen=True)
class TableRow:
    label: str
    cells: list[str]  # one per role, in Role order: "" (no), or "yes", or the limit


def permission_rows() -> Iterator[TableRow]:
    """The table of actions x roles, in the current language ("" means no)."""
    for action in ACTIONS.values():
        yield TableRow(
            label=str(action.label),
            cells=[str(action.limits.get(role) or gettext("yes")) if role in action.roles else "" for role in Role],
        )


def permissions_markdown() -> str:
    """The table as Markdown, in English, for docs/architecture.md and DESIGN.md section 5."""
    with override("en"):
        header = "| can | " + " | ".join(str(role.label) for role in Role) + " |"
        lines = [header, "|---" * (len(Role) + 1) + "|"]
        for row in permission_rows():
            lines.append(f"| {row.label} | " + " | ".join(cell or "no" for cell in row.cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = [
    "ACTIONS",
    "PERMISSIONS",
    "ROLE_DESCRIPTIONS",
    "ROLE_PURPOSES",
    "Action",
    "Role",
    "permission_rows",
    "permissions_markdown",
    "role_can",
    "role_description",
]
