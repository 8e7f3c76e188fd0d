"""Workforce pulse surveys: drafted by either side, approved by both, answered anonymously, results
shown only where nobody can be singled out, and bound into the plan's consultation record.

Anonymity by construction (DESIGN.md section 12, README "Workforce surveys"):

* a response row (`SurveyResponse`) holds the survey and the answers, nothing else: no person, no
  code, no address, no browser, no time;
* a code (`SurveyCode`) is stored as an HMAC of its text and says only whether it is spent; spending
  it and saving the answers are two transactions, so the two rows never share a transaction id;
* email addresses given for invitations are used to send the messages and not kept (only a count),
  and the messages go straight to the mail server, not through the outbox that keeps bodies;
* answering writes no audit event, no notification, no session; the code travels in the link's
  fragment (`/s/#CODE`), which browsers never send to a server, so no access log holds it;
* results (`survey_results`) are computed from the whole set of responses once the survey is closed,
  and then the responses and codes are deleted: only the aggregate is kept;
  no result below the threshold (never under 5), groups hidden with complementary suppression
  (`shown_groups`), written answers only above the threshold and in an order that says nothing of
  when they were written.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import smtplib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_scopes import scope, scopes_disabled

from assessments.models import (
    MIN_SURVEY_THRESHOLD,
    Assessment,
    AssessmentStatus,
    Plan,
    QuestionKind,
    Survey,
    SurveyCode,
    SurveyQuestion,
    SurveyResponse,
    SurveyStatus,
)
from portal.audit import audit_record
from portal.canonical import canonical_json, sha256_hex
from portal.models import Membership, Organisation, Role, Signature, SignatureCapacity, SignatureDecision, User
from portal.signing import SigningContext, signature_record, snapshot_hash

# --- The question bank ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BankQuestion:
    key: str
    principle: int
    kind: str
    text: Any  # lazy: translated when shown


QUESTION_BANK: tuple[BankQuestion, ...] = (
    BankQuestion(
        "told_before", 1, QuestionKind.LIKERT, gettext_lazy("I was told about this change before it was decided.")
    ),
    BankQuestion("views_heard", 1, QuestionKind.LIKERT, gettext_lazy("My views on this change were listened to.")),
    BankQuestion(
        "safe", 2, QuestionKind.LIKERT, gettext_lazy("I expect this change to make my work safer or no less safe.")
    ),
    BankQuestion(
        "training_offered", 3, QuestionKind.YES_NO, gettext_lazy("Have you been offered training for this change?")
    ),
    BankQuestion(
        "training_enough",
        3,
        QuestionKind.LIKERT,
        gettext_lazy("The training I have been offered is enough to do my job well after the change."),
    ),
    BankQuestion(
        "data_known", 4, QuestionKind.YES_NO, gettext_lazy("Do you know what data this system collects about you?")
    ),
    BankQuestion(
        "data_trust",
        4,
        QuestionKind.LIKERT,
        gettext_lazy("I trust that data about me will be used only for the purposes I was told."),
    ),
    BankQuestion("job_security", 5, QuestionKind.LIKERT, gettext_lazy("I expect this change to leave my job secure.")),
    BankQuestion(
        "fair",
        6,
        QuestionKind.LIKERT,
        gettext_lazy(
            "This change treats everyone fairly, whatever their age, disability, sex, race or other characteristic."
        ),
    ),
)
BANK = {q.key: q for q in QUESTION_BANK}
DEFAULT_BANK_KEYS = ("told_before", "training_offered", "data_known", "job_security")
GROUPINGS: dict[str, Any] = {
    "site": gettext_lazy("Which site do you work at?"),
    "shift": gettext_lazy("What shift pattern do you work?"),
    "department": gettext_lazy("Which department do you work in?"),
}
LIKERT_CHOICES = (
    ("5", gettext_lazy("Strongly agree")),
    ("4", gettext_lazy("Agree")),
    ("3", gettext_lazy("Neither agree nor disagree")),
    ("2", gettext_lazy("Disagree")),
    ("1", gettext_lazy("Strongly disagree")),
)
YES_NO_CHOICES = (("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No")))
NOT_GIVEN = "not_given"  # a grouping question left unanswered: a group of its own for suppression
MAX_QUESTIONS = 12
MAX_OPTIONS = 20
MAX_CODES = 500
MAX_INVITATIONS = 300
TEXT_LIMIT = 2000


def minimum_threshold() -> int:
    """The fewest responses any result needs here: the setting, never below 5."""
    return max(MIN_SURVEY_THRESHOLD, int(getattr(settings, "PORTAL_SURVEY_MIN_RESPONSES", MIN_SURVEY_THRESHOLD)))


@dataclass
class QuestionsInput:
    """What a drafter chooses: the survey's words, its questions and its grouping questions."""

    title: str
    introduction: str = ""
    threshold: int | None = None  # None: the setting's minimum (`minimum_threshold`)
    bank_keys: list[str] = field(default_factory=list)
    own_questions: list[tuple[str, str]] = field(default_factory=list)  # (kind, text): likert or yes_no
    comment_question: str = ""  # the one optional written-answer question, if any
    groupings: dict[str, list[str]] = field(default_factory=dict)  # GROUPINGS key -> its options


