"""The review and signing workflow on a self-assessment (DESIGN.md section 6), through the services.

draft -> in_review -> (changes_requested -> in_review)* -> agreed -> final: one management signature
and one workforce countersignature make an item final; a signature binds the hash of what was signed.
"""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_scopes import scope

from assessments import services, workflow
from assessments.models import AssessmentStatus, ChangeRequest, Response, ReviewComment
from assessments.workflow import signatures_for, subject_hash
from portal.models import AuditEvent, Membership, Outbox, Signature, SignatureCapacity, SignatureDecision
from portal.roles import Role
from portal.signing import SigningContext
from tests.assessments.conftest import PDF, responses_by_code

pytestmark = pytest.mark.django_db

CONTEXT = SigningContext(ip_address="127.0.0.1", user_agent="pytest")


# --- helpers --------------------------------------------------------------------------------


def answer_all(assessment, actor, level: int = 1) -> None:
    for code, response in responses_by_code(assessment).items():
        services.response_save(
            response=response, actor=actor, maturity=level, narrative=f"How we meet {code}", evidence_ids=[]
        )


def sign(subject, user, decision: str = SignatureDecision.SIGN, *, expected_hash: str | None = None, **kwargs):
    return workflow.subject_sign(
        subject=subject,
        signer=user,
        decision=decision,
        typed_name=kwargs.pop("typed_name", user.full_name or user.email),
        expected_hash=expected_hash or subject_hash(subject),
        context=CONTEXT,
        **kwargs,
    )


def signature_count(tenant) -> int:
    with scope(organisation=tenant.organisation):
        return Signature.objects.count()


def queued(tenant, dedupe_key: str) -> dict[str, Outbox]:
    """The notification emails queued for one event (the notifications' key), by recipient."""
    from portal.models import Notification

    with scope(organisation=tenant.organisation):
        emails = Notification.objects.filter(dedupe_key=dedupe_key, email__isnull=False).values_list("email", flat=True)
        return {o.to_email: o for o in Outbox.objects.filter(pk__in=list(emails))}


def comments_emailed_straight_away(*people) -> None:
    """Comments go to the daily summary by default; these people chose to have them straight away."""
    from portal.notifications import set_preference

    for person in people:
        set_preference(user=person, kind="comment", delivery="immediate")


def audit_verbs(tenant) -> list[str]:
    with scope(organisation=tenant.organisation):
        return list(AuditEvent.objects.order_by("sequence").values_list("verb", flat=True))


def verify_signatures() -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("verify_signatures", stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def void_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("VOID")]


def upload_evidence(tenant, name: str = "minutes.pdf"):
    return services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name=name,
        description="Joint committee minutes",
        effective_date=timezone.localdate(),
        expiry_date=None,
    )


@pytest.fixture
def in_review(tenant, assessment):
    """The assessment fully answered and sent to workforce review."""
    answer_all(assessment, tenant.manager)
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    assert assessment.status == AssessmentStatus.IN_REVIEW
    return assessment


@pytest.fixture
def final(tenant, in_review):
    sign(in_review, tenant.rep)
    sign(in_review, tenant.manager)
    assert in_review.status == AssessmentStatus.FINAL
    return in_review


# --- reaching agreement ---------------------------------------------------------------------


def test_rep_then_manager_signing_makes_the_assessment_final(tenant, in_review) -> None:
    rep_signature = sign(in_review, tenant.rep)
    assert in_review.status == AssessmentStatus.IN_REVIEW and in_review.finalised_at is None
    assert rep_signature.capacity == SignatureCapacity.WORKFORCE and rep_signature.signer_role == Role.WORKFORCE_REP

    manager_signature = sign(in_review, tenant.manager, job_title="Operations manager")
    assert in_review.status == AssessmentStatus.FINAL and in_review.finalised_at is not None
    assert manager_signature.capacity == SignatureCapacity.MANAGEMENT
    assert manager_signature.content_hash == rep_signature.content_hash == subject_hash(in_review)
    assert (manager_signature.ip_address, manager_signature.user_agent) == ("127.0.0.1", "pytest")
    assert manager_signature.job_title == "Operations manager" and "For the management of" in (
        manager_signature.statement
    )

    verbs = audit_verbs(tenant)
    assert verbs.count("signature.sign") == 2
    assert verbs.index("assessment.agreed") < verbs.index("assessment.finalised")
    with scope(organisation=tenant.organisation):
        finalised = AuditEvent.objects.get(verb="assessment.finalised")
    assert finalised.target_id == str(in_review.pk) and finalised.after["status"] == "final"

    views = signatures_for(in_review)
    assert [(v.signature.signer, v.valid) for v in views] == [(tenant.rep, True), (tenant.manager, True)]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OWNER])
