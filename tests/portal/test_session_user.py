"""The signed-in person is read by one hand-written SELECT (portal.session_user): the same row as the ORM
makes, and the same answer as Django's `get_user` in every case (a valid session, a changed password, a
deactivated or deleted person, a session of another backend or with no hash)."""

from __future__ import annotations

import pytest
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory

from portal.models import User
from portal.session_user import person_by_id, session_user
from tests.factories import UserFactory
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


def _fields(user: User) -> dict:
    return {f.attname: getattr(user, f.attname) for f in User._meta.concrete_fields}


def test_the_row_is_the_orms_row() -> None:
    user = UserFactory(full_name="Ada <Lovelace> & Co", time_zone="Europe/Paris")
    User.objects.filter(pk=user.pk).update(last_login=user.date_joined)
    read = person_by_id(user.pk)
    orm = User.objects.get(pk=user.pk)
    assert read is not None
    assert _fields(read) == _fields(orm)
    assert {k: type(v) for k, v in _fields(read).items()} == {k: type(v) for k, v in _fields(orm).items()}
    assert read.date_joined.tzinfo is not None and read.last_login is not None and read.last_login.tzinfo is not None
    assert not read._state.adding and read._state.db == "default"
    assert person_by_id(user.pk + 10_000) is None


def _request(client: Client):
    request = RequestFactory().get("/")
    request.session = client.session
    return request


def test_a_valid_session_gives_the_person_in_one_query() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)
    with assert_queries(1):
        found = session_user(_request(client))
    assert found == user and found.is_authenticated
    assert _fields(found) == _fields(User.objects.get(pk=user.pk))


@pytest.mark.parametrize(
    "change",
    ["password", "deactivated", "deleted", "no hash", "other backend", "unknown backend", "no session"],
)
def test_every_other_case_is_djangos_answer(change: str) -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)
    session = client.session
    if change == "password":
        user.set_password("another-password-2026")
        user.save()
    elif change == "deactivated":
        User.objects.filter(pk=user.pk).update(is_active=False)
    elif change == "deleted":
        User.objects.filter(pk=user.pk).delete()
    elif change == "no hash":
        session[auth.HASH_SESSION_KEY] = ""
    elif change == "other backend":
        session[auth.BACKEND_SESSION_KEY] = "django.contrib.auth.backends.RemoteUserBackend"
    elif change == "unknown backend":
        session[auth.BACKEND_SESSION_KEY] = "tests.no.such.Backend"
    elif change == "no session":
        session.flush()
    session.save()

    mine, django = _request(client), _request(client)
    expected = auth.get_user(django)
    found = session_user(mine)
    assert type(found) is type(expected)
    assert found == expected
    if change in ("password", "deactivated", "deleted", "no hash", "unknown backend", "no session"):
        assert isinstance(found, AnonymousUser)


def test_pages_sign_out_a_session_whose_password_changed() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)
    assert client.get("/account/").status_code == 200
    user.set_password("another-password-2026")
    user.save()
    response = client.get("/account/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
