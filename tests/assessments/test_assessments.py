"""Self-assessment cycles: per-role access, saving (form and autosave), progress, submission."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_scopes import scope

from assessments import services
from assessments.models import Assessment, AssessmentStatus, Citation, Response
from assessments.selectors import assessment_progress
from portal.models import AuditEvent, Outbox
from portal.roles import Role
from tests.assessments.conftest import PDF, responses_by_code
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _answer_all(assessment, actor, level=2) -> None:
    for response in responses_by_code(assessment).values():
        services.response_save(response=response, actor=actor, maturity=level, narrative="Done", evidence_ids=[])


def _evidence(tenant, name="minutes.pdf"):
    return services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name=name,
        description="Minutes",
        effective_date=timezone.localdate(),
        expiry_date=None,
    )


def test_starting_an_assessment_creates_a_response_per_criterion(tenant, framework) -> None:
    client = client_for(tenant.manager)
    slug = tenant.organisation.slug
    response = client.post(
        f"/o/{slug}/assessments/new/",
        {"title": "Self-assessment 2026", "period_start": "2026-01-01", "period_end": "2026-12-31"},
    )
    with scope(organisation=tenant.organisation):
        assessment = Assessment.objects.get()
        assert Response.objects.filter(assessment=assessment).count() == 36
        assert AuditEvent.objects.filter(verb="assessment.created").exists()
    assert response["Location"] == f"/o/{slug}/assessments/{assessment.pk}/"
    assert assessment.framework == framework
    overview = client.get(response["Location"]).content.decode()
    assert overview.count("Not started") == 6


def test_period_must_end_after_it_starts(tenant, framework) -> None:
    response = client_for(tenant.manager).post(
        f"/o/{tenant.organisation.slug}/assessments/new/",
        {"title": "Backwards", "period_start": "2026-12-31", "period_end": "2026-01-01"},
    )
    html = response.content.decode()
    assert "The end of the period must be on or after its start" in html and 'value="Backwards"' in html
    with scope(organisation=tenant.organisation):
        assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    ("role", "can_edit"), [(Role.OWNER, True), (Role.MANAGER, True), (Role.WORKFORCE_REP, False), (Role.MEMBER, False)]
)
def test_principle_page_is_editable_only_by_owners_and_managers(tenant, assessment, role, can_edit) -> None:
    client = client_for(tenant.user(role))
    url = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/"
    html = client.get(url).content.decode()
    assert ('type="radio"' in html) is can_edit
    assert "Plans for introducing digital technology are shared" in html  # everyone can read it
    response = client.post(url, {})
    assert response.status_code == (302 if can_edit else 403)


def test_auditors_see_nothing_unfinished(tenant, assessment) -> None:
    client = client_for(tenant.auditor)
    slug = tenant.organisation.slug
    assert client.get(f"/o/{slug}/assessments/{assessment.pk}/").status_code == 404
    assert client.get(f"/o/{slug}/assessments/{assessment.pk}/principles/1/").status_code == 404
    assert "Self-assessment 2026" not in client.get(f"/o/{slug}/assessments/").content.decode()
    with scope(organisation=tenant.organisation):
        Assessment.objects.filter(pk=assessment.pk).update(status=AssessmentStatus.FINAL)
    assert client.get(f"/o/{slug}/assessments/{assessment.pk}/").status_code == 200


def test_full_page_form_saves_every_criterion_without_javascript(tenant, assessment) -> None:
    responses = responses_by_code(assessment)
    evidence = _evidence(tenant)
    data = {f"r-{responses[f'1.{i}'].pk}-maturity": str(i % 5) for i in range(1, 7)}
    data[f"r-{responses['1.1'].pk}-narrative"] = "Shared at the joint committee"
    data[f"r-{responses['1.1'].pk}-evidence"] = str(evidence.pk)
    data["next"] = "1"
    client = client_for(tenant.manager)
    response = client.post(f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/", data)
    assert response["Location"].endswith("/principles/2/")
    saved = responses_by_code(assessment)
    assert [saved[f"1.{i}"].maturity for i in range(1, 7)] == [1, 2, 3, 4, 0, 1]
    assert saved["1.1"].narrative == "Shared at the joint committee"
    with scope(organisation=tenant.organisation):
        assert list(Citation.objects.values_list("evidence_id", flat=True)) == [evidence.pk]


def test_bad_values_are_shown_at_the_criterion_and_nothing_else_is_lost(tenant, assessment) -> None:
    responses = responses_by_code(assessment)
    data = {
        f"r-{responses['1.1'].pk}-maturity": "9",
        f"r-{responses['1.2'].pk}-maturity": "2",
        f"r-{responses['1.2'].pk}-narrative": "Kept",
    }
    response = client_for(tenant.manager).post(
        f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/", data
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "<title>Error:" in html and 'href="#criterion-1-1"' in html
    assert "Choose a maturity level from 0 to 4" in html
    assert responses_by_code(assessment)["1.2"].narrative == "Kept"


def test_autosave_saves_one_criterion_and_says_when(tenant, assessment) -> None:
    response_1_1 = responses_by_code(assessment)["1.1"]
    url = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/responses/{response_1_1.pk}/autosave/"
    client = client_for(tenant.manager)
    result = client.post(
        url,
        {f"r-{response_1_1.pk}-maturity": "2", f"r-{response_1_1.pk}-narrative": "Draft text"},
        HTTP_HX_REQUEST="true",
    )
    assert result.status_code == 200 and "Saved " in result.content.decode()
    response_1_1.refresh_from_db()
    assert response_1_1.maturity == 2 and response_1_1.narrative == "Draft text"
    assert client_for(tenant.rep).post(url, {f"r-{response_1_1.pk}-maturity": "4"}).status_code == 403
    response_1_1.refresh_from_db()
    assert response_1_1.maturity == 2


@pytest.mark.parametrize(
    ("moment", "saved"),
    [("2026-12-07 14:02:30+00:00", "14:02 GMT"), ("2026-07-01 13:02:30+00:00", "14:02 BST")],
)
def test_autosave_says_when_beside_the_field_and_once_to_screen_readers(tenant, assessment, moment, saved) -> None:
    """The reply says the portal's time with its zone; the page shows the status under the narrative
    (static/js/portal.js moves it beside whichever field was edited), hidden from screen readers, who
    hear the criterion's one polite live region instead."""
    import time_machine

    response_1_1 = responses_by_code(assessment)["1.1"]
    slug = tenant.organisation.slug
    client = client_for(tenant.manager)
    url = f"/o/{slug}/assessments/{assessment.pk}/responses/{response_1_1.pk}/autosave/"
    with time_machine.travel(moment, tick=False):
        reply = client.post(url, {f"r-{response_1_1.pk}-narrative": "Draft"}, HTTP_HX_REQUEST="true")
    assert reply.content.decode().strip() == f"Saved at {saved}"

    html = client.get(f"/o/{slug}/assessments/{assessment.pk}/principles/1/").content.decode()
    section = re.search(r'<section class="criterion card" id="criterion-1-1".*?</section>', html, re.S).group(0)
    day = "7 December 2026" if "12-07" in moment else "1 July 2026"
    # Straight under the narrative being typed in, inside its form group.
    assert re.search(
        rf'<div class="form-group" data-autosave-field>\s*<label[^>]*-narrative">.*?</textarea>\s*'
        rf'<p class="autosave-status" aria-hidden="true">Last saved {day}, {saved}</p>\s*</div>',
        section,
        re.S,
    ), section
    live = re.findall(r"<[^>]*aria-live[^>]*>", section)
    assert live == ['<p class="autosave-live visually-hidden" aria-live="polite">'], live
    assert 'hx-target="find .autosave-live"' in section


