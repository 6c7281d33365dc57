"""Strict input: JSON bodies of bounded size, no unknown fields, no silent type coercion."""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import fields, parsers, serializers
from rest_framework.exceptions import ParseError

from .errors import ApiError

MAX_BODY_BYTES = 16 * 1024


def max_body_bytes() -> int:
    return getattr(settings, "API_MAX_BODY_BYTES", MAX_BODY_BYTES)


def _too_large() -> ApiError:
    return ApiError(
        status_code=413,
        code="too_large",
        message=_("The request body is larger than %(n)s bytes.") % {"n": max_body_bytes()},
    )


class StrictJSONParser(parsers.JSONParser):
    """JSON only, at most ``API_MAX_BODY_BYTES``, an object at the top, no NaN/Infinity."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = max_body_bytes()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            declared = 0
        if declared > limit:
            raise _too_large()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise _too_large()
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError):
            raise ParseError() from None
        if not isinstance(data, dict):
            raise ApiError(status_code=400, code="malformed_json", message=_("The request body must be a JSON object."))
        return data


def _reject_constant(name):
    raise ValueError(name)


class StrictInteger(serializers.IntegerField):
    """A JSON integer: "12", 12.5 or true is the wrong type, not silently 12. 12.0 is 12, as JSON Schema
    2020-12 (the published OpenAPI 3.1 schema) counts a number without a fraction as an integer."""

    default_error_messages = {"wrong_type": gettext_lazy("Send a whole number.")}

    def to_internal_value(self, data):
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("wrong_type")
        return super().to_internal_value(data)


class StrictString(serializers.CharField):
    default_error_messages = {"wrong_type": gettext_lazy("Send a string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("wrong_type")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare (code ``unknown_field``) and non-object bodies."""

    default_error_messages = {"unknown_field": gettext_lazy("This field is not accepted here.")}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [fields.ErrorDetail(str(self.error_messages["unknown_field"]), code="unknown_field")]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


class QuerySerializer(serializers.Serializer):
    """A list endpoint's filters. Query parameters it does not declare are refused (``unknown_parameter``),
    except the paging and ordering ones."""

    PAGING = {"cursor", "page_size", "ordering"}

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields) - self.PAGING)
        if unknown:
            message = _("This query parameter is not accepted here.")
            raise serializers.ValidationError(
                {name: [fields.ErrorDetail(message, code="unknown_parameter")] for name in unknown}
            )
        return super().to_internal_value({key: data.get(key) for key in self.fields if key in data})
