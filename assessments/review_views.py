"""Review pages shared by assessments and plans: comments, change requests, signing, the rep's home."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assessments import plans, selectors, workflow
from assessments.models import ChangeRequest, ReviewComment
from assessments.review_forms import AnswerForm, ChangeRequestForm, CommentForm, SignForm
from portal.forms import apply_errors
from portal.models import SignatureCapacity, SignatureDecision
from portal.signing import signing_context
from portal.tenancy import AuthenticatedRequest, TenantRequest, require

KINDS = ("assessment", "plan")


def _subject(request: TenantRequest, kind: str, subject_id: Any) -> Any:
    membership = require(request, "view_dashboard")
    if kind == "assessment":
        return selectors.get_assessment_for(membership, subject_id)
    if kind == "plan":
        return selectors.get_plan_for(membership, subject_id)
    raise Http404


def _back(request: HttpRequest, subject: Any) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    org_prefix = f"/o/{subject.organisation.slug}/"
    if target.startswith(org_prefix) and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return workflow.subject_url(subject)


@require_POST
def comment_add(request: TenantRequest, org_slug: str, kind: str, subject_id: Any) -> HttpResponse:
    require(request, "comment")
    subject = _subject(request, kind, subject_id)
    form = CommentForm(request.POST)
    parent = None
    if request.POST.get("parent"):
        parent = get_object_or_404(
            ReviewComment, organisation=request.organisation, subject_id=subject.pk, pk=request.POST["parent"]
        )
    anchor = request.POST.get("anchor", "")[:40]
    if form.is_valid():
        try:
            workflow.comment_add(
                subject=subject, author=request.user, anchor=anchor, body=form.cleaned_data["body"], parent=parent
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Your comment has been added."))
    else:
        messages.error(request, _("Your comment was empty, so nothing was added."))
    return redirect(_back(request, subject) + (f"#comments-{anchor}" if anchor else ""))


@require_POST
def comment_resolve(request: TenantRequest, org_slug: str, kind: str, subject_id: Any, comment_id: Any) -> HttpResponse:
    require(request, "comment")
    subject = _subject(request, kind, subject_id)
    comment = get_object_or_404(ReviewComment, organisation=request.organisation, subject_id=subject.pk, pk=comment_id)
    workflow.comment_resolve(comment=comment, actor=request.user)
    messages.success(request, _("The comment is marked as resolved."))
    return redirect(_back(request, subject) + f"#comments-{comment.anchor}")


@require_http_methods(["GET", "POST"])
def changes_request(request: TenantRequest, org_slug: str, kind: str, subject_id: Any) -> HttpResponse:
    membership = require(request, "countersign_workforce")
    subject = _subject(request, kind, subject_id)
    if subject.status != "in_review":
        messages.info(request, _("Changes can only be requested while it is in workforce review."))
        return redirect(workflow.subject_url(subject))
    form = ChangeRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workflow.changes_request(subject=subject, actor=request.user, reasons=form.cleaned_data["reasons"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Your request has been sent to management. %(title)s is open for changes again.")
                % {"title": subject.title},
            )
            return redirect(workflow.subject_url(subject))
    return render(
        request,
        "review/changes_request.html",
        {
            "form": form,
            "subject": subject,
            "kind": kind,
            "membership": membership,
            # Allowed by design (it is how a representative takes back their agreement before the item is
            # agreed), but said plainly: the signature stops counting, and they sign what comes back.
            "own_agreement": workflow.agreed_this_round(subject, request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def change_request_answer(
    request: TenantRequest, org_slug: str, kind: str, subject_id: Any, request_id: Any
) -> HttpResponse:
    require(request, "sign_management")
    subject = _subject(request, kind, subject_id)
    change_request = get_object_or_404(
        ChangeRequest.objects.select_related("requested_by"),
        organisation=request.organisation,
        subject_id=subject.pk,
        pk=request_id,
    )
    form = AnswerForm(request.POST or None, initial={"answer": change_request.answer})
    if request.method == "POST" and form.is_valid():
        workflow.change_request_answer(
            change_request=change_request, actor=request.user, answer=form.cleaned_data["answer"]
        )
        messages.success(request, _("Your answer has been saved and the representative emailed."))
        return redirect(workflow.subject_url(subject))
    return render(
        request,
        "review/change_request_answer.html",
        {"form": form, "subject": subject, "kind": kind, "change_request": change_request},
    )


@require_http_methods(["GET", "POST"])
def sign(request: TenantRequest, org_slug: str, kind: str, subject_id: Any) -> HttpResponse:
    """Exactly what is being signed (a readable rendering of the snapshot and its SHA-256), then the decision."""
    membership = require(request, "view_dashboard")
    subject = _subject(request, kind, subject_id)
    capacity = workflow.capacity_for(membership)
    if capacity is None:
        raise PermissionDenied
    if subject.status != "in_review":
        messages.info(request, _("Only an item in workforce review can be signed."))
        return redirect(workflow.subject_url(subject))
    if kind == "plan":
        # The snapshot and the names of the EqIA's owners are read from the same rows.
        prefetch_related_objects([subject], *workflow.plan_contents())
    snapshot = workflow.subject_snapshot(subject)
    from portal.signing import snapshot_hash

    content_hash = snapshot_hash(snapshot)
    form = SignForm(request.POST or None, initial={"typed_name": request.user.full_name})
    blockers = workflow.agreement_blockers(subject)
    if request.method == "POST" and form.is_valid():
        try:
            workflow.subject_sign(
                subject=subject,
                signer=request.user,
                expected_hash=request.POST.get("content_hash", ""),
                context=signing_context(request),
                **form.cleaned_data,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            subject.refresh_from_db()
            decision = form.cleaned_data["decision"]
            if subject.status == "final":
                messages.success(
                    request,
                    _("%(title)s is agreed and final. Everyone can see the signatures.") % {"title": subject.title},
                )
            elif decision == SignatureDecision.DECLINE:
                messages.success(
                    request,
                    _("You declined to sign. %(title)s has gone back for changes with your reasons.")
                    % {"title": subject.title},
                )
            else:
                messages.success(
                    request,
                    _("Your signature is recorded. %(title)s needs the other side's signature to be agreed.")
                    % {"title": subject.title},
                )
            return redirect(workflow.subject_url(subject))
    template = "review/sign_plan.html" if kind == "plan" else "review/sign_assessment.html"
    return render(
        request,
        template,
        {
            "form": form,
            "subject": subject,
            "kind": kind,
            "snapshot": snapshot,
            "content_hash": content_hash,
            "capacity": capacity,
            "is_workforce": capacity == SignatureCapacity.WORKFORCE,
            "blockers": blockers,
            "statement": workflow.signing_statement(subject, capacity),
            "readable": (
                plans.readable_plan_snapshot(snapshot, workflow.eqia_owner_names(subject)) if kind == "plan" else None
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_GET
def reviews_home(request: AuthenticatedRequest) -> HttpResponse:
    """The old "Waiting for your review" page: what waits for a person is now all on "Your work"."""
    return redirect("your_work", permanent=True)
