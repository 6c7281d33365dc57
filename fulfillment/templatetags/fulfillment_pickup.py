"""``{% day_pickup day as p %}`` for the delivery-day page's pickup (核销) section."""

from __future__ import annotations

from django import template

from ..pickup_day import day_pickup as _day_pickup

register = template.Library()


@register.simple_tag
def day_pickup(day):
    return _day_pickup(brand_id=day.brand.pk, delivery_date=day.delivery_date)
