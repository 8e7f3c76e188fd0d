"""The one task base class: ids in, published after commit, run inside the organisation's scope."""

from __future__ import annotations

import uuid
from typing import Any

from celery import Task
from django.conf import settings
from django.db import transaction
from django_scopes import scope, scopes_disabled

from portal.logging import current_request_id, request_id_var


class TenantTask(Task):
    """Tasks take JSON-safe ids only.

    A task declared with ``tenant=True`` is called with ``organisation_id=...``; it receives the
    reloaded ``organisation`` instead and runs inside that tenant's scope. Other tasks (sweeps)
    run with no scope and must enter one explicitly for tenant work.
    """

    tenant = False
    # A slow task (``after_response=True``): without a worker (eager mode), published during a request
    # it runs in a background thread after the response instead of inside it (portal.background).
    after_response = False
    # Callers pass organisation_id; the body receives organisation, so Celery's signature check
    # at publish time would reject valid calls.
    typing = False

    def retry_countdown(self, attempts: int) -> int:
        """Seconds before the next try after `attempts` failed ones: exponential backoff.

        PORTAL_TASK_RETRY_SECONDS after the first failure, doubling on each one after that, never
        more than PORTAL_TASK_RETRY_MAX_SECONDS. The task body decides what is worth retrying and
        records each failure on its row; on a worker it then calls ``self.retry(countdown=...)``.
        """
        seconds = settings.PORTAL_TASK_RETRY_SECONDS * 2 ** max(0, attempts - 1)
        return int(min(settings.PORTAL_TASK_RETRY_MAX_SECONDS, seconds))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        token = request_id_var.set(self._request_id())
        try:
            if not self.tenant:
                return self.run(*args, **kwargs)
            from portal.models import Organisation

            organisation_id = kwargs.pop("organisation_id")
            with scopes_disabled():
                organisation = Organisation.objects.filter(pk=organisation_id).first()
            if organisation is None:
                return None  # the organisation was deleted after the task was queued
            with scope(organisation=organisation):
                return self.run(*args, organisation=organisation, **kwargs)
        finally:
            request_id_var.reset(token)

    def _request_id(self) -> str:
        headers = getattr(self.request, "headers", None) or {}
        return headers.get("portal_request_id") or f"task-{(self.request.id or uuid.uuid4().hex)[:12]}"

    def publish(self, **kwargs: Any) -> None:
        """Enqueue after the current transaction commits (immediately when none is open)."""
        for key, value in kwargs.items():
            if not isinstance(value, str | int | float | bool | type(None) | list | dict):
                raise TypeError(f"Task argument {key} must be JSON-safe, got {type(value).__name__}")
        request_id = current_request_id()

        def send() -> None:
            self.apply_async(kwargs=kwargs, headers={"portal_request_id": request_id})

        if self._runs_after_response(request_id):
            from portal.background import run_in_background

            transaction.on_commit(lambda: run_in_background(send))
        else:
            transaction.on_commit(send)

    def _runs_after_response(self, request_id: str) -> bool:
        """Eager mode only (a worker already runs everything apart), and only when someone waits for a
        response: commands and tasks that publish go on running the task in line, as before."""
        return (
            self.after_response
            and bool(self.app.conf.task_always_eager)
            and settings.PORTAL_EAGER_TASKS_IN_BACKGROUND
            and request_id != "-"
        )