def test_a_file_uploaded_from_a_criterion_comes_back_cited_there(tenant, assessment) -> None:
    responses = responses_by_code(assessment)
    services.response_save(
        response=responses["4.1"], actor=tenant.manager, maturity=3, narrative="Kept as typed", evidence_ids=[]
    )
    earlier = _evidence(tenant, "earlier.pdf")
    services.response_cite(response=responses_by_code(assessment)["4.1"], evidence=earlier, actor=tenant.manager)
    client = client_for(tenant.manager)
    slug = tenant.organisation.slug
    principle = f"/o/{slug}/assessments/{assessment.pk}/principles/4/"
    page = client.get(principle).content.decode()
    link = re.search(r'<a href="([^"]+)">Upload evidence<span class="visually-hidden"> for criterion 4.1</span>', page)
    assert link, "criterion 4.1 offers an upload"
    upload_url = link.group(1).replace("&amp;", "&")
    form = client.get(upload_url).content.decode()
    assert "The file will be cited on 4.1" in form and f'href="{principle}#criterion-4-1"' in form  # back link

    data = {
        "file": _pdf_upload("camera-consultation.pdf"),
        "description": "Camera consultation",
        "effective_date": "2026-03-01",
    }
    done = client.post(upload_url, data)
    assert done.status_code == 302 and done["Location"] == f"{principle}#criterion-4-1"
    after = responses_by_code(assessment)["4.1"]
    with scope(organisation=tenant.organisation):
        cited = sorted(
            c.evidence.original_name for c in Citation.objects.filter(response=after).select_related("evidence")
        )
    assert cited == ["camera-consultation.pdf", "earlier.pdf"]
    assert after.maturity == 3 and after.narrative == "Kept as typed"  # the rest of the answer as it was
    back = client.get(done["Location"]).content.decode()
    assert "camera-consultation.pdf has been added to the evidence library and cited on 4.1." in back
    box = re.search(
        r'<input[^>]*id="r-' + str(after.pk) + r'-evidence-[^"]*"[^>]*>\s*<label[^>]*>camera-consultation.pdf', back
    )
    assert box and " checked" in box.group(0)


