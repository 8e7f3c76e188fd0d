"""Counting a page's or an API call's database queries, the way the query-count tests do.

Transaction control is left out: the SAVEPOINT and RELEASE SAVEPOINT pair that ATOMIC_REQUESTS
issues inside a test's own transaction stands for the BEGIN and COMMIT that production pays on
every request whatever the page does, and it is not a query of the page's. Every other statement
counts, reads and writes alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext

# The issue-8 budget: no page or API list may run more than this many queries.
MAX_QUERIES = 12

_TRANSACTION_CONTROL = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|BEGIN|COMMIT)\b", re.I)


class Counted:
    def __init__(self) -> None:
        self.queries: list[str] = []

    def __len__(self) -> int:
        return len(self.queries)

    def listing(self) -> str:
        return "\n".join(f"{n}. {sql[:400]}" for n, sql in enumerate(self.queries, start=1))


@contextmanager
def counting() -> Iterator[Counted]:
    """Collect the statements run in the block, transaction control left out."""
    counted = Counted()
    with CaptureQueriesContext(connection) as captured:
        yield counted
    counted.queries = [q["sql"] for q in captured.captured_queries if not _TRANSACTION_CONTROL.match(q["sql"])]


@contextmanager
def assert_queries(expected: int, label: str = "") -> Iterator[Counted]:
    """Exactly `expected` queries in the block, and `expected` within the budget."""
    assert expected <= MAX_QUERIES, f"{label}: a budget of {expected} queries is over the limit of {MAX_QUERIES}"
    with counting() as counted:
        yield counted
    assert len(counted) == expected, f"{label}: expected {expected} queries, ran {len(counted)}:\n{counted.listing()}"
