"""After-sales pages, each reached by clicking: 申请售后 on the member's order page, the request page, the leader's
queue from the member home, the operator's queue from the navigation, SLA settings, bulk refund from the campaign."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from aftersales import services
from aftersales.models import Request, SlaSettings
from jielong.models import LedgerEntry, Order
from tests.aftersales.orders import paid_orders
from tests.aftersales.test_requests import open_request, photo

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_member_opens_a_request_from_the_order_page():
    made = paid_orders()
    order = made.orders[0]
    member = _client(order.user)
    page = member.get(reverse("jielong:member-order", args=[order.pk])).content.decode()
    new_url = reverse("aftersales:member-request-new", args=[order.pk])
    assert f'href="{new_url}"' in page and "申请售后" in page

    assert member.get(new_url).status_code == 200
    first = order.lines.order_by("pk")[0]
    response = member.post(
        new_url,
        {f"qty-{first.pk}": "1", "reason": "quality", "ask": "refund", "amount": "10.5", "photos": [photo()]},
    )
    req = Request.objects.get()
    assert response.status_code == 302 and response.url == reverse("aftersales:member-request", args=[req.pk])
    assert (req.asked_fen, req.photos.count()) == (1050, 1)
    page = member.get(response.url).content.decode()
    assert "等待处理" in page or "Waiting for an answer" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"amount": "99"}, "¥15.90", id="above-what-was-paid"),
        pytest.param({"amount": "1.234"}, "12.50", id="three-decimals"),
        pytest.param({"photos": [photo(name="x.jpg")], "amount": "1"}, "", id="the-same-form-done-right"),
    ],
)
def test_bad_input_shows_a_message_and_keeps_nothing(fields, message):
    made = paid_orders()
    order = made.orders[0]
    first = order.lines.order_by("pk")[0]
    data = {f"qty-{first.pk}": "1", "reason": "quality", "ask": "refund", **fields}
    response = _client(order.user).post(reverse("aftersales:member-request-new", args=[order.pk]), data)
    if not message:
        assert response.status_code == 302
        return
    assert response.status_code == 400 and message in response.content.decode()
    assert not Request.objects.exists()


def test_someone_elses_order_is_not_found():
    made = paid_orders(members=2)
    response = _client(made.orders[1].user).get(reverse("aftersales:member-request-new", args=[made.orders[0].pk]))
    assert response.status_code == 404


def test_the_leader_finds_the_queue_on_the_home_page_and_refunds_part():
    made = paid_orders()
    req = open_request(made)
    leader = _client(made.leader)
    home = leader.get(reverse("community:member-home")).content.decode()
    queue_url = reverse("aftersales:leader-queue")
    assert f'href="{queue_url}"' in home
    assert f'href="{reverse("aftersales:leader-request", args=[req.pk])}"' in leader.get(queue_url).content.decode()
    handle = reverse("aftersales:leader-request", args=[req.pk])
    assert leader.get(handle).status_code == 200

    response = leader.post(
        reverse("aftersales:resolve", args=[req.pk]),
        {"resolution": "refund", "amount-refund": "8.00", "note": "部分退款", "back": handle},
    )
    assert response.status_code == 302 and response.url == handle
    assert Order.objects.get(pk=req.order_id).refunded_fen == 800
    member_page = _client(req.user).get(reverse("aftersales:member-request", args=[req.pk])).content.decode()
    assert "¥8.00" in member_page

    again = leader.post(reverse("aftersales:resolve", args=[req.pk]), {"resolution": "refund", "amount-refund": "1"})
    assert again.status_code == 302 and LedgerEntry.objects.filter(kind="refund").count() == 1
    page = leader.get(handle).content.decode()
    assert "已处理" in page or "already been resolved" in page


def test_the_operator_queue_shows_overdue_first_in_red_and_settings_save():
    made = paid_orders(members=2)
    late = open_request(made)
    Request.objects.filter(pk=late.pk).update(first_answer_due=late.opened_at.replace(year=late.opened_at.year - 1))
    ops = _client(made.operator)
    dashboard = ops.get(reverse("aftersales:ops-settings")).content.decode()
    assert f'href="{reverse("aftersales:ops-queue")}"' in dashboard
    page = ops.get(reverse("aftersales:ops-queue")).content.decode()
    assert f'class="is-overdue" id="queue-{late.pk}"' in page
    assert ops.get(reverse("aftersales:ops-request", args=[late.pk])).status_code == 200

    ops.post(
        reverse("aftersales:ops-settings"),
        {"brand": made.campaign.brand_id, "first_answer_hours": "6", "resolution_hours": "24"},
    )
    assert SlaSettings.objects.get(brand=made.campaign.brand).first_answer_hours == 6
    bad = ops.post(
        reverse("aftersales:ops-settings"),
        {"brand": made.campaign.brand_id, "first_answer_hours": "30", "resolution_hours": "24"},
    )
    assert bad.status_code == 200 and SlaSettings.objects.get(brand=made.campaign.brand).resolution_hours == 24


def test_bulk_refund_from_the_campaign_page_preview_then_confirm():
    made = paid_orders(members=2)
    ops = _client(made.operator)
    campaign_page = ops.get(reverse("jielong:ops-campaign", args=[made.campaign.pk])).content.decode()
    url = f"{reverse('aftersales:ops-bulk-refund')}?campaign={made.campaign.pk}"
    assert f'href="{url}"' in campaign_page
    preview = ops.get(url)
    assert "¥95.40" in preview.content.decode()
    key = preview.context["key"]
    response = ops.post(
        reverse("aftersales:ops-bulk-refund"),
        {"campaign": made.campaign.pk, "key": key, "total": "9540", "reason": "冷链故障"},
    )
    assert response.status_code == 302
    assert sum(LedgerEntry.objects.filter(kind="refund").values_list("amount_fen", flat=True)) == 9540
    # The same confirmation again (a double click) refunds nothing more.
    ops.post(
        reverse("aftersales:ops-bulk-refund"),
        {"campaign": made.campaign.pk, "key": key, "total": "9540", "reason": "冷链故障"},
    )
    assert sum(LedgerEntry.objects.filter(kind="refund").values_list("amount_fen", flat=True)) == 9540
    assert services.bulk_refund_preview(campaign_id=made.campaign.pk).total_fen == 0


def test_the_request_form_tells_a_fully_refunded_order_from_an_unpaid_one():
    from jielong import ledger

    unpaid = paid_orders(paid=False).orders[0]
    page = _client(unpaid.user).get(reverse("aftersales:member-request-new", args=[unpaid.pk])).content.decode()
    assert "这笔订单还未付款" in page

    order = paid_orders().orders[0]
    ledger.refund_issue(order=order, amount_fen=ledger.refundable_fen(order=order), key="test-full", by=None)
    page = _client(order.user).get(reverse("aftersales:member-request-new", args=[order.pk])).content.decode()
    assert "这笔订单的实付金额已全部退款" in page and "还未付款" not in page
