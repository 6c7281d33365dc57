"""The parcel facts behind 准时送达率 (``bi.models.ParcelDay``): the triggers on the parcels keep them equal to a
recomputation from the parcels through every writer — the split and its re-split, the batch steps, 核销 and its
undoing, 超时未取, bulk ORM and SQL writes, deletes, a truncate, concurrent transactions — and the tile reads from
them what the parcels give (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from bi import metrics, parcel_days, rollups
from bi.metrics import service
from bi.models import ParcelDay, ParcelDayAll
from bi.scope import scope_resolve
from fulfillment.models import BatchMove, Handout, Parcel
from fulfillment.pickup import parcels_mark_uncollected, pickup_undo, verify_pickup
from fulfillment.split import split_day
from fulfillment.tracking import batch_move
from groupbuy import clock
from jielong.models import Order
from tests import factories
from tests.fulfillment.day import make_day
from tests.migrations import migrated_back

State = Parcel.State


def noon(day) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=timezone.get_current_timezone())


def facts_equal_the_parcels() -> None:
    found = parcel_days.recomputed()
    assert parcel_days.stored() == found
    assert parcel_days.stored_all() == rollups.over_communities(found)


def split_new_day(**shape):
    """A generated delivery day (tests/fulfillment/day.py), split: a parcel per order."""
    day = make_day(**shape)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    return day


def received(day, point, at: datetime) -> None:
    """The pickup point records its parcels' arrival at ``at`` (the tracking area's batch step)."""
    batch_move(
        brand_id=day.brand_id,
        delivery_date=day.delivery_date,
        kind=BatchMove.Kind.POINT_RECEIVED,
        pickup_point=point,
        now=at,
    )


def totals() -> tuple[int, int, int]:
    return tuple(sum(values[i] for values in parcel_days.stored().values()) for i in range(3))


@pytest.mark.django_db
def test_the_facts_follow_the_split_the_steps_pickup_its_undoing_and_uncollected():
    day = split_new_day(points=3, members=10)
    facts_equal_the_parcels()
    live = Parcel.objects.exclude(state__in=(State.CANCELLED, State.SHORTAGE)).count()
    assert totals() == (live, 0, 0) and live > 0

    # Two points receive their parcels: one by the delivery day's noon, one after it.
    early, late = day.points[0], day.points[1]
    for point, at in ((early, noon(day.delivery_date)), (late, noon(day.delivery_date) + timedelta(seconds=1))):
        received(day, point, at)
        facts_equal_the_parcels()
    at_early = Parcel.objects.filter(pickup_point=early, state=State.AT_PICKUP).count()
    at_late = Parcel.objects.filter(pickup_point=late, state=State.AT_PICKUP).count()
    assert at_early and at_late
    assert totals() == (live, at_early + at_late, at_early)  # exactly 12:00 is on time; a second later is not

    # 核销 of a parcel already at the point moves no fact; its undoing neither.
    handout = Handout.objects.filter(pickup_point=early, parcels__state=State.AT_PICKUP).first()
    leader = factories.member(nickname="王团长")
    early.leader = leader
    early.save(update_fields=["leader"])
    before = parcel_days.stored()
    verify_pickup(
        code=handout.code, pickup_point_id=early.pk, by=leader, now=noon(day.delivery_date) + timedelta(hours=2)
    )
    assert Parcel.objects.filter(handout=handout, state=State.PICKED_UP).exists()
    assert parcel_days.stored() == before
    pickup_undo(
        handout_id=handout.pk, by=leader, reason="拿错了", now=noon(day.delivery_date) + timedelta(hours=2, minutes=1)
    )
    assert parcel_days.stored() == before

    # Picked up at a point whose arrival nobody pressed: the pickup is the arrival.
    third = day.points[2]
    direct = Handout.objects.filter(pickup_point=third).exclude(parcels__state=State.SHORTAGE).first()
    third.leader = leader
    third.save(update_fields=["leader"])
    Parcel.objects.filter(handout=direct).update(state=State.AT_PICKUP)  # arrived, but no receipt time
    verify_pickup(
        code=direct.code, pickup_point_id=third.pk, by=leader, now=noon(day.delivery_date) - timedelta(hours=1)
    )
    facts_equal_the_parcels()
    assert totals()[2] == at_early + direct.parcels.exclude(state__in=(State.CANCELLED, State.SHORTAGE)).count()

    # 超时未取 two days later: still arrived, still on time or late as it was.
    before = parcel_days.stored()
    assert parcels_mark_uncollected(now=noon(day.delivery_date) + timedelta(days=3)) > 0
    assert parcel_days.stored() == before


@pytest.mark.django_db
def test_a_late_cancellation_leaves_the_facts_at_the_next_split_and_a_moved_day_moves_them():
    day = split_new_day(points=2, members=8)
    gone = day.orders[0]
    Order.objects.filter(pk=gone.pk).update(status=Order.Status.CANCELLED)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    assert Parcel.objects.get(pk=gone.pk).state == State.CANCELLED
    facts_equal_the_parcels()

    # The operator moves the day: the parcels' delivery day (and so their noon) changes with it.
    later = day.delivery_date + timedelta(days=2)
    Parcel.objects.filter(delivery_date=day.delivery_date).update(delivery_date=later)
    facts_equal_the_parcels()
    assert {key[3] for key in parcel_days.stored()} == {later}


@pytest.mark.django_db
def test_bulk_writes_deletes_and_a_truncate_keep_the_facts():
    day = split_new_day(points=2, members=8)
    parcels = list(Parcel.objects.order_by("pk"))
    a, b, c, d = parcels[:4]
    Parcel.objects.filter(pk=a.pk).update(state=State.SHORTAGE)
    Parcel.objects.filter(pk=a.pk).update(state=State.PENDING)  # a shortage cleared: back among the due
    Parcel.objects.filter(pk=b.pk).update(
        state=State.PICKED_UP, picked_up_at=noon(day.delivery_date) + timedelta(hours=5)
    )
    Parcel.objects.filter(pk=c.pk).update(
        at_pickup_at=noon(day.delivery_date) - timedelta(hours=3), state=State.AT_PICKUP
    )
    Parcel.objects.filter(pk=c.pk).update(at_pickup_at=noon(day.delivery_date) + timedelta(hours=3))  # corrected
    facts_equal_the_parcels()
    assert totals()[1:] == (2, 0)

    rows = [Parcel(**values) for values in Parcel.objects.filter(pk__in=[b.pk, d.pk]).values()]
    d.delete()
    facts_equal_the_parcels()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM fulfillment_parcel WHERE order_id = %s", [b.pk])
    facts_equal_the_parcels()
    Parcel.objects.bulk_create(rows)
    facts_equal_the_parcels()

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE fulfillment_parcel")
    assert not ParcelDay.objects.exists() and not ParcelDayAll.objects.exists()


@pytest.mark.django_db
def test_rebuild_refills_the_facts_and_the_command_checks_them(capsys, monkeypatch):
    from bi import rollup_check

    day = split_new_day(points=2, members=8)
    received(day, day.points[0], noon(day.delivery_date) - timedelta(hours=1))
    kept = parcel_days.stored()
    ParcelDay.objects.all().delete()
    ParcelDayAll.objects.update(on_time=0)
    assert not parcel_days.matches_recomputation()

    assert parcel_days.rebuild() is True
    assert parcel_days.stored() == kept
    facts_equal_the_parcels()
    monkeypatch.setattr(rollup_check, "differences", lambda boards: [])  # this day has no stream: no tiles to hold
    call_command("rollups_rebuild", "--check")
    out = capsys.readouterr().out
    assert "parcel facts refilled" in out and "parcel facts equal the parcels" in out


@pytest.mark.django_db
def test_the_tile_counts_due_parcels_by_the_clock_from_the_facts_as_from_the_parcels(monkeypatch):
    """准时送达率 = arrived by 12:00 of the delivery day ÷ due (noon passed, or arrived): before the noon only the
    parcels already there are due; after it every parcel is."""
    day = split_new_day(points=2, members=8)
    received(day, day.points[0], noon(day.delivery_date) - timedelta(hours=2))
    live = Parcel.objects.exclude(state__in=(State.CANCELLED, State.SHORTAGE))
    arrived = live.filter(state=State.AT_PICKUP).count()
    assert 0 < arrived < live.count()
    operator = factories.operator()

    def figure(at: datetime, *, facts: bool) -> metrics.Figure:
        monkeypatch.setattr(service, "use_trigger_facts", lambda: facts)
        monkeypatch.setattr(clock, "now", lambda: at)
        scope = scope_resolve(
            viewer=operator,
            since=day.delivery_date - timedelta(days=30),
            until=day.delivery_date,
            today=day.delivery_date,
        )
        return metrics.delivery_on_time(scope)

    before_noon = noon(day.delivery_date) - timedelta(minutes=1)
    after_noon = noon(day.delivery_date) + timedelta(minutes=1)
    assert figure(before_noon, facts=True) == figure(before_noon, facts=False) == metrics.Figure(1.0, arrived, arrived)
    expected = metrics.Figure(arrived / live.count(), arrived, live.count())
    assert figure(after_noon, facts=True) == figure(after_noon, facts=False) == expected


@pytest.mark.django_db(transaction=True)
def test_concurrent_steps_and_pickups_keep_the_facts_equal_to_the_parcels():
    """Eight workers at once move overlapping parcels (arrivals on either side of noon, pickups, shortages, back to
    pending, a cancellation), each transaction one write as the app's writers (its parcels locked in key order first), each
    trigger adds its own before→after and writes the facts in key order: no deadlock, and the sums stay exact."""
    day = split_new_day(points=3, members=12, campaigns=2)
    ids = list(Parcel.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) >= 8
    base = noon(day.delivery_date)
    start = threading.Barrier(8)
    failed: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            start.wait(timeout=30)
            for round_ in range(5):
                mine = ids[(n + round_) % len(ids) :: 3]  # overlaps the other workers' sets
                at = base + timedelta(minutes=n if (n + round_) % 2 else -n)  # either side of noon
                kind = (n + round_) % 4
                with transaction.atomic():  # one write per transaction, as the app's writers of parcels
                    # The parcels' own rows in key order first: two UPDATEs of overlapping sets lock rows in scan
                    # order, which can deadlock on the parcels themselves (the app's moves of a day are serialised
                    # by its day lock); what is under test is the facts' rows, which the triggers write.
                    list(Parcel.objects.filter(pk__in=mine).order_by("pk").select_for_update().values_list("pk"))
                    if kind == 0:
                        Parcel.objects.filter(pk__in=mine).update(state=State.AT_PICKUP, at_pickup_at=at)
                    elif kind == 1:
                        Parcel.objects.filter(pk__in=mine).update(state=State.PICKED_UP, picked_up_at=at)
                    elif kind == 2:
                        Parcel.objects.filter(pk__in=mine).update(
                            state=Case(When(pk__in=mine[:2], then=Value(State.SHORTAGE)), default=Value(State.PENDING)),
                            at_pickup_at=None,
                            picked_up_at=None,
                        )
                    else:
                        Parcel.objects.filter(pk__in=mine[:1]).update(state=State.CANCELLED)
        except BaseException as exc:  # pragma: no cover - reported below
            failed.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failed == []
    facts_equal_the_parcels()
    assert any(totals())


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_facts_from_the_parcels_already_there():
    day = split_new_day(points=2, members=8)
    received(day, day.points[1], clock.now())
    kept = parcel_days.stored()
    assert kept
    with migrated_back("bi", "0007_customers_over_communities"):
        Parcel.objects.filter(pickup_point=day.points[0]).update(at_pickup_at=clock.now(), state=State.AT_PICKUP)
    assert parcel_days.stored() != kept  # the parcels moved while there were no triggers, and the fill saw it
    facts_equal_the_parcels()
