"""Review, signing and action events reach the right person's notifications, and nobody else's
(not the actor, not other roles, not another organisation's people), with an email when that person
has the kind straight away (issue 16, part 3)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from assessments import plans, services, workflow
from portal.models import Notification, SignatureDecision
from portal.notifications import set_preference
from portal.roles import Role
from tests.assessments.conftest import responses_by_code
from tests.assessments.test_plans import complete
from tests.assessments.test_workflow import answer_all, sign
from tests.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db


def told(kind: str) -> dict[str, Notification]:
    """Who holds a notification of `kind`, by email address."""
    with scopes_disabled():
        return {n.recipient.email: n for n in Notification.objects.filter(kind=kind).select_related("recipient")}


def emailed(capture, action):
    mail.outbox.clear()
    with capture(execute=True):
        result = action()
    return result, {m.to[0]: m for m in mail.outbox}


@pytest.fixture
def in_review(tenant, assessment):
    answer_all(assessment, tenant.manager)
    services.assessment_submit(assessment=assessment, actor=tenant.manager)
    return assessment


def test_an_assessment_sent_for_review_asks_the_reps_for_their_countersignature(
    tenant, assessment, outsider, django_capture_on_commit_callbacks
) -> None:
    second_rep = UserFactory(email="second.rep@acme.example")
    add_member(tenant.organisation, second_rep, Role.WORKFORCE_REP)
    set_preference(user=second_rep, kind="signature_requested", delivery="digest")
    answer_all(assessment, tenant.manager)
    assert told("signature_requested") == {}  # answering (autosave) tells nobody

    _, sent = emailed(
        django_capture_on_commit_callbacks,
        lambda: services.assessment_submit(assessment=assessment, actor=tenant.manager),
    )
    notified = told("signature_requested")
    assert set(notified) == {tenant.rep.email, second_rep.email}  # not the manager who sent it, owner, outsider
    rep_line = notified[tenant.rep.email]
    assert rep_line.text.startswith(f"{tenant.manager.display_name} sent Self-assessment 2026 for workforce review")
    assert rep_line.url == f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/"
    assert (rep_line.target_type, rep_line.target_id) == ("assessment", str(assessment.pk))
    assert rep_line.organisation == tenant.organisation and rep_line.actor == tenant.manager
    # Straight away for the rep (the default), with the kind's own template; the digest for the other.
    assert set(sent) == {tenant.rep.email}
    message = sent[tenant.rep.email]
    assert message.subject == f"{tenant.organisation.name}: Self-assessment 2026 is ready for your review"
    assert f"Hello {tenant.rep.display_name}" in message.body and "List-Unsubscribe" in message.extra_headers
    assert "/notifications/unsubscribe/" in message.body


def test_a_plan_sent_for_review_asks_the_reps(tenant, django_capture_on_commit_callbacks) -> None:
    plan = plans.plan_create(
        organisation=tenant.organisation, actor=tenant.manager, kind="digitalisation", title="Cobots"
    )
    complete(plan, tenant)
    _, sent = emailed(django_capture_on_commit_callbacks, lambda: plans.plan_submit(plan=plan, actor=tenant.manager))
    notified = told("signature_requested")
    assert set(notified) == {tenant.rep.email}
    assert "sent the plan Cobots for workforce review" in notified[tenant.rep.email].text
    assert notified[tenant.rep.email].url == f"/o/{tenant.organisation.slug}/plans/{plan.pk}/"
    assert set(sent) == {tenant.rep.email} and "List-Unsubscribe-Post" in sent[tenant.rep.email].extra_headers


def test_signing_asks_the_other_side_and_agreement_tells_them_it_is_final(
    tenant, in_review, django_capture_on_commit_callbacks
) -> None:
    before = set(told("signature_requested"))
    _, sent = emailed(django_capture_on_commit_callbacks, lambda: sign(in_review, tenant.rep))
    asked = {email for email in told("signature_requested") if email not in before}
    assert asked == {tenant.owner.email, tenant.manager.email}  # management; not the rep, auditor, member
    assert set(sent) == {tenant.owner.email, tenant.manager.email}
    line = told("signature_requested")[tenant.manager.email].text
    assert line.startswith(f"{tenant.rep.display_name} signed Self-assessment 2026")

    _, sent = emailed(django_capture_on_commit_callbacks, lambda: sign(in_review, tenant.manager))
    assert set(told("agreed")) == {tenant.rep.email}
    assert "agreed and final" in told("agreed")[tenant.rep.email].text
    assert set(sent) == {tenant.rep.email}


def test_declining_to_sign_tells_the_other_side_changes_are_requested(
    tenant, in_review, django_capture_on_commit_callbacks
) -> None:
    emailed(
        django_capture_on_commit_callbacks,
        lambda: sign(in_review, tenant.rep, SignatureDecision.DECLINE, reasons="Add the shift rota"),
    )
    assert set(told("changes_requested")) == {tenant.owner.email, tenant.manager.email}


def test_a_change_request_goes_to_management_and_its_answer_to_the_rep_who_asked(
    tenant, in_review, outsider, django_capture_on_commit_callbacks
) -> None:
    request, sent = emailed(
        django_capture_on_commit_callbacks,
        lambda: workflow.changes_request(subject=in_review, actor=tenant.rep, reasons="Add the shift rota to 4.2"),
    )
    notified = told("changes_requested")
    assert set(notified) == {tenant.owner.email, tenant.manager.email}
    assert notified[tenant.owner.email].text == (
        f"{tenant.rep.display_name} asked for changes to Self-assessment 2026: “Add the shift rota to 4.2”"
    )
    assert set(sent) == {tenant.owner.email, tenant.manager.email}  # straight away by default

    _, sent = emailed(
        django_capture_on_commit_callbacks,
        lambda: workflow.change_request_answer(change_request=request, actor=tenant.manager, answer="Rota added."),
    )
    assert set(told("comment")) == {tenant.rep.email}
    assert "answered your change request" in told("comment")[tenant.rep.email].text
    assert sent == {}  # comments go to the daily summary by default


def test_a_comment_tells_the_other_side_and_a_reply_its_author(
    tenant, in_review, django_capture_on_commit_callbacks
) -> None:
    set_preference(user=tenant.owner, kind="comment", delivery="immediate")
    set_preference(user=tenant.manager, kind="comment", delivery="off")
    comment, sent = emailed(
        django_capture_on_commit_callbacks,
        lambda: workflow.comment_add(subject=in_review, author=tenant.rep, anchor="1.1", body="Not minuted."),
    )
    notified = told("comment")
    assert set(notified) == {tenant.owner.email, tenant.manager.email}
    assert notified[tenant.owner.email].text == (
        f"{tenant.rep.display_name} commented on 1.1 of Self-assessment 2026: “Not minuted.”"
    )
    assert set(sent) == {tenant.owner.email}  # the manager turned comment emails off; still in the list

    workflow.comment_add(subject=in_review, author=tenant.manager, anchor="x", body="Minutes attached.", parent=comment)
    with scopes_disabled():
        assert Notification.objects.filter(kind="comment", recipient=tenant.rep).count() == 1
        assert (
            not Notification.objects.filter(kind="comment", recipient=tenant.manager).exclude(actor=tenant.rep).exists()
        )  # nobody is told of their own comment


def test_an_action_assigned_to_someone_else_tells_them_and_nobody_else(
    tenant, assessment, django_capture_on_commit_callbacks
) -> None:
    response = responses_by_code(assessment)["1.1"]
    _, sent = emailed(
        django_capture_on_commit_callbacks,
        lambda: services.action_item_create(
            response=response,
            actor=tenant.manager,
            title="Minute meetings",
            owner=tenant.member,
            due_date=date(2027, 3, 3),
        ),
    )
    notified = told("action_assigned")
    assert set(notified) == {tenant.member.email}
    assert notified[tenant.member.email].text == (
        f"{tenant.manager.display_name} assigned you the action “Minute meetings” in Self-assessment 2026, "
        "due 3 March 2027"
    )
    assert (
        notified[tenant.member.email].url == f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/"
    )
    assert sent == {}  # the daily summary by default

    mine = services.action_item_create(
        response=response, actor=tenant.manager, title="Mine", owner=tenant.manager, due_date=date(2027, 3, 3)
    )
    assert set(told("action_assigned")) == {tenant.member.email}  # nobody is told of what they gave themselves
    services.action_item_update(
        item=mine, actor=tenant.manager, title="Mine", owner=tenant.manager, due_date=date(2027, 4, 1), status="open"
    )
    services.action_item_update(
        item=mine, actor=tenant.manager, title="Mine", owner=tenant.rep, due_date=date(2027, 4, 1), status="open"
    )
    assert set(told("action_assigned")) == {tenant.member.email, tenant.rep.email}
    services.action_item_update(
        item=mine,
        actor=tenant.manager,
        title="Mine, renamed",
        owner=tenant.rep,
        due_date=date(2027, 4, 2),
        status="open",
    )
    with scopes_disabled():
        assert Notification.objects.filter(kind="action_assigned", recipient=tenant.rep).count() == 1


def test_autosaving_answers_notifies_nobody(tenant, assessment) -> None:
    answer_all(assessment, tenant.manager)
    for code, response in responses_by_code(assessment).items():
        services.response_save(response=response, actor=tenant.owner, maturity=2, narrative=code, evidence_ids=[])
    with scopes_disabled():
        assert not Notification.objects.exists()
