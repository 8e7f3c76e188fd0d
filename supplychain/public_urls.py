"""The link in a supplier invitation email (no sign-in needed to read it)."""

from django.urls import path

from supplychain import views

urlpatterns = [
    path("supplier-invitations/<str:token>/", views.invitation_landing, name="supplier_invitation"),
]
