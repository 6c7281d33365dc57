"""The leader's entry to their board on the member home: the last live's two conversion rates at a glance."""

from __future__ import annotations

from django.http import HttpRequest

from groupbuy.errors import DomainError
from livestream.models import LiveSession

from . import metrics
from .scope import led_community_ids, scope_resolve


def leader_home_entry(request: HttpRequest, community_ids: list[int]) -> dict:
    led = led_community_ids(user=request.user)
    if not led:
        return {}
    last = (
        LiveSession.objects.filter(status=LiveSession.Status.ENDED, started_at__isnull=False, communities__in=led)
        .order_by("-ended_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    try:
        # The last live's, as on the operator's card: over a month of weekly lives a viewer who joined any one
        # of them would count, which is not the rate a leader asks about after a live.
        scope = scope_resolve(viewer=request.user, session_id=last) if last else scope_resolve(viewer=request.user)
    except DomainError:
        return {}
    figures = metrics.figures(scope, ("community_to_viewer", "viewer_to_joiner"))
    return {
        "is_leader": True,
        "tiles": [(metrics.METRICS[key], figure) for key, figure in figures.items()],
    }
