"""The stream's rollups (bi.rollups): incremental == recomputed from the raw stream, whatever the order events
come in; idempotent; rebuilt by one command; the tiles read them (and the stream after the cursor)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from bi import rollups
from bi.metrics import METRICS
from bi.models import RollupCampaign, RollupDay, RollupDayAll
from bi.scope import Scope
from groupbuy import clock
from groupbuy.stream.models import Event

from .stream_data import COMMUNITIES, generate

pytestmark = pytest.mark.django_db

NOW = clock.now().replace(microsecond=0) - timedelta(days=3)
settle0 = timedelta(0)


def _scope(*, days=30, communities=None, sessions=(), picked=False) -> Scope:
    until = clock.localdate()
    return Scope(until - timedelta(days=days - 1), until, communities, tuple(sessions), picked, "", {})


SCOPES = {
    "30 days, all": dict(days=30),
    "7 days, all": dict(days=7),
    "30 days, one community": dict(communities=(COMMUNITIES[0],)),
    "30 days, two communities": dict(communities=COMMUNITIES[1:]),
    "session 501": dict(sessions=(501,), picked=True),
    "both sessions, one community": dict(sessions=(501, 502), picked=True, communities=(COMMUNITIES[2],)),
}
TILES = ("gmv_gross", "gmv_net", "average_order_value", "aov_live_lift", "nps")


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield


def _write(rows):
    Event.objects.bulk_create(rows)


def test_rollup_equals_recomputation_with_late_and_out_of_order_events(pinned):
    first, second = generate(clock.now())
    _write(first)
    assert rollups.catch_up(settle=settle0) == len(first)
    assert rollups.stored() == rollups.recompute()  # after the first wave

    _write(second)  # late refunds about old days, cancellations after their join was folded, a failed jielong
    assert rollups.catch_up(settle=settle0, span=37) == len(second)  # small transactions: many cursor moves
    stored = rollups.stored()
    assert stored == rollups.recompute()
    assert rollups.stored_all() == rollups.over_communities(stored)  # the all-communities table
    live = set(RollupCampaign.objects.filter(live_session_id__isnull=False).values_list("pk", flat=True))
    assert live == {101, 102, 103, 104}
    for model in (RollupDay, RollupDayAll):
        assert {(c, is_live) for c, is_live in model.objects.values_list("campaign_id", "is_live")} == {
            (c, c in live) for c in model.objects.values_list("campaign_id", flat=True)
        }
    assert sum(v[0] for v in stored.values()) > 50 and sum(v[2] for v in stored.values()) > 0
    assert sum(v[3] for v in stored.values()) > 10
    assert not any(key[2] == 112 and values[0] for key, values in stored.items())  # the failed jielong


def test_catch_up_twice_changes_nothing_and_unsettled_rows_wait(pinned):
    first, second = generate(clock.now())
    _write(first)
    rollups.catch_up(settle=settle0)
    before = rollups.stored()
    assert rollups.catch_up(settle=settle0) == 0
    assert rollups.stored() == before

    for row in second:
        row.received_at = clock.now()  # just received: not settled yet
    _write(second)
    assert rollups.catch_up() == 0
    assert rollups.stored() == before
    assert rollups.catch_up(now=clock.now() + timedelta(minutes=2)) == len(second)
    assert rollups.stored() == rollups.recompute()


def test_rebuild_command_gives_the_same_rollups(pinned):
    first, second = generate(clock.now())
    _write(first)
    rollups.catch_up(settle=settle0)
    _write(second)
    rollups.catch_up(settle=settle0)
    incremental = rollups.stored()
    RollupDay.objects.update(gross_fen=0)  # damaged
    call_command("rollups_rebuild")  # (no --check: this stream has no domain rows for the live queries)
    assert rollups.matches_recomputation()
    assert rollups.stored() == incremental
    assert rollups.stored_all() == rollups.over_communities(incremental)


@pytest.mark.parametrize("name", list(SCOPES))
def test_tiles_from_rollups_equal_the_recomputation_and_include_the_tail(pinned, settings, name):
    settings.BI_ROLLUPS = True
    first, second = generate(clock.now())
    _write(first)
    rollups.catch_up(settle=settle0)
    _write(second)  # not folded yet: the tiles add the stream after the cursor
    scope = _scope(**SCOPES[name])
    with_tail = {key: METRICS[key].compute(scope) for key in TILES}
    rollups.catch_up(settle=settle0)
    assert {key: METRICS[key].compute(scope) for key in TILES} == with_tail
    assert with_tail == _expected(scope)


def _expected(scope: Scope) -> dict:
    """The tiles by hand from the recomputed day rows (sessions' jielongs as the generator opened them)."""
    from bi.metrics.sales import FROM_SALES, lift_figure
    from bi.metrics.service import nps_figure

    live = {101: 501, 102: 501, 103: 502, 104: 502}
    rows = []
    for (day, community, campaign), values in rollups.recompute().items():
        if scope.session_picked:
            if live.get(campaign) not in scope.session_ids:
                continue
        elif not scope.since <= day <= scope.until:
            continue
        if scope.community_ids is not None and community not in scope.community_ids:
            continue
        rows.append((campaign, values))

    def sales(keep=lambda c: True):
        picked = [v for c, v in rows if keep(c)]
        return rollups.Sales(*(sum(v[i] for v in picked) for i in range(3)))

    figures = {key: FROM_SALES[key](sales()) for key in FROM_SALES}
    figures["aov_live_lift"] = lift_figure(sales(lambda c: c in live), sales(lambda c: c not in live))
    figures["nps"] = nps_figure(rollups.Answers(*(sum(v[i] for _c, v in rows) for i in range(3, 6))))
    return figures
