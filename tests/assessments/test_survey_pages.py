"""Workforce survey pages, as each side uses them: drafting, approval by both sides, opening, codes and
invitations, answering on the public page with a code, closing, and the results both sides see."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django_scopes import scope, scopes_disabled

from assessments import surveys
from assessments.models import QuestionKind, Survey, SurveyResponse, SurveyStatus
from portal.models import SignatureCapacity
from tests.assessments.test_plans import new_plan
from tests.assessments.test_surveys import CONTEXT, approve, open_survey
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def url(tenant, tail: str = "") -> str:
    return f"/o/{tenant.organisation.slug}/surveys/{tail}"


def test_a_rep_drafts_a_survey_about_a_plan_and_bad_input_is_pointed_at(tenant) -> None:
    plan = new_plan(tenant)
    rep = client_for(tenant.rep)
    page = rep.get(url(tenant, f"new/?plan={plan.pk}"))
    assert page.status_code == 200
    assert "Cobots on line 3: your views" in page.content.decode()
    bad = rep.post(
        url(tenant, "new/"),
        {"plan": plan.pk, "title": "Views", "threshold": "3", "group_shift": "Only one"},
    )
    assert bad.status_code == 200
    body = bad.content.decode()
    assert "A result needs at least 5 responses" in body
    assert "Give at least two answers to choose from" in body
    with scopes_disabled():
        assert not Survey.objects.exists()
    done = rep.post(
        url(tenant, "new/"),
        {
            "plan": plan.pk,
            "title": "Cobots: your views",
            "threshold": "5",
            "bank_keys": ["told_before", "training_offered"],
            "own_0_text": "The cobot cell feels safe to work next to.",
            "own_0_kind": QuestionKind.LIKERT,
            "comment_question": "Anything else?",
            "group_shift": "Days\nNights\n",
        },
    )
    with scopes_disabled():
        survey = Survey.objects.get()
    assert done.status_code == 302 and done["Location"] == url(tenant, f"{survey.pk}/")
    assert survey.plan_id == plan.pk and survey.status == SurveyStatus.DRAFT
    with scope(organisation=tenant.organisation):
        kinds = [q.kind for q in surveys.survey_questions(survey)]
    assert kinds == ["likert", "yes_no", "likert", "text", "group"]
    detail = rep.get(done["Location"]).content.decode()
    assert "Read and approve the questions" in detail and "Open the survey" not in detail


def test_both_sides_approve_on_the_page_and_a_stale_approval_is_refused(tenant) -> None:
    survey = surveys.survey_create(
        organisation=tenant.organisation,
        actor=tenant.rep,
        data=surveys.QuestionsInput(title="Pulse", bank_keys=["job_security"]),
    )
    manager, rep = client_for(tenant.manager), client_for(tenant.rep)
    page = manager.get(url(tenant, f"{survey.pk}/approve/")).content.decode()
    content_hash = re.search(r'name="content_hash" value="([0-9a-f]{64})"', page).group(1)
    # The rep changes the questions while the manager reads them.
    surveys.survey_update(
        survey=survey, actor=tenant.rep, data=surveys.QuestionsInput(title="Pulse", bank_keys=["fair"])
    )
    stale = manager.post(
        url(tenant, f"{survey.pk}/approve/"), {"typed_name": "Mo Manager", "content_hash": content_hash}
    )
    assert stale.status_code == 200 and "The questions changed while you were reading them" in stale.content.decode()
    for client, name in ((manager, "Mo Manager"), (rep, "Rae Rep")):
        page = client.get(url(tenant, f"{survey.pk}/approve/")).content.decode()
        current = re.search(r'name="content_hash" value="([0-9a-f]{64})"', page).group(1)
        assert (
            client.post(url(tenant, f"{survey.pk}/approve/"), {"typed_name": name, "content_hash": current}).status_code
            == 302
        )
    assert rep.get(url(tenant, f"{survey.pk}/approve/")).status_code == 302  # already approved: back to the survey
    # A member cannot approve, and cannot run surveys.
    member = client_for(tenant.member)
    assert member.get(url(tenant, f"{survey.pk}/approve/")).status_code == 403
    assert member.post(url(tenant, f"{survey.pk}/open/")).status_code == 403
    assert rep.post(url(tenant, f"{survey.pk}/open/")).status_code == 302
    with scopes_disabled():
        assert Survey.objects.get(pk=survey.pk).status == SurveyStatus.OPEN


def test_opening_without_both_approvals_shows_what_is_missing(tenant) -> None:
    survey = surveys.survey_create(
        organisation=tenant.organisation,
        actor=tenant.rep,
        data=surveys.QuestionsInput(title="Pulse", bank_keys=["job_security"]),
    )
    surveys.survey_approve(
        survey=survey, signer=tenant.rep, capacity=SignatureCapacity.WORKFORCE, typed_name="Rae", context=CONTEXT
    )
    response = client_for(tenant.rep).post(url(tenant, f"{survey.pk}/open/"))
    assert response.status_code == 400
    assert "Management has not approved these questions." in response.content.decode()
    with scopes_disabled():
        assert Survey.objects.get(pk=survey.pk).status == SurveyStatus.DRAFT


def _answer(client, code: str, survey: Survey, **values) -> object:
    with scope(organisation=survey.organisation):
        qs = {q.kind: q for q in surveys.survey_questions(survey)}
    data = {"code": code, "step": "answers"}
    for kind, value in values.items():
        data[f"q-{qs[kind].pk}"] = value
    return client.post("/s/", data)


def test_people_answer_with_a_printed_code_on_the_public_page_and_results_appear_only_at_five(tenant, client) -> None:
    survey = open_survey(tenant)
    rep = client_for(tenant.rep)
    sheet = rep.post(url(tenant, f"{survey.pk}/codes/"), {"count": "5"})
    assert sheet.status_code == 200 and sheet["Cache-Control"] == "no-store"
    codes = re.findall(r'<p class="survey-slip__code">([0-9A-Z]{5}-[0-9A-Z]{5})</p>', sheet.content.decode())
    assert len(codes) == 5 and sheet.content.decode().count("<svg") == 5
    # The public page: a code, then the questions; no sign-in.
    start = client.get("/s/")
    assert start.status_code == 200 and start["X-Robots-Tag"] == "noindex"
    questions = client.post("/s/", {"code": codes[0].lower()})
    assert questions.status_code == 200 and "Send my answers" in questions.content.decode()
    missing = _answer(client, codes[0], survey, likert="", yes_no="yes")
    assert missing.status_code == 400 and "Choose how much you agree" in missing.content.decode()
    for code in codes[:4]:
        assert _answer(client, code, survey, likert="4", yes_no="yes", group="Days", text="Fine").status_code == 200
    again = _answer(client, codes[0], survey, likert="4", yes_no="yes")
    assert again.status_code == 400 and "already been used" in again.content.decode()
    with scopes_disabled():
        assert SurveyResponse.objects.count() == 4
    # Nobody's session was started by answering.
    assert "sessionid" not in client.cookies
    page = rep.get(url(tenant, f"{survey.pk}/")).content.decode()
    assert "Responses so far" in page and '<h2 class="heading-m" id="results">' not in page
    assert _answer(client, codes[4], survey, likert="1", yes_no="no", group="Nights", text="Worried").status_code == 200
    assert rep.post(url(tenant, f"{survey.pk}/close/")).status_code == 302
    rep_view = rep.get(url(tenant, f"{survey.pk}/")).content.decode()
    manager_view = client_for(tenant.manager).get(url(tenant, f"{survey.pk}/")).content.decode()
    section = re.compile(r'<h2 class="heading-m" id="results">.*?<h2 class="heading-m">', re.S)
    assert section.search(rep_view).group(0) == section.search(manager_view).group(0)
    assert "80% agree" in rep_view and "Worried" in rep_view
    # Nights (1) is hidden, and Days (4) with it, or Nights would be everyone less Days.
    for group in ("Days", "Nights"):
        assert f'{group}<br><span class="secondary-text">not shown</span>' in rep_view


def test_email_invitations_from_the_page(tenant) -> None:
    survey = open_survey(tenant)
    manager = client_for(tenant.manager)
    bad = manager.post(url(tenant, f"{survey.pk}/invite/"), {"addresses": "ann@acme.example, not-an-address"})
    assert bad.status_code == 200 and "These are not email addresses: not-an-address" in bad.content.decode()
    assert mail.outbox == []
    sent = manager.post(url(tenant, f"{survey.pk}/invite/"), {"addresses": "ann@acme.example\nbob@acme.example"})
    assert sent.status_code == 302
    assert [m.to for m in mail.outbox] == [["ann@acme.example"], ["bob@acme.example"]]
    assert "/s/#" in mail.outbox[0].body and "A short anonymous survey from Acme" in mail.outbox[0].subject


def test_an_auditor_sees_closed_surveys_only_and_an_outsider_nothing(tenant, outsider) -> None:
    draft = surveys.survey_create(
        organisation=tenant.organisation,
        actor=tenant.rep,
        data=surveys.QuestionsInput(title="Draft one", bank_keys=["fair"]),
    )
    closed = open_survey(tenant, title="Closed one")
    surveys.survey_close(survey=closed, actor=tenant.rep)
    auditor = client_for(tenant.auditor)
    assert auditor.get(url(tenant, f"{draft.pk}/")).status_code == 404
    assert auditor.get(url(tenant, f"{closed.pk}/")).status_code == 200
    listing = auditor.get(url(tenant)).content.decode()
    assert "Closed one" in listing and "Draft one" not in listing
    stranger = client_for(outsider)
    assert stranger.get(url(tenant, f"{closed.pk}/")).status_code == 404
    approve(draft, tenant)


def _queries(client, path: str, data: dict | None = None) -> int:
    from tests.querycount import counting

    client.get(path) if data is None else client.post(path, data)  # warm: sessions, header state
    with counting() as queries:
        response = client.get(path) if data is None else client.post(path, data)
    assert response.status_code == 200, (path, response.status_code)
    return len(queries)


def test_survey_pages_run_a_fixed_number_of_queries_within_the_budget(tenant, client) -> None:
    from tests.querycount import MAX_QUERIES

    rep = client_for(tenant.rep)
    first = open_survey(tenant, title="First")
    codes = surveys.codes_print(survey=first, actor=tenant.rep, count=8)
    counts: dict[str, list[int]] = {"list": [], "open": [], "closed": [], "answer": []}

    def measure() -> None:
        counts["list"].append(_queries(rep, url(tenant)))
        counts["open"].append(_queries(rep, url(tenant, f"{first.pk}/")))
        counts["answer"].append(_queries(client, "/s/", {"code": codes[-1]}))

    measure()
    for code in codes[:6]:
        _answer(client, code, first, likert="4", yes_no="yes", group="Days", text="ok")
    for n in range(4):
        open_survey(tenant, title=f"More {n}")
    measure()
    assert counts["list"][0] == counts["list"][1]
    assert counts["open"][0] == counts["open"][1]
    assert counts["answer"][0] == counts["answer"][1]
    surveys.survey_close(survey=first, actor=tenant.rep)
    closed = _queries(rep, url(tenant, f"{first.pk}/"))
    for count in (*counts["list"], *counts["open"], *counts["answer"], closed):
        assert count <= MAX_QUERIES, counts


def test_a_survey_without_a_plan_given_says_what_it_is_about(tenant, framework) -> None:
    from assessments.services import assessment_create

    plan = new_plan(tenant)
    from datetime import date

    assessment = assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    manager = client_for(tenant.manager)
    page = manager.get(url(tenant, "new/")).content.decode()
    assert f'value="plan:{plan.pk}"' in page and f'value="assessment:{assessment.pk}"' in page
    response = manager.post(
        url(tenant, "new/"),
        {"about": f"assessment:{assessment.pk}", "title": "Pulse", "threshold": "5", "bank_keys": ["fair"]},
    )
    assert response.status_code == 302
    with scopes_disabled():
        survey = Survey.objects.get()
    assert survey.assessment_id == assessment.pk and survey.plan_id is None
    assert "Self-assessment 2026" in manager.get(response["Location"]).content.decode()
    # Anything not offered (another organisation's plan, nonsense) is refused, and nothing is made.
    refused = manager.post(
        url(tenant, "new/"), {"about": "plan:not-a-uuid", "title": "Pulse 2", "threshold": "5", "bank_keys": ["fair"]}
    )
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    with scopes_disabled():
        assert not Survey.objects.filter(title="Pulse 2").exists()


def test_a_survey_repeated_after_the_change_shows_before_and_after(tenant, client) -> None:
    first = open_survey(tenant, title="Before go-live")
    for code in surveys.codes_print(survey=first, actor=tenant.rep, count=5):
        _answer(client, code, first, likert="2", yes_no="no", group="Days")
    surveys.survey_close(survey=first, actor=tenant.rep)
    rep = client_for(tenant.rep)
    form = rep.get(url(tenant, f"new/?repeat={first.pk}")).content.decode()
    assert "Before go-live: after the change" in form and "This repeats" in form
    with scope(organisation=tenant.organisation):
        data = surveys.questions_input(first)
    data.title = "After go-live"
    later = surveys.survey_create(organisation=tenant.organisation, actor=tenant.rep, data=data, repeats=first)
    approve(later, tenant)
    later = surveys.survey_open(survey=later, actor=tenant.rep)
    for code in surveys.codes_print(survey=later, actor=tenant.rep, count=5):
        _answer(client, code, later, likert="4", yes_no="yes", group="Days")
    surveys.survey_close(survey=later, actor=tenant.rep)
    page = rep.get(url(tenant, f"{later.pk}/")).content.decode()
    table = page[page.index("Before and after the change") :]
    assert "0% agree" in table and "100% agree" in table and "0% yes" in table and "100% yes" in table


def test_your_work_asks_each_side_to_approve_until_it_has_and_again_when_the_words_change(tenant) -> None:
    survey = surveys.survey_create(
        organisation=tenant.organisation,
        actor=tenant.rep,
        data=surveys.QuestionsInput(title="Scanner pulse", bank_keys=["data_known"]),
    )
    rep, manager, member = client_for(tenant.rep), client_for(tenant.manager), client_for(tenant.member)

    def waiting(client) -> list[str]:
        page = client.get("/your-work/").content.decode()
        return re.findall(r"Approve the questions for (management|the workforce)", page)

    assert waiting(rep) == ["the workforce"] and waiting(manager) == ["management"] and waiting(member) == []
    surveys.survey_approve(
        survey=survey, signer=tenant.rep, capacity=SignatureCapacity.WORKFORCE, typed_name="Rae", context=CONTEXT
    )
    assert waiting(rep) == [] and waiting(manager) == ["management"]
    surveys.survey_update(
        survey=survey, actor=tenant.manager, data=surveys.QuestionsInput(title="Scanner pulse", bank_keys=["fair"])
    )
    assert waiting(rep) == ["the workforce"]  # the words changed: the rep's approval no longer counts
    approve(survey, tenant)
    assert waiting(rep) == [] and waiting(manager) == []


def test_invitations_through_a_real_mail_server_and_what_happens_when_it_is_down(tenant, settings) -> None:
    from tests.smtp import SmtpServer

    smtp = SmtpServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", smtp.port, False
    settings.EMAIL_TIMEOUT = 5
    survey = open_survey(tenant)
    manager = client_for(tenant.manager)
    # Down: nothing is sent, the page says so and keeps every address for the next try.
    down = manager.post(url(tenant, f"{survey.pk}/invite/"), {"addresses": "ann@acme.example, bob@acme.example"})
    assert down.status_code == 503
    page = down.content.decode()
    assert "0 invitations were sent and 2 were not" in page
    assert "ann@acme.example\nbob@acme.example" in page
    with scopes_disabled():
        assert Survey.objects.get(pk=survey.pk).invitations_sent == 0
    smtp.start()
    try:
        sent = manager.post(url(tenant, f"{survey.pk}/invite/"), {"addresses": "ann@acme.example\nbob@acme.example"})
        assert sent.status_code == 302
        assert len(smtp.to("ann@acme.example")) == 1 and len(smtp.to("bob@acme.example")) == 1
        body = smtp.to("ann@acme.example")[0].message.get_body(preferencelist=("plain",)).get_content()
        assert "/s/#" in body and "not linked to your answers" in body
    finally:
        smtp.stop()
    with scopes_disabled():
        assert Survey.objects.get(pk=survey.pk).invitations_sent == 2


def test_every_survey_form_page_stays_within_the_query_budget(tenant) -> None:
    from tests.querycount import MAX_QUERIES

    draft = surveys.survey_create(
        organisation=tenant.organisation,
        actor=tenant.rep,
        data=surveys.QuestionsInput(title="Draft", bank_keys=["fair"]),
    )
    opened = open_survey(tenant, title="Open")
    manager = client_for(tenant.manager)
    pages = [
        url(tenant, "new/"),
        url(tenant, f"new/?repeat={opened.pk}"),
        url(tenant, f"{draft.pk}/edit/"),
        url(tenant, f"{draft.pk}/approve/"),
        url(tenant, f"{draft.pk}/open/"),
        url(tenant, f"{opened.pk}/close/"),
        url(tenant, f"{opened.pk}/codes/"),
        url(tenant, f"{opened.pk}/invite/"),
    ]
    counts = {page: _queries(manager, page) for page in pages}
    assert all(count <= MAX_QUERIES for count in counts.values()), counts
    for n in range(3):  # more surveys, plans and approvals change no page's count
        open_survey(tenant, title=f"More {n}")
        new_plan(tenant, title=f"Plan {n}")
    assert {page: _queries(manager, page) for page in pages} == counts
