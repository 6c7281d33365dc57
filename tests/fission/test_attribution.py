"""Attribution (归因): the last touch of a help-seller's link within the window before the order; none outside."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from fission import attribution
from fission import events as fission_events
from fission.models import Attribution, Touch
from groupbuy import clock, events
from jielong import events as jielong_events
from jielong import services as jielong_services
from tests.fission.scenario import join, selling, touch

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    with time_machine.travel(clock.now().replace(microsecond=0), tick=False) as traveller:
        yield traveller


def test_the_last_of_competing_links_wins(now):
    sold = selling(members=1)
    member, (first, second) = sold.members[0], sold.sellers
    touch(sold, member, first, clock.now() - timedelta(days=3))
    touch(sold, member, second, clock.now() - timedelta(days=1))
    touch(sold, member, first, clock.now() - timedelta(days=2))  # older than second's: loses

    order = join(sold, member)

    found = Attribution.objects.get(order=order)
    assert found.help_seller == second
    assert found.touched_at == clock.now() - timedelta(days=1)
    assert found.source == Touch.Source.LINK


def test_a_touch_outside_the_window_attributes_nothing(now, settings):
    settings.FISSION_ATTRIBUTION_DAYS = 7
    sold = selling(members=1)
    touch(sold, sold.members[0], sold.sellers[0], clock.now() - timedelta(days=7, seconds=1))

    order = join(sold, sold.members[0])

    assert not Attribution.objects.filter(order=order).exists()


def test_the_window_is_the_brands(now):
    sold = selling(members=1)
    from fission import sellers

    sellers.brand_defaults_set(brand=sold.campaign.brand, attribution_days=30, leader_rate_bp=500, by=sold.operator)
    touch(sold, sold.members[0], sold.sellers[0], clock.now() - timedelta(days=20))

    order = join(sold, sold.members[0])

    assert Attribution.objects.get(order=order).help_seller == sold.sellers[0]


def test_a_touch_after_the_order_does_not_count_and_attributing_twice_changes_nothing(now):
    sold = selling(members=1)
    order = join(sold, sold.members[0])
    touch(sold, sold.members[0], sold.sellers[0], clock.now() + timedelta(minutes=5))

    assert attribution.attribute_orders(order_ids=[order.pk]) == []
    assert not Attribution.objects.filter(order=order).exists()


def test_own_link_unknown_token_and_non_seller_referral_are_not_touches(now):
    sold = selling(members=1)
    seller = sold.sellers[0]
    assert attribution.touch_record(campaign=sold.campaign, user=seller.user, token=seller.token) is None
    assert attribution.touch_record(campaign=sold.campaign, user=sold.members[0], token="nope") is None
    from community.services import referral_code

    code = referral_code(user=sold.leader, community=sold.members[0].memberships.get().community)
    assert code
    assert attribution.touch_record(campaign=sold.campaign, user=sold.members[0], ref=code) is None
    assert Touch.objects.count() == 0


def test_a_help_sellers_referral_code_counts_as_a_touch(now):
    sold = selling(members=1)
    from community.models import Membership
    from community.services import referral_code

    seller = sold.sellers[0]
    code = referral_code(user=seller.user, community=Membership.objects.get(user=seller.user).community)
    assert attribution.touch_record(campaign=sold.campaign, user=sold.members[0], ref=code).source == "referral"
    order = join(sold, sold.members[0])
    assert Attribution.objects.get(order=order).help_seller == seller


def test_opening_the_campaign_page_through_the_link_records_a_touch_and_the_join_is_attributed(
    now, client, django_capture_on_commit_callbacks
):
    sold = selling(members=1)
    member, seller = sold.members[0], sold.sellers[1]
    client.force_login(member)
    got = []
    events.subscribe(fission_events.OrderAttributed, got.append)
    try:
        response = client.get(f"/m/jielong/{sold.campaign.pk}/?hs={seller.token}")
        assert response.status_code == 200
        assert Touch.objects.get().help_seller == seller
        with django_capture_on_commit_callbacks(execute=True):
            from jielong import services

            order = services.order_join(
                campaign_id=sold.campaign.pk, user=member, quantities={sold.items[0].pk: 1}
            ).order
    finally:
        events.unsubscribe(fission_events.OrderAttributed, got.append)
    assert Attribution.objects.get(order=order).help_seller == seller
    assert [(e.order_id, e.help_seller_id) for e in got] == [(order.pk, seller.pk)]
    # The operator's order list and the member's order page say so.
    client.force_login(sold.operator)
    page = client.get(f"/ops/jielong/{sold.campaign.pk}/orders/").content.decode()
    assert seller.user.display_name in page
    client.force_login(member)
    page = client.get(f"/m/jielong/orders/{order.pk}/").content.decode()
    assert 'id="order-attribution"' in page


def test_the_sweep_attributes_what_the_subscriber_missed(now):
    sold = selling(members=2)
    touch(sold, sold.members[0], sold.sellers[0], clock.now() - timedelta(hours=1))
    from jielong import services

    order = services.order_join(
        campaign_id=sold.campaign.pk, user=sold.members[0], quantities={sold.items[0].pk: 1}
    ).order
    services.order_join(campaign_id=sold.campaign.pk, user=sold.members[1], quantities={sold.items[0].pk: 1})

    assert attribution.attribution_sweep() == 1
    assert attribution.attribution_sweep() == 0
    assert list(Attribution.objects.values_list("order_id", flat=True)) == [order.pk]


def _joined(order) -> jielong_events.OrderJoined:
    return jielong_events.OrderJoined(
        campaign_id=order.campaign_id,
        user_id=order.user_id,
        community_id=order.community_id,
        order_id=order.pk,
        total_fen=order.total_fen,
        is_perk=order.is_perk,
    )


def _ordered(sold, user):
    quantities = {sold.items[0].pk: 1}
    return jielong_services.order_join(campaign_id=sold.campaign.pk, user=user, quantities=quantities).order


def test_the_join_subscriber_reads_only_the_touches_when_nobody_came_through_a_link(now, django_assert_num_queries):
    sold = selling(members=3)
    orders = [_ordered(sold, member) for member in sold.members]

    with django_assert_num_queries(1):  # the batch's touches; no orders, no brand window
        attribution.attribute_joined([_joined(order) for order in orders])

    assert not Attribution.objects.exists()


def test_the_join_subscriber_attributes_the_touched_members_of_a_batch(now):
    sold = selling(members=3)
    touched, *others = sold.members
    touch(sold, touched, sold.sellers[0], clock.now() - timedelta(hours=1))
    touch(sold, others[0], sold.sellers[1], clock.now() + timedelta(hours=1))  # after the order: does not count
    orders = [_ordered(sold, member) for member in sold.members]

    attribution.attribute_joined([_joined(order) for order in orders])

    assert list(Attribution.objects.values_list("order_id", "help_seller_id")) == [(orders[0].pk, sold.sellers[0].pk)]
