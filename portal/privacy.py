"""Personal data (principle 4 applies to us too): a person's own data, deleting an account, retention.

Deleting an account anonymises the person rather than removing the row: what they signed, wrote and
did stays on record, pointing at "Deleted user 4f2a1c". Nothing covered by a hash is rewritten
(audit events, signature snapshots), so the audit chain and every signature still verify; pages show
the anonymised name because they display the account, not the label recorded in the chain.

Other apps add their part through the registries below, from their AppConfig.ready().
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from portal.audit import audit_record
from portal.models import (
    ApiToken,
    AuditEvent,
    EmailStatus,
    ExportStatus,
    Invitation,
    Membership,
    Organisation,
    OrganisationExport,
    Outbox,
    Signature,
    User,
)
from portal.roles import Role
from portal.versions import bump

DELETED_EMAIL_DOMAIN = "deleted.invalid"  # .invalid never resolves (RFC 2606): nothing can be delivered

PersonalRows = Callable[[User], list[dict[str, Any]]]
DeletionHook = Callable[[User], None]
RetentionStep = Callable[[datetime], dict[str, int]]

_personal: dict[str, tuple[int, PersonalRows]] = {}
_deletion_hooks: dict[str, DeletionHook] = {}
_retention_steps: dict[str, RetentionStep] = {}


def register_personal_data(*, name: str, order: int, rows: PersonalRows) -> None:
    """Add a section to the "download your data" file."""
    _personal[name] = (order, rows)


def register_account_deletion(*, name: str, hook: DeletionHook) -> None:
    """Called inside the deletion's transaction, before the account is anonymised (the old email
    is still on `user`), to keep an app's records consistent."""
    _deletion_hooks[name] = hook


def register_retention(*, name: str, step: RetentionStep) -> None:
    """A retention step: given now, delete what has been kept long enough; returns counts by kind."""
    _retention_steps[name] = step


# --- A person's own data -------------------------------------------------------------------


def _profile(user: User) -> list[dict[str, Any]]:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    return [
        {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "email_addresses": [
                {"email": e.email, "verified": e.verified, "primary": e.primary}
                for e in EmailAddress.objects.filter(user=user).order_by("email")
            ],
            "two_factor_methods": sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True)),
        }
    ]


def _memberships(user: User) -> list[dict[str, Any]]:
    with scopes_disabled():
        memberships = Membership.objects.filter(user=user).select_related("organisation").order_by("created_at")
        return [
            {
                "organisation": {"id": m.organisation_id, "name": m.organisation.name},
                "role": m.role,
                "joined_at": m.created_at,
                "access_expires_at": m.expires_at,
            }
            for m in memberships
        ]


def _signatures(user: User) -> list[dict[str, Any]]:
    with scopes_disabled():
        signatures = Signature.objects.filter(signer=user).select_related("organisation").order_by("signed_at")
        return [
            {
                "id": s.pk,
                "organisation": {"id": s.organisation_id, "name": s.organisation.name},
                "subject_type": s.subject_type,
                "subject_id": s.subject_id,
                "subject_version": s.subject_version,
                "content_hash": s.content_hash,
                "capacity": s.capacity,
                "decision": s.decision,
                "reservations": s.reservations,
                "reasons": s.reasons,
                "statement": s.statement,
                "signer_email": s.signer_email,
                "signer_role": s.signer_role,
                "typed_name": s.typed_name,
                "job_title": s.job_title,
                "signed_at": s.signed_at,
                "ip_address": s.ip_address,
                "user_agent": s.user_agent,
                "auth_methods": s.auth_methods,
                "mfa_used": s.mfa_used,
            }
            for s in signatures
        ]


def _audit_events(user: User) -> list[dict[str, Any]]:
    with scopes_disabled():
        events = (
            AuditEvent.objects.filter(actor=user)
            .select_related("organisation")
            .order_by("created_at", "sequence")
            .only(
                "organisation__name",
                "organisation_id",
                "sequence",
                "verb",
                "target_type",
                "target_id",
                "target_label",
                "before",
                "after",
                "created_at",
                "actor_label",
            )
        )
        return [
            {
                "organisation": {"id": e.organisation_id, "name": e.organisation.name},
                "sequence": e.sequence,
                "actor_label": e.actor_label,
                "verb": e.verb,
                "target_type": e.target_type,
                "target_id": e.target_id,
                "target_label": e.target_label,
                "before": e.before,
                "after": e.after,
                "created_at": e.created_at,
            }
            for e in events.iterator(chunk_size=2000)
        ]


def _api_tokens(user: User) -> list[dict[str, Any]]:
    # Metadata only: the token's hash stays out, like the token itself.
    return [
        {
            "id": t.pk,
            "name": t.name,
            "prefix": t.prefix,
            "organisation": {"id": t.organisation_id, "name": t.organisation.name},
            "role": t.role,
            "created_at": t.created_at,
            "expires_at": t.expires_at,
            "last_used_at": t.last_used_at,
            "revoked_at": t.revoked_at,
        }
        for t in ApiToken.objects.filter(user=user).select_related("organisation").order_by("created_at")
    ]


