"""The new technology agreement's clocks find people: "Your work" lists each system whose clock needs
someone (notice to give, a committee meeting due or late, a go-live inside the notice period) for the
owners, managers and representatives of its organisation, and the hourly reminders (which first run the
daily sweep of the clocks) tell the same people once per threshold, and stop once it is dealt with."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils.formats import date_format
from django_scopes import scopes_disabled

from assessments import technology
from assessments.models import TechnologySystem
from portal.dashboard import awaiting_count, awaiting_items
from portal.models import Notification
from portal.reminders import still_applying
from portal.roles import Role
from portal.selectors import memberships_of_user
from portal.tasks import run_reminders
from tests.assessments.test_technology import agreement_in_force, register, reload
from tests.factories import OrganisationFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)
LONDON = ZoneInfo("Europe/London")


def morning(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 30, tzinfo=LONDON)


def day(value: date) -> str:
    return date_format(value, "j F Y")


def system_url(system: TechnologySystem) -> str:
    return f"/o/{system.organisation.slug}/technology/{system.pk}/"


def items(user) -> list:
    """The person's "Your work" items of this kind; the navigation's count agrees with the whole list."""
    found = awaiting_items(user, memberships_of_user(user))
    assert awaiting_count(user, memberships_of_user(user)) == len(found)
    return [i for i in found if i.kind == "technology"]


def lines(user) -> list[tuple[str, str, str]]:
    return [(i.title, i.action, i.detail) for i in items(user)]


def both_sides(tenant) -> tuple:
    return tenant.owner, tenant.manager, tenant.rep


def reminders_of(user) -> list[Notification]:
    with scopes_disabled():
        return list(Notification.objects.filter(recipient=user, kind="technology_clock").order_by("created_at"))


def thresholds(user) -> list[str]:
    return [n.dedupe_key.rsplit(":", 1)[-1] for n in reminders_of(user)]


# --- "Your work" ------------------------------------------------------------------------------------


def test_notice_to_give_is_on_your_work_for_both_sides_and_nobody_else(tenant, outsider) -> None:
    with time_machine.travel(morning(TODAY), tick=False):
        register(tenant, name="Before the agreement", go_live_on=TODAY + timedelta(days=120))
        for person in (*both_sides(tenant), tenant.member, tenant.auditor):
            assert items(person) == []  # no agreement in force: no clocks
        agreement_in_force(tenant)
        system = reload(register(tenant, go_live_on=TODAY + timedelta(days=120)))
        give_by = TODAY + timedelta(days=30)
        for person in both_sides(tenant):
            found = [i for i in items(person) if i.title == system.name]
            [item] = found
            assert item.action == "Give notice of the new technology"
            assert item.detail == (
                f"Give notice to the representatives by {day(give_by)} for go-live on {day(system.go_live_on)}"
            )
            assert item.due == give_by and item.organisation == tenant.organisation
            assert item.url == system_url(system)
        for person in (tenant.member, tenant.auditor, outsider):
            assert items(person) == []


def test_the_committee_meeting_is_due_then_late_then_gone_once_held(tenant) -> None:
    with time_machine.travel(morning(TODAY), tick=False):
        agreement_in_force(tenant)
        system = register(tenant, go_live_on=TODAY + timedelta(days=120))
        technology.notice_record(system=system, actor=tenant.manager, notice_given_on=TODAY, committee_met_on=None)
        due = TODAY + timedelta(days=14)
        for person in both_sides(tenant):
            assert lines(person) == [
                (
                    system.name,
                    "Hold the joint technology committee meeting",
                    f"The joint technology committee is due to meet by {day(due)}",
                )
            ]
    with time_machine.travel(morning(TODAY + timedelta(days=15)), tick=False):
        [item] = items(tenant.rep)
        assert item.detail == f"The joint technology committee was due to meet by {day(due)}"
        assert item.is_overdue(TODAY + timedelta(days=15))
        technology.notice_record(
            system=reload(system),
            actor=tenant.manager,
            notice_given_on=TODAY,
            committee_met_on=TODAY + timedelta(days=15),
        )
        for person in both_sides(tenant):
            assert items(person) == []


def test_a_go_live_inside_the_notice_period_asks_to_move_it_until_it_is_moved(tenant) -> None:
    with time_machine.travel(morning(TODAY), tick=False):
        agreement_in_force(tenant)
        system = register(tenant, go_live_on=TODAY + timedelta(days=120))
        technology.notice_record(system=system, actor=tenant.manager, notice_given_on=TODAY, committee_met_on=TODAY)
        early = TODAY + timedelta(days=45)
        technology.system_update(system=reload(system), actor=tenant.manager, values={"go_live_on": early})
        for person in both_sides(tenant):
            assert lines(person) == [
                (
                    system.name,
                    "Move the go-live date or agree it",
                    f"Go-live on {day(early)} is inside the notice period: move it or agree it",
                )
            ]
        technology.system_update(
            system=reload(system), actor=tenant.manager, values={"go_live_on": TODAY + timedelta(days=95)}
        )
        assert items(tenant.owner) == []


def test_each_person_sees_only_their_own_organisations_systems_and_the_count_agrees(tenant, framework) -> None:
    other = OrganisationFactory(name="Bravo Foundry")
    both = UserFactory(email="both@example.com")
    add_member(tenant.organisation, both, Role.WORKFORCE_REP)
    add_member(other, both, Role.MEMBER)  # a member of Bravo: not a side of its agreement
    bravo_owner = UserFactory(email="owner@bravo.example")
    add_member(other, bravo_owner, Role.OWNER)
    bravo_rep = UserFactory(email="rep@bravo.example")
    add_member(other, bravo_rep, Role.WORKFORCE_REP)
    bravo = type(tenant)(
        organisation=other, owner=bravo_owner, manager=bravo_owner, rep=bravo_rep, auditor=None, member=None
    )
    with time_machine.travel(morning(TODAY), tick=False):
        agreement_in_force(tenant)
        ours = [register(tenant, name=f"Acme system {n}", go_live_on=TODAY + timedelta(days=100 + n)) for n in (1, 2)]
        agreement_in_force(bravo)
        register(bravo, name="Bravo scheduler", go_live_on=TODAY + timedelta(days=100))
        assert sorted(i.title for i in items(both)) == [s.name for s in ours]
        assert [i.title for i in items(bravo_owner)] == ["Bravo scheduler"]
        assert [i.title for i in items(tenant.owner)] == [s.name for s in ours]
    with scopes_disabled():
        assert TechnologySystem.objects.exclude(attention="").count() == 3


# --- Reminders ---------------------------------------------------------------------------------------


def test_reminders_tell_both_sides_once_per_threshold_as_the_calendar_moves(tenant, outsider) -> None:
    with time_machine.travel(morning(TODAY), tick=False):
        agreement_in_force(tenant)
        system = register(tenant, go_live_on=TODAY + timedelta(days=120))  # notice by TODAY + 30
        assert run_reminders.apply().get()["technology"] == 0  # 30 days off: not yet
    with time_machine.travel(morning(TODAY + timedelta(days=16)), tick=False):
        assert run_reminders.apply().get()["technology"] == 3  # within 14 days: owner, manager, rep
        assert run_reminders.apply().get()["technology"] == 0  # the next hour: nothing new
    for person in both_sides(tenant):
        [reminder] = reminders_of(person)
        assert reminder.dedupe_key == f"technology_clock:{system.pk}:{TODAY + timedelta(days=30)}:notice_14d"
        assert f"Notice of “{system.name}” in {tenant.organisation.name} is due to the representatives" in reminder.text
        assert reminder.url == system_url(system)
    for person in (tenant.member, tenant.auditor, outsider):
        assert reminders_of(person) == []

    notice_on = TODAY + timedelta(days=16)
    with time_machine.travel(morning(notice_on), tick=False):
        technology.notice_record(
            system=reload(system), actor=tenant.manager, notice_given_on=notice_on, committee_met_on=None
        )
        # Notice given: the notice reminder no longer applies; the meeting (in 14 days) is not yet near.
        assert still_applying(reminders_of(tenant.owner)) == set()
        assert run_reminders.apply().get()["technology"] == 0
    with time_machine.travel(morning(notice_on + timedelta(days=8)), tick=False):
        assert run_reminders.apply().get()["technology"] == 3  # the meeting is due within 7 days
        assert run_reminders.apply().get()["technology"] == 0
    with time_machine.travel(morning(notice_on + timedelta(days=15)), tick=False):
        assert run_reminders.apply().get()["technology"] == 3  # late (and the sweep records the breach)
        assert run_reminders.apply().get()["technology"] == 0
    assert thresholds(tenant.rep) == ["notice_14d", "meeting_7d", "meeting_late"]
    late = reminders_of(tenant.rep)[-1]
    assert "was due to meet on" in late.text and late.pk in still_applying([late])
    with scopes_disabled():
        from portal.models import AuditEvent

        assert AuditEvent.objects.filter(verb="technology.clock_breached", target_id=str(system.pk)).count() == 1

    with time_machine.travel(morning(notice_on + timedelta(days=16)), tick=False):
        technology.notice_record(
            system=reload(system),
            actor=tenant.manager,
            notice_given_on=notice_on,
            committee_met_on=notice_on + timedelta(days=16),
        )
        assert still_applying(reminders_of(tenant.rep)) == set()  # held: nothing is still owed
        assert run_reminders.apply().get()["technology"] == 0


def test_a_breach_is_reminded_once_and_stops_when_go_live_moves_out_of_the_notice_period(tenant) -> None:
    with time_machine.travel(morning(TODAY), tick=False):
        agreement_in_force(tenant)
        system = register(tenant, go_live_on=TODAY + timedelta(days=120))
        technology.notice_record(system=system, actor=tenant.manager, notice_given_on=TODAY, committee_met_on=TODAY)
        technology.system_update(
            system=reload(system), actor=tenant.manager, values={"go_live_on": TODAY + timedelta(days=40)}
        )
        assert run_reminders.apply().get()["technology"] == 3
        assert run_reminders.apply().get()["technology"] == 0
        [reminder] = reminders_of(tenant.owner)
        assert reminder.dedupe_key.endswith(":breach") and "inside the notice period" in reminder.text
        assert still_applying([reminder]) == {reminder.pk}
        technology.system_update(
            system=reload(system), actor=tenant.manager, values={"go_live_on": TODAY + timedelta(days=90)}
        )
        assert still_applying([reminder]) == set()
        assert run_reminders.apply().get()["technology"] == 0


def test_the_sweep_runs_with_the_reminders_so_notice_never_given_becomes_a_breach(tenant) -> None:
    with time_machine.travel(morning(TODAY), tick=False):
        agreement_in_force(tenant)
        system = register(tenant, go_live_on=TODAY + timedelta(days=100))  # notice by TODAY + 10
    with time_machine.travel(morning(TODAY + timedelta(days=11)), tick=False):
        assert reload(system).attention == "notice"  # as the last change left it
        run_reminders.apply()
        assert reload(system).attention == "breach"  # the scan swept the clocks first
        assert thresholds(tenant.manager) == ["breach"]
        [item] = items(tenant.manager)
        assert item.action == "Move the go-live date or agree it"
