"""OpenAPI post-processing: the shared error shape on every operation, and the Idempotency-Key header."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

ERROR_STATUSES = {
    "400": "The request is not valid: see `fields` for what to correct.",
    "401": "No credentials, or the API token is not valid, revoked or expired.",
    "403": "Your role (or the token's role) does not allow this, or the token is for another organisation.",
    "404": "Not found, or not visible to you.",
    "405": "The method is not allowed here.",
    "406": "The Accept header asks for a format the API does not produce (it speaks JSON).",
    "409": "The request conflicts with the current state, or the same Idempotency-Key is still being processed.",
    "413": "The request body is too large.",
    "415": "The request's Content-Type is not supported here.",
    "422": "The Idempotency-Key was already used for a different request.",
    "429": "Too many requests: wait the number of seconds in Retry-After.",
}

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error has this shape.",
    "properties": {
        "code": {"type": "string", "description": "Machine-readable, e.g. `validation_error`, `not_found`."},
        "message": {"type": "string", "description": "What went wrong, for people."},
        "fields": {
            "type": "object",
            "description": "Field (dotted path for nested fields) to its messages.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["code", "message", "fields"],
}

IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
    "description": (
        "Makes a retry safe: a repeat with the same key returns the first response (with "
        "`Idempotent-Replayed: true`); a repeat while the first is still running gets 409. Keys last 24 hours."
    ),
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    responses = components.setdefault("responses", {})
    for code, description in ERROR_STATUSES.items():
        responses[f"Error{code}"] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            op_responses = operation.setdefault("responses", {})
            for code in ERROR_STATUSES:
                op_responses.setdefault(code, {"$ref": f"#/components/responses/Error{code}"})
            if method == "post":
                params = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in params):
                    params.append(IDEMPOTENCY_HEADER)
    return result


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "portal.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": _(
                "A personal API token from Your account > API tokens, sent as `Authorization: Bearer msp_...`. "
                "It works in one organisation with the role chosen when it was made."
            ),
        }


class SessionScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "portal.api.authentication.PortalSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


class PortalAutoSchema(AutoSchema):
    """Documents a view's `query_serializer_class` as its GET query parameters."""

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        query = getattr(self.view, "query_serializer_class", None)
        if query is not None and self.method == "GET":
            params.append(query)
        return params
