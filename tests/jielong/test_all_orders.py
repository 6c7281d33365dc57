"""The operator's one order list across campaigns: filters, bulk mark paid, an xlsx that follows the filters."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from groupbuy import clock
from jielong import services
from jielong.models import CampaignItem, Order
from tests import factories as f

pytestmark = pytest.mark.django_db

URL = "/ops/jielong/orders/"


@pytest.fixture
def world(client):
    north = f.open_campaign(members=0, title="上海青接龙", point_name="东门", perk_limit=0)
    south = f.open_campaign(members=0, title="土鸡蛋接龙", point_name="南门", perk_limit=0)
    eggs = CampaignItem.objects.create(campaign=north.campaign, sku=f.sku(name="土鸡蛋"), price_fen=990, position=1)
    operator = f.operator()

    def join(scenario, nickname, quantities):
        user = f.add_member(scenario, nickname=nickname, phone=None)
        return services.order_join(campaign_id=scenario.campaign.pk, user=user, quantities=quantities).order

    orders = {
        "wang": join(north, "王姐", {north.item.pk: 2, eggs.pk: 1}),
        "li": join(north, "李阿姨", {north.item.pk: 1}),
        "zhang": join(south, "张叔", {south.item.pk: 3}),
        "zhao": join(south, "赵哥", {south.item.pk: 1}),
    }
    services.order_mark_paid(order_id=orders["li"].pk, by=operator)
    services.order_cancel(order_id=orders["zhao"].pk, user=orders["zhao"].user)
    Order.objects.filter(pk=orders["zhang"].pk).update(created_at=clock.now() - timedelta(days=3))
    client.force_login(operator)
    client.cookies["django_language"] = "en"
    return {"client": client, "north": north, "south": south, "eggs": eggs, "orders": orders, "operator": operator}


def listed(world, **params):
    response = world["client"].get(URL, params)
    assert response.status_code == 200
    return sorted(o.user.nickname for o in response.context["page"].object_list)


def test_the_operator_navigation_links_the_list(world):
    html = world["client"].get(reverse("jielong:ops-campaigns")).content.decode()

    assert f'href="{URL}"' in html and "All orders" in html


def test_every_campaigns_orders_are_listed(world):
    assert listed(world) == ["张叔", "李阿姨", "王姐", "赵哥"]


def test_filters(world):
    north, south = world["north"], world["south"]
    today = clock.now().date()
    assert listed(world, campaign=north.campaign.pk) == ["李阿姨", "王姐"]
    assert listed(world, community=south.community.pk) == ["张叔", "赵哥"]
    assert listed(world, pickup_point=south.point.pk) == ["张叔", "赵哥"]
    assert listed(world, status="cancelled") == ["赵哥"]
    assert listed(world, payment="paid") == ["李阿姨"]
    assert listed(world, date_from=today.isoformat()) == ["李阿姨", "王姐", "赵哥"]
    assert listed(world, date_to=(today - timedelta(days=1)).isoformat()) == ["张叔"]
    assert listed(world, campaign=south.campaign.pk, status="joined") == ["张叔"]


def test_a_date_range_backwards_is_refused_by_name_and_lists_nothing(world):
    today = clock.now().date()
    response = world["client"].get(
        URL, {"date_from": today.isoformat(), "date_to": (today - timedelta(days=2)).isoformat()}
    )

    assert "The end date is before the start date." in response.content.decode()
    assert list(response.context["page"].object_list) == []


def test_bulk_mark_paid_marks_the_ticked_and_keeps_the_filters(world):
    orders = world["orders"]

    response = world["client"].post(
        reverse("jielong:ops-orders-mark-paid"),
        {"order": [orders["wang"].pk, orders["zhang"].pk], "query": "payment=unpaid"},
    )

    assert response.status_code == 302 and response["Location"] == f"{URL}?payment=unpaid"
    assert sorted(Order.objects.filter(payment_status="paid").values_list("user__nickname", flat=True)) == [
        "张叔",
        "李阿姨",
        "王姐",
    ]


def test_bulk_mark_paid_names_a_refusal_and_marks_the_rest(world):
    orders = world["orders"]

    response = world["client"].post(
        reverse("jielong:ops-orders-mark-paid"), {"order": [orders["zhao"].pk, orders["wang"].pk]}, follow=True
    )

    html = response.content.decode()
    assert "A cancelled order cannot be marked paid." in html
    assert "1 order marked paid." in html
    assert Order.objects.get(pk=orders["zhao"].pk).payment_status == "unpaid"
    assert Order.objects.get(pk=orders["wang"].pk).payment_status == "paid"


def test_bulk_mark_paid_with_nothing_ticked_says_so(world):
    response = world["client"].post(reverse("jielong:ops-orders-mark-paid"), {}, follow=True)

    assert "Tick the orders to mark paid." in response.content.decode()
    assert Order.objects.filter(payment_status="paid").count() == 1


def test_members_cannot_see_or_mark(world, client):
    member = world["orders"]["wang"].user
    client.force_login(member)

    assert client.get(URL).status_code in (302, 403)
    client.post(reverse("jielong:ops-orders-mark-paid"), {"order": [world["orders"]["wang"].pk]})
    assert Order.objects.get(pk=world["orders"]["wang"].pk).payment_status == "unpaid"


def _workbook(world, **params):
    response = world["client"].get(reverse("jielong:ops-orders-export"), params)
    assert response.status_code == 200
    return load_workbook(BytesIO(response.content))


def test_export_has_one_row_per_item_with_sku_and_payment_columns(world):
    book = _workbook(world, campaign=world["north"].campaign.pk)
    sheet = book["Orders"]
    rows = list(sheet.iter_rows(values_only=True))

    header = rows[0]
    assert "Payment status" in header and "SKU code" in header and "Spec" in header
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 24
    col = {name: i for i, name in enumerate(header)}
    body = sorted((r[col["Member"]], r[col["Product"]], r[col["Quantity"]], r[col["Payment status"]]) for r in rows[1:])
    greens = world["north"].item.sku.product.name
    assert body == sorted(
        [("王姐", greens, 2, "Unpaid"), ("王姐", "土鸡蛋", 1, "Unpaid"), ("李阿姨", greens, 1, "Paid")]
    )


def test_export_follows_the_filters_and_totals_by_sku_leave_out_cancelled(world):
    book = _workbook(world, community=world["south"].community.pk)

    assert sorted(r[3] for r in list(book["Orders"].iter_rows(values_only=True))[1:]) == ["张叔", "赵哥"]
    totals = list(book["Totals by SKU"].iter_rows(values_only=True))
    sku = world["south"].item.sku
    # 赵哥's order is cancelled: it is listed, but counts nowhere
    assert totals[1][:5] == (sku.code, sku.product.name, "500g", 1, 3)
    assert totals[-1][0] == "Total" and totals[-1][3:5] == (1, 3)
    assert book["Totals by SKU"].freeze_panes == "A2"


def test_export_of_refused_filters_goes_back_with_the_reason(world):
    today = clock.now().date()
    response = world["client"].get(
        reverse("jielong:ops-orders-export"),
        {"date_from": today.isoformat(), "date_to": (today - timedelta(days=1)).isoformat()},
        follow=True,
    )

    assert "Please correct the filters; nothing was exported." in response.content.decode()


def test_export_writes_text_as_text(world):
    user = world["orders"]["wang"].user
    user.nickname = "=HYPERLINK(1)"
    user.save()

    sheet = _workbook(world)["Orders"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "=HYPERLINK(1)"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_the_campaign_order_list_calls_the_column_payment_status(world):
    # The header read 付款方式 (payment method) above the payment status.
    world["client"].cookies["django_language"] = "zh-hans"
    html = (
        world["client"].get(reverse("jielong:ops-campaign-orders", args=[world["north"].campaign.pk])).content.decode()
    )

    assert "<th>付款状态</th>" in html
    assert "<th>付款方式</th>" not in html
