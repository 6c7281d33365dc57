"""The join as data for the PostgreSQL function ``jielong_join`` (``jielong_join_v4.sql`` beside this
file, installed by migration 0011): the request it takes and the outcomes it returns.

Shared by the synchronous service (``services.order_join``) and the ASGI fast path
(``jielong.join.asgi``), so both send the same request and read the same answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from groupbuy import clock
from groupbuy.stream.envelope import default_source
from groupbuy.stream.models import Event as StreamEvent

from .. import events as jielong_events
from ..models import Campaign, CampaignOutbox
from .rules import MAX_KEY_LENGTH, MAX_NOTE_LENGTH


@dataclass(frozen=True)
class JoinRequest:
    user_id: int
    items: tuple[tuple[int, int], ...]  # (campaign item id, quantity), one entry per item
    pickup_point_id: int | None = None
    note: str = ""
    idempotency_key: str = ""

    def as_json(self) -> dict:
        return {
            "user": self.user_id,
            "items": [[item_id, quantity] for item_id, quantity in self.items],
            "pickup": self.pickup_point_id,
            "note": self.note.strip()[:MAX_NOTE_LENGTH],
            "key": (self.idempotency_key or "")[:MAX_KEY_LENGTH],
        }


ORDER_JOINED, GROUP_FORMED = jielong_events.OrderJoined.name, jielong_events.GroupFormed.name
SOURCE = default_source(ORDER_JOINED)


def in_database() -> bool:
    """Whether joins run as the PostgreSQL function (everywhere but the embedded SQLite demo)."""
    return connection.vendor == "postgresql"


# One statement, so one transaction even in autocommit (the ASGI fast path): the joins, and — when
# any was created — the campaign's outbox row (``models.CampaignOutbox``): the broadcast and tier
# settling they are owed, recorded with them; and their events in the durable stream
# (``groupbuy.stream``): one ``jielong.order_joined`` per created order and ``jielong.group_formed``
# when one formed the group, the rows ``groupbuy.stream.envelope.row`` would write for the events
# ``after_join`` publishes (which therefore publishes them ``recorded=True``). Their ids follow from
# the order (the campaign), so nothing is written twice. A volatile function's CTE is evaluated once.
JOIN_SQL = f"""
WITH joined AS (SELECT jielong_join(%(campaign)s, %(requests)s::jsonb, %(now)s) AS outcomes),
live AS (SELECT live_session_id FROM {Campaign._meta.db_table} WHERE id = %(campaign)s),
created AS (
    SELECT (o->>'campaign_version')::integer AS version, coalesce((o->>'settle')::boolean, false) AS settle,
           o, (r->>'user')::bigint AS user_id
    FROM joined,
         jsonb_array_elements(joined.outcomes) WITH ORDINALITY AS outcome(o, n)
         JOIN jsonb_array_elements(%(requests)s::jsonb) WITH ORDINALITY AS request(r, m) ON m = n
    WHERE (o->>'ok')::boolean AND (o->>'created')::boolean
),
recorded AS (
    INSERT INTO {StreamEvent._meta.db_table} (uuid, name, occurred_at, received_at, user_id, distinct_id, source,
                                              community_id, live_session_id, campaign_id, order_id, amount_fen,
                                              properties)
    SELECT md5('{ORDER_JOINED}:' || (o->>'id'))::uuid, '{ORDER_JOINED}', %(now)s, %(now)s, user_id,
           'user:' || user_id, '{SOURCE}', (o->>'community')::bigint, (SELECT live_session_id FROM live),
           %(campaign)s, (o->>'id')::bigint,
           (o->>'total_fen')::bigint,
           jsonb_build_object('order_id', (o->>'id')::bigint, 'total_fen', (o->>'total_fen')::bigint,
                              'is_perk', (o->>'is_perk')::boolean)
    FROM created
    UNION ALL
    SELECT md5('{GROUP_FORMED}:' || %(campaign)s)::uuid, '{GROUP_FORMED}', %(now)s, %(now)s, NULL, '', '{SOURCE}',
           NULL, (SELECT live_session_id FROM live), %(campaign)s, NULL, NULL,
           jsonb_build_object('joined', (o->>'joined')::integer)
    FROM created WHERE coalesce((o->>'formed')::boolean, false)
    ON CONFLICT (uuid) DO NOTHING
),
queued AS (
    INSERT INTO {CampaignOutbox._meta.db_table} AS box (campaign_id, needs_settle, version, queued_at)
    SELECT %(campaign)s, bool_or(settle), max(version), %(now)s FROM created HAVING count(*) > 0
    ON CONFLICT (campaign_id) DO UPDATE
    SET needs_settle = box.needs_settle OR EXCLUDED.needs_settle,
        version = GREATEST(box.version, EXCLUDED.version),
        queued_at = LEAST(box.queued_at, EXCLUDED.queued_at)
)
SELECT outcomes, (SELECT live_session_id FROM live) FROM joined
"""


def join_sql(campaign_id: int, requests: list[JoinRequest], now: datetime) -> tuple[str, dict]:
    return JOIN_SQL, {"campaign": campaign_id, "requests": json.dumps([r.as_json() for r in requests]), "now": now}


def parse_outcomes(row) -> list[dict]:
    """``JOIN_SQL``'s answer: each join's outcome, with the campaign's live session (``live_session``, for
    the events ``after_join`` publishes — their stream rows already carry it)."""
    value, live_session_id = row
    outcomes = json.loads(value) if isinstance(value, str) else value
    for outcome in outcomes:
        outcome["live_session"] = live_session_id
    return outcomes


def run_joins(*, campaign_id: int, requests: list[JoinRequest]) -> list[dict]:
    """Run ``jielong_join`` on Django's connection (inside the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(*join_sql(campaign_id, requests, clock.now()))
        return parse_outcomes(cursor.fetchone())
