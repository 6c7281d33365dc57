"""Stock under any sequence of joins and cancels, then the close: never oversold, and for every SKU the units sold
plus the units left equal the stock it started with — through the real services (the join is the PostgreSQL
function ``jielong_join``; cancel and close move stock through ``catalogue.stock``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from catalogue.models import SKU
from catalogue.stock import InsufficientStock
from groupbuy.errors import DomainError
from jielong import services
from jielong.join.rules import AlreadyJoined
from jielong.models import Campaign, CampaignItem, Order, OrderLine
from tests import factories as f

pytestmark = pytest.mark.django_db
# No explain phase: it reruns a failing example hundreds of times against the database (minutes).
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]

MEMBERS = 4
PERK_LIMIT = 1

join = st.tuples(st.just("join"), st.integers(0, MEMBERS - 1), st.integers(0, 6), st.integers(0, 6), st.booleans())
cancel = st.tuples(st.just("cancel"), st.integers(0, MEMBERS - 1))


def _sold(campaign: Campaign, sku_id: int) -> int:
    lines = OrderLine.objects.filter(
        order__campaign=campaign, order__status=Order.Status.JOINED, item__sku_id=sku_id
    ).values_list("quantity", flat=True)
    return sum(lines)


def _state(campaign: Campaign, skus: list[SKU]) -> tuple:
    campaign.refresh_from_db()
    return (
        tuple(SKU.objects.get(pk=s.pk).stock for s in skus),
        tuple(Order.objects.filter(campaign=campaign).order_by("pk").values_list("pk", "status")),
        campaign.joined_count,
        campaign.perk_taken,
    )


def _check(campaign: Campaign, skus: list[SKU], initial: list[int], *, is_open: bool = True) -> None:
    campaign.refresh_from_db()
    joined = Order.objects.filter(campaign=campaign, status=Order.Status.JOINED)
    for sku, start in zip(skus, initial, strict=True):
        left = SKU.objects.get(pk=sku.pk).stock
        assert left >= 0
        assert _sold(campaign, sku.pk) + left == start
    if not is_open:
        return  # a failed jielong keeps how many had joined; its orders are cancelled
    assert campaign.joined_count == joined.count()
    assert campaign.perk_taken == joined.filter(is_perk=True).count() <= PERK_LIMIT
    assert joined.values("user").distinct().count() == joined.count()  # one live order per member


@settings(max_examples=20, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stocks=st.tuples(st.integers(0, 12), st.integers(0, 12)),
    steps=st.lists(st.one_of(join, cancel), min_size=1, max_size=10),
    threshold=st.integers(1, 3),
)
def test_joins_and_cancels_never_oversell_and_sold_plus_left_is_the_starting_stock(stocks, steps, threshold):
    given_ = f.open_campaign(members=MEMBERS, stock=stocks[0], threshold=threshold, perk_limit=PERK_LIMIT)
    second = CampaignItem.objects.create(
        campaign=given_.campaign, sku=f.sku(stock=stocks[1]), price_fen=990, position=1
    )
    campaign, items = given_.campaign, [given_.item, second]
    skus = [given_.sku, second.sku]
    for n, action in enumerate(steps):
        before = _state(campaign, skus)
        left = before[0]
        if action[0] == "join":
            _join, who, q0, q1, keyed = action
            quantities = {item.pk: q for item, q in zip(items, (q0, q1), strict=True) if q}
            if not quantities:
                continue
            try:
                services.order_join(
                    campaign_id=campaign.pk,
                    user=given_.members[who],
                    quantities=quantities,
                    idempotency_key=f"k{campaign.pk}-{who}-{n}" if keyed else "",
                )
            except InsufficientStock:
                event("a join was refused for stock")
                assert any(q > left[skus.index(item.sku)] for item, q in zip(items, (q0, q1), strict=True) if q)
                assert _state(campaign, skus) == before
            except (AlreadyJoined, DomainError):
                assert _state(campaign, skus) == before
            else:
                assert all(q <= left[i] for i, q in enumerate((q0, q1)))
                event("a join went through")
        else:
            mine = Order.objects.filter(campaign=campaign, user=given_.members[action[1]]).order_by("-pk").first()
            if mine is None:
                continue
            try:
                services.order_cancel(order_id=mine.pk, user=given_.members[action[1]])
                event("a cancel went through")
            except DomainError:
                assert mine.status != Order.Status.JOINED
                assert _state(campaign, skus) == before
        _check(campaign, skus, list(stocks))

    closed = services.campaign_close(campaign_id=campaign.pk)
    _check(campaign, skus, list(stocks), is_open=False)
    if closed.status == Campaign.Status.FAILED:
        assert [SKU.objects.get(pk=s.pk).stock for s in skus] == list(stocks)  # every unit came back
        assert not Order.objects.filter(campaign=campaign, status=Order.Status.JOINED).exists()
    else:
        # A group that formed stays formed, even if members cancelled afterwards.
        assert closed.status == Campaign.Status.COMPLETED and closed.formed_at is not None
