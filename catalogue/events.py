"""Events the catalogue publishes: what happened to stock (库存) that other systems want to hear."""

from __future__ import annotations

from groupbuy import events


@events.event("catalogue.stock_low", key=("sku_id", "restock_id"))
class StockLow(events.DomainEvent):
    """An active SKU's stock fell below ``threshold`` (``catalogue.selectors.LOW_STOCK``).

    Announced once per restock: ``restock_id`` is the last stock adjustment that added units (0 before
    any), so the same SKU running low again after a delivery is counted in is a new fact, while stock
    given back by a cancellation and taken again is not."""

    sku_id: int
    product_id: int
    brand_id: int
    stock: int
    threshold: int
    restock_id: int
