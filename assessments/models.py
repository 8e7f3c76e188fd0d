"""Self-assessment cycles, their responses per criterion, evidence files and action items."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from portal.models import Organisation
from principles.models import Criterion, Framework


def a_year_after(day: date) -> date:
    """The same day a year later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In workforce review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    AGREED = "agreed", _("Agreed")
    FINAL = "final", _("Final")


EDITABLE_STATUSES = (AssessmentStatus.DRAFT, AssessmentStatus.CHANGES_REQUESTED)


class Assessment(models.Model):
    """One self-assessment cycle against one version of the framework."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="assessments")
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(max_length=20, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finalised_at = models.DateTimeField(null=True, blank=True)
    # The final assessment this one was started from ("Start the next self-assessment"), if any.
    carried_over_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="carried_over_to"
    )

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["-period_end", "-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class Evidence(models.Model):
    """A file in the organisation's evidence library, stored privately under a random name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(max_length=200)
    original_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    description = models.CharField(_("description"), max_length=500)
    effective_date = models.DateField(_("effective date"))
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["-uploaded_at"]
        indexes = [models.Index(fields=["organisation", "-uploaded_at"])]

    def __str__(self) -> str:
        return self.original_name

    def is_expired(self, today: date | None = None) -> bool:
        return self.expiry_date is not None and self.expiry_date < (today or timezone.localdate())


