"""``{% day_tracking day as t %}`` for the delivery-day page's tracking section, and
``{% point_receive point delivery_date as r %}`` for the leader's "received" card."""

from __future__ import annotations

from django import template

from ..tracking_selectors import day_tracking as _day_tracking
from ..tracking_selectors import point_receive as _point_receive

register = template.Library()


@register.simple_tag(takes_context=True)
def day_tracking(context, day):
    request = context.get("request")
    return _day_tracking(
        brand_id=day.brand.pk,
        delivery_date=day.delivery_date,
        point_ids=day.point_ids,
        route_ids=day.route_ids,
        supplier_ids=day.supplier_ids,
        absolute=request.build_absolute_uri if request is not None else (lambda path: path),
    )


@register.simple_tag
def point_receive(point, delivery_date):
    return _point_receive(point=point, delivery_date=delivery_date)
