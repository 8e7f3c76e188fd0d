"""Shared fixtures: an organisation with a user of every role, and an outsider in a second one."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client

from portal.models import Organisation, User
from portal.roles import Role
from tests.factories import OrganisationFactory, UserFactory, add_member

# Playwright's sync API runs an event loop in the test thread; the live server's ORM calls are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ON_POSTGRES = bool(settings.DATABASE_URL) and settings.DATABASES["default"]["ENGINE"] == "portal.dbbackend"
ON_REDIS = bool(settings.REDIS_URL)


APP_ROLE = "portal_app"
# The configured user, which creates and migrates the test database (the owner, as in production).
DATABASE_OWNER = settings.DATABASES["default"].get("USER", "")

# --- The live server on the embedded database --------------------------------------------------------
# On SQLite the test database lives in memory, and pytest-django hands the live server the test's own
# connection. Django's threaded server would then run a browser's simultaneous requests (a page, its
# htmx calls, the favicon) on that one connection at once, which breaks it ("cannot start a transaction
# within a transaction") and leaves it broken for every later test of the process. So there, the live
# server answers one request at a time (and closes each connection, as Django's non-threaded server
# does). On PostgreSQL every request thread has a connection of its own and stays threaded.
if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    from django.core.servers.basehttp import WSGIServer
    from django.test.testcases import LiveServerThread

    class OneRequestAtATimeServer(WSGIServer):
        def __init__(self, *args, connections_override=None, **kwargs) -> None:
            # The server runs in the live server's thread, which already uses the overriding connection.
            super().__init__(*args, **kwargs)

    LiveServerThread.server_class = OneRequestAtATimeServer


# --- Parallel runs (pytest-xdist, `make test`) ------------------------------------------------------
# Each xdist worker has a test database of its own (pytest-django adds `_gw0`, `_gw1`... to its name)
# and, set here before the worker's Django settings load, Redis databases and a var folder of its own:
# the suite clears the cache before every test and the fault tests flush the broker's queue, so two
# workers must never share a Redis database. The real Celery workers a test starts (tests/worker.py)
# inherit the same environment, hence the same numbers. The fault tests (tests/faults) run among the
# rest: they kill only processes they started and restart a PostgreSQL server of their own.
REDIS_DATABASES = 16  # Redis's default `databases`


def _redis_url_with_db(url: str, db: int) -> str:
    from urllib.parse import urlparse, urlunparse

    return urlunparse(urlparse(url)._replace(path=f"/{db}"))


def _redis_db_of(url: str) -> int:
    from urllib.parse import urlparse

    return int(urlparse(url).path.lstrip("/") or 0)


def parallel_worker_environment(index: int, workers: int, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment variables that give xdist worker number `index` (of `workers`) its own services.

    Worker N uses the configured Redis database numbers plus 2N (broker and cache; the cache defaults
    to the broker's plus one, as in settings), so worker 0 uses the configured ones. PostgreSQL needs
    nothing here: pytest-django names each worker's test database after the worker.
    """
    environ = dict(os.environ if environ is None else environ)
    base_dir = environ.get("PORTAL_VAR_DIR") or str(settings.BASE_DIR / "var")
    result = {"PORTAL_VAR_DIR": os.path.join(base_dir, f"test-gw{index}")}
    redis_url = environ.get("REDIS_URL", "")
    if not redis_url:
        return result
    cache_url = environ.get("CACHE_URL") or _redis_url_with_db(redis_url, _redis_db_of(redis_url) + 1)
    numbers = [
        (_redis_db_of(redis_url) + 2 * n, _redis_db_of(cache_url) + 2 * n) for n in range(max(workers, index + 1))
    ]
    used = [db for pair in numbers for db in pair]
    if len(set(used)) != len(used) or max(used) >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"{workers} test workers need Redis databases {sorted(used)} (REDIS_URL's and CACHE_URL's numbers "
            f"plus 2 per worker), which overlap or pass {REDIS_DATABASES - 1}: use fewer workers (-n) or lower numbers"
        )
    broker, cache = numbers[index]
    result["REDIS_URL"] = _redis_url_with_db(redis_url, broker)
    result["CACHE_URL"] = _redis_url_with_db(cache_url, cache)
    return result


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config, specs) -> None:
    """In the controller, before the workers start: the environment of each (execnet sets it in the
    worker process before pytest, hence Django's settings, starts there)."""
    for index, spec in enumerate(specs):
        environment = parallel_worker_environment(index, len(specs))
        os.makedirs(environment["PORTAL_VAR_DIR"], exist_ok=True)
        spec.env.update(environment)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """On PostgreSQL the suite runs as the application role, under row-level security.

    The test database is created and migrated as the owner (the configured user), as production
    migrates; then every connection, including live servers' and real workers', signs in as a
    role that neither owns the tables nor bypasses RLS, so every test also exercises the policies.
    """
    if not ON_POSTGRES:
        yield
        return
    from django.db import IntegrityError, ProgrammingError, connections

    from portal import rls

    with django_db_blocker.unblock():
        connection = connections["default"]
        try:
            rls.install(connection, APP_ROLE, allow_truncate=True)
        except (IntegrityError, ProgrammingError):
            # The role is the server's, not the database's: another worker's set-up created it between
            # the check and the CREATE ROLE. Once it exists, the second time only grants.
            rls.install(connection, APP_ROLE, allow_truncate=True)
        owner = connection.settings_dict["USER"]
        connection.close()
        connection.settings_dict["USER"] = APP_ROLE
    yield
    with django_db_blocker.unblock():
        connections["default"].close()
        connections["default"].settings_dict["USER"] = owner  # the owner drops the test database


