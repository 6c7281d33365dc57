"""The set-based statements behind 准时送达率, 取货率, 裂变新客占比, 社群月活率, LTV and its change (PostgreSQL: one
aggregate per tile instead of a Python loop over parcels or per-member subqueries) give the same figures and the
same drill-down people as the plain ORM path, over periods, communities and sessions, on the scenario's rows plus
rows chosen to make the paths disagree if a rule is off (late and early orders, a second community, parcels not
yet due, overdue and arrived late, refunds paid before and after the period, old watch records)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection

from bi import metrics, rollups
from bi.metrics import community, sales, service
from bi.scope import scope_resolve
from fulfillment.models import Parcel
from jielong.models import LedgerEntry, Order
from livestream.models import WatchRecord
from tests import factories as f
from tests.bi import scenario
from tests.bi.scenario import NOW, day

pytestmark = [
    pytest.mark.usefixtures("pinned"),
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based statements are PostgreSQL's"),
]


@pytest.fixture(autouse=True)
def _domain_paths():
    """LTV reads the stream's rollups when they are on (tests/bi/test_rollups*.py); here its statement is compared
    with the plain ORM path."""
    with rollups.reading(False):
        yield


TILES = ("delivery_on_time", "referral_share", "monthly_active", "pickup_rate", "ltv_change", "lifetime_value")


def _order(data, name, fen, at, *, community=None, campaign=None) -> Order:
    campaign = campaign or data.c1
    seq = (Order.objects.filter(campaign=campaign).order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
    return Order.objects.create(
        campaign=campaign, user=data[name], community=community or data.a, seq=seq, total_fen=fen, created_at=at
    )


def _refund(order: Order, fen: int, at, key: str) -> LedgerEntry:
    return LedgerEntry.objects.create(
        kind=LedgerEntry.Kind.REFUND, amount_fen=fen, order=order, provider="test", key=key, created_at=at
    )


def _parcel(order: Order, delivery, state, *, at_pickup=None, picked=None) -> Parcel:
    return Parcel.objects.create(
        order=order,
        brand=order.campaign.brand,
        delivery_date=delivery.date(),
        pickup_point=f.pickup_point(community=order.community),
        state=state,
        state_changed_at=delivery,
        at_pickup_at=at_pickup,
        picked_up_at=picked,
    )


def _scopes(data, operator):
    def period(days, **pickers):
        return scope_resolve(viewer=operator, since=NOW.date() - timedelta(days=days - 1), **pickers)

    year = period(365)
    return {
        "30 days": scope_resolve(viewer=operator),
        "7 days": period(7),
        "a year": year,
        "a year of A": period(365, community_id=data.a.pk),
        "a year of B": period(365, community_id=data.b.pk),
        "a year of A and B": replace(year, community_ids=tuple(sorted((data.a.pk, data.b.pk)))),
        "S1": scope_resolve(viewer=operator, session_id=data.s1.pk),
        "S1 in B": replace(scope_resolve(viewer=operator, session_id=data.s1.pk), community_ids=(data.b.pk,)),
        "a past month": scope_resolve(
            viewer=operator, since=NOW.date() - timedelta(days=80), until=NOW.date() - timedelta(days=50)
        ),
        "the last 3 days": period(3),
    }


def _more_rows(data):
    """A late order before the period, a second order of one customer in the other community, a parcel not yet
    due, one overdue, one arrived after its noon, refunds before and after the period's start, old sightings."""
    campaign = data.orders["a1-c0"].campaign
    old = _order(data, "a4", 1200, day(-200, 10), campaign=campaign)
    _parcel(old, day(-199), Parcel.State.PICKED_UP, at_pickup=day(-199, 13), picked=day(-199, 14))
    again = _order(data, "b2", 900, day(-1, 22), community=data.a, campaign=campaign)
    _parcel(again, day(1), Parcel.State.OUT_FOR_DELIVERY)
    overdue = _order(data, "a5", 600, day(-5, 9), campaign=campaign)
    _parcel(overdue, day(-4), Parcel.State.SHIPPED)
    late = _order(data, "a7", 800, day(-3, 9), campaign=campaign)
    _parcel(late, day(-2), Parcel.State.PICKED_UP, picked=day(-2, 12, 1))
    early = _order(data, "a9", 500, day(-40, 9), community=data.b, campaign=campaign)
    _parcel(early, day(-39), Parcel.State.AT_PICKUP, at_pickup=day(-39, 11, 59))
    _refund(again, 100, day(0, 10), "again-refund")
    _refund(old, 200, day(-20), "old-refund")
    _refund(early, 50, day(-400), "before-the-year-refund")
    WatchRecord.objects.create(
        session=data.s1, user=data["a8"], first_seen_at=day(-70), last_seen_at=day(-69), seconds_watched=60
    )
    WatchRecord.objects.create(
        session=data.s2, user=data["a9"], first_seen_at=day(-60), last_seen_at=day(-60, 1), seconds_watched=60
    )


