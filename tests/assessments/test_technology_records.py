"""The technology register in the organisation's records: technology.json in the organisation export (every
system with its links and DPIAs, every agreement with its clauses and who signed it) and the audit trail
in sentences for every technology verb, naming the system or the agreement, never a key or an id."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import time_machine
from django.core.serializers.json import DjangoJSONEncoder
from django_scopes import scope

from assessments import plans, technology
from assessments.data_protection import technology_rows
from portal.activity import activity_lines, looks_like_an_id, with_subject_titles
from portal.models import AuditEvent
from tests.assessments.test_technology import agreement_in_force, register, reload

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)


def rows(organisation) -> list[dict]:
    with scope(organisation=organisation):
        found = technology_rows(organisation)
    return json.loads(json.dumps(found, cls=DjangoJSONEncoder))  # as the export writes it


def test_the_export_holds_every_system_with_its_links_and_dpia_and_every_agreement_signed(
    tenant, outsider, framework
) -> None:
    with time_machine.travel(TODAY, tick=False):
        agreement = agreement_in_force(tenant, notice_days=60)
        system = register(tenant, go_live_on=TODAY + timedelta(days=30), sites="Leeds", teams="Line 3")
        technology.notice_record(system=system, actor=tenant.manager, notice_given_on=TODAY, committee_met_on=None)
        dpia = technology.dpia_start(system=reload(system), actor=tenant.manager)
        plan = plans.plan_create(
            organisation=tenant.organisation, actor=tenant.manager, kind="digitalisation", title="P"
        )
        code = framework.criteria.order_by("position").first().code
        technology.links_set(system=reload(system), actor=tenant.manager, plan_ids=[plan.pk], criterion_codes=[code])
        technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA 2027")
    outsiders = outsider.memberships.first().organisation
    technology.system_create(organisation=outsiders, actor=outsider, values={"name": "Their secret system"})

    found = rows(tenant.organisation)
    [exported] = [r for r in found if r["type"] == "system"]
    assert exported["name"] == system.name and exported["sites"] == "Leeds" and exported["teams"] == "Line 3"
    assert exported["monitors_people"] is True and exported["decisions"] == ["performance"]
    assert exported["go_live_on"] == str(TODAY + timedelta(days=30))
    assert exported["notice_given_on"] == str(TODAY) and exported["committee_met_on"] is None
    assert exported["attention"] == "breach"  # go-live inside the 60 days' notice
    assert exported["breaches_recorded"] == reload(system).breaches_recorded != []
    assert exported["links"] == {"plans": [str(plan.pk)], "criteria": [code], "evidence": []}
    assert exported["dpia_ids"] == [str(dpia.pk)]
    assert exported["created_by"]["email"] == tenant.manager.email

    in_force, draft = [r for r in found if r["type"] == "agreement"]
    assert (in_force["version"], in_force["status"], in_force["in_force_on"]) == (1, "in_force", str(TODAY))
    assert in_force["content_hash"] == in_force["current_hash"]
    notice = next(c for c in in_force["clauses"] if c["key"] == "notice")
    assert notice["days"] == 60 and "{days}" in notice["text"]
    assert [c["position"] for c in in_force["clauses"]] == list(range(1, len(in_force["clauses"]) + 1))
    signed = {s["capacity"]: s for s in in_force["signatures"]}
    assert set(signed) == {"management", "workforce"} and all(s["counts"] for s in signed.values())
    assert signed["workforce"]["signer"]["email"] == tenant.rep.email
    assert (draft["version"], draft["status"], draft["signatures"]) == (2, "draft", [])
    assert str(agreement.pk) == in_force["id"]
    assert "Their secret system" not in json.dumps(found)
    assert len(rows(outsiders)) == 1


def sentences(organisation) -> list[str]:
    with scope(organisation=organisation):
        events = with_subject_titles(
            AuditEvent.objects.filter(organisation=organisation).select_related("actor").order_by("-sequence")
        )
        return [line.sentence for line in activity_lines(events)][::-1]


def test_every_technology_event_reads_as_a_sentence(tenant) -> None:
    manager, rep = tenant.manager.display_name, tenant.rep.display_name
    with time_machine.travel(TODAY, tick=False):
        agreement_in_force(tenant, notice_days=60)  # adapted from the library's 90 days
        system = register(tenant, go_live_on=TODAY + timedelta(days=120))
        technology.system_update(system=reload(system), actor=tenant.manager, values={"supplier_name": "Other Ltd"})
        technology.notice_record(
            system=reload(system), actor=tenant.manager, notice_given_on=TODAY, committee_met_on=None
        )
        technology.notice_record(system=reload(system), actor=tenant.rep, notice_given_on=TODAY, committee_met_on=TODAY)
        technology.links_set(system=reload(system), actor=tenant.manager)
        technology.system_update(
            system=reload(system), actor=tenant.manager, values={"go_live_on": TODAY + timedelta(days=30)}
        )
        draft = technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA 2027")
        technology.agreement_delete(agreement=draft, actor=tenant.manager)
        removed = register(tenant, name="Typo system")
        technology.system_delete(system=reload(removed), actor=tenant.manager)
    text = sentences(tenant.organisation)
    name = f"“{system.name}”"
    expected = [
        f"{manager} drafted the new technology agreement “NTA (version 1)”",
        f"{manager} changed the words of the new technology agreement “NTA (version 1)”",
        f"{manager} signed the new technology agreement “NTA (version 1)” for management",
        f"{rep} countersigned the new technology agreement “NTA (version 1)” for the workforce",
        f"{rep} gave the last signature: the new technology agreement “NTA (version 1)” is in force",
        f"{manager} registered the system {name} in the technology register",
        f"{manager} changed the system {name} in the technology register: supplier",
        f"{manager} recorded that notice of {name} was given to the representatives on 2 March 2026",
        f"{rep} recorded that the joint technology committee met on {name} on 2 March 2026",
        f"{manager} changed the system {name} in the technology register: go-live date",
        f"The new technology agreement was breached on the system {name}: Go-live on 1 April 2026 is inside the "
        "notice period: notice was given on 2 March 2026, so not before 1 May 2026",
        f"{manager} drafted the new technology agreement “NTA 2027 (version 2)”",
        f"{manager} discarded the draft new technology agreement “NTA 2027 (version 2)”",
        f"{manager} registered the system “Typo system” in the technology register",
        f"{manager} removed the system “Typo system” from the technology register",
    ]
    for sentence in expected:
        assert sentence in text, (sentence, text)
    assert f"{manager} changed the plans, criteria and evidence the system {name} is linked to" not in text  # no change
    assert not any(looks_like_an_id(s) or "technology." in s for s in text), text