def test_management_may_sign_first(tenant, in_review, role) -> None:
    sign(in_review, tenant.user(role))
    assert in_review.status == AssessmentStatus.IN_REVIEW
    sign(in_review, tenant.rep)
    assert in_review.status == AssessmentStatus.FINAL and in_review.finalised_at is not None
    assert {v.signature.capacity for v in signatures_for(in_review) if v.valid} == {"management", "workforce"}


def test_signing_with_reservations_needs_them_written_and_keeps_them_word_for_word(tenant, in_review) -> None:
    for empty in ("", "   \n "):
        with pytest.raises(ValidationError) as refused:
            sign(in_review, tenant.rep, SignatureDecision.SIGN_WITH_RESERVATIONS, reservations=empty)
        assert "reservations" in refused.value.message_dict
    assert signature_count(tenant) == 0

    with pytest.raises(ValidationError) as unnamed:
        sign(in_review, tenant.rep, typed_name="  ")
    assert "typed_name" in unnamed.value.message_dict

    text = "We agree, provided the night shift is consulted again in May.\nNo monitoring of “break times”."
    signature = sign(in_review, tenant.rep, SignatureDecision.SIGN_WITH_RESERVATIONS, reservations=text)
    signature.refresh_from_db()
    assert signature.reservations == text and signature.decision == "sign_with_reservations"

    sign(in_review, tenant.manager)
    assert in_review.status == AssessmentStatus.FINAL  # reservations still count as agreement
    assert "signature.sign_with_reservations" in audit_verbs(tenant)


def test_declining_needs_reasons_and_sends_the_item_back_for_changes(tenant, in_review) -> None:
    with pytest.raises(ValidationError) as refused:
        sign(in_review, tenant.rep, SignatureDecision.DECLINE, reasons="  ")
    assert "reasons" in refused.value.message_dict
    assert in_review.status == AssessmentStatus.IN_REVIEW

    sign(in_review, tenant.rep, SignatureDecision.DECLINE, reasons="Criterion 1.1 overstates the consultation.")
    assert in_review.status == AssessmentStatus.CHANGES_REQUESTED
    with scope(organisation=tenant.organisation):
        request = ChangeRequest.objects.get(subject_id=in_review.pk)
    assert request.reasons == "Criterion 1.1 overstates the consultation." and request.requested_by == tenant.rep
    assert request.subject_type == "assessment"

    # Management can edit again, resubmit, and the representative can then sign.
    response = responses_by_code(in_review)["1.1"]
    result = services.response_save(
        response=response, actor=tenant.manager, maturity=0, narrative="Not yet shared", evidence_ids=[]
    )
    assert result.changed
    services.assessment_submit(assessment=in_review, actor=tenant.manager)
    sign(in_review, tenant.rep)
    sign(in_review, tenant.manager)
    assert in_review.status == AssessmentStatus.FINAL


# --- separation of duties and who may do what -----------------------------------------------


@pytest.mark.parametrize(("first", "becomes"), [(Role.MANAGER, Role.WORKFORCE_REP), (Role.WORKFORCE_REP, Role.MANAGER)])
def test_nobody_signs_one_item_for_both_sides(tenant, in_review, first, becomes) -> None:
    person = tenant.user(first)
    sign(in_review, person)
    with scope(organisation=tenant.organisation):
        Membership.objects.filter(organisation=tenant.organisation, user=person).update(role=becomes)
    with pytest.raises(ValidationError, match="both"):
        sign(in_review, person)
    assert signature_count(tenant) == 1
    in_review.refresh_from_db()
    assert in_review.status == AssessmentStatus.IN_REVIEW


@pytest.mark.parametrize("role", [Role.WORKFORCE_REP, Role.MANAGER])
def test_signing_twice_on_the_same_side_is_refused(tenant, in_review, role) -> None:
    sign(in_review, tenant.user(role))
    with pytest.raises(ValidationError, match="already signed"):
        sign(in_review, tenant.user(role))
    assert signature_count(tenant) == 1


