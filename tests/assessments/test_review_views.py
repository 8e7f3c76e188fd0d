"""The review pages through HTTP: who may sign, countersign, comment and request changes; what the
signing page shows; query counts on plan and review pages."""

from __future__ import annotations

import re

import pytest
from django_scopes import scope

from assessments import services, workflow
from assessments.models import AssessmentStatus, ChangeRequest, ReviewComment
from portal.models import Signature
from portal.roles import Role
from portal.signing import SigningContext
from tests.assessments.conftest import responses_by_code
from tests.conftest import client_for
from tests.factories import UserFactory, add_member
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_review(tenant, assessment):
    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=tenant.manager, maturity=1, narrative="Some", evidence_ids=[])
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    return assessment


def _url(tenant, assessment, tail: str) -> str:
    return f"/o/{tenant.organisation.slug}/review/assessment/{assessment.pk}/{tail}"


def test_sign_page_shows_exactly_what_is_signed_and_its_fingerprint(tenant, in_review) -> None:
    page = client_for(tenant.rep).get(_url(tenant, in_review, "sign/"))
    html = page.content.decode()
    assert page.status_code == 200
    assert workflow.subject_hash(in_review) in html
    assert "Countersign" in html and "Every answer being signed" in html
    assert "1.1" in html and "Plans for introducing digital technology" in html


def test_rep_countersigns_with_reservations_then_manager_signs_and_it_is_final(tenant, in_review) -> None:
    content_hash = workflow.subject_hash(in_review)
    rep = client_for(tenant.rep)
    response = rep.post(
        _url(tenant, in_review, "sign/"),
        {
            "decision": "sign_with_reservations",
            "reservations": "Training budget must be ring-fenced.",
            "typed_name": "Rachel Reid",
            "job_title": "Unite rep",
            "content_hash": content_hash,
        },
    )
    assert response.status_code == 302
    overview = rep.get(f"/o/{tenant.organisation.slug}/assessments/{in_review.pk}/").content.decode()
    assert "Training budget must be ring-fenced." in overview and "Signed with reservations" in overview
    manager = client_for(tenant.manager)
    manager.post(
        _url(tenant, in_review, "sign/"),
        {"decision": "sign", "typed_name": "Mark Mensah", "content_hash": content_hash},
    )
    in_review.refresh_from_db()
    assert in_review.status == AssessmentStatus.FINAL
    final_page = manager.get(f"/o/{tenant.organisation.slug}/assessments/{in_review.pk}/principles/1/").content.decode()
    assert 'type="radio"' not in final_page
    assert (
        client_for(tenant.auditor).get(f"/o/{tenant.organisation.slug}/assessments/{in_review.pk}/").status_code == 200
    )


def test_sign_form_errors_are_shown_and_input_kept(tenant, in_review) -> None:
    response = client_for(tenant.rep).post(
        _url(tenant, in_review, "sign/"),
        {
            "decision": "sign_with_reservations",
            "reservations": "",
            "typed_name": "Rachel Reid",
            "content_hash": workflow.subject_hash(in_review),
        },
    )
    html = response.content.decode()
    assert response.status_code == 400 and "<title>Error:" in html
    assert "Write down your reservations" in html and 'value="Rachel Reid"' in html
    with scope(organisation=tenant.organisation):
        assert not Signature.objects.exists()


@pytest.mark.parametrize(("role", "status"), [(Role.AUDITOR, 404), (Role.MEMBER, 403)])
def test_auditors_and_members_cannot_reach_signing(tenant, in_review, role, status) -> None:
    assert client_for(tenant.user(role)).get(_url(tenant, in_review, "sign/")).status_code == status


