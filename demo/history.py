"""The event stream of history written in bulk (the demo's year, the tests' hand-made data sets).

Rows written straight into the domain tables (``bulk_create`` of orders, surveys, watch records) skip the
services, so nothing puts their facts into the stream — and the stream's rollups (``bi.rollups``) would disagree
with the domain tables. :class:`History` writes the events the real services publish for such rows, with the
same declarations (``<app>.events``) through the same mapping (``groupbuy.stream.envelope.row``): the join's
``order_joined`` with its order-derived id, ``group_formed``, ``order_paid``, ``order_cancelled``, the jielong's
opening (its live) and close, ``nps_answered``, a live's start, end, reservations and entries, parcels reaching
the pickup point, 核销 and 超时未取 — each dated when it happened, received then, and marked (``properties.seed``)
so a re-told history can take its rows away.

Not written: heartbeats (a row per viewer and minute; the watch records hold the minutes). A 核销 told in bulk
names no hand-out and no verifier (bulk history has none).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from feedback import events as feedback_events
from fulfillment import events as fulfillment_events
from fulfillment.models import Parcel
from groupbuy.events import DomainEvent
from groupbuy.stream import envelope
from groupbuy.stream.models import Event
from jielong import events as jielong_events
from jielong.models import Campaign
from livestream import events as livestream_events

BATCH = 1000


class History:
    """Collects ``(when, event)`` and writes their stream rows in one bulk insert (``write``)."""

    def __init__(self, *, mark: str | None = None) -> None:
        self.mark = mark
        self.rows: list[Event] = []

    def add(self, event: DomainEvent, at: datetime) -> None:
        properties = {"seed": self.mark} if self.mark else None
        self.rows.append(envelope.row(event, context=envelope.Context(occurred_at=at, properties=properties), now=at))

    # --- a jielong and its orders (jielong.services, jielong.join) ----------------------------------------

    def campaign_opened(self, *, campaign_id: int, live_session_id: int | None, at: datetime) -> None:
        self.add(jielong_events.CampaignOpened(campaign_id=campaign_id, live_session_id=live_session_id), at)

    def order_joined(
        self,
        *,
        order_id: int,
        campaign_id: int,
        user_id: int,
        community_id: int,
        total_fen: int,
        is_perk: bool,
        at: datetime,
        live_session_id: int | None = None,
    ) -> None:
        self.add(
            jielong_events.OrderJoined(
                campaign_id=campaign_id,
                user_id=user_id,
                community_id=community_id,
                order_id=order_id,
                total_fen=total_fen,
                is_perk=is_perk,
                live_session_id=live_session_id,
            ),
            at,
        )

    def group_formed(self, *, campaign_id: int, joined: int, at: datetime, live_session_id: int | None = None) -> None:
        self.add(
            jielong_events.GroupFormed(campaign_id=campaign_id, joined=joined, live_session_id=live_session_id), at
        )

    def order_paid(
        self,
        *,
        order_id: int,
        campaign_id: int,
        user_id: int,
        community_id: int,
        total_fen: int,
        by: int,
        at: datetime,
    ) -> None:
        self.add(
            jielong_events.OrderPaid(
                campaign_id=campaign_id,
                user_id=user_id,
                order_id=order_id,
                by=by,
                community_id=community_id,
                total_fen=total_fen,
            ),
            at,
        )

    def order_cancelled(self, *, order_id: int, campaign_id: int, user_id: int, at: datetime) -> None:
        self.add(jielong_events.OrderCancelled(campaign_id=campaign_id, user_id=user_id, order_id=order_id), at)

    def campaign_closed(self, *, campaign_id: int, joined: int, formed: bool, at: datetime) -> None:
        closed = jielong_events.CampaignCompleted if formed else jielong_events.CampaignFailed
        self.add(closed(campaign_id=campaign_id, joined=joined), at)

    def orders(self, orders: Iterable, *, paid_by: int | None = None) -> None:
        """``order_joined`` for saved orders, and ``order_paid`` for the paid ones when ``paid_by`` says who
        marked them (a cancellation is the caller's: ``order_cancelled`` at its moment)."""
        orders = list(orders)
        lives = dict(
            Campaign.objects.filter(pk__in={o.campaign_id for o in orders}).values_list("pk", "live_session_id")
        )
        for o in orders:
            self.order_joined(
                order_id=o.pk,
                campaign_id=o.campaign_id,
                user_id=o.user_id,
                community_id=o.community_id,
                total_fen=o.total_fen,
                is_perk=o.is_perk,
                at=o.created_at,
                live_session_id=lives.get(o.campaign_id),
            )
            if o.paid_at is not None and paid_by is not None:
                self.order_paid(
                    order_id=o.pk,
                    campaign_id=o.campaign_id,
                    user_id=o.user_id,
                    community_id=o.community_id,
                    total_fen=o.total_fen,
                    by=paid_by,
                    at=o.paid_at,
                )

    # --- a live (livestream.services, livestream.watch) ---------------------------------------------------

    def session_started(self, *, live_session_id: int, host_id: int, at: datetime) -> None:
        self.add(livestream_events.SessionStarted(live_session_id=live_session_id, user_id=host_id), at)

    def session_ended(self, *, live_session_id: int, host_id: int, at: datetime) -> None:
        self.add(livestream_events.SessionEnded(live_session_id=live_session_id, user_id=host_id), at)

    def reserved(self, *, live_session_id: int, user_id: int, at: datetime) -> None:
        self.add(livestream_events.Reserved(live_session_id=live_session_id, user_id=user_id), at)

    def entered(self, *, live_session_id: int, user_id: int, at: datetime) -> None:
        self.add(livestream_events.Entered(live_session_id=live_session_id, user_id=user_id), at)

    # --- after the pickup (feedback.nps) ------------------------------------------------------------------

    def nps_answered(
        self, *, survey_id: int, user_id: int, campaign_id: int, community_id: int, score: int, at: datetime
    ) -> None:
        self.add(
            feedback_events.NpsAnswered(
                survey_id=survey_id, user_id=user_id, campaign_id=campaign_id, community_id=community_id, score=score
            ),
            at,
        )

    # --- after the split (fulfillment.tracking, fulfillment.pickup) -------------------------------------------

    def parcels_at_point(self, *, brand_id: int, delivery_date: date, order_ids: Iterable[int], at: datetime) -> None:
        self.add(
            fulfillment_events.ParcelsMoved(
                brand_id=brand_id,
                delivery_date=delivery_date.isoformat(),
                state=Parcel.State.AT_PICKUP.value,
                order_ids=tuple(order_ids),
                batch_move_id=None,
            ),
            at,
        )

    def picked_up(self, *, order_id: int, user_id: int, pickup_point_id: int, at: datetime) -> None:
        self.add(
            fulfillment_events.OrderPickedUp(
                order_id=order_id, user_id=user_id, pickup_point_id=pickup_point_id, handout_id=None, verified_by=None
            ),
            at,
        )

    def uncollected(self, *, order_id: int, user_id: int, pickup_point_id: int, at: datetime) -> None:
        self.add(
            fulfillment_events.OrderUncollected(order_id=order_id, user_id=user_id, pickup_point_id=pickup_point_id),
            at,
        )

    def write(self) -> int:
        Event.objects.bulk_create(self.rows, batch_size=BATCH, ignore_conflicts=True)
        written, self.rows = len(self.rows), []
        return written


def forget(mark: str) -> int:
    """Take a history's rows out of the stream (before it is told again)."""
    return Event.objects.filter(properties__seed=mark).delete()[0]
