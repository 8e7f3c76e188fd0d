"""Users, organisations (the tenant), memberships, invitations and the audit trail."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from django_scopes import ScopedManager

from portal.roles import Role, role_can


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Email is the login; there is no username."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Set when the person deleted their account: the row stays (records they signed or wrote point
    # at it), anonymised; see portal.privacy.account_delete.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Where the person is: the daily digest goes out at 08:00 here (portal.notifications).
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/London")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Sector(models.TextChoices):
    AEROSPACE = "aerospace", _("Aerospace")
    AUTOMOTIVE = "automotive", _("Automotive")
    CHEMICALS = "chemicals", _("Chemicals and materials")
    CONSTRUCTION = "construction", _("Construction products")
    ELECTRONICS = "electronics", _("Electronics and electrical")
    ENERGY = "energy", _("Energy and utilities")
    FOOD = "food", _("Food and drink")
    MACHINERY = "machinery", _("Machinery and equipment")
    METALS = "metals", _("Metals and metal products")
    PHARMA = "pharma", _("Pharmaceuticals and life sciences")
    PLASTICS = "plastics", _("Plastics and rubber")
    TEXTILES = "textiles", _("Textiles and clothing")
    OTHER = "other", _("Other manufacturing")


class SizeBand(models.TextChoices):
    MICRO = "micro", _("Micro (fewer than 10 employees)")
    SMALL = "small", _("Small (10 to 49 employees)")
    MEDIUM = "medium", _("Medium (50 to 249 employees)")
    LARGE = "large", _("Large (250 or more employees)")


class Organisation(models.Model):
    """The tenant. Everything a company owns hangs off one of these."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("organisation name"), max_length=200)
    # Random suffix: URLs do not reveal how many organisations exist or let anyone guess them.
    slug = models.SlugField(max_length=64, unique=True)
    company_number = models.CharField(_("company number"), max_length=16, blank=True)
    sector = models.CharField(_("sector"), max_length=32, choices=Sector.choices)
    size_band = models.CharField(_("size"), max_length=16, choices=SizeBand.choices)
    country = CountryField(_("country"), default="GB")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Head of the audit chain, moved in the same transaction as each event.
    audit_head_sequence = models.PositiveBigIntegerField(default=0, editable=False)
    audit_head_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person's one role in one organisation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # Auditor grants expire; access ends at this moment without anyone acting.
    expires_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="one_membership_per_person"),
        ]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.organisation_id}"

    def is_active(self, now: Any = None) -> bool:
        return self.expires_at is None or self.expires_at > (now or timezone.now())

    def can(self, action: str) -> bool:
        return self.is_active() and role_can(self.role, action)


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to send")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Could not send")


INVITATION_STATUS_LABELS = {
    "pending": _("Waiting"),
    "accepted": _("Accepted"),
    "revoked": _("Revoked"),
    "expired": _("Expired"),
}


class Invitation(models.Model):
    """An invitation to join an organisation with a role, sent by email as a signed, single-use link."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # Rotated on resend, so an older link stops working.
    nonce = models.CharField(max_length=32)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # For auditor grants: the membership created on acceptance ends at this moment.
    access_expires_at = models.DateTimeField(null=True, blank=True)
    # The email is a row with a status (DESIGN.md section 9): a sweep re-enqueues stuck ones.
    email_status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    email_queued_at = models.DateTimeField(null=True, blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveIntegerField(default=0)
    email_error = models.TextField(blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            ),
        ]
        indexes = [models.Index(fields=["email_status", "email_queued_at"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.organisation_id}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    def get_status_label(self) -> str:
        return str(INVITATION_STATUS_LABELS[self.status])

    @property
    def is_open(self) -> bool:
        return self.status == "pending"


class AuditEvent(models.Model):
    """One state change, chained to the previous event of the same organisation by its hash."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="audit_events")
    sequence = models.PositiveBigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the chain covers: the actor as they were at the time, even if the account goes later.
    actor_label = models.CharField(max_length=254, blank=True)
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "sequence"], name="audit_sequence_per_organisation"),
        ]
        ordering = ["-sequence"]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.verb}"


