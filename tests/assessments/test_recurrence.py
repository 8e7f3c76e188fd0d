"""Cycles that recur (issue 16 part 5): next year's self-assessment starts from the last final one, with
its answers carried over but not counted until a person confirms them, citations only of evidence still
in date, open actions moved over, and the final one unchanged; plans get a review date."""

from __future__ import annotations

import importlib
import io
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments import plans, services, workflow
from assessments.models import ActionItem, Assessment, AssessmentStatus, Citation, Plan, a_year_after
from assessments.models import Response as CriterionResponse
from assessments.selectors import assessment_progress
from portal.activity import activity_lines
from portal.models import AuditEvent
from portal.roles import Role
from tests.api.conftest import make_token, token_client
from tests.assessments.conftest import responses_by_code
from tests.assessments.test_plans import new_plan, sign, submitted
from tests.conftest import client_for
from tests.sample_files import pdf

pytestmark = pytest.mark.django_db


def _upload(tenant, name: str, expiry: date | None):
    return services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(pdf(name)),
        name=name,
        description=name,
        effective_date=date(2025, 1, 1),
        expiry_date=expiry,
    )


@pytest.fixture
def files(tenant):
    today = timezone.localdate()
    return {
        "in_date": _upload(tenant, "Minutes.pdf", None),
        "later": _upload(tenant, "Risk assessment.pdf", today + timedelta(days=90)),
        "today": _upload(tenant, "Insurance.pdf", today),
        "expired": _upload(tenant, "Old training plan.pdf", today - timedelta(days=1)),
    }


@pytest.fixture
def final(tenant, framework, files):
    """The 2026 self-assessment, final: every criterion answered (1.1 cites the in-date files, 1.2 the
    expired one and the one expiring today), an open and a done action on it."""
    assessment = services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    cited = {"1.1": [files["in_date"], files["later"]], "1.2": [files["expired"], files["today"]]}
    responses = responses_by_code(assessment)
    for code, response in responses.items():
        services.response_save(
            response=response,
            actor=tenant.manager,
            maturity=3 if code == "1.1" else 2,
            narrative=f"Practice for {code}",
            evidence_ids=[e.pk for e in cited.get(code, [])],
        )
    today = timezone.localdate()
    services.action_item_create(
        response=responses["1.3"], actor=tenant.manager, title="Open action", owner=tenant.rep, due_date=today
    )
    done = services.action_item_create(
        response=responses["1.4"], actor=tenant.manager, title="Done action", owner=None, due_date=today
    )
    with scope(organisation=tenant.organisation):
        services.action_item_update(
            item=ActionItem.objects.get(pk=done.pk),
            actor=tenant.manager,
            title=done.title,
            owner=None,
            due_date=done.due_date,
            status="done",
        )
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    sign(assessment, tenant.rep)
    sign(assessment, tenant.owner)
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.FINAL
    return assessment


def _next(tenant, framework, final, **kwargs):
    defaults = services.next_cycle_defaults(final)
    return services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        carry_over_from=final,
        **{**defaults, **kwargs},
    )


def _fresh(assessment) -> Assessment:
    with scope(organisation=assessment.organisation):
        return Assessment.objects.select_related("framework", "organisation").get(pk=assessment.pk)


# --- Starting -------------------------------------------------------------------------------------


def test_the_next_cycle_defaults_to_the_year_after_the_previous_one(tenant, framework, final) -> None:
    assert services.next_cycle_defaults(final) == {
        "title": "Self-assessment 2027",
        "period_start": date(2027, 1, 1),
        "period_end": date(2027, 12, 31),
    }
    final.period_start, final.period_end, final.title = date(2027, 3, 1), date(2028, 2, 29), "FY to February"
    assert services.next_cycle_defaults(final) == {
        "title": "Self-assessment 2028",
        "period_start": date(2028, 3, 1),
        "period_end": date(2029, 2, 28),
    }


