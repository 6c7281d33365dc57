"""Deletion: cooling-off, cancelling, refusal while something open needs the person, and anonymisation that
keeps every money fact (GMV, refunds, commissions per campaign add up the same before and after)."""

from datetime import timedelta

import pytest
import time_machine
from django.db.models import Sum

from aftersales.models import Request as AfterSalesRequest
from analytics import identity
from analytics.models import DistinctId, Person, PersonMerge
from community.models import Application, Membership, PhoneCode, User
from feedback.models import Review
from groupbuy import audit, clock
from groupbuy.stream.models import Event
from jielong import ledger
from jielong.models import LedgerEntry, Order
from livestream.models import Comment
from privacy import services, tasks
from privacy.models import DeletionRequest
from tests import factories as f
from tests.fission import scenario

pytestmark = pytest.mark.django_db


def _books(campaign_id: int) -> dict[str, int]:
    """The money of a campaign as the dashboards add it up."""
    orders = Order.objects.filter(campaign_id=campaign_id).exclude(status=Order.Status.CANCELLED)
    ledger_rows = LedgerEntry.objects.filter(order__campaign_id=campaign_id)
    by_kind = dict(ledger_rows.values_list("kind").annotate(total=Sum("amount_fen")).values_list("kind", "total"))
    return {
        "gmv": orders.aggregate(t=Sum("total_fen"))["t"] or 0,
        "orders": orders.count(),
        "refunded": orders.aggregate(t=Sum("refunded_fen"))["t"] or 0,
        **{kind: by_kind.get(kind, 0) for kind in ("payment", "refund", "commission", "clawback")},
    }


def _picked_up_member_with_history():
    sold = scenario.selling(members=3, help_sellers=1)
    member, other, _third = sold.members
    member.nickname = "要注销的人"
    member.save(update_fields=["nickname"])
    scenario.touch(sold, member, sold.sellers[0], clock.now() - timedelta(minutes=5))
    order = scenario.join(sold, member)
    other_order = scenario.join(sold, other)
    scenario.pick_up(order)
    scenario.pick_up(other_order)
    ledger.refund_issue(amount_fen=500, key="t-refund", by=sold.operator, order=order, reason="一颗烂了")
    Application.objects.create(user=member, community=sold.campaign.communities.first(), answers={"1": "3栋2单元"})
    Review.objects.create(
        order=order, brand=sold.campaign.brand, campaign=sold.campaign, community=order.community, user=member,
        rating=5, text="王阿姨说好吃", created_at=clock.now(),
    )  # fmt: skip
    Comment.objects.create(session=f.live_session(), user=member, text="我是3栋的王")
    identity.person_for_device("dev-1")  # browsed before signing in: merged into them at sign-in
    identity.identify(member, device_id="dev-1")
    assert PersonMerge.objects.filter(distinct_ids__contains=["device:dev-1"]).exists()
    Event.objects.create(name="page_viewed", user=member, properties={"nickname": "要注销的人", "path": "/m/"})
    PhoneCode.objects.create(phone=member.phone, code_hash="x", created_at=clock.now(), expires_at=clock.now())
    return sold, member, order


def test_deletion_anonymises_the_person_and_keeps_the_books(client):
    sold, member, order = _picked_up_member_with_history()
    client.force_login(member)
    before = _books(sold.campaign.pk)
    phone = member.phone
    assert before["commission"] > 0 and before["refund"] == 500

    request = services.deletion_request(user=member)
    assert request.due_at == request.requested_at + timedelta(days=7)
    with time_machine.travel(request.due_at + timedelta(minutes=1), tick=False):
        assert tasks.process_due_deletions() == 1

    member.refresh_from_db()
    request.refresh_from_db()
    assert request.status == DeletionRequest.Status.DONE
    assert member.phone is None and member.nickname == "" and member.email == ""
    assert member.username == f"deleted-{request.reference.lower()}"
    assert not member.is_active and not member.has_usable_password()
    assert not User.objects.filter(phone=phone).exists()
    assert not PhoneCode.objects.filter(phone=phone).exists()
    assert Application.objects.get(user=member).answers == {}
    assert Review.objects.get(user=member).text == "" and Review.objects.get(user=member).rating == 5
    assert Comment.objects.get(user=member).text == ""
    assert set(Membership.objects.filter(user=member).values_list("status", flat=True)) == {"left"}
    # The stream and the CDP no longer know who it was.
    assert not Person.objects.filter(user=member).exists()
    assert not DistinctId.objects.filter(value__in=[f"user:{member.pk}", f"phone:{phone}", "device:dev-1"]).exists()
    assert [(m.distinct_ids, m.reason) for m in PersonMerge.objects.all()] == [([], "")]
    assert not Event.objects.filter(user=member).exists()
    event = Event.objects.get(name="page_viewed", distinct_id=f"erased:{request.reference.lower()}")
    assert event.properties == {"path": "/m/"}
    # The books: the same money, per campaign, before and after; the order is still there, without a name.
    assert _books(sold.campaign.pk) == before
    order.refresh_from_db()
    assert (order.total_fen, order.refunded_fen, order.user_id) == (3180 + 1590, 500, member.pk)
    # Logged without personal data: the record's summary has counts only, the audit entry a masked number.
    assert request.summary["orders_kept"] == 1 and request.summary["comments_cleared"] == 1
    entry = audit.Entry.objects.get(action="privacy.person_erased")
    assert phone not in str(entry.before) and "要注销的人" not in str(entry.before) + str(entry.after)
    assert not audit.Entry.objects.filter(actor_label__contains="要注销的人").exists()
    # Nobody else was touched.
    other = sold.members[1]
    assert User.objects.get(pk=other.pk).phone == other.phone and other.nickname
    assert Order.objects.get(user=other).user.is_active
    assert Event.objects.filter(user=other).exists()
    # Every session ended.
    assert client.get("/m/").status_code == 302


