"""Outgoing email: every message has a plain-text and an HTML part rendered from templates."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated_email(
    *, to: str, subject: str, template: str, context: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """Render templates/email/<template>.txt and .html and send them as one message."""
    context = {"site_url": settings.SITE_URL, "subject": subject, **context}
    text = render_to_string(f"email/{template}.txt", context)
    html = render_to_string(f"email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], headers=headers or None)
    message.attach_alternative(html, "text/html")
    message.send()


def is_permanent_email_error(exc: BaseException) -> bool:
    """Whether sending failed in a way no retry can mend: the message itself cannot be built (a line
    break in a header gives BadHeaderError, a ValueError; so does an address that cannot be encoded).
    A mail server that is down or slow (SMTPException, OSError) is transient and worth retrying."""
    return isinstance(exc, ValueError)