@pytest.mark.parametrize("role", [Role.MEMBER, Role.AUDITOR])
def test_members_and_auditors_cannot_sign_or_comment(tenant, in_review, role) -> None:
    user = tenant.user(role)
    with pytest.raises(ValidationError, match="cannot sign"):
        sign(in_review, user)
    with pytest.raises(ValidationError, match="cannot comment"):
        workflow.comment_add(subject=in_review, author=user, anchor="1.1", body="Looks fine to me")
    with pytest.raises(ValidationError):
        workflow.changes_request(subject=in_review, actor=user, reasons="Please change it")
    assert signature_count(tenant) == 0
    with scope(organisation=tenant.organisation):
        assert not ReviewComment.objects.exists() and not ChangeRequest.objects.exists()
    in_review.refresh_from_db()
    assert in_review.status == AssessmentStatus.IN_REVIEW


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OWNER])
def test_only_workforce_reps_request_changes(tenant, in_review, role) -> None:
    with pytest.raises(ValidationError, match="Only workforce representatives"):
        workflow.changes_request(subject=in_review, actor=tenant.user(role), reasons="Let us redo 2.1")
    in_review.refresh_from_db()
    assert in_review.status == AssessmentStatus.IN_REVIEW

    with pytest.raises(ValidationError) as empty:
        workflow.changes_request(subject=in_review, actor=tenant.rep, reasons=" ")
    assert "reasons" in empty.value.message_dict
    workflow.changes_request(subject=in_review, actor=tenant.rep, reasons="2.1 needs the training records")
    assert in_review.status == AssessmentStatus.CHANGES_REQUESTED
    assert "assessment.changes_requested" in audit_verbs(tenant)


@pytest.mark.parametrize("role", [Role.WORKFORCE_REP, Role.MEMBER, Role.AUDITOR])
def test_only_owners_and_managers_answer_change_requests(tenant, in_review, role) -> None:
    request = workflow.changes_request(subject=in_review, actor=tenant.rep, reasons="2.1 needs the training records")
    with pytest.raises(ValidationError, match="Only owners and managers"):
        workflow.change_request_answer(change_request=request, actor=tenant.user(role), answer="Done")
    request.refresh_from_db()
    assert request.answer == "" and request.answered_at is None
    workflow.change_request_answer(change_request=request, actor=tenant.owner, answer="Attached them")
    request.refresh_from_db()
    assert request.answer == "Attached them" and request.answered_by == tenant.owner


def test_someone_outside_the_organisation_cannot_sign(tenant, in_review, outsider) -> None:
    with pytest.raises(ValidationError, match="Only members"):
        sign(in_review, outsider)
    assert signature_count(tenant) == 0


def test_only_an_item_in_review_can_be_signed(tenant, assessment) -> None:
    answer_all(assessment, tenant.manager)
    with pytest.raises(ValidationError, match="workforce review"):
        sign(assessment, tenant.rep)  # draft

    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    workflow.changes_request(subject=assessment, actor=tenant.rep, reasons="Say more about 3.2")
    assert assessment.status == AssessmentStatus.CHANGES_REQUESTED
    with pytest.raises(ValidationError, match="workforce review"):
        sign(assessment, tenant.manager)
    assert signature_count(tenant) == 0


def test_signing_what_is_no_longer_on_screen_is_refused(tenant, in_review) -> None:
    with pytest.raises(ValidationError, match="content changed"):
        sign(in_review, tenant.rep, expected_hash="0" * 64)

    read = subject_hash(in_review)
    with scope(organisation=tenant.organisation):
        Response.objects.filter(assessment=in_review, criterion__code="2.1").update(
            narrative="Changed while the rep was reading"
        )
    with pytest.raises(ValidationError, match="content changed"):
        sign(in_review, tenant.rep, expected_hash=read)
    assert signature_count(tenant) == 0
    sign(in_review, tenant.rep)  # reading it again and signing what is there works
    assert signature_count(tenant) == 1