def test_only_reps_request_changes_and_managers_answer(tenant, in_review) -> None:
    assert client_for(tenant.manager).get(_url(tenant, in_review, "request-changes/")).status_code == 403
    rep = client_for(tenant.rep)
    bad = rep.post(_url(tenant, in_review, "request-changes/"), {"reasons": ""})
    assert "Say what needs to change, and why" in bad.content.decode()
    rep.post(_url(tenant, in_review, "request-changes/"), {"reasons": "Principle 4 ignores the camera system."})
    in_review.refresh_from_db()
    assert in_review.status == AssessmentStatus.CHANGES_REQUESTED
    overview = client_for(tenant.manager).get(f"/o/{tenant.organisation.slug}/assessments/{in_review.pk}/")
    html = overview.content.decode()
    assert "Principle 4 ignores the camera system." in html and "Answer this request" in html
    change_request = overview.context["change_requests"][0]
    answer_url = _url(tenant, in_review, f"requests/{change_request.pk}/answer/")
    assert rep.get(answer_url).status_code == 403
    client_for(tenant.manager).post(answer_url, {"answer": "Added the cameras to 4.2."})
    change_request.refresh_from_db()
    assert change_request.answer == "Added the cameras to 4.2."


def test_comments_thread_on_the_principle_page(tenant, in_review) -> None:
    rep = client_for(tenant.rep)
    back = f"/o/{tenant.organisation.slug}/assessments/{in_review.pk}/principles/1/"
    response = rep.post(
        _url(tenant, in_review, "comments/"), {"anchor": "1.1", "body": "Which committee?", "next": back}
    )
    assert response["Location"] == back + "#comments-1.1"
    with scope(organisation=tenant.organisation):
        comment = ReviewComment.objects.get()
    client_for(tenant.manager).post(
        _url(tenant, in_review, "comments/"), {"parent": str(comment.pk), "body": "The JCC.", "next": back}
    )
    html = rep.get(back).content.decode()
    assert "Which committee?" in html and "The JCC." in html
    rep.post(_url(tenant, in_review, f"comments/{comment.pk}/resolve/"), {"next": back})
    assert "Resolved" in rep.get(back).content.decode()
    assert client_for(tenant.member).post(_url(tenant, in_review, "comments/"), {"body": "x"}).status_code == 403


def test_next_cannot_leave_the_organisation(tenant, in_review) -> None:
    response = client_for(tenant.rep).post(
        _url(tenant, in_review, "comments/"), {"anchor": "1.1", "body": "x", "next": "https://evil.example/"}
    )
    assert response["Location"].startswith(f"/o/{tenant.organisation.slug}/assessments/")


def _grow_review(tenant, assessment, n: int) -> None:
    """Comments with replies; answered change requests (each sends the assessment back, and management
    sends it again); management signatures, each by a new manager."""
    for i in range(n):
        top = workflow.comment_add(subject=assessment, author=tenant.rep, anchor="1.1", body=f"c{i}")
        workflow.comment_add(subject=assessment, author=tenant.manager, anchor="1.1", body="r", parent=top)
        change = workflow.changes_request(subject=assessment, actor=tenant.rep, reasons=f"Reason {i}")
        workflow.change_request_answer(change_request=change, actor=tenant.manager, answer="Done")
        services.assessment_submit(assessment=assessment, actor=tenant.manager)
        manager = UserFactory()
        add_member(tenant.organisation, manager, Role.MANAGER)
        with scope(organisation=tenant.organisation):
            assessment.refresh_from_db()
        workflow.subject_sign(
            subject=assessment,
            signer=manager,
            decision="sign",
            typed_name=f"Manager {i}",
            expected_hash=workflow.subject_hash(assessment),
            context=SigningContext(),
        )


# Every tenant page pays 3 (see tests/portal/test_query_counts.py): the user; the user's memberships
# with their organisations; the "Your work" count. Then the page's own reads.
REVIEW_PAGES = {
    # + the assessment (framework, organisation, submitter); the responses as rows with their criteria,
    # cited evidence and overdue action counts (assessments/response_rows.py: for the snapshot and the
    # progress, one query); signatures; change requests (the framework's principles come from memory)
    ("workforce_rep", "overview"): 7,
    ("manager", "overview"): 7,
    # + the assessment, its snapshot (responses, citations)
    ("workforce_rep", "sign/"): 6,
    # + the assessment, the rep's own signature this round (said if requesting changes undoes it)
    ("workforce_rep", "request-changes/"): 5,
    # + the assessment, the change request with who asked
    ("manager", "requests/{cr}/answer/"): 5,
}