class Response(models.Model):
    """The organisation's answer to one criterion in one assessment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="responses")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    maturity = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(4)])
    narrative = models.TextField(blank=True)
    evidence = models.ManyToManyField(Evidence, through="Citation", related_name="responses")
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Copied from the previous final assessment as a starting point. It counts as answered only once
    # a person confirms it (or changes it): `confirmed_at` set.
    carried_over = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "assessment", "criterion"], name="one_response_per_criterion"
            ),
            models.CheckConstraint(condition=models.Q(maturity__lte=4), name="maturity_0_to_4"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id} in {self.assessment_id}"

    @property
    def awaiting_confirmation(self) -> bool:
        """Carried over from the previous assessment and not yet confirmed or changed: not answered."""
        return self.carried_over and self.confirmed_at is None

    @property
    def counted_maturity(self) -> int | None:
        """The maturity as progress and submission count it: none while awaiting confirmation."""
        return None if self.awaiting_confirmation else self.maturity


# A response whose answer counts (for querysets): not carried over, or carried over and confirmed.
RESPONSE_COUNTS = models.Q(carried_over=False) | models.Q(confirmed_at__isnull=False)


class Citation(models.Model):
    """A response citing a file from the evidence library."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="citations")
    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="citations")

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "response", "evidence"], name="cite_once"),
        ]

    def __str__(self) -> str:
        return f"{self.response_id} cites {self.evidence_id}"


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class ActionItem(models.Model):
    """Something to do: to raise a criterion's maturity, or a mitigation from a plan's EqIA."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    assessment = models.ForeignKey(
        Assessment, null=True, blank=True, on_delete=models.CASCADE, related_name="action_items"
    )
    response = models.ForeignKey(Response, null=True, blank=True, on_delete=models.CASCADE, related_name="action_items")
    plan = models.ForeignKey("Plan", null=True, blank=True, on_delete=models.CASCADE, related_name="action_items")
    # Where an action was generated from (e.g. "eqia:age"), so regenerating does not duplicate it.
    source = models.CharField(max_length=64, blank=True)
    title = models.CharField(_("what needs doing"), max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner"),
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=12, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["due_date", "created_at"]
        indexes = [models.Index(fields=["organisation", "status", "due_date"])]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today: date | None = None) -> bool:
        return self.status != ActionStatus.DONE and self.due_date < (today or timezone.localdate())


# --- Plans and equality impact assessments -------------------------------------------------


class PlanKind(models.TextChoices):
    DIGITALISATION = "digitalisation", _("Digitalisation plan")
    RETRAINING = "retraining", _("Retraining and skills plan")
    DATA_USE = "data_use", _("Data-use code of conduct")
    # A data-protection impact assessment of one system in the technology register (Plan.system), with the
    # workforce's views recorded: its own sections (assessments.workflow.DPIA_SECTIONS), the same review.
    DPIA = "dpia", _("Data-protection impact assessment")


class ConsultationOutcome(models.TextChoices):
    AGREED = "agreed", _("Agreed")
    AGREED_WITH_CONDITIONS = "agreed_with_conditions", _("Agreed with conditions")
    NOT_AGREED = "not_agreed", _("Not agreed")


class Plan(models.Model):
    """A plan agreed with the workforce. Amending a final plan makes a new version in the same family."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="plans")
    family_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    version = models.PositiveIntegerField(default=1)
    kind = models.CharField(_("kind of plan"), max_length=20, choices=PlanKind.choices)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(max_length=20, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT)
    # 1: the technology and why
    technology = models.TextField(_("the technology and what it will do"), blank=True)
    rationale = models.TextField(_("why it is being introduced"), blank=True)
    # 1: consultation record
    shared_on = models.DateField(_("date the plan was shared with the workforce"), null=True, blank=True)
    information_disclosed = models.TextField(_("information disclosed"), blank=True)
    reps_response = models.TextField(_("the representatives' response"), blank=True)
    consultation_outcome = models.CharField(
        _("outcome of the consultation"), max_length=24, choices=ConsultationOutcome.choices, blank=True
    )
    consultation_conditions = models.TextField(_("conditions attached to the agreement"), blank=True)
    # 2: health, safety, welfare and environment
    hse_impact = models.TextField(_("health, safety, welfare and environmental impact"), blank=True)
    hse_mitigations = models.TextField(_("mitigations"), blank=True)
    # 3: skills and retraining
    retraining_who = models.TextField(_("who will be retrained"), blank=True)
    retraining_when = models.TextField(_("when"), blank=True)
    retraining_how = models.TextField(_("how"), blank=True)
    # 4: employee data use
    data_collected = models.TextField(_("what employee data is collected"), blank=True)
    data_purpose = models.TextField(_("what it is used for"), blank=True)
    data_access = models.TextField(_("who can see it"), blank=True)
    data_retention = models.TextField(_("how long it is kept"), blank=True)
    data_monitoring_limits = models.TextField(_("limits on monitoring"), blank=True)
    # 5: jobs
    jobs_affected = models.TextField(_("jobs affected"), blank=True)
    redeployment = models.TextField(_("redeployment and retraining instead of redundancy"), blank=True)
    growth_reinvestment = models.TextField(_("how growth will be reinvested"), blank=True)
    evidence = models.ManyToManyField(Evidence, through="PlanCitation", related_name="plans")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finalised_at = models.DateTimeField(null=True, blank=True)
    # When the final plan should be reviewed (12 months after it became final unless management
    # changes it). Not part of what was signed: changing it changes no signature.
    review_due = models.DateField(_("review date"), null=True, blank=True)
    # The aggregate results of the workforce surveys that closed while the plan was under consultation
    # (assessments.surveys.survey_close): part of the consultation record, so of what both sides sign.
    survey_results = models.JSONField(default=list, blank=True)
    # Data-protection impact assessments only (kind "dpia"): the system it assesses and its own sections.
    system = models.ForeignKey(
        "TechnologySystem", null=True, blank=True, on_delete=models.PROTECT, related_name="dpias"
    )
    dpia_nature = models.TextField(_("nature of the processing"), blank=True)
    dpia_scope = models.TextField(_("scope of the processing"), blank=True)
    dpia_context = models.TextField(_("context of the processing"), blank=True)
    dpia_purpose = models.TextField(_("purpose of the processing"), blank=True)
    dpia_necessity = models.TextField(_("why the processing is necessary and proportionate"), blank=True)
    dpia_risks = models.TextField(_("risks to the people whose data it is"), blank=True)
    dpia_measures = models.TextField(_("measures to reduce the risks"), blank=True)
    consultation_method = models.TextField(_("how workers and their representatives were consulted"), blank=True)
    workers_views = models.TextField(_("what workers said, in their words where given"), blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "family_id", "version"], name="plan_version_unique"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class PlanCitation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="citations")
    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="plan_citations")

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "plan", "evidence"], name="plan_cite_once")]

    def __str__(self) -> str:
        return f"{self.plan_id} cites {self.evidence_id}"


