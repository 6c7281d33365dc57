"""Reading the catalogue for the operator console."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from .models import SKU, Product, StockAdjustment, Supplier

LOW_STOCK = 10


def suppliers() -> QuerySet[Supplier]:
    return Supplier.objects.select_related("brand").order_by("name")


def products(
    *, q: str = "", supplier: Supplier | None = None, storage: str = "", stock: str = "", active: str = ""
) -> QuerySet[Product]:
    """Products with their SKUs, newest first, filtered as the console's filter bar says."""
    found = Product.objects.select_related("supplier").order_by("-pk")
    if q:
        found = found.filter(Q(name__icontains=q) | Q(skus__code__icontains=q) | Q(supplier__name__icontains=q))
    if supplier is not None:
        found = found.filter(supplier=supplier)
    if storage:
        found = found.filter(storage=storage)
    if stock == "low":
        found = found.filter(skus__stock__lt=LOW_STOCK)
    elif stock == "out":
        found = found.filter(skus__stock=0)
    if active in ("0", "1"):
        found = found.filter(is_active=active == "1")
    return found.distinct().prefetch_related(Prefetch("skus", queryset=SKU.objects.order_by("pk")))


def skus_for_stock() -> QuerySet[SKU]:
    return SKU.objects.select_related("product", "product__supplier").order_by("product__name", "pk")


def recent_adjustments(*, limit: int = 30) -> QuerySet[StockAdjustment]:
    return StockAdjustment.objects.select_related("sku", "sku__product", "by")[:limit]