@pytest.mark.parametrize(("role", "tail"), REVIEW_PAGES)
def test_review_page_query_counts_do_not_grow(tenant, in_review, role, tail) -> None:
    client = client_for(tenant.user(role))
    _grow_review(tenant, in_review, 1)
    with scope(organisation=tenant.organisation):
        first_request = ChangeRequest.objects.order_by("created_at").first()
    if tail == "overview":
        target = f"/o/{tenant.organisation.slug}/assessments/{in_review.pk}/"
    else:
        target = _url(tenant, in_review, tail.format(cr=first_request.pk))
    expected = REVIEW_PAGES[(role, tail)]
    for grow in (0, 4):
        _grow_review(tenant, in_review, grow)
        client.get(target)
        with assert_queries(expected, f"{role} {tail}"):
            assert client.get(target).status_code == 200


# --- void signatures, as people see them ------------------------------------------------------


def _elements(node, test) -> list:
    """Every element under `node` (a django.test.html Element) for which `test(element)` holds."""
    found = []
    for child in getattr(node, "children", []):
        if isinstance(child, str):
            continue
        if test(child):
            found.append(child)
        found.extend(_elements(child, test))
    return found


def _classes(element) -> set[str]:
    return set(dict(element.attributes).get("class", "").split())


def _text(node) -> str:
    if isinstance(node, str):
        return node
    return " ".join(" ".join(_text(child) for child in node.children).split())


def signature_cards(html: str) -> dict[str, object]:
    """The signature cards of an overview page, keyed "management" or "workforce"."""
    from django.test.html import parse_html

    match = re.search(r'<section[^>]*aria-labelledby="signatures-title".*?</section>', html, re.S)
    assert match, "the page has a signatures section"
    cards = _elements(parse_html(match.group(0)), lambda e: e.name == "div" and "card" in _classes(e))
    by_side = {}
    for card in cards:
        side = "workforce" if _text(card).startswith("For the workforce") else "management"
        by_side[side] = card
    return by_side


def assert_void(card) -> None:
    """The card is marked void three ways: its border, a red "Void" tag by the name, and the words."""
    assert "card--void" in _classes(card), card
    tags = _elements(card, lambda e: e.name == "strong" and {"tag", "tag--red"} <= _classes(e))
    assert [_text(tag) for tag in tags] == ["Void"], card
    assert "This signature no longer counts: the content changed after it was signed." in _text(card), card
    assert "Signed" not in [_text(t) for t in _elements(card, lambda e: "tag" in _classes(e))]


def assert_counts(card) -> None:
    assert "card--void" not in _classes(card) and "Void" not in _text(card) and "no longer counts" not in _text(card)


def _final_assessment(tenant, assessment):
    for signer, decision, extra in (
        (tenant.rep, "sign_with_reservations", {"reservations": "Training budget must be ring-fenced."}),
        (tenant.manager, "sign", {}),
    ):
        workflow.subject_sign(
            subject=assessment,
            signer=signer,
            decision=decision,
            typed_name=signer.full_name,
            expected_hash=workflow.subject_hash(assessment),
            context=SigningContext(ip_address="127.0.0.1", user_agent="pytest"),
            **extra,
        )
    assert assessment.status == AssessmentStatus.FINAL
    return assessment


