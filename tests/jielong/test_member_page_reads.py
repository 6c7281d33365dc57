"""What the member's campaign page and its join form cost the database (issue 10 item 21: both must stay fast
during the join storm), and that the parts the page caches across views never show stale content."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalogue.models import SKU
from jielong import page_parts, selectors, services
from jielong.models import CampaignItem, PriceTier
from tests import factories as f

pytestmark = pytest.mark.django_db

# session, user, campaign, membership, stock, the member's order, the referral code and the latest joiners (the
# panels other apps add — reviews, highlight clips — are cached: jielong.hooks.member_campaign_panels)
PAGE_QUERIES = 8
# session, user, the join (savepoint, the call, release) and the order for its number
JOIN_QUERIES = 6


@pytest.fixture
def storm(request):
    """An open jielong of two items with a price tier, 3 entries in (or as many as the test's indirect
    parameter says), and a member yet to join."""
    joined = getattr(request, "param", 3)
    given = f.open_campaign(members=joined + 2, stock=1000, threshold=50, perk_limit=10, perk_description="签名绘本")
    second = CampaignItem.objects.create(campaign=given.campaign, sku=f.sku(stock=1000), price_fen=990, position=1)
    PriceTier.objects.create(item=given.item, min_joins=100, price_fen=1490)
    for member in given.members[:joined]:
        services.order_join(campaign_id=given.campaign.pk, user=member, quantities={given.item.pk: 1, second.pk: 2})
    me = given.members[joined]
    client = Client()
    client.force_login(me)
    client.cookies["django_language"] = "en"
    return {"given": given, "second": second, "me": me, "client": client, "url": f"/m/jielong/{given.campaign.pk}/"}


def _queries(call):
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("storm", [55], indirect=True, ids=["55-joined"])
def test_the_page_reads_a_fixed_handful_of_queries_however_many_have_joined(storm):
    client, url = storm["client"], storm["url"]
    client.get(url)  # fills the cache of the parts joins do not change

    response, queries = _queries(lambda: client.get(url))

    assert response.status_code == 200
    assert len(queries) <= PAGE_QUERIES, queries
    # no write, no item / picture / pickup point read, no count of orders on a view
    assert not [q for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q)]
    cached = (
        "jielong_campaignitem",
        "jielong_pricetier",
        "jielong_campaignimage",
        "community_pickuppoint",
        "feedback_review",
        "highlights_clip",
    )
    assert not [q for q in queries if q.startswith(tuple(f'SELECT "{table}"' for table in cached))]
    assert not [q for q in queries if q.startswith("SELECT COUNT(") and 'FROM "jielong_order"' in q]
    # the SKU (its row rewritten by every join) is read once, for the stock; the joiners' lines are named
    # from the cached items
    assert len([q for q in queries if '"catalogue_sku"' in q]) == 1
    # the latest entries, each with both items, in one query
    html = response.content.decode()
    assert html.count('<li data-seq="') == 50
    assert re.search(r'<li data-seq="55">55\. \S+ .+×1，.+×2</li>', html)
    assert "sessionid" not in response.cookies  # the session is not saved on a view


def test_the_join_form_does_the_join_and_redirects_without_reading_the_page(storm):
    client, url, given = storm["client"], storm["url"], storm["given"]
    client.get(url)
    form = {f"qty_{given.item.pk}": "1", "idempotency_key": "k-1"}

    response, queries = _queries(lambda: client.post(url + "join/", form))

    assert response.status_code == 302
    assert response["Location"] == url + "#my-order"
    assert len(queries) <= JOIN_QUERIES, queries
    assert not [q for q in queries if "community_membership" in q or "jielong_campaignitem" in q]


def test_a_refused_join_still_shows_the_page_with_the_message(storm):
    client, url, given = storm["client"], storm["url"], storm["given"]
    SKU.objects.filter(pk=given.item.sku_id).update(stock=0)

    response = client.post(url + "join/", {f"qty_{given.item.pk}": "1", "idempotency_key": "k-2"}, follow=True)

    assert response.redirect_chain == [(url, 302)]
    assert "sold out" in response.content.decode()


def test_the_stock_is_read_fresh_on_every_view(storm):
    client, url, given = storm["client"], storm["url"], storm["given"]
    assert "Sold out" not in client.get(url).content.decode()

    SKU.objects.filter(pk=given.item.sku_id).update(stock=0)  # as a join's own statement changes it

    assert "Sold out" in client.get(url).content.decode()


def test_edits_saved_through_the_models_show_on_the_next_view(storm):
    client, url, given, second = storm["client"], storm["url"], storm["given"], storm["second"]
    client.get(url)

    second.price_fen = 880
    second.save(update_fields=["price_fen"])
    PriceTier.objects.create(item=given.item, min_joins=3, price_fen=1390)  # reached: 3 are in
    product = given.item.sku.product
    product.name = "奶白菜"
    product.save(update_fields=["name"])
    f.pickup_point(community=given.community, name="北门自提点")

    html = client.get(url).content.decode()
    assert f'data-item="{second.pk}" data-price="880"' in html
    assert f'data-item="{given.item.pk}" data-price="1390"' in html
    assert "奶白菜" in html
    assert "北门自提点" in html

    third = CampaignItem.objects.create(campaign=given.campaign, sku=f.sku(), price_fen=500, position=2)
    assert f'data-item="{third.pk}"' in client.get(url).content.decode()
    third.delete()
    assert f'data-item="{third.pk}"' not in client.get(url).content.decode()


def test_a_cached_entry_of_another_campaign_with_the_same_number_is_not_used(storm):
    client, url, given = storm["client"], storm["url"], storm["given"]
    client.get(url)
    key = page_parts._parts_key(given.campaign.pk)

    _stamp, items, pictures = cache.get(key)
    items[0].sku.product.name = "别人的商品"
    cache.set(key, ("2000-01-01T00:00:00+00:00", items, pictures), 60)  # another database's campaign 1

    assert "别人的商品" not in client.get(url).content.decode()


def test_the_joiners_are_named_from_the_items_read_and_an_item_added_since_is_read_itself(storm):
    given, second = storm["given"], storm["second"]

    items = list(CampaignItem.objects.filter(pk=given.item.pk).select_related("sku__product"))
    with_items = selectors.campaign_joiners(campaign_id=given.campaign.pk, limit=50, items=items)
    plain = selectors.campaign_joiners(campaign_id=given.campaign.pk, limit=50)

    assert with_items == plain
    assert len(plain) == 3 and all(second.sku.product.name in row["items"] for row in plain)
