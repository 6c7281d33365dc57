"""Which database a query goes to: the primary, or — for the reads of dashboards and exports, when asked
explicitly — the PostgreSQL read replica (``DATABASE_REPLICA_URL``; README, "Past one machine").

Every write and every read goes to the primary (``default``) unless the code says otherwise. A read site that
may see data a few seconds old (a board's figures, an export, a CDP model) wraps its reads in
``replica_reads()``; inside it, reads go to the replica alias when one is configured. Writes inside the block
still go to the primary, and so does a read inside a transaction on the primary (``atomic``): it may depend on
what that transaction just wrote, which the replica has not seen. Joins, refunds and 核销 never open the block.

With no replica configured (the embedded default, a one-machine install) ``replica_reads()`` changes nothing.
A replica that cannot be reached when a block opens is not used: the block reads the primary (a board is a few
seconds fresher, not an error page), a warning is logged, and the process leaves the replica alone for
``REPLICA_RETRY_SECONDS`` before it tries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
REPLICA_RETRY_SECONDS = 30.0
# The alias the reads of the current replica_reads() block go to ("" outside any block).
_replica_reads: ContextVar[str] = ContextVar("groupbuy_replica_reads", default="")
# time.monotonic() until which this process does not try the replica again (a backoff, not a business time).
_replica_down_until = 0.0


def replica_alias() -> str:
    """The alias reads inside ``replica_reads()`` use: the replica's when one is configured, else the primary's."""
    return getattr(settings, "DATABASE_REPLICA_ALIAS", "") or DEFAULT_DB_ALIAS


@contextmanager
def replica_reads() -> Iterator[str]:
    """Send the reads inside the block to the read replica (when configured); yields the alias they use.

    For reads that may lag the primary by the replica's delay: dashboards, exports. Never around a check that
    decides who may do what, or around a read that must see a write just made.
    """
    alias = replica_alias()
    if alias != DEFAULT_DB_ALIAS and not _reachable(alias):
        alias = DEFAULT_DB_ALIAS
    token = _replica_reads.set(alias)
    try:
        yield alias
    finally:
        _replica_reads.reset(token)


def _reachable(alias: str) -> bool:
    """Whether the replica answers now: its connection opens (or is open). A failure marks it down for a while."""
    global _replica_down_until
    now = time.monotonic()
    if now < _replica_down_until:
        return False
    try:
        connections[alias].ensure_connection()
    except DatabaseError:
        _replica_down_until = now + REPLICA_RETRY_SECONDS
        logger.warning(
            "the read replica (%s) is unreachable: boards and exports read the primary for the next %d s",
            alias,
            REPLICA_RETRY_SECONDS,
            exc_info=True,
        )
        return False
    return True


class ReplicaRouter:
    """``DATABASE_ROUTERS``: the primary for everything, the replica only for reads inside ``replica_reads()``.

    Each method answers explicitly (never None): Django would otherwise fall back to the database an instance
    was loaded from, and an object read from the replica would be saved to it, or its relations read from it
    outside the block.
    """

    def db_for_read(self, model, **hints) -> str:
        alias = _replica_reads.get()
        if alias and alias != DEFAULT_DB_ALIAS and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return alias
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # Both aliases hold the same data: an object read from the replica may be related to one from the primary.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA, None}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        # A streaming replica is read-only and follows the primary's schema by itself.
        if db == REPLICA:
            return False
        return None