@pytest.mark.parametrize("role", [Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR])
def test_signatures_on_an_assessment_changed_after_signing_show_as_void(tenant, in_review, role) -> None:
    from assessments.models import Response

    final = _final_assessment(tenant, in_review)
    page = f"/o/{tenant.organisation.slug}/assessments/{final.pk}/"
    client = client_for(tenant.user(role))
    before = signature_cards(client.get(page).content.decode())
    assert set(before) == {"management", "workforce"}
    for card in before.values():
        assert_counts(card)

    with scope(organisation=tenant.organisation):  # e.g. an edit straight in the database
        Response.objects.filter(assessment=final, criterion__code="1.1").update(narrative="Rewritten after signing")
    after = signature_cards(client.get(page).content.decode())
    assert set(after) == {"management", "workforce"}
    for card in after.values():
        assert_void(card)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR])
def test_signatures_on_a_plan_changed_after_signing_show_as_void(tenant, role) -> None:
    from assessments.models import EqiaRow, Impact
    from tests.assessments.test_plans import new_plan, submitted
    from tests.assessments.test_plans import sign as plan_sign

    plan = submitted(new_plan(tenant), tenant)
    plan_sign(plan, tenant.rep, "sign_with_reservations", reservations="Review after six months.")
    plan_sign(plan, tenant.manager)
    assert plan.status == AssessmentStatus.FINAL
    page = f"/o/{tenant.organisation.slug}/plans/{plan.pk}/"
    client = client_for(tenant.user(role))
    before = signature_cards(client.get(page).content.decode())
    assert set(before) == {"management", "workforce"}
    for card in before.values():
        assert_counts(card)

    with scope(organisation=tenant.organisation):
        EqiaRow.objects.filter(eqia__plan=plan, characteristic="sex").update(impact=Impact.POSITIVE)
    after = signature_cards(client.get(page).content.decode())
    assert set(after) == {"management", "workforce"}
    for card in after.values():
        assert_void(card)


# --- cited evidence, as reviewers read a criterion (issue 18, part 2) --------------------------


def _file(tenant, name: str, *, effective, expiry=None):
    import io

    from tests.assessments.conftest import PDF

    return services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name=name,
        description=f"About {name}",
        effective_date=effective,
        expiry_date=expiry,
    )


def _finalise(tenant, assessment) -> None:
    for signer, decision in ((tenant.rep, "sign"), (tenant.owner, "sign")):
        workflow.subject_sign(
            subject=assessment,
            signer=signer,
            decision=decision,
            typed_name=signer.display_name,
            job_title="",
            expected_hash=workflow.subject_hash(assessment),
            context=SigningContext(),
        )
    with scope(organisation=tenant.organisation):
        assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.FINAL


def _download(client, path: str) -> tuple[object, bytes]:
    """GET a file and read it to the end, so the test client closes it (as tests/reports' get_file)."""
    response = client.get(path)
    return response, b"".join(response.streaming_content) if getattr(response, "streaming", False) else b""


def _cited_items(html: str, code: str) -> list[str]:
    """The cited files' entries in criterion `code`'s section, as HTML."""
    section = re.search(
        rf'<section class="criterion card" id="criterion-{code.replace(".", "-")}".*?</section>', html, re.S
    )
    assert section, code
    return re.findall(r'<li class="evidence-cited__item">(.*?)</li>', section.group(0), re.S)


