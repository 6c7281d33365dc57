"""What a supplier can supply (供货确认), and the shortages (缺货) a shortfall makes.

A supplier confirms, per pick line, how many units it can supply (never more than ordered). A shortfall is
allocated to the order lines of that SKU and day, **latest joiners first** — the first who joined keep theirs
— as one ``Shortage`` row per order line hit; then the day is re-split, so loads and hand-outs drop the
missing units and an order left with nothing to deliver gets a ``shortage`` parcel. Confirming again adjusts
the rows (confirming the full quantity clears them, and such parcels are pending again). The member is
told (``SHORTAGE`` notice, inbox + SMS) in the same transaction, once per order — see ``_members_told``.

The allocation is also re-run after every split of a day with confirmations (``shortages_reallocate_day``,
on ``DaySplit``): a late cancellation frees units for the next in line, a late join is the latest joiner.
It is deterministic, so the re-split it may cause finds nothing more to change.

Once the supplier marked the day shipped (``BatchMove`` ``SUPPLIER_SHIPPED``), confirmations are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from catalogue.models import Supplier
from groupbuy import clock, events
from groupbuy.errors import DomainError
from jielong.models import Order, OrderLine

from . import events as fulfillment_events
from .locks import lock_day
from .models import BatchMove, Notice, Parcel, PickLine, Shortage
from .notices import notices_queue
from .split import SPLITTABLE, split_day


class SupplyError(DomainError):
    pass


@dataclasses.dataclass(frozen=True)
class SupplyResult:
    confirmed: dict[int, int]  # pick line → units confirmed
    short_lines: dict[int, int]  # order line → units short, for the lines confirmed
    orders_hit: tuple[int, ...]  # orders whose shortage changed


def supply_confirm(*, pick_line: PickLine, confirmed_quantity: int, now: datetime | None = None) -> SupplyResult:
    """The supplier can supply ``confirmed_quantity`` units of ``pick_line`` (see the module docstring)."""
    return supply_confirm_day(
        supplier=pick_line.supplier_id,
        delivery_date=pick_line.delivery_date,
        quantities={pick_line.pk: confirmed_quantity},
        now=now,
    )


def supply_confirm_day(
    *, supplier: Supplier | int, delivery_date: date, quantities: Mapping[int, int], now: datetime | None = None
) -> SupplyResult:
    """Confirm several of a supplier's pick lines of one day at once ({pick line id: units}); one re-split.

    All or nothing: a line that is not the supplier's, a quantity above what was ordered or below 0, or a
    day already shipped refuses the whole form with a ``SupplyError`` and changes nothing."""
    now = now or clock.now()
    supplier_id = supplier if isinstance(supplier, int) else supplier.pk
    if not quantities:
        raise SupplyError(_("There is nothing to confirm."), code="empty")
    for value in quantities.values():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise SupplyError(_("Enter a whole number of units, 0 or more."), code="invalid")
    with transaction.atomic():
        lines = list(
            PickLine.objects.select_related("sku__product")
            .filter(pk__in=list(quantities), supplier_id=supplier_id, delivery_date=delivery_date)
            .order_by("pk")
        )
        if len(lines) != len(quantities):
            raise SupplyError(_("That line is not on your pick list for this day."), code="not_yours")
        brand_id = lines[0].brand_id
        lock_day(brand_id, delivery_date)
        lines = list(PickLine.objects.select_for_update().filter(pk__in=[line.pk for line in lines]).order_by("pk"))
        if _shipped(brand_id=brand_id, supplier_id=supplier_id, delivery_date=delivery_date):
            raise SupplyError(
                _("You marked %(day)s as shipped: its quantities can no longer be changed here.")
                % {"day": _day_label(delivery_date)},
                code="shipped",
            )
        for line in lines:
            if quantities[line.pk] > line.quantity:
                raise SupplyError(
                    _("You can confirm at most the %(ordered)s units ordered.") % {"ordered": line.quantity},
                    code="too_many",
                )
        hit: set[int] = set()
        short_lines: dict[int, int] = {}
        for line in lines:
            line.confirmed_quantity = quantities[line.pk]
            line.confirmed_at = now
            line.save(update_fields=["confirmed_quantity", "confirmed_at"])
            events.publish(
                fulfillment_events.SupplyConfirmed(
                    brand_id=brand_id,
                    delivery_date=delivery_date.isoformat(),
                    supplier_id=supplier_id,
                    pick_line_id=line.pk,
                    sku_id=line.sku_id,
                    ordered=line.quantity,
                    confirmed=line.confirmed_quantity,
                )
            )
            target, changed = _allocate(line, now=now)
            hit |= changed
            short_lines |= {order_line: units for order_line, (_order, units) in target.items()}
        split_day(brand_id=brand_id, delivery_date=delivery_date, now=now)
        _parcels_follow_shortages(hit, now=now)
        _members_told(hit, now=now)
    return SupplyResult(
        confirmed={line.pk: line.confirmed_quantity for line in lines},
        short_lines=short_lines,
        orders_hit=tuple(sorted(hit)),
    )


def shortages_reallocate_day(*, brand_id: int, delivery_date: date, now: datetime | None = None) -> tuple[int, ...]:
    """Allocate the confirmed pick lines of a day again after its orders changed (a split happened); re-split
    when that moved a shortage. Returns the orders whose shortage changed."""
    if not PickLine.objects.filter(
        brand_id=brand_id, delivery_date=delivery_date, confirmed_quantity__isnull=False
    ).exists():
        return ()
    now = now or clock.now()
    with transaction.atomic():
        lock_day(brand_id, delivery_date)
        hit: set[int] = set()
        lines = PickLine.objects.select_for_update().filter(
            brand_id=brand_id, delivery_date=delivery_date, confirmed_quantity__isnull=False
        )
        for line in lines.order_by("pk"):
            hit |= _allocate(line, now=now)[1]
        if hit:
            split_day(brand_id=brand_id, delivery_date=delivery_date, now=now)
            _parcels_follow_shortages(hit, now=now)
            _members_told(hit, now=now)
    return tuple(sorted(hit))


def supply_day_shipped(*, brand_id: int, delivery_date: date, supplier: Supplier | int) -> bool:
    return _shipped(
        brand_id=brand_id,
        supplier_id=supplier if isinstance(supplier, int) else supplier.pk,
        delivery_date=delivery_date,
    )


# --- allocation ---------------------------------------------------------------------------------------


def _live_lines(line: PickLine) -> list[tuple[int, int, int]]:
    """(order line, order, units) of the pick line's SKU and day — what the split picked — latest joiners first."""
    return list(
        OrderLine.objects.filter(
            item__sku_id=line.sku_id,
            order__campaign__brand_id=line.brand_id,
            order__campaign__status__in=SPLITTABLE,
            order__campaign__delivery__delivery_date=line.delivery_date,
            order__pickup_point__isnull=False,
        )
        .exclude(order__status=Order.Status.CANCELLED)
        .order_by("-order__created_at", "-order_id", "-pk")
        .values_list("pk", "order_id", "quantity")
    )


