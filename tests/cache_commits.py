"""Cache versions in tests that run inside the test case's transaction (`django_db` without
`transaction=True`): `portal.versions.bump` takes effect at commit, and there such a test never commits.

The `bumps_at_commit` fixture makes each bump take effect when the write that made it would have
committed: when the outermost atomic block that is not the test case's own exits without error (a
service's `transaction.atomic()`, a request's ATOMIC_REQUESTS), or at once when the write runs outside
any such block (autocommit). A bump inside a block that rolls back never takes effect (Django drops its
callback with the savepoint). Only the bumps are run early: every other on-commit callback (tasks,
emails) waits as before.

The suite uses it for every test (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

_MARK = "_portal_version_bump"


def _at_test_level(connection: Any) -> bool:
    return all(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _run_marked(connection: Any) -> None:
    pending = [entry for entry in connection.run_on_commit if getattr(entry[1], _MARK, False)]
    if not pending:
        return
    connection.run_on_commit = [entry for entry in connection.run_on_commit if entry not in pending]
    for _sids, func, _robust in pending:
        func()


@pytest.fixture(autouse=True)
def bumps_at_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    import portal.versions

    class Shim:
        def __getattr__(self, name: str) -> Any:
            return getattr(transaction, name)

        @staticmethod
        def on_commit(func: Any, using: str | None = None, robust: bool = False) -> None:
            connection = transaction.get_connection(using)
            if not connection.in_atomic_block or _at_test_level(connection):
                func()  # autocommit: the write is committed already
                return
            setattr(func, _MARK, True)
            transaction.on_commit(func, using=using, robust=robust)

    original_exit = transaction.Atomic.__exit__

    def exit_(self: Any, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
        result = original_exit(self, exc_type, exc_value, traceback)
        connection = transaction.get_connection(self.using)
        if exc_type is None and not self._from_testcase and connection.in_atomic_block and _at_test_level(connection):
            _run_marked(connection)
        return result

    monkeypatch.setattr(portal.versions, "transaction", Shim())
    monkeypatch.setattr(transaction.Atomic, "__exit__", exit_)
