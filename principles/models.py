"""The framework (principles, criteria, maturity scale) as versioned data, and commitments to it."""

from __future__ import annotations

import calendar
import uuid
from datetime import date
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from portal.models import Organisation, Signature


class Framework(models.Model):
    """One version of a framework file. A changed file is a new version; old ones stay for the
    assessments made with them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(max_length=64)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    source = models.CharField(max_length=300, blank=True)
    published = models.DateField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    data = models.JSONField()
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="framework_version_unique"),
            models.UniqueConstraint(fields=["code", "content_hash"], name="framework_content_once"),
        ]
        ordering = ["code", "-version"]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"

    @cached_property
    def maturity_levels(self) -> list[dict[str, Any]]:
        return list(self.data["maturity_scale"])

    def maturity_label(self, level: int | None) -> str:
        if level is None:
            return str(_("Not answered"))
        return next((m["label"] for m in self.maturity_levels if m["level"] == level), str(level))


class Principle(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="principles")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    text = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["framework", "number"], name="principle_number_unique")]
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"


class Criterion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="criteria")
    principle = models.ForeignKey(Principle, on_delete=models.CASCADE, related_name="criteria")
    code = models.CharField(max_length=16)
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    guidance = models.TextField()
    source_sentence = models.TextField()
    evidence_expected = models.BooleanField(default=True)
    evidence_examples = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["framework", "code"], name="criterion_code_unique")]
        ordering = ["principle__number", "position"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def anchor(self) -> str:
        return "criterion-" + self.code.replace(".", "-")


class CommitmentStatus(models.TextChoices):
    ACTIVE = "active", _("Signed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # Signed again a year on: the new record is the active one, and names this one in `reaffirms`.
    REAFFIRMED = "reaffirmed", _("Reaffirmed")


# The commitment asks to be reaffirmed on the anniversary of its signature, and says so this long before.
REAFFIRM_EVERY_MONTHS = 12
REAFFIRM_NOTICE_MONTHS = 1


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), on the month's last day when it has no such day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


class Commitment(models.Model):
    """An organisation's signed commitment to a framework's principles."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="commitments")
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=CommitmentStatus.choices, default=CommitmentStatus.ACTIVE)
    statement = models.TextField()
    extends_to_supply_chain = models.BooleanField(default=False)
    signature = models.OneToOneField(Signature, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawal_reason = models.TextField(blank=True)
    # The commitment this one reaffirmed (signed again a year on), if any.
    reaffirms = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reaffirmed_by"
    )

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"], condition=Q(status="active"), name="one_active_commitment"
            ),
        ]
        ordering = ["-signed_at"]

    def __str__(self) -> str:
        return f"Commitment of {self.organisation_id} ({self.status})"

    @property
    def reaffirmation_due(self) -> date | None:
        """The anniversary of the signature, by when an active commitment is to be signed again."""
        if self.status != CommitmentStatus.ACTIVE:
            return None
        return add_months(timezone.localdate(self.signed_at), REAFFIRM_EVERY_MONTHS)

    def reaffirmation_open(self, today: date | None = None) -> bool:
        """Whether the owners are asked to reaffirm it now (from a month before the anniversary)."""
        if self.status != CommitmentStatus.ACTIVE:
            return False
        return timezone.localdate(self.signed_at) <= reaffirmation_signed_by(today or timezone.localdate())


def reaffirmation_signed_by(today: date) -> date:
    """Active commitments signed on or before this day are asked to be reaffirmed (11 months ago)."""
    return add_months(today, -(REAFFIRM_EVERY_MONTHS - REAFFIRM_NOTICE_MONTHS))
