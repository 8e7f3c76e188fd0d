"""The comments block under each criterion and plan section is built in Python
(assessments/templatetags/comment_tags.py): the same HTML as templates/review/_comments.html, byte for
byte, for every state a comment can be in and every reader's permissions; and the principle page shows
it with its forms."""

from __future__ import annotations

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import timezone
from django_scopes import scope

from assessments import selectors, workflow
from assessments.models import ReviewComment
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

OLD = engines["django"].from_string(
    '{% include "review/_comments.html" with comments=comments subject=subject kind=kind anchor=anchor '
    "can_comment=can_comment %}"
)
NEW = engines["django"].from_string(
    "{% load comment_tags %}{% comments_block comments subject kind anchor can_comment can_resolve %}"
)


def _thread(tenant, assessment) -> dict[str, list[ReviewComment]]:
    first = workflow.comment_add(subject=assessment, author=tenant.rep, anchor="1.1", body="Is this <b>true</b> & so?")
    workflow.comment_add(subject=assessment, author=tenant.manager, anchor="1.1", body="Yes.\nLine two", parent=first)
    workflow.comment_add(subject=assessment, author=tenant.rep, anchor="1.1", body="Thanks", parent=first)
    done = workflow.comment_add(subject=assessment, author=tenant.manager, anchor="1.1", body="Another point")
    workflow.comment_resolve(comment=done, actor=tenant.rep)
    gone = workflow.comment_add(subject=assessment, author=tenant.rep, anchor="1.1", body="From a former member")
    with scope(organisation=tenant.organisation):
        ReviewComment.objects.filter(pk=gone.pk).update(author=None)
        return selectors.comments_by_anchor(assessment, "assessment")


def test_the_comments_block_is_the_templates_html_byte_for_byte(tenant, assessment) -> None:
    grouped = _thread(tenant, assessment)
    request = RequestFactory().get(f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/?x=<y>")
    request.user = tenant.manager
    compared = 0
    for comments, anchor in ((grouped["1.1"], "1.1"), ([], "2.3"), ([], "Equality & <impact>")):
        for can_comment in (True, False):
            for can_resolve in (True, False):
                for token in ("a-token", None):
                    context = {
                        "comments": comments,
                        "subject": assessment,
                        "kind": "assessment",
                        "anchor": anchor,
                        "can_comment": can_comment,
                        "can_resolve": can_resolve,
                        "current_organisation": tenant.organisation,
                        "request": request,
                        "csrf_token": token,
                    }
                    with timezone.override("Europe/London"):
                        assert NEW.render(context) == OLD.render(context), (anchor, can_comment, can_resolve, token)
                    compared += 1
    assert compared == 24
    html = NEW.render({**context, "comments": grouped["1.1"], "anchor": "1.1", "can_comment": True})
    assert "Is this &lt;b&gt;true&lt;/b&gt; &amp; so?" in html and "Yes.<br>Line two" in html
    assert "Former member" in html and "comment--resolved" in html and "Comments (3)" in html


def test_the_principle_page_shows_comments_with_reply_and_resolve_forms(tenant, assessment) -> None:
    _thread(tenant, assessment)
    html = (
        client_for(tenant.manager)
        .get(f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/1/")
        .content.decode()
    )
    assert '<div class="comments" id="comments-1.1">' in html and "Comments (3)" in html
    assert html.count('<label class="label" for="reply-') == 2  # the two open threads, not the resolved one
    assert f'action="/o/{tenant.organisation.slug}/review/assessment/{assessment.pk}/comments/"' in html
    assert '<label class="label" for="comment-12">Add a comment</label>' in html
