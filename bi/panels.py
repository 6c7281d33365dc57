"""The leader's entry to their board on the member home: the last live's two conversion rates at a glance."""

from __future__ import annotations

from django.http import HttpRequest

from groupbuy.errors import DomainError

from . import metrics
from .scope import led_community_ids, scope_resolve


def leader_home_entry(request: HttpRequest, community_ids: list[int]) -> dict:
    if not led_community_ids(user=request.user):
        return {}
    try:
        scope = scope_resolve(viewer=request.user)
    except DomainError:
        return {}
    figures = metrics.figures(scope, ("community_to_viewer", "viewer_to_joiner"))
    return {
        "is_leader": True,
        "tiles": [(metrics.METRICS[key], figure) for key, figure in figures.items()],
    }
