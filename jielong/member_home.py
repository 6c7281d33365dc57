"""The "open jielongs" and "my orders" sections of the member home page."""

from django.http import HttpRequest

from . import hooks, selectors


def open_campaigns(request: HttpRequest, community_ids: list[int]) -> dict:
    return {"campaigns": selectors.member_open_campaigns(community_ids=community_ids)}


def my_orders(request: HttpRequest, community_ids: list[int]) -> dict:
    orders = selectors.member_orders(user=request.user)
    # Where each order is and its pickup code, from the fulfillment app (registered in jielong.hooks).
    summaries = hooks.member_order_summaries(request, orders)
    for order in orders:
        order.summary = summaries.get(order.pk, "")
    return {"orders": orders}