def _plain(monkeypatch):
    for module in (community, sales, service):
        monkeypatch.setattr(module, "set_based", lambda: False)
    for module in (community, service):  # 裂变新客占比 and 准时送达率 from the domain rows, not the triggers' facts
        monkeypatch.setattr(module, "use_trigger_facts", lambda: False)


@pytest.mark.parametrize("more", [False, True])
def test_the_tiles_give_the_plain_paths_figures_and_people(data, monkeypatch, more):
    if more:
        _more_rows(data)
    scopes = _scopes(data, scenario.operator())
    fast = {}
    for name, scope in scopes.items():
        for key in TILES:
            metric = metrics.METRICS[key]
            parts = ("numerator", "denominator") if metric.has_denominator else ("numerator",)
            fast[name, key] = (metric.compute(scope), [metric.people(scope, p) for p in parts])
    _plain(monkeypatch)
    for name, scope in scopes.items():
        for key in TILES:
            metric = metrics.METRICS[key]
            parts = ("numerator", "denominator") if metric.has_denominator else ("numerator",)
            assert fast[name, key] == (metric.compute(scope), [metric.people(scope, p) for p in parts]), (name, key)


def test_the_figures_are_not_empty_so_the_comparison_means_something(data):
    _more_rows(data)
    scopes = _scopes(data, scenario.operator())
    year = scopes["a year"]
    for key in TILES:
        values = {name: metrics.METRICS[key].compute(scope).value for name, scope in scopes.items()}
        assert len({v for v in values.values() if v is not None}) >= 2, (key, values)
    assert 0 < service.delivery_on_time(year).numerator < service.delivery_on_time(year).denominator


def test_the_trend_reads_the_same_ltv_at_each_months_end(data, monkeypatch):
    from bi import charts

    _more_rows(data)
    scope = scope_resolve(viewer=scenario.operator(), since=NOW.date() - timedelta(days=364))
    fast = charts.monthly_trend(scope)
    _plain(monkeypatch)
    assert charts.monthly_trend(scope) == fast


def test_a_scope_of_no_community_and_no_session_reads_every_tile_as_the_plain_path_does(data, monkeypatch):
    """A brand with no community yet (an API token of a new brand): the hand-written statements embed querysets
    that match nothing (Django refuses to write SQL for them); the board answers, with the plain path's figures."""
    scope = replace(
        scope_resolve(viewer=scenario.operator(), since=NOW.date() - timedelta(days=29)),
        community_ids=(),
        session_ids=(),
    )
    fast = {key: figure.value for key, figure in metrics.figures(scope).items()}
    _plain(monkeypatch)
    assert {key: figure.value for key, figure in metrics.figures(scope).items()} == fast


def test_the_per_customer_statements_get_the_boards_work_mem_for_their_transaction_only(data, settings):
    """LTV and 裂变新客 group a year of orders by customer: with the server's 4 MB that spilled to disk (1.6 s at
    10 M events, 0.8 s with 64 MB). The memory is set for the statement's transaction, never left on the pooled
    connection, and the other tiles' statements keep the server's own."""
    from django.test.utils import CaptureQueriesContext

    settings.BI_WORK_MEM = "48MB"
    year = _scopes(data, scenario.operator())["a year"]
    default = connection.cursor().execute("SHOW work_mem").fetchone()[0]
    assert default != "48MB"

    with CaptureQueriesContext(connection) as captured:
        for key in ("lifetime_value", "ltv_change", "referral_share", "delivery_on_time", "pickup_rate"):
            metrics.METRICS[key].compute(year)
    raised = [q["sql"] for q in captured.captured_queries if "set_config('work_mem'" in q["sql"]]
    assert len(raised) == 6 and sum("'48MB'" in sql for sql in raised) == 3  # set, and set back

    with sales.read_cursor(work_mem="48MB") as cursor:
        assert cursor.execute("SHOW work_mem").fetchone()[0] == "48MB"
    assert connection.cursor().execute("SHOW work_mem").fetchone()[0] == default

    settings.BI_WORK_MEM = ""
    with CaptureQueriesContext(connection) as captured:
        metrics.METRICS["lifetime_value"].compute(year)
    assert not any("work_mem" in q["sql"] for q in captured.captured_queries)
