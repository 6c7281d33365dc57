"""What follows committed joins: domain events, one coalesced snapshot broadcast, and settling tier
prices when a join reached a tier. The synchronous join does it inside its transaction; the ASGI fast
path hands it, in bulk, to one long-lived thread per process (``AfterJoinThread``), off the
requests' path.

The broadcast and the settling need Redis (the cache, the channel layer, the broker). A join never
depends on them: the work is owed in the campaign's outbox row (``models.CampaignOutbox``, written
with the joins), ``deliver`` does it after commit and clears the row, and when Redis is down the row
stays for ``outbox_sweep`` (a periodic task) to finish once it is back. All of it is idempotent.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from datetime import timedelta

from django.db import close_old_connections
from django.db.models import Value
from django.db.models.functions import Greatest

from groupbuy import clock, events
from groupbuy.commit import after_commit

from .. import broadcast
from .. import events as jielong_events
from ..models import CampaignOutbox

# A row younger than this is left to the after-join work that is about to clear it.
SWEEP_AFTER = timedelta(seconds=10)

logger = logging.getLogger(__name__)


def after_join(campaign_id: int, *, user_ids: list[int], outcomes: list[Mapping]) -> None:
    """What follows committed joins (called inside their transaction, or after it in autocommit):
    domain events, then — after commit, through ``deliver`` — one coalesced snapshot broadcast, and
    settling tier prices when one was reached. Nothing for joins that created no order (a retry)."""
    settle = False
    version = 0
    published = []
    for user_id, outcome in zip(user_ids, outcomes, strict=True):
        if not (outcome.get("ok") and outcome.get("created")):
            continue
        published.append(
            jielong_events.OrderJoined(
                campaign_id=campaign_id,
                user_id=user_id,
                community_id=outcome["community"],
                live_session_id=outcome.get("live_session"),
                order_id=outcome["id"],
                total_fen=outcome["total_fen"],
                is_perk=outcome["is_perk"],
            )
        )
        if outcome.get("formed"):
            published.append(
                jielong_events.GroupFormed(
                    campaign_id=campaign_id, joined=outcome["joined"], live_session_id=outcome.get("live_session")
                )
            )
        settle = settle or bool(outcome.get("settle"))
        version = max(version, outcome.get("campaign_version") or 0)
    if not published:
        return
    # Their stream rows were written by the join's own statement (``sql.JOIN_SQL``): dispatch only.
    events.publish_many(published, recorded=True)
    # Never fails the join: what cannot be done now stays owed in the outbox.
    after_commit(deliver, campaign_id, settle=settle, version=version)


def deliver(campaign_id: int, *, settle: bool, version: int, settle_now: bool = False) -> bool:
    """Do what committed joins owe a campaign — settle tier prices (if ``settle``, or the outbox row
    says so) and broadcast its snapshot — then clear its outbox row up to campaign ``version``. When
    Redis (or the broker) is down nothing is cleared and the sweep does it later; returns whether done.

    ``settle_now`` settles here rather than through the Celery task (the sweep runs in the worker)."""
    try:
        if settle:
            if settle_now:
                from ..services import campaign_settle_prices

                campaign_settle_prices(campaign_id=campaign_id)
            else:
                settle_prices_later(campaign_id)
        broadcast.snapshot_changed(campaign_id)
    except Exception:
        logger.warning("after-join work for campaign %s is left to the sweep", campaign_id, exc_info=True)
        return False
    # A settling owed by an earlier join is only cleared by a delivery that settled.
    owed = CampaignOutbox.objects.filter(campaign_id=campaign_id, version__lte=version)
    (owed if settle else owed.filter(needs_settle=False)).delete()
    return True


def outbox_sweep(*, older_than: timedelta = SWEEP_AFTER) -> list[int]:
    """Finish the after-join work left owed (Redis or the broker was down, a process died): settle
    and broadcast each campaign in the outbox. Returns the campaigns done; the rest stay for the next
    sweep. Safe to run twice and concurrently (both steps are idempotent)."""
    rows = CampaignOutbox.objects.filter(queued_at__lte=clock.now() - older_than).order_by("queued_at")
    done = []
    for campaign_id, needs_settle, version in rows.values_list("campaign_id", "needs_settle", "version"):
        if deliver(campaign_id, settle=needs_settle, version=version, settle_now=True):
            done.append(campaign_id)
    return done


def record_owed(campaign_id: int, *, settle: bool, version: int) -> None:
    """The outbox row for a join made through the ORM (``jielong.join.orm``; on PostgreSQL the join's
    statement writes it, see ``sql.JOIN_SQL``). Call inside the join's transaction, under the campaign
    row lock (a delivery may clear the row meanwhile, hence update-or-create, not read-then-save)."""
    fields = {"version": Greatest("version", Value(version))} | ({"needs_settle": True} if settle else {})
    if not CampaignOutbox.objects.filter(campaign_id=campaign_id).update(**fields):
        CampaignOutbox.objects.create(
            campaign_id=campaign_id, needs_settle=settle, version=version, queued_at=clock.now()
        )


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
