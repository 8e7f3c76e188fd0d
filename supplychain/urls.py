"""Tenant pages of the supply chain, mounted under /o/<org_slug>/ by portal/urls.py."""

from django.urls import path

from supplychain import views

app_name = "supplychain"

urlpatterns = [
    path("supply-chain/suppliers/", views.supplier_list, name="suppliers"),
    path("supply-chain/suppliers/new/", views.supplier_edit, name="supplier_create"),
    path("supply-chain/suppliers/<uuid:supplier_id>/", views.supplier_edit, name="supplier_edit"),
    path("supply-chain/suppliers/<uuid:supplier_id>/archive/", views.supplier_archive, name="supplier_archive"),
    path("supply-chain/suppliers/template.csv", views.supplier_template, name="supplier_template"),
    path("supply-chain/suppliers/template.xlsx", views.supplier_template_xlsx, name="supplier_template_xlsx"),
    path("supply-chain/suppliers/export.csv", views.supplier_export, name="supplier_export"),
    path("supply-chain/suppliers/export.xlsx", views.supplier_export_xlsx, name="supplier_export_xlsx"),
    path("supply-chain/suppliers/import/", views.supplier_import, name="import"),
    path("supply-chain/suppliers/import/<uuid:import_id>/", views.import_preview, name="import_preview"),
    path("supply-chain/campaigns/", views.campaign_list, name="campaigns"),
    path("supply-chain/campaigns/new/", views.campaign_create, name="campaign_create"),
    path("supply-chain/campaigns/new/check/", views.campaign_check, name="campaign_check"),
    path("supply-chain/campaigns/<uuid:campaign_id>/", views.campaign_detail, name="campaign"),
    path("supply-chain/campaigns/<uuid:campaign_id>/repeat/", views.campaign_repeat, name="campaign_repeat"),
    path("supply-chain/campaigns/<uuid:campaign_id>/coverage.csv", views.campaign_export, name="campaign_export"),
    path(
        "supply-chain/campaigns/<uuid:campaign_id>/coverage.xlsx",
        views.campaign_export_xlsx,
        name="campaign_export_xlsx",
    ),
    path("supply-chain/requests/<uuid:invitation_id>/resend/", views.invitation_resend, name="invitation_resend"),
    path("supply-chain/requests/<uuid:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("supply-chain/requests/<uuid:invitation_id>/forward/", views.request_forward, name="forward"),
    path("supply-chain/requests/<uuid:invitation_id>/answer/", views.held_answer, name="held_answer"),
    path("supply-chain/buyers/", views.buyers, name="buyers"),
    path("supply-chain/buyers/<uuid:link_id>/sharing/", views.buyer_sharing, name="buyer_sharing"),
]
