from decimal import Decimal
from io import BytesIO

import pytest
from django.utils import translation
from openpyxl import load_workbook

from community.models import Membership
from groupbuy import clock
from jielong import services
from jielong.exports import campaign_orders_xlsx
from jielong.models import Campaign, Order
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def joined():
    given = f.open_campaign(members=0, threshold=5, perk_limit=0, point_name="东门")
    community, campaign, item = given.community, given.campaign, given.item
    east, west = given.point, f.pickup_point(community=community, name="西门")
    orders = []
    for point in (east, west, east):
        user = f.member(phone=None)
        f.membership(user=user, community=community, default_pickup_point=point)
        orders.append(
            services.order_join(campaign_id=campaign.pk, user=user, quantities={item.pk: 2}, note="放门卫").order
        )
    return campaign, community, orders


def test_export_has_a_sheet_per_pickup_point_with_masked_phones(joined):
    campaign, _, orders = joined

    with translation.override("zh-hans"):
        workbook = load_workbook(BytesIO(campaign_orders_xlsx(campaign=campaign)))

    assert workbook.sheetnames == ["东门", "西门"]
    east = list(workbook["东门"].iter_rows(values_only=True))
    assert east[0] == (
        "跟团号", "下单人", "团员备注", "支付时间", "团长备注", "商品", "订单金额",
        "退款金额", "订单状态", "自提点", "收货人", "联系电话", "详细地址",
    )  # fmt: skip
    assert len(east) == 3  # header + two orders
    seq, _member, note, *_rest = east[1]
    assert (seq, note) == (1, "放门卫")
    amount, phone = east[1][6], east[1][11]
    assert Decimal(str(amount)) == Decimal("31.80")
    assert "****" in phone and orders[0].user.phone not in phone


def test_export_can_show_full_phones(joined):
    campaign, _, orders = joined
    workbook = load_workbook(BytesIO(campaign_orders_xlsx(campaign=campaign, full_phones=True)))
    phones = {row[11] for row in workbook["西门"].iter_rows(min_row=2, values_only=True)}
    assert phones == {orders[1].user.phone}


def test_leader_marks_paid_once(joined):
    _, community, orders = joined
    leader = f.member()
    f.membership(user=leader, community=community, role=Membership.Role.LEADER)

    services.order_mark_paid(order_id=orders[0].pk, by=leader)
    first_paid_at = Order.objects.get(pk=orders[0].pk).paid_at
    services.order_mark_paid(order_id=orders[0].pk, by=leader)

    order = Order.objects.get(pk=orders[0].pk)
    assert order.payment_status == Order.PaymentStatus.PAID
    assert order.paid_at == first_paid_at


def test_other_members_cannot_mark_paid(joined):
    _, _, orders = joined
    with pytest.raises(services.JoinRefused):
        services.order_mark_paid(order_id=orders[0].pk, by=f.member())
    assert Order.objects.get(pk=orders[0].pk).payment_status == Order.PaymentStatus.UNPAID


def test_failed_group_refunds_paid_orders(joined):
    from datetime import timedelta

    campaign, _, orders = joined
    services.order_mark_paid(order_id=orders[0].pk, by=f.operator())
    Campaign.objects.filter(pk=campaign.pk).update(closes_at=clock.now() - timedelta(seconds=1))

    services.campaign_close(campaign_id=campaign.pk)

    paid = Order.objects.get(pk=orders[0].pk)
    assert (paid.status, paid.payment_status, paid.refunded_fen) == ("cancelled", "refunded", paid.total_fen)
    unpaid = Order.objects.get(pk=orders[1].pk)
    assert (unpaid.payment_status, unpaid.refunded_fen) == ("unpaid", 0)

    # 不成团: each member finds why in their inbox, in the site's language, and what happens to their money
    from livestream.models import Notification

    told = {n.user_id: n for n in Notification.objects.all()}
    assert set(told) == {o.user_id for o in orders}
    for order in orders:
        message = told[order.user_id]
        assert message.title == f"「{campaign.title}」未成团"
        assert message.link == f"/m/jielong/orders/{order.pk}/"
        assert f"需要 {campaign.group_threshold} 人成团" in message.body
    assert told[paid.user_id].body.endswith(f"订单已自动取消；您已付的 {paid.total_fen / 100:.2f} 元将全额退回。")
    assert told[unpaid.user_id].body.endswith("您的订单已自动取消。")

    services.campaign_close(campaign_id=campaign.pk)  # closing again tells nobody twice
    assert Notification.objects.count() == len(orders)


HOSTILE_TEXT = ['=HYPERLINK("http://evil.example","点我")', "=1+1", "+1", "-2+3", "@SUM(1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("full_phones", [False, True], ids=["masked", "full-phones"])
def test_user_text_is_written_as_text_never_as_a_formula(full_phones):
    given = f.open_campaign(members=0, threshold=50, per_member_limit=50)
    joiners = []
    for text in HOSTILE_TEXT:
        user = f.member(nickname=text)
        f.membership(user=user, community=given.community, default_pickup_point=given.point)
        order = services.order_join(campaign_id=given.campaign.pk, user=user, quantities={given.item.pk: 1}).order
        Order.objects.filter(pk=order.pk).update(note=text, leader_note=text)
        joiners.append(text)

    workbook = load_workbook(BytesIO(campaign_orders_xlsx(campaign=given.campaign, full_phones=full_phones)))

    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    rows = list(workbook.worksheets[0].iter_rows(min_row=2))
    kept = [text.replace("\r", "\n") for text in joiners]  # XML stores a carriage return as a line feed
    assert [(row[1].value, row[2].value, row[4].value) for row in rows] == [(t, t, t) for t in kept]
    assert all(row[1].quotePrefix and row[2].quotePrefix for row in rows)