def _clean_questions(data: QuestionsInput) -> list[dict[str, Any]]:
    errors: dict[str, str] = {}
    if data.threshold is None:
        data.threshold = minimum_threshold()
    if not data.title.strip():
        errors["title"] = _("Give the survey a title")
    if data.threshold < minimum_threshold():
        errors["threshold"] = _("A result needs at least %(n)d responses: nobody can be singled out below that") % {
            "n": minimum_threshold()
        }
    unknown = [key for key in data.bank_keys if key not in BANK]
    if unknown:
        errors["bank_keys"] = _("Choose questions from the list")
    questions: list[dict[str, Any]] = [
        {"kind": BANK[key].kind, "text": str(BANK[key].text), "bank_key": key, "principle": BANK[key].principle}
        for key in data.bank_keys
        if key in BANK
    ]
    for index, (kind, text) in enumerate(data.own_questions):
        if not text.strip():
            continue
        if kind not in (QuestionKind.LIKERT, QuestionKind.YES_NO):
            errors[f"own_{index}_kind"] = _("Choose agree or disagree, or yes or no")
        if len(text.strip()) > 300:
            errors[f"own_{index}_text"] = _("Keep a question under 300 characters")
        questions.append({"kind": kind, "text": text.strip(), "bank_key": "", "principle": None})
    if not questions and "bank_keys" not in errors:
        errors["bank_keys"] = _("Choose at least one question")
    if data.comment_question.strip():
        if len(data.comment_question.strip()) > 300:
            errors["comment_question"] = _("Keep a question under 300 characters")
        questions.append(
            {"kind": QuestionKind.TEXT, "text": data.comment_question.strip(), "bank_key": "", "principle": None}
        )
    for key, options in data.groupings.items():
        if key not in GROUPINGS:
            errors["groupings"] = _("Choose grouping questions from the list")
            continue
        cleaned = list(dict.fromkeys(o.strip()[:80] for o in options if o.strip()))
        if not cleaned:
            continue
        if len(cleaned) < 2:
            errors[f"group_{key}"] = _("Give at least two answers to choose from, or leave this question out")
        elif len(cleaned) > MAX_OPTIONS:
            errors[f"group_{key}"] = _("Give at most %(n)d answers") % {"n": MAX_OPTIONS}
        questions.append(
            {
                "kind": QuestionKind.GROUP,
                "text": str(GROUPINGS[key]),
                "bank_key": key,
                "principle": None,
                "options": cleaned,
            }
        )
    if len(questions) > MAX_QUESTIONS:
        errors["bank_keys"] = _("A pulse survey keeps to %(n)d questions or fewer") % {"n": MAX_QUESTIONS}
    if errors:
        raise ValidationError(errors)
    return questions


def _write_questions(survey: Survey, questions: list[dict[str, Any]]) -> None:
    survey.questions.all().delete()
    SurveyQuestion.objects.bulk_create(
        SurveyQuestion(
            organisation=survey.organisation,
            survey=survey,
            position=position,
            kind=q["kind"],
            text=q["text"],
            bank_key=q["bank_key"],
            principle=q["principle"],
            options=q.get("options", []),
        )
        for position, q in enumerate(questions, start=1)
    )