def _allocate(line: PickLine, *, now: datetime) -> tuple[dict[int, tuple[int, int]], set[int]]:
    """Make the line's ``Shortage`` rows match its shortfall; returns the allocation
    ({order line: (order, units)}) and the orders whose shortage changed. Publishes one event per change."""
    live = _live_lines(line)
    shortfall = (
        max(sum(q for _l, _o, q in live) - line.confirmed_quantity, 0) if line.confirmed_quantity is not None else 0
    )
    target: dict[int, tuple[int, int]] = {}
    for order_line_id, order_id, quantity in live:
        if shortfall <= 0:
            break
        take = min(quantity, shortfall)
        target[order_line_id] = (order_id, take)
        shortfall -= take

    existing = {
        row.order_line_id: row
        for row in Shortage.objects.filter(pick_line=line).select_related("order_line").select_for_update(of=("self",))
    }
    hit: set[int] = set()
    published: list[events.DomainEvent] = []
    for order_line_id, row in existing.items():
        if order_line_id not in target:
            row.delete()
            hit.add(row.order_line.order_id)
            published.append(
                fulfillment_events.ShortageCleared(
                    order_id=row.order_line.order_id, order_line_id=order_line_id, sku_id=line.sku_id
                )
            )
    for order_line_id, (order_id, units) in target.items():
        row = existing.get(order_line_id)
        if row is not None and row.quantity == units:
            continue
        # One shortage per order line: a row left from another day's pick line (the delivery moved) moves here.
        Shortage.objects.update_or_create(
            order_line_id=order_line_id,
            defaults={"pick_line": line, "quantity": units, "created_at": now, "resolved_at": None},
        )
        hit.add(order_id)
        published.append(
            fulfillment_events.ShortageRecorded(
                order_id=order_id, order_line_id=order_line_id, sku_id=line.sku_id, quantity=units
            )
        )
    events.publish_many(published)
    return target, hit


def _parcels_follow_shortages(order_ids: set[int], *, now: datetime) -> int:
    """A parcel the split marked ``shortage`` is pending again once its order has something to deliver (the
    supplier confirmed more, or someone cancelled); the split itself only ever marks, never unmarks."""
    if not order_ids:
        return 0
    deliverable = (
        OrderLine.objects.filter(order_id=OuterRef("order_id"))
        .alias(short=Coalesce("shortage__quantity", 0))
        .filter(quantity__gt=F("short"))
    )
    return (
        Parcel.objects.filter(order_id__in=order_ids, state=Parcel.State.SHORTAGE)
        .filter(Exists(deliverable))
        .update(state=Parcel.State.PENDING, state_changed_at=now)
    )


def _members_told(order_ids: set[int], *, now: datetime) -> None:
    """Queue the member's SHORTAGE notice (inbox + SMS) for the orders now short, in the confirming transaction.

    Once per order: a re-confirmation that changes how much is short tells nobody again (the order page shows
    the current units; the refund follows them). A shortage cleared before its notice went out withdraws
    the notice, so a member is never told of a shortage that no longer exists; once sent it stays sent (we do
    not text "never mind"), and a shortage recorded again after a withdrawal is told afresh."""
    if not order_ids:
        return
    short = set(
        Shortage.objects.filter(order_line__order_id__in=order_ids).values_list("order_line__order_id", flat=True)
    )
    Notice.objects.filter(
        order_id__in=order_ids - short,
        state=Parcel.State.SHORTAGE,
        status=Notice.Status.PENDING,
        lease_until__isnull=True,
    ).delete()
    notices_queue(order_ids=short, state=Parcel.State.SHORTAGE, now=now)


def _shipped(*, brand_id: int, supplier_id: int, delivery_date: date) -> bool:
    return BatchMove.objects.filter(
        brand_id=brand_id, delivery_date=delivery_date, kind=BatchMove.Kind.SUPPLIER_SHIPPED, supplier_id=supplier_id
    ).exists()


def _day_label(day: date) -> str:
    return _("%(month)s/%(day)s") % {"month": day.month, "day": day.day}
