"""/api/v1/ endpoints of the assessments app (see assessments/api.py)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
