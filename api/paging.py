"""Cursor pagination that knows which query a cursor belongs to.

DRF's cursor is an opaque base64 of (offset, reverse, position); here it also carries a fingerprint of the
endpoint and its filters and ordering, so a cursor taken from one query and sent with another (other
filters, another endpoint) is refused with ``invalid_cursor`` instead of silently skipping rows.
"""

from __future__ import annotations

import hashlib
from base64 import b64decode, b64encode
from urllib import parse

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.utils.urls import replace_query_param

from .errors import ApiError

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def _invalid_cursor() -> ApiError:
    return ApiError(
        status_code=400,
        code="invalid_cursor",
        message=_("This cursor is not valid for this query: start again without a cursor."),
    )


class ApiCursorPagination(CursorPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = ("id",)

    def _fingerprint(self) -> str:
        params = sorted(
            (key, value)
            for key, values in self.request.query_params.lists()
            if key not in ("cursor", "page_size")
            for value in values
        )
        raw = f"{self.request.path}?{parse.urlencode(params)}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise serializers.ValidationError(
                {"page_size": [_("Send a whole number from 1 to %(n)s.") % {"n": self.max_page_size}]}
            )
        return int(raw)

    def get_ordering(self, request, queryset, view):
        choices = getattr(view, "ordering_fields", ("id",))
        raw = request.query_params.get("ordering") or getattr(view, "default_ordering", choices[0])
        if raw.lstrip("-") not in choices:
            raise serializers.ValidationError(
                {"ordering": [_("Order by one of: %(choices)s.") % {"choices": ", ".join(choices)}]}
            )
        # The position field, then the id in the same direction: ties on the first never repeat or skip a row.
        if raw.lstrip("-") in ("id", queryset.model._meta.pk.name, queryset.model._meta.pk.attname):
            return (raw,)
        return (raw, "-pk" if raw.startswith("-") else "pk")

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            querystring = b64decode(encoded.encode("ascii")).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True)
            if tokens.get("f", [""])[0] != self._fingerprint():
                raise _invalid_cursor()
            offset = int(tokens.get("o", ["0"])[0])
            if not 0 <= offset <= self.offset_cutoff:
                raise ValueError
            reverse = bool(int(tokens.get("r", ["0"])[0]))
            position = tokens.get("p", [None])[0]
        except ApiError:
            raise
        except (TypeError, ValueError, UnicodeError):
            raise _invalid_cursor() from None
        return Cursor(offset=offset, reverse=reverse, position=position)

    def encode_cursor(self, cursor):
        tokens = {"f": self._fingerprint()}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position
        encoded = b64encode(parse.urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError):  # a position that does not parse for the ordering field
            raise _invalid_cursor() from None

    def get_schema_operation_parameters(self, view):
        choices = getattr(view, "ordering_fields", ("id",))
        default = getattr(view, "default_ordering", choices[0])
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The `next` or `previous` link's cursor; valid only with the same filters and ordering.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": "Results per page.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size, "default": self.page_size},
            },
            {
                "name": "ordering",
                "required": False,
                "in": "query",
                "description": "The field to order by (`-` for descending); ties are ordered by id.",
                "schema": {
                    "type": "string",
                    "enum": [v for field in choices for v in (field, f"-{field}")],
                    "default": default,
                },
            },
        ]

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
