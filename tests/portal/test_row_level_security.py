"""Row-level security on PostgreSQL: the database itself keeps tenants apart (DESIGN.md section 4).

These tests run as the application role (tests/conftest.py signs every connection in as it after
the owner has migrated) against the demo data: Acme (a buyer) and Northern Castings (its supplier)
and the other demo organisations, each with rows in most tenant tables.
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import include, path
from django_scopes import scope, scopes_disabled

from portal import rls
from portal.models import Organisation, User
from tests.conftest import APP_ROLE, ON_POSTGRES

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="row-level security is PostgreSQL's; on SQLite django-scopes alone keeps tenants apart"
)

ACME = "Acme Precision Engineering"
NORTHERN = "Northern Castings"
# Tables the demo fills for more than one organisation: the proof below must hide real rows.
SHARED_KINDS = [
    "portal_membership",
    "portal_auditevent",
    "assessments_assessment",
    "assessments_response",
    "supplychain_supplier",
    "supplychain_supplierinvitation",
]


@pytest.fixture
def demo(db) -> dict[str, Organisation]:
    """The demo data, plus a self-assessment of Northern's own (the demo gives it none)."""
    from datetime import date

    from assessments.services import assessment_create
    from portal.demo import load_demo
    from principles.framework import ensure_framework

    load_demo()
    with scopes_disabled():
        organisations = {org.name: org for org in Organisation.objects.all()}
        assessment_create(
            organisation=organisations[NORTHERN],
            actor=User.objects.get(email="owner@northern.example"),
            framework=ensure_framework(),
            title="Northern's own self-assessment",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
        )
    return organisations


