"""django-allauth hooks: account emails in the portal's layout, and sign-in limits per account.

Failed sign-ins are counted three ways (the rates are `ACCOUNT_RATE_LIMITS` in settings):

- `login_failed_account_address`: one account from one address. The person mistyping is stopped
  here, and only there: the same account still signs in from elsewhere, and other people behind
  the same address (an office, a proxy) are not affected.
- `login_failed`: one account from anywhere, a higher ceiling against guessing one person's
  password from many addresses. allauth also counts wrong second-factor codes per person here.
- `login_failed_address`: every account from one address, a much higher ceiling that stops one
  address trying a common password against many accounts (spraying).

A successful sign-in takes its own attempt back off all three counts, as allauth does.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.http import HttpRequest
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils.html import linebreaks, urlize
from django.utils.safestring import mark_safe
from django.utils.translation import ngettext

from portal.addresses import client_ip, client_limit_address
from portal.models import TokenRevokedReason, User
from portal.tokens import tokens_revoke_for_password_change


class _Attempts:
    """This attempt's place in each count, taken back when the sign-in succeeds."""

    def __init__(self, usages: list[ratelimit.RateLimitUsage]) -> None:
        self.usages = usages

    def rollback(self) -> None:
        for usage in self.usages:
            usage.rollback()


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # The portal's one rule for the client's address (portal/addresses.py), for allauth's limits too.
        address = client_ip(request)
        if not address:
            raise PermissionDenied("Unable to determine client IP address")
        return address

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # The account alone: allauth adds the Host header's domain, which the client chooses.
        return str(credentials.get("email") or credentials.get("username") or "").strip().lower()

    def _login_failure_counts(self, request: HttpRequest, account: str) -> list[tuple[str, str | None]]:
        return [
            ("login_failed_account_address", f"{account}|{client_limit_address(request)}"),
            ("login_failed", account),
            ("login_failed_address", None),  # counted per address by allauth itself
        ]

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Refuse the attempt if any of the three counts is full; else take a place in each."""
        account = self._get_login_attempts_cache_key(request, **credentials)
        taken: list[ratelimit.RateLimitUsage] = []
        for action, key in self._login_failure_counts(request, account):
            usage = ratelimit.consume(request, app="allauth.account", action=action, key=key)
            if usage is None:
                # A refused attempt counts nowhere: it was never tried.
                _Attempts(taken).rollback()
                raise self.validation_error("too_many_login_attempts")
            taken.append(usage)
        self._login_failed_rl_usage = _Attempts(taken)

    def _delete_login_attempts_cached_email(self, request: HttpRequest, **credentials: Any) -> None:
        # After a successful password reset: the account's own counts start again (the address's do not).
        account = self._get_login_attempts_cache_key(request, **credentials)
        for action, key in self._login_failure_counts(request, account):
            if key is not None:
                ratelimit.clear(request, app="allauth.account", action=action, key=key)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """After signing in with no `next`: "Your work" when something waits for the person there.
        (allauth asks this only when the sign-in carried no explicit `next`.)"""
        from django.urls import reverse

        from portal.dashboard import awaiting_count
        from portal.selectors import memberships_of_user

        user = request.user
        if user.is_authenticated and awaiting_count(user, memberships_of_user(user)):
            return reverse("your_work")
        return super().get_login_redirect_url(request)

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


# --- allauth signals (connected in PortalConfig.ready) ------------------------------------------


def _revoke_tokens(request: HttpRequest | None, user: User, reason: TokenRevokedReason) -> None:
    revoked = tokens_revoke_for_password_change(user=user, reason=reason)
    if revoked and request is not None:
        messages.warning(
            request,
            ngettext(
                "Your API token was revoked with your old password. Make a new one on the API tokens page "
                "for any system that still needs it.",
                "Your %(count)d API tokens were revoked with your old password. Make new ones on the API "
                "tokens page for any systems that still need them.",
                len(revoked),
            )
            % {"count": len(revoked)},
        )


def on_password_changed(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """A changed (or first set) password ends the person's API tokens, as it ends their other sessions."""
    _revoke_tokens(request, user, TokenRevokedReason.PASSWORD_CHANGED)


def on_password_reset(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    _revoke_tokens(request, user, TokenRevokedReason.PASSWORD_RESET)
