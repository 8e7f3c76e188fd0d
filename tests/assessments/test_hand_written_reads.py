"""The principle and plan pages read their fixed-shape data with hand-written SQL (portal/rows.py):
`selectors.principle_responses`, `selectors.comments_by_anchor` and `selectors.plan_page_for` give the
same instances, values, related rows and order as the ORM queries they replaced (kept here as the
reference), on both databases, and read nothing of another organisation."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import pytest
from django.db.models import Prefetch, Subquery
from django.http import Http404
from django.utils import timezone
from django_scopes import scope

from assessments import plans, selectors, services, workflow
from assessments.models import (
    ActionItem,
    AssessmentStatus,
    Characteristic,
    Citation,
    Impact,
    Plan,
    Response,
    ReviewComment,
)
from assessments.workflow import plan_contents
from portal.models import Membership
from portal.roles import Role
from principles.framework import principles_of
from tests.assessments.conftest import PDF, responses_by_code
from tests.assessments.test_plans import sign
from tests.factories import OrganisationFactory, UserFactory, add_member
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


def _values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def _same(ours, theirs) -> None:
    """The same row (every field) or both None."""
    if theirs is None:
        assert ours is None
        return
    assert type(ours) is type(theirs)
    assert _values(ours) == _values(theirs)


def _upload(tenant, name: str):
    return services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name=name,
        description="<b>&",
        effective_date=timezone.localdate(),
        expiry_date=None,
    )


def _membership(tenant, user) -> Membership:
    with scope(organisation=tenant.organisation):
        return Membership.objects.select_related("organisation").get(organisation=tenant.organisation, user=user)


def test_principle_responses_are_the_orm_s_with_citations_and_actions(tenant, assessment) -> None:
    by_code = responses_by_code(assessment)
    zebra, apple = _upload(tenant, "zebra.pdf"), _upload(tenant, "Apple <&>.pdf")
    services.response_save(
        response=by_code["1.1"], actor=tenant.manager, maturity=3, narrative="We <do> & say", evidence_ids=[zebra.pk]
    )
    services.response_save(
        response=by_code["1.2"], actor=tenant.manager, maturity=4, narrative="", evidence_ids=[zebra.pk, apple.pk]
    )
    today = timezone.localdate()
    for title, owner, due in (("Later", tenant.rep, 30), ("Sooner", None, 3), ("Middle", tenant.manager, 10)):
        services.action_item_create(
            response=by_code["1.2"],
            actor=tenant.manager,
            title=title,
            owner=owner,
            due_date=today + timedelta(days=due),
        )
    # Another organisation's assessment of the same framework: nothing of it is read.
    other = OrganisationFactory()
    other_owner = UserFactory()
    add_member(other, other_owner, Role.OWNER)
    services.assessment_create(
        organisation=other,
        actor=other_owner,
        framework=assessment.framework,
        title="Theirs",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    principles = principles_of(assessment.framework_id)
    compared = 0
    for principle in principles:
        with scope(organisation=tenant.organisation):
            reference = list(
                Response.objects.filter(assessment=assessment, criterion__principle=principle)
                .select_related("criterion")
                .prefetch_related(
                    Prefetch(
                        "citations",
                        queryset=Citation.objects.select_related("evidence").order_by("evidence__original_name"),
                    ),
                    Prefetch("action_items", queryset=ActionItem.objects.select_related("owner").order_by("due_date")),
                )
                .order_by("criterion__position")
            )
        with assert_queries(3 if reference else 1):
            ours = selectors.principle_responses(assessment, principle)
        assert [r.pk for r in ours] == [r.pk for r in reference] and ours
        for mine, theirs in zip(ours, reference, strict=True):
            _same(mine, theirs)
            _same(mine.criterion, theirs.criterion)
            assert mine.assessment is assessment
            with assert_queries(0):
                cited = list(mine.citations.all())
                actions = list(mine.action_items.all())
                assert mine.citations.count() == len(cited)
            assert [c.pk for c in cited] == [c.pk for c in theirs.citations.all()]
            for c, t in zip(cited, theirs.citations.all(), strict=True):
                _same(c, t)
                _same(c.evidence, t.evidence)
            assert [a.pk for a in actions] == [a.pk for a in theirs.action_items.all()]
            for a, t in zip(actions, theirs.action_items.all(), strict=True):
                _same(a, t)
                _same(a.owner, t.owner)
            compared += 1
    assert compared == sum(len(p.criteria.all()) for p in principles)
    first = selectors.principle_responses(assessment, principles[0])
    one_one = next(r for r in first if r.criterion.code == "1.1")
    two = next(r for r in first if r.criterion.code == "1.2")
    assert one_one.narrative == "We <do> & say" and one_one.maturity == 3 and isinstance(one_one.pk, uuid.UUID)
    assert [c.evidence.original_name for c in two.citations.all()] == ["Apple <&>.pdf", "zebra.pdf"]
    assert [(a.title, a.owner) for a in two.action_items.all()] == [
        ("Sooner", None),
        ("Middle", tenant.manager),
        ("Later", tenant.rep),
    ]
    assert isinstance(two.action_items.all()[0].due_date, date) and two.updated_at.tzinfo is not None


def _comments(tenant, subject, anchor: str) -> None:
    first = workflow.comment_add(subject=subject, author=tenant.rep, anchor=anchor, body="Is this <b>true</b> & so?")
    workflow.comment_add(subject=subject, author=tenant.manager, anchor=anchor, body="Yes", parent=first)
    done = workflow.comment_add(subject=subject, author=tenant.manager, anchor=anchor, body="Another point")
    workflow.comment_resolve(comment=done, actor=tenant.rep)
    gone = workflow.comment_add(subject=subject, author=tenant.rep, anchor=anchor, body="From a former member")
    with scope(organisation=tenant.organisation):
        ReviewComment.objects.filter(pk=gone.pk).update(author=None)


def _reference_comments(subject, subject_type: str, anchor: str | None):
    from django.db.models import Q

    comments = ReviewComment.objects.filter(subject_type=subject_type, subject_id=subject.pk)
    if anchor is not None:
        comments = comments.filter(Q(parent__isnull=True, anchor=anchor) | Q(parent__anchor=anchor))
    return list(comments.select_related("author", "resolved_by").order_by("created_at"))


def test_comments_by_anchor_are_the_orm_s_threads(tenant, assessment) -> None:
    _comments(tenant, assessment, "1.1")
    _comments(tenant, assessment, "2.3")
    plan = plans.plan_create(organisation=tenant.organisation, actor=tenant.manager, kind="digitalisation", title="P")
    _comments(tenant, plan, "skills")
    for subject, subject_type, anchors in ((assessment, "assessment", ("1.1", "2.3")), (plan, "plan", ("skills",))):
        for anchor in (None, *anchors, "none-here"):
            with assert_queries(1):
                grouped = selectors.comments_by_anchor(subject, subject_type, anchor=anchor)
            with scope(organisation=tenant.organisation):
                reference = _reference_comments(subject, subject_type, anchor)
            assert set(grouped) == ({c.anchor for c in reference if c.parent_id is None})
            ours = [c for comments in grouped.values() for top in comments for c in (top, *top.thread_replies)]
            assert sorted(c.pk for c in ours) == sorted(c.pk for c in reference)
            theirs = {c.pk: c for c in reference}
            for comment in ours:
                _same(comment, theirs[comment.pk])
                _same(comment.author, theirs[comment.pk].author)
                _same(comment.resolved_by, theirs[comment.pk].resolved_by)
    threads = selectors.comments_by_anchor(assessment, "assessment")["1.1"]
    assert [c.body for c in threads] == ["Is this <b>true</b> & so?", "Another point", "From a former member"]
    assert [r.body for r in threads[0].thread_replies] == ["Yes"] and threads[0].author == tenant.rep
    assert threads[1].resolved_by == tenant.rep and threads[1].resolved_at is not None and threads[2].author is None
    assert selectors.comments_by_anchor(plan, "plan", anchor="skills").keys() == {"skills"}


def _plan(tenant, title: str) -> Plan:
    from tests.assessments.test_plan_query_counts import _complete_plan

    return _complete_plan(tenant, title)


def test_plan_page_for_is_the_orm_s_versions_and_contents(tenant) -> None:
    plan = _plan(tenant, "Cobots")
    for i, name in enumerate(("b.pdf", "a.pdf")):
        evidence = _upload(tenant, name)
        plans.meeting_add(plan=plan, actor=tenant.manager, held_on=date(2026, 3, 2 - i), participants=f"p{i}", notes="")
        with scope(organisation=tenant.organisation):
            cited = [c.evidence_id for c in plan.citations.all()]
        plans.plan_update_section(
            plan=plan, actor=tenant.manager, section="technology", values={}, evidence_ids=[*cited, evidence.pk]
        )
    plans.eqia_save(
        plan=plan,
        actor=tenant.manager,
        outcome="no_major_change",
        justification="",
        rows=[plans.EqiaRowInput(c, Impact.NEUTRAL, "", "", tenant.rep) for c in Characteristic.values],
    )
    _comments(tenant, plan, "skills")
    plans.plan_submit(plan=plan, actor=tenant.manager)
    sign(plan, tenant.rep)
    sign(plan, tenant.manager)
    second = plans.plan_amend(plan=plan, actor=tenant.manager)
    _comments(tenant, second, "jobs")
    # A plan without an EqIA row (as before one is saved), in another family.
    bare = plans.plan_create(organisation=tenant.organisation, actor=tenant.manager, kind="retraining", title="Bare")
    with scope(organisation=tenant.organisation):
        Plan.eqia.related.related_model.objects.filter(plan=bare).delete()
    for user in (tenant.manager, tenant.auditor):
        membership = _membership(tenant, user)
        for subject in (plan, second, bare):
            visible = selectors.visible_plans(membership)
            with scope(organisation=tenant.organisation):
                if not visible.filter(pk=subject.pk).exists():
                    with pytest.raises(Http404):
                        selectors.plan_page_for(membership, subject.pk)
                    continue
                family = Plan.objects.filter(pk=subject.pk).values("family_id")
                reference = list(
                    visible.select_related("organisation", "eqia", "created_by", "submitted_by")
                    .filter(family_id=Subquery(family))
                    .annotate(open_comments=selectors.open_comment_count("plan"))
                    .order_by("version")
                )
                theirs = next(p for p in reference if p.pk == subject.pk)
                from django.db.models import prefetch_related_objects

                prefetch_related_objects([theirs], *plan_contents())
            with assert_queries(4 if subject is not bare else 3):
                ours, versions = selectors.plan_page_for(membership, str(subject.pk))
            assert [v.pk for v in versions] == [v.pk for v in reference]
            if user == tenant.auditor:
                assert all(v.status == AssessmentStatus.FINAL for v in versions)
            for mine, t in zip(versions, reference, strict=True):
                _same(mine, t)
                _same(mine.organisation, t.organisation)
                _same(mine.created_by, t.created_by)
                _same(mine.submitted_by, t.submitted_by)
                assert mine.open_comments == t.open_comments
                _same(getattr(mine, "eqia", None), getattr(t, "eqia", None))
            with assert_queries(0):
                meetings = workflow.plan_meetings(ours)
                rows = workflow.eqia_rows(ours.eqia) if subject is not bare else []
                citations = workflow.plan_citations(ours)
                workflow.subject_hash(ours)
            assert [m.pk for m in meetings] == [m.pk for m in theirs.meetings_in_order]
            if subject is not bare:
                assert [r.pk for r in rows] == [r.pk for r in theirs.eqia.rows_in_order]
                for r, t in zip(rows, theirs.eqia.rows_in_order, strict=True):
                    _same(r, t)
                    _same(r.owner, t.owner)
            assert sorted(c.pk for c in citations) == sorted(c.pk for c in theirs.cited_evidence)
            for c in citations:
                _same(c.evidence, next(t.evidence for t in theirs.cited_evidence if t.pk == c.pk))
            assert workflow.subject_hash(ours) == workflow.subject_hash(theirs)
    manager = _membership(tenant, tenant.manager)
    ours, versions = selectors.plan_page_for(manager, plan.pk)
    assert [v.version for v in versions] == [1, 2] and versions[0].open_comments == 2  # the two open threads
    assert [m.participants for m in workflow.plan_meetings(ours)] == ["p1", "p0"]
    for missing in (uuid.uuid4(), "not-a-uuid"):
        with pytest.raises(Http404):
            selectors.plan_page_for(manager, missing)
    # Another organisation's plan is not found from this one.
    other = OrganisationFactory()
    other_owner = UserFactory()
    add_member(other, other_owner, Role.OWNER)
    theirs_plan = plans.plan_create(organisation=other, actor=other_owner, kind="retraining", title="Theirs")
    with pytest.raises(Http404):
        selectors.plan_page_for(manager, theirs_plan.pk)


def test_the_evidence_to_cite_is_the_library_s_files_newest_first(tenant, assessment) -> None:
    assert selectors.evidence_to_cite(tenant.organisation) == []
    files = [_upload(tenant, name) for name in ("one.pdf", "two <&>.pdf", "three.pdf")]
    other = OrganisationFactory()
    add_member(other, UserFactory(), Role.OWNER)
    with assert_queries(1):
        ours = selectors.evidence_to_cite(tenant.organisation)
    with scope(organisation=tenant.organisation):
        reference = list(selectors.evidence_library(tenant.organisation).order_by("-uploaded_at", "id"))
    assert [e.pk for e in ours] == [e.pk for e in reference] and len(ours) == len(files)
    for mine, theirs in zip(ours, reference, strict=True):
        _same(mine, theirs)
    assert ours[0].file.name == reference[0].file.name and ours[0].expiry_date is None


def test_change_requests_and_plan_actions_are_the_orm_s(tenant) -> None:
    plan = _plan(tenant, "Cobots")
    assert selectors.change_requests_for(plan, "plan") == [] and selectors.plan_actions(plan) == []
    rows = [plans.EqiaRowInput(c, Impact.NEUTRAL, "", "", None) for c in Characteristic.values]
    rows[0] = plans.EqiaRowInput(rows[0].characteristic, Impact.NEGATIVE, "", "Ramps <&>", tenant.rep)
    rows[1] = plans.EqiaRowInput(rows[1].characteristic, Impact.NEGATIVE, "", "Training", None)
    plans.eqia_save(plan=plan, actor=tenant.manager, outcome="adjust", justification="", rows=rows)
    plans.plan_submit(plan=plan, actor=tenant.manager)
    first = workflow.changes_request(subject=plan, actor=tenant.rep, reasons="Say <more> & why")
    workflow.change_request_answer(change_request=first, actor=tenant.manager, answer="Done")
    plans.plan_submit(plan=plan, actor=tenant.manager)
    workflow.changes_request(subject=plan, actor=tenant.rep, reasons="Again")
    with assert_queries(1):
        ours = selectors.change_requests_for(plan, "plan")
    with scope(organisation=tenant.organisation):
        reference = list(selectors.subject_change_requests(plan, "plan").order_by("-created_at"))
    assert [c.pk for c in ours] == [c.pk for c in reference] and len(ours) == 2
    for mine, theirs in zip(ours, reference, strict=True):
        _same(mine, theirs)
        _same(mine.requested_by, theirs.requested_by)
        _same(mine.answered_by, theirs.answered_by)
    assert ours[1].answered_by == tenant.manager and ours[0].answered_by is None and ours[1].reasons.startswith("Say <")
    with assert_queries(1):
        actions = selectors.plan_actions(plan)
    with scope(organisation=tenant.organisation):
        # Due the same day, in id order (the ORM query left their order to the database).
        reference_actions = list(plan.action_items.select_related("owner").order_by("due_date", "id"))
    assert [a.pk for a in actions] == [a.pk for a in reference_actions] and len(actions) == 2
    for mine, theirs in zip(actions, reference_actions, strict=True):
        _same(mine, theirs)
        _same(mine.owner, theirs.owner)
    assert {a.owner for a in actions} == {a.owner for a in reference_actions}


def test_get_assessment_for_is_the_orm_s_with_its_related_rows(tenant, assessment, framework) -> None:
    from assessments.models import Assessment

    earlier = services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment <2025> & co",
        period_start=date(2025, 1, 1),
        period_end=date(2025, 12, 31),
    )
    with scope(organisation=tenant.organisation):
        Assessment.objects.filter(pk=earlier.pk).update(
            status=AssessmentStatus.FINAL, submitted_by=tenant.manager, submitted_at=timezone.now()
        )
        Assessment.objects.filter(pk=assessment.pk).update(carried_over_from=earlier)
    other = OrganisationFactory()
    other_owner = UserFactory()
    add_member(other, other_owner, Role.OWNER)
    theirs = services.assessment_create(
        organisation=other,
        actor=other_owner,
        framework=framework,
        title="Theirs",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    for user in (tenant.manager, tenant.auditor, tenant.rep):
        membership = _membership(tenant, user)
        for subject in (assessment, earlier):
            with scope(organisation=tenant.organisation):
                reference = (
                    selectors.visible_assessments(membership)
                    .select_related("framework", "organisation", "submitted_by", "carried_over_from")
                    .filter(pk=subject.pk)
                    .first()
                )
            if reference is None:
                assert user == tenant.auditor and subject == assessment
                with pytest.raises(Http404):
                    selectors.get_assessment_for(membership, subject.pk)
                continue
            with assert_queries(1):
                ours = selectors.get_assessment_for(membership, str(subject.pk))
            with assert_queries(0):
                _same(ours, reference)
                _same(ours.framework, reference.framework)
                _same(ours.organisation, reference.organisation)
                _same(ours.submitted_by, reference.submitted_by)
                _same(ours.carried_over_from, reference.carried_over_from)
        for missing in (uuid.uuid4(), "not-a-uuid", theirs.pk):
            with pytest.raises(Http404):
                selectors.get_assessment_for(membership, missing)
    ours = selectors.get_assessment_for(_membership(tenant, tenant.manager), assessment.pk)
    assert ours.carried_over_from.title == "Self-assessment <2025> & co" and ours.submitted_by is None
    assert ours.framework.maturity_levels and ours.organisation == tenant.organisation
