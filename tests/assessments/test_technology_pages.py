"""Technology register and new technology agreement pages, as each role uses them: the register (search,
status filter, pages), registering and changing a system, its clocks and breach banner, notice, links, its
DPIA, deletion; drafting, adapting and signing the agreement; who may do what, other tenants' ids, and
every page within the query budget as the data grows."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments import plans, services, technology
from assessments.models import AgreementStatus, Plan, PlanKind, TechnologyAgreement, TechnologySystem
from portal.models import Signature
from tests.assessments.conftest import PDF
from tests.assessments.test_technology import agreement_in_force, register
from tests.conftest import client_for
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


def url(tenant, tail: str = "") -> str:
    return f"/o/{tenant.organisation.slug}/technology/{tail}"


def body(response) -> str:
    return response.content.decode()


def system_values(**overrides) -> dict[str, object]:
    values = {
        "name": "Badge reader",
        "supplier_name": "Gatekeeper Ltd",
        "purpose": "Opens the gates",
        "sites": "Leeds",
        "teams": "Line 3",
        "status": "planned",
        "go_live_on": "",
        "worker_data": "Badge-in times",
        "monitors_people": "yes",
        "decisions": ["allocation"],
    }
    values.update(overrides)
    return values


def draft_agreement(tenant) -> TechnologyAgreement:
    return technology.agreement_create(organisation=tenant.organisation, actor=tenant.manager, title="NTA")


def get_system(name: str) -> TechnologySystem:
    with scopes_disabled():
        return TechnologySystem.objects.get(name=name)


# --- The register ----------------------------------------------------------------------------------------


def test_the_register_lists_searches_filters_and_pages(tenant) -> None:
    register(tenant, name="Rostering", supplier_name="ShiftCo", status="live")
    register(tenant, name="Cell display", purpose="Output per cell", status="planned")
    register(tenant, name="Canteen tills", worker_data="", monitors_people=False, decisions=[], status="live")
    owner = client_for(tenant.owner)
    page = body(owner.get(url(tenant)))
    assert "3 systems" in page and "Register a system" in page
    assert "Needed, not started" in page and "Not needed" in page
    searched = body(owner.get(url(tenant, "?q=shiftco")))
    assert "Rostering" in searched and "Cell display" not in searched
    assert "Output per cell" not in searched
    assert "Cell display" in body(owner.get(url(tenant, "?q=per+cell")))
    live = body(owner.get(url(tenant, "?status=live")))
    assert "Rostering" in live and "Canteen tills" in live and "Cell display" not in live
    nothing = body(owner.get(url(tenant, "?q=zzz")))
    assert "No systems match" in nothing and "Clear the search" in nothing
    # Pages of 50, the search kept in the page links.
    for i in range(50):
        register(tenant, name=f"Sensor {i:02d}", status="live")
    first = body(owner.get(url(tenant, "?status=live")))
    assert "52 systems" in first and "status=live&amp;page=2" in first
    assert "Sensor 49" in body(owner.get(url(tenant, "?status=live&page=2")))


def test_every_role_reads_the_register_and_only_editors_change_it(tenant) -> None:
    system = register(tenant)
    for user in (tenant.owner, tenant.manager, tenant.rep, tenant.auditor, tenant.member):
        client = client_for(user)
        assert client.get(url(tenant)).status_code == 200
        page = client.get(url(tenant, f"{system.pk}/"))
        assert page.status_code == 200
        editor = user in (tenant.owner, tenant.manager)
        assert ("Register a system" in body(client.get(url(tenant)))) is editor
        assert ("Start the DPIA" in body(page)) is editor
        for tail in (
            "new/",
            f"{system.pk}/edit/",
            f"{system.pk}/notice/",
            f"{system.pk}/links/",
            f"{system.pk}/delete/",
        ):
            got = client.get(url(tenant, tail)).status_code
            assert got == (200 if editor else 403), (user.email, tail, got)
        if not editor:
            assert client.post(url(tenant, "new/"), system_values(name="Sneaky")).status_code == 403
            assert client.post(url(tenant, f"{system.pk}/dpia/")).status_code == 403
            assert client.post(url(tenant, f"{system.pk}/delete/")).status_code == 403
    with scopes_disabled():
        assert TechnologySystem.objects.count() == 1 and not Plan.objects.exists()


def test_an_empty_register_says_what_it_is_for(tenant) -> None:
    page = body(client_for(tenant.manager).get(url(tenant)))
    assert "Your register is empty" in page and "Register a system" in page
    assert "An owner or manager registers systems" in body(client_for(tenant.rep).get(url(tenant)))


def test_registering_a_system_points_at_bad_input_and_keeps_it(tenant) -> None:
    manager = client_for(tenant.manager)
    bad = manager.post(url(tenant, "new/"), system_values(name="", go_live_on="31/02/2026", supplier_name="Keep me"))
    assert bad.status_code == 200
    page = body(bad)
    assert "<title>Error:" in page and "There is a problem" in page
    assert "Enter the system&#x27;s name" in page and "Enter a real date" in page
    assert 'value="Keep me"' in page and "Badge-in times" in page
    done = manager.post(url(tenant, "new/"), system_values(go_live_on="2026-09-01"))
    system = get_system("Badge reader")
    assert done.status_code == 302 and done["Location"] == url(tenant, f"{system.pk}/")
    assert system.monitors_people and system.decisions == ["allocation"]
    detail = body(manager.get(done["Location"]))
    assert "Badge reader is in the register." in detail and "Allocation of work" in detail
    duplicate = manager.post(url(tenant, "new/"), system_values())
    assert duplicate.status_code == 200 and "already in your register" in body(duplicate)
    # Changing it: the form starts from what is registered.
    edit = body(manager.get(url(tenant, f"{system.pk}/edit/")))
    assert 'value="Badge reader"' in edit and 'value="2026-09-01"' in edit
    changed = manager.post(url(tenant, f"{system.pk}/edit/"), system_values(status="retired", monitors_people="no"))
    assert changed.status_code == 302
    system = get_system("Badge reader")
    assert system.status == "retired" and not system.monitors_people


def test_notice_is_recorded_and_the_clocks_show_on_the_system(tenant) -> None:
    today = timezone.localdate()
    agreement_in_force(tenant, notice_days=90, meeting_days=14)
    system = register(tenant, go_live_on=today + timedelta(days=200))
    manager = client_for(tenant.manager)
    page = body(manager.get(url(tenant, f"{system.pk}/")))
    assert "Notice before introduction (90 days)" in page and "tag--yellow" in page and "Give notice by" in page
    future = manager.post(
        url(tenant, f"{system.pk}/notice/"), {"notice_given_on": (today + timedelta(days=3)).isoformat()}
    )
    assert future.status_code == 200 and "cannot be in the future" in body(future)
    ok = manager.post(url(tenant, f"{system.pk}/notice/"), {"notice_given_on": today.isoformat()})
    assert ok.status_code == 302
    page = body(manager.get(url(tenant, f"{system.pk}/")))
    assert "Joint technology committee meeting (within 14 days)" in page
    assert "The committee is due to meet by" in page and "tag--blue" in page  # notice running


def test_a_go_live_inside_the_notice_period_shows_a_red_banner(tenant) -> None:
    today = timezone.localdate()
    agreement_in_force(tenant, notice_days=90)
    system = register(tenant, go_live_on=today + timedelta(days=10))
    page = body(client_for(tenant.member).get(url(tenant, f"{system.pk}/")))
    assert "notification-banner--warning" in page and "Breach of the new technology agreement" in page
    assert "is inside the notice period" in page
    listing = body(client_for(tenant.member).get(url(tenant)))
    assert "Breach" in listing and "tag--red" in listing


def test_the_dpia_starts_from_the_system_page_and_links_back(tenant) -> None:
    system = register(tenant)
    manager = client_for(tenant.manager)
    assert client_for(tenant.manager).get(url(tenant, f"{system.pk}/dpia/")).status_code == 405
    started = manager.post(url(tenant, f"{system.pk}/dpia/"))
    with scopes_disabled():
        dpia = Plan.objects.get(system=system)
    assert dpia.kind == PlanKind.DPIA
    assert started.status_code == 302 and started["Location"] == f"/o/{tenant.organisation.slug}/plans/{dpia.pk}/"
    plan_page = body(manager.get(started["Location"]))
    assert "Assesses the system" in plan_page and url(tenant, f"{system.pk}/") in plan_page
    page = body(manager.get(url(tenant, f"{system.pk}/")))
    assert "Start the DPIA" not in page and f"/plans/{dpia.pk}/equality/" in page
    again = manager.post(url(tenant, f"{system.pk}/dpia/"), follow=True)
    assert "already has a data-protection impact assessment" in body(again)
    assert "Draft" in body(manager.get(url(tenant)))  # the DPIA's state in the register
    # An auditor sees the DPIA's state but opens it only once final.
    auditor_page = body(client_for(tenant.auditor).get(url(tenant, f"{system.pk}/")))
    assert f"/plans/{dpia.pk}/" not in auditor_page and "(shown once final)" in auditor_page


def test_a_system_without_worker_data_needs_no_dpia(tenant) -> None:
    system = register(tenant, worker_data="", monitors_people=False, decisions=[])
    page = body(client_for(tenant.manager).get(url(tenant, f"{system.pk}/")))
    assert "Not needed" in page and "Start the DPIA" not in page


def test_links_to_plans_criteria_and_evidence_are_chosen_on_a_page(tenant, framework) -> None:
    system = register(tenant)
    plan = plans.plan_create(
        organisation=tenant.organisation, actor=tenant.manager, kind="digitalisation", title="Cobots"
    )
    evidence = services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name="consultation.pdf",
        description="Minutes",
        effective_date=timezone.localdate(),
        expiry_date=None,
    )
    code = framework.criteria.order_by("position").first().code
    manager = client_for(tenant.manager)
    form = body(manager.get(url(tenant, f"{system.pk}/links/")))
    assert "Cobots (version 1)" in form and "consultation.pdf" in form and code in form
    bad = manager.post(url(tenant, f"{system.pk}/links/"), {"plans": ["not-a-plan"]})
    assert bad.status_code == 200 and "Select a valid choice" in body(bad)
    done = manager.post(
        url(tenant, f"{system.pk}/links/"),
        {"plans": [str(plan.pk)], "criteria": [code], "evidence": [str(evidence.pk)]},
    )
    assert done.status_code == 302
    page = body(manager.get(url(tenant, f"{system.pk}/")))
    assert "Cobots" in page and code in page and "consultation.pdf" in page
    assert f"/evidence/{evidence.pk}/" in page
    # A member sees the file's name, not a link to the library.
    assert f"/evidence/{evidence.pk}/" not in body(client_for(tenant.member).get(url(tenant, f"{system.pk}/")))
    again = body(manager.get(url(tenant, f"{system.pk}/links/")))
    assert re.search(rf'value="{plan.pk}"[^>]*checked', again)


def test_removing_a_system_asks_first_and_one_with_a_dpia_stays(tenant) -> None:
    typo = register(tenant, name="Typo")
    manager = client_for(tenant.manager)
    confirm = body(manager.get(url(tenant, f"{typo.pk}/delete/")))
    assert "Remove Typo from the register?" in confirm and "Yes, remove it" in confirm
    assert manager.post(url(tenant, f"{typo.pk}/delete/")).status_code == 302
    with scopes_disabled():
        assert not TechnologySystem.objects.filter(pk=typo.pk).exists()
    kept = register(tenant, name="Kept")
    technology.dpia_start(system=kept, actor=tenant.manager)
    page = body(manager.get(url(tenant, f"{kept.pk}/delete/")))
    assert "Kept stays in the register" in page and "Yes, remove it" not in page
    refused = manager.post(url(tenant, f"{kept.pk}/delete/"))
    assert refused.status_code == 400 and "Mark it retired instead" in body(refused)
    assert "<title>Error:" in body(refused)
    with scopes_disabled():
        assert TechnologySystem.objects.filter(pk=kept.pk).exists()


def test_other_organisations_ids_are_404(tenant, outsider) -> None:
    other_org = outsider.memberships.first().organisation
    theirs = technology.system_create(organisation=other_org, actor=outsider, values={"name": "Theirs"})
    their_agreement = technology.agreement_create(organisation=other_org, actor=outsider, title="Theirs")
    owner = client_for(tenant.owner)
    for tail in ("", "edit/", "notice/", "links/", "delete/"):
        assert owner.get(url(tenant, f"{theirs.pk}/{tail}")).status_code == 404, tail
    assert owner.post(url(tenant, f"{theirs.pk}/dpia/")).status_code == 404
    assert owner.post(url(tenant, f"{theirs.pk}/delete/")).status_code == 404
    for tail in ("edit/", "sign/", "delete/"):
        assert owner.get(url(tenant, f"agreement/{their_agreement.pk}/{tail}")).status_code == 404, tail
    assert owner.post(url(tenant, f"agreement/{their_agreement.pk}/delete/")).status_code == 404
    # And the outsider gets 404 for the tenant's own pages.
    mine = register(tenant)
    outsider_client = client_for(outsider)
    assert outsider_client.get(url(tenant)).status_code == 404
    assert outsider_client.get(url(tenant, f"{mine.pk}/")).status_code == 404
    with scopes_disabled():
        assert TechnologySystem.objects.filter(pk=theirs.pk).exists()
        assert TechnologyAgreement.objects.filter(pk=their_agreement.pk).exists()


# --- The agreement -----------------------------------------------------------------------------------------


def _hash(page: str) -> str:
    return re.search(r'name="content_hash" value="([0-9a-f]{64})"', page).group(1)


def test_the_agreement_is_drafted_adapted_and_signed_through_the_pages(tenant) -> None:
    rep, manager = client_for(tenant.rep), client_for(tenant.manager)
    empty = body(rep.get(url(tenant, "agreement/")))
    assert "No agreement yet" in empty and "Draft the agreement" in empty
    form = body(rep.get(url(tenant, "agreement/new/")))
    assert form.count('name="clauses"') == len(technology.CLAUSE_LIBRARY) and form.count("checked") == len(
        technology.CLAUSE_LIBRARY
    )
    none = rep.post(url(tenant, "agreement/new/"), {"title": "NTA"})
    assert none.status_code == 200 and "Choose at least one clause" in body(none)
    created = rep.post(
        url(tenant, "agreement/new/"), {"title": "NTA 2026", "clauses": ["notice", "committee", "experts"]}
    )
    with scopes_disabled():
        agreement = TechnologyAgreement.objects.get()
    assert created.status_code == 302 and created["Location"] == url(tenant, f"agreement/{agreement.pk}/edit/")
    assert rep.get(url(tenant, "agreement/new/")).status_code == 302  # one draft at a time

    # Adapting: errors land at the right clause, even after a removed one, and nothing typed is lost.
    edit = body(rep.get(created["Location"]))
    assert "Clause 1: Notice before introduction" in edit and "{days}" in edit and 'value="90"' in edit
    with scope(organisation=tenant.organisation):
        clauses = list(agreement.clauses.order_by("position"))
    data = {"title": "NTA 2026"}
    for n, clause in enumerate(clauses, start=1):
        data[f"clause_{n}_title"], data[f"clause_{n}_text"] = clause.title, clause.text
        if clause.days is not None:
            data[f"clause_{n}_days"] = str(clause.days)
    bad = dict(data)
    bad["clause_1_remove"] = "on"
    bad["clause_2_text"] = "The committee meets soon."  # the number of days is missing from the words
    bad["clause_3_title"] = ""
    bad["clause_4_title"] = "Canteen screens"  # the new row, with no words
    response = rep.post(created["Location"], bad)
    page = body(response)
    assert response.status_code == 200 and "There is a problem" in page
    assert re.search(r'id="id_clause_2_text_error">.*?Clause 2: keep', page, re.S)
    assert re.search(r'id="id_clause_3_title_error">.*?Clause 3: enter a heading', page, re.S)
    assert re.search(r'id="id_clause_4_text_error">.*?Clause 4: enter its wording', page, re.S)
    assert "The committee meets soon." in page and 'value="Canteen screens"' in page
    good = dict(data)
    good["clause_1_days"] = "60"
    good["clause_3_remove"] = "on"
    good["clause_4_title"], good["clause_4_text"] = "Canteen screens", "No output screens in rest areas."
    assert rep.post(created["Location"], good).status_code == 302
    with scope(organisation=tenant.organisation):
        assert [c.title for c in agreement.clauses.order_by("position")] == [
            "Notice before introduction",
            "Joint technology committee",
            "Canteen screens",
        ]
        assert technology.periods(agreement).notice_days == 60

    # Signing: the full words, the statement, and a stale page refused.
    sign_page = body(manager.get(url(tenant, f"agreement/{agreement.pk}/sign/")))
    assert "at least 60 days before" in sign_page and "For the management of" in sign_page
    stale_hash = _hash(sign_page)
    technology.agreement_update(
        agreement=agreement,
        actor=tenant.rep,
        title="NTA 2026",
        clauses=[technology.ClauseInput(c.title, c.text, c.key, c.days) for c in agreement.clauses.all()][:2],
    )
    stale = manager.post(
        url(tenant, f"agreement/{agreement.pk}/sign/"), {"typed_name": "Mo Manager", "content_hash": stale_hash}
    )
    assert stale.status_code == 400 and "The agreement changed while you were reading it" in body(stale)
    assert "Canteen screens" not in body(stale)  # the page shows the words as they are now
    assert not Signature.objects.filter(subject_type="agreement").exists()
    for client, name in ((manager, "Mo Manager"), (rep, "Rae Rep")):
        page = body(client.get(url(tenant, f"agreement/{agreement.pk}/sign/")))
        missing = client.post(url(tenant, f"agreement/{agreement.pk}/sign/"), {"content_hash": _hash(page)})
        assert missing.status_code == 400 and "Type your full name to sign" in body(missing)
        signed = client.post(
            url(tenant, f"agreement/{agreement.pk}/sign/"),
            {"typed_name": name, "job_title": "Convenor", "content_hash": _hash(page)},
        )
        assert signed.status_code == 302
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.IN_FORCE
    page = body(rep.get(url(tenant, "agreement/")))
    assert "In force" in page and "Mo Manager" in page and "Rae Rep" in page and "Start a new version" in page
    assert rep.get(url(tenant, f"agreement/{agreement.pk}/sign/")).status_code == 302  # no longer a draft
    assert rep.get(url(tenant, f"agreement/{agreement.pk}/edit/")).status_code == 302

    # A new version copies the clauses in force.
    form = body(manager.get(url(tenant, "agreement/new/")))
    assert 'name="clauses"' not in form and 'value="NTA 2026"' in form
    assert manager.post(url(tenant, "agreement/new/"), {"title": "NTA 2027"}).status_code == 302
    with scopes_disabled():
        second = TechnologyAgreement.objects.get(version=2)
        assert second.clauses.count() == 2
    page = body(manager.get(url(tenant, "agreement/")))
    assert "Draft of the next version (version 2)" in page and "NTA 2026" in page


def test_only_each_side_signs_for_itself_and_members_cannot_negotiate(tenant) -> None:
    agreement = draft_agreement(tenant)
    member, auditor = client_for(tenant.member), client_for(tenant.auditor)
    for client in (member, auditor):
        assert client.get(url(tenant, "agreement/")).status_code == 200
        for tail in ("new/", f"{agreement.pk}/edit/", f"{agreement.pk}/sign/", f"{agreement.pk}/delete/"):
            assert client.get(url(tenant, f"agreement/{tail}")).status_code == 403, tail
    # Auditors see signed agreements only.
    assert "Draft: version 1" in body(member.get(url(tenant, "agreement/")))
    assert "Draft: version 1" not in body(auditor.get(url(tenant, "agreement/")))
    rep_page = body(client_for(tenant.rep).get(url(tenant, "agreement/")))
    assert "Sign for the workforce" in rep_page and "Sign for management" not in rep_page
    owner_page = body(client_for(tenant.owner).get(url(tenant, "agreement/")))
    assert "Sign for management" in owner_page
    sign = body(client_for(tenant.rep).get(url(tenant, f"agreement/{agreement.pk}/sign/")))
    assert "As a workforce representative of" in sign


def test_a_draft_is_deleted_after_confirmation(tenant) -> None:
    agreement = draft_agreement(tenant)
    rep = client_for(tenant.rep)
    confirm = body(rep.get(url(tenant, f"agreement/{agreement.pk}/delete/")))
    assert "Delete the draft" in confirm and "8 clauses" in confirm
    assert rep.post(url(tenant, f"agreement/{agreement.pk}/delete/")).status_code == 302
    with scopes_disabled():
        assert not TechnologyAgreement.objects.exists()
    in_force = agreement_in_force(tenant)
    assert rep.get(url(tenant, f"agreement/{in_force.pk}/delete/")).status_code == 302
    assert rep.post(url(tenant, f"agreement/{in_force.pk}/delete/")).status_code == 302
    with scopes_disabled():
        assert TechnologyAgreement.objects.filter(pk=in_force.pk).exists()


def test_the_navigation_links_to_the_register(tenant) -> None:
    page = body(client_for(tenant.member).get(f"/o/{tenant.organisation.slug}/"))
    assert f'href="{url(tenant)}"' in page and ">Technology<" in page


# --- Query budgets -------------------------------------------------------------------------------------------


def _grow(tenant, n: int) -> None:
    """More systems (with DPIAs and links), plans, evidence and agreement versions."""
    for i in range(n):
        system = register(tenant, name=f"System {n}-{i}", go_live_on=timezone.localdate() + timedelta(days=5))
        dpia = technology.dpia_start(system=system, actor=tenant.manager)
        plan = plans.plan_create(
            organisation=tenant.organisation, actor=tenant.manager, kind="digitalisation", title=f"Plan {n}-{i}"
        )
        evidence = services.evidence_upload(
            organisation=tenant.organisation,
            actor=tenant.manager,
            file=io.BytesIO(PDF),
            name=f"e{n}-{i}.pdf",
            description="x",
            effective_date=timezone.localdate(),
            expiry_date=None,
        )
        technology.links_set(
            system=system, actor=tenant.manager, plan_ids=[plan.pk, dpia.pk], evidence_ids=[evidence.pk]
        )


# Every tenant page pays 3: the user, the user's memberships with their organisations, the "Your work"
# count. Then each page's own reads.
PAGES = {
    # + the count, the page of systems, their DPIAs
    "": 6,
    "?q=System&status=planned": 6,
    "new/": 3,
    # + the system, its latest DPIA, the agreement in force and its clauses, the links
    "{s}/": 8,
    # + the system
    "{s}/edit/": 4,
    "{s}/notice/": 4,
    # + the system
    "{s}/delete/": 5,
    # + the system, its links, the plans, the evidence, the criteria
    "{s}/links/": 8,
    # + the agreements, their clauses, their signatures, the draft's words
    "agreement/": 7,
    # + the draft (none), the agreement in force and its clauses
    "agreement/new/": 6,
    # + the agreement, its clauses
    "agreement/{a}/edit/": 5,
    # + the agreement, its words, its signatures
    "agreement/{a}/sign/": 6,
    # + the agreement, its clauses counted
    "agreement/{a}/delete/": 5,
}


@pytest.mark.parametrize("path", PAGES)
def test_pages_stay_within_budget_as_the_data_grows(tenant, framework, path) -> None:
    agreement_in_force(tenant)
    draft = draft_agreement(tenant)
    system = register(tenant, name="Measured", go_live_on=timezone.localdate() + timedelta(days=5))
    client = client_for(tenant.owner)
    target = url(tenant, path.format(s=system.pk, a=draft.pk))
    if path == "agreement/new/":
        technology.agreement_delete(agreement=draft, actor=tenant.manager)
        target = url(tenant, path)
    for n in (1, 3):
        _grow(tenant, n)
        if path == "agreement/":  # more versions, each superseding the last, and a draft again
            technology.agreement_delete(agreement=technology.agreement_draft(tenant.organisation), actor=tenant.manager)
            for _i in range(n):
                agreement_in_force(tenant)
            draft_agreement(tenant)
        client.get(target)  # the first request of a session records it
        with assert_queries(PAGES[path], f"{path} with {n} more of everything"):
            response = client.get(target)
        assert response.status_code == 200, path
