"""``{% purchase_day day as purchase %}``: the delivery-day page's purchase section (per supplier: pick lines,
confirmations, shipped, shortages with the orders they hit)."""

from __future__ import annotations

from django import template

from ..purchase import day_label as read_day_label
from ..purchase import purchase_day as read_purchase_day

register = template.Library()


@register.simple_tag
def purchase_day(day) -> list[dict]:
    return read_purchase_day(brand_id=day.brand.pk, delivery_date=day.delivery_date, supplier_ids=day.supplier_ids)


@register.filter
def day_label(value) -> str:
    """A delivery date the way people say it: "6月5日 周五" / "Fri, Jun 5"."""
    return read_day_label(value)


@register.filter
def get_item(mapping, key):
    """``{{ supplier.days|get_item:iso }}``: the summary's per-day entries are keyed by ISO date."""
    return mapping.get(key) if mapping else None
