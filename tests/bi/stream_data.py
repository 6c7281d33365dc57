"""A generated event stream for the rollup tests: orders joined over three weeks in three communities by 60
customers, amount changes, cancellations (some before their join), late refunds, a failed jielong, jielongs opened by two live
sessions, NPS answers, parcels moved to the pickup point in batches, picked up, undone and not collected — written in a shuffled order, so stream ids do not follow the times."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from groupbuy.stream.models import Event

COMMUNITIES = (11, 12, 13)
SESSIONS = (501, 502)
CUSTOMERS = tuple(range(1000, 1060))


def _event(name: str, at: datetime, received: datetime, **fields) -> Event:
    properties = fields.pop("properties", {})
    return Event(name=name, occurred_at=at, received_at=received, properties=properties, **fields)


def generate(now: datetime, *, seed: int = 14, orders: int = 240) -> tuple[list[Event], list[Event]]:
    """Two waves of rows: the first, and a second with more orders and late events about the first's days."""
    rng = random.Random(seed)
    received = now - timedelta(hours=1)
    first: list[Event] = []
    second: list[Event] = []
    campaigns = list(range(101, 113))
    live = {101: 501, 102: 501, 103: 502, 104: 502}
    for campaign_id, session_id in live.items():
        first.append(
            _event(
                "jielong.campaign_opened",
                now - timedelta(days=22),
                received,
                campaign_id=campaign_id,
                live_session_id=session_id,
            )
        )
    for campaign_id in campaigns[4:]:
        first.append(_event("jielong.campaign_opened", now - timedelta(days=22), received, campaign_id=campaign_id))
    placed: list[tuple[int, datetime]] = []
    for n in range(orders):
        wave = first if n < orders // 2 else second
        order_id = 9000 + n
        campaign_id = rng.choice(campaigns)
        community_id = rng.choice(COMMUNITIES)
        at = now - timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 1439))
        total = rng.randint(5, 300) * 100
        placed.append((order_id, at))
        wave.append(
            _event(
                "jielong.order_joined",
                at,
                received,
                campaign_id=campaign_id,
                community_id=community_id,
                order_id=order_id,
                amount_fen=total,
                user_id=CUSTOMERS[n % len(CUSTOMERS)],  # ~4 orders each, in several communities
            )
        )
        roll = rng.random()
        if roll < 0.15:  # cancelled: sometimes written before the join (out of order), sometimes in the next wave
            rng.choice((first, second)).append(
                _event(
                    "jielong.order_cancelled",
                    at + timedelta(hours=1),
                    received,
                    campaign_id=campaign_id,
                    order_id=order_id,
                )
            )
        elif roll < 0.3:  # the amount changed, once or twice; the later change wins whatever its time
            for step in range(rng.randint(1, 2)):
                rng.choice((wave, second)).append(
                    _event(
                        "jielong.order_updated",
                        at + timedelta(minutes=5 + step),
                        received,
                        campaign_id=campaign_id,
                        order_id=order_id,
                        amount_fen=total + (step + 1) * 100,
                    )
                )
        if rng.random() < 0.2:  # a refund, often late: received in the second wave about an old day
            second.append(
                _event(
                    "jielong.refund_issued",
                    at + timedelta(days=2),
                    received,
                    campaign_id=campaign_id,
                    order_id=order_id,
                    amount_fen=rng.randint(1, 5) * 100,
                )
            )
        if rng.random() < 0.3:
            score = rng.randint(0, 10)
            wave.append(
                _event(
                    "feedback.nps_answered",
                    at + timedelta(days=1),
                    received,
                    campaign_id=campaign_id,
                    community_id=community_id,
                    properties={"score": score, "survey_id": order_id},
                )
            )
        if rng.random() < 0.5:  # noise the rollups pass over
            wave.append(
                _event(
                    "livestream.heartbeat",
                    at,
                    received,
                    live_session_id=rng.choice(SESSIONS),
                    user_id=1000 + n,
                    properties={"seconds_watched": 60},
                )
            )
    _parcels(placed, random.Random(seed + 1), first, second, received)
    # A jielong fails after its orders were folded: every one of them stops counting.
    second.append(_event("jielong.campaign_failed", now - timedelta(days=3), received, campaign_id=112))
    rng.shuffle(first)
    rng.shuffle(second)
    return first, second


def _parcels(placed, rng, first: list[Event], second: list[Event], received: datetime) -> None:
    """Fulfilment's rows for three in four orders (cancelled ones too): batch steps of up to three orders (a step
    before the point now and then), then 核销, its undoing, 超时未取 — in either wave, in any order."""
    arriving = [(order_id, at) for order_id, at in placed if rng.random() < 0.75]
    for start in range(0, len(arriving), 3):
        batch = arriving[start : start + 3]
        at = max(at for _pk, at in batch) + timedelta(days=1)
        order_ids = [pk for pk, _at in batch]
        for state in ("shipped", "at_pickup") if rng.random() < 0.3 else ("at_pickup",):
            rng.choice((first, second)).append(
                _event(
                    "fulfillment.parcels_moved",
                    at,
                    received,
                    properties={"state": state, "order_ids": order_ids, "delivery_date": at.date().isoformat()},
                )
            )
        for order_id in order_ids:
            roll = rng.random()
            wave = rng.choice((first, second))
            if roll < 0.6:
                wave.append(_event("fulfillment.order_picked_up", at + timedelta(hours=3), received, order_id=order_id))
                if rng.random() < 0.1:
                    rng.choice((first, second)).append(
                        _event("fulfillment.pickup_undone", at + timedelta(hours=4), received, order_id=order_id)
                    )
            elif roll < 0.75:
                wave.append(
                    _event("fulfillment.order_uncollected", at + timedelta(days=2), received, order_id=order_id)
                )
