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
from jielong import ledger, services
from jielong.models import Campaign, Order
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
