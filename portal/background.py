"""Slow in-process tasks after the response, when no worker is configured (no REDIS_URL).

Without a broker, Celery runs a task where it is published ("eager"). For a slow task published
during a request (rendering a report, building an export) that kept the person waiting seconds
for the response, and the page's own progress display never showed. Here such a task is handed to
one daemon thread, in order, after the request's transaction commits: the response goes out at
once and the page polls the task's row as it would with a worker.

The thread opens its own database connections and closes them after each task (SQLite and
PostgreSQL alike); tenant tasks enter their organisation's scope themselves (portal.tasking).
At interpreter exit (a development server reloading, a process stopping) queued tasks are finished
first, so none is lost half way.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

_queue: queue.Queue[Callable[[], object]] = queue.Queue()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def run_in_background(work: Callable[[], object]) -> None:
    """Queue `work` for the background thread, starting the thread on first use in this process."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_work_forever, name="portal-background-tasks", daemon=True)
            _thread.start()
    _queue.put(work)


def wait_until_idle(timeout: float | None = None) -> bool:
    """Wait until every queued task has run; False if `timeout` seconds passed first."""
    done = threading.Event()

    def waiter() -> None:
        _queue.join()
        done.set()

    threading.Thread(target=waiter, daemon=True).start()
    return done.wait(timeout)


def _work_forever() -> None:
    from django.db import connections

    while True:
        work = _queue.get()
        try:
            work()
        except Exception:
            # The task has recorded its failure on its row (status, error); this is for the log.
            logger.exception("background task failed")
        finally:
            connections.close_all()
            _queue.task_done()


@atexit.register
def _finish_queued_tasks() -> None:
    if _thread is not None and _thread.is_alive() and _queue.unfinished_tasks:
        logger.info("finishing %s background task(s) before exit", _queue.unfinished_tasks)
        _queue.join()