@pytest.fixture(autouse=True)
def _test_code_reads_across_tenants(monkeypatch):
    """Test code (setup, assertions, refresh_from_db) reads every tenant's rows; production does not.

    Every production entry point the test drives starts with no scope at all, as in production,
    so its own scopes, and on PostgreSQL the row-level-security policies, decide what it sees:

    * requests (test client, API client, WSGI app, live server): ``BaseHandler.get_response``;
    * Celery tasks, eager or called directly (the real worker is another process, with no scope):
      ``TenantTask.__call__``, which the eager tracer and direct calls both go through;
    * management commands (``call_command``, and ``manage.py`` in-process): ``BaseCommand.execute``;
    * on-commit callbacks (at commit, or run by ``captureOnCommitCallbacks``): wrapped when
      registered, in ``BaseDatabaseWrapper.on_commit``.

    A task or command that forgets to enter its scope therefore fails here as it would in
    production (ScopeError; on PostgreSQL the policies show it nothing). Use the `no_scope`
    fixture to run test code itself without the God's-eye view.
    """
    from django.core.handlers.base import BaseHandler
    from django.core.management.base import BaseCommand
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django_scopes import scopes_disabled
    from django_scopes.state import state

    from portal.tasking import TenantTask

    def with_no_scope(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            token = state.set(None)
            try:
                return function(*args, **kwargs)
            finally:
                state.reset(token)

        return wrapper

    monkeypatch.setattr(BaseHandler, "get_response", with_no_scope(BaseHandler.get_response))
    monkeypatch.setattr(TenantTask, "__call__", with_no_scope(TenantTask.__call__))
    monkeypatch.setattr(BaseCommand, "execute", with_no_scope(BaseCommand.execute))
    on_commit = BaseDatabaseWrapper.on_commit

    def on_commit_with_no_scope(self, func, robust=False):
        return on_commit(self, with_no_scope(func), robust=robust)

    monkeypatch.setattr(BaseDatabaseWrapper, "on_commit", on_commit_with_no_scope)
    with scopes_disabled():
        yield


@pytest.fixture
def no_scope():
    """Run the test body as production code runs outside a request: no scope until one is entered."""
    from django_scopes.state import state

    token = state.set(None)
    yield
    state.reset(token)


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path) -> None:
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # In-process tasks run in line, so a test sees their result as soon as the commit is over.
    settings.PORTAL_EAGER_TASKS_IN_BACKGROUND = False
    cache.clear()  # rate limits and sessions from one test must not leak into the next
    # Uploaded files go to a folder of this test's own.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }


@pytest.fixture(autouse=True)
def _eager_celery_unless_worker() -> None:
    """Run tasks in-process unless the test asks for the real worker (fixture `worker`)."""
    from portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@dataclass
class Tenant:
    organisation: Organisation
    owner: User
    manager: User
    rep: User
    auditor: User
    member: User

    def user(self, role: str) -> User:
        return {
            Role.OWNER: self.owner,
            Role.MANAGER: self.manager,
            Role.WORKFORCE_REP: self.rep,
            Role.AUDITOR: self.auditor,
            Role.MEMBER: self.member,
        }[Role(role)]


@pytest.fixture
def tenant(db) -> Tenant:
    organisation = OrganisationFactory(name="Acme Precision Engineering")
    people = {}
    for role in Role:
        user = UserFactory(email=f"{role.value.replace('_', '.')}@acme.example")
        add_member(organisation, user, role)
        people[role.value] = user
    return Tenant(
        organisation=organisation,
        owner=people["owner"],
        manager=people["manager"],
        rep=people["workforce_rep"],
        auditor=people["auditor"],
        member=people["member"],
    )


@pytest.fixture
def outsider(db) -> User:
    """Owner of a different organisation: must never see anything of `tenant`."""
    other = OrganisationFactory(name="Northern Castings")
    user = UserFactory(email="owner@northern.example")
    add_member(other, user, Role.OWNER)
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(tenant) -> Client:
    return client_for(tenant.owner)


# Cached pages (the dashboard, the header) are invalidated when a write commits; a test inside the test
# case's transaction never commits, so each bump takes effect when its write would have (autouse).
from tests.cache_commits import bumps_at_commit  # noqa: E402,F401
from tests.worker import celery_worker, mailbox, worker  # noqa: E402,F401 - fixtures shared by all tests


@pytest.fixture
def framework(db):
    """The bundled Made Smarter framework, loaded."""
    from principles.framework import framework_load

    return framework_load()[0]
