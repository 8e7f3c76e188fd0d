"""PostgreSQL row-level security: defence in depth under django-scopes (DESIGN.md section 4).

Every tenant table carries a policy that lets a row through only when its organisation is the one
set for the current transaction. The value comes from the django-scopes state at the moment each
query runs, so the database enforces the same boundary the ORM does:

* ``scope(organisation=X)``: only X's rows (a forgotten filter, raw SQL or ``_base_manager``
  still sees nothing of anyone else);
* ``scopes_disabled()``: deliberate cross-tenant work (sign-in, cascades, auditors' lists,
  verification commands), already explicit in the code, is let through;
* no scope at all: nothing (the policies fail closed).

The settings are transaction-local (``set_config(..., true)``) and applied by the database backend
in ``portal.dbbackend`` just before the first query that needs them; a statement outside a
transaction is wrapped in one so the setting and the query share it. Nothing survives the
transaction, so a pooled connection cannot carry one request's tenant into the next.

The application connects as a role that neither owns the tables nor bypasses RLS
(``PORTAL_DB_APP_ROLE``, granted its privileges here after every ``migrate``); migrations run as
the owner, which RLS does not restrict. SQLite has no RLS: there django-scopes alone holds the line.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db.backends.base.base import BaseDatabaseWrapper

ORG_SETTING = "app.org_ids"
BYPASS_SETTING = "app.rls_bypass"
POLICY = "portal_tenant_isolation"
FUNCTION = "portal_rls_allows"

# What a query runs under: (comma-separated organisation UUIDs, "on" when scopes are disabled).
Context = tuple[str, str]
NOTHING: Context = ("", "")
CROSS_TENANT: Context = ("", "on")


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


def current_context() -> Context:
    """The RLS context the django-scopes state asks for, right now."""
    from django_scopes.state import get_scope

    state = get_scope()
    if not state:
        return NOTHING
    if not state.get("_enabled", True):
        return CROSS_TENANT
    return (",".join(_ids(state.get("organisation"))), "")


def apply(connection: BaseDatabaseWrapper, context: Context) -> None:
    """Set the context for the current transaction, bypassing Django's cursor (and query logs)."""
    with connection.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT set_config('{ORG_SETTING}', %s, true), set_config('{BYPASS_SETTING}', %s, true)",
            list(context),
        )


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


INSTALL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(organisation uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('{BYPASS_SETTING}', true), '') = 'on'
        OR organisation = ANY (string_to_array(nullif(current_setting('{ORG_SETTING}', true), ''), ',')::uuid[])
$$
"""


def install(connection: BaseDatabaseWrapper, app_role: str = "", app_password: str = "") -> list[str]:
    """(Re)create the policies on every tenant table, idempotently; grant the application role.

    Runs after every ``migrate`` (post_migrate), as the owner of the tables. Returns the tables.
    """
    if connection.vendor != "postgresql":
        return []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        # A model whose migration has not run yet (a partial migrate) gets its policy next time.
        tables = {table: columns for table, columns in tenant_tables().items() if table in existing}
        also = extra_visibility()
        cursor.execute(INSTALL_FUNCTION)
        for table, columns in sorted(tables.items()):
            allowed = " OR ".join(
                [f"{FUNCTION}({quote(column)})" for column in columns] + ([f"({also[table]})"] if table in also else [])
            )
            cursor.execute(f"ALTER TABLE {quote(table)} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {quote(table)}")
            cursor.execute(f"CREATE POLICY {POLICY} ON {quote(table)} USING ({allowed}) WITH CHECK ({allowed})")
        if app_role:
            role = quote(app_role)
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role])
            if cursor.fetchone() is None:
                # Where the owner may create roles (development, tests); production creates it first.
                cursor.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
            if app_password:
                cursor.execute(f"ALTER ROLE {role} PASSWORD %s", [app_password])
            cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
            cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {role}")
            cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}")
            cursor.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION}(uuid) TO {role}")
    return sorted(tables)


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


def check_database(connection: BaseDatabaseWrapper) -> list[Any]:
    """Is the role the portal connects as really held by the policies? (`manage.py check_rls`)

    Not a system check: `migrate` runs database checks, as the owner, before the policies exist.
    """
    from django.core.checks import Error

    errors: list[Any] = []
    if connection.vendor != "postgresql":
        return errors
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        user, superuser, bypass = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        tables = {name: (secured, owner) for name, secured, owner in cursor.fetchall()}
    if superuser or bypass:
        errors.append(
            Error(
                f"The portal connects to PostgreSQL as {user!r}, which bypasses row-level security.",
                hint="Connect as the application role (PORTAL_DB_APP_ROLE); run migrate as the owner. "
                "See docs/operations.md.",
                id="portal.E101",
            )
        )
    for table in sorted(tenant_tables()):
        secured, owner = tables.get(table, (False, ""))
        if not secured:
            errors.append(Error(f"Row-level security is off on {table}.", hint="Run migrate.", id="portal.E102"))
        elif owner == user:
            errors.append(
                Error(
                    f"The portal connects as {user!r}, the owner of {table}: the policies do not bind it.",
                    hint="Connect as the application role (PORTAL_DB_APP_ROLE).",
                    id="portal.E103",
                )
            )
    return errors
