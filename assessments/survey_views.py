"""Workforce survey pages: the list, drafting, approval by both sides, opening, codes and invitations,
closing and results; and the public pages where people answer with a code (no sign-in)."""

from __future__ import annotations

from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_scopes import scope

from assessments import surveys, workflow
from assessments.models import Assessment, Plan, QuestionKind, Survey, SurveyQuestion, SurveyStatus
from assessments.survey_forms import ApproveForm, CodeForm, CodesForm, InviteForm, SurveyForm
from portal.addresses import over_minute_limit, requester_key
from portal.forms import apply_errors
from portal.models import Membership, SignatureCapacity
from portal.signing import signing_context
from portal.tenancy import TenantRequest, require

CODE_ATTEMPTS_PER_MINUTE = 20


def _survey(membership: Membership, survey_id: Any) -> Survey:
    survey = (
        surveys.visible_surveys(membership)
        .select_related("plan", "assessment", "repeats", "organisation")
        .prefetch_related(
            Prefetch("questions", queryset=SurveyQuestion.objects.order_by("position"), to_attr="questions_in_order")
        )
        .filter(pk=survey_id)
        .first()
    )
    if survey is None:
        raise Http404
    return survey


def _about_choices(request: TenantRequest) -> list[tuple[str, str]]:
    """What a new survey can be about: a plan (its latest versions first) or a self-assessment."""
    choices = [("", _("Nothing in particular"))]
    for plan in Plan.objects.filter(organisation=request.organisation).order_by("-created_at")[:50]:
        choices.append(
            (f"plan:{plan.pk}", _("Plan: %(title)s (version %(n)d)") % {"title": plan.title, "n": plan.version})
        )
    for assessment in Assessment.objects.filter(organisation=request.organisation).order_by("-period_end")[:10]:
        choices.append((f"assessment:{assessment.pk}", _("Self-assessment: %(title)s") % {"title": assessment.title}))
    return choices


def _about(request: TenantRequest, value: str) -> tuple[Plan | None, Assessment | None]:
    kind, _sep, pk = value.partition(":")
    try:
        if kind == "plan":
            return Plan.objects.filter(organisation=request.organisation, pk=pk).first(), None
        if kind == "assessment":
            return None, Assessment.objects.filter(organisation=request.organisation, pk=pk).first()
    except ValidationError:  # not a UUID
        pass
    return None, None


def _plan_choice(request: TenantRequest) -> Plan | None:
    plan_id = request.GET.get("plan") or request.POST.get("plan") or ""
    if not plan_id:
        return None
    try:
        return Plan.objects.filter(organisation=request.organisation, pk=plan_id).first()
    except ValidationError:  # not a UUID
        return None


def survey_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = require(request, "view_dashboard")
    found = list(
        surveys.visible_surveys(membership).select_related("plan", "assessment").annotate(answered=Count("responses"))
    )
    return render(
        request,
        "surveys/list.html",
        {"surveys": found, "can_run": membership.can("run_surveys")},
    )


@require_http_methods(["GET", "POST"])
def survey_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = require(request, "run_surveys")
    plan = _plan_choice(request)
    repeats = None
    if request.GET.get("repeat"):
        try:
            repeats = _survey(membership, request.GET["repeat"])
        except (Http404, ValidationError):
            repeats = None
    initial: dict[str, Any] = {"bank_keys": list(surveys.DEFAULT_BANK_KEYS), "threshold": surveys.minimum_threshold()}
    if repeats is not None:
        initial = SurveyForm.initial_from(surveys.questions_input(repeats))
        initial["title"] = _("%(title)s: after the change") % {"title": repeats.title}
        plan = plan or repeats.plan
    elif plan is not None:
        initial["title"] = _("%(title)s: your views") % {"title": plan.title}
    # With a plan or an earlier survey given, the survey is about that; otherwise the drafter chooses.
    choices = _about_choices(request) if plan is None and repeats is None else None
    form = SurveyForm(request.POST or None, initial=initial, about_choices=choices)
    if request.method == "POST" and form.is_valid():
        assessment = None
        if choices is not None:
            plan, assessment = _about(request, form.cleaned_data.get("about") or "")
        try:
            survey = surveys.survey_create(
                organisation=request.organisation,
                actor=request.user,
                data=form.questions_input(),
                plan=plan,
                assessment=assessment,
                repeats=repeats,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The survey is drafted. Both sides approve the questions before it opens."),
            )
            return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    return render(request, "surveys/form.html", {"form": form, "plan": plan, "repeats": repeats, "survey": None})