def test_carried_over_answers_are_not_counted_until_confirmed(tenant, framework, final) -> None:
    new = _next(tenant, framework, final)
    assert new.carried_over_from_id == final.pk and new.status == AssessmentStatus.DRAFT
    responses = responses_by_code(new)
    assert responses["1.1"].maturity == 3 and responses["1.1"].narrative == "Practice for 1.1"
    assert all(r.awaiting_confirmation for r in responses.values())
    progress = assessment_progress(_fresh(new))
    assert progress.answered == 0 and progress.to_confirm == progress.total == len(responses)
    assert all(p.status == "in_progress" and p.average_maturity is None for p in progress.principles)
    # Nothing can be submitted until each answer has been looked at.
    problems = services.submission_problems(new)
    assert len(problems) == len(responses)
    assert "confirm or change the answer carried over" in problems[0].message
    with pytest.raises(Exception, match="confirm or change"):
        services.assessment_submit(assessment=new, actor=tenant.manager)

    assert services.response_confirm(response=responses["1.1"], actor=tenant.manager) is True
    progress = assessment_progress(_fresh(new))
    assert progress.answered == 1 and progress.to_confirm == len(responses) - 1
    assert progress.principles[0].average_maturity == 3.0
    # Confirming twice changes nothing and records nothing more.
    assert services.response_confirm(response=responses["1.1"], actor=tenant.manager) is False
    with scope(organisation=tenant.organisation):
        assert AuditEvent.objects.filter(verb="response.confirmed").count() == 1

    for response in responses_by_code(new).values():
        services.response_confirm(response=response, actor=tenant.manager)
    assert services.submission_problems(new) == []  # 1.1 still cites its in-date files at maturity 3
    services.assessment_submit(assessment=new, actor=tenant.manager)


def test_changing_a_carried_over_answer_confirms_it_and_saving_it_unchanged_does_not(tenant, framework, final):
    new = _next(tenant, framework, final)
    responses = responses_by_code(new)
    same = responses["2.1"]
    unchanged = services.response_save(
        response=same, actor=tenant.manager, maturity=same.maturity, narrative=same.narrative, evidence_ids=[]
    )
    assert unchanged.changed is False and responses_by_code(new)["2.1"].awaiting_confirmation
    services.response_save(
        response=same, actor=tenant.manager, maturity=same.maturity, narrative="Still true, reviewed", evidence_ids=[]
    )
    again = responses_by_code(new)["2.1"]
    assert not again.awaiting_confirmation and again.confirmed_by == tenant.manager
    assert assessment_progress(_fresh(new)).answered == 1
    with scope(organisation=tenant.organisation):
        event = AuditEvent.objects.get(verb="response.confirmed")
    assert event.after == {"maturity": 2, "changed": True}


def test_citations_are_carried_only_for_evidence_still_in_date(tenant, framework, final, files) -> None:
    new = _next(tenant, framework, final)
    responses = responses_by_code(new)
    with scope(organisation=tenant.organisation):
        cited = {
            code: sorted(Citation.objects.filter(response=r).values_list("evidence__original_name", flat=True))
            for code, r in responses.items()
        }
    assert cited["1.1"] == ["Minutes.pdf", "Risk assessment.pdf"]
    assert cited["1.2"] == []  # expired yesterday, and expiring today: neither is in date after today
    # The page that starts it said so beforehand.
    plan = services.carry_over_plan(final)
    assert [e.original_name for e in plan.expired] == ["Insurance.pdf", "Old training plan.pdf"]


def test_the_start_page_counts_what_the_plan_carries_over(tenant, final, files) -> None:
    """The page that starts the next assessment counts in one hand-written query
    (`services.carry_over_summary`) what `carry_over_plan` carries over: the same answers, citations in
    date, expired files (each once, by name) and open actions, also with an unanswered criterion citing a
    file (not carried) and an expired file cited twice."""
    responses = responses_by_code(final)
    with scope(organisation=tenant.organisation):
        CriterionResponse.objects.filter(pk=responses["2.1"].pk).update(maturity=None, narrative="")
        for code in ("2.1", "1.3"):
            Citation.objects.create(
                organisation=tenant.organisation, response=responses[code], evidence=files["expired"]
            )
        Citation.objects.create(organisation=tenant.organisation, response=responses["2.1"], evidence=files["later"])
        CriterionResponse.objects.filter(pk=responses["2.2"].pk).update(maturity=None, narrative="Still writing")
        plan = services.carry_over_plan(final)
    summary = services.carry_over_summary(final)
    assert summary.answers == len(plan.answers) == len(responses) - 1
    assert summary.citation_count == plan.citation_count == 2
    assert [(e.original_name, e.expiry_date) for e in summary.expired] == [
        (e.original_name, e.expiry_date) for e in plan.expired
    ]
    assert [e.original_name for e in summary.expired] == ["Insurance.pdf", "Old training plan.pdf"]
    assert summary.actions == len(plan.actions) == 1
    page = client_for(tenant.manager).get(f"/o/{tenant.organisation.slug}/assessments/{final.pk}/next/")
    html = page.content.decode()
    assert f"{summary.answers} answers, each marked" in html and "2 citations of files still in date" in html
    assert "1 action not yet done moves" in html and "Old training plan.pdf (expired" in html


