"""Model instances from hand-written SQL, for fixed-shape queries read on hot pages.

The ORM spends more Python building and compiling a query (0.3-1.5 ms with a few joins) than the
database spends answering it. For a query whose shape never changes, the page can write its SQL
itself and still get model instances: `columns(Model, "t")` is the SELECT list of every concrete
field of the model under table alias `t` (written once a process), and `Loader(Model)` makes an
instance from a row's slice of those columns with the conversions the ORM would apply on this
database (UUIDs, dates and booleans from SQLite's text and integers, JSON from text), so the
instance is the one `Model.objects...` would have returned.

Such SQL runs on the request's connection (`django.db.connection.cursor()`), so the row-level
security of PostgreSQL applies as for the ORM's queries; django-scopes does not see it, so each
statement names the organisation itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection
from django.db.models import QuerySet

_COLUMNS: dict[tuple[str, Any, str], str] = {}
_CONVERTERS: dict[tuple[str, Any], list[tuple[int, list[Callable[..., Any]], Any]]] = {}


def columns(model: Any, alias: str) -> str:
    """`alias."col", ...` for every concrete field of `model`, in the order `Loader` reads them."""
    key = (connection.vendor, model, alias)
    sql = _COLUMNS.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        sql = _COLUMNS[key] = ", ".join(f"{quote(alias)}.{quote(f.column)}" for f in model._meta.concrete_fields)
    return sql


def width(model: Any) -> int:
    """How many columns `columns(model, ...)` selects."""
    return len(model._meta.concrete_fields)


class Loader:
    """Makes `model` instances from rows whose columns `start` onwards are `columns(model, ...)`."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.width = width(model)
        key = (connection.vendor, model)
        converters = _CONVERTERS.get(key)
        if converters is None:
            converters = []
            for i, field in enumerate(model._meta.concrete_fields):
                col = field.get_col(model._meta.db_table)
                found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                if found:
                    converters.append((i, found, col))
            converters = _CONVERTERS[key] = converters
        self._converters = converters
        self._db = connection.alias
        self._pk = model._meta.concrete_fields.index(model._meta.pk)

    def __call__(self, row: Sequence[Any], start: int = 0) -> Any:
        """The instance from `row[start:start + width]`; None when its primary key is NULL (a LEFT JOIN
        that found nothing)."""
        values = list(row[start : start + self.width])
        if values[self._pk] is None:
            return None
        for i, found, col in self._converters:
            value = values[i]
            for convert in found:
                value = convert(value, col, connection)
            values[i] = value
        return self.model.from_db(self._db, None, values)


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of one hand-written statement, on the request's connection."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def prefetched(instance: Any, name: str, items: list[Any]) -> None:
    """Stand `items` for `instance.<name>.all()` (a reverse foreign key named `name`), as prefetch_related
    would: a queryset whose results are `items`, so no further query."""
    queryset: QuerySet[Any] = QuerySet(model=instance._meta.get_field(name).related_model)
    queryset._result_cache = items
    queryset._prefetch_done = True  # type: ignore[attr-defined]
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[name] = queryset
