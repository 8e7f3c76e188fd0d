"""Writes for organisations, memberships and invitations. Each one writes its audit event atomically."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from portal.audit import audit_record
from portal.header import addressee, bump_addresses
from portal.links import link_target, link_token
from portal.models import EmailStatus, Invitation, Membership, Organisation, User
from portal.roles import Role
from portal.text import require_single_line
from portal.versions import bump

_INVITATION_SALT = "portal.invitation"
_SLUG_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def _random_suffix(length: int = 6) -> str:
    return "".join(secrets.choice(_SLUG_ALPHABET) for _ in range(length))


def organisation_create(
    *,
    creator: User,
    name: str,
    sector: str,
    size_band: str,
    country: str = "GB",
    company_number: str = "",
) -> Organisation:
    """Create an organisation with its creator as the first owner."""
    require_single_line(name=(name, _("Name")))  # it appears in email subjects
    base = slugify(name)[:40].strip("-") or "organisation"
    with transaction.atomic():
        for _attempt in range(5):
            slug = f"{base}-{_random_suffix()}"
            if not Organisation.objects.filter(slug=slug).exists():
                break
        organisation = Organisation.objects.create(
            name=name.strip(),
            slug=slug,
            company_number=company_number.strip().upper(),
            sector=sector,
            size_band=size_band,
            country=country,
            created_by=creator,
        )
        with scope(organisation=organisation):
            Membership.objects.create(organisation=organisation, user=creator, role=Role.OWNER)
        bump(people=[creator])  # the creator's header: a new organisation in the switcher
        audit_record(
            organisation=organisation,
            actor=creator,
            verb="organisation.created",
            target=organisation,
            after={
                "name": organisation.name,
                "company_number": organisation.company_number,
                "sector": sector,
                "size_band": size_band,
                "country": str(country),
            },
        )
    return organisation


# --- Invitations ----------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    """The signed token in the invitation link; only the current nonce makes it valid."""
    return link_token(obj=invitation, salt=_INVITATION_SALT)


def invitation_url(invitation: Invitation) -> str:
    from django.urls import reverse

    return settings.SITE_URL + reverse("invitation_accept", kwargs={"token": invitation_token(invitation)})


class InvitationLinkError(Exception):
    """The link cannot be used; `reason` is one of: invalid, expired, used, revoked."""

    def __init__(self, reason: str, invitation: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


def invitation_from_token(token: str) -> Invitation:
    """Find the invitation a link points at (crossing tenants on purpose), or say why it cannot be used."""
    with scopes_disabled():
        invitation = link_target(
            token=token, salt=_INVITATION_SALT, queryset=Invitation.objects.select_related("organisation", "invited_by")
        )
    if not isinstance(invitation, Invitation):
        raise InvitationLinkError("invalid")
    if invitation.accepted_at:
        raise InvitationLinkError("used", invitation)
    if invitation.revoked_at:
        raise InvitationLinkError("revoked", invitation)
    if invitation.expires_at <= timezone.now():
        raise InvitationLinkError("expired", invitation)
    return invitation


def _queue_invitation_email(invitation: Invitation) -> None:
    from portal.tasks import send_invitation_email

    Invitation.objects.filter(pk=invitation.pk).update(
        email_status=EmailStatus.PENDING, email_queued_at=timezone.now(), email_claimed_at=None
    )
    send_invitation_email.publish(organisation_id=str(invitation.organisation_id), invitation_id=str(invitation.id))


def invitation_create(
    *, organisation: Organisation, actor: User, email: str, role: str, access_until: Any = None
) -> Invitation:
    """Invite someone by email with a role; the email goes out after commit."""
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a role from the list")})
    with scope(organisation=organisation), transaction.atomic():
        if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
            raise ValidationError({"email": _("%(email)s is already a member of this organisation") % {"email": email}})
        if Invitation.objects.filter(
            organisation=organisation, email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).exists():
            raise ValidationError(
                {
                    "email": _("%(email)s already has an invitation waiting. Resend it from the list of invitations.")
                    % {"email": email}
                }
            )
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    organisation=organisation,
                    email=email,
                    role=role,
                    nonce=secrets.token_hex(16),
                    invited_by=actor,
                    expires_at=timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS),
                    access_expires_at=_end_of_day(access_until) if access_until else None,
                )
        except IntegrityError:
            raise ValidationError(
                {"email": _("%(email)s already has an invitation waiting.") % {"email": email}}
            ) from None
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="invitation.created",
            target=invitation,
            target_label=email,
            after={
                "email": email,
                "role": role,
                "expires_at": invitation.expires_at,
                "access_expires_at": invitation.access_expires_at,
            },
        )
        bump_addresses(email)  # "Your work" of whoever holds the address
        _queue_invitation_email(invitation)
    return invitation


def _end_of_day(day: Any) -> Any:
    from datetime import datetime, time

    return datetime.combine(day, time.max, tzinfo=timezone.get_current_timezone())


def invitation_resend(*, invitation: Invitation, actor: User) -> Invitation:
    """Send a fresh link (the old one stops working) and extend the expiry."""
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError(_("Only open or expired invitations can be resent."))
    with scope(organisation=invitation.organisation), transaction.atomic():
        invitation.nonce = secrets.token_hex(16)
        invitation.expires_at = timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)
        invitation.save(update_fields=["nonce", "expires_at"])
        audit_record(
            organisation=invitation.organisation,
            actor=actor,
            verb="invitation.resent",
            target=invitation,
            target_label=invitation.email,
            after={"expires_at": invitation.expires_at},
        )
        bump_addresses(invitation.email)  # an expired invitation may wait again
        _queue_invitation_email(invitation)
    return invitation


def invitation_revoke(*, invitation: Invitation, actor: User) -> Invitation:
    """Withdraw an invitation; its link stops working at once."""
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError(_("This invitation has already been accepted or revoked."))
    with scope(organisation=invitation.organisation), transaction.atomic():
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            organisation=invitation.organisation,
            actor=actor,
            verb="invitation.revoked",
            target=invitation,
            target_label=invitation.email,
            before={"status": "pending", "role": invitation.role},
            after={"status": "revoked"},
        )
        bump_addresses(invitation.email)  # "Your work" of whoever holds the address
    return invitation


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the organisation with the invited role. The signed-in email must be the invited one."""
    if user.email.lower() != invitation.email.lower():
        raise ValidationError(
            _("This invitation was sent to %(invited)s, but you are signed in as %(current)s.")
            % {"invited": invitation.email, "current": user.email}
        )
    organisation = invitation.organisation
    with scope(organisation=organisation), transaction.atomic():
        # Claim the invitation: a second click or a parallel request finds nothing to update.
        claimed = Invitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).update(accepted_at=timezone.now(), accepted_by=user)
        if not claimed:
            raise InvitationLinkError("used", invitation)
        if Membership.objects.filter(organisation=organisation, user=user).exists():
            raise ValidationError(_("You are already a member of %(name)s.") % {"name": organisation.name})
        membership = Membership.objects.create(
            organisation=organisation, user=user, role=invitation.role, expires_at=invitation.access_expires_at
        )
        audit_record(
            organisation=organisation,
            actor=user,
            verb="invitation.accepted",
            target=membership,
            target_label=user.email,
            after={"email": user.email, "role": invitation.role},
        )
        bump(people=[user, addressee(invitation.email)])  # the new membership; the invitation no longer waits
    return membership


