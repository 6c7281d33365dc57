"""The webhooks' background work: fan the stream out into deliveries, then send what is due.

Both steps are idempotent and safe in several workers at once (see ``fanout`` and ``sending``); the beat
runs ``run`` every few seconds and a published fact kicks it at once (``kick``), at most once a second."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

from . import fanout, sending
from .models import Endpoint

logger = logging.getLogger(__name__)

KICK_KEY = "webhooks:kick"
KICK_EVERY_SECONDS = 1


PRUNE_KEY = "webhooks:pruned"
PRUNE_EVERY_SECONDS = 3600


@shared_task(name="webhooks.tasks.run")
def run() -> dict[str, int]:
    done = {"fanned_out": fanout.fanout(), "sent": sending.send_due()}
    if cache.add(PRUNE_KEY, 1, timeout=PRUNE_EVERY_SECONDS):  # the log's old rows, once an hour
        done["pruned"] = sending.prune()
    return done


def kick() -> None:
    """Queue ``run`` now, unless one was queued in the last second (a burst of joins is one run). With the
    broker or the cache down nothing is lost: the beat's next run finds the rows."""
    try:
        if cache.add(KICK_KEY, 1, timeout=KICK_EVERY_SECONDS) and Endpoint.objects.filter(is_active=True).exists():
            run.delay()
    except Exception:
        logger.warning("could not queue the webhooks run; the periodic task will send instead", exc_info=True)
