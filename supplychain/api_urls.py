"""/api/v1/ endpoints of the supplychain app (see supplychain/api.py)."""

from django.urls import path

from supplychain import api

org = "organisations/<slug:org>/"

urlpatterns = [
    path(f"{org}suppliers/", api.SupplierListView.as_view(), name="supplier_list"),
    path(f"{org}suppliers/import/", api.SupplierImportView.as_view(), name="supplier_import"),
    path(f"{org}suppliers/<uuid:supplier_id>/", api.SupplierDetailView.as_view(), name="supplier_detail"),
    path(f"{org}suppliers/<uuid:supplier_id>/archive/", api.SupplierArchiveView.as_view(), name="supplier_archive"),
    path(f"{org}suppliers/<uuid:supplier_id>/restore/", api.SupplierRestoreView.as_view(), name="supplier_restore"),
    path(
        f"{org}supplier-imports/<uuid:import_id>/confirm/",
        api.SupplierImportConfirmView.as_view(),
        name="supplier_import_confirm",
    ),
    path(f"{org}campaigns/", api.CampaignListView.as_view(), name="campaign_list"),
    path(f"{org}campaigns/<uuid:campaign_id>/", api.CampaignDetailView.as_view(), name="campaign_detail"),
    path(f"{org}campaigns/<uuid:campaign_id>/repeat/", api.CampaignRepeatView.as_view(), name="campaign_repeat"),
    path(f"{org}campaigns/<uuid:campaign_id>/coverage/", api.CampaignCoverageView.as_view(), name="campaign_coverage"),
    path(
        f"{org}campaigns/<uuid:campaign_id>/invitations/",
        api.CampaignInvitationListView.as_view(),
        name="campaign_invitation_list",
    ),
    path(
        f"{org}supplier-invitations/<uuid:invitation_id>/resend/",
        api.InvitationResendView.as_view(),
        name="supplier_invitation_resend",
    ),
    path(
        f"{org}supplier-invitations/<uuid:invitation_id>/revoke/",
        api.InvitationRevokeView.as_view(),
        name="supplier_invitation_revoke",
    ),
    path(
        f"{org}supplier-invitations/<uuid:invitation_id>/confirm-answer/",
        api.HeldAnswerConfirmView.as_view(),
        name="supplier_invitation_confirm_answer",
    ),
    path(
        f"{org}supplier-invitations/<uuid:invitation_id>/reject-answer/",
        api.HeldAnswerRejectView.as_view(),
        name="supplier_invitation_reject_answer",
    ),
    path(f"{org}requests/", api.RequestListView.as_view(), name="request_list"),
    path(f"{org}requests/<uuid:invitation_id>/accept/", api.RequestAcceptView.as_view(), name="request_accept"),
    path(f"{org}requests/<uuid:invitation_id>/decline/", api.RequestDeclineView.as_view(), name="request_decline"),
    path(f"{org}requests/<uuid:invitation_id>/forward/", api.RequestForwardView.as_view(), name="request_forward"),
    path(f"{org}buyers/", api.BuyerListView.as_view(), name="buyer_list"),
    path(f"{org}buyers/<uuid:link_id>/", api.BuyerDetailView.as_view(), name="buyer_detail"),
]
