"""The fact tables behind LTV, pickup rate, new customers, on-time delivery and the monthly-active rate
(``bi.facts``, kept by PostgreSQL triggers): after every kind of change — a late (backdated) order, a first order
cancelled and restored, an amount changed, an order moved to another community, a refund paid late or moved, a
parcel arriving, picked up, out of stock or removed, watch records written, moved back and removed — the tables
equal their recomputation from the domain rows; and the tiles read through them (and through the set-based
SQL) give the same figures and the same people as the plain ORM path, over periods, communities and sessions."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from bi import facts, metrics
from bi.scope import scope_resolve
from fulfillment.models import Parcel
from jielong.models import LedgerEntry, Order
from livestream.models import WatchRecord
from tests import factories as f
from tests.bi import scenario
from tests.bi.scenario import NOW, day

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the fact tables are kept by PostgreSQL triggers"),
]

TILES = ("delivery_on_time", "referral_share", "monthly_active", "pickup_rate", "ltv_change", "lifetime_value")


@pytest.fixture(autouse=True)
def _pinned():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def data():
    return scenario.build()


def _assert_facts_equal_recomputation():
    stored, recomputed = facts.stored(), facts.recompute()
    for key in recomputed:
        assert stored[key] == recomputed[key], key


def _order(data, name, fen, at, *, community=None, campaign=None) -> Order:
    campaign = campaign or data.c1
    seq = (Order.objects.filter(campaign=campaign).order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
    return Order.objects.create(
        campaign=campaign,
        user=data[name],
        community=community or data.a,
        seq=seq,
        total_fen=fen,
        created_at=at,
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


def test_the_facts_equal_their_recomputation_after_every_kind_of_change(data):
    _assert_facts_equal_recomputation()  # the scenario's rows, written with the triggers on

    # A late row: an order placed 100 days ago, written now, with its parcel on time and a refund paid today.
    late = _order(data, "a9", 2500, day(-100, 9))
    _parcel(late, day(-99), Parcel.State.PICKED_UP, at_pickup=day(-99, 10), picked=day(-99, 17))
    _refund(late, 300, day(0, 9), "late-refund")
    _assert_facts_equal_recomputation()

    # a1's first order (C0, 60 days ago) cancelled: their first order is now C1's; then restored.
    first = data.orders["a1-c0"]
    Order.objects.filter(pk=first.pk).update(status=Order.Status.CANCELLED)
    _assert_facts_equal_recomputation()
    Order.objects.filter(pk=first.pk).update(status=Order.Status.JOINED)
    _assert_facts_equal_recomputation()

    # An amount changed; an order moved to the other community and backdated past midnight.
    Order.objects.filter(pk=data.orders["a3"].pk).update(total_fen=1800)
    Order.objects.filter(pk=data.orders["a6"].pk).update(community=data.b, created_at=day(-4, 23, 59))
    _assert_facts_equal_recomputation()

    # A refund's payment moved a week later, another removed.
    refund = LedgerEntry.objects.filter(order=data.orders["la"], kind=LedgerEntry.Kind.REFUND)
    refund.update(created_at=day(7))
    _assert_facts_equal_recomputation()
    LedgerEntry.objects.filter(order=late, kind=LedgerEntry.Kind.REFUND).delete()
    _assert_facts_equal_recomputation()

    # Parcels: a3's arrival pressed late, b1's out-of-stock parcel supplied after all and not yet arrived, a6's
    # removed, a parcel written before its order exists (parcels have no database foreign key).
    Parcel.objects.filter(order=data.orders["a3"]).update(at_pickup_at=day(-2, 11), state=Parcel.State.PICKED_UP)
    Parcel.objects.filter(order=data.orders["b1"]).update(state=Parcel.State.SHIPPED)
    Parcel.objects.filter(order=data.orders["a6"]).delete()
    _assert_facts_equal_recomputation()
    orphan = _order(data, "a8", 900, day(-1, 8))
    Parcel.objects.filter(order=orphan).delete()
    Order.objects.filter(pk=orphan.pk).delete()
    _assert_facts_equal_recomputation()

    # An order cancelled with its parcel at the point, a whole order deleted.
    Order.objects.filter(pk=data.orders["b2"].pk).update(status=Order.Status.CANCELLED)
    _assert_facts_equal_recomputation()
    gone = _order(data, "a4", 700, day(-1, 9))
    _parcel(gone, day(0), Parcel.State.AT_PICKUP, at_pickup=day(0, 9))
    Parcel.objects.filter(order=gone).delete()
    Order.objects.filter(pk=gone.pk).delete()
    _assert_facts_equal_recomputation()

    # Watch records: a new viewer, a sighting moved back (recomputed), one removed, a viewer's last one removed.
    WatchRecord.objects.create(
        session=data.s2, user=data["a9"], first_seen_at=day(-2, 20), last_seen_at=day(-2, 21), seconds_watched=60
    )
    WatchRecord.objects.filter(session=data.s1, user=data["a1"]).update(last_seen_at=day(-40))
    WatchRecord.objects.filter(session=data.s2, user=data["b1"]).delete()
    WatchRecord.objects.filter(user=data["a5"]).delete()
    _assert_facts_equal_recomputation()


def test_compacting_folds_the_delta_rows_without_changing_a_sum(data):
    _order(data, "a9", 2500, day(-100, 9))
    Order.objects.filter(pk=data.orders["a3"].pk).update(total_fen=1800)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT (day, community_id)) FROM bi_fact_day")
        rows, keys = cursor.fetchone()
    assert rows > keys  # the triggers append
    before = facts.stored()
    facts.compact()
    assert facts.stored() == before
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT (day, community_id)) FROM bi_fact_day")
        rows, keys = cursor.fetchone()
    assert rows == keys


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
        # Ended 50 days ago: the monthly-active window is in the past (viewers seen since are read from records).
        "a past month": scope_resolve(
            viewer=operator, since=NOW.date() - timedelta(days=80), until=NOW.date() - timedelta(days=50)
        ),
        "the last 3 days": period(3),
    }


def _more_rows(data):
    """Rows that make the paths disagree if a rule is off: a late order before the period, a second order of
    one customer in each community, a parcel not yet due and one overdue, a watch record seen long ago."""
    old = _order(data, "a4", 1200, day(-200, 10), campaign=data.orders["a1-c0"].campaign)
    _parcel(old, day(-199), Parcel.State.PICKED_UP, at_pickup=day(-199, 13), picked=day(-199, 14))
    again = _order(data, "b2", 900, day(-1, 22), community=data.a, campaign=data.orders["a1-c0"].campaign)
    _parcel(again, day(1), Parcel.State.OUT_FOR_DELIVERY)
    overdue = _order(data, "a5", 600, day(-5, 9), campaign=data.orders["a1-c0"].campaign)
    _parcel(overdue, day(-4), Parcel.State.SHIPPED)
    _refund(again, 100, day(0, 10), "again-refund")
    _refund(old, 200, day(-20), "old-refund")
    WatchRecord.objects.create(
        session=data.s1, user=data["a8"], first_seen_at=day(-70), last_seen_at=day(-69), seconds_watched=60
    )
    WatchRecord.objects.create(
        session=data.s2, user=data["a9"], first_seen_at=day(-60), last_seen_at=day(-60, 1), seconds_watched=60
    )


@pytest.mark.parametrize("compacted", [False, True])
def test_the_tiles_give_the_plain_paths_figures_and_people(data, compacted):
    _more_rows(data)
    if compacted:
        facts.compact()
    scopes = _scopes(data, scenario.operator())
    assert facts.sql() and facts.usable(scopes["a year"].start, scopes["a year"].end)  # the fast path is taken
    for name, scope in scopes.items():
        for key in TILES:
            metric = metrics.METRICS[key]
            parts = ("numerator", "denominator") if metric.has_denominator else ("numerator",)
            fast = (metric.compute(scope), [metric.people(scope, p) for p in parts])
            with facts.plain_queries():
                plain = (metric.compute(scope), [metric.people(scope, p) for p in parts])
            assert fast == plain, (name, key)


def test_the_trend_reads_ltv_at_each_months_end_from_the_facts(data):
    from bi import charts

    _more_rows(data)
    scope = scope_resolve(viewer=scenario.operator(), since=NOW.date() - timedelta(days=364))
    fast = charts.monthly_trend(scope)
    with facts.plain_queries():
        assert charts.monthly_trend(scope) == fast
    assert [row["lifetime_value"] for row in fast][-1] == metrics.lifetime_value(scope).value