def test_a_save_from_a_copy_loaded_before_signing_cannot_change_the_final_assessment(tenant, assessment) -> None:
    """A concurrent autosave that loaded the response before submission and signing is refused."""
    answer_all(assessment, tenant.manager)
    stale = responses_by_code(assessment)["1.1"]  # e.g. an autosave request still running while others sign
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    sign(assessment, tenant.rep)
    sign(assessment, tenant.manager)
    assert assessment.status == AssessmentStatus.FINAL

    with pytest.raises(ValidationError, match="cannot be edited"):
        services.response_save(response=stale, actor=tenant.manager, maturity=4, narrative="Late", evidence_ids=[])
    assert responses_by_code(assessment)["1.1"].maturity == 1
    assert all(v.valid for v in signatures_for(assessment))


# --- tampering after signing ----------------------------------------------------------------


def test_untouched_signatures_verify(tenant, final) -> None:
    output, error = verify_signatures()
    assert error is None, output
    assert "All signatures match what was signed." in output


def test_content_changed_in_the_database_voids_both_signatures(tenant, final) -> None:
    with scope(organisation=tenant.organisation):
        Response.objects.filter(assessment=final, criterion__code="1.1").update(narrative="rewritten")
    views = signatures_for(final)
    assert len(views) == 2 and not any(v.valid for v in views)

    output, error = verify_signatures()
    assert error is not None and "2 signature(s) are void" in str(error)
    lines = void_lines(output)
    assert len(lines) == 2
    assert all("the assessment changed after it was signed" in line and str(final.pk) in line for line in lines)
    assert any(tenant.rep.full_name in line for line in lines)


def test_overwriting_a_cited_file_in_storage_is_detected(tenant, assessment) -> None:
    evidence = upload_evidence(tenant, "minutes.pdf")
    answer_all(assessment, tenant.manager)
    services.response_save(
        response=responses_by_code(assessment)["1.1"],
        actor=tenant.manager,
        maturity=3,
        narrative="Minutes attached",
        evidence_ids=[evidence.pk],
    )
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    sign(assessment, tenant.rep)
    sign(assessment, tenant.manager)
    assert verify_signatures()[1] is None

    with default_storage.open(evidence.file.name, "wb") as handle:
        handle.write(PDF.replace(b"Catalog", b"Catalof"))  # same size, different bytes; database untouched

    output, error = verify_signatures()
    assert error is not None
    lines = void_lines(output)
    assert len(lines) == 2
    assert all("cited evidence files changed in storage: minutes.pdf" in line for line in lines)


def test_editing_a_stored_snapshot_is_detected(tenant, final) -> None:
    with scope(organisation=tenant.organisation):
        signature = Signature.objects.get(capacity=SignatureCapacity.WORKFORCE)
        snapshot = signature.snapshot
        snapshot["responses"][0]["narrative"] = "What the rep never saw"
        Signature.objects.filter(pk=signature.pk).update(snapshot=snapshot)

    output, error = verify_signatures()
    assert error is not None and "1 signature(s) are void" in str(error)
    (line,) = void_lines(output)
    assert "snapshot was altered" in line and "(for the workforce)" in line


# --- comments, change requests and notifications --------------------------------------------


def delivered(capture, action):
    """Run `action`, send the emails it queues after commit, and return (result, {recipient: message})."""
    mail.outbox.clear()
    with capture(execute=True):
        result = action()
    return result, {m.to[0]: m for m in mail.outbox}


def test_a_comment_tells_management_and_a_reply_tells_the_rep(
    tenant, in_review, django_capture_on_commit_callbacks
) -> None:
    comments_emailed_straight_away(tenant.owner, tenant.manager, tenant.rep)
    comment, sent = delivered(
        django_capture_on_commit_callbacks,
        lambda: workflow.comment_add(
            subject=in_review, author=tenant.rep, anchor="1.1", body="The March meeting was not minuted."
        ),
    )
    assert (comment.anchor, comment.subject_id, comment.parent) == ("1.1", in_review.pk, None)
    assert set(sent) == {tenant.owner.email, tenant.manager.email}
    for message in sent.values():
        assert "new comment on Self-assessment 2026" in message.subject
        assert "The March meeting was not minuted." in message.body and "1.1" in message.body
        assert f"/assessments/{in_review.pk}/" in message.body
    assert {o.status for o in queued(tenant, f"comment:{comment.pk}").values()} == {"sent"}

    reply, sent = delivered(
        django_capture_on_commit_callbacks,
        lambda: workflow.comment_add(
            subject=in_review, author=tenant.manager, anchor="ignored", body="Minutes now attached.", parent=comment
        ),
    )
    assert reply.parent == comment and reply.anchor == "1.1"
    assert set(sent) == {tenant.rep.email}
    assert "Minutes now attached." in sent[tenant.rep.email].body

    # A reply to a reply joins the same thread (one level of threading).
    again = workflow.comment_add(subject=in_review, author=tenant.rep, anchor="x", body="Thanks.", parent=reply)
    assert again.parent == comment and again.anchor == "1.1"
    with scope(organisation=tenant.organisation):
        assert list(comment.replies.order_by("created_at")) == [reply, again]
    assert "comment.added" in audit_verbs(tenant)


