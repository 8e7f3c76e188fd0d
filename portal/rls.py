"""PostgreSQL row-level security: defence in depth under django-scopes (DESIGN.md section 4).

Every tenant table carries a policy that lets a row through only when its organisation is the one
set for the current transaction. The value comes from the django-scopes state at the moment each
query runs, so the database enforces the same boundary the ORM does:

* ``scope(organisation=X)``: only X's rows (a forgotten filter, raw SQL or ``_base_manager``
  still sees nothing of anyone else);
* ``scopes_disabled()``: deliberate cross-tenant work (sign-in, cascades, auditors' lists,
  verification commands), already explicit in the code, is let through;
* no scope at all: nothing (the policies fail closed).

The context is one transaction-local setting (``app.rls``, ``set_config(..., true)``) applied by the
database backend in ``portal.dbbackend`` just before the first query that needs them; a statement
outside a transaction is wrapped in one so the setting and the query share it. Nothing survives the
transaction, so a pooled connection cannot carry one request's tenant into the next.

The value is signed (HMAC-SHA256 with ``PORTAL_RLS_KEY``, or a key derived from the secret key) and
names the backend process it was made for. The policies believe it only through one SECURITY DEFINER
function that checks the signature against the key ``migrate`` stored where the application role
cannot read it. So the application role alone (an SQL injection, a leaked ``DATABASE_URL``) cannot
choose a tenant or switch the policies off: ``set_config`` of any value it can make is ignored.

The application connects as a role that neither owns the tables nor bypasses RLS
(``PORTAL_DB_APP_ROLE``, granted its privileges here after every ``migrate``); migrations run as
the owner, which RLS does not restrict. SQLite has no RLS: there django-scopes alone holds the line.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, NamedTuple

from django.apps import apps
from django.db.backends.base.base import BaseDatabaseWrapper

SETTING = "app.rls"
# The settings of the first design, which the application role could set to anything: a test and
# `check_rls` make sure the policies no longer listen to them.
LEGACY_SETTINGS = ("app.org_ids", "app.rls_bypass")
POLICY = "portal_tenant_isolation"
PRIVATE_SCHEMA = "portal_private"
VERIFIED = "portal_rls_verified"
ORGS = "portal_rls_orgs"
ALL = "portal_rls_all"
PRINCIPAL = "portal_rls_principal"
# Where a principal (an API token or person, "token:<id>" / "user:<id>") is kept in the scope state.
PRINCIPAL_KEY = "_rls_principal"


class Context(NamedTuple):
    """What a query runs under: organisation ids (comma-separated), cross-tenant, API principal."""

    orgs: str = ""
    all: bool = False
    principal: str = ""


NOTHING = Context()
CROSS_TENANT = Context(all=True)


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, uuid.UUID)):
        return [str(uuid.UUID(str(value)))]
    if hasattr(value, "pk"):
        return [str(value.pk)] if value.pk is not None else []
    if isinstance(value, Iterable):
        return [i for item in value for i in _ids(item)]
    return []


_PRINCIPAL = re.compile(r"^(token|user):[0-9a-zA-Z-]{1,40}$")


def current_context() -> Context:
    """The RLS context the django-scopes state asks for, right now."""
    from django_scopes.state import get_scope

    state = get_scope()
    if not state:
        return NOTHING
    principal = str(state.get(PRINCIPAL_KEY, ""))
    if principal and not _PRINCIPAL.match(principal):
        raise ValueError("not a principal")
    if not state.get("_enabled", True):
        return Context(all=True, principal=principal)
    return Context(orgs=",".join(_ids(state.get("organisation"))), principal=principal)


@contextmanager
def acting_as(principal: str) -> Iterator[None]:
    """Rows private to one API caller (the idempotency records) are visible inside this block only."""
    from django_scopes.state import state

    token = state.set({**(state.get() or {}), PRINCIPAL_KEY: principal})
    try:
        yield
    finally:
        state.reset(token)


# --- The signature ------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _key_for(secret: str) -> bytes:
    return hashlib.sha256(b"portal.rls.key\0" + secret.encode()).digest()


def _key() -> bytes:
    from django.conf import settings

    return _key_for(settings.PORTAL_RLS_KEY or settings.SECRET_KEY)


def _pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer keys, so the database computes HMAC with plain sha256()."""
    block = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def signed(context: Context, backend_pid: int) -> str:
    """The value of `app.rls` for `context` on the connection served by `backend_pid`.

    The signature covers the backend's process id, so a value read from one connection (in
    pg_stat_activity, say) is worth nothing on another.
    """
    if context == NOTHING:
        return ""
    payload = f"v1;{backend_pid};{'all' if context.all else 'orgs'};{context.orgs};{context.principal}"
    mac = hmac.new(_key(), payload.encode(), hashlib.sha256).hexdigest()
    return f"{mac};{payload}"


