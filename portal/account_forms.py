"""allauth form subclasses. Apart from portal.forms, which allauth itself imports for sign-up."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm as AllauthLoginForm

from portal.forms import specific_messages


class LoginForm(AllauthLoginForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        specific_messages(self)