@require_http_methods(["GET", "POST"])
def survey_edit(request: TenantRequest, org_slug: str, survey_id: Any) -> HttpResponse:
    membership = require(request, "run_surveys")
    survey = _survey(membership, survey_id)
    if survey.status != SurveyStatus.DRAFT:
        messages.info(request, _("Only a draft survey can be changed."))
        return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    form = SurveyForm(request.POST or None, initial=SurveyForm.initial_from(surveys.questions_input(survey)))
    if request.method == "POST" and form.is_valid():
        had_approvals = any(surveys.current_approvals(survey).values())
        try:
            surveys.survey_update(survey=survey, actor=request.user, data=form.questions_input())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The survey is saved. The approvals given before no longer apply: both sides approve it again.")
                if had_approvals
                else _("The survey is saved."),
            )
            return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    return render(request, "surveys/form.html", {"form": form, "plan": survey.plan, "repeats": None, "survey": survey})


def survey_detail(request: TenantRequest, org_slug: str, survey_id: Any) -> HttpResponse:
    membership = require(request, "view_dashboard")
    survey = _survey(membership, survey_id)
    signatures = surveys.survey_signatures(survey)
    approvals = surveys.current_approvals(survey, signatures)
    capacity = workflow.capacity_for(membership)
    can_run = membership.can("run_surveys")
    answered = survey.responses.count() if survey.status == SurveyStatus.OPEN else None
    return render(
        request,
        "surveys/detail.html",
        {
            "survey": survey,
            "questions": surveys.survey_questions(survey),
            "approvals": approvals,
            "management": approvals[SignatureCapacity.MANAGEMENT],
            "workforce": approvals[SignatureCapacity.WORKFORCE],
            "blockers": surveys.open_blockers(survey, approvals) if survey.status == SurveyStatus.DRAFT else [],
            "can_run": can_run,
            "can_approve": survey.status == SurveyStatus.DRAFT
            and capacity is not None
            and approvals.get(capacity) is None,
            "answered": answered,
            "results": survey.results,
            "group_tables": surveys.group_tables(survey.results) if survey.results else [],
            "before_after": surveys.before_after(survey.repeats.results if survey.repeats else None, survey.results),
            "likert_choices": surveys.LIKERT_CHOICES,
            "signature_count": len(signatures),
        },
    )


