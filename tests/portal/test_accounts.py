"""Accounts through django-allauth: email login, verification by code, reset, MFA, sessions, limits."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from django.test import Client
from django.utils import timezone

from portal.models import User
from tests.conftest import client_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ALLAUTH_PAGES = [
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
]
SIGNED_IN_PAGES = [
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/2fa/",
    "/accounts/sessions/",
    "/account/",
]


def _code(message) -> str:
    return re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", message.body, re.M).group(1)


def test_sign_up_requires_the_emailed_code_before_anything_else() -> None:
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {
            "email": "Maria.Manager@Example.org",
            "full_name": "Maria Manager",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email__iexact="maria.manager@example.org")
    assert user.full_name == "Maria Manager"
    # Not signed in until the code is entered.
    assert client.get("/organisations/").status_code == 302
    message = mail.outbox[-1]
    assert message.subject.startswith("[Made Smarter Portal]")
    assert "Your email verification code" in message.body
    assert message.alternatives and message.alternatives[0][1] == "text/html"
    wrong = client.post("/accounts/confirm-email/", {"code": "AAAA-AAAA"})
    assert wrong.status_code == 200 and "Error:" in wrong.content.decode()
    response = client.post("/accounts/confirm-email/", {"code": _code(message)})
    assert response.status_code == 302
    assert client.get("/organisations/").status_code == 200


def test_signup_errors_are_summarised_and_input_kept() -> None:
    response = Client().post(
        "/accounts/signup/",
        {"email": "bad-address", "full_name": "", "password1": "short", "password2": "other"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error:" in html and 'class="error-summary"' in html
    assert 'href="#id_email"' in html and 'href="#id_full_name"' in html
    assert 'value="bad-address"' in html
    assert "Enter your full name" in html
    assert "Enter an email address in the correct format, like name@example.com" in html
    assert User.objects.count() == 0


def test_unverified_user_cannot_sign_in_without_the_code() -> None:
    UserFactory(email="unverified@example.org", verified=False)
    client = Client()
    response = client.post("/accounts/login/", {"login": "unverified@example.org", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert client.get("/organisations/").status_code == 302


def test_sign_in_with_email_and_password() -> None:
    UserFactory(email="person@example.org")
    client = Client()
    response = client.post("/accounts/login/", {"login": "PERSON@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/organisations/").status_code == 200


def test_password_reset_sends_a_link_with_text_and_html_parts() -> None:
    UserFactory(email="forgetful@example.org")
    response = Client().post("/accounts/password/reset/", {"email": "forgetful@example.org"})
    assert response.status_code == 302
    message = mail.outbox[-1]
    assert message.to == ["forgetful@example.org"]
    assert "/accounts/password/reset/key/" in message.body
    html = message.alternatives[0][0]
    assert "/accounts/password/reset/key/" in html and "<a href=" in html
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", message.body).group(1)
    client = Client()
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"},
    )
    assert response.status_code == 302
    assert Client().login(email="forgetful@example.org", password="a-brand-new-passphrase")


def test_totp_mfa_can_be_activated_and_is_then_required() -> None:
    user = UserFactory(email="careful@example.org")
    client = Client()
    client.post("/accounts/login/", {"login": "careful@example.org", "password": PASSWORD})
    # Setting up MFA asks for the password again, even right after signing in.
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")
    client.post(response["Location"], {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', page.content.decode()).group(1)
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = client.post("/accounts/2fa/totp/activate/", {"code": code})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()
    # Signing in now asks for the second factor before the session is authenticated.
    fresh = Client()
    response = fresh.post("/accounts/login/", {"login": "careful@example.org", "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert fresh.get("/organisations/").status_code == 302
    second_factor = fresh.get("/accounts/2fa/authenticate/").content.decode()
    assert "Enter the code from your authenticator app" in second_factor and "recovery codes" in second_factor
    assert "Create an account" not in second_factor  # mid-sign-in: no way off the journey but Cancel


def test_user_sees_and_ends_other_sessions() -> None:
    UserFactory(email="traveller@example.org")
    laptop, phone = Client(HTTP_USER_AGENT="Laptop browser"), Client(HTTP_USER_AGENT="Phone browser")
    for client in (laptop, phone):
        client.post("/accounts/login/", {"login": "traveller@example.org", "password": PASSWORD})
    html = laptop.get("/accounts/sessions/").content.decode()
    assert "Laptop browser" in html and "Phone browser" in html
    laptop.post("/accounts/sessions/", {})
    assert phone.get("/organisations/").status_code == 302  # signed out elsewhere
    assert laptop.get("/organisations/").status_code == 200


def test_repeated_failed_sign_ins_are_rate_limited() -> None:
    UserFactory(email="target@example.org")
    client = Client()
    pages = [
        client.post("/accounts/login/", {"login": "target@example.org", "password": "wrong"}).content.decode()
        for _ in range(6)
    ]
    assert all("Too many failed login attempts" not in page for page in pages[:5])
    assert "Too many failed login attempts" in pages[5]
    # Even the right password is refused while the limit holds.
    response = client.post("/accounts/login/", {"login": "target@example.org", "password": PASSWORD})
    assert response.status_code == 200 and "Too many failed login attempts" in response.content.decode()


@pytest.mark.parametrize("url", ALLAUTH_PAGES)
def test_account_pages_use_the_portal_layout(url) -> None:
    html = Client().get(url).content.decode()
    assert 'class="skip-link"' in html and "Made Smarter Portal" in html
    assert "Menu:" not in html  # allauth's bare default layout
    assert 'class="button' in html


@pytest.mark.parametrize("url", SIGNED_IN_PAGES)
def test_account_settings_pages_use_the_portal_layout(url) -> None:
    html = client_for(UserFactory()).get(url).content.decode()
    assert 'class="skip-link"' in html and "Account settings" in html
    assert "Menu:" not in html


def test_profile_name_can_be_changed() -> None:
    user = UserFactory(full_name="Old Name")
    client = client_for(user)
    client.post("/account/", {"full_name": "New Name"})
    user.refresh_from_db()
    assert user.full_name == "New Name"


def _sign_up(client: Client, email: str = "nia.new@example.org"):
    return client.post(
        "/accounts/signup/",
        {"email": email, "full_name": "Nia New", "password1": PASSWORD, "password2": PASSWORD},
    )


def _header(html: str) -> str:
    return re.search(r"<header.*?</header>", html, re.S).group(0)


def test_the_code_page_speaks_plainly_says_how_long_the_code_lasts_and_hides_sign_in_links(settings) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT = 10 * 60  # read from settings, not written in
    client = Client()
    assert "Create an account" in _header(client.get("/accounts/login/").content.decode())
    _sign_up(client)
    page = client.get("/accounts/confirm-email/")
    html = page.content.decode()
    assert '<h1 class="heading-l">Enter the code we emailed you</h1>' in html
    assert "We sent a code to <strong>nia.new@example.org</strong>. It lasts 10 minutes." in html
    assert "It lasts 10 minutes." in mail.outbox[-1].body  # the email says the same
    assert "Enter Email Verification Code" not in html and "expires shortly" not in html
    assert ">Send a new code</button>" in html
    header = _header(html)
    assert "Sign in" not in header and "Create an account" not in header  # mid-sign-up
    # Other pages visited mid-sign-up do not offer them either; once signed in, the header is the member's.
    assert "Create an account" not in _header(client.get("/").content.decode())
    client.post("/accounts/confirm-email/", {"code": _code(mail.outbox[-1])})
    assert "Sign out" in _header(client.get("/organisations/").content.decode())


def test_send_a_new_code_emails_a_fresh_code_that_works() -> None:
    client = Client()
    _sign_up(client)
    first = _code(mail.outbox[-1])
    # After the confirm_email rate limit's three minutes: one code email per address per three minutes.
    with time_machine.travel(timezone.now() + timedelta(minutes=4), tick=False):
        response = client.post("/accounts/confirm-email/", {"action": "resend"})
        assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
        assert len(mail.outbox) == 2
        second = _code(mail.outbox[-1])
        assert second != first
        assert client.post("/accounts/confirm-email/", {"code": second}).status_code == 302
    assert client.get("/organisations/").status_code == 200


# Words that stay capitalised mid-sentence in the account pages' headings, buttons and titles.
_PROPER = {"IP", "Made", "Smarter", "Portal", "API"}


def _title_case_words(html: str) -> list[str]:
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1).split("\u2013")[0]
    texts = re.findall(r"<(h1|h2|th|button|summary|label)[^>]*>(.*?)</\1>", html.split("</header>", 1)[1], re.S)
    found = []
    for text in [title, *(t for _, t in texts)]:
        text = re.sub(r'<strong class="tag[^"]*"[^>]*>.*?</strong>', " ", text, flags=re.S)  # status tags
        words = re.sub(r"<[^>]+>|\S+@\S+", " ", text).split()
        found += [w for w in words[1:] if re.match(r"^[A-Z][a-z]", w) and w.strip(".,:()") not in _PROPER]
    return found


@pytest.mark.parametrize("path", ALLAUTH_PAGES + SIGNED_IN_PAGES + ["/accounts/logout/", "/accounts/reauthenticate/"])
def test_account_pages_speak_in_sentence_case_without_placeholders(path) -> None:
    client = Client()
    if path not in ALLAUTH_PAGES:
        client.force_login(UserFactory())
    html = client.get(path).content.decode()
    assert _title_case_words(html) == [], path
    assert "placeholder=" not in html


def test_sign_in_says_remember_me_and_the_code_and_reset_pages_name_their_lifetimes() -> None:
    html = Client().get("/accounts/login/").content.decode()
    assert ">Remember me</label>" in html and "Remember Me" not in html
    assert ">Email address</label>" in html
    UserFactory(email="forgetful@example.org")
    done = Client().post("/accounts/password/reset/", {"email": "forgetful@example.org"}, follow=True)
    assert "Check your email" in done.content.decode() and "The link lasts 3 days and works once." in (
        done.content.decode()
    )
