"""Do the rollups give the live queries' figures? (``manage.py rollups_rebuild --check``, the demo, the tests.)

Every tile the rollups back (``bi.metrics.ROLLUP_TILES``) is computed twice for a set of boards — once from the
rollups (``bi.rollups.reading(True)``), once from the domain tables (``reading(False)``) — and any difference is
named. The boards: the last 30 days and the last year over every community and over each community, and each
ended live session picked on its own. Works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from community.models import Community
from groupbuy import clock
from livestream.models import LiveSession

from . import rollups
from .metrics import METRICS, ROLLUP_TILES, Figure

__all__ = ["ROLLUP_TILES", "Difference", "boards", "differences"]
from .scope import MAX_DAYS, Scope


@dataclass(frozen=True)
class Difference:
    board: str
    tile: str
    from_rollups: Figure
    from_domain: Figure

    def __str__(self) -> str:
        return f"{self.board} · {self.tile}: rollups {self.from_rollups} ≠ domain {self.from_domain}"


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _period(since: date, until: date, community_ids: tuple[int, ...] | None, label: str) -> Scope:
    sessions = LiveSession.objects.filter(
        status=LiveSession.Status.ENDED, started_at__gte=_start(since), started_at__lt=_start(until + timedelta(1))
    )
    if community_ids is not None:
        sessions = sessions.filter(communities__in=community_ids)
    ids = tuple(sessions.order_by("started_at", "pk").values_list("pk", flat=True).distinct())
    return Scope(since, until, community_ids, ids, False, label, {})


def boards(*, today: date | None = None) -> list[Scope]:
    """The boards the check compares (see the module docstring)."""
    today = today or clock.localdate()
    periods = {"30 days": today - timedelta(days=29), "a year": today - timedelta(days=MAX_DAYS - 1)}
    found = []
    communities: list[tuple[tuple[int, ...] | None, str]] = [(None, "all")]
    communities += [((pk,), name) for pk, name in Community.objects.order_by("pk").values_list("pk", "name")]
    for ids, name in communities:
        for label, since in periods.items():
            found.append(_period(since, today, ids, f"{name}, {label}"))
    for pk, title in LiveSession.objects.filter(status=LiveSession.Status.ENDED).values_list("pk", "title"):
        found.append(Scope(today, today, None, (pk,), True, f"《{title}》", {}))
    return found


def differences(scopes: list[Scope] | None = None, tiles: tuple[str, ...] = ROLLUP_TILES) -> list[Difference]:
    """Each (board, tile) whose figure from the rollups is not the live query's."""
    found = []
    for scope in boards() if scopes is None else scopes:
        for key in tiles:
            with rollups.reading(True):
                ours = METRICS[key].compute(scope)
            with rollups.reading(False):
                theirs = METRICS[key].compute(scope)
            if ours != theirs:
                found.append(Difference(scope.label, key, ours, theirs))
    return found
