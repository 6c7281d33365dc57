"""Orders made through the real services (join, change, cancel, pay, refund, a failed jielong, a live's jielong
opened by the live): the stream those services write, folded into the rollups, gives the tiles the domain
tables give."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bi import rollups
from bi.metrics import METRICS
from bi.scope import Scope
from groupbuy import clock
from jielong import builder, ledger, services
from jielong.models import Campaign, Order
from livestream.models import WatchRecord
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

TILES = ("gmv_gross", "gmv_net", "average_order_value", "aov_live_lift")


def _figures(scope: Scope, settings, *, from_rollups: bool) -> dict:
    settings.BI_ROLLUPS = from_rollups
    return {key: METRICS[key].compute(scope) for key in TILES}


def test_tiles_from_the_services_stream_equal_the_tiles_from_the_domain(settings):
    plain = f.open_campaign(members=4, threshold=2)
    session = f.live_session()
    live = f.campaign(communities=[plain.community], live_session=session, group_threshold=1)
    services.campaign_open(campaign=live)
    doomed = f.campaign(communities=[plain.community], group_threshold=10, status=Campaign.Status.OPEN)
    item_of = {c.pk: c.items.get().pk for c in (plain.campaign, live, doomed)}

    def join(campaign, user, qty):
        return services.order_join(campaign_id=campaign.pk, user=user, quantities={item_of[campaign.pk]: qty}).order

    a, b, c, d = plain.members
    join(plain.campaign, a, 2)
    changed = join(plain.campaign, b, 1)
    services.order_update(
        order_id=changed.pk, user=b, quantities={item_of[plain.campaign.pk]: 3}, pickup_point_id=None, note=""
    )
    cancelled = join(plain.campaign, c, 4)
    services.order_cancel(order_id=cancelled.pk, user=c)
    refunded = join(live, d, 2)
    join(live, a, 1)
    operator = f.operator()
    services.order_mark_paid(order_id=refunded.pk, by=operator)
    ledger.refund_issue(amount_fen=500, key="bi-test-refund", by=operator, order=Order.objects.get(pk=refunded.pk))
    join(doomed, b, 5)
    Campaign.objects.filter(pk=doomed.pk).update(closes_at=clock.now() - timedelta(seconds=1))
    services.campaign_close(campaign_id=doomed.pk)
    assert Order.objects.filter(campaign=doomed).exclude(status=Order.Status.CANCELLED).count() == 0

    today = clock.localdate()
    scopes = [
        Scope(today - timedelta(days=6), today, None, (), False, "", {}),
        Scope(today - timedelta(days=6), today, (plain.community.pk,), (), False, "", {}),
        Scope(today, today, None, (session.pk,), True, "", {}),
    ]
    domain = [_figures(s, settings, from_rollups=False) for s in scopes]
    assert domain[0]["gmv_net"].value < domain[0]["gmv_gross"].value  # the refund came off
    assert domain[0]["aov_live_lift"].value is not None

    tail_only = [_figures(s, settings, from_rollups=True) for s in scopes]  # nothing folded yet: the tail
    assert tail_only == domain
    rollups.catch_up(settle=timedelta(0))
    assert [_figures(s, settings, from_rollups=True) for s in scopes] == domain
    assert rollups.stored() == rollups.recompute()


def test_tier_prices_settled_after_the_joins_reach_the_rollups(settings):
    from jielong.models import PriceTier

    given = f.open_campaign(members=3, threshold=1, perk_limit=0)
    PriceTier.objects.create(item=given.item, min_joins=3, price_fen=1000)
    for user in given.members:
        services.order_join(campaign_id=given.campaign.pk, user=user, quantities={given.item.pk: 1})
    assert services.campaign_settle_prices(campaign_id=given.campaign.pk) == 2  # the first two come down
    today = clock.localdate()
    scope = Scope(today, today, None, (), False, "", {})
    domain = _figures(scope, settings, from_rollups=False)
    assert domain["gmv_gross"].value == 3 * 1000
    rollups.catch_up(settle=timedelta(0))
    assert _figures(scope, settings, from_rollups=True) == domain


def test_a_live_jielong_moved_to_another_live_in_the_builder_moves_its_orders_on_the_tiles(settings):
    """The builder changes an open jielong's live session, then takes it off every live: the change's stream row
    names the session (or none), and the rollups — the live joiners, the live side of the AOV lift, a picked live's
    sales — follow the domain, from the tail and after the fold."""
    plain = f.open_campaign(members=3, threshold=1)
    first_live, second_live = f.live_session(), f.live_session()
    live = f.campaign(communities=[plain.community], live_session=first_live, group_threshold=1)
    services.campaign_open(campaign=live)
    item = live.items.get()
    a, b, c = plain.members
    for user in (a, b):
        services.order_join(campaign_id=live.pk, user=user, quantities={item.pk: 1})
    services.order_join(campaign_id=plain.campaign.pk, user=c, quantities={plain.item.pk: 2})
    at = clock.now()
    for session, user in ((first_live, a), (second_live, b), (second_live, a)):
        WatchRecord.objects.create(session=session, user=user, first_seen_at=at, last_seen_at=at)
    rollups.catch_up(settle=timedelta(0))
    today = clock.localdate()
    scopes = [
        Scope(today, today, None, (first_live.pk,), True, "", {}),
        Scope(today, today, None, (second_live.pk,), True, "", {}),
        Scope(today, today, None, (first_live.pk, second_live.pk), True, "", {}),
        Scope(today - timedelta(days=6), today, None, (), False, "", {}),
    ]
    tiles = ("viewer_to_joiner", "aov_live_lift", "gmv_gross")

    def figures(from_rollups: bool) -> list[dict]:
        settings.BI_ROLLUPS = from_rollups
        return [{key: METRICS[key].compute(s) for key in tiles} for s in scopes]

    before = figures(False)
    assert before[0]["viewer_to_joiner"].numerator == 1 and before[1]["viewer_to_joiner"].numerator == 0
    for session_id in (second_live.pk, None):
        builder.campaign_update(campaign_id=live.pk, data=_same_offer(live, session_id), by=f.operator())
        domain = figures(False)
        assert figures(True) == domain  # the tail
        rollups.catch_up(settle=timedelta(0))
        assert figures(True) == domain
        assert rollups.matches_recomputation()
        assert domain != before
        before = domain
    assert domain[2]["viewer_to_joiner"].numerator == 0 and domain[3]["aov_live_lift"].value is None


def _same_offer(campaign: Campaign, live_session_id: int | None) -> builder.CampaignInput:
    item = campaign.items.get()
    return builder.CampaignInput(
        title=campaign.title,
        closes_at=campaign.closes_at,
        opens_at=campaign.opens_at,
        community_ids=tuple(campaign.communities.values_list("pk", flat=True)),
        items=(builder.ItemInput(sku_id=item.sku_id, price_fen=item.price_fen, perk_price_fen=item.perk_price_fen),),
        group_threshold=campaign.group_threshold,
        live_session_id=live_session_id,
    )
