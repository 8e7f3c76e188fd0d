"""/api/v1/ endpoints of the principles app (see principles/api.py)."""

from django.urls import path

from principles import api

org = "organisations/<slug:org>/"

urlpatterns = [
    path("framework/", api.FrameworkView.as_view(), name="framework"),
    path(f"{org}commitments/", api.CommitmentListView.as_view(), name="commitment_list"),
    path(f"{org}commitments/<uuid:commitment_id>/", api.CommitmentDetailView.as_view(), name="commitment_detail"),
    path(
        f"{org}commitments/<uuid:commitment_id>/reaffirm/",
        api.CommitmentReaffirmView.as_view(),
        name="commitment_reaffirm",
    ),
    path(
        f"{org}commitments/<uuid:commitment_id>/withdraw/",
        api.CommitmentWithdrawView.as_view(),
        name="commitment_withdraw",
    ),
]
