"""Events the fulfillment app publishes: every step of an order after 成团 (analytics measures delivery
time and pickup rate from them)."""

from __future__ import annotations

from groupbuy import events


@events.event("fulfillment.day_split")
class DaySplit(events.DomainEvent):
    brand_id: int
    delivery_date: str  # ISO date
    orders: int
    changed: int


@events.event("fulfillment.parcels_moved")
class ParcelsMoved(events.DomainEvent):
    """A batch step moved orders to ``state`` (shipped, at_warehouse, out_for_delivery, at_pickup)."""

    brand_id: int
    delivery_date: str
    state: str
    order_ids: tuple[int, ...]
    batch_move_id: int | None


@events.event("fulfillment.order_picked_up")
class OrderPickedUp(events.DomainEvent):
    """核销: the member collected the order at the pickup point."""

    order_id: int
    user_id: int
    pickup_point_id: int
    handout_id: int | None  # None in bulk history (demo.history), which has no hand-outs
    verified_by: int | None


@events.event("fulfillment.pickup_undone")
class PickupUndone(events.DomainEvent):
    order_id: int
    handout_id: int
    undone_by: int
    reason: str


@events.event("fulfillment.shortage_recorded")
class ShortageRecorded(events.DomainEvent):
    """A supplier could not supply ``quantity`` units of an order line (ready for after-sales)."""

    order_id: int
    order_line_id: int
    sku_id: int
    quantity: int


@events.event("fulfillment.order_uncollected")
class OrderUncollected(events.DomainEvent):
    """超时未取: the order waited at the pickup point longer than the configured time."""

    order_id: int
    user_id: int
    pickup_point_id: int


# --- purchase: supplier confirmations (采购确认) and the shortages they make --------------------------


@events.event("fulfillment.supply_confirmed")
class SupplyConfirmed(events.DomainEvent):
    """A supplier confirmed how many units of a pick line it can supply (``confirmed`` ≤ ``ordered``)."""

    brand_id: int
    delivery_date: str  # ISO date
    supplier_id: int
    pick_line_id: int
    sku_id: int
    ordered: int
    confirmed: int


@events.event("fulfillment.shortage_cleared")
class ShortageCleared(events.DomainEvent):
    """An order line's shortage went away (the supplier confirmed more, or the order was cancelled)."""

    order_id: int
    order_line_id: int
    sku_id: int


# --- console: the operator's delivery-day changes ----------------------------------------------------------------


@events.event("fulfillment.delivery_date_changed")
class DeliveryDateChanged(events.DomainEvent):
    """The operator moved a formed campaign to another delivery day (both days were split again)."""

    campaign_id: int
    brand_id: int
    old_date: str  # ISO dates
    new_date: str
    by: int
