"""The member jielong page: joiner list, access, joining by form (idempotent), refusals, edit, cancel, poster."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.test import Client
from django.utils import translation
from PIL import Image

from catalogue.models import SKU
from community import selectors as community_selectors
from community.models import Membership
from groupbuy import clock
from jielong import member_views, services
from jielong.models import Campaign, Order, OrderLine
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    given = f.open_campaign(
        members=0,
        stock=10,
        threshold=3,
        perk_limit=2,
        per_member_limit=3,
        point_name="阳光花园自提点",
        perk_description="签名绘本",
        delivery_note="次日达",
        story="第一行 <b>加粗</b>\n第二行",
    )
    other_point = f.pickup_point(community=given.community, name="南门自提点")
    me = f.add_member(given, nickname="小王")
    client.force_login(me)
    client.cookies["django_language"] = "en"
    return {
        "client": client,
        "community": given.community,
        "point": given.point,
        "other_point": other_point,
        "campaign": given.campaign,
        "item": given.item,
        "me": me,
    }


def _url(campaign, suffix=""):
    return f"/m/jielong/{campaign.pk}/{suffix}"


def _state(campaign, item):
    campaign.refresh_from_db()
    return {
        "stock": SKU.objects.get(pk=item.sku_id).stock,
        "orders": list(Order.objects.filter(campaign=campaign).values_list("seq", "status", "total_fen")),
        "lines": list(OrderLine.objects.filter(order__campaign=campaign).values_list("item_id", "quantity")),
        "joined": campaign.joined_count,
        "perk_taken": campaign.perk_taken,
        "version": campaign.version,
    }


def _join_as(campaign, item, *, nickname, quantity, community):
    user = f.member(nickname=nickname)
    f.membership(user=user, community=community)
    return services.order_join(campaign_id=campaign.pk, user=user, quantities={item.pk: quantity}).order


def test_page_shows_progress_items_and_the_joiner_list_in_jielong_style(setup):
    campaign, item = setup["campaign"], setup["item"]
    _join_as(campaign, item, nickname="老张", quantity=2, community=setup["community"])
    anonymous = _join_as(campaign, item, nickname="x", quantity=1, community=setup["community"]).user
    anonymous.nickname = ""
    anonymous.save()

    response = setup["client"].get(_url(campaign))

    assert response.status_code == 200
    html = response.content.decode()
    name = str(item.sku)  # the product with its spec ("上海青3 500g"): two specs read apart
    assert name == f"{item.sku.product.name} 500g"
    # latest first, nicknames only: a member without one is a "Neighbour", never a phone number
    assert response.context["joiners"] == [
        {"seq": 2, "name": "", "items": f"{name}×1"},
        {"seq": 1, "name": "老张", "items": f"{name}×2"},
    ]
    assert f'<li data-seq="2">2. Neighbour {name}×1</li>' in html
    assert f'<li data-seq="1">1. 老张 {name}×2</li>' in html
    assert "+86139" not in html
    assert "2 joined, 1 more to form the group" in html
    assert "First 2 only — 0 left" not in html
    assert "All first-N places are taken." in html
    assert "第一行 加粗<br>第二行" in html  # tags stripped, line breaks kept
    assert "次日达" in html
    assert "Pay your leader when you pick up your order." in html
    assert f'value="{setup["point"].pk}" selected' in html
    assert 'name="idempotency_key"' in html


def test_perks_left_and_perk_price_while_places_remain(setup):
    html = setup["client"].get(_url(setup["campaign"])).content.decode()

    assert "First 2 only — 2 left" in html
    assert "First 2: ¥12.72" in html
    assert "¥15.90" in html


@pytest.mark.parametrize("status", [403, 404], ids=["outsider", "unknown-or-draft"])
def test_non_members_and_unknown_campaigns_are_refused(setup, client, status):
    campaign = setup["campaign"]
    if status == 403:
        outsider = f.member()
        f.membership(user=outsider, community=f.community())
        client.force_login(outsider)
        url = _url(campaign)
    else:
        draft = f.campaign(communities=[setup["community"]], status=Campaign.Status.DRAFT)
        url = _url(draft)

    assert client.get(url).status_code == status
    assert client.post(_url(campaign if status == 403 else draft, "join/"), {}).status_code == status


def test_pending_membership_is_not_enough(setup, client):
    pending = f.member()
    f.membership(user=pending, community=setup["community"], status=Membership.Status.PENDING)
    client.force_login(pending)

    assert client.get(_url(setup["campaign"])).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(setup, client):
    client.logout()

    response = client.get(_url(setup["campaign"]))

    assert response.status_code == 302
    assert response["Location"].startswith("/m/login/") or "login" in response["Location"]


def test_join_by_form_posted_twice_with_the_same_key_makes_one_order(setup):
    client, campaign, item = setup["client"], setup["campaign"], setup["item"]
    form = {
        f"qty_{item.pk}": "2",
        "pickup_point": str(setup["other_point"].pk),
        "note": "放门卫",
        "idempotency_key": "3f0c6a0e2b7d4c1e9a8b7c6d5e4f3a2b",
    }

    first = client.post(_url(campaign, "join/"), form)
    second = client.post(_url(campaign, "join/"), form)

    assert (first.status_code, second.status_code) == (302, 302)
    assert first["Location"] == f"/m/jielong/{campaign.pk}/#my-order"
    order = Order.objects.get(campaign=campaign)
    assert (order.seq, order.user, order.pickup_point, order.note, order.is_perk, order.total_fen) == (
        1,
        setup["me"],
        setup["other_point"],
        "放门卫",
        True,
        2 * 1272,
    )
    assert _state(campaign, item)["stock"] == 8
    page = client.get(_url(campaign)).content.decode()
    assert "You are in! Your jielong number is 1." in page
    assert "My order" in page
    assert f'<li data-seq="1">1. 小王 {item.sku}×2</li>' in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"qty": "-1"}, "Quantities must be whole numbers of at least 1."),
        ({"qty": "abc"}, "Quantities must be whole numbers of at least 1."),
        ({"qty": "4"}, "You can take at most 3 of"),
        ({"qty": "0"}, "Choose at least one item."),
        ({"qty": "1", "pickup_point": "999999"}, "Choose a pickup point of your community."),
    ],
    ids=["negative-quantity", "not-a-number", "over-limit", "nothing-chosen", "foreign-pickup-point"],
)
def test_refused_joins_show_the_message_on_the_form_and_change_nothing(setup, form, message):
    client, campaign, item = setup["client"], setup["campaign"], setup["item"]
    before = _state(campaign, item)
    data = {f"qty_{item.pk}": form["qty"], "idempotency_key": "k1", "pickup_point": form.get("pickup_point", "")}

    response = client.post(_url(campaign, "join/"), data)

    assert response.status_code == 400
    assert message in response.context["error"]
    assert message in response.content.decode()
    assert _state(campaign, item) == before


@pytest.mark.parametrize(
    ("moved_on", "message"),
    [
        ("sold-out", "Sorry, "),
        ("closed", "This jielong is closed."),
        ("already-joined", "You have already joined this jielong; change your order instead."),
    ],
)
def test_a_join_the_jielong_moved_past_goes_back_to_the_page_with_the_message_and_changes_nothing(
    setup, moved_on, message
):
    """Sold out, closed, joined already: the posted form no longer holds, so the answer is the page as it is
    now (post/redirect/get) with the refusal as its message, not the stale form."""
    client, campaign, item = setup["client"], setup["campaign"], setup["item"]
    if moved_on == "sold-out":
        SKU.objects.filter(pk=item.sku_id).update(stock=1)
    elif moved_on == "closed":
        Campaign.objects.filter(pk=campaign.pk).update(closes_at=clock.now() - timedelta(minutes=1))
    else:
        client.post(_url(campaign, "join/"), {f"qty_{item.pk}": "1", "idempotency_key": "first"})
    before = _state(campaign, item)

    response = client.post(_url(campaign, "join/"), {f"qty_{item.pk}": "2", "idempotency_key": "k2"})

    assert response.status_code == 302 and response["Location"] == _url(campaign)
    page = client.get(response["Location"]).content.decode()
    assert f'<p class="message message-error">{message}' in page  # the page's message, not a form error
    assert moved_on != "sold-out" or " is sold out." in page
    assert 'id="jl-error"' not in page
    assert _state(campaign, item) == before


def test_edit_changes_quantity_pickup_and_note_and_moves_stock_by_the_difference(
    setup, django_capture_on_commit_callbacks
):
    client, campaign, item = setup["client"], setup["campaign"], setup["item"]
    client.post(_url(campaign, "join/"), {f"qty_{item.pk}": "1", "idempotency_key": "k3"})
    version = Campaign.objects.get(pk=campaign.pk).version

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            _url(campaign, "order/"),
            {f"qty_{item.pk}": "3", "pickup_point": str(setup["other_point"].pk), "note": "晚上取"},
        )

    assert response.status_code == 302
    order = Order.objects.get(campaign=campaign)
    assert (order.seq, order.total_fen, order.pickup_point, order.note, order.is_perk) == (
        1,
        3 * 1272,
        setup["other_point"],
        "晚上取",
        True,
    )
    state = _state(campaign, item)
    assert (state["stock"], state["lines"], state["joined"], state["version"]) == (7, [(item.pk, 3)], 1, version + 1)
    # the event and the broadcast both wait for the commit (the broadcast through the outbox's delivery)
    assert [getattr(c.func, "__name__", "") for c in callbacks] == ["_dispatch_many", "deliver"]
    assert "Your order was changed." in client.get(_url(campaign)).content.decode()

    client.post(_url(campaign, "order/"), {f"qty_{item.pk}": "1", "pickup_point": str(setup["point"].pk)})
    assert _state(campaign, item)["stock"] == 9


@pytest.mark.parametrize(
    ("qty", "message"),
    [("5", "You can take at most 3 of"), ("-2", "Quantities must be whole numbers"), ("20", "is sold out.")],
    ids=["over-limit", "negative", "more-than-stock"],
)
def test_refused_edit_shows_the_message_and_changes_nothing(setup, qty, message):
    client, campaign, item = setup["client"], setup["campaign"], setup["item"]
    item.per_member_limit = 30 if qty == "20" else 3
    item.save()
    client.post(_url(campaign, "join/"), {f"qty_{item.pk}": "1", "idempotency_key": "k4"})
    before = _state(campaign, item)

    response = client.post(_url(campaign, "order/"), {f"qty_{item.pk}": qty})

    assert response.status_code == 400
    assert message in response.context["error"]
    assert _state(campaign, item) == before


def test_edit_below_the_minimum_spend_is_refused(setup):
    client, campaign, item = setup["client"], setup["campaign"], setup["item"]
    client.post(_url(campaign, "join/"), {f"qty_{item.pk}": "2", "idempotency_key": "k5"})
    Campaign.objects.filter(pk=campaign.pk).update(min_spend_fen=2000)
    before = _state(campaign, item)

    response = client.post(_url(campaign, "order/"), {f"qty_{item.pk}": "1"})

    assert response.status_code == 400
    assert response.context["error"] == "The minimum order is 20.00 yuan."
    assert _state(campaign, item) == before


def test_edit_after_close_is_refused(setup):
    client, campaign, item = setup["client"], setup["campaign"], setup["item"]
    client.post(_url(campaign, "join/"), {f"qty_{item.pk}": "1", "idempotency_key": "k6"})
    Campaign.objects.filter(pk=campaign.pk).update(closes_at=clock.now() - timedelta(seconds=1))
    before = _state(campaign, item)

    edit = client.post(_url(campaign, "order/"), {f"qty_{item.pk}": "2"})
    cancel = client.post(_url(campaign, "order/cancel/"))

    assert (edit.status_code, cancel.status_code) == (400, 400)
    assert edit.context["error"] == cancel.context["error"] == "This jielong is closed; contact your leader."
    assert _state(campaign, item) == before


def test_cancel_returns_stock_and_perk_and_the_member_can_join_again(setup):
    client, campaign, item = setup["client"], setup["campaign"], setup["item"]
    client.post(_url(campaign, "join/"), {f"qty_{item.pk}": "2", "idempotency_key": "k7"})

    response = client.post(_url(campaign, "order/cancel/"))

    assert response.status_code == 302
    state = _state(campaign, item)
    assert (state["stock"], state["joined"], state["perk_taken"]) == (10, 0, 0)
    assert state["orders"] == [(1, "cancelled", 2 * 1272)]
    page = client.get(_url(campaign)).content.decode()
    assert "Your order was cancelled." in page
    assert "Join now" in page
    rejoin = client.post(_url(campaign, "join/"), {f"qty_{item.pk}": "1", "idempotency_key": "k8"})
    assert rejoin.status_code == 302
    assert Order.objects.filter(campaign=campaign, status=Order.Status.JOINED).get().seq == 2


def test_leader_sees_the_paste_ready_progress_line(setup):
    campaign, item = setup["campaign"], setup["item"]
    member_page = setup["client"].get(_url(campaign)).content.decode()
    client = Client()
    for n in range(2):
        _join_as(campaign, item, nickname=f"邻居{n}", quantity=1, community=setup["community"])
    leader = f.member(nickname="团长")
    f.membership(user=leader, community=setup["community"], role=Membership.Role.LEADER)
    client.force_login(leader)
    client.cookies["django_language"] = "en"

    html = client.get(_url(campaign)).content.decode()

    assert (
        '<p class="progress-line" id="jl-leader-line" data-copy-source>2 joined, 1 more to form the group</p>' in html
    )
    assert "For the leader" not in member_page


def test_progress_line_in_chinese_by_default_counts_people_not_stock():
    # Was "已接龙30单！还剩20单！", which read like 20 units of stock left.
    assert member_views.progress_line(joined=30, still_needed=20, max_orders=None) == "已接龙 30 人，还差 20 人成团"
    assert member_views.progress_line(joined=60, still_needed=0, max_orders=80) == "已接龙 60 人，已成团！"


@translation.override("en")
def test_progress_line_after_forming():
    assert member_views.progress_line(joined=30, still_needed=20, max_orders=None) == (
        "30 joined, 20 more to form the group"
    )
    # An order cap is not "to go": once formed the line says so, whatever the cap.
    assert member_views.progress_line(joined=60, still_needed=0, max_orders=80) == "60 joined — the group is formed!"
    assert member_views.progress_line(joined=60, still_needed=0, max_orders=None) == (
        "60 joined — the group is formed!"
    )


def test_share_text_carries_title_price_perk_progress_and_the_referral_link(setup):
    campaign, me = setup["campaign"], setup["me"]

    response = setup["client"].get(_url(campaign))

    # The share link carries the member's personal invitation code: following it joins as their referral.
    code = response.context["share_url"].rsplit("?ref=", 1)[1]
    invitation = community_selectors.invitation_by_code(code=code)
    assert invitation is not None and invitation.inviter == me and invitation.is_personal
    assert response.context["share_text"].splitlines() == [
        "【有机上海青接龙】",
        f"{setup['item'].sku} community price ¥15.90",
        "First 2: 签名绘本 (2 left)",
        "0 joined, 3 more to form the group",
        f"http://testserver/m/jielong/{campaign.pk}/?ref={code}",
    ]


def test_poster_is_a_png_with_the_referral_link(setup):
    response = setup["client"].get(_url(setup["campaign"], "poster.png"))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(BytesIO(b"".join(response.streaming_content)))
    assert (image.format, image.size) == ("PNG", (750, 1200))


def test_snapshot_carries_the_latest_joiners(setup):
    campaign, item = setup["campaign"], setup["item"]
    for n in range(7):
        _join_as(campaign, item, nickname=f"n{n}", quantity=1, community=setup["community"])
    from jielong import selectors

    snapshot = selectors.campaign_snapshot(campaign_id=campaign.pk)

    assert [row["seq"] for row in snapshot["latest"]] == [7, 6, 5, 4, 3]
    assert snapshot["latest"][0] == {"seq": 7, "name": "n6", "items": f"{item.sku}×1"}
    assert (snapshot["joined"], snapshot["max_orders"]) == (7, None)


def test_order_update_swaps_items_and_moves_each_skus_stock_by_the_difference(setup):
    community, me = setup["community"], setup["me"]
    campaign = f.campaign(communities=[community], status=Campaign.Status.OPEN, items=2, perk_limit=0)
    first, second = campaign.items.order_by("position")
    SKU.objects.filter(pk__in=[first.sku_id, second.sku_id]).update(stock=5)
    order = services.order_join(campaign_id=campaign.pk, user=me, quantities={first.pk: 2}).order

    services.order_update(order_id=order.pk, user=me, quantities={second.pk: 3}, pickup_point_id=None, note="")

    order.refresh_from_db()
    assert dict(SKU.objects.filter(pk__in=[first.sku_id, second.sku_id]).values_list("pk", "stock")) == {
        first.sku_id: 5,
        second.sku_id: 2,
    }
    assert list(order.lines.values_list("item_id", "quantity", "unit_price_fen")) == [(second.pk, 3, 1590)]
    assert (order.total_fen, order.seq, order.pickup_point) == (3 * 1590, 1, setup["point"])


def test_someone_elses_order_cannot_be_changed(setup):
    campaign, item = setup["campaign"], setup["item"]
    order = _join_as(campaign, item, nickname="老张", quantity=1, community=setup["community"])
    before = _state(campaign, item)

    with pytest.raises(services.JoinRefused) as refused:
        services.order_update(
            order_id=order.pk, user=setup["me"], quantities={item.pk: 3}, pickup_point_id=None, note=""
        )

    assert refused.value.code == "not_owner"
    assert _state(campaign, item) == before


def test_member_home_links_to_the_jielong_page(setup):
    html = setup["client"].get("/m/").content.decode()

    assert f'href="/m/jielong/{setup["campaign"].pk}/"' in html


def test_items_show_the_product_cover_steppers_running_total_and_join_bar(setup):
    campaign, item = setup["campaign"], setup["item"]
    product = item.sku.product
    buffer = BytesIO()
    Image.new("RGB", (40, 40), "green").save(buffer, format="PNG")
    from django.core.files.base import ContentFile

    product.image.save("cover.png", ContentFile(buffer.getvalue()), save=True)

    html = setup["client"].get(_url(campaign)).content.decode()

    assert f'<img class="jl-item-photo" src="{product.image.url}"' in html
    assert 'data-step="-1"' in html and 'data-step="1"' in html
    # the box stays (keyboards, no script); its max is the per-member limit (3) within the stock (10)
    assert f'name="qty_{item.pk}" value="0" min="0" max="3"' in html
    assert '<div class="jl-joinbar" id="jl-joinbar">' in html
    assert '<strong id="jl-total">¥0.00</strong>' in html


def test_stepper_max_is_the_stock_left_plus_what_the_member_holds(setup):
    campaign, item = setup["campaign"], setup["item"]
    services.order_join(campaign_id=campaign.pk, user=setup["me"], quantities={item.pk: 2})
    SKU.objects.filter(pk=item.sku_id).update(stock=0)

    response = setup["client"].get(_url(campaign))

    assert f'name="qty_{item.pk}" value="2" min="0" max="2"' in response.content.decode()
    assert '<strong id="jl-total">¥31.80</strong>' in response.content.decode()


@pytest.mark.parametrize(
    ("status", "word"),
    [("open", "In progress"), ("formed", "Formed"), ("completed", "Ended"), ("failed", "Ended")],
    ids=["open", "formed", "completed", "failed"],
)
def test_status_words_are_the_ones_members_use(setup, status, word):
    campaign = setup["campaign"]
    Campaign.objects.filter(pk=campaign.pk).update(status=status)

    html = setup["client"].get(_url(campaign)).content.decode()

    assert f'id="jl-status">{word}</span>' in html


def test_status_words_in_chinese():
    campaign = Campaign(status=Campaign.Status.OPEN)
    with translation.override("zh-hans"):
        assert member_views.member_status_label(campaign) == "进行中"
        campaign.status = Campaign.Status.FORMED
        assert member_views.member_status_label(campaign) == "已成团"
        campaign.status = Campaign.Status.COMPLETED
        assert member_views.member_status_label(campaign) == "已结束"


def test_perk_that_names_its_places_is_not_said_twice(setup):
    # Was "前2名：前2名接龙享9折" in the share text and "前2名接龙享9折 · 前2名专享…" on the page.
    campaign = setup["campaign"]
    Campaign.objects.filter(pk=campaign.pk).update(perk_description="前2名接龙享9折")

    response = setup["client"].get(_url(campaign))
    html = response.content.decode()

    assert "前2名接龙享9折 (2 left)" in response.context["share_text"].splitlines()
    assert "First 2: 前2名" not in response.context["share_text"]
    assert '前2名接龙享9折 · <span id="jl-perk-left">2 places left</span>' in html
    assert "First 2 only" not in html.split('id="jl-perk"', 1)[1].split("</p>", 1)[0]


def test_perk_title_in_chinese():
    campaign = Campaign(perk_limit=30, perk_description="签名绘本")
    with translation.override("zh-hans"):
        assert member_views.perk_title(campaign) == "前30名：签名绘本"
        campaign.perk_description = "前30名接龙享9折"
        assert member_views.perk_title(campaign) == "前30名接龙享9折"
        campaign.perk_description = "前300名送礼"  # 30 inside 300 is not the number
        assert member_views.perk_title(campaign) == "前30名：前300名送礼"
