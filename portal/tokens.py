"""Personal API tokens: created on the account page, shown once, stored hashed, revocable.

A token belongs to one person and one organisation, and carries a role no more than the
person's role there. Requests made with it act as that person with that role: it can never
sign, comment or approve on anyone else's behalf.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from portal import rows
from portal.audit import audit_record
from portal.header import cache_trusted
from portal.models import ApiToken, Membership, Organisation, TokenRevokedReason, User
from portal.roles import Role
from portal.tenancy import membership_for
from portal.versions import bump, versions

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
        bump(people=[token.user_id])  # the token's cached entry: refused on the next request
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
        bump(people=[user])  # the tokens' cached entries: refused on the next request
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
    """The token `raw` names, if it is genuine, unrevoked and unexpired; else TokenRefused.

    From the cache when its entry is current (no query; see "one cache entry" below), else from the database."""
    now = now or timezone.now()
    prefix = _parse(raw)
    if not prefix:
        raise TokenRefused(_("The API token is not valid."))
    key_hash = hash_token(raw)
    trusted = cache_trusted()
    entry, current = _cache_read(key_hash) if trusted else (None, None)
    token = _from_entry(entry, current) if entry is not None else None
    cached = token is not None
    if token is None:
        with scopes_disabled():  # the token names its organisation: nothing to scope by before reading it
            token = token_by_prefix(prefix)
        if token is None or not hmac.compare_digest(token.key_hash, key_hash):
            raise TokenRefused(_("The API token is not valid."))
    _check_usable(token, now)
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        with scope(organisation=token.organisation):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        if cached and entry is not None:
            # The same entry (its versions unchanged) with the new time; a bump since still wins.
            entry["token"] = _values(token, ApiToken)
            cache.set(_cache_key(key_hash), entry, timeout=CACHE_TIMEOUT)
    if trusted and not cached:
        _cache_store(key_hash, token, entry, current)
    return token


_TOKEN_SQL: dict[str, str] = {}


def _token_sql() -> str:
    """The statement `token_by_prefix` runs, written once a process for the database in use."""
    sql = _TOKEN_SQL.get(connection.vendor)
    if sql is not None:
        return sql
    quote = connection.ops.quote_name

    def column(model: Any, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    models = (ApiToken, User, Organisation, Membership)
    t, u, o, m = (quote(model._meta.db_table) for model in models)
    selected = ", ".join(rows.columns(model, model._meta.db_table) for model in models)
    # Identifiers only, from the models' own metadata, quoted by the backend; the prefix is a parameter.
    sql = _TOKEN_SQL[connection.vendor] = (
        f"SELECT {selected} FROM {t} "  # noqa: S608
        f"INNER JOIN {u} ON {u}.{column(User, 'id')} = {t}.{column(ApiToken, 'user')} "
        f"INNER JOIN {o} ON {o}.{column(Organisation, 'id')} = {t}.{column(ApiToken, 'organisation')} "
        f"LEFT OUTER JOIN {m} ON {m}.{column(Membership, 'organisation')} = {t}.{column(ApiToken, 'organisation')} "
        f"AND {m}.{column(Membership, 'user')} = {t}.{column(ApiToken, 'user')} "
        f"WHERE {t}.{column(ApiToken, 'prefix')} = %s"
    )
    return sql


def token_by_prefix(prefix: str) -> ApiToken | None:
    """The token with `prefix`, its person and organisation, and the person's membership of that
    organisation (None if there is none), as `ApiToken.objects.select_related("user", "organisation")`
    and `Membership.objects.filter(organisation=..., user=...)` make them, in one hand-written SELECT
    (`portal.rows`): an API request read from the database (a cache miss, and every request inside a
    transaction with writes waiting) otherwise paid two ORM queries, mostly in building them. Run
    where the caller has chosen the scope (the token's own read is deliberately cross-tenant)."""
    found = rows.fetch(_token_sql(), [prefix])
    if not found:
        return None
    row = found[0]
    tokens, people, organisations = rows.Loader(ApiToken), rows.Loader(User), rows.Loader(Organisation)
    token = tokens(row)
    token.user = people(row, tokens.width)
    token.organisation = organisations(row, tokens.width + people.width)
    membership = rows.Loader(Membership)(row, tokens.width + people.width + organisations.width)
    if membership is not None:
        membership.user, membership.organisation = token.user, token.organisation
    setattr(token, _GRANT_ATTR, membership)
    return token


def _check_usable(token: ApiToken, now: Any) -> None:
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


# --- The token, its person, organisation and membership there, in one cache entry ------------------
#
# An API call otherwise pays two queries before its own work: the token (with its person and
# organisation) and the person's membership of the token's organisation. Both are cached together
# under the token's hash (so only a genuine token ever finds an entry) and validated by
# `portal.versions`, as the header state is (portal.header):
#
# * the entry names the person and the organisation it was built from; a request reads the entry
#   (round trip 1) and their current versions (round trip 2); any difference is a miss, and the
#   token is read from the database again;
# * the person's version is bumped when the token is revoked (by its owner, by a password change or
#   reset, by the account's deletion), when a membership of theirs changes (joined, role changed,
#   removed, left) and whenever the person's row, a token or a membership is saved or deleted (the
#   receivers below, for paths no service covers, such as the admin or allauth's email change);
#   the organisation's by every audited change (`audit_record`);
# * time: the token's and the membership's expiry are checked on every request against the
#   entry's values, so an expired token or an ended auditor grant is refused on time;
# * inside a transaction that has writes waiting to commit (or a test case's), the database is read.
#
# The entry holds no password hash (the person's row without it) and no secret: its key is the
# SHA-256 of the token, as the database stores it.

CACHE_TIMEOUT = 120  # also bounds how long an entry outlives a bump lost with a failed cache write
_GRANT_ATTR = "_cached_membership"
_UNREAD = object()  # the membership was not read with the token (a token not from `token_authenticate`)


def _fields(model: Any, *, without: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname not in without)


def _user_fields() -> tuple[str, ...]:
    return _fields(User, without=("password",))


_KEY_PREFIX: str | None = None


def _cache_key(key_hash: str) -> str:
    global _KEY_PREFIX
    if _KEY_PREFIX is None:
        shape = repr([_fields(m) for m in (ApiToken, Organisation, Membership)] + [_user_fields()])
        _KEY_PREFIX = f"tok:1:{zlib.crc32(shape.encode()):x}:"
    return f"{_KEY_PREFIX}{key_hash}"


def _values(instance: Any, model: Any) -> tuple[Any, ...]:
    fields = _user_fields() if model is User else _fields(model)
    return tuple(getattr(instance, f) for f in fields)


def _cache_read(key_hash: str) -> tuple[dict[str, Any] | None, str | None]:
    entry = cache.get(_cache_key(key_hash))
    if entry is None:
        return None, None
    # Read before the data, so that a value built from data older than a bump is never current.
    return entry, versions(organisations=[entry["org_id"]], people=[entry["user_id"]])


def _from_entry(entry: dict[str, Any], current: str | None) -> ApiToken | None:
    """The token from a current entry, with its person, organisation and membership; None if stale."""
    if entry["versions"] is None or entry["versions"] != current:
        return None
    user = User.from_db("default", _user_fields(), entry["user"])  # the password is left deferred
    organisation = Organisation.from_db("default", _fields(Organisation), entry["org"])
    token = ApiToken.from_db("default", _fields(ApiToken), entry["token"])
    token.user, token.organisation = user, organisation
    membership = None
    if entry["membership"] is not None:
        membership = Membership.from_db("default", _fields(Membership), entry["membership"])
        membership.user, membership.organisation = user, organisation
    setattr(token, _GRANT_ATTR, membership)
    return token


def _cache_store(key_hash: str, token: ApiToken, entry: dict[str, Any] | None, current: str | None) -> None:
    """Store the usable token read from the database with the person's membership of its organisation
    (read with it by `token_by_prefix`). The versions were read before the data only if a previous entry
    named the same person and organisation; else it is stored without, and the next request reads the
    versions first and then the database once more."""
    membership = getattr(token, _GRANT_ATTR)  # read with the token (`token_by_prefix`)
    same = entry is not None and entry["user_id"] == token.user_id and entry["org_id"] == token.organisation_id
    cache.set(
        _cache_key(key_hash),
        {
            "versions": current if same else None,
            "user_id": token.user_id,
            "org_id": token.organisation_id,
            "token": _values(token, ApiToken),
            "user": _values(token.user, User),
            "org": _values(token.organisation, Organisation),
            "membership": None if membership is None else _values(membership, Membership),
        },
        timeout=CACHE_TIMEOUT,
    )


def bump_person_on_save(sender: Any, instance: Any, **kwargs: Any) -> None:
    """post_save/post_delete of a person, a token or a membership: the person's cached tokens (and
    header) are read again, and for a membership its organisation's cached pages. The services bump
    explicitly; this covers the admin, allauth and anything else that writes the rows."""
    bump(people=[instance.pk if sender is User else instance.user_id])
    if sender is Membership:
        # Who belongs, and in what role, is shown on the organisation's cached pages (the dashboard's
        # members and getting-started list): a membership made or changed outside the services too.
        bump(organisations=[instance.organisation_id])
    fields = kwargs.get("update_fields")
    if sender is User and not kwargs.get("created") and (fields is None or {"email", "full_name"} & set(fields)):
        # Their name and address are shown on their organisations' cached pages (the dashboard's members).
        from django_scopes import scopes_disabled

        with scopes_disabled():
            bump(organisations=Membership.objects.filter(user_id=instance.pk).values_list("organisation_id", flat=True))


def token_membership(token: ApiToken) -> Membership | None:
    """The token's person's active membership of the token's organisation (its own role), or None:
    read with the token from the cache when it was, else from the database."""
    found: Any = getattr(token, _GRANT_ATTR, _UNREAD)
    if found is _UNREAD:
        return membership_for(user=token.user, organisation=token.organisation)
    membership: Membership | None = found
    if membership is None or not membership.is_active(timezone.now()):
        return None  # not a member, or an auditor's grant that has ended since the entry was stored
    # A copy: the caller may narrow its role to the token's.
    copy = Membership.from_db("default", _fields(Membership), _values(membership, Membership))
    copy.user, copy.organisation = membership.user, membership.organisation
    return copy


def token_grant(token: ApiToken, organisation: Organisation) -> TokenGrant | None:
    """What the token may do in `organisation`: None outside its own organisation or membership."""
    if token.organisation_id != organisation.pk:
        return None
    membership = token_membership(token)
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
