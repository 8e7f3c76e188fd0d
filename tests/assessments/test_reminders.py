"""Reminders (actions due and overdue, evidence expiring) and the daily digest, in-process on both databases.

The beat's tasks are run as the beat runs them (no scope, `.apply()`), with the clock moved by time-machine.
Emails go after commit: `django_capture_on_commit_callbacks(execute=True)` runs them, and without it an
email row stays pending, as it does between the commit and the worker.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from assessments import services
from assessments.models import ActionStatus
from portal.digests import digest_unsubscribe_url, read_digest_unsubscribe_token
from portal.models import Delivery, Digest, EmailStatus, Notification, Outbox
from portal.notifications import notify, preferences, set_preference
from portal.roles import Role
from portal.tasks import make_digests, run_reminders, send_outbox_email
from tests.assessments.conftest import PDF, responses_by_code
from tests.factories import OrganisationFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db


LONDON = ZoneInfo("Europe/London")


def at(day: date, hour: int, minute: int = 30, zone: ZoneInfo = LONDON) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def reminders_of(user, kind: str | None = None) -> list[Notification]:
    qs = Notification.objects.filter(recipient=user).order_by("created_at")
    return list(qs.filter(kind=kind) if kind else qs)


def action(assessment, owner, due: date, code: str = "1.4"):
    response = responses_by_code(assessment)[code]
    return services.action_item_create(
        response=response, actor=assessment.created_by, title=f"Fix {code}", owner=owner, due_date=due
    )


def mark_done(item, actor) -> None:
    services.action_item_update(
        item=item, actor=actor, title=item.title, owner=item.owner, due_date=item.due_date, status=ActionStatus.DONE
    )


def cited_evidence(assessment, actor, expiry: date, code: str = "1.1"):
    evidence = services.evidence_upload(
        organisation=assessment.organisation,
        actor=actor,
        file=io.BytesIO(PDF),
        name="Risk assessment.pdf",
        description="Cobot risk assessment",
        effective_date=expiry - timedelta(days=365),
        expiry_date=expiry,
    )
    services.response_save(
        response=responses_by_code(assessment)[code],
        actor=actor,
        maturity=2,
        narrative="Done with the safety rep.",
        evidence_ids=[evidence.pk],
    )
    return evidence


@pytest.fixture
def other_org_action(framework):
    """An action in another organisation, due as soon: its reminder is for its own owner only."""
    organisation = OrganisationFactory(name="Northern Castings")
    owner = UserFactory(email="owner@northern.example")
    add_member(organisation, owner, Role.OWNER)
    other = services.assessment_create(
        organisation=organisation,
        actor=owner,
        framework=framework,
        title="Northern 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    return action(other, owner, timezone.localdate() + timedelta(days=3)), owner


# --- Actions ----------------------------------------------------------------------------------------


def test_an_action_due_within_seven_days_reminds_its_owner_once_and_nobody_else(
    tenant, assessment, other_org_action
) -> None:
    today = timezone.localdate()
    mine = action(assessment, tenant.manager, today + timedelta(days=5))
    action(assessment, tenant.rep, today + timedelta(days=20), code="1.5")  # not yet within 7 days
    northern, northern_owner = other_org_action

    assert run_reminders.apply().get()["actions"] == 2
    [reminder] = reminders_of(tenant.manager)
    assert reminder.kind == "action_due" and reminder.delivery == Delivery.DIGEST
    assert reminder.dedupe_key == f"action_due:{mine.pk}:{mine.due_date}:7d"
    assert reminder.organisation == tenant.organisation
    assert "Fix 1.4" in reminder.text and "Acme Precision Engineering" in reminder.text
    assert reminder.url == f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/actions/{mine.pk}/"
    for person in (tenant.owner, tenant.rep, tenant.auditor, tenant.member):
        assert reminders_of(person, "action_due") == []  # the rep was told of the action given to them, no more
    [theirs] = reminders_of(northern_owner, "action_due")
    assert theirs.organisation_id == northern.organisation_id and "Northern Castings" in theirs.text

    # The next hour, and a duplicated task, make nothing more.
    assert run_reminders.apply().get()["actions"] == 0
    assert run_reminders.apply().get()["actions"] == 0
    assert len(reminders_of(tenant.manager)) == 1


def test_an_overdue_action_reminds_again_once_and_a_done_one_never(tenant, assessment) -> None:
    today = timezone.localdate()
    late = action(assessment, tenant.manager, today + timedelta(days=2))
    finished = action(assessment, tenant.manager, today + timedelta(days=1), code="1.5")
    mark_done(finished, tenant.manager)
    run_reminders.apply()
    assert [n.dedupe_key.split(":")[-1] for n in reminders_of(tenant.manager)] == ["7d"]

    with time_machine.travel(at(today + timedelta(days=3), 9), tick=False):
        assert run_reminders.apply().get()["actions"] == 1
        assert run_reminders.apply().get()["actions"] == 0
    keys = [n.dedupe_key for n in reminders_of(tenant.manager)]
    assert keys == [f"action_due:{late.pk}:{late.due_date}:7d", f"action_due:{late.pk}:{late.due_date}:overdue"]
    assert "overdue" in reminders_of(tenant.manager)[-1].text

    mark_done(late, tenant.manager)
    with time_machine.travel(at(today + timedelta(days=10), 9), tick=False):
        assert run_reminders.apply().get()["actions"] == 0


def test_a_reminder_emailed_straight_away_is_dropped_when_its_action_is_done_before_it_goes(tenant, assessment) -> None:
    set_preference(user=tenant.manager, kind="action_due", delivery=Delivery.IMMEDIATE)
    today = timezone.localdate()
    sent_one = action(assessment, tenant.manager, today + timedelta(days=4))
    dropped_one = action(assessment, tenant.manager, today + timedelta(days=6), code="1.5")
    run_reminders.apply()  # the emails' tasks are published after commit: here they stay pending
    emails = {n.target_id: n.email for n in reminders_of(tenant.manager)}
    assert {e.status for e in emails.values()} == {EmailStatus.PENDING}

    mark_done(dropped_one, tenant.manager)
    org = str(tenant.organisation.pk)
    dropped = emails[str(dropped_one.pk)]
    assert send_outbox_email.apply(kwargs={"organisation_id": org, "email_id": str(dropped.pk)}).get() == "dropped"
    assert not Outbox.objects.filter(pk=dropped.pk).exists()
    assert mail.outbox == []

    kept = emails[str(sent_one.pk)]
    assert send_outbox_email.apply(kwargs={"organisation_id": org, "email_id": str(kept.pk)}).get() == "sent"
    [message] = mail.outbox
    assert message.to == [tenant.manager.email] and "Fix 1.4" in message.subject
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A duplicated delivery of the same task sends nothing more.
    assert send_outbox_email.apply(kwargs={"organisation_id": org, "email_id": str(kept.pk)}).get() == "not-claimed"
    assert len(mail.outbox) == 1


def test_a_reminder_for_an_action_given_to_someone_else_is_dropped(tenant, assessment) -> None:
    set_preference(user=tenant.manager, kind="action_due", delivery=Delivery.IMMEDIATE)
    item = action(assessment, tenant.manager, timezone.localdate() + timedelta(days=4))
    run_reminders.apply()
    [reminder] = reminders_of(tenant.manager)
    services.action_item_update(
        item=item, actor=tenant.owner, title=item.title, owner=tenant.owner, due_date=item.due_date, status="open"
    )
    kwargs = {"organisation_id": str(tenant.organisation.pk), "email_id": str(reminder.email_id)}
    assert send_outbox_email.apply(kwargs=kwargs).get() == "dropped"
    run_reminders.apply()
    reminded = Notification.objects.filter(kind="action_due").order_by("created_at")
    assert [n.recipient for n in reminded] == [tenant.manager, tenant.owner]


# --- Evidence -----------------------------------------------------------------------------------


def test_evidence_cited_by_current_work_reminds_owners_and_managers_at_30_14_and_1_days(
    tenant, assessment, outsider
) -> None:
    today = timezone.localdate()
    expiry = today + timedelta(days=40)
    evidence = cited_evidence(assessment, tenant.manager, expiry)
    uncited = services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name="Old.pdf",
        description="Not cited anywhere",
        effective_date=today - timedelta(days=300),
        expiry_date=expiry,
    )
    assert run_reminders.apply().get()["evidence"] == 0  # 40 days off

    for days_before, threshold in ((30, "30d"), (20, None), (14, "14d"), (3, None), (1, "1d")):
        with time_machine.travel(at(expiry - timedelta(days=days_before), 9), tick=False):
            made = run_reminders.apply().get()["evidence"]
            assert made == (2 if threshold else 0), (days_before, made)
            if threshold:
                key = f"evidence_expiring:{evidence.pk}:{expiry}:{threshold}"
                assert sorted(n.recipient.email for n in Notification.objects.filter(dedupe_key=key)) == sorted(
                    [tenant.owner.email, tenant.manager.email]
                )
    for person in (tenant.rep, tenant.auditor, tenant.member, outsider):
        assert reminders_of(person) == []
    assert not Notification.objects.filter(target_id=str(uncited.pk)).exists()
    [first] = reminders_of(tenant.owner)[:1]
    assert "Cobot risk assessment" in first.text
    assert first.url == f"/o/{tenant.organisation.slug}/evidence/{evidence.pk}/"


def test_evidence_first_seen_inside_14_days_gets_one_reminder_not_the_missed_30_day_one(tenant, assessment) -> None:
    expiry = timezone.localdate() + timedelta(days=10)
    evidence = cited_evidence(assessment, tenant.manager, expiry)
    run_reminders.apply()
    assert [n.dedupe_key for n in reminders_of(tenant.manager)] == [f"evidence_expiring:{evidence.pk}:{expiry}:14d"]


def test_evidence_no_longer_cited_is_not_reminded_and_its_waiting_reminder_is_dropped_from_the_digest(
    tenant, assessment
) -> None:
    today = timezone.localdate()
    expiry = today + timedelta(days=20)
    cited_evidence(assessment, tenant.manager, expiry)
    run_reminders.apply()
    assert len(reminders_of(tenant.owner, "evidence_expiring")) == 1
    # A current version replaces it: the answer now cites the new file only.
    newer = cited_evidence(assessment, tenant.manager, today + timedelta(days=700))
    assert newer.expiry_date > expiry
    with time_machine.travel(at(today + timedelta(days=1), 8), tick=False), captured_emails() as sent:
        assert make_digests.apply().get() == 0  # nothing left to say
        assert run_reminders.apply().get()["evidence"] == 0
    assert sent() == []
    assert all(n.digested_at is not None for n in reminders_of(tenant.owner))


# --- The daily digest ---------------------------------------------------------------------------


class captured_emails:
    """Run after-commit callbacks (the digests' tasks) and collect what was emailed meanwhile."""

    def __enter__(self):
        from django.db import connections

        self.start = len(mail.outbox)
        self.callbacks = connections["default"]
        self.before = len(self.callbacks.run_on_commit)
        return lambda: mail.outbox[self.start :]

    def __exit__(self, *exc) -> None:
        connection = self.callbacks
        # As TestCase.captureOnCommitCallbacks(execute=True): run what this block queued, in order.
        while len(connection.run_on_commit) > self.before:
            _sids, callback, _robust = connection.run_on_commit.pop(self.before)
            callback()


def tomorrow_at(hour: int, zone: ZoneInfo = LONDON, minute: int = 30) -> datetime:
    """A morning after what the test makes now, even when a time zone ahead of London is asked for."""
    return at(timezone.localdate() + timedelta(days=2), hour, minute, zone)


def comment_for(user, organisation, text: str, key: str) -> Notification:
    [made] = notify(
        kind="comment",
        recipients=[user],
        organisation=organisation,
        actor=None,
        text=text,
        url=f"/o/{organisation.slug}/",
        key=key,
    )
    return made


def test_the_digest_goes_at_eight_in_the_morning_once_grouped_by_organisation(tenant, outsider) -> None:
    northern = outsider.memberships.get().organisation
    add_member(northern, tenant.manager, Role.MANAGER)
    comment_for(tenant.manager, tenant.organisation, "Rachel Reid commented on principle 2", "c1")
    comment_for(tenant.manager, northern, "Nia Northcott commented on the plan", "c2")
    comment_for(tenant.manager, tenant.organisation, "Rachel Reid replied on principle 4", "c3")
    comment_for(tenant.owner, tenant.organisation, "Someone else's news", "c4")

    with time_machine.travel(tomorrow_at(7, minute=59), tick=False), captured_emails() as sent:
        assert make_digests.apply().get() == 0  # not yet 08:00 in London
    assert sent() == []
    with time_machine.travel(tomorrow_at(8, minute=5), tick=False), captured_emails() as sent:
        assert make_digests.apply().get() == 2  # the manager's and the owner's
        assert make_digests.apply().get() == 0  # the same hour again, or a duplicated task
    mine = [m for m in sent() if m.to == [tenant.manager.email]]
    assert len(mine) == 1 and len(sent()) == 2
    message = mine[0]
    assert message.subject == "Your daily summary: 3 things on the Made Smarter Portal"
    text = message.body
    acme, north = text.index("Acme Precision Engineering"), text.index("Northern Castings")
    assert acme < text.index("principle 2") < text.index("principle 4") < north < text.index("the plan")
    assert f"/o/{tenant.organisation.slug}/" in text and "Someone else's news" not in text
    html = message.alternatives[0][0]
    assert "Rachel Reid commented on principle 2</a>" in html and "Someone else" not in html
    link = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert read_digest_unsubscribe_token(link.rstrip("/").rsplit("/", 1)[-1]) == tenant.manager
    assert link in text
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/account/notifications/" in text
    assert all(n.digested_at is not None for n in reminders_of(tenant.manager))
    digest = Digest.objects.get(recipient=tenant.manager)
    assert (digest.status, digest.count, digest.attempts) == (EmailStatus.SENT, 3, 1)

    # Nothing new: the next morning sends nothing.
    with time_machine.travel(tomorrow_at(8) + timedelta(days=1), tick=False), captured_emails() as sent:
        assert make_digests.apply().get() == 0
    assert sent() == []


def test_the_digest_follows_the_persons_time_zone(tenant) -> None:
    tenant.rep.time_zone = "Asia/Tokyo"
    tenant.rep.save(update_fields=["time_zone"])
    comment_for(tenant.rep, tenant.organisation, "For Tokyo", "t")
    comment_for(tenant.manager, tenant.organisation, "For London", "l")
    tokyo = ZoneInfo("Asia/Tokyo")

    morning_in_tokyo = tomorrow_at(8, tokyo)  # 23:30 or 00:30 in London: nobody else's morning
    with time_machine.travel(morning_in_tokyo, tick=False), captured_emails() as sent:
        assert make_digests.apply().get() == 1
    assert [m.to for m in sent()] == [[tenant.rep.email]]
    assert Digest.objects.get().local_date == morning_in_tokyo.date()

    with time_machine.travel(tomorrow_at(8, LONDON) - timedelta(hours=2), tick=False), captured_emails() as sent:
        assert make_digests.apply().get() == 0  # 06:30 in London
    with time_machine.travel(tomorrow_at(8, LONDON), tick=False), captured_emails() as sent:
        assert make_digests.apply().get() == 1
    assert [m.to for m in sent()] == [[tenant.manager.email]]
    # The afternoon is too late to start a morning's digest: it waits for the next morning.
    comment_for(tenant.manager, tenant.organisation, "Later news", "l2")
    with time_machine.travel(tomorrow_at(14, LONDON) + timedelta(days=1), tick=False):
        assert make_digests.apply().get() == 0


def test_the_digest_leaves_out_kinds_emailed_straight_away_or_off(tenant) -> None:
    set_preference(user=tenant.manager, kind="report_ready", delivery=Delivery.DIGEST)
    set_preference(user=tenant.manager, kind="signature_requested", delivery=Delivery.OFF)
    notify(
        kind="signature_requested",
        recipients=[tenant.manager],
        organisation=tenant.organisation,
        actor=None,
        text="Sign this",
        url="/",
        key="s",
    )
    notify(
        kind="changes_requested",
        recipients=[tenant.manager],
        organisation=tenant.organisation,
        actor=None,
        text="Change that",
        url="/",
        key="x",
    )
    comment_for(tenant.manager, tenant.organisation, "Switched off since", "c")
    notify(
        kind="report_ready",
        recipients=[tenant.manager],
        organisation=tenant.organisation,
        actor=None,
        text="Your report is ready",
        url="/",
        key="r",
    )
    set_preference(user=tenant.manager, kind="comment", delivery=Delivery.OFF)  # after it was made
    with time_machine.travel(tomorrow_at(8), tick=False), captured_emails() as sent:
        assert make_digests.apply().get() == 1
    [message] = [m for m in sent() if "daily summary" in m.subject]
    assert "Your report is ready" in message.body
    for left_out in ("Sign this", "Change that", "Switched off since"):
        assert left_out not in message.body
    assert Digest.objects.get().count == 1


def test_a_reminder_waiting_for_the_digest_is_dropped_when_its_action_is_done(tenant, assessment) -> None:
    item = action(assessment, tenant.manager, timezone.localdate() + timedelta(days=3))
    run_reminders.apply()
    assert reminders_of(tenant.manager, "action_due")[0].delivery == Delivery.DIGEST
    mark_done(item, tenant.manager)
    with time_machine.travel(tomorrow_at(8), tick=False), captured_emails() as sent:
        assert make_digests.apply().get() == 0
    assert sent() == [] and not Digest.objects.exists()


# --- The digest's one-click unsubscribe ---------------------------------------------------------


def test_the_digest_unsubscribe_link_switches_the_summary_off_without_signing_in(tenant) -> None:
    comment_for(tenant.manager, tenant.organisation, "Waiting for tomorrow", "w")
    url = digest_unsubscribe_url(tenant.manager).split("8000", 1)[-1]
    page = Client().get(url)
    assert page.status_code == 200 and "Stop the daily summary" in page.content.decode()
    assert preferences(tenant.manager)["comment"] == Delivery.DIGEST  # a GET changes nothing

    # RFC 8058: the mail provider POSTs with no cookie and no CSRF token.
    done = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "The daily summary is stopped" in done.content.decode()
    chosen = preferences(tenant.manager)
    assert Delivery.DIGEST not in chosen.values()
    assert chosen["comment"] == Delivery.OFF and chosen["signature_requested"] == Delivery.IMMEDIATE
    assert preferences(tenant.owner)["comment"] == Delivery.DIGEST  # nobody else's
    with time_machine.travel(tomorrow_at(8), tick=False), captured_emails() as sent:
        assert make_digests.apply().get() == 0
    assert sent() == []


def test_a_forged_or_altered_digest_unsubscribe_link_does_nothing(tenant) -> None:
    from django.core import signing

    url = digest_unsubscribe_url(tenant.manager).split("8000", 1)[-1]
    token = url.rstrip("/").rsplit("/", 1)[-1]
    forged = signing.dumps({"u": tenant.owner.pk, "d": 1}, salt="another.salt", compress=True)
    kind_token = signing.dumps({"u": tenant.owner.pk, "k": "comment"}, salt="portal.notifications.unsubscribe")
    for bad in (token[:-2] + "xx", forged, kind_token):
        response = Client().post(f"/notifications/daily-summary/unsubscribe/{bad}/")
        assert response.status_code == 404
    assert preferences(tenant.owner)["comment"] == Delivery.DIGEST
    assert preferences(tenant.manager)["comment"] == Delivery.DIGEST


def test_digest_emails_are_claimed_so_a_duplicate_task_sends_nothing(tenant) -> None:
    from portal.tasks import send_digest_email, sweep_digests

    comment_for(tenant.manager, tenant.organisation, "Once only", "o")
    with time_machine.travel(tomorrow_at(8), tick=False):
        make_digests.apply()  # its send task is published after commit: not run here
        digest = Digest.objects.get()
        assert digest.status == EmailStatus.PENDING
        assert send_digest_email.apply(kwargs={"digest_id": str(digest.pk)}).get() == "sent"
        assert send_digest_email.apply(kwargs={"digest_id": str(digest.pk)}).get() == "not-claimed"
    assert len(mail.outbox) == 1
    # A digest whose task was lost is sent by the sweep, once.
    comment_for(tenant.manager, tenant.organisation, "Lost in Redis", "l")
    with time_machine.travel(tomorrow_at(8) + timedelta(days=1), tick=False):
        make_digests.apply()
    lost = Digest.objects.get(status=EmailStatus.PENDING)
    with time_machine.travel(tomorrow_at(8, minute=40) + timedelta(days=1), tick=False), captured_emails() as sent:
        assert sweep_digests.apply().get() == 1
        assert sweep_digests.apply().get() == 0
    assert [m.subject for m in sent()] == ["Your daily summary: 1 thing in Acme Precision Engineering"]
    lost.refresh_from_db()
    assert lost.status == EmailStatus.SENT


def test_scans_run_with_no_scope_and_leave_tenant_scopes_alone(tenant, assessment, no_scope) -> None:
    with scope(organisation=tenant.organisation):
        action(assessment, tenant.manager, timezone.localdate() + timedelta(days=1))
    assert run_reminders.apply().get() == {"actions": 1, "evidence": 0, "plan_reviews": 0, "technology": 0}


# --- Plans due for review -----------------------------------------------------------------------------


def final_plan(tenant, title: str = "Cobots on line 3"):
    from assessments.models import Plan
    from tests.assessments.test_plans import new_plan, sign, submitted

    plan = submitted(new_plan(tenant, title), tenant)
    sign(plan, tenant.rep)
    sign(plan, tenant.owner)
    with scope(organisation=tenant.organisation):
        return Plan.objects.select_related("organisation").get(pk=plan.pk)


def test_a_plan_due_for_review_reminds_owners_and_managers_once_then_again_when_overdue(tenant, outsider) -> None:
    from assessments import plans

    plan = final_plan(tenant)
    today = timezone.localdate()
    assert run_reminders.apply().get()["plan_reviews"] == 0  # a year away (the default)
    plan = plans.plan_review_due_set(plan=plan, actor=tenant.owner, review_due=today + timedelta(days=25))
    assert run_reminders.apply().get()["plan_reviews"] == 2
    for person in (tenant.owner, tenant.manager):
        [reminder] = reminders_of(person, "plan_review_due")
        assert reminder.dedupe_key == f"plan_review_due:{plan.pk}:{plan.review_due}:30d"
        assert "“Cobots on line 3”" in reminder.text and "due for review on" in reminder.text
        assert reminder.url == f"/o/{tenant.organisation.slug}/plans/{plan.pk}/"
    for person in (tenant.rep, tenant.member, tenant.auditor, outsider):
        assert reminders_of(person, "plan_review_due") == []
    assert run_reminders.apply().get()["plan_reviews"] == 0  # the next hour: nothing new

    with time_machine.travel(at(today + timedelta(days=27), 9), tick=False):
        assert run_reminders.apply().get()["plan_reviews"] == 2
        assert run_reminders.apply().get()["plan_reviews"] == 0
    keys = sorted(n.dedupe_key.rsplit(":", 1)[-1] for n in reminders_of(tenant.owner, "plan_review_due"))
    assert keys == ["30d", "overdue"]


def test_a_plan_review_reminder_stops_once_a_new_version_is_started(tenant) -> None:
    from assessments import plans

    set_preference(user=tenant.manager, kind="plan_review_due", delivery=Delivery.IMMEDIATE)
    plan = plans.plan_review_due_set(
        plan=final_plan(tenant), actor=tenant.owner, review_due=timezone.localdate() + timedelta(days=3)
    )
    run_reminders.apply()  # the email's task is published after commit: here it stays pending
    [reminder] = reminders_of(tenant.manager, "plan_review_due")
    assert reminder.email.status == EmailStatus.PENDING
    plans.plan_amend(plan=plan, actor=tenant.owner)  # the review starts: version 2
    org = str(tenant.organisation.pk)
    assert send_outbox_email.apply(kwargs={"organisation_id": org, "email_id": str(reminder.email_id)}).get() == (
        "dropped"
    )
    assert mail.outbox == []
    with time_machine.travel(at(timezone.localdate() + timedelta(days=5), 9), tick=False):
        assert run_reminders.apply().get()["plan_reviews"] == 0  # overdue, but under review: no reminder
