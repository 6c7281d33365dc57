"""Every metric of the article, defined once (指标口径): a key, a label, the formula shown on the glossary, what
counts, a unit, a function computing the figure for a :class:`~bi.scope.Scope`, and a function naming the
people behind it (the drill-down).

Every figure is computed from the domain tables (watch records, reservations, jielong orders, the ledger,
memberships and their referral tree, parcels, NPS answers), aggregated in SQL where the rows are many. A figure
reads only the scope's id sets and dates, so a rollup keyed by (day, community, session) can back it later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from django.utils.translation import gettext_lazy as _

from .. import rollups
from ..scope import Scope
from .base import (
    ACTIVE_DAYS,
    COUNT,
    FEN,
    LIFT,
    MINUTES,
    ON_TIME_BY,
    PCT,
    SCORE,
    Figure,
    Metric,
    PersonRow,
    active_memberships,
    in_scope_communities,
    live_joiners,
    minutes_text,
    orders,
    person_rows,
    ratio,
    refunds_fen,
    targeted_members,
    viewers,
    watched_targeting_session,
    yuan_text,
)
from .community import (
    _active_window,
    _community_members_at_end,
    _new_customers,
    _referred_by_viewer,
    _was_active,
    monthly_active,
    monthly_active_people,
    referral_share,
    referral_share_people,
)
from .live import (
    _perk_campaigns,
    _sold_out,
    _watch_records,
    average_watch,
    average_watch_people,
    community_to_viewer,
    community_to_viewer_people,
    peak_moment,
    peak_online,
    peak_online_people,
    perk_sellout,
    perk_sellout_people,
    viewer_to_joiner,
    viewer_to_joiner_people,
)
from .sales import (
    _aov,
    _buyers,
    _customer_orders_until,
    aov_live_lift,
    aov_live_lift_people,
    average_order_value,
    gmv_gross,
    gmv_net,
    lifetime_value,
    lifetime_value_at,
    lifetime_value_people,
    ltv_change,
)
from .service import (
    _answers,
    _deadline,
    _on_time_split,
    _parcels,
    delivery_on_time,
    delivery_on_time_people,
    net_promoter,
    net_promoter_people,
    pickup_rate,
    pickup_rate_people,
)

# --- the registry ---------------------------------------------------------------------------------------


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(
            "community_to_viewer",
            _("Community → live viewers"),
            _("members who watched ÷ members the sessions were aimed at"),
            _(
                "Members: active members of the communities a session was aimed at who had joined before it ended. "
                "Watched: entered the live room at least once (a watch record), whatever the minutes. Over several "
                "sessions each person counts once."
            ),
            PCT,
            community_to_viewer,
            community_to_viewer_people,
            has_denominator=True,
        ),
        Metric(
            "viewer_to_joiner",
            _("Live viewers → jielong"),
            _("viewers who joined that session's jielong ÷ viewers"),
            _(
                "A viewer counts when they hold an order in a jielong the session launched that was not cancelled: "
                "a joiner who cancelled is not a conversion (the same rule as GMV and the session summary). "
                "Joiners who did not watch are left out of both sides."
            ),
            PCT,
            viewer_to_joiner,
            viewer_to_joiner_people,
            has_denominator=True,
        ),
        Metric(
            "gmv_gross",
            _("GMV (gross)"),
            _("Σ order amounts"),
            _(
                "Orders not cancelled: of the picked session's or series' jielongs, or else placed in the period; "
                "unpaid orders count (pay at pickup), refunds do not come off."
            ),
            FEN,
            gmv_gross,
            lambda scope, part: _buyers(scope),
        ),
        Metric(
            "gmv_net",
            _("GMV (net of refunds)"),
            _("Σ order amounts − Σ refunds in the ledger"),
            _(
                "The gross GMV's orders, less every refund the ledger (jielong.LedgerEntry, kind refund) paid back "
                "on them. Store credit is not a refund and does not come off."
            ),
            FEN,
            gmv_net,
            lambda scope, part: _buyers(scope, net=True),
        ),
        Metric(
            "average_order_value",
            _("Average order value"),
            _("gross GMV ÷ number of orders"),
            _("The gross GMV's orders; one order is one jielong entry, whatever its number of items."),
            FEN,
            average_order_value,
            lambda scope, part: _buyers(scope),
        ),
        Metric(
            "aov_live_lift",
            _("AOV lift of live-driven orders"),
            _("AOV of orders in jielongs a live launched ÷ AOV of other orders − 1"),
            _(
                "The gross GMV's orders, split by whether their jielong was launched by a live session. Empty when "
                "either side has no orders. The people: buyers of live-driven orders."
            ),
            LIFT,
            aov_live_lift,
            aov_live_lift_people,
        ),
        Metric(
            "average_watch",
            _("Average watch time"),
            _("Σ seconds watched ÷ viewers ÷ 60"),
            _(
                "Per viewer and session, the minutes credited from the player's heartbeats (a locked phone or a "
                "lost network does not count)."
            ),
            MINUTES,
            average_watch,
            average_watch_people,
        ),
        Metric(
            "peak_online",
            _("Peak concurrent viewers"),
            _("max over sessions of the most members online at once"),
            _(
                "From the heartbeats, for the whole room (not split by community). The people are those online "
                "at the busiest moment of the busiest session."
            ),
            COUNT,
            peak_online,
            peak_online_people,
        ),
        Metric(
            "monthly_active",
            _("Community monthly active rate"),
            _("members active in the 30 days to the period's end ÷ members"),
            _(
                "Members: active memberships joined before the period ended. Active: joined or was seen in the "
                "community, reserved, watched, commented, joined a jielong, answered NPS or reviewed in the 30 days "
                "ending on the period's last day."
            ),
            PCT,
            monthly_active,
            monthly_active_people,
            has_denominator=True,
        ),
        Metric(
            "referral_share",
            _("New customers brought by viewers"),
            _("new customers invited by a live viewer ÷ new customers"),
            _(
                "New customer: their first order that was not cancelled (in these communities) is one of the "
                "board's orders. Brought by a viewer: their membership's inviter (the referral tree) has watched "
                "a live."
            ),
            PCT,
            referral_share,
            referral_share_people,
            has_denominator=True,
        ),
        Metric(
            "lifetime_value",
            _("Customer lifetime value (LTV)"),
            _("Σ net GMV of every customer so far ÷ customers so far"),
            _(
                "Up to the period's end: all orders not cancelled, less refunds, over everyone who ever ordered in "
                "these communities. The trend shows it at each month's end."
            ),
            FEN,
            lifetime_value,
            lifetime_value_people,
        ),
        Metric(
            "ltv_change",
            _("LTV change over the period"),
            _("LTV at the period's end ÷ LTV at its start − 1"),
            _(
                "Both LTVs by the rule above, at the first moment of the period and at its end: the value per "
                "customer the period added. Empty when nobody had ordered before the period. The people: the "
                "customers at the end."
            ),
            LIFT,
            ltv_change,
            lifetime_value_people,
        ),
        Metric(
            "nps",
            _("NPS"),
            _("% promoters (9–10) − % detractors (0–6)"),
            _(
                "Answers to the after-pickup question, given in the period (or about the picked session's "
                "jielong); the same arithmetic as the Reviews & NPS page."
            ),
            SCORE,
            net_promoter,
            net_promoter_people,
        ),
        Metric(
            "perk_sellout",
            _("First-N perks sold out in"),
            _("N-th perk order's time − jielong opening, averaged over jielongs"),
            _(
                "Jielongs with first-N places that opened in the period (or the picked session's) whose places were "
                "all taken by orders not cancelled; the people are those who took them."
            ),
            MINUTES,
            perk_sellout,
            perk_sellout_people,
        ),
        Metric(
            "delivery_on_time",
            _("Delivered on time"),
            _("parcels at the pickup point by 12:00 on the delivery day ÷ parcels due"),
            _(
                "The promise is delivery by noon the next day. Parcels of the board's orders, not cancelled or out of stock, whose "
                "noon has passed or that have arrived; the arrival is the point's receipt (or the pickup when "
                "nobody pressed arrived)."
            ),
            PCT,
            delivery_on_time,
            delivery_on_time_people,
            has_denominator=True,
            per_parcel=True,
        ),
        Metric(
            "pickup_rate",
            _("Pickup rate"),
            _("parcels picked up ÷ parcels that reached the pickup point"),
            _(
                "Parcels waiting at the point, picked up or not collected in time; the ones still on "
                "their way do not count yet."
            ),
            PCT,
            pickup_rate,
            pickup_rate_people,
            has_denominator=True,
            per_parcel=True,
        ),
    )
}

HEADLINE = ("community_to_viewer", "viewer_to_joiner", "gmv_gross", "average_order_value")
# The tiles the stream's rollups back when ``settings.BI_ROLLUPS`` is on (``bi.rollups``); the same figures as the
# domain queries (``bi.rollup_check``).
ROLLUP_TILES = (
    "viewer_to_joiner",
    "gmv_gross",
    "gmv_net",
    "average_order_value",
    "aov_live_lift",
    "nps",
    "lifetime_value",
    "ltv_change",
    "pickup_rate",
    "referral_share",
)


def figures(scope: Scope, keys: Iterable[str] | None = None) -> dict[str, Figure]:
    with rollups.one_tail():  # the tiles add one fold of the stream after the rollups' cursor
        return {key: METRICS[key].compute(scope) for key in (keys or METRICS)}


def for_session(scope: Scope, session_id: int) -> Scope:
    """The same scope narrowed to one of its sessions (for per-session trends)."""
    return replace(scope, session_ids=(session_id,), session_picked=True)


__all__ = [
    "ACTIVE_DAYS",
    "COUNT",
    "FEN",
    "HEADLINE",
    "LIFT",
    "METRICS",
    "MINUTES",
    "ON_TIME_BY",
    "PCT",
    "ROLLUP_TILES",
    "SCORE",
    "Figure",
    "Metric",
    "PersonRow",
    "_active_window",
    "_answers",
    "_aov",
    "_buyers",
    "_community_members_at_end",
    "_customer_orders_until",
    "_deadline",
    "_new_customers",
    "_on_time_split",
    "_parcels",
    "_perk_campaigns",
    "_referred_by_viewer",
    "_sold_out",
    "_was_active",
    "_watch_records",
    "active_memberships",
    "aov_live_lift",
    "aov_live_lift_people",
    "average_order_value",
    "average_watch",
    "average_watch_people",
    "community_to_viewer",
    "community_to_viewer_people",
    "delivery_on_time",
    "delivery_on_time_people",
    "figures",
    "for_session",
    "gmv_gross",
    "gmv_net",
    "in_scope_communities",
    "lifetime_value",
    "lifetime_value_at",
    "lifetime_value_people",
    "live_joiners",
    "ltv_change",
    "minutes_text",
    "monthly_active",
    "monthly_active_people",
    "net_promoter",
    "net_promoter_people",
    "orders",
    "peak_moment",
    "peak_online",
    "peak_online_people",
    "perk_sellout",
    "perk_sellout_people",
    "person_rows",
    "pickup_rate",
    "pickup_rate_people",
    "ratio",
    "referral_share",
    "referral_share_people",
    "refunds_fen",
    "targeted_members",
    "viewer_to_joiner",
    "viewer_to_joiner_people",
    "viewers",
    "watched_targeting_session",
    "yuan_text",
]
