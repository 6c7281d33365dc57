"""The one owner of SKU stock (库存): every ORM path that moves ``SKU.stock`` calls here.

Stock lives on the SKU and every campaign selling it draws from the same number (库存同步), so
the rules are kept in one place (after Saleor's ``warehouse/management.py``):

- the caller is inside ``transaction.atomic`` (the functions open one too, so they also stand alone);
- SKU rows are locked in primary-key order (``select_for_update(of=["self"]).order_by("pk")``,
  evaluated with ``list()``), so two transactions touching the same SKUs cannot deadlock;
- every quantity is checked before anything is written: ``InsufficientStock`` leaves all rows as they
  were; the writes are ``F()`` updates guarded by ``stock >= quantity`` (the database check
  constraint ``sku_stock_not_negative`` stands behind them).

The documented twin: on PostgreSQL the join runs as the database function ``jielong_join``
(``jielong/join/jielong_join_v2.sql``), which takes stock by the same rules inside the database
(SKU rows in id order, guarded ``UPDATE … WHERE stock >= quantity``). Change one, change the other.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.db.models import F, Max
from django.utils.translation import gettext as _

from groupbuy import events
from groupbuy.errors import DomainError
from groupbuy.stream.envelope import key_uuid
from groupbuy.stream.models import Event

from .events import StockLow
from .models import SKU, StockAdjustment
from .selectors import LOW_STOCK


class InsufficientStock(DomainError):
    """Not enough stock of ``sku_id`` for the quantity asked; nothing was written."""

    def __init__(self, message: str, *, code: str = "sold_out", sku_id: int | None = None) -> None:
        super().__init__(message, code=code)
        self.sku_id = sku_id


def stock_take(*, quantities: Mapping[int, int]) -> None:
    """Take ``quantities`` ({sku id: units}) out of stock, all or nothing.

    Raises ``InsufficientStock`` (naming the first short SKU in pk order) before writing anything.
    """
    stock_exchange(take=quantities, give_back={})


def stock_give_back(*, quantities: Mapping[int, int]) -> None:
    """Put ``quantities`` ({sku id: units}) back into stock (a cancelled or changed order, a failed group)."""
    stock_exchange(take={}, give_back=quantities)


def stock_exchange(*, take: Mapping[int, int], give_back: Mapping[int, int]) -> None:
    """Take some SKUs and give back others in one pass (an order changed: more of one item, less of
    another). All rows are locked together in pk order; ``InsufficientStock`` before any write."""
    _check_quantities(take)
    _check_quantities(give_back)
    change = {sku_id: -quantity for sku_id, quantity in give_back.items()}
    for sku_id, quantity in take.items():
        change[sku_id] = change.get(sku_id, 0) + quantity
    change = {sku_id: units for sku_id, units in change.items() if units}
    if not change:
        return
    with transaction.atomic():
        rows = list(
            SKU.objects.select_for_update(of=["self"]).filter(pk__in=list(change)).order_by("pk").only("pk", "stock")
        )
        found = {sku.pk: sku.stock for sku in rows}
        for sku_id in sorted(change):
            if sku_id not in found:
                raise SKU.DoesNotExist(f"SKU {sku_id} does not exist")
            if change[sku_id] > found[sku_id]:
                raise _insufficient(sku_id)
        for sku_id in sorted(change):
            units = change[sku_id]
            if units > 0:
                updated = SKU.objects.filter(pk=sku_id, stock__gte=units).update(stock=F("stock") - units)
                if not updated:  # cannot happen under the row lock; kept as the guard the rule asks for
                    raise _insufficient(sku_id)
            else:
                SKU.objects.filter(pk=sku_id).update(stock=F("stock") - units)


def _check_quantities(quantities: Mapping[int, int]) -> None:
    for quantity in quantities.values():
        if type(quantity) is not int or quantity < 1:
            raise ValueError(f"stock quantities are whole numbers of at least 1, not {quantity!r}")


def _insufficient(sku_id: int) -> InsufficientStock:
    sku = SKU.objects.select_related("product").get(pk=sku_id)
    return InsufficientStock(_("Sorry, %(item)s is sold out.") % {"item": sku}, sku_id=sku_id)


def stock_low_announce() -> int:
    """Publish ``events.StockLow`` for every active SKU below ``selectors.LOW_STOCK`` not yet announced
    since its last restock; returns how many were announced. Idempotent (the event's stream id follows
    from the SKU and the restock), so the periodic task may run it any number of times.

    A sweep rather than a check on every stock move: on PostgreSQL the join takes stock inside the
    database (``jielong_join``), and a minute's delay costs nothing next to a query per join."""
    low = list(
        SKU.objects.filter(is_active=True, product__is_active=True, stock__lt=LOW_STOCK).values_list(
            "pk", "product_id", "product__supplier__brand_id", "stock"
        )
    )
    if not low:
        return 0
    restocks = dict(
        StockAdjustment.objects.filter(sku_id__in=[row[0] for row in low], delta__gt=0)
        .values("sku_id")
        .annotate(last=Max("pk"))
        .values_list("sku_id", "last")
    )
    found = [
        StockLow(
            sku_id=sku_id,
            product_id=product_id,
            brand_id=brand_id,
            stock=stock,
            threshold=LOW_STOCK,
            restock_id=restocks.get(sku_id, 0),
        )
        for sku_id, product_id, brand_id, stock in low
    ]
    ids = {key_uuid(StockLow.name, (e.sku_id, e.restock_id)): e for e in found}
    known = set(Event.objects.filter(uuid__in=list(ids)).values_list("uuid", flat=True))
    fresh = [e for uid, e in ids.items() if uid not in known]
    with transaction.atomic():
        events.publish_many(fresh)
    return len(fresh)
