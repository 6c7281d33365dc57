"""Operator pages for jielong: builder forms, campaign page, preview, orders, export, statistics, access."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from analytics.models import Event
from jielong import builder, selectors, services
from jielong.models import Campaign, CampaignChange, CampaignItem, Order, PriceTier
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    community = f.community(name="阳光花园邻里群")
    east = f.pickup_point(community=community, name="东门")
    west = f.pickup_point(community=community, name="西门")
    greens = f.sku(name="上海青", stock=500)
    campaign = f.campaign(
        communities=[community], status=Campaign.Status.OPEN, group_threshold=3, perk_limit=2, title="上海青接龙"
    )
    return {
        "community": community,
        "east": east,
        "west": west,
        "greens": greens,
        "campaign": campaign,
        "operator": f.operator(nickname="运营小林"),
    }


def join(world, *, nickname, point, quantity=1, phone=None):
    user = f.member(nickname=nickname, phone=phone)
    f.membership(user=user, community=world["community"], default_pickup_point=world[point])
    item = world["campaign"].items.get()
    return services.order_join(campaign_id=world["campaign"].pk, user=user, quantities={item.pk: quantity}).order


@pytest.fixture
def ops(client, world):
    client.force_login(world["operator"])
    client.cookies["django_language"] = "en"
    return client


def form_data(world, **changes):
    closes = timezone.localtime(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "title": "有机土鸡蛋接龙",
        "story": "<p>散养<strong>土鸡蛋</strong></p><script>x()</script>",
        "live_session": "",
        "communities": [world["community"].pk],
        "opens_at": "",
        "closes_at": closes,
        "koc_early_minutes": "10",
        "group_threshold": "20",
        "max_orders": "",
        "perk_limit": "50",
        "perk_description": "签名小册子",
        "min_spend": "19.9",
        "delivery_note": "次日自提",
        "replay_url": "https://example.com/replay",
        "payment_method": "pay_at_pickup",
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "30",
        "items-0-sku": str(world["greens"].pk),
        "items-0-price": "15.90",
        "items-0-perk_price": "0.1",
        "items-0-per_member_limit": "5",
        "items-0-tiers": "50=14.9, 100=13.90",
    }
    data.update(changes)
    return data


def snapshot_counts():
    return (Campaign.objects.count(), CampaignItem.objects.count(), PriceTier.objects.count())


# --- access ---------------------------------------------------------------------------------

GET_PAGES = ["ops-campaigns", "ops-campaign-new", "ops-campaign", "ops-campaign-edit", "ops-campaign-preview",
             "ops-campaign-preview-frame", "ops-campaign-orders", "ops-campaign-export"]  # fmt: skip


def url_for(name, world):
    if name in ("ops-campaigns", "ops-campaign-new"):
        return reverse(f"jielong:{name}")
    return reverse(f"jielong:{name}", args=[world["campaign"].pk])


@pytest.mark.parametrize("role", ["member", "host", "assistant"])
@pytest.mark.parametrize("name", GET_PAGES)
def test_only_operators_open_the_pages(client, world, name, role):
    user = {"member": f.member, "host": f.host, "assistant": f.assistant}[role]()
    client.force_login(user)

    assert client.get(url_for(name, world)).status_code == 403


@pytest.mark.parametrize("name", GET_PAGES)
def test_operators_open_the_pages(ops, world, name):
    response = ops.get(url_for(name, world))

    assert response.status_code == 200


def test_anonymous_is_sent_to_sign_in(client, world):
    url = url_for("ops-campaign", world)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("role", ["member", "host"])
def test_non_operators_cannot_post(client, world, role):
    order = join(world, nickname="王姐", point="east")
    client.force_login(f.member() if role == "member" else f.host())
    campaign = world["campaign"]

    responses = [
        client.post(reverse("jielong:ops-campaign-new"), form_data(world)),
        client.post(reverse("jielong:ops-campaign-copy", args=[campaign.pk])),
        client.post(reverse("jielong:ops-order-mark-paid", args=[campaign.pk, order.pk])),
        client.post(reverse("jielong:ops-campaign-edit", args=[campaign.pk]), form_data(world)),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert Campaign.objects.count() == 1
    assert Order.objects.get(pk=order.pk).payment_status == Order.PaymentStatus.UNPAID
    assert Campaign.objects.get(pk=campaign.pk).title == "上海青接龙"


# --- builder pages ----------------------------------------------------------------------------


def test_new_campaign_form_creates_a_draft_with_exact_fen(ops, world):
    response = ops.post(reverse("jielong:ops-campaign-new"), form_data(world))

    campaign = Campaign.objects.get(title="有机土鸡蛋接龙")
    assert response.status_code == 302
    assert response["Location"] == reverse("jielong:ops-campaign", args=[campaign.pk])
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.story == "<p>散养<strong>土鸡蛋</strong></p>"
    assert (campaign.min_spend_fen, campaign.perk_limit, campaign.koc_early_minutes) == (1990, 50, 10)
    item = campaign.items.get()
    assert (item.price_fen, item.perk_price_fen, item.per_member_limit) == (1590, 10, 5)
    assert [(t.min_joins, t.price_fen) for t in item.price_tiers.all()] == [(50, 1490), (100, 1390)]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"items-0-perk_price": "16.00"}, "the first-N price cannot be higher than the community price."),
        ({"items-0-price": "0"}, "Prices must be more than 0 yuan."),
        ({"items-0-price": "-3"}, "Prices must be more than 0 yuan."),
        ({"items-0-price": "1.999"}, "Prices have at most 2 decimal places (fen)."),
        ({"items-0-tiers": "50=13.90, 100=14.90"}, "tier prices must fall as the number of joins rises"),
        ({"items-0-tiers": "fifty"}, "Write tiers as joins=price"),
        (
            {"items-0-sku": "", "items-0-price": "", "items-0-perk_price": "", "items-0-tiers": ""},
            "Add at least one item.",
        ),
        ({"communities": []}, "Choose at least one target community."),
        ({"items-1-price": "9.90"}, "Choose the SKU these prices are for."),
        ({"opens_at": timedelta(days=3), "closes_at": timedelta(days=2)}, "after the opening time"),
    ],
    ids=[
        "perk-high",
        "zero",
        "negative",
        "three-decimals",
        "tiers-rising",
        "tiers-garbled",
        "no-item",
        "no-community",
        "price-without-sku",
        "close-before-open",
    ],
)
def test_new_campaign_form_refuses_bad_input_and_saves_nothing(ops, world, changes, message):
    # Times are given as offsets from now (a literal date would be a time bomb); the form takes local times.
    changes = {
        key: timezone.localtime(timezone.now() + value).strftime("%Y-%m-%dT%H:%M")
        if isinstance(value, timedelta)
        else value
        for key, value in changes.items()
    }
    before = snapshot_counts()

    response = ops.post(reverse("jielong:ops-campaign-new"), form_data(world, **changes))

    assert response.status_code == 200
    content = response.content.decode()
    assert message in content
    assert "Please correct the marked fields; nothing was saved." in content
    assert snapshot_counts() == before


def test_builder_lists_skus_with_their_shared_stock(ops, world):
    content = ops.get(reverse("jielong:ops-campaign-new")).content.decode()

    assert f"上海青 500g ({world['greens'].code}) — stock: 500" in content


def test_editing_an_open_campaign_shows_the_change_log(ops, world):
    campaign = world["campaign"]
    item = campaign.items.get()
    data = form_data(
        world,
        title="上海青接龙（加量）",
        group_threshold="3",
        perk_limit="2",
        perk_description="",
        min_spend="",
        delivery_note="",
        replay_url="",
        koc_early_minutes="0",
        story="",
        closes_at=timezone.localtime(campaign.closes_at).strftime("%Y-%m-%dT%H:%M"),
        **{
            "items-0-sku": str(item.sku_id),
            "items-0-price": "14.90",
            "items-0-perk_price": "12.72",
            "items-0-per_member_limit": "10",
            "items-0-tiers": "",
        },
    )

    response = ops.post(reverse("jielong:ops-campaign-edit", args=[campaign.pk]), data)

    assert response.status_code == 302
    fields = set(CampaignChange.objects.filter(campaign=campaign).values_list("field", flat=True))
    # Times left as the form showed them (to the minute) are not changes.
    assert fields == {"title", f"items|{item.sku}|price_fen"}
    page = ops.get(reverse("jielong:ops-campaign", args=[campaign.pk])).content.decode()
    assert "上海青接龙 → 上海青接龙（加量）" in page
    assert "¥15.90 → ¥14.90" in page
    assert "运营小林" in page


def test_copy_button_makes_a_draft_and_opens_its_editor(ops, world):
    response = ops.post(reverse("jielong:ops-campaign-copy", args=[world["campaign"].pk]))

    copy = Campaign.objects.exclude(pk=world["campaign"].pk).get()
    assert copy.status == Campaign.Status.DRAFT
    assert response["Location"] == reverse("jielong:ops-campaign-edit", args=[copy.pk])


def test_open_now_and_at_a_time_from_the_campaign_page(ops, world):
    now_draft = f.campaign(communities=[world["community"]])
    later_draft = f.campaign(communities=[world["community"]])
    at = timezone.localtime(timezone.now() + timedelta(hours=5)).replace(second=0, microsecond=0)

    ops.post(reverse("jielong:ops-campaign-open", args=[now_draft.pk]), {"opens_at": ""})
    ops.post(reverse("jielong:ops-campaign-open", args=[later_draft.pk]), {"opens_at": at.strftime("%Y-%m-%dT%H:%M")})

    now_draft.refresh_from_db()
    later_draft.refresh_from_db()
    assert now_draft.status == later_draft.status == Campaign.Status.OPEN
    assert later_draft.opens_at == at


def test_opening_twice_is_refused_with_a_message(ops, world):
    response = ops.post(reverse("jielong:ops-campaign-open", args=[world["campaign"].pk]), {}, follow=True)

    assert "Only a draft campaign can be opened." in response.content.decode()


def test_preview_frames_the_member_page(ops, world):
    campaign = world["campaign"]

    page = ops.get(reverse("jielong:ops-campaign-preview", args=[campaign.pk])).content.decode()
    frame = ops.get(reverse("jielong:ops-campaign-preview-frame", args=[campaign.pk]))

    assert reverse("jielong:ops-campaign-preview-frame", args=[campaign.pk]) in page
    assert frame.status_code == 200
    assert frame.templates[0].name == "member/jielong/campaign.html"
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    content = frame.content.decode()
    assert "上海青接龙" in content
    assert "¥15.90" in content
    assert Order.objects.count() == 0


def test_preview_of_a_draft_frames_the_member_page_too(ops, world):
    draft = f.campaign(communities=[world["community"]], title="草稿团")

    frame = ops.get(reverse("jielong:ops-campaign-preview-frame", args=[draft.pk]))

    assert frame.status_code == 200
    assert "草稿团" in frame.content.decode()


def test_preview_of_a_draft_shows_items_and_prices_as_members_will_once_open(ops, world):
    # Was "This jielong is closed." with every item and price hidden.
    draft = f.campaign(communities=[world["community"]], title="草稿团")
    item = draft.items.get()

    content = ops.get(reverse("jielong:ops-campaign-preview-frame", args=[draft.pk])).content.decode()

    assert 'id="jl-closed"' not in content
    assert "has not opened yet" not in content
    assert f'name="qty_{item.pk}"' in content
    assert "¥15.90" in content
    assert '<span class="badge status-open" id="jl-status">In progress</span>' in content
    assert "Preview: members can join here once the jielong is open." in content
    assert 'id="jl-submit" disabled' in content
    assert "data-preview" in content
    assert Order.objects.count() == 0


def test_preview_stands_in_while_there_is_no_member_page(ops, world, monkeypatch):
    from jielong import ops_views

    monkeypatch.setattr(ops_views, "_member_page_exists", lambda: False)
    campaign = world["campaign"]
    campaign.story = "<p>老李的菜</p><script>alert(1)</script>"
    campaign.save(update_fields=["story"])

    content = ops.get(reverse("jielong:ops-campaign-preview", args=[campaign.pk])).content.decode()

    assert "<p>老李的菜</p>" in content
    assert "alert(1)" not in content
    assert "0 joined, 3 more to form the group" in content
    assert "¥15.90" in content
    assert ops.get(reverse("jielong:ops-campaign-preview-frame", args=[campaign.pk])).status_code == 404


def test_campaign_list_filters_by_status_and_links_each_campaign(ops, world):
    draft = f.campaign(communities=[world["community"]], title="草稿团")

    content = ops.get(reverse("jielong:ops-campaigns"), {"status": "draft"}).content.decode()

    assert "草稿团" in content and "上海青接龙" not in content
    assert reverse("jielong:ops-campaign", args=[draft.pk]) in content
    assert reverse("jielong:ops-campaign-new") in content


def test_image_upload_from_the_page(ops, world, settings, tmp_path):
    from tests.jielong.test_builder import _jpeg_with_exif

    settings.MEDIA_ROOT = tmp_path
    upload = BytesIO(_jpeg_with_exif((2560, 1280)))
    upload.name = "farm.jpg"

    ops.post(reverse("jielong:ops-campaign-image-add", args=[world["campaign"].pk]), {"image": upload})

    image = world["campaign"].images.get()
    assert (image.width, image.height) == (1280, 640)


# --- orders ---------------------------------------------------------------------------------


@pytest.fixture
def orders(world):
    made = [
        join(world, nickname="王姐", point="east", quantity=2, phone="+8613800138000"),
        join(world, nickname="李阿姨", point="west"),
        join(world, nickname="张叔", point="east", quantity=3),
        join(world, nickname="王小二", point="west"),
    ]
    services.order_mark_paid(order_id=made[1].pk, by=world["operator"])
    services.order_cancel(order_id=made[3].pk, user=made[3].user)
    return made


def listed(ops, world, **params):
    response = ops.get(reverse("jielong:ops-campaign-orders", args=[world["campaign"].pk]), params)
    assert response.status_code == 200
    return [order.seq for order in response.context["page"].object_list]


@pytest.mark.parametrize(
    ("params", "seqs"),
    [
        ({}, [1, 2, 3, 4]),
        ({"status": "cancelled"}, [4]),
        ({"status": "joined"}, [1, 2, 3]),
        ({"payment": "paid"}, [2]),
        ({"payment": "unpaid"}, [1, 3, 4]),
        ({"perk": "yes"}, [1, 2]),
        ({"perk": "no"}, [3, 4]),
        ({"q": "王"}, [1, 4]),
        ({"q": "3"}, [3]),
        ({"q": "#2"}, [2]),
        ({"status": "joined", "q": "王"}, [1]),
    ],
    ids=["all", "cancelled", "joined", "paid", "unpaid", "perk", "no-perk", "nickname", "seq", "hash-seq", "combined"],
)
def test_order_list_filters(ops, world, orders, params, seqs):
    assert listed(ops, world, **params) == seqs


def test_order_list_filters_by_pickup_point(ops, world, orders):
    assert listed(ops, world, pickup_point=world["west"].pk) == [2, 4]


def test_order_list_masks_phones(ops, world, orders):
    content = ops.get(reverse("jielong:ops-campaign-orders", args=[world["campaign"].pk])).content.decode()

    assert "13800138000" not in content
    assert orders[0].user.masked_phone in content


def test_order_list_paginates(ops, world, monkeypatch):
    from jielong import ops_views

    monkeypatch.setattr(ops_views, "ORDERS_PER_PAGE", 2)
    for i in range(5):
        join(world, nickname=f"邻居{i}", point="east")

    assert listed(ops, world) == [1, 2]
    assert listed(ops, world, page=3) == [5]


def test_mark_paid_from_the_list_keeps_the_filters(ops, world, orders):
    url = reverse("jielong:ops-order-mark-paid", args=[world["campaign"].pk, orders[0].pk])

    response = ops.post(url, {"query": "payment=unpaid"})

    assert response["Location"] == reverse("jielong:ops-campaign-orders", args=[world["campaign"].pk]) + (
        "?payment=unpaid"
    )
    assert Order.objects.get(pk=orders[0].pk).payment_status == Order.PaymentStatus.PAID


def test_mark_paid_refuses_an_order_of_another_campaign(ops, world, orders):
    other = f.campaign(communities=[world["community"]])

    response = ops.post(reverse("jielong:ops-order-mark-paid", args=[other.pk, orders[0].pk]))

    assert response.status_code == 404
    assert Order.objects.get(pk=orders[0].pk).payment_status == Order.PaymentStatus.UNPAID


def _phones(content: bytes) -> set[str]:
    workbook = load_workbook(BytesIO(content))
    return {row[11] for sheet in workbook for row in sheet.iter_rows(min_row=2, values_only=True)}


def test_export_is_masked_by_default_and_records_nothing(ops, world, orders, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.get(reverse("jielong:ops-campaign-export", args=[world["campaign"].pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="jielong-{world["campaign"].pk}.xlsx"'
    phones = _phones(response.content)
    assert "+8613800138000" not in phones
    assert orders[0].user.masked_phone in phones
    assert Event.objects.filter(name="jielong.export_full_phones").count() == 0


def test_export_with_full_phones_is_recorded(ops, world, orders, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(reverse("jielong:ops-campaign-export-full-phones", args=[world["campaign"].pk]))

    assert "+8613800138000" in _phones(response.content)
    event = Event.objects.get(name="jielong.export_full_phones")
    assert (event.campaign_id, event.user_id) == (world["campaign"].pk, world["operator"].pk)


# --- statistics -----------------------------------------------------------------------------


def test_statistics_are_exact(world, orders, django_assert_num_queries):
    campaign = Campaign.objects.get(pk=world["campaign"].pk)
    campaign.opens_at = campaign.formed_at - timedelta(minutes=8, seconds=30)
    campaign.save(update_fields=["opens_at"])

    with django_assert_num_queries(2):
        stats = selectors.campaign_stats(campaign=campaign)

    # Orders 1–3 count (4 is cancelled): 2×¥12.72 (perk), 1×¥12.72 (perk), 3×¥15.90.
    assert stats == selectors.CampaignStats(
        orders=3,
        units=6,
        gmv_fen=2544 + 1272 + 4770,
        aov_fen=2862,  # 8586 / 3
        perk_orders=2,
        perk_limit=2,
        perk_uptake_percent=100,
        minutes_to_form=8,
        paid_orders=1,
        unpaid_orders=2,
        paid_fen=1272,
        unpaid_fen=2544 + 4770,
        cancelled_orders=1,
    )


def test_statistics_of_an_empty_campaign(world):
    stats = selectors.campaign_stats(campaign=world["campaign"])

    assert (stats.orders, stats.units, stats.gmv_fen, stats.aov_fen, stats.minutes_to_form) == (0, 0, 0, 0, None)


def test_campaign_page_shows_the_statistics(ops, world, orders):
    content = ops.get(reverse("jielong:ops-campaign", args=[world["campaign"].pk])).content.decode()

    assert "¥85.86" in content  # GMV
    assert "¥28.62" in content  # AOV
    assert "1 cancelled order is not counted." in content


def test_builder_change_log_is_written_in_the_same_transaction(world):
    """A refused update leaves no half-written log behind."""
    campaign = world["campaign"]
    before = CampaignChange.objects.count()
    data = builder.CampaignInput(
        title="x", closes_at=campaign.closes_at, community_ids=(), items=(), group_threshold=3, perk_limit=2
    )

    with pytest.raises(builder.CampaignInvalid):
        builder.campaign_update(campaign_id=campaign.pk, data=data, by=world["operator"])

    assert CampaignChange.objects.count() == before


def test_the_demo_campaign_shows_its_210_orders_and_50_perks(client):
    from django.core.management import call_command

    from demo.story import PAST_CAMPAIGN_TITLE

    call_command("seed_demo", verbosity=0)
    campaign = Campaign.objects.get(title=PAST_CAMPAIGN_TITLE)
    client.force_login(f.operator())
    client.cookies["django_language"] = "en"

    stats = selectors.campaign_stats(campaign=campaign)
    response = client.get(reverse("jielong:ops-campaign", args=[campaign.pk]))
    orders = client.get(reverse("jielong:ops-campaign-orders", args=[campaign.pk]), {"perk": "yes"})

    assert (stats.orders, stats.perk_orders, stats.perk_uptake_percent, stats.minutes_to_form) == (210, 50, 100, 8)
    assert response.status_code == 200
    assert orders.context["page"].paginator.count == 50


def test_a_closed_campaign_has_no_editor(ops, world):
    closed = f.campaign(communities=[world["community"]], status=Campaign.Status.COMPLETED, title="已结束的团")

    response = ops.post(reverse("jielong:ops-campaign-edit", args=[closed.pk]), form_data(world), follow=True)

    assert "A closed campaign can no longer be changed." in response.content.decode()
    closed.refresh_from_db()
    assert closed.title == "已结束的团"


def test_builder_can_start_from_a_live_session(ops, world):
    session = f.live_session(title="老李带你逛大棚")

    response = ops.get(reverse("jielong:ops-campaign-new"), {"live_session": session.pk})

    assert response.context["form"]["live_session"].value() == session.pk
    created = ops.post(reverse("jielong:ops-campaign-new"), form_data(world, live_session=str(session.pk)))
    assert created.status_code == 302
    assert Campaign.objects.get(title="有机土鸡蛋接龙").live_session == session
