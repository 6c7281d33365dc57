"""One error body for the whole API, with stable codes an integration can branch on:

    {"error": {"code": "invalid_cursor", "message": "…", "fields": {"amount_fen": ["…"]}}}

``message`` is in the caller's language (Accept-Language); ``code`` never changes. ``fields`` is present
only for input errors.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from groupbuy.errors import DomainError


class ApiError(exceptions.APIException):
    """An error with its own status and stable code."""

    def __init__(self, *, status_code: int, code: str, message: str, fields: dict | None = None) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.fields = fields


# Stable codes by exception type, for DRF's own exceptions.
_BY_TYPE: list[tuple[type, int, str]] = [
    (exceptions.ParseError, 400, "malformed_json"),
    (exceptions.UnsupportedMediaType, 415, "unsupported_media_type"),
    (exceptions.NotAuthenticated, 401, "not_authenticated"),
    (exceptions.AuthenticationFailed, 401, "token_invalid"),
    (exceptions.PermissionDenied, 403, "forbidden"),
    (exceptions.NotFound, 404, "not_found"),
    (exceptions.MethodNotAllowed, 405, "method_not_allowed"),
    (exceptions.NotAcceptable, 406, "not_acceptable"),
    (exceptions.Throttled, 429, "rate_limited"),
]
# Field error codes that mean "a value of the wrong JSON type".
WRONG_TYPE_CODES = {"wrong_type", "not_a_list", "not_a_dict", "null"}


def body(code: str, message: str, fields: dict | None = None) -> dict:
    error: dict = {"code": code, "message": str(message)}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _flatten(detail, prefix: str = "") -> tuple[dict[str, list[str]], set[str]]:
    """DRF's nested ``ErrorDetail`` structure → ``{"field.sub": [messages]}`` and the set of codes."""
    fields: dict[str, list[str]] = {}
    codes: set[str] = set()
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub_fields, sub_codes = _flatten(value, f"{prefix}.{key}" if prefix else str(key))
            fields.update(sub_fields)
            codes |= sub_codes
    elif isinstance(detail, list):
        messages = []
        for i, value in enumerate(detail):
            if isinstance(value, dict | list):
                sub_fields, sub_codes = _flatten(value, f"{prefix}.{i}" if prefix else str(i))
                fields.update(sub_fields)
                codes |= sub_codes
            else:
                messages.append(str(value))
                codes.add(getattr(value, "code", "invalid"))
        if messages:
            fields[prefix or "non_field_errors"] = messages
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
        codes.add(getattr(detail, "code", "invalid"))
    return fields, codes


def _validation(exc: exceptions.ValidationError) -> Response:
    fields, codes = _flatten(exc.detail)
    if "unknown_field" in codes:
        code, message = "unknown_field", _("The request has fields this endpoint does not accept.")
    elif "unknown_parameter" in codes:
        code, message = "unknown_parameter", _("The request has query parameters this endpoint does not accept.")
    elif codes & WRONG_TYPE_CODES:
        code, message = "wrong_type", _("Some values have the wrong type.")
    else:
        code, message = "invalid_input", _("Some values are not valid.")
    return Response(body(code, message, fields), status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc, context):
    """DRF's exception handler for the public API's views (``APIView.get_exception_handler``)."""
    if isinstance(exc, ApiError):
        return Response(body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        return _validation(exc)
    if isinstance(exc, DomainError):
        # A service refused in the current state (over-refund, already verified, …): 409 with the service's own
        # stable code and translated message; nothing changed.
        return Response(body(exc.code or "refused", exc.message), status=409)
    if isinstance(exc, RequestDataTooBig):
        return Response(body("too_large", _("The request body is too large.")), status=413)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    for kind, status_code, code in _BY_TYPE:
        if isinstance(exc, kind):
            detail_codes = exc.get_codes()
            if isinstance(detail_codes, str) and detail_codes not in (exc.default_code, "invalid", "error"):
                code = detail_codes  # a specific code we raised: token_expired, missing_scope, …
            headers = {}
            if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
                headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
            if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
                headers["WWW-Authenticate"] = 'Bearer realm="api"'
            message = exc.detail if isinstance(exc.detail, str) else _("The request was refused.")
            if isinstance(exc, exceptions.ParseError):
                message = _("The request body is not valid JSON.")
            elif isinstance(exc, exceptions.Throttled):
                message = _("Too many requests: try again in %(seconds)s seconds.") % {
                    "seconds": headers.get("Retry-After", "1")
                }
            return Response(body(code, message), status=status_code, headers=headers)
    return None  # anything else is a bug: a 500 from Django, logged
