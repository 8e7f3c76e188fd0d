"""The signed-in person of a request, read by one hand-written SELECT (issue 19: the base cost of every page).

Django's session authentication reads the person with `User.objects.get(pk=...)` on every signed-in
request; building and compiling that query costs several times what running it does. Here the same
columns are read by a SELECT written once per process, with the ORM's own converters for them, and the
row is checked as Django checks it: the session names one of the model backends, the person may sign in
(`is_active`) and the session's hash matches the person's current password under the current secret.
Any other case (no session, another backend, no such person, a hash to verify against an old secret or
to refuse) is handed to Django's `get_user` as it stands, which reads the row again and decides.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.db import connection
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from portal import rows
from portal.models import User

# The backends whose `get_user` is ModelBackend's: the row by primary key, then `is_active`.
MODEL_BACKENDS = frozenset(
    {"django.contrib.auth.backends.ModelBackend", "allauth.account.auth_backends.AuthenticationBackend"}
)


def person_by_id(user_id: Any) -> User | None:
    """The person's row as `User.objects.get(pk=user_id)` makes it, or None when there is none
    (`portal.rows`: the columns written once a process, the ORM's converters for this database)."""
    quote = connection.ops.quote_name
    table, pk = quote(User._meta.db_table), quote(str(User._meta.pk.column))
    # Identifiers only, from the model's own metadata, quoted by the backend; the id is a parameter.
    sql = f"SELECT {rows.columns(User, User._meta.db_table)} FROM {table} WHERE {table}.{pk} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [User._meta.pk.get_db_prep_value(user_id, connection)])
        row = cursor.fetchone()
    return None if row is None else rows.Loader(User)(row)


def session_user(request: HttpRequest) -> Any:
    """The request's person, as `django.contrib.auth.get_user` returns it."""
    session = request.session
    try:
        user_id = User._meta.pk.to_python(session[auth.SESSION_KEY])
        backend = session[auth.BACKEND_SESSION_KEY]
        session_hash = session[auth.HASH_SESSION_KEY]
    except KeyError:
        return auth.get_user(request)
    if backend in MODEL_BACKENDS and backend in settings.AUTHENTICATION_BACKENDS:
        user = person_by_id(user_id)
        if (
            user is not None
            and user.is_active
            and session_hash
            and constant_time_compare(session_hash, user.get_session_auth_hash())
        ):
            return user
    return auth.get_user(request)  # Django's own path: it reads the row again and decides


def _cached_session_user(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        request._cached_user = session_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's, with the person read by `session_user` (the same attribute caches it for the request)."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _cached_session_user(request))  # type: ignore[assignment]
