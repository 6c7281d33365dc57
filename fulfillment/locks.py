"""The one lock of a brand's delivery day.

Everything that changes a day's fulfilment — the split, a supplier's confirmation, a batch step — takes the
same transaction-scoped advisory lock, so none of them interleave: a confirmation and the supplier's
已发货 pressed at the same moment are serialised, and the second sees the first (confirmations are refused
once shipped).
"""

from __future__ import annotations

from datetime import date

from django.db import connection


def day_lock_key(brand_id: int, delivery_date: date) -> str:
    return f"fulfillment.split:{brand_id}:{delivery_date}"


def lock_day(brand_id: int, delivery_date: date) -> None:
    """Hold the day's lock until the current transaction ends (re-entrant within it). Call inside
    ``transaction.atomic()``. A no-op on SQLite, whose write transactions are serial already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [day_lock_key(brand_id, delivery_date)])
