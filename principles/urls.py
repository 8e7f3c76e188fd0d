"""Tenant pages of the principles app, mounted under /o/<org_slug>/ by portal/urls.py."""

from django.urls import path

from principles import views

app_name = "principles"

urlpatterns = [
    path("commitment/", views.commitment, name="commitment"),
    path("commitment/sign/", views.commitment_sign, name="commitment_sign"),
    path("commitment/sign/check/", views.commitment_confirm, name="commitment_confirm"),
    path("commitment/reaffirm/", views.commitment_reaffirm, name="commitment_reaffirm"),
    path("commitment/withdraw/", views.commitment_withdraw, name="commitment_withdraw"),
]