def _rows(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _tenants_of(table: str, columns: tuple[str, ...]) -> list[set[str]]:
    """Each visible row's tenants (the organisation ids in its tenant columns)."""
    selected = ", ".join(f'"{c}"::text' for c in columns)
    return [{value for value in row if value} for row in _rows(f'SELECT {selected} FROM "{table}"')]  # noqa: S608 - names from the models


def test_the_application_role_neither_owns_the_tables_nor_bypasses_rls(db) -> None:
    (role, superuser, bypass), *_ = _rows(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    assert (role, superuser, bypass) == (APP_ROLE, False, False)
    owners = {owner for (owner,) in _rows("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")}
    assert APP_ROLE not in owners


def test_every_table_of_a_model_that_refers_to_an_organisation_has_the_policy(db) -> None:
    tables = rls.tenant_tables()
    assert len(tables) >= 25  # every tenant model of the five apps
    assert tables["supplychain_supplierlink"] == ("buyer_id", "supplier_organisation_id")  # both ends
    assert tables["supplychain_supplierinvitation"] == ("inviter_id", "supplier_organisation_id")
    protected = dict(
        _rows(
            "SELECT c.relname, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
    )
    policies = {table for (table,) in _rows("SELECT tablename FROM pg_policies WHERE policyname = %s", [rls.POLICY])}
    for table in tables:
        assert protected[table] is True, table
        assert table in policies, table


def test_raw_sql_under_one_organisation_returns_none_of_the_others_rows(demo) -> None:
    acme, northern = demo[ACME], demo[NORTHERN]
    tables = rls.tenant_tables()
    with scopes_disabled():
        everything = {table: _tenants_of(table, columns) for table, columns in tables.items()}
    for kind in SHARED_KINDS:  # the proof has something to hide: several organisations have rows here
        assert len(set().union(*everything[kind])) >= 2, kind

    hidden = 0
    for organisation in (acme, northern):
        mine = str(organisation.pk)
        with scopes_disabled():
            # The one stated exception: a campaign is also seen by the suppliers that answered it.
            taking_part = _rows(
                "SELECT count(DISTINCT campaign_id) FROM supplychain_supplierinvitation "
                "WHERE supplier_organisation_id = %s",
                [organisation.pk],
            )[0][0]
        with scope(organisation=organisation), transaction.atomic():
            for table, columns in tables.items():
                visible = _tenants_of(table, columns)
                own = [tenants for tenants in visible if mine in tenants]
                expected = [tenants for tenants in everything[table] if mine in tenants]
                assert len(own) == len(expected), table  # every row of its own
                others = len(visible) - len(own)
                if table == "supplychain_campaign":
                    assert others <= taking_part, table
                else:
                    assert others == 0, f"{table} shows another organisation's row"
                hidden += len(everything[table]) - len(visible)
    assert hidden > 100


def test_supplier_links_and_invitations_are_seen_from_both_ends_and_by_nobody_else(demo) -> None:
    acme, northern = demo[ACME], demo[NORTHERN]
    others = [org for name, org in demo.items() if name not in (ACME, NORTHERN)]
    sql = 'SELECT count(*) FROM "supplychain_supplierlink" WHERE buyer_id = %s AND supplier_organisation_id = %s'
    for organisation in (acme, northern):
        with scope(organisation=organisation), transaction.atomic():
            assert _rows(sql, [acme.pk, northern.pk]) == [(1,)]
    for organisation in others:
        with scope(organisation=organisation), transaction.atomic():
            assert _rows(sql, [acme.pk, northern.pk]) == [(0,)]


def test_without_any_scope_every_tenant_table_looks_empty(demo, no_scope) -> None:
    with transaction.atomic():
        for table in rls.tenant_tables():
            assert _rows(f'SELECT count(*) FROM "{table}"') == [(0,)], table  # noqa: S608 - names from the models
    # Outside a transaction too (a statement on its own runs in autocommit mode).
    assert _rows('SELECT count(*) FROM "assessments_assessment"') == [(0,)]
    with scopes_disabled():
        assert _rows('SELECT count(*) FROM "assessments_assessment"')[0][0] > 0


def test_writes_into_another_organisation_are_refused_and_its_rows_cannot_be_changed(demo) -> None:
    acme, northern = demo[ACME], demo[NORTHERN]
    with scope(organisation=acme), transaction.atomic():
        changed = _rows(
            "UPDATE assessments_assessment SET title = 'hijacked' WHERE organisation_id = %s RETURNING id",
            [northern.pk],
        )
        assert changed == []
        assert _rows("DELETE FROM portal_auditevent WHERE organisation_id = %s RETURNING id", [northern.pk]) == []
    # An Acme request trying to move its own assessments into Northern.
    with scope(organisation=acme), pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
        _rows(
            "UPDATE assessments_assessment SET organisation_id = %s WHERE organisation_id = %s",
            [northern.pk, acme.pk],
        )
    with scopes_disabled():
        titles = {
            t for (t,) in _rows("SELECT title FROM assessments_assessment WHERE organisation_id = %s", [northern.pk])
        }
    assert titles and "hijacked" not in titles


def test_the_setting_lasts_only_as_long_as_its_transaction(demo, no_scope) -> None:
    acme = demo[ACME]
    with scope(organisation=acme), transaction.atomic():
        assert _rows(f"SELECT {rls.ORGS}()::text[]") == [([str(acme.pk)],)]
    # The same connection, after the commit, carries nothing of Acme's.
    assert _rows("SELECT coalesce(current_setting(%s, true), '')", [rls.SETTING]) == [("",)]
    assert _rows(f"SELECT {rls.ORGS}()::text[], {rls.ALL}()") == [([], False)]
    assert _rows('SELECT count(*) FROM "portal_membership"') == [(0,)]


def test_a_savepoint_rolled_back_does_not_leave_the_wrong_tenant_in_force(demo, no_scope) -> None:
    acme, northern = demo[ACME], demo[NORTHERN]
    with scope(organisation=acme), transaction.atomic():
        try:
            with transaction.atomic(), scope(organisation=northern):
                assert _rows("SELECT DISTINCT organisation_id::text FROM assessments_assessment") == [
                    (str(northern.pk),)
                ]
                raise RuntimeError("undo the savepoint")
        except RuntimeError:
            pass
        assert _rows("SELECT DISTINCT organisation_id::text FROM assessments_assessment") == [(str(acme.pk),)]


# --- A view that forgets its filter ---------------------------------------------------------


def leaky_assessments(request: HttpRequest, org_slug: str) -> JsonResponse:
    """A deliberately wrong view: every assessment in the database, with no tenant filter at all."""
    from assessments.models import Assessment

    with connection.cursor() as cursor:
        cursor.execute("SELECT title, organisation_id::text FROM assessments_assessment")
        raw = cursor.fetchall()
    orm = list(Assessment._base_manager.values_list("title", "organisation_id"))  # skips django-scopes too
    return JsonResponse({"raw": [list(row) for row in raw], "orm": [[t, str(o)] for t, o in orm]})


urlpatterns = [path("o/<slug:org_slug>/leaky/", leaky_assessments), path("", include("portal.urls"))]


@pytest.mark.urls(__name__)
def test_a_view_with_a_missing_filter_still_leaks_nothing(demo) -> None:
    acme, northern = demo[ACME], demo[NORTHERN]
    with scopes_disabled():
        in_database = {str(o) for (o,) in _rows("SELECT DISTINCT organisation_id FROM assessments_assessment")}
    assert {str(acme.pk), str(northern.pk)} <= in_database

    for organisation in (acme, northern):
        owner = User.objects.get(email=f"owner@{'acme' if organisation == acme else 'northern'}.example")
        client = Client()
        client.force_login(owner)
        response = client.get(f"/o/{organisation.slug}/leaky/")
        assert response.status_code == 200
        body = json.loads(response.content)
        assert body["raw"] and body["orm"]  # it sees its own organisation's assessments...
        for title, organisation_id in body["raw"] + body["orm"]:
            assert organisation_id == str(organisation.pk), title  # ...and nothing else


def test_a_forged_organisation_id_in_the_context_is_not_a_way_in(demo, no_scope) -> None:
    """Nothing but a well-formed organisation id reaches the setting; junk fails closed, not open."""
    with scope(organisation=str(uuid.uuid4())), transaction.atomic():
        assert _rows('SELECT count(*) FROM "assessments_assessment"') == [(0,)]
    with scope(organisation="1 OR true"), pytest.raises(ValueError):
        rls.current_context()


def _errors(problems: list) -> set[str]:
    from django.core.checks import ERROR

    return {problem.id for problem in problems if problem.level >= ERROR}


def test_the_database_check_passes_for_the_application_role_and_fails_for_the_owner(db) -> None:
    """`manage.py check_rls` is how an operator confirms a deployment (docs/operations.md)."""
    from django.core.management import call_command
    from django.db.backends.postgresql.base import DatabaseWrapper

    problems = rls.check_database(connection)
    assert _errors(problems) == set()
    # The suite alone grants TRUNCATE (pytest-django empties tables with it): said, as a warning.
    assert {problem.id for problem in problems} == {"portal.W101"}
    call_command("check_rls")  # raises CommandError on any error

    # The same database, signed in as the owner (a superuser here): a misconfigured deployment.
    as_owner = DatabaseWrapper({**connection.settings_dict, "USER": "postgres"}, alias="owner-check")
    try:
        assert "portal.E101" in _errors(rls.check_database(as_owner))
    finally:
        as_owner.close()


# --- The application role alone (an SQL injection, a leaked DATABASE_URL) ------------------------


def _attacker():
    """A connection of its own as the application role, outside the portal's code: what someone
    holding the database URL (or injecting SQL) has."""
    import psycopg

    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=APP_ROLE,
        dbname=settings["NAME"],
        autocommit=True,
    )


def _visible_rows(cursor) -> dict[str, int]:
    counts = {}
    for table in rls.protected_tables():
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - names from the models
        counts[table] = cursor.fetchone()[0]
    return {table: count for table, count in counts.items() if count}


@pytest.mark.django_db(transaction=True)  # the attacker's own connection sees only committed rows
def test_the_application_role_alone_cannot_choose_which_tenants_it_sees(demo, no_scope, api_idempotency_record) -> None:
    """No setting the role can make on its own opens a row: not the first design's bypass flag, not an
    organisation id, not a forged or replayed signed context, not the key itself."""
    northern = demo[NORTHERN]
    with scopes_disabled():
        assert _rows('SELECT count(*) FROM "assessments_assessment"')[0][0] > 0
        assert _rows('SELECT count(*) FROM "portal_idempotencyrecord"')[0][0] > 0
    # A value the portal really signed, for its own connection (as pg_stat_activity might show one).
    with scopes_disabled(), transaction.atomic():
        genuine = _rows("SELECT current_setting(%s, true)", [rls.SETTING])[0][0]
    assert genuine and genuine.split(";")[3] == "all"

    with _attacker() as attacker, attacker.cursor() as cursor:
        (role,) = cursor.execute("SELECT current_user").fetchone()
        assert role == APP_ROLE
        pid = attacker.info.backend_pid
        payload = f"v1;{pid};all;;"
        attempts = [
            "SELECT set_config('app.rls_bypass', 'on', false)",
            f"SELECT set_config('app.org_ids', '{northern.pk}', false)",
            f"SELECT set_config('app.rls', '{'0' * 64};{payload}', false)",  # a made-up signature
            f"SELECT set_config('app.rls', '{genuine}', false)",  # replayed from another connection
            # The portal's signature, with this connection's pid swapped in: the signature no longer fits.
            f"SELECT set_config('app.rls', '{genuine.split(';')[0]};{payload}', false)",
        ]
        for attempt in attempts:
            cursor.execute(attempt)
            assert _visible_rows(cursor) == {}, attempt
            cursor.execute(f"SELECT {rls.ALL}(), {rls.ORGS}()::text[], {rls.PRINCIPAL}()")
            assert cursor.fetchone() == (False, [], None), attempt
        # The key cannot be read, and the owner's schema cannot even be entered.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            cursor.execute(f"SELECT * FROM {rls.PRIVATE_SCHEMA}.rls_key")  # noqa: S608 - a constant
        # Policies cannot be dropped or switched off by a role that owns nothing.
        for statement in (
            'ALTER TABLE "assessments_assessment" DISABLE ROW LEVEL SECURITY',
            f'DROP POLICY {rls.POLICY} ON "assessments_assessment"',
            "CREATE OR REPLACE FUNCTION portal_rls_all() RETURNS boolean LANGUAGE sql AS 'SELECT true'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                cursor.execute(statement)
        assert _visible_rows(cursor) == {}
        # The control: the same connection with a context signed by the key (which only the portal's
        # processes hold) sees the rows, so the empty answers above were the policies at work.
        cursor.execute("SELECT set_config('app.rls', %s, false)", [rls.signed(rls.CROSS_TENANT, pid)])
        visible = _visible_rows(cursor)
        assert visible["assessments_assessment"] > 0 and visible["portal_idempotencyrecord"] > 0


@pytest.fixture
def api_idempotency_record(demo):
    """A completed API POST of Acme's owner, remembered with its whole response body."""
    from portal.models import IdempotencyRecord

    with scopes_disabled():
        owner = User.objects.get(email="owner@acme.example")
        return IdempotencyRecord.objects.create(
            principal=f"user:{owner.pk}", key="k-1", fingerprint="f", completed=True, body={"secret": "A"}
        )


def test_idempotency_records_are_seen_only_by_the_caller_that_sent_them(demo, no_scope, api_idempotency_record):
    acme = demo[ACME]
    mine = api_idempotency_record.principal
    with scope(organisation=acme), transaction.atomic():
        # A request of Acme's, but not this caller's: the stored response stays hidden.
        assert _rows('SELECT count(*) FROM "portal_idempotencyrecord"') == [(0,)]
        with rls.acting_as("user:999999"):
            assert _rows('SELECT count(*) FROM "portal_idempotencyrecord"') == [(0,)]
        with rls.acting_as(mine):
            assert _rows('SELECT principal FROM "portal_idempotencyrecord"') == [(mine,)]


@pytest.mark.django_db(transaction=True)  # the owner's ALTERs must not wait on the test's own transaction
def test_the_check_fails_on_a_policy_that_trusts_an_unsigned_setting_or_a_key_the_database_lacks() -> None:
    from django.db.backends.postgresql.base import DatabaseWrapper
    from django.test import override_settings

    as_owner = DatabaseWrapper({**connection.settings_dict, "USER": "postgres"}, alias="owner-tamper")
    try:
        with as_owner.cursor() as cursor:
            cursor.execute(f'DROP POLICY {rls.POLICY} ON "assessments_assessment"')
            cursor.execute(
                f'CREATE POLICY {rls.POLICY} ON "assessments_assessment" '
                "USING (current_setting('app.rls_bypass', true) = 'on')"
            )
        assert "portal.E104" in _errors(rls.check_database(connection))
        rls.install(as_owner, APP_ROLE, allow_truncate=True)
        assert _errors(rls.check_database(connection)) == set()
        # Web and workers signing with a key that migrate did not install: everything would look empty.
        with override_settings(PORTAL_RLS_KEY="a-key-the-database-was-never-given"):
            assert "portal.E108" in _errors(rls.check_database(connection))
    finally:
        rls.install(as_owner, APP_ROLE, allow_truncate=True)
        as_owner.close()