def test_open_actions_move_to_the_new_assessment_and_done_ones_stay(tenant, framework, final) -> None:
    new = _next(tenant, framework, final)
    with scope(organisation=tenant.organisation):
        moved = ActionItem.objects.select_related("response__criterion").get(title="Open action")
        stayed = ActionItem.objects.get(title="Done action")
    assert moved.assessment_id == new.pk and moved.response.assessment_id == new.pk
    assert moved.response.criterion.code == "1.3" and moved.owner == tenant.rep
    assert stayed.assessment_id == final.pk
    with scope(organisation=tenant.organisation):
        event = AuditEvent.objects.filter(verb="assessment.created", target_id=str(new.pk)).get()
    assert event.after["actions_moved"] == [{"id": str(moved.pk), "title": "Open action"}]
    with scope(organisation=tenant.organisation):
        [line] = activity_lines([AuditEvent.objects.select_related("actor").get(pk=event.pk)])
    n = len(responses_by_code(new))
    assert line.sentence == (
        f"{tenant.manager.display_name} started the self-assessment “Self-assessment 2027” from "
        f"“Self-assessment 2026”, carrying over {n} answers to confirm and 1 open action"
    )


def test_the_final_assessment_keeps_its_content_hash_and_signatures(tenant, framework, final) -> None:
    before_hash = workflow.subject_hash(final)
    before = workflow.subject_snapshot(final)
    with scope(organisation=tenant.organisation):
        before_rows = list(
            CriterionResponse.objects.filter(assessment=final).order_by("pk").values("pk", "maturity", "narrative")
        )
        before_citations = set(Citation.objects.filter(response__assessment=final).values_list("pk", flat=True))
    new = _next(tenant, framework, final)
    for response in responses_by_code(new).values():
        services.response_save(
            response=response, actor=tenant.manager, maturity=0, narrative="Changed in 2027", evidence_ids=[]
        )
    final = _fresh(final)
    assert final.status == AssessmentStatus.FINAL
    assert workflow.subject_snapshot(final) == before and workflow.subject_hash(final) == before_hash
    assert all(view.valid for view in workflow.signatures_for(final))
    with scope(organisation=tenant.organisation):
        assert (
            list(
                CriterionResponse.objects.filter(assessment=final).order_by("pk").values("pk", "maturity", "narrative")
            )
            == before_rows
        )
        assert set(Citation.objects.filter(response__assessment=final).values_list("pk", flat=True)) == (
            before_citations
        )


def test_only_the_latest_final_assessment_is_carried_over_and_only_once(tenant, framework, final) -> None:
    draft = services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Blank one",
        period_start=date(2027, 1, 1),
        period_end=date(2027, 12, 31),
    )
    with pytest.raises(Exception) as refused:
        _next(tenant, framework, draft)
    assert refused.value.error_list[0].code == "not_final"  # type: ignore[attr-defined]
    _next(tenant, framework, final)
    with pytest.raises(Exception) as twice:
        _next(tenant, framework, final)
    assert twice.value.error_list[0].code == "newer_version"  # type: ignore[attr-defined]


def test_another_organisation_cannot_carry_over_this_ones_assessment(tenant, framework, final, outsider) -> None:
    from portal.selectors import memberships_of_user

    (membership,) = memberships_of_user(outsider)
    with pytest.raises(Exception, match="Choose a self-assessment of this organisation"):
        services.assessment_create(
            organisation=membership.organisation,
            actor=outsider,
            framework=framework,
            title="Stolen",
            period_start=date(2027, 1, 1),
            period_end=date(2027, 12, 31),
            carry_over_from=final,
        )


# --- The pages ------------------------------------------------------------------------------------


def _url(tenant, final) -> str:
    return f"/o/{tenant.organisation.slug}/assessments/{final.pk}/next/"