def survey_create(
    *,
    organisation: Organisation,
    actor: User,
    data: QuestionsInput,
    plan: Plan | None = None,
    assessment: Assessment | None = None,
    repeats: Survey | None = None,
) -> Survey:
    questions = _clean_questions(data)
    with scope(organisation=organisation), transaction.atomic():
        survey = Survey.objects.create(
            organisation=organisation,
            plan=plan,
            assessment=assessment if plan is None else None,
            repeats=repeats,
            title=data.title.strip(),
            introduction=data.introduction.strip(),
            threshold=data.threshold,
            created_by=actor,
        )
        _write_questions(survey, questions)
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="survey.drafted",
            target=survey,
            target_label=survey.title,
            after={
                "questions": len(questions),
                "plan": str(plan.pk) if plan else None,
                "assessment": str(assessment.pk) if assessment and not plan else None,
            },
        )
    return survey


def survey_update(*, survey: Survey, actor: User, data: QuestionsInput) -> Survey:
    """Change a draft's words or questions: any approval given so far no longer matches and is void."""
    questions = _clean_questions(data)
    with scope(organisation=survey.organisation), transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        if locked.status != SurveyStatus.DRAFT:
            raise ValidationError(_("Only a draft survey can be changed."), code="not_draft")
        before = survey_hash(locked)
        locked.title, locked.introduction, locked.threshold = (
            data.title.strip(),
            data.introduction.strip(),
            data.threshold,
        )
        locked.questions_changed_at = timezone.now()
        locked.save(update_fields=["title", "introduction", "threshold", "questions_changed_at"])
        _write_questions(locked, questions)
        audit_record(
            organisation=locked.organisation,
            actor=actor,
            verb="survey.changed",
            target=locked,
            target_label=locked.title,
            before={"content_hash": before},
            after={"content_hash": survey_hash(locked), "questions": len(questions)},
        )
    return locked


def questions_input(survey: Survey) -> QuestionsInput:
    """A survey's questions as the draft form takes them (to edit a draft, or to repeat a survey)."""
    data = QuestionsInput(title=survey.title, introduction=survey.introduction, threshold=survey.threshold)
    for q in survey_questions(survey):
        if q.kind == QuestionKind.GROUP:
            data.groupings[q.bank_key] = list(q.options)
        elif q.kind == QuestionKind.TEXT:
            data.comment_question = q.text
        elif q.bank_key:
            data.bank_keys.append(q.bank_key)
        else:
            data.own_questions.append((q.kind, q.text))
    return data


def visible_surveys(membership: Membership) -> Any:
    """The surveys `membership` may see (web and API): any member's, except that an auditor sees closed
    ones only (finalised work)."""
    found = Survey.objects.filter(organisation=membership.organisation)
    return found.filter(status=SurveyStatus.CLOSED) if membership.role == Role.AUDITOR else found


def survey_questions(survey: Survey) -> list[SurveyQuestion]:
    prefetched = getattr(survey, "questions_in_order", None)
    return prefetched if prefetched is not None else list(survey.questions.order_by("position"))


# --- Approval by both sides (the signing primitive) ------------------------------------------------

APPROVAL_STATEMENT = gettext_lazy(
    "I approve these questions, this introduction and the threshold for results, for this survey of the workforce."
)


def survey_snapshot(survey: Survey) -> dict[str, Any]:
    """What both sides approve: the words people will read and the rule for results."""
    return {
        "type": "survey",
        "id": str(survey.pk),
        "organisation": str(survey.organisation_id),
        "plan": str(survey.plan_id) if survey.plan_id else None,
        "title": survey.title,
        "introduction": survey.introduction,
        "threshold": survey.threshold,
        "questions": [
            {"position": q.position, "kind": q.kind, "text": q.text, "options": list(q.options)}
            for q in survey_questions(survey)
        ],
    }


def survey_hash(survey: Survey) -> str:
    return snapshot_hash(survey_snapshot(survey))


def survey_signatures(survey: Survey) -> list[Signature]:
    return list(
        Signature.objects.filter(organisation=survey.organisation, subject_type="survey", subject_id=survey.pk)
        .select_related("signer")
        .order_by("signed_at")
    )