def test_reviewers_open_and_download_cited_evidence_from_the_criterion_as_their_role_allows(tenant, assessment) -> None:
    from datetime import date, timedelta

    from django.utils import timezone

    today = timezone.localdate()
    minutes = _file(tenant, "minutes.pdf", effective=date(2026, 3, 4))
    cert = _file(tenant, "old-cert.pdf", effective=date(2025, 1, 10), expiry=today - timedelta(days=3))
    for code, response in responses_by_code(assessment).items():
        cited = [minutes.pk, cert.pk] if code == "1.1" else []
        services.response_save(
            response=response, actor=tenant.manager, maturity=3 if cited else 1, narrative="x", evidence_ids=cited
        )
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    slug = tenant.organisation.slug
    page = f"/o/{slug}/assessments/{assessment.pk}/principles/1/"

    def links(role) -> tuple[list[str], str]:
        html = client_for(tenant.user(role)).get(page).content.decode()
        items = _cited_items(html, "1.1")
        assert [re.sub(r"<[^>]+>", "", i).split(" – ")[0].strip() for i in items] == ["minutes.pdf", "old-cert.pdf"]
        return items, html

    expiry = f"Valid until {(today - timedelta(days=3)).strftime('%-d %B %Y')}"
    detail = {e: f'href="/o/{slug}/evidence/{e.pk}/"' for e in (minutes, cert)}
    download = {e: f'href="/o/{slug}/evidence/{e.pk}/download/" download' for e in (minutes, cert)}
    # Representatives, owners and managers: the file's page and its download, with its dates.
    for role in (Role.WORKFORCE_REP, Role.OWNER, Role.MANAGER):
        items, _html = links(role)
        assert detail[minutes] in items[0] and download[minutes] in items[0]
        assert "Effective 4 March 2026 · No expiry date" in items[0] and "Expired" not in items[0]
        assert detail[cert] in items[1] and download[cert] in items[1]
        assert f"Effective 10 January 2025 · {expiry}" in items[1] and 'tag--red">Expired</strong>' in items[1]
        client = client_for(tenant.user(role))
        for evidence in (minutes, cert):
            assert client.get(f"/o/{slug}/evidence/{evidence.pk}/").status_code == 200
            assert _download(client, f"/o/{slug}/evidence/{evidence.pk}/download/")[0].status_code == 200
    # A plain member reads the names and dates (a name is not the file: portal/roles.py), no links.
    items, _html = links(Role.MEMBER)
    assert not any("href=" in i for i in items) and "Effective 4 March 2026" in items[0]
    # Auditors see the criterion once the work is final, and download what it cites (not the library).
    assert client_for(tenant.auditor).get(page).status_code == 404
    _finalise(tenant, assessment)
    items, _html = links(Role.AUDITOR)
    assert download[minutes] in items[0] and download[cert] in items[1]
    assert detail[minutes] not in items[0] and detail[cert] not in items[1]
    auditor = client_for(tenant.auditor)
    got, body = _download(auditor, f"/o/{slug}/evidence/{minutes.pk}/download/")
    assert got.status_code == 200 and got["Content-Disposition"].startswith("attachment;") and body.startswith(b"%PDF")
    assert auditor.get(f"/o/{slug}/evidence/{minutes.pk}/").status_code == 403


# The page as reviewers read it: 3 for every page, + the assessment; the responses with their criteria;
# their citations with the files; their action items with owners; the comments with replies (no library:
# nobody edits here). Cited files' links and dates come from those rows. An auditor's view is also
# written to the audit trail (the chain head's UPDATE and the event's INSERT).
READING_QUERIES = {Role.WORKFORCE_REP: 8, Role.MANAGER: 8, Role.AUDITOR: 10}


@pytest.mark.parametrize("role", READING_QUERIES)
def test_criterion_page_in_review_runs_the_same_queries_however_much_evidence_is_cited(
    tenant, assessment, role
) -> None:
    from datetime import date

    from assessments.models import Citation

    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=tenant.manager, maturity=1, narrative="x", evidence_ids=[])
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    if role == Role.AUDITOR:
        _finalise(tenant, assessment)
    responses = [r for code, r in responses_by_code(assessment).items() if code.startswith("1.")]
    client = client_for(tenant.user(role))
    url = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/"
    made = 0
    for files in (1, 8):
        for i in range(made, files):
            evidence = _file(
                tenant, f"f{i}.pdf", effective=date(2026, 1, 1), expiry=date(2026, 2, 1) if i % 2 else None
            )
            for response in responses:  # the page is read-only now: rows as a grown library would have them
                Citation.objects.create(organisation=tenant.organisation, response=response, evidence=evidence)
        made = files
        client.get(url)
        with assert_queries(READING_QUERIES[role], f"{role} principle page, {files} files cited per criterion"):
            html = client.get(url).content.decode()
        assert len(_cited_items(html, "1.1")) == files


