"""Queue notification emails as rows; a worker sends them (portal.tasks.send_outbox_email)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django_scopes import scope

from portal.canonical import to_jsonable
from portal.models import Organisation, Outbox
from portal.text import one_line


def outbox_queue(
    *,
    organisation: Organisation,
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    dedupe_key: str,
    headers: dict[str, str] | None = None,
) -> Outbox | None:
    """Queue one email, sent after commit. The same (dedupe_key, to) is queued only once.

    The subject is put on one line: it may quote text written on several lines (a decline reason in a
    notification's sentence), and a line break in a header would stop the email being built at all."""
    from portal.tasks import send_outbox_email

    with scope(organisation=organisation):
        try:
            with transaction.atomic():
                email = Outbox.objects.create(
                    organisation=organisation,
                    to_email=to,
                    subject=one_line(subject),
                    template=template,
                    context=to_jsonable(context),
                    dedupe_key=dedupe_key,
                    headers=headers or {},
                )
        except IntegrityError:
            return None
    send_outbox_email.publish(organisation_id=str(organisation.pk), email_id=str(email.pk))
    return email