def _sessions(user: User) -> list[dict[str, Any]]:
    from allauth.usersessions.models import UserSession

    # The session key is a bearer secret: it stays out.
    return [
        {"created_at": s.created_at, "last_seen_at": s.last_seen_at, "ip": s.ip, "user_agent": s.user_agent}
        for s in UserSession.objects.filter(user=user).order_by("created_at")
    ]


def _notifications(user: User) -> list[dict[str, Any]]:
    from portal.models import Notification

    return [
        {
            "kind": n.kind,
            "text": n.text,
            "url": n.url,
            "organisation": n.organisation.name if n.organisation else None,
            "created_at": n.created_at,
            "read_at": n.read_at,
            "delivery": n.delivery,
        }
        for n in Notification.objects.filter(recipient=user).select_related("organisation").order_by("created_at")
    ]


def _notification_settings(user: User) -> list[dict[str, Any]]:
    from portal.notifications import preferences

    return [{"time_zone": user.time_zone, "emails": preferences(user)}]


register_personal_data(name="profile", order=0, rows=_profile)
register_personal_data(name="notifications", order=85, rows=_notifications)
register_personal_data(name="notification_settings", order=86, rows=_notification_settings)
register_personal_data(name="memberships", order=1, rows=_memberships)
register_personal_data(name="signatures", order=20, rows=_signatures)
register_personal_data(name="audit_events", order=80, rows=_audit_events)
register_personal_data(name="api_tokens", order=90, rows=_api_tokens)
register_personal_data(name="sessions", order=91, rows=_sessions)


@scopes_disabled()  # one person's data across every organisation they belong to (row-level security: explicit)
def personal_data(user: User) -> dict[str, Any]:
    """Everything the portal holds about one person, by kind (the "download your data" file)."""
    data: dict[str, Any] = {
        "format_version": 1,
        "generated_at": timezone.now(),
        "subject": {"id": str(user.pk), "email": user.email},
    }
    for name, (_order, rows) in sorted(_personal.items(), key=lambda item: (item[1][0], item[0])):
        data[name] = rows(user)
    return data


# --- Deleting an account -------------------------------------------------------------------


def account_delete_blockers(user: User) -> list[Organisation]:
    """Organisations where this person is the only owner: they must hand over before leaving."""
    with scopes_disabled():
        owned = list(
            Membership.objects.filter(user=user, role=Role.OWNER).select_related("organisation").order_by("created_at")
        )
        others = set(
            Membership.objects.filter(organisation__in=[m.organisation_id for m in owned], role=Role.OWNER)
            .exclude(user=user)
            .values_list("organisation_id", flat=True)
        )
    return [m.organisation for m in owned if m.organisation_id not in others]


def account_confirmation_matches(user: User, typed: str) -> bool:
    """The person proves it is them: their password, or (without one) their email address."""
    if user.has_usable_password():
        return bool(typed) and user.check_password(typed)
    return bool(typed.strip()) and typed.strip().lower() == user.email.lower()


@dataclass(frozen=True)
class DeletedAccount:
    label: str
    memberships_ended: int
    tokens_revoked: int
    sessions_ended: int


