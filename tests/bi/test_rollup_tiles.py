"""Each tile the rollups back gives the live query's figure on the hand-made scenario (tests/bi/scenario.py),
whose rows come with the events the services would have written: one test per tile, over boards of every kind
(periods, one community, each community, a picked session), read from the stream's tail and after the fold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from bi import rollup_check, rollups
from bi.metrics import METRICS, ROLLUP_TILES
from bi.scope import Scope
from tests.bi import scenario
from tests.bi.scenario import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pinned")]


def _boards(data) -> list[Scope]:
    today = NOW.date()
    boards = rollup_check.boards(today=today)
    boards += [
        Scope(today - timedelta(days=2), today, (data.b.pk,), (data.s2.pk,), False, "B, 3 days", {}),
        Scope(today, today, (data.a.pk,), (data.s1.pk, data.s2.pk), True, "A, both sessions", {}),
        Scope(today - timedelta(days=59), today - timedelta(days=3), None, (), False, "before the refund", {}),
    ]
    return boards


@pytest.mark.parametrize("tile", ROLLUP_TILES)
def test_the_tile_from_the_rollups_equals_the_live_query_on_the_scenario(tile):
    data = scenario.build()
    boards = _boards(data)
    assert rollup_check.differences(boards, (tile,)) == []  # nothing folded yet: the stream's tail
    assert rollups.catch_up(settle=timedelta(0)) > 0
    assert rollup_check.differences(boards, (tile,)) == []  # folded
    with rollups.reading(True):
        values = [METRICS[tile].compute(board).value for board in boards]
    # The scenario's year has something to show on every tile (LTV's change: on a board with customers before it).
    assert values[1] is not None or (tile == "ltv_change" and any(v not in (None, 0) for v in values))


def test_the_rebuild_command_checks_the_tiles_against_the_live_queries(capsys):
    scenario.build()
    call_command("rollups_rebuild", "--check")
    out = capsys.readouterr().out
    assert f"rollup tiles equal the live queries: {len(ROLLUP_TILES)} tiles" in out
    assert "rollups equal the recomputation" in out


def test_the_check_names_a_tile_that_disagrees():
    data = scenario.build()
    rollups.catch_up(settle=timedelta(0))
    # An order changed behind the services' back (no event): the rollups no longer know its amount.
    type(data.orders["a3"]).objects.filter(pk=data.orders["a3"].pk).update(total_fen=9900)
    found = rollup_check.differences(_boards(data), ("gmv_gross",))
    assert found and {d.tile for d in found} == {"gmv_gross"}
    assert all(d.from_domain.value - d.from_rollups.value == 9900 - 1500 for d in found)