@require_http_methods(["GET", "POST"])
def survey_approve(request: TenantRequest, org_slug: str, survey_id: Any) -> HttpResponse:
    membership = require(request, "view_dashboard")
    capacity = workflow.capacity_for(membership)
    if capacity is None:
        raise PermissionDenied
    survey = _survey(membership, survey_id)
    if survey.status != SurveyStatus.DRAFT:
        messages.info(request, _("Only a draft survey is approved: this one is already open or closed."))
        return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    if surveys.current_approvals(survey).get(capacity) is not None:
        messages.info(request, _("These questions are already approved for your side."))
        return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    content_hash = surveys.survey_hash(survey)
    form = ApproveForm(request.POST or None, initial={"typed_name": request.user.full_name})
    if request.method == "POST" and form.is_valid():
        if request.POST.get("content_hash") != content_hash:
            form.add_error(None, _("The questions changed while you were reading them. Read them again below."))
        else:
            try:
                surveys.survey_approve(
                    survey=survey,
                    signer=request.user,
                    capacity=capacity,
                    typed_name=form.cleaned_data["typed_name"],
                    context=signing_context(request),
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Your approval of the questions is recorded."))
                return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    return render(
        request,
        "surveys/approve.html",
        {
            "form": form,
            "survey": survey,
            "questions": surveys.survey_questions(survey),
            "content_hash": content_hash,
            "capacity": capacity,
            "statement": surveys.APPROVAL_STATEMENT,
        },
    )


@require_http_methods(["GET", "POST"])
def survey_open(request: TenantRequest, org_slug: str, survey_id: Any) -> HttpResponse:
    membership = require(request, "run_surveys")
    survey = _survey(membership, survey_id)
    blockers = surveys.open_blockers(survey)
    if request.method == "POST" and not blockers:
        try:
            surveys.survey_open(survey=survey, actor=request.user)
        except ValidationError as exc:
            blockers = exc.messages
        else:
            messages.success(request, _("The survey is open. Print codes or email invitations so people can answer."))
            return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    return render(
        request,
        "surveys/open.html",
        {"survey": survey, "blockers": blockers},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
def survey_close(request: TenantRequest, org_slug: str, survey_id: Any) -> HttpResponse:
    membership = require(request, "run_surveys")
    survey = _survey(membership, survey_id)
    if survey.status != SurveyStatus.OPEN:
        messages.info(request, _("Only an open survey can be closed."))
        return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    answered = survey.responses.count()
    if request.method == "POST":
        try:
            closed = surveys.survey_close(survey=survey, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if closed.bound_to_plan:
                messages.success(
                    request,
                    _("The survey is closed. Its results are now part of the plan's consultation record."),
                )
            else:
                messages.success(request, _("The survey is closed."))
        return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    return render(request, "surveys/close.html", {"survey": survey, "answered": answered})


def _slip(code: str) -> dict[str, str]:
    link = f"{settings.SITE_URL}/s/#{code}"
    return {"code": code, "qr": segno.make(link, error="m").svg_inline(scale=3, dark="#0b0c0c", title=code)}


@require_http_methods(["GET", "POST"])
def survey_codes(request: TenantRequest, org_slug: str, survey_id: Any) -> HttpResponse:
    membership = require(request, "run_surveys")
    survey = _survey(membership, survey_id)
    if survey.status != SurveyStatus.OPEN:
        messages.info(request, _("Codes are printed for an open survey."))
        return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    form = CodesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = surveys.codes_print(survey=survey, actor=request.user, count=form.cleaned_data["count"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            response = render(
                request,
                "surveys/codes_sheet.html",
                {"survey": survey, "slips": [_slip(code) for code in codes], "answer_url": f"{settings.SITE_URL}/s/"},
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "surveys/codes.html", {"survey": survey, "form": form})


@require_http_methods(["GET", "POST"])
def survey_invite(request: TenantRequest, org_slug: str, survey_id: Any) -> HttpResponse:
    membership = require(request, "run_surveys")
    survey = _survey(membership, survey_id)
    if survey.status != SurveyStatus.OPEN:
        messages.info(request, _("Invitations are sent for an open survey."))
        return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            addresses = surveys.parse_addresses(form.cleaned_data["addresses"])
            outcome = surveys.invitations_send(survey=survey, actor=request.user, addresses=addresses)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if outcome.unsent:
                # The box keeps the addresses still to send, so trying again sends nobody twice.
                form = InviteForm({"addresses": "\n".join(outcome.unsent)})
                form.is_valid()
                form.add_error(
                    None,
                    _(
                        "The mail server stopped answering: %(sent)d invitations were sent and %(left)d were not. "
                        "The addresses not yet sent are below: try again in a few minutes."
                    )
                    % {"sent": outcome.sent, "left": len(outcome.unsent)},
                )
                return render(request, "surveys/invite.html", {"survey": survey, "form": form}, status=503)
            messages.success(request, _("%(n)d invitations sent. The addresses were not kept.") % {"n": outcome.sent})
            return redirect("assessments:survey", org_slug=org_slug, survey_id=survey.pk)
    return render(request, "surveys/invite.html", {"survey": survey, "form": form})


# --- Answering: public, no sign-in ----------------------------------------------------------------


def _answer_page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "no-store"
    # The site's own Referrer-Policy (same-origin) stays: "no-referrer" makes browsers send "Origin: null"
    # with the form, which the CSRF check refuses. The code is in the fragment, never in a Referer.
    return response


def _answers_context(survey: Survey, code: str, errors: dict[str, list[str]], posted: Any) -> dict[str, Any]:
    questions = surveys.survey_questions(survey)
    return {
        "survey": survey,
        "code": code,
        "questions": [
            {
                "question": q,
                "name": f"q-{q.pk}",
                "value": (posted.get(f"q-{q.pk}") or "") if posted is not None else "",
                "error": (errors.get(str(q.pk)) or [""])[0],
                "choices": surveys.LIKERT_CHOICES
                if q.kind == QuestionKind.LIKERT
                else surveys.YES_NO_CHOICES
                if q.kind == QuestionKind.YES_NO
                else [(o, o) for o in q.options],
            }
            for q in questions
        ],
        "error_count": len(errors),
        "text_limit": surveys.TEXT_LIMIT,
    }


@never_cache
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest) -> HttpResponse:
    """Type a code (or arrive from a QR code or an email link, whose code is in the address's fragment
    and filled in by the page's script), then answer. Nothing about the person is stored."""
    form = CodeForm(request.POST or None)
    if request.method != "POST":
        return _answer_page(request, "surveys/answer_code.html", {"form": form})
    if over_minute_limit("survey-code", requester_key(request), CODE_ATTEMPTS_PER_MINUTE):
        return _answer_page(request, "surveys/answer_limited.html", {}, status=429)
    if not form.is_valid():
        return _answer_page(request, "surveys/answer_code.html", {"form": form}, status=400)
    code = form.cleaned_data["code"]
    try:
        survey = surveys.survey_for_code(code)
    except surveys.CodeRefused as exc:
        form.add_error("code", str(exc))
        return _answer_page(request, "surveys/answer_code.html", {"form": form}, status=400)
    with scope(organisation=survey.organisation):
        if request.POST.get("step") != "answers":
            return _answer_page(request, "surveys/answer.html", _answers_context(survey, code, {}, None))
        try:
            answers = surveys.clean_answers(survey, request.POST)
        except ValidationError as exc:
            context = _answers_context(survey, code, exc.message_dict, request.POST)
            return _answer_page(request, "surveys/answer.html", context, status=400)
    try:
        surveys.respond(code=code, answers=answers)
    except surveys.CodeRefused as exc:
        form.add_error("code", str(exc))
        return _answer_page(request, "surveys/answer_code.html", {"form": form}, status=400)
    return _answer_page(request, "surveys/answer_thanks.html", {"survey": survey})