def test_resolving_a_comment_and_empty_comments(tenant, in_review) -> None:
    with pytest.raises(ValidationError) as empty:
        workflow.comment_add(subject=in_review, author=tenant.rep, anchor="1.1", body=" \n ")
    assert "body" in empty.value.message_dict
    with scope(organisation=tenant.organisation):
        assert not ReviewComment.objects.exists()

    comment = workflow.comment_add(subject=in_review, author=tenant.rep, anchor="2.3", body="Which course?")
    assert comment.resolved_at is None
    workflow.comment_resolve(comment=comment, actor=tenant.manager)
    comment.refresh_from_db()
    assert comment.resolved_at is not None and comment.resolved_by == tenant.manager
    assert "comment.resolved" in audit_verbs(tenant)


def test_answering_a_change_request_tells_the_rep_who_asked(
    tenant, in_review, django_capture_on_commit_callbacks
) -> None:
    comments_emailed_straight_away(tenant.rep)  # the answer to a change request is a comment to the rep
    request, sent = delivered(
        django_capture_on_commit_callbacks,
        lambda: workflow.changes_request(subject=in_review, actor=tenant.rep, reasons="Add the shift rota to 4.2"),
    )
    assert set(sent) == {tenant.owner.email, tenant.manager.email}
    assert "Add the shift rota to 4.2" in sent[tenant.manager.email].body

    with pytest.raises(ValidationError) as empty:
        workflow.change_request_answer(change_request=request, actor=tenant.manager, answer="")
    assert "answer" in empty.value.message_dict

    _, sent = delivered(
        django_capture_on_commit_callbacks,
        lambda: workflow.change_request_answer(
            change_request=request, actor=tenant.manager, answer="Rota added to 4.2."
        ),
    )
    request.refresh_from_db()
    assert request.answer == "Rota added to 4.2."
    assert request.answered_by == tenant.manager and request.answered_at is not None
    assert set(sent) == {tenant.rep.email}
    assert "your change request was answered" in sent[tenant.rep.email].subject
    assert "Rota added to 4.2." in sent[tenant.rep.email].body
    assert "changes.answered" in audit_verbs(tenant)


def test_management_is_told_the_reservations_word_for_word(
    tenant, in_review, django_capture_on_commit_callbacks
) -> None:
    text = "We sign, but the “no redundancies” promise must be written into the plan by 1 June & kept."
    _, sent = delivered(
        django_capture_on_commit_callbacks,
        lambda: sign(in_review, tenant.rep, SignatureDecision.SIGN_WITH_RESERVATIONS, reservations=text),
    )
    assert set(sent) == {tenant.owner.email, tenant.manager.email}
    for message in sent.values():
        assert "signed with reservations" in message.subject
        assert text in message.body

    _, sent = delivered(django_capture_on_commit_callbacks, lambda: sign(in_review, tenant.manager))
    assert set(sent) == {tenant.rep.email}


def test_a_signature_from_before_a_change_request_does_not_count_again(tenant, assessment) -> None:
    """The rep signed, then asked for changes: on resubmission one management signature is not enough."""
    answer_all(assessment, tenant.manager)
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    sign(assessment, tenant.rep, "sign")
    workflow.changes_request(subject=assessment, actor=tenant.rep, reasons="On reflection, 4.2 is overstated.")
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    sign(assessment, tenant.manager, "sign")
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.IN_REVIEW
    views = workflow.signatures_for(assessment)
    assert [(v.signature.capacity, v.counts) for v in views] == [("workforce", False), ("management", True)]
    sign(assessment, tenant.rep, "sign")
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.FINAL
