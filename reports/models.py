"""Attestation reports: requested as rows, rendered by a worker, immutable once rendered."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from assessments.models import Assessment
from portal.models import Organisation

VALID_FOR = timedelta(days=365)


class ReportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to be rendered")
    RENDERING = "rendering", _("Rendering")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class AttestationReport(models.Model):
    """One attestation report. Its id is the public report id printed on it and used to verify it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="reports")
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    render_seconds = models.FloatField(null=True, blank=True)
    # The audit-trail check printed in the PDF, recorded when it was rendered (None: rendered before it
    # was recorded): a report issued while the chain was broken must never be shown as plainly valid.
    audit_chain_ok = models.BooleanField(null=True, blank=True)
    audit_broken_at = models.PositiveBigIntegerField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_reason = models.TextField(blank=True)
    # When the person who requested it first downloaded it: until then it waits on their "Your work".
    first_downloaded_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["status", "queued_at"]), models.Index(fields=["organisation", "-requested_at"])]

    def __str__(self) -> str:
        return f"Attestation report {self.pk}"

    @property
    def name(self) -> str:
        """How people tell reports apart: "Self-assessment 2025 — issued 7 December 2026" (reads the
        assessment: select it with the report)."""
        values = {"title": self.assessment.title}
        if self.rendered_at:
            values["date"] = date_format(timezone.localtime(self.rendered_at), "j F Y")
            return gettext("%(title)s — issued %(date)s") % values
        values["date"] = date_format(timezone.localtime(self.requested_at), "j F Y")
        return gettext("%(title)s — requested %(date)s") % values

    @property
    def expires_at(self) -> Any:
        return (self.rendered_at or self.requested_at) + VALID_FOR
