"""Background work for the portal app: invitation emails and the sweep that recovers lost ones."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from portal.celery import app
from portal.emails import is_permanent_email_error, send_templated_email
from portal.models import EmailStatus, Invitation, Organisation, Outbox
from portal.roles import ROLE_DESCRIPTIONS, Role

logger = logging.getLogger(__name__)

MAX_EMAIL_ATTEMPTS = 5
STUCK_PENDING_AFTER = timedelta(minutes=2)
STUCK_SENDING_AFTER = timedelta(minutes=10)


@app.task(bind=True, tenant=True, max_retries=MAX_EMAIL_ATTEMPTS)
def send_invitation_email(self, *, organisation: Organisation, invitation_id: str) -> str:
    """Send one invitation email. Idempotent: only the task that claims the row sends."""
    from portal.services import invitation_url

    now = timezone.now()
    claimed = Invitation.objects.filter(
        pk=invitation_id,
        email_status=EmailStatus.PENDING,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).update(email_status=EmailStatus.SENDING, email_claimed_at=now)
    if not claimed:
        return "not-claimed"  # already sent, being sent by another worker, or no longer open
    invitation = Invitation.objects.select_related("organisation", "invited_by").get(pk=invitation_id)
    inviter = invitation.invited_by.display_name if invitation.invited_by else organisation.name
    try:
        send_templated_email(
            to=invitation.email,
            subject=_("%(inviter)s invited you to join %(organisation)s on the Made Smarter Portal")
            % {"inviter": inviter, "organisation": organisation.name},
            template="invitation",
            context={
                "invitation": invitation,
                "organisation": organisation,
                "inviter": inviter,
                "role_label": Role(invitation.role).label,
                "role_description": ROLE_DESCRIPTIONS[Role(invitation.role)],
                "url": invitation_url(invitation),
            },
        )
    except Exception as exc:
        attempts = invitation.email_attempts + 1
        # In-process (embedded default) there is no worker to retry later: record it as failed
        # at once so the owner sees it and can resend.
        final = attempts >= MAX_EMAIL_ATTEMPTS or bool(self.request.is_eager) or is_permanent_email_error(exc)
        Invitation.objects.filter(pk=invitation_id).update(
            email_status=EmailStatus.FAILED if final else EmailStatus.PENDING,
            email_attempts=attempts,
            email_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        logger.warning("invitation email %s failed (attempt %s): %s", invitation_id, attempts, exc)
        if final:
            return "failed"
        raise self.retry(exc=exc, countdown=self.retry_countdown(attempts)) from exc
    Invitation.objects.filter(pk=invitation_id).update(
        email_status=EmailStatus.SENT,
        email_sent_at=timezone.now(),
        email_attempts=invitation.email_attempts + 1,
        email_error="",
    )
    return "sent"


@app.task
def sweep_invitation_emails() -> int:
    """Re-enqueue invitation emails whose task was lost (Redis restart, killed worker)."""
    now = timezone.now()
    with scopes_disabled():
        stuck_sending = Invitation.objects.filter(
            email_status=EmailStatus.SENDING, email_claimed_at__lt=now - STUCK_SENDING_AFTER
        )
        stuck_sending.update(email_status=EmailStatus.PENDING)
        stuck = list(
            Invitation.objects.filter(
                email_status=EmailStatus.PENDING,
                email_queued_at__lt=now - STUCK_PENDING_AFTER,
                accepted_at__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=now,
            ).values_list("id", "organisation_id")[:1000]
        )
        Invitation.objects.filter(pk__in=[pk for pk, _org in stuck]).update(email_queued_at=now)
    for invitation_id, organisation_id in stuck:
        send_invitation_email.publish(organisation_id=str(organisation_id), invitation_id=str(invitation_id))
    if stuck:
        logger.info("re-enqueued %s stuck invitation emails", len(stuck))
    return len(stuck)


@app.task(bind=True, tenant=True, max_retries=MAX_EMAIL_ATTEMPTS)
def send_outbox_email(self, *, organisation: Organisation, email_id: str) -> str:
    """Send one queued notification. Idempotent: only the task that claims the row sends."""
    claimed = Outbox.objects.filter(pk=email_id, status=EmailStatus.PENDING).update(
        status=EmailStatus.SENDING, claimed_at=timezone.now()
    )
    if not claimed:
        return "not-claimed"
    from portal.reminders import email_still_applies

    if not email_still_applies(email_id):  # a reminder whose thing was done before its email went
        Outbox.objects.filter(pk=email_id).delete()
        return "dropped"
    email = Outbox.objects.get(pk=email_id)
    try:
        send_templated_email(
            to=email.to_email,
            subject=email.subject,
            template=email.template,
            context={**email.context, "organisation": organisation},
            headers=email.headers,
        )
    except Exception as exc:
        attempts = email.attempts + 1
        final = attempts >= MAX_EMAIL_ATTEMPTS or bool(self.request.is_eager) or is_permanent_email_error(exc)
        Outbox.objects.filter(pk=email_id).update(
            status=EmailStatus.FAILED if final else EmailStatus.PENDING,
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            queued_at=timezone.now(),
        )
        logger.warning("outbox email %s failed (attempt %s): %s", email_id, attempts, exc)
        if final:
            return "failed"
        raise self.retry(exc=exc, countdown=self.retry_countdown(attempts)) from exc
    Outbox.objects.filter(pk=email_id).update(
        status=EmailStatus.SENT, sent_at=timezone.now(), attempts=email.attempts + 1, last_error=""
    )
    return "sent"


@app.task
def sweep_outbox() -> int:
    """Re-enqueue queued notification emails whose task was lost."""
    now = timezone.now()
    with scopes_disabled():
        Outbox.objects.filter(status=EmailStatus.SENDING, claimed_at__lt=now - STUCK_SENDING_AFTER).update(
            status=EmailStatus.PENDING
        )
        stuck = list(
            Outbox.objects.filter(status=EmailStatus.PENDING, queued_at__lt=now - STUCK_PENDING_AFTER).values_list(
                "id", "organisation_id"
            )[:1000]
        )
        Outbox.objects.filter(pk__in=[pk for pk, _org in stuck]).update(queued_at=now)
    for email_id, organisation_id in stuck:
        send_outbox_email.publish(organisation_id=str(organisation_id), email_id=str(email_id))
    return len(stuck)


@app.task
@scopes_disabled()  # system work across every organisation (portal.rls), like the sweeps
def run_reminders() -> dict[str, int]:
    """Make the reminders due now (each app's scans, portal.reminders); each is made and sent once."""
    from portal.reminders import run_scans

    made = run_scans()
    logger.info("reminders: %s", ", ".join(f"{k}={v}" for k, v in made.items()))
    return made


@app.task
def make_digests() -> int:
    """Make the daily digests whose 08:00 has come in their person's time zone (portal.digests)."""
    from portal.digests import digests_make

    return len(digests_make())


@app.task(bind=True, max_retries=MAX_EMAIL_ATTEMPTS)
@scopes_disabled()  # a person's digest spans their organisations; Digest is not a tenant table
def send_digest_email(self, *, digest_id: str) -> str:
    """Send one daily digest. Idempotent: only the task that claims the row sends."""
    from portal.digests import digest_email
    from portal.models import Digest

    claimed = Digest.objects.filter(pk=digest_id, status=EmailStatus.PENDING).update(
        status=EmailStatus.SENDING, claimed_at=timezone.now()
    )
    if not claimed:
        return "not-claimed"
    digest = Digest.objects.select_related("recipient").get(pk=digest_id)
    user = digest.recipient
    if not user.is_active or user.deleted_at is not None:
        Digest.objects.filter(pk=digest_id).update(status=EmailStatus.FAILED, last_error="The account is closed.")
        return "failed"
    try:
        email = digest_email(digest)
        send_templated_email(
            to=user.email,
            subject=email["subject"],
            template="digest",
            context=email["context"],
            headers=email["headers"],
        )
    except Exception as exc:
        attempts = digest.attempts + 1
        final = attempts >= MAX_EMAIL_ATTEMPTS or bool(self.request.is_eager) or is_permanent_email_error(exc)
        Digest.objects.filter(pk=digest_id).update(
            status=EmailStatus.FAILED if final else EmailStatus.PENDING,
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            queued_at=timezone.now(),
        )
        logger.warning("digest %s failed (attempt %s): %s", digest_id, attempts, exc)
        if final:
            return "failed"
        raise self.retry(exc=exc, countdown=self.retry_countdown(attempts)) from exc
    Digest.objects.filter(pk=digest_id).update(
        status=EmailStatus.SENT, sent_at=timezone.now(), attempts=digest.attempts + 1, last_error=""
    )
    return "sent"


@app.task
def sweep_digests() -> int:
    """Re-enqueue daily digests whose task was lost (Redis restart, killed worker)."""
    from portal.models import Digest

    now = timezone.now()
    Digest.objects.filter(status=EmailStatus.SENDING, claimed_at__lt=now - STUCK_SENDING_AFTER).update(
        status=EmailStatus.PENDING
    )
    pending = Digest.objects.filter(status=EmailStatus.PENDING, queued_at__lt=now - STUCK_PENDING_AFTER)
    stuck = [str(pk) for pk in pending.values_list("id", flat=True)[:1000]]
    Digest.objects.filter(pk__in=stuck).update(queued_at=now)
    for digest_id in stuck:
        send_digest_email.publish(digest_id=digest_id)
    return len(stuck)


EXPORT_MAX_ATTEMPTS = 3
EXPORT_STUCK_AFTER = timedelta(minutes=30)


@app.task(bind=True, tenant=True, soft_time_limit=1800, time_limit=1900, after_response=True)
def build_organisation_export(self, *, organisation: Organisation, export_id: str) -> str:
    """Build one organisation export. Idempotent: only the task that claims a queued export builds it."""
    from celery.exceptions import SoftTimeLimitExceeded

    from portal.exports import export_build, export_expiry, export_notify_ready
    from portal.models import ExportStatus, OrganisationExport

    claimed = OrganisationExport.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.BUILDING, claimed_at=timezone.now(), error=""
    )
    if not claimed:
        return "not-claimed"
    export = OrganisationExport.objects.select_related("organisation", "requested_by").get(pk=export_id)
    try:
        built = export_build(organisation=organisation, export=export)
    except (Exception, SoftTimeLimitExceeded) as exc:
        attempts = export.attempts + 1
        final = attempts >= EXPORT_MAX_ATTEMPTS or bool(self.request.is_eager)
        OrganisationExport.objects.filter(pk=export_id).update(
            status=ExportStatus.FAILED if final else ExportStatus.QUEUED,
            attempts=attempts,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            queued_at=timezone.now(),
        )
        logger.exception("export %s failed (attempt %s)", export_id, attempts)
        if final:
            return "failed"
        raise self.retry(exc=exc, countdown=self.retry_countdown(attempts)) from exc
    now = timezone.now()
    # Ready and its email in one transaction: whoever sees it ready finds the email queued too.
    with transaction.atomic():
        OrganisationExport.objects.filter(pk=export_id).update(
            status=ExportStatus.READY,
            completed_at=now,
            expires_at=export_expiry(now),
            file=built.storage_name,
            sha256=built.sha256,
            size=built.size,
            counts=built.counts,
            attempts=export.attempts + 1,
            error="",
        )
        export.refresh_from_db()
        export_notify_ready(organisation=organisation, export=export)
    return "ready"