def test_an_upload_for_an_answer_that_cannot_change_goes_to_the_library_only(tenant, assessment, outsider) -> None:
    _answer_all(assessment, tenant.manager, level=2)
    response_1_1 = responses_by_code(assessment)["1.1"]
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    client = client_for(tenant.manager)
    slug = tenant.organisation.slug
    data = {"file": _pdf_upload("late.pdf"), "description": "Late", "effective_date": "2026-03-01"}
    done = client.post(f"/o/{slug}/evidence/new/?response={response_1_1.pk}", data)
    assert done["Location"] == f"/o/{slug}/evidence/"
    for bad in ("not-a-uuid", str(outsider.pk)):
        data["file"] = _pdf_upload(f"{bad}.pdf")
        assert client.post(f"/o/{slug}/evidence/new/?response={bad}", data)["Location"] == f"/o/{slug}/evidence/"
    with scope(organisation=tenant.organisation):
        assert not Citation.objects.exists()


def _pdf_upload(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def test_citing_another_organisations_evidence_is_refused(tenant, assessment, outsider) -> None:
    from django_scopes import scopes_disabled

    from portal.models import Organisation

    with scopes_disabled():
        other = Organisation.objects.exclude(pk=tenant.organisation.pk).get()
    foreign = services.evidence_upload(
        organisation=other,
        actor=outsider,
        file=io.BytesIO(PDF),
        name="theirs.pdf",
        description="Not yours",
        effective_date=timezone.localdate(),
        expiry_date=None,
    )
    response_1_1 = responses_by_code(assessment)["1.1"]
    url = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/responses/{response_1_1.pk}/autosave/"
    result = client_for(tenant.manager).post(url, {f"r-{response_1_1.pk}-evidence": str(foreign.pk)})
    assert result.status_code == 422 and "Choose evidence from your organisation" in result.content.decode()
    with scope(organisation=tenant.organisation):
        assert not Citation.objects.exists()


def test_progress_counts_answers_missing_evidence_and_overdue_actions(tenant, assessment) -> None:
    responses = responses_by_code(assessment)
    services.response_save(response=responses["1.1"], actor=tenant.manager, maturity=3, narrative="", evidence_ids=[])
    services.response_save(response=responses["1.2"], actor=tenant.manager, maturity=1, narrative="", evidence_ids=[])
    services.action_item_create(
        response=responses["1.2"],
        actor=tenant.manager,
        title="Fix it",
        owner=tenant.rep,
        due_date=timezone.localdate() - timedelta(days=1),
    )
    with scope(organisation=tenant.organisation):
        first = assessment_progress(assessment).principles[0]
    assert (first.answered, first.total, first.evidence_missing, first.overdue_actions) == (2, 6, 1, 1)
    assert first.status == "in_progress" and first.average_maturity == 2.0


def test_submission_lists_what_to_fix_and_links_each_criterion(tenant, assessment) -> None:
    responses = responses_by_code(assessment)
    services.response_save(response=responses["1.1"], actor=tenant.manager, maturity=4, narrative="", evidence_ids=[])
    client = client_for(tenant.manager)
    url = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/submit/"
    response = client.post(url)
    html = response.content.decode()
    assert response.status_code == 400
    assert (
        "1.1 Plans for introducing digital technology are shared with the workforce before decisions are made: "
        "cite evidence for maturity 4" in html
    )
    assert "1.2" in html and "choose a maturity level" in html
    # Each error links to its criterion's field, on a page that says what is wrong there.
    evidence_link = f"/principles/1/?check=1#r-{responses['1.1'].pk}-evidence"
    maturity_link = f"/principles/1/?check=1#r-{responses['1.2'].pk}-maturity"
    assert evidence_link in html and maturity_link in html
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.DRAFT

    page = client.get(f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/?check=1")
    fields = _fields_in_error(page.content.decode())
    assert page.status_code == 200
    assert fields[f"r-{responses['1.1'].pk}-evidence"] == "Error: Cite evidence for maturity 4, or lower the level"
    assert fields[f"r-{responses['1.2'].pk}-maturity"] == "Error: Choose a maturity level"
    assert len(fields) == 6  # 1.1's evidence; 1.2 to 1.6 unanswered
    # Only when reached from the check: a principle being filled in is not shouted at.
    plain = client.get(f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/")
    assert _fields_in_error(plain.content.decode()) == {}


def _fields_in_error(html: str) -> dict[str, str]:
    """{fieldset id: its error message} for every field marked in error (GOV.UK style: the group's red
    border, the message inside the fieldset, tied to it by aria-describedby)."""
    found = {}
    for group in re.findall(r'<div class="form-group form-group--error"[^>]*>(.*?)</fieldset>', html, re.S):
        fieldset = re.search(r'<fieldset class="fieldset" id="([^"]+)" aria-describedby="([^"]+)"', group)
        assert fieldset, group[:300]
        message = re.search(rf'<p class="error-message" id="{fieldset.group(2)}">(.*?)</p>', group, re.S)
        assert message, group[:300]
        found[fieldset.group(1)] = " ".join(re.sub(r"<[^>]+>", "", message.group(1)).split())
    return found


def test_submission_locks_editing_and_emails_the_reps(tenant, assessment, django_capture_on_commit_callbacks) -> None:
    _answer_all(assessment, tenant.manager, level=2)
    client = client_for(tenant.manager)
    slug = tenant.organisation.slug
    check = client.get(f"/o/{slug}/assessments/{assessment.pk}/submit/").content.decode()
    assert tenant.rep.email in check and "Send for workforce review" in check
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/o/{slug}/assessments/{assessment.pk}/submit/")
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.IN_REVIEW and assessment.submitted_by == tenant.manager
    sent = [m for m in mail.outbox if m.to == [tenant.rep.email]]
    assert len(sent) == 1
    assert "is ready for your review" in sent[0].subject and "Acme Precision Engineering" in sent[0].subject
    assert f"/o/{slug}/assessments/{assessment.pk}/" in sent[0].body
    assert sent[0].alternatives[0][1] == "text/html"
    with scope(organisation=tenant.organisation):
        assert Outbox.objects.get().status == "sent"
    # Editing is locked until changes are requested.
    assert client.post(f"/o/{slug}/assessments/{assessment.pk}/principles/1/", {}).status_code == 403
    with pytest.raises(Exception, match="cannot be edited"):
        services.response_save(
            response=responses_by_code(assessment)["1.1"],
            actor=tenant.manager,
            maturity=4,
            narrative="",
            evidence_ids=[],
        )
    page = client.get(f"/o/{slug}/assessments/{assessment.pk}/principles/1/").content.decode()
    assert 'type="radio"' not in page and "cannot be edited" in page


def test_expired_evidence_is_flagged_where_it_is_cited(tenant, assessment) -> None:
    evidence = services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name="old-cert.pdf",
        description="Certificate",
        effective_date=timezone.localdate() - timedelta(days=400),
        expiry_date=timezone.localdate() - timedelta(days=3),
    )
    services.response_save(
        response=responses_by_code(assessment)["1.1"],
        actor=tenant.manager,
        maturity=3,
        narrative="",
        evidence_ids=[evidence.pk],
    )
    client = client_for(tenant.rep)
    slug = tenant.organisation.slug
    page = client.get(f"/o/{slug}/assessments/{assessment.pk}/principles/1/").content.decode()
    assert "old-cert.pdf" in page and "Expired" in page
    assert "1 expired file cited" in client.get(f"/o/{slug}/assessments/{assessment.pk}/").content.decode()


def test_check_and_send_flags_expired_evidence_as_the_overview_does(tenant, assessment) -> None:
    expired = services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name="old-cert.pdf",
        description="Certificate",
        effective_date=timezone.localdate() - timedelta(days=400),
        expiry_date=timezone.localdate() - timedelta(days=3),
    )
    _answer_all(assessment, tenant.manager, level=2)
    services.response_cite(response=responses_by_code(assessment)["4.1"], evidence=expired, actor=tenant.manager)
    client = client_for(tenant.manager)
    slug = tenant.organisation.slug
    check = client.get(f"/o/{slug}/assessments/{assessment.pk}/submit/").content.decode()
    assert "1 expired file cited" in client.get(f"/o/{slug}/assessments/{assessment.pk}/").content.decode()
    assert "1 expired file is cited. The representatives will see it marked “Expired”" in check
    rows = re.findall(r'<div class="summary-list__row">.*?</div>', check, re.S)
    flagged = [row for row in rows if "expired file cited" in row]
    assert len(flagged) == 1 and "4. " in flagged[0], flagged
    assert "Send for workforce review" in check  # a warning, not a block: the representatives decide


def test_action_owners_are_people_who_can_act_not_auditors(tenant, assessment) -> None:
    response_1_1 = responses_by_code(assessment)["1.1"]
    client = client_for(tenant.manager)
    url = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/responses/{response_1_1.pk}/actions/new/"
    page = client.get(url).content.decode()
    offered = set(re.findall(r'<option value="([0-9a-f-]+)"', page))
    can_act = {tenant.owner, tenant.manager, tenant.rep, tenant.member}
    assert offered == {str(u.pk) for u in can_act}
    refused = client.post(url, {"title": "Audit the log", "owner": tenant.auditor.pk, "due_date": "2026-12-01"})
    assert "Choose an owner from the organisation&#x27;s members who can act on it" in refused.content.decode()
    with pytest.raises(Exception, match="who can act on it"):
        services.action_item_create(
            response=response_1_1, actor=tenant.manager, title="x", owner=tenant.auditor, due_date=timezone.localdate()
        )
    with scope(organisation=tenant.organisation):
        assert not response_1_1.action_items.exists()


def test_action_items_take_owners_from_the_members_only(tenant, assessment, outsider) -> None:
    response_1_1 = responses_by_code(assessment)["1.1"]
    client = client_for(tenant.manager)
    url = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/responses/{response_1_1.pk}/actions/new/"
    bad = client.post(url, {"title": "Set up log", "owner": outsider.pk, "due_date": "2026-12-01"})
    assert "Choose an owner from the organisation&#x27;s members who can act on it" in bad.content.decode()
    good = client.post(url, {"title": "Set up log", "owner": tenant.rep.pk, "due_date": "2026-12-01"})
    assert good.status_code == 302 and good["Location"].endswith("#criterion-1-1")
    with scope(organisation=tenant.organisation):
        item = response_1_1.action_items.get()
    assert item.owner == tenant.rep and item.status == "open"
    edit = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/actions/{item.pk}/"
    client.post(edit, {"title": "Set up log", "owner": tenant.rep.pk, "due_date": "2026-12-01", "status": "done"})
    item.refresh_from_db()
    assert item.status == "done" and item.completed_at is not None
    delete = f"{edit}delete/"
    assert "Yes, delete it" in client.get(delete).content.decode()
    client.post(delete)
    with scope(organisation=tenant.organisation):
        assert not response_1_1.action_items.exists()


def test_dashboard_shows_commitment_chart_and_overdue_actions(tenant, assessment) -> None:
    responses = responses_by_code(assessment)
    services.response_save(response=responses["1.1"], actor=tenant.manager, maturity=2, narrative="", evidence_ids=[])
    services.action_item_create(
        response=responses["1.1"],
        actor=tenant.manager,
        title="Late thing",
        owner=None,
        due_date=timezone.localdate() - timedelta(days=2),
    )
    html = client_for(tenant.manager).get(f"/o/{tenant.organisation.slug}/").content.decode()
    assert "Not signed" in html
    # The chart is of the last final assessment (tests/portal/test_dashboard_cycle.py); a draft shows
    # its progress and next step.
    assert "Late thing" in html and "Overdue" in html
    assert "Continue principle 1 of 6: Partnership at Work" in html
    rep_html = client_for(tenant.rep).get(f"/o/{tenant.organisation.slug}/").content.decode()
    assert "Continue principle" not in rep_html and "Management is writing it" in rep_html


def test_start_page_offers_the_calendar_year_in_a_format_date_pickers_keep(tenant, framework) -> None:
    year = timezone.localdate().year
    html = client_for(tenant.manager).get(f"/o/{tenant.organisation.slug}/assessments/new/").content.decode()
    assert f'value="{year}-01-01"' in html and f'value="{year}-12-31"' in html
