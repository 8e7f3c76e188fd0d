"""One JSON error shape for the whole API: `{"code", "message", "fields"}`, never HTML or a trace.

`code` is machine-readable and stable, `message` is for people, `fields` maps each field (dotted
paths for nested ones, e.g. `rows.2.impact`) to its messages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

logger = logging.getLogger("portal.api")

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}


class Conflict(exceptions.APIException):
    """The request clashes with the current state (e.g. a signed item, a request already in flight)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


def flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """{"rows": [{}, {"impact": ["..."]}]} -> {"rows.1.impact": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors" and prefix:
                # A nested object's or list's own error ("Expected a list of items") is the field's.
                out.update(flatten_fields(value, prefix))
                continue
            out.update(flatten_fields(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list | tuple):
        if all(not isinstance(item, dict | list | tuple) for item in detail):
            if detail:
                out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(flatten_fields(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "fields": fields or {}}


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    fields = flatten_fields(exc.detail)
    general = fields.pop("non_field_errors", [])
    code = "validation_error"
    codes = exc.get_codes()
    if isinstance(codes, dict) and set(codes) == {"non_field_errors"} and len(codes["non_field_errors"]) == 1:
        specific = codes["non_field_errors"][0]
        code = specific if specific not in ("invalid", "validation_error") else code
    if general:
        message = " ".join(general)
    elif fields:
        first = next(iter(fields))
        message = _("Check %(field)s: %(message)s") % {"field": first, "message": fields[first][0]}
    else:
        message = _("The request is not valid.")
    return error_body(code, message, fields)


def to_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent | MultiPartParserError):
        return exceptions.ParseError(_("The form data could not be read: %(reason)s") % {"reason": exc})
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError(_("The request could not be read."))
    if isinstance(exc, Http404):
        return exceptions.NotFound(_("Not found."))
    if isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or _("Your role in this organisation does not allow this.")
        return exceptions.PermissionDenied(message)
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(detail=as_serializer_error(exc))
    return exc


# Codes a service puts on a ValidationError (`ValidationError(msg, code=...)`) to say the item's
# state refuses the change (409) or the person may not do it (403), rather than bad input (400).
CONFLICT_CODES = frozenset(
    {
        "not_editable",
        "not_final",
        "newer_version",
        "not_in_review",
        "content_changed",
        "already_signed",
        "agreement_blocked",
    }
)
FORBIDDEN_CODES = frozenset({"cannot_sign", "separation_of_duties"})


def service_error(exc: DjangoValidationError, rename: Mapping[str, str] | None = None) -> exceptions.APIException:
    """A service's ValidationError as the API answers it: per-field 400 (field names put into the
    API's words through `rename`), 409 for a state conflict, 403 for separation of duties."""
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        fields: dict[str, list[str]] = {}
        for name, messages in exc.message_dict.items():
            key = rename.get(name, name)
            fields.setdefault("non_field_errors" if key == "__all__" else key, []).extend(messages)
        return exceptions.ValidationError(fields)
    message = " ".join(exc.messages)
    for error in exc.error_list:
        if error.code in FORBIDDEN_CODES:
            return exceptions.PermissionDenied(message, code=error.code)
        if error.code in CONFLICT_CODES:
            return Conflict(message, code=error.code)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


@contextmanager
def service_errors(rename: Mapping[str, str] | None = None) -> Iterator[None]:
    """`with service_errors({"owner": "owner_email"}): services.x(...)`: see `service_error`."""
    try:
        yield
    except DjangoValidationError as exc:
        raise service_error(exc, rename) from None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's hook. Unlike DRF's own it never marks the transaction for rollback: views run their
    own atomic block (see portal.api.base), which an exception has already rolled back."""
    exc = to_api_exception(exc)
    if isinstance(exc, exceptions.ValidationError):
        return Response(_validation_body(exc), status=400)
    if isinstance(exc, exceptions.APIException):
        headers: dict[str, str] = {}
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(int(wait) + 1)
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else _CODES.get(exc.status_code, "error")
        if code in ("error", "invalid"):
            code = _CODES.get(exc.status_code, "error")
        detail = exc.detail
        message = str(detail) if not isinstance(detail, dict | list) else _("The request is not valid.")
        return Response(error_body(code, message), status=exc.status_code, headers=headers)
    request = context.get("request")
    if isinstance(exc, OperationalError | InterfaceError):  # the database cannot be reached: temporary
        logger.warning(
            "API %s %s: database unavailable: %s", getattr(request, "method", ""), getattr(request, "path", ""), exc
        )
        return Response(
            error_body("service_unavailable", database_unavailable_message()), status=503, headers={"Retry-After": "30"}
        )
    logger.exception("Unhandled error in API %s %s", getattr(request, "method", ""), getattr(request, "path", ""))
    return Response(
        error_body("server_error", _("Something went wrong on our side. It has been logged; try again later.")),
        status=500,
    )


def database_unavailable_message() -> str:
    return _("The service is unavailable for a moment. Try again in a minute.")


def is_api_path(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def json_error(status_code: int, message: str) -> JsonResponse:
    return JsonResponse(error_body(_CODES.get(status_code, "error"), message), status=status_code)
