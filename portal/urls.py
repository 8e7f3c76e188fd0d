from django.urls import include, path

from portal import digest_views, notification_views, views, webhook_views

handler400 = "portal.views.error_400"
handler403 = "portal.views.error_403"
handler404 = "portal.views.error_404"
handler500 = "portal.views.error_500"

tenant_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("members/", views.members, name="members"),
    path("members/<uuid:membership_id>/role/", views.member_role, name="member_role"),
    path("members/<uuid:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("leave/", views.leave, name="leave"),
    path("invitations/new/", views.invitation_create, name="invitation_create"),
    path("invitations/<uuid:invitation_id>/resend/", views.invitation_resend, name="invitation_resend"),
    path("invitations/<uuid:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("audit/", views.audit_trail, name="audit_trail"),
    path("settings/export/", views.export_list, name="export_list"),
    path("settings/export/new/", views.export_create, name="export_create"),
    path("settings/export/<uuid:export_id>/", views.export_detail, name="export_detail"),
    path("settings/export/<uuid:export_id>/download/", views.export_download, name="export_download"),
    path("settings/webhooks/", webhook_views.webhook_list, name="webhook_list"),
    path("settings/webhooks/new/", webhook_views.webhook_create, name="webhook_create"),
    path("settings/webhooks/<uuid:endpoint_id>/", webhook_views.webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<uuid:endpoint_id>/secret/", webhook_views.webhook_secret, name="webhook_secret"),
    path("settings/webhooks/<uuid:endpoint_id>/rotate/", webhook_views.webhook_rotate, name="webhook_rotate"),
    path("settings/webhooks/<uuid:endpoint_id>/pause/", webhook_views.webhook_pause, name="webhook_pause"),
    path("settings/webhooks/<uuid:endpoint_id>/resume/", webhook_views.webhook_resume, name="webhook_resume"),
    path("settings/webhooks/<uuid:endpoint_id>/delete/", webhook_views.webhook_delete, name="webhook_delete"),
    path(
        "settings/webhooks/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/send-again/",
        webhook_views.webhook_send_again,
        name="webhook_send_again",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/database", views.healthz_database, name="healthz_database"),
    path("accounts/", include("allauth.urls")),
    path("api/", include("portal.api.urls")),
    path("account/", views.account, name="account"),
    path("account/data/", views.account_data, name="account_data"),
    path("account/data/download/", views.account_data_download, name="account_data_download"),
    path("account/delete/", views.account_delete, name="account_delete"),
    path("account/deleted/", views.account_deleted, name="account_deleted"),
    path("account/tokens/", views.api_tokens, name="api_tokens"),
    path("account/tokens/<uuid:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("your-work/", views.your_work, name="your_work"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/read-all/", notification_views.notification_mark_all_read, name="notifications_read_all"),
    path(
        "notifications/unsubscribe/<str:token>/",
        notification_views.notification_unsubscribe,
        name="notifications_unsubscribe",
    ),
    path("notifications/<uuid:notification_id>/open/", notification_views.notification_open, name="notification_open"),
    path("account/notifications/", notification_views.notification_preferences, name="notification_preferences"),
    path(
        "notifications/daily-summary/unsubscribe/<str:token>/",
        digest_views.digest_unsubscribe_view,
        name="digest_unsubscribe",
    ),
    path("organisations/", views.organisation_list, name="organisation_list"),
    path("organisations/new/", views.organisation_create, name="organisation_create"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    # Other apps' pages are included by module path, so portal imports none of them.
    path("", include("principles.public_urls")),
    path("", include("assessments.account_urls")),
    path("", include("assessments.survey_public_urls")),
    path("", include("supplychain.public_urls")),
    path("", include("reports.public_urls")),
    # Every tenant page lives under /o/<slug>/; portal.tenancy.TenantMiddleware guards them all.
    path("o/<slug:org_slug>/", include((tenant_patterns, "portal"))),
    path("o/<slug:org_slug>/", include("principles.urls")),
    path("o/<slug:org_slug>/", include("assessments.urls")),
    path("o/<slug:org_slug>/", include("supplychain.urls")),
    path("o/<slug:org_slug>/", include("reports.urls")),
]
