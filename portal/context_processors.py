"""What every page needs: the current organisation and role, the switcher, counts awaiting the user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from portal import selectors
from portal.dashboard import awaiting_for


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_organisation": None, "current_membership": None}
    memberships = SimpleLazyObject(lambda: selectors.memberships_of_user(user))
    return {
        "current_organisation": getattr(request, "organisation", None),
        "current_membership": getattr(request, "membership", None),
        # Lazy: only pages that show the switcher or the badges pay for the queries.
        "my_memberships": memberships,
        "my_invitations": SimpleLazyObject(lambda: selectors.open_invitations_for_email(user.email)),
        "my_awaiting": SimpleLazyObject(lambda: awaiting_for(user, list(memberships))),
    }