def current_approvals(survey: Survey, signatures: list[Signature] | None = None) -> dict[str, Signature | None]:
    """Each side's approval that still matches the questions (None where there is none)."""
    current = survey_hash(survey)
    found: dict[str, Signature | None] = {SignatureCapacity.MANAGEMENT: None, SignatureCapacity.WORKFORCE: None}
    for signature in signatures if signatures is not None else survey_signatures(survey):
        if signature.decision == SignatureDecision.SIGN and signature.is_valid_for(current):
            found[signature.capacity] = signature
    return found


def survey_approve(
    *, survey: Survey, signer: User, capacity: str, typed_name: str, context: SigningContext
) -> Signature:
    if survey.status != SurveyStatus.DRAFT:
        raise ValidationError(
            _("Only a draft survey is approved: this one is already open or closed."), code="not_draft"
        )
    if current_approvals(survey).get(capacity) is not None:
        raise ValidationError(_("These questions are already approved for your side."), code="already_approved")
    return signature_record(
        organisation=survey.organisation,
        subject_type="survey",
        subject_id=survey.pk,
        snapshot=survey_snapshot(survey),
        signer=signer,
        capacity=capacity,
        decision=SignatureDecision.SIGN,
        statement=str(APPROVAL_STATEMENT),
        typed_name=typed_name,
        context=context,
    )


def open_blockers(survey: Survey, approvals: dict[str, Signature | None] | None = None) -> list[str]:
    approvals = approvals if approvals is not None else current_approvals(survey)
    blockers = []
    if survey.status != SurveyStatus.DRAFT:
        blockers.append(_("The survey is not a draft."))
    if approvals.get(SignatureCapacity.MANAGEMENT) is None:
        blockers.append(_("Management has not approved these questions."))
    if approvals.get(SignatureCapacity.WORKFORCE) is None:
        blockers.append(_("The workforce representatives have not approved these questions."))
    return blockers


def survey_open(*, survey: Survey, actor: User) -> Survey:
    with scope(organisation=survey.organisation), transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        blockers = open_blockers(locked)
        if blockers:
            raise ValidationError(" ".join(blockers), code="not_approved")
        locked.status, locked.opened_on = SurveyStatus.OPEN, timezone.localdate()
        locked.save(update_fields=["status", "opened_on"])
        audit_record(
            organisation=locked.organisation,
            actor=actor,
            verb="survey.opened",
            target=locked,
            target_label=locked.title,
            after={"content_hash": survey_hash(locked)},
        )
    return locked


# --- Codes and invitations -------------------------------------------------------------------------

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's: no I, L, O or U to misread
CODE_LENGTH = 10  # 50 bits


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


_MISREAD = str.maketrans("OIL", "011")


def normalise_code(text: str) -> str:
    """What someone typed, as the code it names: case, spaces and dashes ignored, O read as 0, I and L as 1."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    return cleaned.translate(_MISREAD)


def code_hash(text: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), b"survey-code\0" + normalise_code(text).encode(), hashlib.sha256
    ).hexdigest()


def _require_open(survey: Survey) -> None:
    if survey.status != SurveyStatus.OPEN:
        raise ValidationError(_("Codes and invitations are for an open survey."), code="not_open")


def _issue(survey: Survey, count: int) -> list[str]:
    codes = [new_code() for _ in range(count)]
    SurveyCode.objects.bulk_create(
        SurveyCode(organisation=survey.organisation, survey=survey, code_hash=code_hash(c)) for c in codes
    )
    return codes


def codes_print(*, survey: Survey, actor: User, count: int) -> list[str]:
    """`count` new single-use codes for a printed sheet: returned once, kept only as hashes."""
    _require_open(survey)
    if not 1 <= count <= MAX_CODES:
        raise ValidationError({"count": _("Print between 1 and %(n)d codes at a time") % {"n": MAX_CODES}})
    with scope(organisation=survey.organisation), transaction.atomic():
        codes = _issue(survey, count)
        _count_reached(survey, actor, "codes_printed", count, verb="survey.codes_printed")
    return codes


def _count_reached(survey: Survey, actor: User, counter: str, count: int, *, verb: str) -> None:
    """Add `count` to the survey's `counter` (codes printed, invitations sent), with its audit event."""
    Survey.objects.filter(pk=survey.pk).update(**{counter: F(counter) + count})
    setattr(survey, counter, getattr(survey, counter) + count)
    audit_record(
        organisation=survey.organisation,
        actor=actor,
        verb=verb,
        target=survey,
        target_label=survey.title,
        after={"count": count},
    )