def apply(connection: BaseDatabaseWrapper, context: Context) -> None:
    """Set the context for the current transaction, bypassing Django's cursor (and query logs).

    The statement binds its value server-side, so the signed value never appears in the text of
    the statement (pg_stat_activity shows ``$1``).
    """
    import psycopg

    raw = connection.connection
    value = signed(context, raw.info.backend_pid)
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(f"SELECT set_config('{SETTING}', %s, true)", [value])


def tenant_tables() -> dict[str, tuple[str, ...]]:
    """Every table holding tenant rows, with the organisation column(s) whose tenants may see a row.

    A model names its columns in ``RLS_TENANT_COLUMNS`` when a row belongs to two tenants (a
    supplier link is seen by both ends); otherwise its ``organisation`` foreign key decides.
    """
    from portal.models import Organisation

    tables: dict[str, tuple[str, ...]] = {}
    for model in apps.get_models():
        by_name = {f.name: f for f in model._meta.concrete_fields}
        org_fields = [f for f in by_name.values() if f.is_relation and f.related_model is Organisation]
        if not org_fields:
            continue
        declared = getattr(model, "RLS_TENANT_COLUMNS", None)
        if declared:
            columns = tuple(str(by_name[name].column) for name in declared)
        else:
            columns = tuple(str(f.column) for f in org_fields if f.name == "organisation")
        if not columns:
            raise LookupError(
                f"{model._meta.label} refers to Organisation but says neither RLS_TENANT_COLUMNS nor has an "
                "`organisation` field: decide which tenants may see its rows"
            )
        tables[model._meta.db_table] = columns
    return tables


def extra_visibility() -> dict[str, str]:
    """Tables whose rows some other organisations may also see, by a rule the model states in SQL
    (``RLS_ALSO_VISIBLE_WHEN``), e.g. a campaign to the suppliers taking part in it."""
    return {
        model._meta.db_table: str(rule)
        for model in apps.get_models()
        if (rule := getattr(model, "RLS_ALSO_VISIBLE_WHEN", ""))
    }


def principal_tables() -> dict[str, str]:
    """Tables whose rows belong to one API caller rather than a tenant (``RLS_PRINCIPAL_COLUMN``):
    the idempotency records, which hold whole API responses of every organisation."""
    return {
        model._meta.db_table: str(field.column)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.name == getattr(model, "RLS_PRINCIPAL_COLUMN", None)
    }


def protected_tables() -> list[str]:
    return sorted({*tenant_tables(), *principal_tables()})


# Verifying the signature needs the key, which lives where only the owner (and these functions,
# which run as the owner) can read it: a new schema grants nothing to anyone else (`check_rls` says
# so if someone has). The policies call the three readers inside scalar sub-selects,
# so each query verifies once per table, not once per row. Names are this module's constants.
INSTALL_FUNCTIONS = f"""
CREATE SCHEMA IF NOT EXISTS {PRIVATE_SCHEMA};
CREATE TABLE IF NOT EXISTS {PRIVATE_SCHEMA}.rls_key (
    id smallint PRIMARY KEY CHECK (id = 1),
    inner_pad bytea NOT NULL,
    outer_pad bytea NOT NULL
);
CREATE OR REPLACE FUNCTION {VERIFIED}() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    raw text := coalesce(current_setting('{SETTING}', true), '');
    mac text;
    payload text;
    pads record;
BEGIN
    IF length(raw) < 66 THEN
        RETURN NULL;
    END IF;
    mac := substr(raw, 1, 64);
    payload := substr(raw, 66);
    SELECT inner_pad, outer_pad INTO pads FROM {PRIVATE_SCHEMA}.rls_key WHERE id = 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF encode(sha256(pads.outer_pad || sha256(pads.inner_pad || convert_to(payload, 'UTF8'))), 'hex') <> mac THEN
        RETURN NULL;
    END IF;
    IF split_part(payload, ';', 1) <> 'v1' OR split_part(payload, ';', 2) <> pg_backend_pid()::text THEN
        RETURN NULL;
    END IF;
    RETURN payload;
END
$$;
REVOKE ALL ON FUNCTION {VERIFIED}() FROM PUBLIC;
CREATE OR REPLACE FUNCTION {ALL}() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(split_part({VERIFIED}(), ';', 3) = 'all', false)
$$;
CREATE OR REPLACE FUNCTION {ORGS}() RETURNS uuid[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_to_array(nullif(split_part({VERIFIED}(), ';', 4), ''), ',')::uuid[], '{{}}')
$$;
CREATE OR REPLACE FUNCTION {PRINCIPAL}() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT nullif(split_part({VERIFIED}(), ';', 5), '')
$$;
"""  # noqa: S608

