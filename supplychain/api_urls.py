"""/api/v1/ endpoints of the supplychain app (see supplychain/api.py)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
