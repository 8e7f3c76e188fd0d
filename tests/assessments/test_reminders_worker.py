"""Reminders and the daily digest on the production path: the beat's tasks sent through Redis to a
real Celery worker whose clock is moved forward (PostgreSQL + Redis pass only)."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import Digest, EmailStatus, Notification
from tests.assessments.test_reminders import action, at, cited_evidence
from tests.worker import Mailbox, on_production_services, start_worker, stop_worker, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


def _finished(log, task: str, count: int, timeout: float = 30) -> list[str]:
    """The results of the first `count` runs of `task` the worker finished, as its log prints them."""
    pattern = re.compile(rf"Task {re.escape(task)}\[[^\]]+\] succeeded in [0-9.e-]+s: (.*)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        results = pattern.findall(log.read_text())
        if len(results) >= count:
            return results
        time.sleep(0.2)
    raise AssertionError(f"{task} did not finish {count} times:\n{log.read_text()[-3000:]}")


def test_reminders_and_the_digest_fire_once_on_a_real_worker_with_the_clock_moved_forward(
    tenant, assessment, tmp_path
) -> None:
    if not on_production_services():
        pytest.skip("needs a real Celery worker on Redis and PostgreSQL: runs in the PostgreSQL + Redis pass")
    from portal.celery import app
    from portal.tasks import send_digest_email

    today = timezone.localdate()
    action(assessment, tenant.manager, today + timedelta(days=30))
    cited_evidence(assessment, tenant.manager, today + timedelta(days=40))
    # Far off: no reminder for the rep, only the notification that it was given to them (daily summary).
    action(assessment, tenant.rep, today + timedelta(days=200), code="1.5")
    # 25 days on, at 08:10 in London: the action is due in 5 days, the evidence expires in 15 (its 30-day mark).
    moment = at(today + timedelta(days=25), 8, 10)

    queue = f"portal-remind-{uuid.uuid4().hex[:8]}"
    mail_folder = tmp_path / "mail"
    mail_folder.mkdir()
    log = tmp_path / "worker.log"
    process = start_worker(
        queue, log=log, env=worker_env(mail_folder, CELERY_TASK_DEFAULT_QUEUE=queue), clock=moment.isoformat()
    )
    app.conf.task_always_eager = False
    try:
        # As the beat sends them: by name, no arguments; each twice (the next hour, a duplicated message).
        for _ in range(2):
            app.send_task("portal.tasks.run_reminders", queue=queue)
        runs = _finished(log, "portal.tasks.run_reminders", 2)
        assert sorted(runs) == [
            "{'actions': 0, 'evidence': 0, 'plan_reviews': 0, 'technology': 0}",
            "{'actions': 1, 'evidence': 2, 'plan_reviews': 0, 'technology': 0}",
        ]
        for _ in range(2):
            app.send_task("portal.tasks.make_digests", queue=queue)
        assert sorted(_finished(log, "portal.tasks.make_digests", 2)) == ["0", "3"]
        _finished(log, "portal.tasks.send_digest_email", 3)

        digests = {d.recipient_id: d for d in Digest.objects.all()}
        assert set(digests) == {tenant.manager.pk, tenant.owner.pk, tenant.rep.pk}
        assert {d.status for d in digests.values()} == {EmailStatus.SENT}
        assert digests[tenant.manager.pk].local_date == moment.date()

        # A duplicated delivery of a digest's task sends nothing more.
        send_digest_email.apply_async(kwargs={"digest_id": str(digests[tenant.manager.pk].pk)}, queue=queue)
        assert _finished(log, "portal.tasks.send_digest_email", 4)[-1] == "'not-claimed'"
    finally:
        app.conf.task_always_eager = True
        stop_worker(process)

    sent = Mailbox(mail_folder).messages()
    assert sorted(m.to[0] for m in sent) == sorted([tenant.manager.email, tenant.owner.email, tenant.rep.email])
    mine = next(m for m in sent if m.to == [tenant.manager.email])
    assert mine.subject == "Your daily summary: 2 things in Acme Precision Engineering"
    assert "Fix 1.4" in mine.text and "Cobot risk assessment" in mine.text
    raw = "".join(p.read_text() for p in mail_folder.glob("*.log"))
    assert raw.count("List-Unsubscribe-Post: List-Unsubscribe=One-Click") == 3
    assert list(Notification.objects.filter(recipient=tenant.rep).values_list("kind", flat=True)) == ["action_assigned"]
    assert Notification.objects.filter(digested_at__isnull=True).count() == 0
    assert "Traceback" not in log.read_text()
