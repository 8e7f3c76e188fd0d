"""The review and plan lists build their rows directly (cheaper than DRF's walk over the fields): each
row must be exactly what the serializer's fields give, field for field and in their order, with nulls
(no author, not resolved, not answered, no creator), every state (a reply, a resolved comment, an answered
request, a signature with reservations, a declined one, one of an earlier round and one made void by a
change) and hostile text (markup, quotes, ampersands, non-ASCII) as it was stored."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from rest_framework import serializers

from assessments import plans, selectors, workflow
from assessments.models import AssessmentStatus, ChangeRequest, ConsultationMeeting, Plan, ReviewComment
from assessments.plan_api import (
    ChangeRequestSerializer,
    CommentSerializer,
    MeetingSerializer,
    PlanSerializer,
    PlanSummarySerializer,
    SignatureSerializer,
)
from portal.models import Signature, SignatureDecision
from portal.signing import SigningContext, signature_record
from tests.assessments.test_plans import new_plan, sign, submitted

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert('x')</script> & \"quoted\" — Zoë's"


def _same(serializer_class, instance, **kwargs) -> dict:
    fast = serializer_class(instance, **kwargs).data
    assert fast == serializers.ModelSerializer.to_representation(serializer_class(**kwargs), instance)
    assert list(fast) == list(serializer_class(**kwargs).fields)
    return fast


@pytest.fixture
def plan(tenant) -> Plan:
    return submitted(new_plan(tenant, HOSTILE), tenant)


def test_comments_read_exactly_as_their_fields_say(tenant, plan) -> None:
    top = workflow.comment_add(subject=plan, author=tenant.rep, anchor="consultation", body=HOSTILE)
    workflow.comment_add(subject=plan, author=tenant.manager, anchor="consultation", body="Done & dusted", parent=top)
    workflow.comment_resolve(comment=top, actor=tenant.manager)
    with scopes_disabled():
        ReviewComment.objects.filter(pk=top.pk).update(author=None)  # the author's account was deleted
        comments = list(selectors.subject_comments(plan, "plan").order_by("created_at"))
    assert [(c.parent_id is None, c.resolved_at is None, c.author_id is None) for c in comments] == [
        (True, False, True),
        (False, True, False),
    ]
    rows = [_same(CommentSerializer, c) for c in comments]
    assert rows[0]["body"] == HOSTILE and rows[1]["parent"] == str(top.pk)


def test_change_requests_read_exactly_as_their_fields_say(tenant, plan) -> None:
    workflow.changes_request(subject=plan, actor=tenant.rep, reasons=HOSTILE)
    with scope(organisation=tenant.organisation):
        answered = ChangeRequest.objects.get()
    workflow.change_request_answer(change_request=answered, actor=tenant.manager, answer="Fixed <b>all</b> & more")
    with scopes_disabled():
        ChangeRequest.objects.create(
            organisation=tenant.organisation, subject_type="plan", subject_id=plan.pk, requested_by=None, reasons="?"
        )
        requests = list(selectors.subject_change_requests(plan, "plan").order_by("created_at"))
    assert [(r.answered_at is None, r.requested_by_id is None) for r in requests] == [(False, False), (True, True)]
    rows = [_same(ChangeRequestSerializer, r) for r in requests]
    assert rows[0]["reasons"] == HOSTILE and rows[1]["answered_by"] is None


def test_signatures_read_exactly_as_their_fields_say(tenant, plan) -> None:
    sign(plan, tenant.rep, SignatureDecision.SIGN_WITH_RESERVATIONS, reservations=HOSTILE, job_title="Rep & co")
    snapshot = workflow.subject_snapshot(plan)
    signature_record(
        organisation=tenant.organisation,
        subject_type="plan",
        subject_id=plan.pk,
        snapshot={**snapshot, "title": "something else"},  # void: not what the plan hashes to
        signer=tenant.manager,
        capacity="management",
        decision=SignatureDecision.DECLINE,
        statement=HOSTILE,
        typed_name="Zoë <Manager>",
        reasons="Not <i>yet</i>",
        context=SigningContext(ip_address=None, auth_methods=["password", "totp"]),
    )
    with scopes_disabled():
        # One of an earlier round: signed before the plan was last sent for review.
        earlier = Signature.objects.filter(signer=tenant.rep).get()
        Signature.objects.filter(pk=earlier.pk).update(signed_at=plan.submitted_at - timezone.timedelta(days=1))
        signatures = list(workflow.subject_signatures(plan).order_by("signed_at"))
    context = {"subject": plan, "current_hash": workflow.subject_hash(plan)}
    rows = [_same(SignatureSerializer, s, context=context) for s in signatures]
    assert [(r["valid"], r["current_round"], r["counts"]) for r in rows] == [(True, False, False), (False, True, False)]
    assert rows[0]["reservations"] == HOSTILE and rows[1]["auth_methods"] == ["password", "totp"]
    assert rows[1]["mfa_used"] is True and rows[0]["mfa_used"] is False


def test_plans_and_meetings_read_exactly_as_their_fields_say(tenant, plan) -> None:
    sign(plan, tenant.rep)
    sign(plan, tenant.manager)
    assert plan.status == AssessmentStatus.FINAL
    draft = new_plan(tenant, "Draft & <em>new</em>")
    plans.meeting_add(plan=draft, actor=tenant.manager, held_on=date(2026, 2, 3), participants=HOSTILE, notes="")
    plans.meeting_add(
        plan=draft, actor=tenant.manager, held_on=date(2026, 2, 4), participants="Reps", notes="Agreed & signed"
    )
    with scopes_disabled():
        Plan.objects.filter(pk=draft.pk).update(created_by=None)
        listed = list(Plan.objects.select_related("created_by").order_by("created_at"))
        meetings = list(ConsultationMeeting.objects.order_by("held_on"))
    assert [(p.review_due is None, p.created_by_id is None, p.submitted_at is None) for p in listed] == [
        (False, False, False),
        (True, True, True),
    ]
    for each in listed:
        _same(PlanSummarySerializer, each)
    assert [_same(MeetingSerializer, m)["participants"] for m in meetings] == [HOSTILE, "Reps"]
    # The detail serializer keeps DRF's walk for its own fields after the summary's.
    with scope(organisation=tenant.organisation):
        detail = PlanSerializer(selectors.get_plan_for(_membership(tenant), plan.pk)).data
    assert list(detail) == list(PlanSerializer().fields) and detail["title"] == HOSTILE


def _membership(tenant):
    from portal.models import Membership

    with scopes_disabled():
        return Membership.objects.select_related("organisation").get(
            organisation=tenant.organisation, user=tenant.manager
        )
