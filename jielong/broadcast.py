"""Coalesced real-time broadcasts of campaign snapshots.

A join storm must not become a message storm: the first change in a window claims a cache key
(atomic ``add``, shared by every app process through Redis) and schedules one flush
``COALESCE_SECONDS`` later; changes inside the window only ride along. The flush deletes the key
*before* reading the snapshot, so a commit that lands after the read claims a new window and is
never lost. Each campaign thus gets at most ~1/COALESCE_SECONDS messages per second, each one a
full, versioned snapshot.
"""

from __future__ import annotations

import json
import time
from functools import partial

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from groupbuy.broadcaster import broadcaster

COALESCE_SECONDS = 0.1


def campaign_group(campaign_id: int) -> str:
    return f"jielong.campaign.{campaign_id}"


def _pending_key(campaign_id: int) -> str:
    return f"jielong:broadcast-pending:{campaign_id}"


def snapshot_changed(campaign_id: int) -> None:
    """Call after commit whenever a campaign's visible state changed."""
    if cache.add(_pending_key(campaign_id), 1, timeout=10):
        broadcaster().call_at(time.monotonic() + COALESCE_SECONDS, partial(_flush, campaign_id))


def _flush(campaign_id: int) -> list[tuple[str, dict]]:
    """The current snapshot for everyone watching the campaign. Runs on the broadcaster thread."""
    from .selectors import campaign_snapshot

    cache.delete(_pending_key(campaign_id))
    snapshot = campaign_snapshot(campaign_id=campaign_id)
    if snapshot is None:
        return []
    # Serialised once here; each process's relay writes the text to its watchers (consumers.py).
    text = json.dumps({"type": "snapshot", "snapshot": snapshot}, cls=DjangoJSONEncoder, ensure_ascii=False)
    # The status rides along so a consumer can hold back a draft's snapshot from members (consumers.py).
    return [(campaign_group(campaign_id), {"type": "campaign.snapshot", "text": text, "status": snapshot["status"]})]