_ANY_CONTEXT = f"(SELECT {ALL}())"


def _tenant_rule(quote: Any, columns: tuple[str, ...], also: str) -> str:
    orgs = f"(SELECT {ORGS}())"
    if len(columns) == 1:
        mine = f"{quote(columns[0])} = ANY ({orgs}::uuid[])"
    else:
        mine = f"ARRAY[{', '.join(quote(c) for c in columns)}]::uuid[] && {orgs}"
    return " OR ".join([_ANY_CONTEXT, mine] + ([f"({also})"] if also else []))


def install(
    connection: BaseDatabaseWrapper, app_role: str = "", app_password: str = "", *, allow_truncate: bool = False
) -> list[str]:
    """(Re)create the policies on every protected table, idempotently; install the signing key;
    grant the application role.

    Runs after every ``migrate`` (post_migrate), as the owner of the tables. Returns the tables.
    ``allow_truncate`` is for the test suite only (pytest-django empties tables between tests with
    TRUNCATE, which row-level security does not restrict, so production never grants it).
    """
    if connection.vendor != "postgresql":
        return []
    quote = connection.ops.quote_name
    inner, outer = _pads(_key())
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        # A model whose migration has not run yet (a partial migrate) gets its policy next time.
        tables = {table: columns for table, columns in tenant_tables().items() if table in existing}
        by_principal = {table: column for table, column in principal_tables().items() if table in existing}
        also = extra_visibility()
        cursor.execute(INSTALL_FUNCTIONS)
        cursor.execute(
            f"INSERT INTO {PRIVATE_SCHEMA}.rls_key (id, inner_pad, outer_pad) VALUES (1, %s, %s) "  # noqa: S608
            "ON CONFLICT (id) DO UPDATE SET inner_pad = EXCLUDED.inner_pad, outer_pad = EXCLUDED.outer_pad",
            [inner, outer],
        )
        rules = {table: _tenant_rule(quote, columns, also.get(table, "")) for table, columns in tables.items()}
        for table, column in by_principal.items():
            rules[table] = f"{_ANY_CONTEXT} OR {quote(column)} = (SELECT {PRINCIPAL}())"
        for table, rule in sorted(rules.items()):
            cursor.execute(f"ALTER TABLE {quote(table)} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {quote(table)}")
            cursor.execute(f"CREATE POLICY {POLICY} ON {quote(table)} USING ({rule}) WITH CHECK ({rule})")
        # The first design's reader of the unsigned settings, if this database still has it.
        cursor.execute("DROP FUNCTION IF EXISTS portal_rls_allows(uuid)")
        if app_role:
            role = quote(app_role)
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role])
            if cursor.fetchone() is None:
                # Where the owner may create roles (development, tests); production creates it first.
                cursor.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
            if app_password:
                cursor.execute(f"ALTER ROLE {role} PASSWORD %s", [app_password])
            cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
            cursor.execute(f"REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM {role}")
            privileges = "SELECT, INSERT, UPDATE, DELETE" + (", TRUNCATE" if allow_truncate else "")
            cursor.execute(f"GRANT {privileges} ON ALL TABLES IN SCHEMA public TO {role}")
            cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}")
            cursor.execute(f"GRANT EXECUTE ON FUNCTION {VERIFIED}() TO {role}")
    return sorted(rules)


def install_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.conf import settings
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # post_migrate also follows `flush`, which the application role may run (tests): only the
        # owner of the schema (or a superuser) installs policies.
        cursor.execute(
            "SELECT rolsuper OR pg_has_role(current_user, (SELECT tableowner FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename = 'django_migrations'), 'MEMBER') "
            "FROM pg_roles WHERE rolname = current_user"
        )
        (is_owner,) = cursor.fetchone()
    if is_owner:
        install(connection, settings.PORTAL_DB_APP_ROLE, settings.PORTAL_DB_APP_PASSWORD)


def context_is_honoured(connection: BaseDatabaseWrapper, context: Context) -> bool:
    """Does the database accept a context signed with this deployment's key (the key `migrate` installed)?"""
    from django.db import transaction

    connection.ensure_connection()
    with transaction.atomic(using=connection.alias), connection.connection.cursor() as cursor:
        apply(connection, context)
        cursor.execute(f"SELECT {ALL}()")
        (honoured,) = cursor.fetchone()
    return bool(honoured)


