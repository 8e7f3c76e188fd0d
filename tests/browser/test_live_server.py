"""The server the browser tests talk to answers a browser's simultaneous requests on both databases.

A browser loads a page, its htmx calls and the favicon at once. On the embedded database (one
in-memory SQLite connection shared with the test) requests that overlapped broke that connection and
every later test of the process failed with it (CI, 2026-12-07): tests/conftest.py serialises the
live server there.
"""

from __future__ import annotations

import threading

import pytest
import requests


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_all_answer_and_leave_the_database_usable(tenant, live_server) -> None:
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def browse(index: int) -> None:
        session = requests.Session()
        start.wait()
        for _ in range(10):
            # The sign-in page reads the session and writes a CSRF cookie; the unknown path runs the
            # whole middleware stack (tenancy, the header's state) before its 404.
            path = "/accounts/login/" if index % 2 else "/favicon-that-is-not-there.ico"
            response = session.get(live_server.url + path, timeout=30)
            with lock:
                statuses.append(response.status_code)

    threads = [threading.Thread(target=browse, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(statuses) == 80
    assert sorted(set(statuses)) == [200, 404], statuses
    # The test's own connection still works (a broken one raises TransactionManagementError here).
    tenant.organisation.refresh_from_db()