@app.task
def sweep_exports() -> int:
    """Re-enqueue exports whose task was lost, and builds stuck after a killed worker."""
    from portal.models import ExportStatus, OrganisationExport

    now = timezone.now()
    with scopes_disabled():
        OrganisationExport.objects.filter(status=ExportStatus.BUILDING, claimed_at__lt=now - EXPORT_STUCK_AFTER).update(
            status=ExportStatus.QUEUED
        )
        stuck = list(
            OrganisationExport.objects.filter(
                status=ExportStatus.QUEUED, queued_at__lt=now - STUCK_PENDING_AFTER
            ).values_list("id", "organisation_id")[:100]
        )
        OrganisationExport.objects.filter(pk__in=[pk for pk, _org in stuck]).update(queued_at=now)
    for export_id, organisation_id in stuck:
        build_organisation_export.publish(organisation_id=str(organisation_id), export_id=str(export_id))
    return len(stuck)


@app.task
def apply_retention() -> dict[str, int]:
    """Delete what the retention settings say has been kept long enough (see portal.privacy)."""
    from portal.privacy import retention_apply

    removed = retention_apply()
    logger.info("retention: %s", ", ".join(f"{k}={v}" for k, v in removed.items()))
    return removed


@app.task(bind=True, tenant=True, after_response=True)
def send_webhook(self, *, organisation: Organisation, delivery_id: str) -> str:
    """Send one webhook delivery (portal.webhooks.deliver). A failure is recorded on the row with its next
    try; the beat's sweep publishes it then (a wait of up to hours is no Celery countdown)."""
    from portal.webhooks import deliver

    return deliver(organisation, delivery_id)


@app.task
def sweep_webhook_deliveries() -> int:
    """Publish the webhook deliveries due now: retries, and sends whose task was lost."""
    from portal.webhooks import sweep

    return sweep()
