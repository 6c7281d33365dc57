"""The campaign page is read again and again in the join storm: its reviews cost a fixed number of statements
however many reviews the brand has, and stay quick with thousands of them."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.models import Review, ReviewPhoto
from feedback.selectors import reviews_for_campaign
from groupbuy import clock
from jielong.models import Campaign, CampaignItem, Order, OrderLine
from tests import factories

pytestmark = pytest.mark.django_db

REVIEWS = 3000
CAMPAIGNS = 30


def test_reviews_for_a_campaign_cost_three_statements_with_thousands_of_reviews():
    home = factories.community()
    first = factories.campaign(communities=[home], items=3)
    skus = [item.sku for item in first.items.all()]
    campaigns = [first]
    for n in range(1, CAMPAIGNS):
        c = Campaign.objects.create(brand_id=first.brand_id, title=f"第{n}期", closes_at=clock.now())
        for position, sku in enumerate(skus):
            CampaignItem.objects.create(campaign=c, sku=sku, price_fen=100, position=position)
        campaigns.append(c)
    items = {c.pk: list(c.items.order_by("position")) for c in campaigns}
    people = [factories.member() for _ in range(REVIEWS // CAMPAIGNS)]
    now = clock.now()
    orders = Order.objects.bulk_create(
        Order(campaign=c, user=u, community=home, seq=seq, total_fen=100, created_at=now)
        for c in campaigns
        for seq, u in enumerate(people, start=1)
    )
    OrderLine.objects.bulk_create(
        OrderLine(order=o, item=items[o.campaign_id][i % 3], quantity=1, unit_price_fen=100)
        for i, o in enumerate(orders)
    )
    reviews = Review.objects.bulk_create(
        Review(
            order=o,
            brand_id=first.brand_id,
            campaign_id=o.campaign_id,
            community=home,
            user_id=o.user_id,
            rating=5 - i % 2,
            text="好",
            photo_count=1 if i % 10 == 0 else 0,
            created_at=now,
        )
        for i, o in enumerate(orders)
    )
    ReviewPhoto.objects.bulk_create(
        ReviewPhoto(review=r, image="reviews/x.jpg", width=10, height=10) for r in reviews if r.photo_count
    )
    later = factories.campaign(communities=[home])
    later.items.update(sku=skus[0])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        found = reviews_for_campaign(campaign=later)
    elapsed = time.perf_counter() - started
    assert found.count == REVIEWS // 3
    assert all(r.photo_count for r in found.reviews)
    assert len(queries) == 3, [q["sql"] for q in queries]
    print(f"\n{REVIEWS} reviews: social proof of a later campaign read in {elapsed * 1000:.1f} ms")
    assert elapsed < 0.5
