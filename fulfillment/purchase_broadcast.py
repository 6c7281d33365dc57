"""Coalesced real-time broadcasts of a brand's purchase summary (采购汇总), the way jielong's progress goes.

Any change that moves the summary (joins, cancellations, a split, a supplier's confirmation) calls
``summary_changed`` after commit. The first change in a window claims a cache key (atomic ``add``, shared by
every process through Redis) and schedules one flush on the broadcaster thread ``COALESCE_SECONDS`` later;
changes inside the window ride along. The flush deletes the key *before* reading the snapshot, so a commit
landing after the read opens a new window and is never lost. One group per brand; every message is the
whole, versioned snapshot (the channel layer delivers at most once; a page re-syncs on reconnect).

Redis down costs the push, never the change that caused it: the failure is logged, and for a few seconds
this process stops trying (each try would wait for the connect timeout on the request's path). The page
still renders from the database and catches up when its socket reconnects.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from functools import partial

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from groupbuy.broadcaster import broadcaster

logger = logging.getLogger(__name__)

# A summary reads every live order line of a brand: heavier than a campaign's progress, and an operator
# needs it within a second, not within 100 ms.
COALESCE_SECONDS = 1.0
# After Redis failed, skip this long before trying again (the joins keep their speed meanwhile).
BACKOFF_SECONDS = 5.0

_down_until = 0.0
_down_lock = threading.Lock()


def summary_group(brand_id: int) -> str:
    return f"fulfillment.purchase.{brand_id}"


def _pending_key(brand_id: int) -> str:
    return f"fulfillment:purchase-pending:{brand_id}"


def summary_changed(brand_id: int) -> bool:
    """Call after commit whenever something in a brand's purchase summary changed; returns whether a flush
    is scheduled or already pending (False: Redis is down, nothing will be pushed for this change)."""
    global _down_until
    if time.monotonic() < _down_until:
        return False
    try:
        if cache.add(_pending_key(brand_id), 1, timeout=10):
            broadcaster().call_at(time.monotonic() + COALESCE_SECONDS, partial(_flush, brand_id))
    except Exception:
        with _down_lock:
            _down_until = time.monotonic() + BACKOFF_SECONDS
        logger.warning("purchase summary of brand %s not pushed (Redis unreachable?)", brand_id, exc_info=True)
        return False
    return True


def snapshot_message(snapshot: dict) -> dict:
    """The channel-layer message for a snapshot, serialised once for every watcher."""
    text = json.dumps({"type": "snapshot", "snapshot": snapshot}, cls=DjangoJSONEncoder, ensure_ascii=False)
    return {"type": "purchase.snapshot", "text": text}


def _flush(brand_id: int) -> list[tuple[str, dict]]:
    """The current summary for everyone watching the brand's. Runs on the broadcaster thread."""
    from .purchase import purchase_summary

    cache.delete(_pending_key(brand_id))
    return [(summary_group(brand_id), snapshot_message(purchase_summary(brand_id=brand_id)))]


def reset_backoff() -> None:
    """Forget a Redis failure (tests)."""
    global _down_until
    _down_until = 0.0