def parse_addresses(text: str) -> list[str]:
    """Addresses separated by commas, semicolons, spaces or lines; a clear error names the bad ones."""
    items = [
        item.strip().strip("<>") for item in text.replace(";", ",").replace("\n", ",").replace(" ", ",").split(",")
    ]
    addresses = list(dict.fromkeys(item.lower() for item in items if item))
    bad = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        raise ValidationError({"addresses": _("These are not email addresses: %(bad)s") % {"bad": ", ".join(bad[:10])}})
    if not addresses:
        raise ValidationError({"addresses": _("Enter at least one email address")})
    if len(addresses) > MAX_INVITATIONS:
        raise ValidationError(
            {
                "addresses": _("Send at most %(n)d invitations at a time; you entered %(count)d")
                % {"n": MAX_INVITATIONS, "count": len(addresses)}
            }
        )
    return addresses


@dataclass(frozen=True)
class InvitationsSent:
    sent: int
    unsent: list[str]  # the addresses the mail server did not take (it stopped answering), in order


def invitations_send(*, survey: Survey, actor: User, addresses: list[str]) -> InvitationsSent:
    """Email each address its own single-use link. The addresses are not kept anywhere, and the
    messages go straight to the mail server (not the outbox, which keeps bodies), so no record ties
    an address to a code. If the mail server stops answering, the addresses not yet sent are
    returned so the sender can try them again (their codes were never seen and are no use)."""
    _require_open(survey)
    with scope(organisation=survey.organisation), transaction.atomic():
        codes = _issue(survey, len(addresses))
    subject = _("A short anonymous survey from %(org)s") % {"org": survey.organisation.name}
    sent, unsent = 0, []
    connection = get_connection()
    try:
        connection.open()
        for index, (address, code) in enumerate(zip(addresses, codes, strict=True)):
            context = {
                "survey": survey,
                "organisation": survey.organisation,
                "code": code,
                "link": f"{settings.SITE_URL}/s/#{code}",
                "site_url": settings.SITE_URL,
                "subject": subject,
            }
            message = EmailMultiAlternatives(
                subject=subject,
                body=render_to_string("email/survey_invitation.txt", context),
                to=[address],
                connection=connection,
            )
            message.attach_alternative(render_to_string("email/survey_invitation.html", context), "text/html")
            try:
                message.send()
            except (smtplib.SMTPException, OSError):
                unsent = addresses[index:]
                break
            sent += 1
    except (smtplib.SMTPException, OSError):  # could not even connect
        unsent = addresses[sent:]
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            connection.close()
    if sent:
        with scope(organisation=survey.organisation), transaction.atomic():
            _count_reached(survey, actor, "invitations_sent", sent, verb="survey.invitations_sent")
    return InvitationsSent(sent=sent, unsent=unsent)


# --- Answering (public, no sign-in) ---------------------------------------------------------------


class CodeRefused(Exception):
    """Why a code cannot be used; the message is safe to show to whoever typed it."""


def survey_for_code(text: str) -> Survey:
    """The open survey an unspent code belongs to (read across organisations: the code names it)."""
    if len(normalise_code(text)) != CODE_LENGTH:
        raise CodeRefused(_("A code has 10 letters and numbers, like 7K3QP-M2XWD. Check the code and try again."))
    with scopes_disabled():
        code = (
            SurveyCode.objects.filter(code_hash=code_hash(text))
            .select_related("survey", "survey__organisation")
            .first()
        )
    if code is None:
        raise CodeRefused(_("This code is not one we issued, or its survey has closed. Check the code and try again."))
    if code.spent:
        raise CodeRefused(_("This code has already been used. Each code can be used once."))
    if code.survey.status != SurveyStatus.OPEN:
        raise CodeRefused(_("This survey is closed and no longer takes answers."))
    return code.survey


