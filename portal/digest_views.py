"""The daily digest's one-click unsubscribe (RFC 8058): no sign-in, a signed link (portal.digests)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from portal.digests import digest_kinds, digest_unsubscribe, kind_labels, read_digest_unsubscribe_token


# Mail providers POST "List-Unsubscribe=One-Click" with no cookie or CSRF token (RFC 8058 section 3);
# the signed token in the address is what authorises it.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def digest_unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    user = read_digest_unsubscribe_token(token)
    if user is None:
        return render(request, "portal/digest_unsubscribe_invalid.html", status=404)
    if request.method == "POST":
        kinds = digest_unsubscribe(user=user)
        return render(request, "portal/digest_unsubscribed.html", {"labels": kind_labels(kinds)})
    return render(
        request,
        "portal/digest_unsubscribe.html",
        {"labels": kind_labels(digest_kinds(user)), "email": user.email},
    )
