"""Joining a jielong (services.order_join and jielong.join): exact perks, no oversell, idempotency,
forming, refusals.

Every test runs twice: against the PostgreSQL function ``jielong_join`` (production) and against
the portable ORM join (``jielong.join.orm``, the embedded SQLite demo), so the two implementations
keep the same rules.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections

from groupbuy import clock
from jielong import services
from jielong.join import orm, sql
from jielong.models import Campaign, Order
from tests import factories as f
from tests.jielong.states import campaign_state as _state

# Every test runs twice: through the PostgreSQL function and through its ORM twin (conftest.join_engine).
pytestmark = pytest.mark.usefixtures("join_engine")


@pytest.mark.django_db
def test_join_takes_stock_perk_and_number(django_capture_on_commit_callbacks):
    given = f.open_campaign(perk_limit=1)
    campaign, item, users = given.campaign, given.item, given.members

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 2}).order
    second = services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 1}).order

    assert (first.seq, first.is_perk, first.total_fen) == (1, True, 2 * 1272)
    assert (second.seq, second.is_perk, second.total_fen) == (2, False, 1590)
    assert first.pickup_point is not None
    assert _state(campaign, item) | {} == {
        "stock": 97,
        "orders": 2,
        "lines": 2,
        "joined": 2,
        "perk_taken": 1,
        "next_seq": 3,
        "status": Campaign.Status.OPEN,
    }
    # Event handlers and the broadcast wait for the commit.
    assert len(callbacks) == 2


@pytest.mark.django_db
def test_group_forms_at_threshold(django_capture_on_commit_callbacks):
    given = f.open_campaign(threshold=2)
    campaign, item, users = given.campaign, given.item, given.members
    services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.OPEN and campaign.formed_at is None

    with django_capture_on_commit_callbacks(execute=True):
        services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 1})

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FORMED
    assert campaign.formed_at is not None
    from analytics.models import Event

    assert Event.objects.filter(name="jielong.group_formed", campaign_id=campaign.pk).count() == 1


@pytest.mark.django_db
def test_same_idempotency_key_makes_one_order():
    given = f.open_campaign()
    campaign, item, users = given.campaign, given.item, given.members
    a = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}, idempotency_key="k1")
    b = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}, idempotency_key="k1")
    assert a.created and not b.created
    assert a.order.pk == b.order.pk
    assert _state(campaign, item)["orders"] == 1


@pytest.mark.django_db
def test_second_join_by_same_member_is_refused_and_changes_nothing():
    given = f.open_campaign()
    campaign, item, users = given.campaign, given.item, given.members
    services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1})
    before = _state(campaign, item)
    with pytest.raises(services.AlreadyJoined):
        services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1})
    assert _state(campaign, item) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("closed", "closed"),
        ("past_deadline", "closed"),
        ("over_limit", "over_limit"),
        ("unknown_item", "unknown_item"),
        ("negative_quantity", "bad_quantity"),
        ("zero_quantity", "bad_quantity"),
        ("not_a_member", "not_member"),
        ("empty", "empty"),
        ("foreign_pickup_point", "bad_pickup_point"),
    ],
)
def test_bad_joins_are_refused_with_a_message_and_change_nothing(case, code, django_capture_on_commit_callbacks):
    given = f.open_campaign(per_member_limit=3)
    campaign, item, users = given.campaign, given.item, given.members
    user, quantities, pickup_point_id = users[0], {item.pk: 1}, None
    if case == "closed":
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.FAILED)
    elif case == "past_deadline":
        Campaign.objects.filter(pk=campaign.pk).update(closes_at=clock.now() - timedelta(seconds=1))
    elif case == "over_limit":
        quantities = {item.pk: 4}
    elif case == "unknown_item":
        quantities = {f.campaign(items=1).items.get().pk: 1}
    elif case == "negative_quantity":
        quantities = {item.pk: -1}
    elif case == "zero_quantity":
        quantities = {item.pk: 0}
    elif case == "not_a_member":
        user = f.member()
    elif case == "empty":
        quantities = {}
    elif case == "foreign_pickup_point":
        pickup_point_id = f.pickup_point(community=f.community()).pk
    before = _state(campaign, item)

    with django_capture_on_commit_callbacks(execute=False) as callbacks, pytest.raises(services.JoinRefused) as error:
        services.order_join(campaign_id=campaign.pk, user=user, quantities=quantities, pickup_point_id=pickup_point_id)

    assert error.value.code == code
    assert error.value.message  # a sentence for the member, in their language
    assert _state(campaign, item) == before
    assert callbacks == []


@pytest.mark.django_db
def test_sold_out_refuses_and_rolls_back():
    given = f.open_campaign(stock=1)
    campaign, item, users = given.campaign, given.item, given.members
    services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1})
    before = _state(campaign, item)
    with pytest.raises(services.InsufficientStock):
        services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 1})
    assert _state(campaign, item) == before


def _race(fn, args_list, workers):
    def run(args):
        try:
            return fn(*args)
        except Exception as exc:  # the outcome is what we count
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, args_list))


@pytest.mark.django_db(transaction=True)
def test_sixty_members_racing_never_oversell_and_exactly_n_get_the_perk():
    given = f.open_campaign(stock=40, threshold=30, perk_limit=10, members=60)
    campaign, item, users = given.campaign, given.item, given.members

    def join(user):
        return services.order_join(campaign_id=campaign.pk, user=user, quantities={item.pk: 1})

    outcomes = _race(join, [(u,) for u in users], workers=60)

    joined = [o for o in outcomes if isinstance(o, services.JoinResult)]
    sold_out = [o for o in outcomes if isinstance(o, services.InsufficientStock)]
    assert (len(joined), len(sold_out)) == (40, 20), outcomes
    orders = Order.objects.filter(campaign=campaign)
    assert sorted(orders.values_list("seq", flat=True)) == list(range(1, 41))
    assert orders.filter(is_perk=True).count() == 10
    assert sorted(orders.filter(is_perk=True).values_list("seq", flat=True)) == list(range(1, 11))
    state = _state(campaign, item)
    assert (state["stock"], state["joined"], state["perk_taken"], state["status"]) == (
        0,
        40,
        10,
        Campaign.Status.FORMED,
    )


@pytest.mark.django_db(transaction=True)
def test_a_retried_request_racing_itself_makes_one_order():
    given = f.open_campaign()
    campaign, item, users = given.campaign, given.item, given.members

    def join(_):
        return services.order_join(
            campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}, idempotency_key="tap"
        )

    outcomes = _race(join, [(i,) for i in range(12)], workers=12)

    assert all(isinstance(o, services.JoinResult) for o in outcomes), outcomes
    assert len({o.order.pk for o in outcomes}) == 1
    assert sum(o.created for o in outcomes) == 1
    assert _state(campaign, item)["stock"] == 99


@pytest.mark.django_db
def test_kocs_join_inside_their_early_window_and_others_wait():
    from community.models import Membership

    given = f.open_campaign()
    campaign, item, users = given.campaign, given.item, given.members
    Campaign.objects.filter(pk=campaign.pk).update(opens_at=clock.now() + timedelta(minutes=5), koc_early_minutes=10)
    Membership.objects.filter(user=users[0]).update(role=Membership.Role.KOC)

    koc_order = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}).order
    before = _state(campaign, item)
    with pytest.raises(services.JoinRefused) as error:
        services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 1})

    assert koc_order.seq == 1
    assert error.value.code == "not_open_yet"
    assert _state(campaign, item) == before


@pytest.mark.django_db
def test_maximum_orders_and_minimum_spend_are_enforced():
    given = f.open_campaign()
    campaign, item, users = given.campaign, given.item, given.members
    Campaign.objects.filter(pk=campaign.pk).update(max_orders=1, min_spend_fen=3000)

    with pytest.raises(services.JoinRefused) as low:
        services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1})
    services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 3})  # 3 × 12.72 at the perk price
    before = _state(campaign, item)
    with pytest.raises(services.JoinRefused) as full:
        services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 3})

    assert (low.value.code, full.value.code) == ("below_min_spend", "full")
    assert _state(campaign, item) == before


@pytest.mark.django_db
def test_a_conflict_that_is_not_a_second_order_is_not_reported_as_one(monkeypatch):
    from django.db import IntegrityError

    given = f.open_campaign()
    campaign, item, users = given.campaign, given.item, given.members
    before = _state(campaign, item)

    def conflict(**kwargs):
        raise IntegrityError("item removed meanwhile")

    monkeypatch.setattr(sql, "run_joins", conflict)
    monkeypatch.setattr(orm, "do_join_orm", conflict)
    with pytest.raises(services.JoinRefused) as error:
        services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1})

    assert not isinstance(error.value, services.AlreadyJoined)
    assert error.value.code == "changed"
    assert _state(campaign, item) == before
