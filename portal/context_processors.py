"""What every page needs: the current organisation and role, the switcher, the counts in the navigation
(what waits for the user, and their unread notifications)."""

from __future__ import annotations

from functools import cache
from typing import Any

from allauth.account.internal.stagekit import LOGIN_SESSION_KEY  # where allauth keeps a pending sign-in
from django.http import HttpRequest

from portal import selectors
from portal.dashboard import header_counts
from portal.header import HeaderState, header_state


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        # Mid-sign-up or mid-sign-in (a code or second factor still to enter): the header offers no
        # "Sign in" or "Create an account", which would abandon the journey. Read only by that header.
        return {
            "current_organisation": None,
            "current_membership": None,
            "signing_in": lambda: LOGIN_SESSION_KEY in getattr(request, "session", {}),
        }

    # Callables, so only pages that show the switcher or the badges pay for them, once each. The
    # person's header state (the memberships and both counts) is one cache read when current
    # (portal.header); on a tenant page the middleware has already read it.
    @cache
    def state() -> HeaderState:
        known = getattr(request, "header_state", None)
        return known if known is not None else header_state(user)

    @cache
    def memberships() -> list[Any]:
        known = getattr(request, "my_memberships", None)  # a page that read them itself
        return known if known is not None else state().memberships

    @cache
    def invitations() -> list[Any]:
        # The "Your work" page has already read them as items waiting for the person.
        known = getattr(request, "my_invitations", None)
        return known if known is not None else selectors.open_invitations_for_email(user.email)

    @cache
    def counts() -> tuple[int, int]:
        # Both numbers in the navigation; a page that has already counted says so.
        known = getattr(request, "my_header_counts", None)
        if known is not None:
            return known
        mine = getattr(request, "my_memberships", None)
        if mine is not None and getattr(request, "header_state", None) is None:
            # The page read the memberships itself: count with them, without reading the state.
            return header_counts(user, mine)
        return state().counts()

    return {
        "current_organisation": getattr(request, "organisation", None),
        "current_membership": getattr(request, "membership", None),
        "my_memberships": memberships,
        "my_invitations": invitations,
        "my_awaiting_count": cache(lambda: counts()[0]),
        "my_unread_count": cache(lambda: counts()[1]),
    }