def clean_answers(survey: Survey, posted: Any) -> dict[str, str]:
    """The answers from a submitted form, checked: every agree/disagree and yes/no question answered,
    grouping answers from their lists, the written answer within its length. Raises ValidationError
    with one message per question (keyed by the question's id)."""
    answers: dict[str, str] = {}
    errors: dict[str, str] = {}
    for q in survey_questions(survey):
        key = str(q.pk)
        value = (posted.get(f"q-{key}") or "").strip()
        if q.kind == QuestionKind.LIKERT:
            if value not in dict(LIKERT_CHOICES):
                errors[key] = _("Choose how much you agree")
        elif q.kind == QuestionKind.YES_NO:
            if value not in dict(YES_NO_CHOICES):
                errors[key] = _("Choose yes or no")
        elif q.kind == QuestionKind.GROUP:
            if value and value not in q.options:
                errors[key] = _("Choose one of the answers, or leave this question")
        elif q.kind == QuestionKind.TEXT and len(value) > TEXT_LIMIT:
            errors[key] = _("Keep your answer under %(n)d characters") % {"n": TEXT_LIMIT}
        answers[key] = value
    if errors:
        raise ValidationError(errors)
    return answers


def respond(*, code: str, answers: dict[str, str]) -> None:
    """Spend `code` and save `answers` (already checked by `clean_answers`) as one anonymous response.

    Two transactions, in this order: the code is marked spent first (a conditional UPDATE, so a code
    works once even when sent twice at the same moment), then the answers go in. They never share a
    transaction, so nothing in the database, not even PostgreSQL's row versions, pairs them."""
    survey = survey_for_code(code)
    with scope(organisation=survey.organisation):
        with transaction.atomic():
            spent = SurveyCode.objects.filter(code_hash=code_hash(code), spent=False).update(spent=True)
        if spent != 1:
            raise CodeRefused(_("This code has already been used. Each code can be used once."))
        with transaction.atomic():
            if not Survey.objects.filter(pk=survey.pk, status=SurveyStatus.OPEN).exists():
                raise CodeRefused(_("This survey closed while you were answering, so your answers were not saved."))
            SurveyResponse.objects.create(organisation=survey.organisation, survey=survey, answers=answers)


# --- Results --------------------------------------------------------------------------------------


def shown_groups(sizes: dict[str, int], threshold: int) -> set[str]:
    """Which groups' results may be shown, given each group's number of responses.

    * nothing when the whole has fewer than `threshold` responses;
    * a group with fewer than `threshold` responses is hidden (primary suppression);
    * the hidden groups together can always be worked out as the whole minus the groups shown, so
      they must add up to at least `threshold`: while they do not, the smallest group still shown is
      hidden too (complementary suppression). A group with no responses reveals nobody and is shown.
    """
    if sum(sizes.values()) < threshold:
        return set()
    shown = {g for g, n in sizes.items() if n == 0 or n >= threshold}
    hidden = set(sizes) - shown
    while hidden and sum(sizes[g] for g in hidden) < threshold:
        candidates = [g for g in shown if sizes[g] > 0]
        smallest = min(candidates, key=lambda g: (sizes[g], g))
        shown.discard(smallest)
        hidden.add(smallest)
    return shown


def _tally(question: SurveyQuestion, responses: list[dict[str, str]]) -> dict[str, Any]:
    values = Counter(r.get(str(question.pk), "") for r in responses)
    if question.kind == QuestionKind.LIKERT:
        counts = {value: values.get(value, 0) for value, _label in LIKERT_CHOICES}
        answered = sum(counts.values())
        agree = counts["5"] + counts["4"]
        mean = sum(int(v) * n for v, n in counts.items()) / answered if answered else None
        return {
            "counts": counts,
            "answered": answered,
            "agree_percent": round(100 * agree / answered) if answered else None,
            "mean": round(mean, 2) if mean is not None else None,
        }
    counts = {value: values.get(value, 0) for value, _label in YES_NO_CHOICES}
    answered = sum(counts.values())
    return {
        "counts": counts,
        "answered": answered,
        "yes_percent": round(100 * counts["yes"] / answered) if answered else None,
    }