class ConsultationMeeting(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="meetings")
    held_on = models.DateField(_("date of the meeting"))
    participants = models.TextField(_("who took part"))
    notes = models.TextField(_("what was discussed"), blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["held_on"]

    def __str__(self) -> str:
        return f"Meeting on {self.held_on}"


class Characteristic(models.TextChoices):
    AGE = "age", _("Age")
    DISABILITY = "disability", _("Disability")
    GENDER_REASSIGNMENT = "gender_reassignment", _("Gender reassignment")
    MARRIAGE = "marriage_civil_partnership", _("Marriage and civil partnership")
    PREGNANCY = "pregnancy_maternity", _("Pregnancy and maternity")
    RACE = "race", _("Race")
    RELIGION = "religion_belief", _("Religion or belief")
    SEX = "sex", _("Sex")
    SEXUAL_ORIENTATION = "sexual_orientation", _("Sexual orientation")
    WORKING_PATTERNS = "working_patterns", _("Working patterns (part-time, shifts)")
    CARING = "caring_responsibilities", _("Caring responsibilities")


class Impact(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")
    UNKNOWN = "unknown", _("Unknown")


class EqiaOutcome(models.TextChoices):
    NO_MAJOR_CHANGE = "no_major_change", _("No major change needed")
    ADJUST = "adjust", _("Adjust the plan")
    CONTINUE = "continue", _("Continue despite adverse impact")
    STOP = "stop", _("Stop and remove the plan")


class EqualityImpactAssessment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    plan = models.OneToOneField(Plan, on_delete=models.CASCADE, related_name="eqia")
    outcome = models.CharField(_("outcome"), max_length=20, choices=EqiaOutcome.choices, blank=True)
    justification = models.TextField(_("justification"), blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    def __str__(self) -> str:
        return f"EqIA for {self.plan_id}"


class EqiaRow(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    eqia = models.ForeignKey(EqualityImpactAssessment, on_delete=models.CASCADE, related_name="rows")
    characteristic = models.CharField(max_length=32, choices=Characteristic.choices)
    impact = models.CharField(_("impact"), max_length=10, choices=Impact.choices, blank=True)
    evidence = models.TextField(_("evidence"), blank=True)
    mitigation = models.TextField(_("mitigation"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner"),
    )
    # The owner's email as the plan's snapshot records it, kept here when the owner deletes their
    # account, so a signed plan still hashes to what was signed (assessments.workflow.plan_snapshot).
    recorded_owner_email = models.EmailField(blank=True, editable=False)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "eqia", "characteristic"], name="eqia_row_once"),
        ]

    def __str__(self) -> str:
        return f"{self.characteristic}: {self.impact}"


# --- Review: comments and change requests on assessments and plans -------------------------


class ReviewComment(models.Model):
    """A comment on a criterion of an assessment or a section of a plan; replies thread under it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    subject_type = models.CharField(max_length=20)  # "assessment" or "plan"
    subject_id = models.UUIDField()
    anchor = models.CharField(max_length=40)  # criterion code or plan section key
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["organisation", "subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"Comment on {self.subject_type} {self.anchor}"


class ChangeRequest(models.Model):
    """Representatives asking for changes, with reasons; management's answer is kept beside it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    subject_type = models.CharField(max_length=20)
    subject_id = models.UUIDField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reasons = models.TextField(_("what needs to change, and why"))
    created_at = models.DateTimeField(default=timezone.now)
    answer = models.TextField(_("your answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"Change request on {self.subject_type} {self.subject_id}"


# --- Workforce pulse surveys (DESIGN.md section 12) -------------------------------------------------
#
# Anonymous by construction: a response row holds the answers and nothing else (no person, no code,
# no address, no browser, no time), and the codes table says only whether a code is spent. The
# rules live in assessments/surveys.py.


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open for answers")
    CLOSED = "closed", _("Closed")


class QuestionKind(models.TextChoices):
    LIKERT = "likert", _("Agree or disagree (five points)")
    YES_NO = "yes_no", _("Yes or no")
    TEXT = "text", _("Written answer (optional)")
    GROUP = "group", _("Grouping question (optional)")


MIN_SURVEY_THRESHOLD = 5  # no result is ever shown for fewer responses than this


class Survey(models.Model):
    """A short anonymous survey of the workforce, drafted by either side and approved by both."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="surveys")
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.CASCADE, related_name="surveys")
    assessment = models.ForeignKey(Assessment, null=True, blank=True, on_delete=models.CASCADE, related_name="surveys")
    # The earlier survey this one repeats (after the change went live), for before-and-after results.
    repeats = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="repeated_by")
    title = models.CharField(_("title"), max_length=200)
    introduction = models.TextField(_("introduction for the people answering"), blank=True)
    status = models.CharField(max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT)
    threshold = models.PositiveSmallIntegerField(_("fewest responses for a result"), default=MIN_SURVEY_THRESHOLD)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # When the words both sides approve last changed: an approval given before it no longer counts
    # ("Your work" asks each side again).
    questions_changed_at = models.DateTimeField(default=timezone.now)
    opened_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    # Frozen when the survey closes: the aggregate results (never a response) and their SHA-256.
    results = models.JSONField(null=True, blank=True)
    results_hash = models.CharField(max_length=64, blank=True)
    # True when it closed while its plan was still open to review: the results are then part of the
    # plan's consultation record, which both sides sign.
    bound_to_plan = models.BooleanField(default=False)
    codes_printed = models.PositiveIntegerField(default=0)
    invitations_sent = models.PositiveIntegerField(default=0)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(threshold__gte=MIN_SURVEY_THRESHOLD), name="survey_threshold_at_least_5"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SurveyQuestion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=QuestionKind.choices)
    text = models.CharField(_("question"), max_length=300)
    bank_key = models.CharField(max_length=40, blank=True)  # the question bank's entry it came from
    principle = models.PositiveSmallIntegerField(null=True, blank=True)
    options = models.JSONField(default=list, blank=True)  # a grouping question's answers

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["survey", "position"], name="survey_question_position")]

    def __str__(self) -> str:
        return self.text


class SurveyCode(models.Model):
    """A single-use code, stored as its SHA-256. It says whether it was used, never when or for what."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64, unique=True)
    spent = models.BooleanField(default=False)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    def __str__(self) -> str:
        return f"code {self.code_hash[:8]}"


class SurveyResponse(models.Model):
    """One person's answers: {question id: answer}. Deliberately nothing else."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    answers = models.JSONField()

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    def __str__(self) -> str:
        return "a response"


# --- Technology register and new technology agreement (DESIGN.md section 13) ------------------------
#
# The rules (clocks, links, the agreement's clauses and signing) live in assessments/technology.py.


class SystemStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    PILOTING = "piloting", _("Piloting")
    LIVE = "live", _("Live")
    RETIRED = "retired", _("Retired")


class WorkerDecision(models.TextChoices):
    ALLOCATION = "allocation", _("Allocation of work")
    PERFORMANCE = "performance", _("Performance")
    DISCIPLINE = "discipline", _("Discipline")
    HIRING = "hiring", _("Hiring")


class TechnologySystem(models.Model):
    """One digital system in use or planned that touches workers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="technology_systems")
    name = models.CharField(_("name"), max_length=200)
    supplier_name = models.CharField(_("supplier"), max_length=200, blank=True)
    purpose = models.TextField(_("what it is for"), blank=True)
    sites = models.CharField(_("sites affected"), max_length=300, blank=True)
    teams = models.CharField(_("teams affected"), max_length=300, blank=True)
    go_live_on = models.DateField(_("go-live date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=SystemStatus.choices, default=SystemStatus.PLANNED)
    worker_data = models.TextField(_("data it collects about workers"), blank=True)
    monitors_people = models.BooleanField(_("it monitors people"), default=False)
    # WorkerDecision values: the decisions about people it makes or supports.
    decisions = models.JSONField(_("decisions about people it makes or supports"), default=list, blank=True)
    # The clocks of the new technology agreement in force start from these (assessments.technology.clocks).
    notice_given_on = models.DateField(_("date notice was given to the representatives"), null=True, blank=True)
    committee_met_on = models.DateField(_("date the joint technology committee met on it"), null=True, blank=True)
    # What needs someone now, kept by assessments.technology.refresh_attention for "Your work":
    # "" (nothing), "notice" (give notice), "meeting" (committee meeting due), "breach" (go-live inside the
    # notice period while it can still be moved), with the date it is due by.
    attention = models.CharField(max_length=10, blank=True)
    attention_due = models.DateField(null=True, blank=True)
    # The breaches already written to the audit trail (clock key and dates), so each is recorded once.
    breaches_recorded = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="technology_system_name_unique"),
        ]
        indexes = [models.Index(fields=["organisation", "attention"])]

    def __str__(self) -> str:
        return self.name

    @property
    def processes_worker_data(self) -> bool:
        return bool(self.worker_data.strip() or self.monitors_people or self.decisions)

    def decision_labels(self) -> list[str]:
        labels = dict(WorkerDecision.choices)
        return [str(labels[d]) for d in self.decisions if d in labels]


class SystemLink(models.Model):
    """A plan, a self-assessment criterion or an evidence file that concerns a system (exactly one)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    system = models.ForeignKey(TechnologySystem, on_delete=models.CASCADE, related_name="links")
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.CASCADE, related_name="system_links")
    criterion = models.ForeignKey(Criterion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    evidence = models.ForeignKey(Evidence, null=True, blank=True, on_delete=models.CASCADE, related_name="system_links")

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(plan__isnull=False, criterion__isnull=True, evidence__isnull=True)
                    | models.Q(plan__isnull=True, criterion__isnull=False, evidence__isnull=True)
                    | models.Q(plan__isnull=True, criterion__isnull=True, evidence__isnull=False)
                ),
                name="system_link_one_target",
            ),
            models.UniqueConstraint(fields=["system", "plan"], name="system_link_plan_once"),
            models.UniqueConstraint(fields=["system", "criterion"], name="system_link_criterion_once"),
            models.UniqueConstraint(fields=["system", "evidence"], name="system_link_evidence_once"),
        ]

    def __str__(self) -> str:
        return f"link from {self.system_id}"


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_FORCE = "in_force", _("In force")
    SUPERSEDED = "superseded", _("Superseded")


class TechnologyAgreement(models.Model):
    """A new technology agreement between management and the workforce's representatives. It is in force
    once both sides have signed its current words; a later version signed by both supersedes it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="technology_agreements")
    title = models.CharField(_("title"), max_length=200)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # When the words last changed: a signature given before then is on other words.
    changed_at = models.DateTimeField(default=timezone.now)
    in_force_on = models.DateField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)  # of the words both sides signed

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "version"], name="technology_agreement_version"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"


class AgreementClause(models.Model):
    """One clause, adapted from the library (`key`) or written from scratch (`key` empty). `days` is the
    period the clause sets, where it sets one; its text says "{days}" where the number goes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    agreement = models.ForeignKey(TechnologyAgreement, on_delete=models.CASCADE, related_name="clauses")
    position = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=20, blank=True)
    title = models.CharField(_("heading"), max_length=200)
    text = models.TextField(_("wording"))
    days = models.PositiveSmallIntegerField(_("days"), null=True, blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "position"], name="agreement_clause_position"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def wording(self) -> str:
        return self.text.replace("{days}", str(self.days) if self.days is not None else "")
