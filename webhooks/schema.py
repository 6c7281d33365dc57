"""The webhooks in the published OpenAPI schema (``webhooks:`` of OpenAPI 3.1): one entry per event type of
``catalog.TYPES``, with its body, so an integration can be written from ``api/openapi.yaml`` alone.

``SPECTACULAR_SETTINGS["WEBHOOKS"]`` names ``WEBHOOKS`` by its dotted path (the api app does not import
this one: they are siblings).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiWebhook, extend_schema
from rest_framework import serializers

from . import catalog

# The type of each ``data`` field (everything else is an integer id or an amount in fen).
_TEXT_FIELDS = {"reason", "ask", "resolution"}
_BOOLEAN_FIELDS = {"is_perk"}

_DESCRIPTION = (
    "POSTed as JSON to each active endpoint subscribed to this type; answer 2xx within 10 s, or it is retried "
    "with exponential backoff and jitter (up to 12 attempts). Headers: `X-Groupbuy-Signature: t=<unix seconds>,"
    "v1=<hex>`, the HMAC-SHA256 of `<t>.<body>` with the endpoint's secret (two `v1=` for a day after a rotation; "
    "reject one older than 5 minutes); `X-Groupbuy-Event-Id`, the body's `id`, the same on every retry and "
    "replay: deduplicate on it; `X-Groupbuy-Event-Type`; `X-Groupbuy-Delivery`. See docs/webhooks.md."
)


def _field(name: str) -> serializers.Field:
    if name in _TEXT_FIELDS:
        return serializers.CharField(allow_null=True)
    if name in _BOOLEAN_FIELDS:
        return serializers.BooleanField(allow_null=True)
    return serializers.IntegerField(allow_null=True)


def _body(kind: catalog.EventType) -> type[serializers.Serializer]:
    stem = "".join(part.capitalize() for part in kind.name.replace(".", "_").split("_"))
    data = type(f"Webhook{stem}Data", (serializers.Serializer,), {f: _field(f) for f in kind.fields})
    return type(
        f"Webhook{stem}",
        (serializers.Serializer,),
        {
            "__doc__": f"The body of a `{kind.name}` delivery.",
            "id": serializers.UUIDField(help_text="The event's id: deduplicate on it."),
            "type": serializers.ChoiceField(choices=[kind.name]),
            "created": serializers.DateTimeField(help_text="When the fact happened."),
            "brand_id": serializers.IntegerField(),
            "data": data(),
        },
    )


WEBHOOKS = [
    OpenApiWebhook(
        name=kind.name,
        decorator=extend_schema(
            summary=kind.label,
            description=_DESCRIPTION,
            request=_body(kind),
            responses={200: None},
        ),
    )
    for kind in catalog.TYPES
]