class SignatureDecision(models.TextChoices):
    SIGN = "sign", _("Sign")
    SIGN_WITH_RESERVATIONS = "sign_with_reservations", _("Sign with reservations")
    DECLINE = "decline", _("Decline to sign")


class SignatureCapacity(models.TextChoices):
    MANAGEMENT = "management", _("For management")
    WORKFORCE = "workforce", _("For the workforce")


class Signature(models.Model):
    """A person's decision on a piece of content, bound to the SHA-256 of its canonical snapshot.

    The signed thing (a commitment, an assessment, a plan) is named by type and id rather than a
    foreign key, so this one table serves every app without `portal` importing them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="signatures")
    subject_type = models.CharField(max_length=64)
    subject_id = models.UUIDField()
    subject_version = models.PositiveIntegerField(default=1)
    snapshot = models.JSONField()
    content_hash = models.CharField(max_length=64)
    capacity = models.CharField(max_length=16, choices=SignatureCapacity.choices)
    decision = models.CharField(max_length=32, choices=SignatureDecision.choices)
    reservations = models.TextField(blank=True)
    reasons = models.TextField(blank=True)
    statement = models.TextField()
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    signer_email = models.EmailField()
    signer_role = models.CharField(max_length=20, choices=Role.choices)
    typed_name = models.CharField(max_length=150)
    job_title = models.CharField(max_length=150, blank=True)
    signed_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # How the signer proved who they were in this session, e.g. ["password", "totp"].
    auth_methods = models.JSONField(default=list)
    mfa_used = models.BooleanField(default=False)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        indexes = [models.Index(fields=["organisation", "subject_type", "subject_id"])]
        ordering = ["signed_at"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.typed_name} on {self.subject_type} {self.subject_id}"

    def is_valid_for(self, content_hash: str) -> bool:
        """A signature stands only while the content still hashes to what was signed."""
        return self.content_hash == content_hash


class Outbox(models.Model):
    """An email waiting to be sent by a worker: a row with a status, so nothing is lost with Redis."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    to_email = models.EmailField()
    subject = models.CharField(max_length=300)
    template = models.CharField(max_length=100)
    context = models.JSONField(default=dict)
    # Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) of a notification.
    headers = models.JSONField(default=dict, blank=True)
    # Makes "notify the reps about this submission" idempotent if the same action is retried.
    dedupe_key = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "dedupe_key", "to_email"], name="outbox_once_per_key"),
        ]
        indexes = [models.Index(fields=["status", "queued_at"])]

    def __str__(self) -> str:
        return f"{self.subject} to {self.to_email} ({self.status})"


class TokenRevokedReason(models.TextChoices):
    OWNER = "owner", _("revoked by its owner")
    PASSWORD_CHANGED = "password_changed", _("revoked when your password was changed")
    PASSWORD_RESET = "password_reset", _("revoked when your password was reset")


