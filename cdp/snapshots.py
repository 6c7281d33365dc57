"""The brand models' figures, cached per brand (RFM cells, the KOC ranking, LTV and cohort curves).

Computing them reads every order, refund, membership, watch record and NPS answer of the brand (about a second
on the demo), so a page reads a snapshot instead: one cache entry per brand (Django's cache — Redis when
configured), kept while it is younger than ``MAX_AGE`` and the brand's orders and refunds are as they were when
it was computed (``change_stamp``: an order joined, changed, cancelled or refunded makes the next read compute
again). Memberships, watch records and NPS answers move the KOC scores without changing the stamp: they show
within ``MAX_AGE``. The beat task ``cdp.tasks.models_refresh`` computes a brand's snapshot again when it is half
that old, so a page finds it ready; the page says when its figures were computed.

A cache that cannot be reached (Redis down) costs the page the computation, never an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Max, Q, Sum

from groupbuy import clock
from jielong.models import LedgerEntry, Order

from . import cohorts, koc, rfm

logger = logging.getLogger(__name__)

MAX_AGE = timedelta(minutes=5)
REFRESH_AFTER = MAX_AGE / 2  # the beat task's threshold (it runs every minute)


@dataclass(frozen=True)
class Snapshot:
    brand_id: int
    cells: dict[int, rfm.RfmCell]
    scores: list[koc.KocScore]
    models: cohorts.Models
    computed_at: datetime
    stamp: tuple

    @property
    def max_age_minutes(self) -> int:
        return int(MAX_AGE.total_seconds() // 60)


def change_stamp(*, brand_id: int) -> tuple:
    """What moves when the brand's orders or refunds change: one aggregate over its orders, one over the
    ledger's refunds (a cancellation in the same database transaction as an earlier change still moves it)."""
    orders = Order.objects.filter(campaign__brand_id=brand_id).aggregate(
        n=Count("pk"),
        top=Max("pk"),
        changed=Max("updated_at"),
        cancelled=Count("pk", filter=Q(status=Order.Status.CANCELLED)),
        fen=Sum("total_fen"),
    )
    refunds = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, order__campaign__brand_id=brand_id).aggregate(
        top=Max("pk"), n=Count("pk")
    )
    changed = orders["changed"].isoformat() if orders["changed"] else ""
    return (orders["n"], orders["top"], changed, orders["cancelled"], orders["fen"], refunds["top"], refunds["n"])


def _key(brand_id: int) -> str:
    return f"cdp:models:{brand_id}"


def _cached(brand_id: int) -> Snapshot | None:
    try:
        found = cache.get(_key(brand_id))
    except Exception:  # the cache is an optimisation: without it, compute
        logger.warning("the brand models' cache could not be read", exc_info=True)
        return None
    return found if isinstance(found, Snapshot) else None


def compute(*, brand_id: int) -> Snapshot:
    """Compute the brand's models now and keep them in the cache."""
    stamp = change_stamp(brand_id=brand_id)
    snapshot = Snapshot(
        brand_id=brand_id,
        cells=rfm.rfm_cells(brand_id=brand_id),
        scores=koc.koc_scores(brand_id=brand_id),
        models=cohorts.brand_models(brand_id=brand_id),
        computed_at=clock.now(),
        stamp=stamp,
    )
    try:
        cache.set(_key(brand_id), snapshot, int(MAX_AGE.total_seconds()))
    except Exception:
        logger.warning("the brand models' cache could not be written", exc_info=True)
    return snapshot


def brand_snapshot(*, brand_id: int, max_age: timedelta = MAX_AGE) -> Snapshot:
    """The brand's models: the cached snapshot when younger than ``max_age`` and its orders and refunds have not
    changed since, else computed now."""
    found = _cached(brand_id)
    if (
        found is not None
        and timedelta(0) <= clock.now() - found.computed_at < max_age
        and found.stamp == change_stamp(brand_id=brand_id)
    ):
        return found
    return compute(brand_id=brand_id)


def refresh_all() -> int:
    """Compute again every brand's snapshot that is half its life old or out of date (the beat task)."""
    from community.models import Brand

    refreshed = 0
    for brand_id in Brand.objects.order_by("pk").values_list("pk", flat=True):
        before = _cached(brand_id)
        after = brand_snapshot(brand_id=brand_id, max_age=REFRESH_AFTER)
        refreshed += before is None or after.computed_at != before.computed_at
    return refreshed
