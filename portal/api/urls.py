"""/api/: the OpenAPI schema, its docs page, and version 1 (each app adds its own `api_urls`)."""

from django.db import transaction
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from portal.api import notifications, schema, views  # noqa: F401 - schema registers the auth extensions

org = "organisations/<slug:org>/"

v1 = [
    path("me/", views.MeView.as_view(), name="me"),
    path("organisations/", views.MyOrganisationsView.as_view(), name="organisation_list"),
    path(org, views.OrganisationDetailView.as_view(), name="organisation_detail"),
    path(f"{org}members/", views.MemberListView.as_view(), name="member_list"),
    path(f"{org}members/<uuid:member_id>/", views.MemberDetailView.as_view(), name="member_detail"),
    path(f"{org}audit-events/", views.AuditEventListView.as_view(), name="audit_event_list"),
    path(f"{org}audit-events/verify/", views.AuditVerifyView.as_view(), name="audit_verify"),
    # The person's own: "Your work", notifications and their preferences (across organisations).
    path("inbox/", notifications.InboxView.as_view(), name="inbox"),
    path("notifications/", notifications.NotificationListView.as_view(), name="notification_list"),
    path("notifications/read-all/", notifications.NotificationReadAllView.as_view(), name="notification_read_all"),
    path(
        "notifications/<uuid:notification_id>/read/",
        notifications.NotificationReadView.as_view(),
        name="notification_read",
    ),
    path(
        "notification-preferences/",
        notifications.NotificationPreferencesView.as_view(),
        name="notification_preferences",
    ),
    # Other apps' endpoints are included by module path, so portal imports none of them.
    path("", include("principles.api_urls")),
    path("", include("assessments.api_urls")),
    path("", include("supplychain.api_urls")),
    path("", include("reports.api_urls")),
]

urlpatterns = [
    path(
        "schema/",
        # Neither page touches the database, so neither opens a transaction.
        transaction.non_atomic_requests(
            SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny])
        ),
        name="api_schema",
    ),
    path(
        "docs/",
        transaction.non_atomic_requests(
            views.ApiDocsView.as_view(url_name="api_schema", authentication_classes=[], permission_classes=[AllowAny])
        ),
        name="api_docs",
    ),
    path("v1/", include((v1, "api"))),
]
