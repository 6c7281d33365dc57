"""What follows committed joins: domain events, one coalesced snapshot broadcast, and settling tier
prices when a join reached a tier. The synchronous join does it inside its transaction; the ASGI fast
path hands it, in bulk, to one long-lived thread per process (``AfterJoinThread``), off the
requests' path.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from functools import partial

from django.db import close_old_connections, transaction

from groupbuy import events

from .. import broadcast
from .. import events as jielong_events

logger = logging.getLogger(__name__)


def after_join(campaign_id: int, *, user_ids: list[int], outcomes: list[Mapping]) -> None:
    """What follows committed joins (called inside their transaction, or after it in autocommit):
    domain events, one coalesced snapshot broadcast, and settling tier prices when one was reached."""
    settle = False
    published = []
    for user_id, outcome in zip(user_ids, outcomes, strict=True):
        if not (outcome.get("ok") and outcome.get("created")):
            continue
        published.append(
            jielong_events.OrderJoined(
                campaign_id=campaign_id,
                user_id=user_id,
                community_id=outcome["community"],
                order_id=outcome["id"],
                total_fen=outcome["total_fen"],
                is_perk=outcome["is_perk"],
            )
        )
        if outcome.get("formed"):
            published.append(jielong_events.GroupFormed(campaign_id=campaign_id, joined=outcome["joined"]))
        settle = settle or bool(outcome.get("settle"))
    events.publish_many(published)
    transaction.on_commit(partial(broadcast.snapshot_changed, campaign_id))
    if settle:
        transaction.on_commit(partial(settle_prices_later, campaign_id))


def settle_prices_later(campaign_id: int) -> None:
    from ..tasks import settle_prices

    settle_prices.delay(campaign_id)


class AfterJoinThread:
    """One long-lived thread per process runs the after-join work, one batch at a time and in
    commit order: a burst of joins does not become a pile of executor threads competing with the
    event loop for the GIL, and events reach the stream in the order the joins committed.
    """

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="jielong-after-join", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            work = self.queue.get()
            try:
                if work is None:
                    return
                run_after_joins(work)
            except Exception:
                logger.exception("after-join work failed")
            finally:
                self.queue.task_done()

    def stop(self) -> None:
        """Finish what is queued, then end the thread."""
        self.queue.put(None)
        self.thread.join()


def run_after_joins(work: dict[int, list[tuple[int, dict]]]) -> None:
    """``after_join`` for each campaign's committed joins ({campaign id: [(user id, outcome), ...]})."""
    try:
        for campaign_id, created in work.items():
            after_join(campaign_id, user_ids=[u for u, _o in created], outcomes=[o for _u, o in created])
    finally:
        close_old_connections()