def _comment_order(survey: Survey, text: str) -> str:
    """A fixed order that says nothing of when an answer was written (nor of who wrote it)."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"survey-comments:{survey.pk}:{text}".encode(), hashlib.sha256
    ).hexdigest()


def survey_results(survey: Survey, responses: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The aggregate results, suppressed: what management and the representatives both see."""
    if responses is None:
        responses = list(SurveyResponse.objects.filter(survey=survey).values_list("answers", flat=True))
    questions = survey_questions(survey)
    scored = [q for q in questions if q.kind in (QuestionKind.LIKERT, QuestionKind.YES_NO)]
    total = len(responses)
    threshold = max(survey.threshold, minimum_threshold())
    results: dict[str, Any] = {
        "responses": total,
        "threshold": threshold,
        "shown": total >= threshold,
        "questions": [],
        "groups": [],
        "comments": None,
    }
    if total < threshold:
        return results
    results["questions"] = [
        {
            "id": str(q.pk),
            "position": q.position,
            "text": q.text,
            "kind": q.kind,
            "principle": q.principle,
            **_tally(q, responses),
        }
        for q in scored
    ]
    for grouping in (q for q in questions if q.kind == QuestionKind.GROUP):
        key = str(grouping.pk)
        members: dict[str, list[dict[str, str]]] = {option: [] for option in grouping.options}
        members[NOT_GIVEN] = []
        for response in responses:
            answer = response.get(key, "")
            members[answer if answer in members else NOT_GIVEN].append(response)
        shown = shown_groups({label: len(rows) for label, rows in members.items()}, threshold)
        results["groups"].append(
            {
                "id": key,
                "question": grouping.text,
                "options": [
                    {
                        "label": label,
                        "shown": label in shown,
                        "responses": len(rows) if label in shown else None,
                        "questions": [
                            {"id": str(q.pk), "text": q.text, "kind": q.kind, **_tally(q, rows)} for q in scored
                        ]
                        if label in shown and rows
                        else [],
                    }
                    for label, rows in members.items()
                ],
            }
        )
    comment = next((q for q in questions if q.kind == QuestionKind.TEXT), None)
    if comment is not None:
        written = [r.get(str(comment.pk), "") for r in responses]
        written = [text for text in written if text]
        results["comments"] = {
            "question": comment.text,
            "answers": sorted(written, key=lambda text: _comment_order(survey, text)),
        }
    return results


def results_hash(results: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(results))


PLAN_OPEN_TO_REVIEW = (AssessmentStatus.DRAFT, AssessmentStatus.IN_REVIEW, AssessmentStatus.CHANGES_REQUESTED)


def survey_close(*, survey: Survey, actor: User) -> Survey:
    """Close the survey and freeze its results. If its plan is still open to review, the results
    (with their hash) join the plan's consultation record: the plan's snapshot changes, so
    signatures given before no longer match, and the next ones cover the results."""
    with scope(organisation=survey.organisation), transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        if locked.status != SurveyStatus.OPEN:
            raise ValidationError(_("Only an open survey can be closed."), code="not_open")
        locked.closed_on = timezone.localdate()
        results = survey_results(locked)
        locked.status, locked.results, locked.results_hash = SurveyStatus.CLOSED, results, results_hash(results)
        plan = Plan.objects.select_for_update().get(pk=locked.plan_id) if locked.plan_id else None
        locked.bound_to_plan = plan is not None and plan.status in PLAN_OPEN_TO_REVIEW
        locked.save(update_fields=["status", "closed_on", "results", "results_hash", "bound_to_plan"])
        # Only the aggregate is kept: the individual answers go (nothing can ever be worked out from them
        # again, nor matched with a server log by the order they were written in), and the codes with them.
        SurveyResponse.objects.filter(survey=locked).delete()
        SurveyCode.objects.filter(survey=locked).delete()
        if plan is not None and locked.bound_to_plan:
            plan.survey_results = [*plan.survey_results, plan_record(locked)]
            plan.save(update_fields=["survey_results"])
        audit_record(
            organisation=locked.organisation,
            actor=actor,
            verb="survey.closed",
            target=locked,
            target_label=locked.title,
            after={
                "responses": results["responses"],
                "results_hash": locked.results_hash,
                "bound_to_plan": str(plan.pk) if plan is not None and locked.bound_to_plan else None,
            },
        )
    return locked