# --- Memberships ----------------------------------------------------------------------------


def _other_owners(membership: Membership) -> bool:
    return (
        Membership.objects.filter(organisation=membership.organisation_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


def membership_change_role(*, membership: Membership, role: str, actor: User) -> Membership:
    """Give a member a different role; the last owner cannot be demoted."""
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a role from the list")})
    if role == membership.role:
        return membership
    with scope(organisation=membership.organisation), transaction.atomic():
        if membership.role == Role.OWNER and not _other_owners(membership):
            raise ValidationError(
                {
                    "role": _("%(name)s is the only owner. Make someone else an owner first.")
                    % {"name": membership.user.display_name}
                }
            )
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(
            organisation=membership.organisation,
            actor=actor,
            verb="member.role_changed",
            target=membership,
            target_label=membership.user.email,
            before={"role": before},
            after={"role": role},
        )
        bump(people=[membership.user_id])  # the member's header: role in the switcher, what waits for them
    return membership


def membership_remove(*, membership: Membership, actor: User) -> None:
    """Remove someone else from the organisation; the last owner cannot be removed."""
    if membership.user_id == actor.pk:
        raise ValidationError(_("To remove yourself, use “Leave organisation”."))
    _delete_membership(membership=membership, actor=actor, verb="member.removed")


def membership_leave(*, membership: Membership) -> None:
    """Leave an organisation; the last owner must hand over first."""
    _delete_membership(membership=membership, actor=membership.user, verb="member.left")


def _delete_membership(*, membership: Membership, actor: User, verb: str) -> None:
    with scope(organisation=membership.organisation), transaction.atomic():
        if membership.role == Role.OWNER and not _other_owners(membership):
            raise ValidationError(
                _("%(name)s is the only owner. Make someone else an owner first.")
                % {"name": membership.user.display_name}
            )
        audit_record(
            organisation=membership.organisation,
            actor=actor,
            verb=verb,
            target=membership,
            target_label=membership.user.email,
            before={"email": membership.user.email, "role": membership.role},
        )
        bump(people=[membership.user_id])  # the member's header and tenancy: no longer a member
        membership.delete()
