"""Sending supplier invitations in batches, reminders and expiry on the beat schedule, and the sweep."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from portal.celery import app
from portal.emails import is_permanent_email_error, send_templated_email
from portal.models import EmailStatus
from supplychain.models import InvitationState, SupplierInvitation

logger = logging.getLogger(__name__)
STUCK_PENDING_AFTER = timedelta(minutes=2)
STUCK_SENDING_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 5


def _context(invitation: SupplierInvitation, *, reminder: bool) -> dict:
    from supplychain.services import invitation_token

    campaign = invitation.campaign
    return {
        "invitation": invitation,
        "campaign": campaign,
        "buyer": invitation.inviter,
        "requested_by": campaign.organisation,
        "supplier_name": invitation.supplier.name,
        "contact_name": invitation.supplier.contact_name,
        "due_date": date_format(campaign.due_date, "j F Y"),
        "expires": date_format(timezone.localtime(invitation.expires_at), "j F Y"),
        "url": settings.SITE_URL + reverse("supplier_invitation", kwargs={"token": invitation_token(invitation)}),
        "reminder": reminder,
        "organisation": invitation.inviter,
    }


def _claim(invitation_ids: list[str]) -> list[SupplierInvitation]:
    """Claim, in one short transaction, the batch's invitations that still wait for their email.

    Rows are locked while they are read and claimed, so a resend or an answer arriving meanwhile
    waits for the claim (and is seen by it); a duplicate delivery of the task claims nothing.
    One commit per batch rather than one per email: a commit waits for the disk.
    """
    with transaction.atomic():
        invitations = list(
            SupplierInvitation.objects.select_for_update(of=("self",))
            .select_related("campaign", "campaign__organisation", "inviter", "supplier")
            .filter(pk__in=invitation_ids, email_status=EmailStatus.PENDING, state=InvitationState.PENDING)
            .order_by("pk")  # the same lock order in every worker
        )
        if invitations:
            SupplierInvitation.objects.filter(pk__in=[i.pk for i in invitations]).update(
                email_status=EmailStatus.SENDING, email_claimed_at=timezone.now()
            )
    return invitations


def _send_claimed(invitation: SupplierInvitation, *, is_eager: bool) -> str:
    try:
        send_templated_email(
            to=invitation.email,
            subject=_("%(buyer)s asks %(supplier)s to commit to the Made Smarter Guiding Principles")
            % {"buyer": invitation.inviter.name, "supplier": invitation.supplier.name},
            template="supplier_invitation",
            context=_context(invitation, reminder=False),
        )
    except Exception as exc:
        attempts = invitation.email_attempts + 1
        # A message that cannot be built (a line break in a name, from before names were checked)
        # fails for good at once: the sweep re-enqueues only pending rows, and the buyer sees why.
        final = attempts >= MAX_ATTEMPTS or is_eager or is_permanent_email_error(exc)
        SupplierInvitation.objects.filter(pk=invitation.pk, nonce=invitation.nonce).update(
            email_status=EmailStatus.FAILED if final else EmailStatus.PENDING,
            email_attempts=attempts,
            email_error=f"{type(exc).__name__}: {exc}"[:2000],
            email_queued_at=timezone.now(),
        )
        logger.warning("supplier invitation %s failed (attempt %s): %s", invitation.pk, attempts, exc)
        return "failed" if final else "retry"
    # Marked one by one: a worker lost in the middle of a batch re-sends nothing already sent. A row
    # resent meanwhile has a new nonce: it stays pending for its own task, with the link that works.
    SupplierInvitation.objects.filter(pk=invitation.pk, nonce=invitation.nonce).update(
        email_status=EmailStatus.SENT,
        email_sent_at=timezone.now(),
        email_attempts=F("email_attempts") + 1,
        email_error="",
    )
    return "sent"


def _tell_who_answers(invitation: SupplierInvitation) -> None:
    """The request in the notifications of whoever answers it (once: a resend or a duplicate task adds
    nothing). A failure here must not stop the email, which is the request itself."""
    from supplychain.services import supplier_request_received_notify

    try:
        supplier_request_received_notify(invitation)
    except Exception:
        logger.exception("could not notify about supplier request %s", invitation.pk)


@app.task(bind=True, max_retries=None)  # each row counts its own attempts (MAX_ATTEMPTS)
@scopes_disabled()  # system work across every organisation's invitations (portal.rls)
def send_supplier_invitations(self, *, invitation_ids: list[str]) -> dict[str, int]:
    """Send a batch of invitation emails. A duplicated delivery sends nothing twice (status claim).

    Emails that failed for the first times are tried again, as a smaller batch, after a backoff."""
    claimed = _claim(invitation_ids)
    results: dict[str, int] = {}
    if len(claimed) < len(invitation_ids):
        # sent already, being sent, or answered or revoked meanwhile
        results["not-claimed"] = len(invitation_ids) - len(claimed)
    again: list[str] = []
    for invitation in claimed:
        _tell_who_answers(invitation)
        outcome = _send_claimed(invitation, is_eager=bool(self.request.is_eager))
        results[outcome] = results.get(outcome, 0) + 1
        if outcome == "retry":
            again.append(str(invitation.pk))
    if again:
        attempts = max(i.email_attempts for i in claimed if str(i.pk) in again) + 1
        raise self.retry(kwargs={"invitation_ids": again}, countdown=self.retry_countdown(attempts))
    return results


@app.task
@scopes_disabled()  # system work across every organisation's invitations (portal.rls)
def supplier_invitation_reminders() -> dict[str, int]:
    """Expire overdue invitations; send each reminder day once, unless the campaign is muted."""
    now = timezone.now()
    expired = SupplierInvitation.objects.filter(state=InvitationState.PENDING, expires_at__lte=now).update(
        state=InvitationState.EXPIRED
    )
    reminded = 0
    candidates = (
        SupplierInvitation.objects.filter(
            state=InvitationState.PENDING, email_status=EmailStatus.SENT, campaign__reminders_muted=False
        )
        .select_related("campaign", "campaign__organisation", "inviter", "supplier")
        .order_by("email_sent_at")[:2000]
    )
    for invitation in candidates:
        if invitation.email_sent_at is None:
            continue
        due = [
            d
            for d in invitation.campaign.reminder_days
            if d not in invitation.reminders_sent and invitation.email_sent_at + timedelta(days=d) <= now
        ]
        if not due:
            continue
        day = max(due)
        # Claim the reminder first so a parallel run does not send it too.
        claimed = SupplierInvitation.objects.filter(pk=invitation.pk, reminders_sent=invitation.reminders_sent).update(
            reminders_sent=sorted({*invitation.reminders_sent, *due}), last_reminder_at=now
        )
        if not claimed:
            continue
        try:
            send_templated_email(
                to=invitation.email,
                subject=_("Reminder: %(buyer)s is waiting for %(supplier)s's answer")
                % {"buyer": invitation.inviter.name, "supplier": invitation.supplier.name},
                template="supplier_invitation",
                context=_context(invitation, reminder=True),
            )
            reminded += 1
        except Exception as exc:
            if is_permanent_email_error(exc):  # it can never be sent: failed, shown to the buyer, not retried
                SupplierInvitation.objects.filter(pk=invitation.pk).update(
                    email_status=EmailStatus.FAILED, email_error=f"{type(exc).__name__}: {exc}"[:2000]
                )
            else:  # the next run tries again
                SupplierInvitation.objects.filter(pk=invitation.pk).update(reminders_sent=invitation.reminders_sent)
            logger.warning("reminder for %s (day %s) failed: %s", invitation.pk, day, exc)
    return {"expired": expired, "reminded": reminded}


@app.task
@scopes_disabled()  # system work across every organisation's invitations (portal.rls)
def sweep_supplier_invitations() -> int:
    """Re-enqueue invitation emails whose task was lost (Redis restart, killed worker)."""
    from supplychain.services import BATCH_SIZE

    now = timezone.now()
    SupplierInvitation.objects.filter(
        email_status=EmailStatus.SENDING, email_claimed_at__lt=now - STUCK_SENDING_AFTER
    ).update(email_status=EmailStatus.PENDING)
    stuck = list(
        SupplierInvitation.objects.filter(
            email_status=EmailStatus.PENDING,
            state=InvitationState.PENDING,
            email_queued_at__lt=now - STUCK_PENDING_AFTER,
        ).values_list("id", flat=True)[:5000]
    )
    SupplierInvitation.objects.filter(pk__in=stuck).update(email_queued_at=now)
    ids = [str(i) for i in stuck]
    for start in range(0, len(ids), BATCH_SIZE):
        send_supplier_invitations.publish(invitation_ids=ids[start : start + BATCH_SIZE])
    return len(ids)