def plan_record(survey: Survey) -> dict[str, Any]:
    """The survey as the plan's consultation record holds it (and so as both sides sign it)."""
    return {
        "survey": str(survey.pk),
        "title": survey.title,
        "opened_on": survey.opened_on.isoformat() if survey.opened_on else None,
        "closed_on": survey.closed_on.isoformat() if survey.closed_on else None,
        "results": survey.results,
        "results_hash": survey.results_hash,
    }


def headline_percent(question: dict[str, Any]) -> int | None:
    """A question's result in one number: the share who agree (agree/disagree) or said yes (yes/no)."""
    return question.get("agree_percent") if question.get("kind") == QuestionKind.LIKERT else question.get("yes_percent")


def before_after(earlier: dict[str, Any] | None, later: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each question asked both times (the same text and kind), the earlier result beside the later one
    (`headline_percent`); none unless both surveys' results are shown. For the survey page and the report."""
    earlier, later = earlier or {}, later or {}
    if not earlier.get("shown") or not later.get("shown"):
        return []
    before = {(q["text"], q.get("kind")): q for q in earlier.get("questions") or []}
    return [
        {
            "text": q["text"],
            "kind": q.get("kind", ""),
            "before": headline_percent(before[(q["text"], q.get("kind"))]),
            "after": headline_percent(q),
        }
        for q in later.get("questions") or []
        if (q["text"], q.get("kind")) in before
    ]


def _in_short(tally: dict[str, Any]) -> str:
    if tally.get("kind") == QuestionKind.LIKERT or "agree_percent" in tally:
        return _("%(p)s%% agree") % {"p": tally["agree_percent"]}
    return _("%(p)s%% yes") % {"p": tally["yes_percent"]}


def group_tables(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each grouping question's results as a table: a column per answer (hidden ones marked), a row per
    question, "67% agree" or "83% yes" in each shown cell. For the survey page and the report."""
    tables = []
    for group in results.get("groups") or []:
        columns = [
            {
                "label": _("Did not say") if option["label"] == NOT_GIVEN else option["label"],
                "shown": option["shown"],
                "responses": option["responses"],
                "cells": {q["id"]: _in_short(q) for q in option["questions"]},
            }
            for option in group["options"]
        ]
        rows = [
            {
                "text": question["text"],
                "cells": [
                    column["cells"].get(question["id"], "")
                    if column["shown"] and column["responses"]
                    else ("" if column["shown"] else None)
                    for column in columns
                ],
            }
            for question in results.get("questions") or []
        ]
        tables.append({"question": group["question"], "columns": columns, "rows": rows})
    return tables


def record_text(record: dict[str, Any]) -> str:
    """A plan's survey record (`plan_record`) as plain lines, for the page that shows exactly what is
    signed: the counts, each question's result, the groups shown, the written answers, the fingerprint."""
    results = record.get("results") or {}
    lines = [
        _("Closed on %(date)s with %(n)d responses")
        % {"date": record.get("closed_on") or "", "n": results.get("responses", 0)}
    ]
    if not results.get("shown"):
        lines.append(
            _("No result is shown for fewer than %(n)d responses, so that nobody can be singled out.")
            % {"n": results.get("threshold", MIN_SURVEY_THRESHOLD)}
        )
    for question in results.get("questions") or []:
        lines.append(f"{question['text']} {_in_short(question)}")
    for table in group_tables(results):
        shown = [
            f"{column['label']}: " + ", ".join(row["cells"][i] for row in table["rows"] if row["cells"][i])
            for i, column in enumerate(table["columns"])
            if column["shown"] and column["responses"]
        ]
        hidden = [column["label"] for column in table["columns"] if not column["shown"]]
        lines.append(f"{table['question']} " + "; ".join(shown or [_("no group large enough to show")]))
        if hidden:
            lines.append(_("Not shown: %(groups)s") % {"groups": ", ".join(hidden)})
    comments = results.get("comments") or {}
    for text in comments.get("answers") or []:
        lines.append(f"“{text}”")
    lines.append(_("Results fingerprint (SHA-256): %(hash)s") % {"hash": record.get("results_hash", "")})
    return "\n".join(lines)