class ApiToken(models.Model):
    """A personal API token: one person, one organisation, a role no more than theirs there.

    Only the SHA-256 of the token is stored; the token itself is shown once, when it is created.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("token name"), max_length=100)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # The public part of the token, shown in lists so people can tell their tokens apart.
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Why: a password change or reset revokes every token of the person (portal/tokens.py).
    revoked_reason = models.CharField(max_length=20, choices=TokenRevokedReason.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def is_usable(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an Idempotency-Key, replayed for repeats of it."""

    # Private to the caller that sent the key: on PostgreSQL a policy shows a row only inside
    # `rls.acting_as(principal)` (or deliberate cross-tenant work such as the retention sweep).
    RLS_PRINCIPAL_COLUMN = "principal"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # "token:<id>" or "user:<id>": keys are private to whoever sent them.
    principal = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)  # method, path and body, hashed
    completed = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_once")]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to be made")
    BUILDING = "building", _("Being made")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class OrganisationExport(models.Model):
    """An owner's export of all the organisation's data: a row with a status, built into a zip by a worker,
    stored privately and deleted by the retention sweep once it expires."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="exports")
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    # {"files": number of files in the zip, "sections": {"members": 5, ...}}
    counts = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    file_deleted_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["status", "queued_at"]), models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"Export {self.pk} of {self.organisation_id} ({self.status})"

    @property
    def in_progress(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.BUILDING)


class Delivery(models.TextChoices):
    """How a person hears of one kind of notification, besides the list in the portal."""

    IMMEDIATE = "immediate", _("Email me straight away")
    DIGEST = "digest", _("Email me a daily summary")
    OFF = "off", _("Do not email me")


class Notification(models.Model):
    """Something that happened which a person should hear of: one row per person, shown in their
    list in the portal, emailed straight away or in the daily digest as they prefer.

    It belongs to a person, not a tenant: the organisation is what it is about for them (None for a
    supplier request to an address with no organisation yet). Lists read it across organisations,
    always filtered by the recipient (portal.notifications).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The sentence shown in the list and the digest, and the page (a path) where it is dealt with.
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=500)
    # The thing it is about ("action", "<uuid>"), so a reminder not yet sent can be dropped once it is done.
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    # Makes each notification (and each reminder: the key names its threshold) happen once per person.
    dedupe_key = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # The delivery chosen when it was made (the person's preference for the kind at that moment).
    delivery = models.CharField(max_length=10, choices=Delivery.choices)
    email = models.ForeignKey(Outbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Set when a digest took it, so the next digest does not repeat it.
    digested_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="notification_once_per_key"),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(fields=["delivery", "digested_at"]),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}: {self.text}"


class NotificationPreference(models.Model):
    """A person's choice for one kind; no row means the kind's default (portal.notifications.KINDS)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    delivery = models.CharField(max_length=10, choices=Delivery.choices)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.delivery}"


class Digest(models.Model):
    """One person's daily summary email for one local day: a row, so it is sent once (claimed by a
    conditional update, retried, swept like the outbox) and never twice after a restart.

    It belongs to a person, not a tenant (it spans their organisations), so it has no organisation
    column and row-level security does not apply; only system tasks read it (portal.digests).
    The lines are kept as they were when it was made, so a retry sends the same email.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The day in the person's time zone it is for: one digest a day.
    local_date = models.DateField()
    # [{"organisation": "Acme Ltd" or "", "lines": [{"text": ..., "url": ...}]}], grouped by organisation.
    groups = models.JSONField(default=list)
    count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recipient", "local_date"], name="one_digest_a_day")]
        indexes = [models.Index(fields=["status", "queued_at"])]

    def __str__(self) -> str:
        return f"digest for {self.recipient_id} on {self.local_date} ({self.status})"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to send")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class WebhookEndpoint(models.Model):
    """An owner's subscription of a URL to some of the portal's events (portal.webhooks).

    The secret signs every delivery (HMAC-SHA256), so it is kept as it is (the portal must sign with it);
    it is shown once, when the endpoint is made and when it is rotated. An endpoint whose deliveries
    keep failing for days is paused (`paused_at`) and its owners are told."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=500)
    # The event keys (portal.webhooks.EVENTS) it receives.
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=100, editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Why it is paused: "" (by an owner) or "failing" (by the portal, after days of failures).
    paused_reason = models.CharField(max_length=20, blank=True)
    # When its deliveries started failing without a success since; None while they succeed.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: a row with a status, sent by a worker after commit, retried with backoff
    for a day (`queued_at` starts the window; "Send again" starts a new one), swept when its task is lost."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    # The same for every endpoint the event goes to, and across "Send again": receivers dedupe on it.
    event_id = models.CharField(max_length=200)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Any]] = ScopedManager(organisation="organisation")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_event_once_per_endpoint"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["endpoint", "-created_at"]),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint_id} ({self.status})"