def test_managers_are_offered_the_next_cycle_and_start_it_from_the_check_page(tenant, framework, final) -> None:
    slug = tenant.organisation.slug
    start = _url(tenant, final)
    manager = client_for(tenant.manager)
    for page in (f"/o/{slug}/assessments/", f"/o/{slug}/assessments/{final.pk}/", f"/o/{slug}/"):
        html = manager.get(page).content.decode()
        assert f'href="{start}">Start the 2027 self-assessment<' in html, page
    check = manager.get(start).content.decode()
    assert "each marked “Carried over: confirm or change”" in check
    assert "Insurance.pdf" in check and "Old training plan.pdf" in check  # not cited again
    assert "1 action not yet done moves to the new assessment" in check
    # Errors come back at the field, nothing started.
    bad = manager.post(
        start, {"title": "Self-assessment 2027", "period_start": "2027-12-31", "period_end": "2027-01-01"}
    )
    assert bad.status_code == 400 and "The end of the period must be on or after its start" in bad.content.decode()
    response = manager.post(
        start, {"title": "Self-assessment 2027", "period_start": "2027-01-01", "period_end": "2027-12-31"}
    )
    assert response.status_code == 302
    with scope(organisation=tenant.organisation):
        new = Assessment.objects.get(carried_over_from=final)
    assert response["Location"] == f"/o/{slug}/assessments/{new.pk}/"
    overview = manager.get(response["Location"]).content.decode()
    assert "carried over from Self-assessment 2026 are waiting: confirm or change each one" in overview
    assert "carried over: confirm or change" in overview
    # Once started, nobody is offered it again, and the page says why.
    for page in (f"/o/{slug}/assessments/", f"/o/{slug}/assessments/{final.pk}/"):
        assert start not in manager.get(page).content.decode()
    again = manager.get(start)
    assert again.status_code == 302 and again["Location"] == f"/o/{slug}/assessments/{final.pk}/"


def test_the_criterion_page_marks_carried_over_answers_and_confirms_them(tenant, framework, final) -> None:
    new = _next(tenant, framework, final)
    url = f"/o/{tenant.organisation.slug}/assessments/{new.pk}/principles/1/"
    manager = client_for(tenant.manager)
    html = manager.get(url).content.decode()
    responses = responses_by_code(new)
    principle_1 = [r for code, r in responses.items() if code.startswith("1.")]
    assert html.count("Carried over: confirm or change") == len(principle_1)
    assert "Confirm all the answers carried over in this principle" in html

    def form(**extra):
        data = {}
        for r in principle_1:
            data[f"r-{r.pk}-maturity"] = str(r.maturity)
            data[f"r-{r.pk}-narrative"] = r.narrative
            data[f"r-{r.pk}-evidence"] = [str(c.evidence_id) for c in r.citations.all()]
        return {**data, **extra}

    with scope(organisation=tenant.organisation):
        first = CriterionResponse.objects.prefetch_related("citations").get(pk=responses["1.1"].pk)
    page = manager.post(url, form(confirm=str(first.pk)))
    assert page.status_code == 302 and page["Location"].endswith("#" + first.criterion.anchor)
    assert not responses_by_code(new)["1.1"].awaiting_confirmation
    assert responses_by_code(new)["1.2"].awaiting_confirmation
    page = manager.post(url, form(confirm_all="1"))
    assert page.status_code == 302
    assert not any(r.awaiting_confirmation for c, r in responses_by_code(new).items() if c.startswith("1."))
    assert responses_by_code(new)["2.1"].awaiting_confirmation  # other principles wait
    assert "Carried over: confirm or change" not in manager.get(url).content.decode()
    # The activity feed collapses the run of confirmations into one line.
    with scope(organisation=tenant.organisation):
        events = AuditEvent.objects.filter(verb="response.confirmed").select_related("actor").order_by("-sequence")
        lines = activity_lines(list(events))
    assert [line.sentence for line in lines] == [
        f"{tenant.manager.display_name} confirmed {len(principle_1)} answers carried over in principle 1"
    ]
    # A representative reads the mark but has no button.
    rep_html = client_for(tenant.rep).get(url.replace("/principles/1/", "/principles/2/")).content.decode()
    assert "Carried over: confirm or change" in rep_html and 'name="confirm"' not in rep_html


