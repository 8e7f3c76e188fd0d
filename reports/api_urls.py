"""/api/v1/ endpoints of the reports app (see reports/api.py)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
