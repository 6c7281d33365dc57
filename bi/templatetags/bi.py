"""Figures as the boards show them, and the BI card on the operator's dashboard."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from community.access import for_staff
from groupbuy.errors import DomainError
from groupbuy.money import format_fen
from livestream.models import LiveSession

from .. import metrics
from ..scope import scope_resolve

register = template.Library()


def figure_text(unit: str, value) -> str:
    """90% (whole percent on the boards; the exports keep the exact share), ¥1,234.00, 47.3 min, 95."""
    if value is None:
        return "—"
    if unit == metrics.PCT:
        return f"{round(100 * value)}%"
    if unit == metrics.LIFT:
        return f"{round(100 * value):+d}%"
    if unit == metrics.FEN:
        return format_fen(int(value))
    if unit == metrics.MINUTES:
        return _("%(minutes)s min") % {"minutes": f"{value:g}"}
    return f"{value:,}" if isinstance(value, int) else str(value)


@register.simple_tag
def figure(metric: metrics.Metric, value: metrics.Figure) -> str:
    return figure_text(metric.unit, value.value)


@register.inclusion_tag("ops/bi/_dashboard_card.html", takes_context=True)
def bi_dashboard_card(context) -> dict:
    """The conversion board of the last ended session, on /ops/ (was a "coming with BI" placeholder)."""
    viewer = context["request"].user
    session = (
        for_staff(LiveSession.objects.all(), user=viewer, via="series__brand")  # the viewer's brands' last one
        .filter(status=LiveSession.Status.ENDED, started_at__isnull=False)
        .order_by("-ended_at", "-pk")
        .first()
    )
    if session is None:
        return {"session": None}
    try:
        scope = scope_resolve(viewer=viewer, session_id=session.pk)
    except DomainError:
        return {"session": None}
    figures = metrics.figures(scope, (*metrics.HEADLINE, "average_watch", "perk_sellout", "nps"))
    return {
        "session": session,
        "scope": scope,
        "tiles": [(metrics.METRICS[key], fig) for key, fig in figures.items()],
        "request": context["request"],
    }