# --- the signing page and what a signer is offered (issue 18, part 3) --------------------------


def _attrs(element) -> dict:
    return dict(element.attributes)


def _sign_form(html: str):
    """The signing form (the page has other forms: the header's sign-out) as a django.test.html tree."""
    from django.test.html import parse_html

    forms = re.findall(r"<form\b.*?</form>", html, re.S)
    return parse_html(next(f for f in forms if 'name="content_hash"' in f))


def _box(form, box_id: str):
    found = _elements(form, lambda e: _attrs(e).get("id") == box_id)
    assert len(found) == 1, box_id
    return found[0]


def test_each_decision_reveals_its_own_box_and_both_show_without_javascript(tenant, in_review) -> None:
    rep = client_for(tenant.rep)
    html = rep.get(_url(tenant, in_review, "sign/")).content.decode()
    form = _sign_form(html)
    radios = {
        _attrs(e)["value"]: _attrs(e)
        for e in _elements(form, lambda e: e.name == "input" and _attrs(e).get("type") == "radio")
    }
    # The script turns data-aria-controls into aria-controls and hides the boxes not chosen (GOV.UK's
    # conditional reveal); "Sign" reveals nothing.
    assert radios["sign_with_reservations"]["data-aria-controls"] == "conditional-reservations"
    assert radios["decline"]["data-aria-controls"] == "conditional-reasons"
    assert "data-aria-controls" not in radios["sign"]
    for box_id, field in (("conditional-reservations", "reservations"), ("conditional-reasons", "reasons")):
        box = _box(form, box_id)
        assert "radios__conditional" in _classes(box)
        assert "hidden" not in _attrs(box)  # served visible: without JavaScript both boxes show and work
        assert [_attrs(t)["name"] for t in _elements(box, lambda e: e.name == "textarea")] == [field]
    # Each box comes straight after its own radio.
    order = [
        'value="sign_with_reservations"',
        'id="conditional-reservations"',
        'value="decline"',
        'id="conditional-reasons"',
    ]
    assert [html.index(marker) for marker in order] == sorted(html.index(marker) for marker in order)

    # The server still asks for the box that goes with the decision, and shows the error inside it.
    refused = rep.post(
        _url(tenant, in_review, "sign/"),
        {
            "decision": "decline",
            "reasons": "",
            "typed_name": "Rachel Reid",
            "content_hash": workflow.subject_hash(in_review),
        },
    )
    assert refused.status_code == 400
    assert "Give your reasons for declining" in _text(_box(_sign_form(refused.content.decode()), "conditional-reasons"))


def test_only_the_text_that_goes_with_the_decision_is_recorded(tenant, in_review) -> None:
    """A box hidden by the page (typed in before the signer changed their mind) is not what they said."""
    response = client_for(tenant.rep).post(
        _url(tenant, in_review, "sign/"),
        {
            "decision": "sign",
            "reservations": "Typed before choosing to sign as it stands.",
            "reasons": "Typed before choosing to sign as it stands.",
            "typed_name": "Rachel Reid",
            "content_hash": workflow.subject_hash(in_review),
        },
    )
    assert response.status_code == 302
    with scope(organisation=tenant.organisation):
        signature = Signature.objects.get()
    assert (signature.decision, signature.reservations, signature.reasons) == ("sign", "", "")