@pytest.mark.parametrize("role", [Role.WORKFORCE_REP, Role.MEMBER, Role.AUDITOR])
def test_only_owners_and_managers_may_start_the_next_cycle(tenant, framework, final, role) -> None:
    client = client_for(tenant.user(role))
    start = _url(tenant, final)
    assert client.get(start).status_code == 403
    assert (
        client.post(start, {"title": "X", "period_start": "2027-01-01", "period_end": "2027-12-31"}).status_code == 403
    )
    assert start not in client.get(f"/o/{tenant.organisation.slug}/assessments/").content.decode()
    with scope(organisation=tenant.organisation):
        assert not Assessment.objects.filter(carried_over_from=final).exists()
    assert client_for(tenant.owner).get(start).status_code == 200


def test_an_outsider_can_neither_see_nor_start_it(tenant, framework, final, outsider) -> None:
    client = client_for(outsider)
    start = _url(tenant, final)
    assert client.get(start).status_code == 404
    assert (
        client.post(start, {"title": "X", "period_start": "2027-01-01", "period_end": "2027-12-31"}).status_code == 404
    )


# --- The API --------------------------------------------------------------------------------------


def _api(tenant, role):
    return token_client(make_token(tenant.user(role), tenant.organisation))


def test_the_api_starts_the_next_cycle_shows_what_awaits_confirmation_and_confirms_it(
    tenant, framework, final, outsider
) -> None:
    from portal.selectors import memberships_of_user

    base = f"/api/v1/organisations/{tenant.organisation.slug}/assessments/"
    (membership,) = memberships_of_user(outsider)
    stranger = token_client(make_token(outsider, membership.organisation))
    assert stranger.post(f"{base}{final.pk}/next/", {}, format="json").status_code == 404
    assert _api(tenant, Role.WORKFORCE_REP).post(f"{base}{final.pk}/next/", {}, format="json").status_code == 403
    owner = _api(tenant, Role.OWNER)
    started = owner.post(f"{base}{final.pk}/next/", {}, format="json")
    assert started.status_code == 201, started.json()
    body = started.json()
    assert body["title"] == "Self-assessment 2027" and body["carried_over_from"] == str(final.pk)
    assert body["progress"]["answered"] == 0 and body["progress"]["to_confirm"] == body["progress"]["total"]
    assert owner.post(f"{base}{final.pk}/next/", {}, format="json").status_code == 409  # only once

    new = body["id"]
    answer = owner.get(f"{base}{new}/responses/1.1/").json()
    assert answer["carried_over"] is True and answer["awaiting_confirmation"] is True and answer["maturity"] == 3
    assert stranger.post(f"{base}{new}/responses/1.1/confirm/").status_code == 404
    assert _api(tenant, Role.MEMBER).post(f"{base}{new}/responses/1.1/confirm/").status_code == 403
    confirmed = owner.post(f"{base}{new}/responses/1.1/confirm/")
    assert confirmed.status_code == 200
    assert confirmed.json()["awaiting_confirmation"] is False
    assert confirmed.json()["confirmed_by"]["email"] == tenant.owner.email
    assert owner.post(f"{base}{new}/responses/1.1/confirm/").status_code == 200  # idempotent
    assert owner.get(f"{base}{new}/").json()["progress"]["answered"] == 1
    # A PATCH that changes the answer confirms it too.
    patched = owner.patch(f"{base}{new}/responses/1.2/", {"maturity": 1}, format="json").json()
    assert patched["awaiting_confirmation"] is False and patched["maturity"] == 1
    # Submission is refused while answers wait, naming them.
    refused = owner.post(f"{base}{new}/submit/")
    assert refused.status_code == 400 and "responses.2.1" in refused.json()["fields"]


def test_confirming_after_submission_is_a_conflict(tenant, framework, final) -> None:
    new = _next(tenant, framework, final)
    for response in responses_by_code(new).values():
        services.response_confirm(response=response, actor=tenant.manager)
    services.assessment_submit(assessment=new, actor=tenant.manager)
    base = f"/api/v1/organisations/{tenant.organisation.slug}/assessments/{new.pk}/"
    assert _api(tenant, Role.OWNER).post(f"{base}responses/1.1/confirm/").status_code == 409


# --- Plans: the review date -----------------------------------------------------------------------


def _final_plan(tenant, title: str = "Cobots on line 3") -> Plan:
    plan = submitted(new_plan(tenant, title), tenant)
    sign(plan, tenant.rep)
    sign(plan, tenant.owner)
    with scope(organisation=tenant.organisation):
        plan = Plan.objects.select_related("organisation", "eqia").get(pk=plan.pk)
    assert plan.status == AssessmentStatus.FINAL
    return plan


