"""Joining a jielong: exact perks, no oversell, idempotency, forming and failing, refusals.

Every test runs twice: against the PostgreSQL function ``jielong_join`` (production) and against
the portable ORM join (the embedded SQLite demo), so the two implementations keep the same rules.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from catalogue.models import SKU
from jielong import services
from jielong.join import orm, sql
from jielong.models import Campaign, Order, OrderLine
from tests import factories as f


@pytest.fixture(params=["in_database", "orm"], autouse=True)
def join_engine(request, monkeypatch):
    if request.param == "orm":
        monkeypatch.setattr(sql, "in_database", lambda: False)
    return request.param


def _open_campaign(*, stock=100, threshold=3, perk_limit=2, members=5, per_member_limit=10):
    community = f.community()
    point = f.pickup_point(community=community)
    campaign = f.campaign(
        communities=[community], group_threshold=threshold, perk_limit=perk_limit, status=Campaign.Status.OPEN
    )
    item = campaign.items.get()
    SKU.objects.filter(pk=item.sku_id).update(stock=stock)
    item.per_member_limit = per_member_limit
    item.save()
    users = []
    for _ in range(members):
        user = f.member()
        f.membership(user=user, community=community, default_pickup_point=point)
        users.append(user)
    return campaign, item, users


def _state(campaign, item):
    campaign.refresh_from_db()
    return {
        "stock": SKU.objects.get(pk=item.sku_id).stock,
        "orders": Order.objects.filter(campaign=campaign).count(),
        "lines": OrderLine.objects.filter(order__campaign=campaign).count(),
        "joined": campaign.joined_count,
        "perk_taken": campaign.perk_taken,
        "next_seq": campaign.next_seq,
        "status": campaign.status,
    }


@pytest.mark.django_db
def test_join_takes_stock_perk_and_number(django_capture_on_commit_callbacks):
    campaign, item, users = _open_campaign(perk_limit=1)

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
    campaign, item, users = _open_campaign(threshold=2)
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
    campaign, item, users = _open_campaign()
    a = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}, idempotency_key="k1")
    b = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}, idempotency_key="k1")
    assert a.created and not b.created
    assert a.order.pk == b.order.pk
    assert _state(campaign, item)["orders"] == 1


@pytest.mark.django_db
def test_second_join_by_same_member_is_refused_and_changes_nothing():
    campaign, item, users = _open_campaign()
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
    campaign, item, users = _open_campaign(per_member_limit=3)
    user, quantities, pickup_point_id = users[0], {item.pk: 1}, None
    if case == "closed":
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.FAILED)
    elif case == "past_deadline":
        Campaign.objects.filter(pk=campaign.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
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
    campaign, item, users = _open_campaign(stock=1)
    services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1})
    before = _state(campaign, item)
    with pytest.raises(services.InsufficientStock):
        services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 1})
    assert _state(campaign, item) == before


@pytest.mark.django_db
def test_cancel_returns_stock_and_perk_to_the_next_joiner():
    campaign, item, users = _open_campaign(perk_limit=1)
    first = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 2}).order

    services.order_cancel(order_id=first.pk, user=users[0])

    state = _state(campaign, item)
    assert (state["stock"], state["joined"], state["perk_taken"], state["next_seq"]) == (100, 0, 0, 2)
    nxt = services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 1}).order
    assert (nxt.seq, nxt.is_perk) == (2, True)
    # The member who cancelled may join again, as a new entry.
    again = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}).order
    assert (again.seq, again.is_perk) == (3, False)


@pytest.mark.django_db
def test_cancel_of_someone_elses_order_is_refused():
    campaign, item, users = _open_campaign()
    order = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}).order
    with pytest.raises(services.JoinRefused):
        services.order_cancel(order_id=order.pk, user=users[1])
    order.refresh_from_db()
    assert order.status == Order.Status.JOINED


@pytest.mark.django_db
def test_close_fails_an_unformed_group_and_returns_stock():
    campaign, item, users = _open_campaign(threshold=3)
    services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 2})
    Campaign.objects.filter(pk=campaign.pk).update(closes_at=timezone.now() - timedelta(seconds=1))

    assert services.campaigns_close_due() == [campaign.pk]
    assert services.campaigns_close_due() == []  # a second run changes nothing

    state = _state(campaign, item)
    assert state["status"] == Campaign.Status.FAILED
    assert state["stock"] == 100
    assert set(Order.objects.filter(campaign=campaign).values_list("status", flat=True)) == {Order.Status.CANCELLED}
    with pytest.raises(services.JoinRefused):
        services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 1})


@pytest.mark.django_db
def test_close_completes_a_formed_group():
    campaign, item, users = _open_campaign(threshold=1)
    services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1})
    Campaign.objects.filter(pk=campaign.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    services.campaigns_close_due()
    state = _state(campaign, item)
    assert state["status"] == Campaign.Status.COMPLETED
    assert state["stock"] == 99
    assert Order.objects.get(campaign=campaign).status == Order.Status.JOINED


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
    campaign, item, users = _open_campaign(stock=40, threshold=30, perk_limit=10, members=60)

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
    campaign, item, users = _open_campaign()

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

    campaign, item, users = _open_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(opens_at=timezone.now() + timedelta(minutes=5), koc_early_minutes=10)
    Membership.objects.filter(user=users[0]).update(role=Membership.Role.KOC)

    koc_order = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}).order
    before = _state(campaign, item)
    with pytest.raises(services.JoinRefused) as error:
        services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 1})

    assert koc_order.seq == 1
    assert error.value.code == "not_open_yet"
    assert _state(campaign, item) == before


@pytest.mark.django_db
def test_campaign_opens_at_a_later_time_and_ending_the_live_opens_it(django_capture_on_commit_callbacks):
    from livestream import services as live

    host = f.host()
    session = f.live_session(hosts=[host])
    campaign = f.campaign(live_session=session)
    live.session_go_live(session=session, by=host)

    with django_capture_on_commit_callbacks(execute=True):
        live.session_end(session=session, by=host)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.OPEN
    assert campaign.opens_at is not None


@pytest.mark.django_db
def test_tiered_price_settles_earlier_joiners_down(django_capture_on_commit_callbacks, monkeypatch):
    from jielong import tasks
    from jielong.models import PriceTier

    campaign, item, users = _open_campaign(perk_limit=1)
    PriceTier.objects.create(item=item, min_joins=3, price_fen=1400)
    settled = []
    monkeypatch.setattr(tasks.settle_prices, "delay", lambda cid: settled.append(cid))

    with django_capture_on_commit_callbacks(execute=True):
        perk = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}).order
        second = services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 2}).order
    assert (perk.total_fen, second.total_fen) == (1272, 2 * 1590)
    assert settled == []

    with django_capture_on_commit_callbacks(execute=True):
        third = services.order_join(campaign_id=campaign.pk, user=users[2], quantities={item.pk: 1}).order
    assert third.total_fen == 1400  # joins at the tier it unlocks
    assert settled == [campaign.pk]  # and the earlier joiners are settled after commit

    assert services.campaign_settle_prices(campaign_id=campaign.pk) == 1
    assert services.campaign_settle_prices(campaign_id=campaign.pk) == 0  # idempotent
    totals = dict(Order.objects.filter(campaign=campaign).values_list("seq", "total_fen"))
    # The perk order keeps its lower first-N price; the second joiner now pays the tier price.
    assert totals == {1: 1272, 2: 2 * 1400, 3: 1400}
    assert sum(
        line.quantity * line.unit_price_fen for line in OrderLine.objects.filter(order__campaign=campaign)
    ) == sum(totals.values())


@pytest.mark.django_db
def test_maximum_orders_and_minimum_spend_are_enforced():
    campaign, item, users = _open_campaign()
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

    campaign, item, users = _open_campaign()
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
