"""Signed, single-use links (invitations to join, supplier requests): the token carries the row's id
and a nonce; rotating the nonce kills every earlier link."""

from __future__ import annotations

import secrets
from typing import Any

from django.core import signing
from django.db.models import Model, QuerySet


def link_token(*, obj: Any, salt: str) -> str:
    return signing.dumps({"i": str(obj.pk), "n": obj.nonce}, salt=salt)


def link_target(*, token: str, salt: str, queryset: QuerySet[Any]) -> Model | None:
    """The row a link points at, or None when the token is forged, truncated or superseded."""
    try:
        data = signing.loads(token, salt=salt)
        obj = queryset.filter(pk=data["i"]).first()
        nonce = data["n"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if obj is None or not isinstance(nonce, str) or not secrets.compare_digest(obj.nonce, nonce):
        return None
    return obj
