"""Personal API tokens: created on the account page, shown once, stored hashed, revocable.

A token belongs to one person and one organisation, and carries a role no more than the
person's role there. Requests made with it act as that person with that role: it can never
sign, comment or approve on anyone else's behalf.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from portal.audit import audit_record
from portal.models import ApiToken, Membership, Organisation, TokenRevokedReason, User
from portal.roles import Role
from portal.tenancy import membership_for

TOKEN_PREFIX = "msp_"  # noqa: S105 - the public marker, not a secret
_PREFIX_CHARS = 10
# How stale `last_used_at` may get before a request writes it again (one write a minute, not per request).
LAST_USED_GRANULARITY = timedelta(minutes=1)

# Which token roles each membership role may hand out: its own, or a narrower one.
TOKEN_ROLES: dict[str, tuple[str, ...]] = {
    Role.OWNER: (Role.OWNER, Role.MANAGER, Role.MEMBER),
    Role.MANAGER: (Role.MANAGER, Role.MEMBER),
    Role.WORKFORCE_REP: (Role.WORKFORCE_REP, Role.MEMBER),
    Role.AUDITOR: (Role.AUDITOR,),
    Role.MEMBER: (Role.MEMBER,),
}


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    raw: str  # shown to its owner once, never stored


def token_create(
    *, user: User, organisation: Organisation, name: str, role: str, expires_at: datetime | None
) -> NewToken:
    membership = membership_for(user=user, organisation=organisation)
    if membership is None:
        raise ValidationError({"organisation": _("You are not a member of that organisation.")})
    if role not in TOKEN_ROLES[membership.role]:
        raise ValidationError(
            {"role": _("A token can have your role in %(org)s or a narrower one.") % {"org": organisation.name}}
        )
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Enter a name, so you can tell this token apart from others.")})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry date must be in the future.")})
    if membership.expires_at is not None and (expires_at is None or expires_at > membership.expires_at):
        # An auditor's token ends with the auditor's access.
        expires_at = membership.expires_at
    prefix = secrets.token_hex(_PREFIX_CHARS // 2)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with scope(organisation=organisation), transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            organisation=organisation,
            name=name[:100],
            role=role,
            prefix=prefix,
            key_hash=hash_token(raw),
            expires_at=expires_at,
        )
        audit_record(
            organisation=organisation,
            actor=user,
            verb="api_token.created",
            target=token,
            after={"name": token.name, "role": role, "expires_at": expires_at},
        )
    return NewToken(token=token, raw=raw)


def token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    if token.revoked_at is not None:
        return token
    with scope(organisation=token.organisation), transaction.atomic():
        token.revoked_at = timezone.now()
        token.revoked_reason = TokenRevokedReason.OWNER
        token.save(update_fields=["revoked_at", "revoked_reason"])
        audit_record(organisation=token.organisation, actor=actor, verb="api_token.revoked", target=token)
    return token


# The audit verb for each reason a password change revokes tokens.
_PASSWORD_REVOCATION_VERBS = {
    TokenRevokedReason.PASSWORD_CHANGED: "api_token.revoked_password_changed",
    TokenRevokedReason.PASSWORD_RESET: "api_token.revoked_password_reset",
}


def tokens_revoke_for_password_change(*, user: User, reason: TokenRevokedReason) -> list[ApiToken]:
    """Revoke every usable token of `user` after their password changed or was reset; returns them.

    A password change already ends the person's other sessions; without this, whoever had taken over
    the account would keep its tokens. Each revocation is recorded in its organisation's audit trail,
    in the caller's transaction."""
    verb = _PASSWORD_REVOCATION_VERBS[reason]
    now = timezone.now()
    revoked: list[ApiToken] = []
    with transaction.atomic():
        for token in reversed(tokens_of_user(user)):  # oldest first, so the audit trail reads in order
            if not token.is_usable(now):
                continue
            with scope(organisation=token.organisation):
                # A conditional UPDATE: a token revoked meanwhile (another request) is not recorded twice.
                claimed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
                    revoked_at=now, revoked_reason=reason
                )
                if not claimed:
                    continue
                token.revoked_at, token.revoked_reason = now, reason
                # The verb says why; the event names the token ("ERP sync (1a2b3c4d5e)").
                audit_record(organisation=token.organisation, actor=user, verb=verb, target=token)
            revoked.append(token)
    return revoked


def tokens_of_user(user: User) -> list[ApiToken]:
    with scopes_disabled():  # one person's tokens across their organisations
        return list(ApiToken.objects.filter(user=user).select_related("organisation").order_by("-created_at"))


class TokenRefused(Exception):
    """Why a presented token cannot be used; the message is safe to show to its holder."""


@dataclass(frozen=True)
class TokenGrant:
    token: ApiToken
    membership: Membership  # the person's membership, its role narrowed to the token's


def _parse(raw: str) -> str | None:
    if not raw.startswith(TOKEN_PREFIX):
        return None
    prefix, _sep, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    if len(prefix) != _PREFIX_CHARS or not secret:
        return None
    return prefix


def token_authenticate(raw: str, *, now: Any = None) -> ApiToken:
    """The token `raw` names, if it is genuine, unrevoked and unexpired; else TokenRefused."""
    now = now or timezone.now()
    prefix = _parse(raw)
    token = None
    if prefix:
        with scopes_disabled():  # the token names its organisation: nothing to scope by before reading it
            token = ApiToken.objects.select_related("user", "organisation").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.key_hash, hash_token(raw)):
        raise TokenRefused(_("The API token is not valid."))
    if token.revoked_at is not None:
        if token.revoked_reason in _PASSWORD_REVOCATION_VERBS:
            raise TokenRefused(
                _("This API token was revoked when its owner's password changed. Make a new one on the account page.")
            )
        raise TokenRefused(_("This API token has been revoked."))
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused(_("This API token has expired."))
    if not token.user.is_active:
        raise TokenRefused(_("The API token is not valid."))
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        with scope(organisation=token.organisation):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_grant(token: ApiToken, organisation: Organisation) -> TokenGrant | None:
    """What the token may do in `organisation`: None outside its own organisation or membership."""
    if token.organisation_id != organisation.pk:
        return None
    membership = membership_for(user=token.user, organisation=organisation)
    if membership is None:
        return None
    if token.role not in TOKEN_ROLES[membership.role]:
        # The person's role has narrowed since the token was made; the token does not keep the old role.
        raise TokenRefused(
            _("This token's role is more than your role in %(org)s now. Revoke it and create a new one.")
            % {"org": organisation.name}
        )
    membership.role = token.role
    return TokenGrant(token=token, membership=membership)