def check_database(connection: BaseDatabaseWrapper) -> list[Any]:
    """Is the role the portal connects as really held by the policies? (`manage.py check_rls`)

    Not a system check: `migrate` runs database checks, as the owner, before the policies exist.
    """
    from django.core.checks import Error, Warning

    errors: list[Any] = []
    if connection.vendor != "postgresql":
        return errors
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        user, superuser, bypass = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, pg_get_userbyid(c.relowner), "
            "has_table_privilege(current_user, c.oid, 'TRUNCATE') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        tables = {name: (secured, owner, truncate) for name, secured, owner, truncate in cursor.fetchall()}
        cursor.execute(
            "SELECT tablename, qual FROM pg_policies WHERE schemaname = 'public' AND policyname = %s", [POLICY]
        )
        policies = dict(cursor.fetchall())
        # Functions that run with another role's rights and views that read as their owner: each is a way
        # around the policies unless it is the one verifier of the signed context.
        cursor.execute(
            "SELECT n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND has_function_privilege(current_user, p.oid, 'EXECUTE') AND p.proname <> %s",
            [VERIFIED],
        )
        definers = [name for (name,) in cursor.fetchall()]
        cursor.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND has_table_privilege(current_user, c.oid, 'SELECT') "
            "AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)"
        )
        views = [name for (name,) in cursor.fetchall()]
        cursor.execute(
            "SELECT coalesce((SELECT has_schema_privilege(current_user, n.oid, 'USAGE') FROM pg_namespace n "
            "WHERE n.nspname = %s), false)",
            [PRIVATE_SCHEMA],
        )
        (key_readable,) = cursor.fetchone()
    if superuser or bypass:
        errors.append(
            Error(
                f"The portal connects to PostgreSQL as {user!r}, which bypasses row-level security.",
                hint="Connect as the application role (PORTAL_DB_APP_ROLE); run migrate as the owner. "
                "See docs/operations.md.",
                id="portal.E101",
            )
        )
    for table in protected_tables():
        secured, owner, truncate = tables.get(table, (False, "", False))
        qual = policies.get(table) or ""
        if not secured or not qual:
            errors.append(
                Error(
                    f"Row-level security is off on {table}, or its policy is missing.",
                    hint="Run migrate.",
                    id="portal.E102",
                )
            )
        elif owner == user:
            errors.append(
                Error(
                    f"The portal connects as {user!r}, the owner of {table}: the policies do not bind it.",
                    hint="Connect as the application role (PORTAL_DB_APP_ROLE).",
                    id="portal.E103",
                )
            )
        elif ALL not in qual or any(legacy in qual for legacy in LEGACY_SETTINGS):
            errors.append(
                Error(
                    f"The policy on {table} does not rest on the signed context: the application role could choose "
                    "what it sees.",
                    hint="Run migrate with this version of the portal.",
                    id="portal.E104",
                )
            )
        if truncate and not (superuser or owner == user):
            errors.append(
                Warning(
                    f"The portal's role may TRUNCATE {table}, which row-level security does not restrict.",
                    hint="Production grants no TRUNCATE (migrate revokes it); only the test suite needs it.",
                    id="portal.W101",
                )
            )
    if key_readable:
        errors.append(
            Error(
                f"The portal's role may use the schema {PRIVATE_SCHEMA}, which holds the key that signs contexts.",
                hint=f"REVOKE ALL ON SCHEMA {PRIVATE_SCHEMA} FROM {user}; and from PUBLIC.",
                id="portal.E105",
            )
        )
    for name in definers:
        errors.append(
            Error(
                f"The portal's role may run {name}, a SECURITY DEFINER function that could read past the policies.",
                hint="Revoke EXECUTE on it from the application role and PUBLIC.",
                id="portal.E106",
            )
        )
    for name in views:
        errors.append(
            Error(
                f"The portal's role may read the view {name}, which reads as its owner, past the policies.",
                hint="Make it security_invoker, or revoke SELECT on it.",
                id="portal.E107",
            )
        )
    if not (superuser or bypass) and not context_is_honoured(connection, CROSS_TENANT):
        errors.append(
            Error(
                "The database does not accept contexts signed with this deployment's key: every tenant table will "
                "look empty.",
                hint="Run migrate with the same PORTAL_RLS_KEY (or DJANGO_SECRET_KEY) as the web and worker processes.",
                id="portal.E108",
            )
        )
    return errors
