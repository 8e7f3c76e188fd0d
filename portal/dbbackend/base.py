"""Django's PostgreSQL backend, plus the tenant context of portal.rls on every query."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.backends.postgresql import base

from portal import rls

_TRANSACTION_CONTROL = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")


class DatabaseWrapper(base.DatabaseWrapper):
    """Before each query, make the transaction's RLS context match the django-scopes state.

    The context applied in the current transaction is remembered, so a request that stays in one
    scope pays one ``set_config`` for its whole transaction. Anything that ends the transaction or
    may undo the setting (commit, rollback, a savepoint rolled back, a new connection) forgets it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rls_applied: rls.Context | None = None
        self.execute_wrappers.append(self._with_tenant_context)

    def _with_tenant_context(self, execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if sql.startswith(_TRANSACTION_CONTROL):
            # Savepoints carry no rows, and ROLLBACK TO runs in a failed transaction that would refuse
            # a set_config: leave them alone.
            return execute(sql, params, many, context)
        wanted = rls.current_context()
        if self.get_autocommit():
            if wanted == rls.NOTHING:
                return execute(sql, params, many, context)  # no setting at all: the policies fail closed
            # A statement on its own: give it a transaction so the local setting covers it.
            with transaction.atomic(using=self.alias):
                rls.apply(self, wanted)
                self.rls_applied = wanted
                return execute(sql, params, many, context)
        if self.rls_applied != wanted:
            rls.apply(self, wanted)
            self.rls_applied = wanted
        return execute(sql, params, many, context)

    def _forget(self) -> None:
        self.rls_applied = None

    def connect(self) -> None:
        self._forget()
        super().connect()

    def _commit(self) -> Any:
        self._forget()
        return super()._commit()  # type: ignore[misc]

    def _rollback(self) -> Any:
        self._forget()
        return super()._rollback()  # type: ignore[misc]

    def _savepoint_rollback(self, sid: str) -> Any:
        result = super()._savepoint_rollback(sid)  # type: ignore[misc]
        self._forget()  # the rollback may have undone a set_config made after the savepoint
        return result

    def _close(self) -> Any:
        self._forget()
        return super()._close()  # type: ignore[misc]
