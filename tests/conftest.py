"""Shared fixtures: an organisation with a user of every role, and an outsider in a second one."""

from __future__ import annotations

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

ON_POSTGRES = bool(settings.DATABASE_URL) and settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
ON_REDIS = bool(settings.REDIS_URL)


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path) -> None:
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
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


from tests.worker import celery_worker, mailbox, worker  # noqa: E402,F401 - fixtures shared by all tests


@pytest.fixture
def framework(db):
    """The bundled Made Smarter framework, loaded."""
    from principles.framework import framework_load

    return framework_load()[0]
