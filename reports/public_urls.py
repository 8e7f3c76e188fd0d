"""Public verification of attestation reports (no sign-in)."""

from django.urls import path

from reports import views

app_name = "verify"

urlpatterns = [
    path("verify/<uuid:report_id>/", views.verify, name="report"),
]
