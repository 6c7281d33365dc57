"""The "open jielongs" and "my orders" sections of the member home page."""

from django.http import HttpRequest

from . import selectors


def open_campaigns(request: HttpRequest, community_ids: list[int]) -> dict:
    return {"campaigns": selectors.member_open_campaigns(community_ids=community_ids)}


def my_orders(request: HttpRequest, community_ids: list[int]) -> dict:
    return {"orders": selectors.member_orders(user=request.user)}
