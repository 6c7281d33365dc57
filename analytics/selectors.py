"""Reads for the operator's dashboards. Each figure comes from a selector of the app that owns it."""

from __future__ import annotations

from dataclasses import dataclass

from community import selectors as community_selectors
from jielong import selectors as jielong_selectors
from livestream import selectors as livestream_selectors
from livestream.models import LiveSession


@dataclass(frozen=True)
class LastSessionFigures:
    session: LiveSession
    reservations: int
    viewers: int
    joins: int
    gmv_fen: int


@dataclass(frozen=True)
class OpsHeadline:
    communities: int
    active_members: int
    upcoming_sessions: int
    open_campaigns: int
    last_session: LastSessionFigures | None


def ops_headline(*, viewer=None) -> OpsHeadline:
    """The figures at the top of the operator dashboard (of the brands staff ``viewer`` may see, when given)."""
    last = livestream_selectors.last_ended_session(viewer=viewer)
    last_figures = None
    if last is not None:
        metrics = livestream_selectors.session_metrics(session_id=last.pk)
        sales = jielong_selectors.session_sales(live_session_id=last.pk)
        last_figures = LastSessionFigures(session=last, **metrics, **sales)
    return OpsHeadline(
        communities=community_selectors.community_count(viewer=viewer),
        active_members=community_selectors.active_member_count(viewer=viewer),
        upcoming_sessions=livestream_selectors.upcoming_session_count(viewer=viewer),
        open_campaigns=jielong_selectors.open_campaign_count(viewer=viewer),
        last_session=last_figures,
    )
