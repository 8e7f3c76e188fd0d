"""The portal's URLs, plus a stand-in for the notifications' unsubscribe page where this branch does not
have it yet (it is built with the notifications pages): emails built here need its address."""

from django.http import HttpResponse
from django.urls import NoReverseMatch, path, reverse

from portal.urls import *  # noqa: F403
from portal.urls import urlpatterns as portal_urlpatterns

try:
    reverse("notifications_unsubscribe", kwargs={"token": "x"}, urlconf="portal.urls")
    urlpatterns = portal_urlpatterns
except NoReverseMatch:
    urlpatterns = [
        *portal_urlpatterns,
        path(
            "notifications/unsubscribe/<str:token>/",
            lambda request, token: HttpResponse(),
            name="notifications_unsubscribe",
        ),
    ]
