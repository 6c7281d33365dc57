"""The join as data for the PostgreSQL function ``jielong_join`` (``jielong_join_v2.sql`` beside this
file, installed by migration 0008): the request it takes and the outcomes it returns.

Shared by the synchronous service (``services.order_join``) and the ASGI fast path
(``jielong.join.asgi``), so both send the same request and read the same answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from groupbuy import clock

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


def in_database() -> bool:
    """Whether joins run as the PostgreSQL function (everywhere but the embedded SQLite demo)."""
    return connection.vendor == "postgresql"


def join_sql(campaign_id: int, requests: list[JoinRequest], now: datetime) -> tuple[str, list]:
    return "SELECT jielong_join(%s, %s::jsonb, %s)", [campaign_id, json.dumps([r.as_json() for r in requests]), now]


def parse_outcomes(value) -> list[dict]:
    return json.loads(value) if isinstance(value, str) else value


def run_joins(*, campaign_id: int, requests: list[JoinRequest]) -> list[dict]:
    """Run ``jielong_join`` on Django's connection (inside the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(*join_sql(campaign_id, requests, clock.now()))
        return parse_outcomes(cursor.fetchone()[0])
