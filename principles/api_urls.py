"""/api/v1/ endpoints of the principles app (see principles/api.py)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