@scopes_disabled()  # one person's records across every organisation; audit events scope themselves
def account_delete(*, user: User) -> DeletedAccount:
    """Anonymise an account: name, email, password and sign-in methods go; memberships end; tokens are
    revoked and sessions ended. What the person signed or wrote stays, attributed to "Deleted user …".

    Refused while the person is the only owner of an organisation."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    if user.deleted_at is not None:
        raise ValidationError(_("This account has already been deleted."))
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").get()
        blockers = account_delete_blockers(user)
        if blockers:
            raise ValidationError(
                _(
                    "You are the only owner of %(orgs)s. Make someone else an owner there first, "
                    "then delete your account."
                )
                % {"orgs": ", ".join(o.name for o in blockers)}
            )
        for hook in _deletion_hooks.values():
            hook(user)
        now = timezone.now()
        old_email = user.email
        code = secrets.token_hex(8)
        label = _("Deleted user %(code)s") % {"code": code[:6]}
        placeholder = f"deleted-{code}@{DELETED_EMAIL_DOMAIN}"

        user.full_name = label
        user.email = placeholder
        user.set_unusable_password()
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.last_login = None
        user.deleted_at = now
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        EmailAddress.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()

        tokens = list(
            ApiToken.objects.filter(user=user, revoked_at__isnull=True).values_list("organisation_id", flat=True)
        )
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)

        with scopes_disabled():
            # Invitations they accepted named them; the record of the acceptance stays, the address goes.
            Invitation.objects.filter(accepted_by=user).update(email=placeholder)
            # Notifications still waiting for them are not sent; sent ones keep no address.
            Outbox.objects.filter(
                to_email__iexact=old_email, status__in=[EmailStatus.PENDING, EmailStatus.SENDING]
            ).update(status=EmailStatus.FAILED, last_error="The recipient deleted their account")
            Outbox.objects.filter(to_email__iexact=old_email).update(to_email=placeholder)
            # Their notifications and email settings were for them alone.
            from portal.models import Notification, NotificationPreference

            Notification.objects.filter(recipient=user).delete()
            NotificationPreference.objects.filter(user=user).delete()
            memberships = list(Membership.objects.filter(user=user).select_related("organisation"))
            bump(people=[user])  # the header state: memberships and notifications gone
        for membership in memberships:
            # One event per organisation, in each one's chain; the actor is already anonymised.
            audit_record(
                organisation=membership.organisation,
                actor=user,
                verb="account.deleted",
                target=user,
                target_label=label,
                before={"role": membership.role},
                after={"tokens_revoked": sum(1 for org in tokens if org == membership.organisation_id)},
            )
        with scopes_disabled():
            Membership.objects.filter(user=user).delete()

        sessions = list(UserSession.objects.filter(user=user))
        for session in sessions:
            session.end()
        # Sessions without a tracking row also stop working: each one carries a hash of the
        # password, which is now unusable, so Django signs them out on their next request.
    return DeletedAccount(
        label=label, memberships_ended=len(memberships), tokens_revoked=len(tokens), sessions_ended=len(sessions)
    )


# --- Retention -----------------------------------------------------------------------------


def _invitations(now: datetime) -> dict[str, int]:
    """Invitations to join an organisation, expired or revoked longer ago than the retention period:
    deleted, or anonymised (address and link gone) where the audit trail refers to them."""
    cutoff = now - timedelta(days=settings.PORTAL_INVITATION_RETENTION_DAYS)
    with scopes_disabled():
        old = list(
            Invitation.objects.filter(accepted_at__isnull=True)
            .filter(Q(revoked_at__lt=cutoff) | Q(revoked_at__isnull=True, expires_at__lt=cutoff))
            .exclude(email__endswith=f"@{DELETED_EMAIL_DOMAIN}")
            .values_list("id", flat=True)[:5000]
        )
        referenced = set(
            AuditEvent.objects.filter(target_type="invitation", target_id__in=[str(pk) for pk in old]).values_list(
                "target_id", flat=True
            )
        )
        keep = [pk for pk in old if str(pk) in referenced]
        deleted, _by_model = Invitation.objects.filter(pk__in=[pk for pk in old if str(pk) not in referenced]).delete()
        for pk in keep:
            Invitation.objects.filter(pk=pk).update(
                email=f"expired-{pk.hex}@{DELETED_EMAIL_DOMAIN}", nonce=secrets.token_hex(16), email_error=""
            )
    return {"invitations_deleted": deleted, "invitations_anonymised": len(keep)}


def _sessions_expired(now: datetime) -> dict[str, int]:
    """Expired sessions (SESSION_ENGINE is cached_db: the database rows are the record), and the
    signed-in-device rows that pointed at them."""
    from allauth.usersessions.models import UserSession

    deleted, _by_model = Session.objects.filter(expire_date__lt=now).delete()
    orphans, _by_model = UserSession.objects.exclude(session_key__in=Session.objects.values("session_key")).delete()
    return {"sessions_deleted": deleted, "device_records_deleted": orphans}


def _exports(now: datetime) -> dict[str, int]:
    """Export zips past their expiry: the file is deleted, the row stays as the record it existed."""
    removed = 0
    with scopes_disabled():
        expired = list(
            OrganisationExport.objects.filter(expires_at__lt=now, file_deleted_at__isnull=True).exclude(file="")[:1000]
        )
        for export in expired:
            if export.file:
                default_storage.delete(export.file.name)
                removed += 1
            OrganisationExport.objects.filter(pk=export.pk).update(
                status=ExportStatus.EXPIRED, file="", file_deleted_at=now
            )
    return {"exports_deleted": removed}


def _idempotency_records(now: datetime) -> dict[str, int]:
    """Stored API responses past the 24 hours in which their Idempotency-Key may be replayed."""
    from portal.api.base import IDEMPOTENCY_RETENTION
    from portal.models import IdempotencyRecord

    with scopes_disabled():
        deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=now - IDEMPOTENCY_RETENTION).delete()
    return {"idempotency_records_deleted": deleted}


register_retention(name="invitations", step=_invitations)
register_retention(name="sessions", step=_sessions_expired)
register_retention(name="exports", step=_exports)
register_retention(name="idempotency", step=_idempotency_records)


def retention_apply(now: datetime | None = None) -> dict[str, int]:
    """Run every retention step; returns how many of each kind were removed (command and beat task)."""
    now = now or timezone.now()
    removed: dict[str, int] = {}
    for step in _retention_steps.values():
        removed.update(step(now))
    return removed