def test_a_request_waits_out_the_cooling_off_and_can_be_cancelled(client):
    member = f.member()
    client.force_login(member)

    response = client.post("/m/me/privacy/delete/", {"confirm": "yes"})
    request = DeletionRequest.objects.get(user=member)
    assert response.status_code == 302
    assert request.status == DeletionRequest.Status.PENDING
    assert "deletion-pending" in client.get("/m/me/privacy/").content.decode()
    assert tasks.process_due_deletions() == 0  # not due yet
    with pytest.raises(services.DeletionRefused):
        services.deletion_request(user=member)  # one pending request at a time

    client.post("/m/me/privacy/delete/cancel/")

    request.refresh_from_db()
    member.refresh_from_db()
    assert request.status == DeletionRequest.Status.CANCELLED and request.cancelled_at is not None
    with time_machine.travel(request.due_at + timedelta(days=1), tick=False):
        assert tasks.process_due_deletions() == 0
    assert member.phone and member.is_active
    assert audit.Entry.objects.filter(action="privacy.deletion_cancelled").count() == 1


def test_without_the_confirmation_box_nothing_is_requested(client):
    member = f.member()
    client.force_login(member)

    client.post("/m/me/privacy/delete/", {})

    assert not DeletionRequest.objects.exists()


def test_deletion_is_refused_while_an_order_awaits_pickup(client):
    sold = scenario.selling(members=1, help_sellers=0)
    member = sold.members[0]
    order = scenario.join(sold, member)
    client.force_login(member)

    response = client.post("/m/me/privacy/delete/", {"confirm": "yes"}, follow=True)

    assert not DeletionRequest.objects.exists()
    assert "1 笔订单尚未取货或取消" in response.content.decode()
    assert Order.objects.get(pk=order.pk).user.phone == member.phone


def test_a_due_request_waits_for_an_order_placed_during_the_cooling_off():
    sold = scenario.selling(members=1, help_sellers=0)
    member = sold.members[0]
    request = services.deletion_request(user=member)
    scenario.join(sold, member)

    with time_machine.travel(request.due_at + timedelta(minutes=1), tick=False):
        assert tasks.process_due_deletions() == 0

    request.refresh_from_db()
    assert request.status == DeletionRequest.Status.PENDING
    assert "尚未取货" in request.waiting_reason
    assert User.objects.get(pk=member.pk).phone == member.phone


def test_an_open_after_sales_request_and_leading_a_point_block_deletion():
    sold = scenario.selling(members=1, help_sellers=0)
    member = sold.members[0]
    order = scenario.join(sold, member)
    scenario.pick_up(order)
    AfterSalesRequest.objects.create(
        brand=sold.campaign.brand, community=order.community, order=order, user=member, reason="quality",
        ask="refund", opened_at=clock.now(), first_answer_due=clock.now(), resolution_due=clock.now(),
    )  # fmt: skip

    assert len(services.deletion_blockers(member)) == 1
    assert "您是社群或自提点的团长：请先让运营方交接。" in services.deletion_blockers(sold.leader)
    with pytest.raises(services.DeletionRefused):
        services.deletion_request(user=sold.leader)


def test_the_operator_processes_a_request_at_once_within_their_brand(client):
    member = f.member()
    home = f.community()
    f.membership(user=member, community=home)
    request = services.deletion_request(user=member)
    other_brand_operator = f.operator(brand=f.brand("别家"))
    client.force_login(other_brand_operator)

    assert request.reference not in client.get("/ops/privacy/").content.decode()
    assert client.post(f"/ops/privacy/deletions/{request.pk}/process/").status_code == 404

    operator = f.operator(brand=home.brand)
    client.force_login(operator)
    page = client.get("/ops/privacy/").content.decode()
    assert request.reference in page
    client.post(f"/ops/privacy/deletions/{request.pk}/process/")

    request.refresh_from_db()
    assert request.status == DeletionRequest.Status.DONE and request.processed_by == operator
    assert User.objects.get(pk=member.pk).phone is None
    assert "deleted-" in client.get("/ops/privacy/").content.decode()
