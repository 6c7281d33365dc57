"""The purchase summary follows jielong and the split: what changes it, and the shortages a split moves.

Registered from ``fulfillment.apps`` (``register``). Every handler runs after the publishing transaction
commits; a failing one is logged by the bus and never undoes the join that caused it.
"""

from __future__ import annotations

from datetime import date

from groupbuy import events
from jielong import events as jielong_events
from jielong.models import Campaign

from . import events as fulfillment_events
from .purchase_broadcast import summary_changed
from .supplier_supply import shortages_reallocate_day

# A campaign's brand never changes: remembered, so a join storm costs no query per batch here.
_brand_of: dict[int, int] = {}
_BRANDS_REMEMBERED = 10_000

CAMPAIGN_EVENTS = (
    jielong_events.OrderJoined,
    jielong_events.OrderCancelled,
    jielong_events.OrderUpdated,
    jielong_events.CampaignOpened,
    jielong_events.GroupFormed,
    jielong_events.CampaignCompleted,
    jielong_events.CampaignFailed,
)


def brands_of(campaign_ids: set[int]) -> set[int]:
    missing = campaign_ids - _brand_of.keys()
    if missing:
        if len(_brand_of) > _BRANDS_REMEMBERED:
            _brand_of.clear()
        _brand_of.update(Campaign.objects.filter(pk__in=missing).values_list("pk", "brand_id"))
    return {_brand_of[pk] for pk in campaign_ids if pk in _brand_of}


def summary_follows_campaigns(batch: list[events.DomainEvent]) -> None:
    """Joins, cancellations, changed orders and a campaign's life move the summary: one push per brand."""
    for brand_id in sorted(brands_of({event.campaign_id for event in batch})):
        summary_changed(brand_id)


def _days(batch: list[fulfillment_events.DaySplit]) -> list[tuple[int, date]]:
    return sorted({(event.brand_id, date.fromisoformat(event.delivery_date)) for event in batch})


def shortages_follow_splits(batch: list[fulfillment_events.DaySplit]) -> None:
    """A split rewrote a day's order lines: the shortages of its confirmed pick lines follow (a late
    cancellation frees units for the next in line; a late joiner is the latest)."""
    for brand_id, day in _days(batch):
        shortages_reallocate_day(brand_id=brand_id, delivery_date=day)


def summary_follows_splits(batch: list[fulfillment_events.DaySplit]) -> None:
    """A split (or a supplier's confirmation, which re-splits) rewrote pick lines: one push per brand."""
    for brand_id in sorted({brand_id for brand_id, _day in _days(batch)}):
        summary_changed(brand_id)


def register() -> None:
    for topic in CAMPAIGN_EVENTS:
        events.subscribe_many(topic, summary_follows_campaigns)
    # Shortages first: a re-split they cause publishes its own DaySplit, pushed like any other.
    events.subscribe_many(fulfillment_events.DaySplit, shortages_follow_splits)
    events.subscribe_many(fulfillment_events.DaySplit, summary_follows_splits)
