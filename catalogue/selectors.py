"""Reading the catalogue for the operator console."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from community.access import for_staff

from .models import SKU, Product, StockAdjustment, Supplier

LOW_STOCK = 10


# A product belongs to its supplier's brand (``Product.supplier.brand``), a SKU to its product's: that is the
# one rule by which the catalogue is narrowed to a brand's operator.


def suppliers(*, viewer=None) -> QuerySet[Supplier]:
    """Suppliers (of the brands staff ``viewer`` may see, when given)."""
    found = Supplier.objects.all() if viewer is None else for_staff(Supplier.objects.all(), user=viewer)
    return found.select_related("brand").order_by("name")


def products_for_staff(user) -> QuerySet[Product]:
    return for_staff(Product.objects.all(), user=user, via="supplier__brand")


def skus_for_staff(user) -> QuerySet[SKU]:
    return for_staff(SKU.objects.all(), user=user, via="product__supplier__brand")


def products(
    *,
    q: str = "",
    supplier: Supplier | None = None,
    storage: str = "",
    stock: str = "",
    active: str = "",
    viewer=None,
) -> QuerySet[Product]:
    """Products with their SKUs (of staff ``viewer``'s brands), newest first, filtered as the filter bar says."""
    found = (Product.objects.all() if viewer is None else products_for_staff(viewer)).select_related("supplier")
    found = found.order_by("-pk")
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


def skus_for_stock(*, viewer=None) -> QuerySet[SKU]:
    found = SKU.objects.all() if viewer is None else skus_for_staff(viewer)
    return found.select_related("product", "product__supplier").order_by("product__name", "pk")


def recent_adjustments(*, limit: int = 30, viewer=None) -> QuerySet[StockAdjustment]:
    found = StockAdjustment.objects.all()
    if viewer is not None:
        found = for_staff(found, user=viewer, via="sku__product__supplier__brand")
    return found.select_related("sku", "sku__product", "by")[:limit]