def test_request_changes_is_not_offered_to_the_rep_whose_signature_counts(tenant, in_review) -> None:
    overview = f"/o/{tenant.organisation.slug}/assessments/{in_review.pk}/"
    request_changes = _url(tenant, in_review, "request-changes/")
    rep = client_for(tenant.rep)
    assert f'href="{request_changes}"' in rep.get(overview).content.decode()
    rep.post(
        _url(tenant, in_review, "sign/"),
        {"decision": "sign", "typed_name": "Rachel Reid", "content_hash": workflow.subject_hash(in_review)},
    )
    html = rep.get(overview).content.decode()
    assert f'href="{request_changes}"' not in html
    assert "You countersigned this for the workforce on" in html and "It is agreed once management signs." in html
    # Another representative, who has not signed, still can.
    other = UserFactory()
    add_member(tenant.organisation, other, Role.WORKFORCE_REP)
    other_html = client_for(other).get(overview).content.decode()
    assert f'href="{request_changes}"' in other_html and "You countersigned" not in other_html
    # Reached anyway, the page says what it does to their signature (it is allowed: it is how a
    # representative takes back an agreement before the item is agreed).
    page = rep.get(request_changes).content.decode()
    assert "If you request changes, your signature stops counting: you sign again on what comes back." in page
    assert "your signature stops counting" not in client_for(other).get(request_changes).content.decode()


def test_request_changes_is_not_offered_beside_the_reps_signature_on_a_plan(tenant) -> None:
    from tests.assessments.test_plans import new_plan, submitted
    from tests.assessments.test_plans import sign as plan_sign

    plan = submitted(new_plan(tenant), tenant)
    page = f"/o/{tenant.organisation.slug}/plans/{plan.pk}/"
    request_changes = f"/o/{tenant.organisation.slug}/review/plan/{plan.pk}/request-changes/"
    rep = client_for(tenant.rep)
    assert f'href="{request_changes}"' in rep.get(page).content.decode()
    plan_sign(plan, tenant.rep, "sign_with_reservations", reservations="Review after six months.")
    html = rep.get(page).content.decode()
    assert f'href="{request_changes}"' not in html and "You countersigned this for the workforce on" in html


def test_the_plan_signing_page_names_owners_and_lists_characteristics_in_the_acts_order(tenant) -> None:
    from django.test.html import parse_html

    from assessments.models import Characteristic, EqiaOutcome, Impact
    from assessments.plans import EqiaRowInput
    from tests.assessments.test_plans import new_plan, rows, submitted

    tenant.manager.full_name = "Mark Mensah"
    tenant.manager.save(update_fields=["full_name"])
    owned = {
        c: EqiaRowInput(c, Impact.NEGATIVE, "Staff survey", "Shift patterns agreed with each person", tenant.manager)
        for c in ("age", "caring_responsibilities")
    }
    plan = submitted(new_plan(tenant), tenant, eqia_rows=rows(**owned), outcome=EqiaOutcome.ADJUST)
    html = client_for(tenant.rep).get(f"/o/{tenant.organisation.slug}/review/plan/{plan.pk}/sign/").content.decode()
    equality = html[re.search(r"Equality impact assessment\s*</h2>", html).end() :]
    equality = parse_html(equality[: equality.index("</dl>") + len("</dl>")])
    keys = [_text(dt) for dt in _elements(equality, lambda e: e.name == "dt")]
    # As the EqIA page lists them: the Act's nine, then working patterns and caring responsibilities.
    assert keys == [str(label) for _value, label in Characteristic.choices] + ["Outcome", "Justification"]
    text = _text(equality)
    assert text.count("Owner: Mark Mensah") == 2 and tenant.manager.email not in text


def test_the_eqia_page_says_outcome_once(tenant) -> None:
    """The read-only EqIA (in review, or to a representative) had a heading "Outcome" over a row "Outcome"."""
    from tests.assessments.test_plans import new_plan, submitted

    plan = submitted(new_plan(tenant), tenant)
    for user in (tenant.rep, tenant.manager):
        html = client_for(user).get(f"/o/{tenant.organisation.slug}/plans/{plan.pk}/equality/").content.decode()
        labels = [
            " ".join(re.sub(r"<[^>]+>", " ", label).split())
            for label in re.findall(r"<(?:h[1-6]|legend|dt)\b[^>]*>(.*?)</(?:h[1-6]|legend|dt)>", html, re.S)
        ]
        assert [label for label in labels if "outcome" in label.lower()] == ["Outcome"], labels
