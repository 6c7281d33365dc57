"""What an endpoint may subscribe to: the webhook event types, the stream events behind them, and the body
each one is sent as (docs/webhooks.md is the integrators' copy of this table).

The body is a stable contract, so its ``data`` names its fields one by one instead of passing the stream
row through: a new field in an app's event reaches integrators only when it is added here (and to the doc).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from aftersales import events as aftersales_events
from catalogue import events as catalogue_events
from community.models import Community
from fulfillment import events as fulfillment_events
from groupbuy.stream.models import Event
from jielong import events as jielong_events
from jielong.models import Campaign, Order

TEST_TYPE = "webhook.test"


@dataclass(frozen=True)
class EventType:
    name: str  # the wire name, e.g. "order.created"
    label: Any  # lazy translation
    stream_name: str  # the stream event it is made from
    fields: tuple[str, ...]  # ``data``'s keys, from the stream row (``user_id`` is sent as ``member_id``)


TYPES: tuple[EventType, ...] = (
    EventType(
        "order.created",
        _("Order created"),
        jielong_events.OrderJoined.name,
        ("order_id", "campaign_id", "community_id", "member_id", "total_fen", "is_perk"),
    ),
    EventType(
        "order.cancelled",
        _("Order cancelled"),
        jielong_events.OrderCancelled.name,
        ("order_id", "campaign_id", "member_id"),
    ),
    EventType(
        "order.paid",
        _("Order paid"),
        jielong_events.OrderPaid.name,
        ("order_id", "campaign_id", "community_id", "member_id", "total_fen"),
    ),
    EventType(
        "order.refunded",
        _("Order refunded"),
        jielong_events.RefundIssued.name,
        ("order_id", "campaign_id", "member_id", "amount_fen"),
    ),
    EventType("campaign.formed", _("Group formed"), jielong_events.GroupFormed.name, ("campaign_id", "joined")),
    EventType("campaign.failed", _("Campaign failed"), jielong_events.CampaignFailed.name, ("campaign_id", "joined")),
    EventType(
        "pickup.verified",
        _("Pickup verified"),
        fulfillment_events.OrderPickedUp.name,
        ("order_id", "member_id", "pickup_point_id", "handout_id"),
    ),
    EventType(
        "aftersales.opened",
        _("After-sales request opened"),
        aftersales_events.RequestOpened.name,
        ("request_id", "order_id", "member_id", "reason", "ask"),
    ),
    EventType(
        "aftersales.resolved",
        _("After-sales request resolved"),
        aftersales_events.RequestResolved.name,
        ("request_id", "order_id", "member_id", "resolution", "amount_fen"),
    ),
    EventType(
        "stock.low",
        _("Stock low"),
        catalogue_events.StockLow.name,
        ("sku_id", "product_id", "stock", "threshold"),
    ),
)

BY_NAME = {t.name: t for t in TYPES}
BY_STREAM_NAME = {t.stream_name: t for t in TYPES}
STREAM_NAMES = tuple(BY_STREAM_NAME)


def choices() -> list[tuple[str, Any]]:
    return [(t.name, t.label) for t in TYPES]


def label(name: str) -> Any:
    if name == TEST_TYPE:
        return _("Test event")
    found = BY_NAME.get(name)
    return found.label if found else name


def encode(envelope: dict) -> str:
    """The body's exact text (what is signed and stored): compact, keys sorted, Chinese kept as is."""
    return json.dumps(envelope, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def envelope(*, event_id: str, type_name: str, occurred_at: datetime, brand_id: int, data: dict) -> dict:
    return {
        "id": event_id,
        "type": type_name,
        "created": occurred_at.isoformat(),
        "brand_id": brand_id,
        "data": data,
    }


def data_of(row: Event, kind: EventType) -> dict:
    """``data`` of the body for stream row ``row``: its columns and properties, only the fields ``kind`` names."""
    values = dict(row.properties or {})
    for column in ("community_id", "campaign_id", "order_id", "amount_fen"):
        if getattr(row, column) is not None:
            values.setdefault(column, getattr(row, column))
    if row.user_id is not None:
        values.setdefault("user_id", row.user_id)
    values["member_id"] = values.get("user_id")
    return {field: values.get(field) for field in kind.fields}


def brands_of(rows: Iterable[Event]) -> dict[int, int | None]:
    """{stream row id: brand id}: from the row's own ``brand_id``, else its campaign, order or community."""
    rows = list(rows)
    campaign_ids = {r.campaign_id for r in rows if r.campaign_id}
    order_ids = {_order_id(r) for r in rows if not r.campaign_id and _order_id(r)}
    community_ids = {r.community_id for r in rows if r.community_id and not r.campaign_id}
    by_campaign = dict(Campaign.objects.filter(pk__in=campaign_ids).values_list("pk", "brand_id"))
    by_order = dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "campaign__brand_id"))
    by_community = dict(Community.objects.filter(pk__in=community_ids).values_list("pk", "brand_id"))
    found: dict[int, int | None] = {}
    for r in rows:
        own = (r.properties or {}).get("brand_id")
        if type(own) is int:
            found[r.pk] = own
        elif r.campaign_id:
            found[r.pk] = by_campaign.get(r.campaign_id)
        elif _order_id(r):
            found[r.pk] = by_order.get(_order_id(r))
        else:
            found[r.pk] = by_community.get(r.community_id)
    return found


def _order_id(row: Event) -> int | None:
    if row.order_id:
        return row.order_id
    value = (row.properties or {}).get("order_id")
    return value if type(value) is int else None