def test_a_plan_is_due_for_review_a_year_after_it_became_final(tenant, framework) -> None:
    plan = _final_plan(tenant)
    assert plan.review_due == a_year_after(timezone.localdate(plan.finalised_at))
    with scope(organisation=tenant.organisation):
        event = AuditEvent.objects.get(verb="plan.finalised", target_id=str(plan.pk))
    assert event.after["review_due"] == plan.review_due.isoformat()
    new = plans.plan_amend(plan=plan, actor=tenant.manager)
    assert new.review_due is None  # until the new version is final itself
    manager = client_for(tenant.manager)
    listing = manager.get(f"/o/{tenant.organisation.slug}/plans/").content.decode()
    assert "Replaced by a newer version" in listing
    assert "When final" in listing


def test_management_changes_the_review_date_with_validation_and_the_signatures_stand(tenant, framework) -> None:
    plan = _final_plan(tenant)
    signed_hash = workflow.subject_hash(plan)
    url = f"/o/{tenant.organisation.slug}/plans/{plan.pk}/review-date/"
    manager = client_for(tenant.manager)
    detail = manager.get(f"/o/{tenant.organisation.slug}/plans/{plan.pk}/").content.decode()
    assert plan.review_due.strftime("%-d %B %Y") in detail and f'href="{url}"' in detail
    today = timezone.localdate()
    for value, message in (
        ("", "Enter the review date"),
        ("not a date", "Enter a real date"),
        ((today - timedelta(days=1)).isoformat(), "Enter a review date that is today or in the future"),
        ((today + timedelta(days=4 * 366)).isoformat(), "Review the plan at least every 3 years"),
    ):
        response = manager.post(url, {"review_due": value})
        html = response.content.decode()
        assert response.status_code == 400 and message in html and "<title>Error:" in html, value
    with scope(organisation=tenant.organisation):
        assert Plan.objects.get(pk=plan.pk).review_due == plan.review_due
    wanted = today + timedelta(days=20)
    response = manager.post(url, {"review_due": wanted.isoformat()})
    assert response.status_code == 302
    with scope(organisation=tenant.organisation):
        changed = Plan.objects.select_related("organisation", "eqia").get(pk=plan.pk)
        event = AuditEvent.objects.select_related("actor").get(verb="plan.review_date_changed")
    assert changed.review_due == wanted
    assert workflow.subject_hash(changed) == signed_hash
    assert all(view.valid for view in workflow.signatures_for(changed))
    assert activity_lines([event])[0].sentence.endswith(f"to {wanted.strftime('%-d %B %Y')}")
    # Not for representatives or members; not for a plan that is not final.
    for role in (Role.WORKFORCE_REP, Role.MEMBER):
        assert client_for(tenant.user(role)).post(url, {"review_due": wanted.isoformat()}).status_code == 403
    draft = new_plan(tenant, "Another")
    with pytest.raises(Exception, match="Only a final plan has a review date"):
        plans.plan_review_due_set(plan=draft, actor=tenant.manager, review_due=wanted)


def test_the_plans_api_shows_the_review_date(tenant, framework) -> None:
    plan = _final_plan(tenant)
    client = _api(tenant, Role.WORKFORCE_REP)
    base = f"/api/v1/organisations/{tenant.organisation.slug}/plans/"
    assert client.get(f"{base}{plan.pk}/").json()["review_due"] == plan.review_due.isoformat()
    [row] = client.get(base).json()["results"]
    assert row["review_due"] == plan.review_due.isoformat()


def test_the_migration_gives_plans_already_final_a_review_date(tenant, framework) -> None:
    plan = _final_plan(tenant)
    with scopes_disabled():
        Plan.objects.filter(pk=plan.pk).update(
            review_due=None, finalised_at=timezone.make_aware(timezone.datetime(2025, 6, 30, 12))
        )
        draft = new_plan(tenant, "Draft")
    migration = importlib.import_module("assessments.migrations.0004_carry_over_and_plan_review_dates")
    migration.give_final_plans_a_review_date(apps, None)
    with scopes_disabled():
        assert Plan.objects.get(pk=plan.pk).review_due == date(2026, 6, 30)
        assert Plan.objects.get(pk=draft.pk).review_due is None
