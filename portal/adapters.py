"""django-allauth hooks: every account email gets an HTML part in the portal's email layout."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils.html import linebreaks, urlize
from django.utils.safestring import mark_safe


class AccountAdapter(DefaultAccountAdapter):
    def render_mail(
        self, template_prefix: str, email: str, context: dict[str, Any], headers: dict | None = None
    ) -> EmailMessage:
        message = super().render_mail(template_prefix, email, context, headers=headers)
        if isinstance(message, EmailMultiAlternatives) and message.alternatives:
            return message
        try:
            html = render_to_string(f"{template_prefix}_message.html", context, self.request)
        except TemplateDoesNotExist:
            # allauth ships text bodies only; wrap them in the portal's HTML layout.
            html = render_to_string(
                "email/allauth_wrapper.html",
                {
                    # urlize escapes the text itself, so the result is safe to use as HTML.
                    "body_html": mark_safe(  # noqa: S308
                        linebreaks(urlize(message.body, autoescape=True), autoescape=False)
                    ),
                    "subject": message.subject,
                },
            )
        multi = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=message.from_email,
            to=message.to,
            headers=message.extra_headers,
        )
        multi.attach_alternative(html, "text/html")
        return multi
