"""After-sales requests: a member opens one (items, reason, photos, ask), fulfilment's shortages open their own,
the leader or operator answers and resolves (refund through the ledger, replacement, credit, reject), SLA
escalation on a pinned clock, bulk refunds whose preview is what is refunded; bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from aftersales import services
from aftersales.events import RequestOpened, RequestResolved
from aftersales.models import BulkRefund, Request, RequestMessage, RequestPhoto, SlaSettings
from fulfillment.events import ShortageRecorded
from fulfillment.models import PickLine, Shortage
from groupbuy import clock, events
from groupbuy.errors import DomainError
from jielong import ledger
from jielong.models import LedgerEntry, Order
from livestream.models import Notification
from tests import factories as f
from tests.aftersales.orders import paid_orders

pytestmark = pytest.mark.django_db

ORDER_FEN = 3 * 1590


def photo(name="p.jpg", size=(800, 600)) -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def open_request(made, **overrides):
    order = made.orders[0]
    first = order.lines.order_by("pk")[0]
    fields = {
        "order_id": order.pk,
        "user": order.user,
        "lines": {first.pk: 1},
        "reason": "quality",
        "ask": "refund",
        "asked_fen": 1590,
        "description": "叶子烂了",
        "photos": [photo()],
    }
    fields.update(overrides)
    return services.request_open(**fields)


def nothing_written():
    return (Request.objects.count(), RequestPhoto.objects.count(), LedgerEntry.objects.filter(kind="refund").count())


# --- opening ---------------------------------------------------------------------------------------------------------


def test_a_member_opens_a_request_with_a_photo(django_capture_on_commit_callbacks):
    made = paid_orders()
    heard = []
    events.subscribe(RequestOpened, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            req = open_request(made)
    finally:
        events.unsubscribe(RequestOpened, heard.append)

    assert (req.status, req.reason, req.ask, req.asked_fen) == ("open", "quality", "refund", 1590)
    assert [(line.quantity) for line in req.lines.all()] == [1]
    stored = req.photos.get()
    assert stored.image.name.endswith(".jpg") and max(stored.width, stored.height) <= services.PHOTO_MAX_SIDE
    assert req.first_answer_due == req.opened_at + timedelta(hours=4)
    assert req.messages.filter(kind="step").count() == 1
    assert Notification.objects.filter(user=req.user, link=f"/m/aftersales/{req.pk}/").count() == 1
    assert [(e.request_id, e.source) for e in heard] == [(req.pk, "member")]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        pytest.param({"asked_fen": 1591}, "amount", id="refund-above-the-items-value"),
        pytest.param({"asked_fen": 0}, "amount", id="refund-of-nothing"),
        pytest.param({"lines": {}}, "empty", id="no-items"),
        pytest.param({"reason": "bored"}, "reason", id="unknown-reason"),
        pytest.param({"photos": [SimpleUploadedFile("x.jpg", b"not a picture")]}, "not_image", id="not-an-image"),
        pytest.param({"photos": [photo() for _ in range(7)]}, "images", id="too-many-photos"),
    ],
)
def test_bad_input_opens_nothing(overrides, code):
    made = paid_orders()
    with pytest.raises(Exception) as refused:
        open_request(made, **overrides)
    assert refused.value.code == code
    assert nothing_written() == (0, 0, 0)


def test_a_too_large_photo_is_refused(monkeypatch):
    made = paid_orders()
    monkeypatch.setattr(services, "PHOTO_MAX_BYTES", 1024)
    with pytest.raises(Exception) as refused:
        open_request(made, photos=[photo(size=(1200, 1200))])
    assert refused.value.code == "too_large" and nothing_written() == (0, 0, 0)


def test_someone_elses_order_and_a_cancelled_order_are_refused():
    made = paid_orders(members=2)
    with pytest.raises(services.AftersalesRefused) as refused:
        open_request(made, user=made.orders[1].user)
    assert refused.value.code == "not_owner"
    Order.objects.filter(pk=made.orders[0].pk).update(status=Order.Status.CANCELLED)
    with pytest.raises(services.AftersalesRefused) as refused:
        open_request(made)
    assert refused.value.code == "cancelled" and nothing_written() == (0, 0, 0)


def test_a_second_open_request_on_one_order_is_refused():
    made = paid_orders()
    open_request(made)
    with pytest.raises(services.AftersalesRefused) as refused:
        open_request(made)
    assert refused.value.code == "already_open" and Request.objects.count() == 1


def test_an_unpaid_order_cannot_ask_for_money_but_can_ask_for_a_replacement():
    made = paid_orders(paid=False)
    with pytest.raises(services.AftersalesRefused) as refused:
        open_request(made)
    assert refused.value.code == "nothing_to_refund"
    assert open_request(made, ask="replacement", asked_fen=0).ask == "replacement"


# --- resolving ---------------------------------------------------------------------------------------------------------


def test_the_leader_answers_then_refunds_part(django_capture_on_commit_callbacks):
    made = paid_orders()
    req = open_request(made)
    heard = []
    events.subscribe(RequestResolved, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.request_reply(request_id=req.pk, by=made.leader, body="抱歉，马上处理")
            services.request_resolve(
                request_id=req.pk, by=made.leader, resolution="refund", amount_fen=800, note="部分退款"
            )
    finally:
        events.unsubscribe(RequestResolved, heard.append)

    req.refresh_from_db()
    order = req.order
    order.refresh_from_db()
    assert (req.status, req.resolution, req.resolved_fen) == ("resolved", "refund", 800)
    assert req.first_answered_at is not None
    assert (order.refunded_fen, order.payment_status) == (800, "paid")
    refund = LedgerEntry.objects.get(kind="refund")
    assert (refund.amount_fen, refund.key, refund.order_line_id) == (
        800,
        f"refund:aftersales-{req.pk}#{req.lines.get().order_line_id}",
        req.lines.get().order_line_id,
    )
    assert [(e.resolution, e.amount_fen) for e in heard] == [("refund", 800)]
    assert Notification.objects.filter(user=req.user).count() == 3  # opened, reply, resolved
    assert ledger.ledger_reconcile(order_ids=[order.pk]) == []


def test_a_second_resolution_and_an_over_refund_change_nothing():
    made = paid_orders()
    req = open_request(made)
    # One unit was claimed: its line cost two (3180 paid), the request may give back one unit's 1590.
    with pytest.raises(DomainError) as refused:
        services.request_resolve(request_id=req.pk, by=made.leader, resolution="refund", amount_fen=1591)
    assert refused.value.code == "over_refund" and "¥15.90" in refused.value.message
    req.refresh_from_db()
    assert req.status == "open" and not LedgerEntry.objects.filter(kind="refund").exists()

    services.request_resolve(request_id=req.pk, by=made.operator, resolution="refund", amount_fen=1590)
    with pytest.raises(services.AftersalesRefused) as refused:
        services.request_resolve(request_id=req.pk, by=made.leader, resolution="refund", amount_fen=1)
    assert refused.value.code == "closed"
    assert LedgerEntry.objects.filter(kind="refund").count() == 1
    assert Order.objects.get(pk=req.order_id).refunded_fen == 1590


def test_reject_needs_a_reason_and_credit_writes_the_ledger():
    made = paid_orders(members=2)
    req = open_request(made)
    with pytest.raises(services.AftersalesRefused):
        services.request_resolve(request_id=req.pk, by=made.leader, resolution="rejected")
    services.request_resolve(request_id=req.pk, by=made.leader, resolution="rejected", note="照片不清楚")
    assert Request.objects.get(pk=req.pk).status == "rejected"

    other = made.orders[1]
    credit = services.request_open(
        order_id=other.pk, user=other.user, lines={other.lines.first().pk: 1}, reason="other", ask="credit"
    )
    services.request_resolve(request_id=credit.pk, by=made.leader, resolution="credit", amount_fen=500)
    assert LedgerEntry.objects.get(kind="credit").amount_fen == 500


def test_a_resolution_is_capped_by_what_the_ledger_left_for_those_lines():
    made = paid_orders()
    req = open_request(made)
    line = req.lines.get().order_line
    ledger.refund_issue(order_line=line, amount_fen=3180 - 500, key="elsewhere", by=made.operator)
    with pytest.raises(DomainError) as refused:
        services.request_resolve(request_id=req.pk, by=made.leader, resolution="refund", amount_fen=501)
    assert refused.value.code == "over_refund" and "¥5.00" in refused.value.message
    services.request_resolve(request_id=req.pk, by=made.leader, resolution="refund", amount_fen=500)
    assert Order.objects.get(pk=req.order_id).refunded_fen == 3180


def test_a_replacement_is_recorded_without_money():
    made = paid_orders()
    req = open_request(made, ask="replacement", asked_fen=0)
    services.request_resolve(request_id=req.pk, by=made.leader, resolution="replacement", note="下次配送补发")
    req.refresh_from_db()
    assert (req.status, req.resolution, req.resolved_fen) == ("resolved", "replacement", 0)
    assert not LedgerEntry.objects.exclude(kind="payment").exists()


def test_a_leader_of_another_community_cannot_see_or_resolve():
    made = paid_orders()
    req = open_request(made)
    stranger = f.member()
    f.membership(user=stranger, community=f.community(), role="leader")
    with pytest.raises(services.AftersalesRefused) as refused:
        services.request_resolve(request_id=req.pk, by=stranger, resolution="replacement")
    assert refused.value.code == "not_found"


# --- shortages open requests by themselves ------------------------------------------------------------------------------


def _shortage(line, quantity=1):
    pick, _made = PickLine.objects.get_or_create(
        delivery_date=clock.localdate(),
        sku=line.item.sku,
        defaults={"brand": line.order.campaign.brand, "quantity": 10, "supplier": line.item.sku.product.supplier},
    )
    return Shortage.objects.create(order_line=line, pick_line=pick, quantity=quantity, created_at=clock.now())


def test_a_recorded_shortage_opens_one_request(django_capture_on_commit_callbacks):
    made = paid_orders()
    line = made.orders[0].lines.order_by("pk")[0]
    with django_capture_on_commit_callbacks(execute=True):
        _shortage(line, 2)
        events.publish(
            ShortageRecorded(order_id=line.order_id, order_line_id=line.pk, sku_id=line.item.sku_id, quantity=2)
        )
    req = Request.objects.get()
    assert (req.source, req.reason, req.ask, req.asked_fen) == ("shortage", "shortage", "refund", 2 * 1590)
    assert services.shortages_sweep() == 0 and Request.objects.count() == 1
    # fulfilment's own SHORTAGE notice tells the member; the request adds no second inbox message
    assert not Notification.objects.filter(link__startswith="/m/aftersales/").exists()


def test_the_sweep_opens_what_an_event_missed_once():
    made = paid_orders(members=2)
    for order in made.orders:
        _shortage(order.lines.order_by("pk")[1])
    assert services.shortages_sweep() == 2
    assert services.shortages_sweep() == 0
    assert Request.objects.filter(source="shortage").count() == 2


# --- SLA ---------------------------------------------------------------------------------------------------------------


def test_overdue_requests_escalate_once_on_a_pinned_clock():
    made = paid_orders()
    SlaSettings.objects.create(brand=made.campaign.brand, first_answer_hours=2, resolution_hours=24)
    start = clock.now()
    with time_machine.travel(start, tick=False):
        req = open_request(made)
    assert req.first_answer_due == start + timedelta(hours=2)
    with time_machine.travel(start + timedelta(hours=1, minutes=59), tick=False):
        assert services.requests_escalate_due() == 0
    with time_machine.travel(start + timedelta(hours=2, minutes=1), tick=False):
        assert Request.objects.get(pk=req.pk).is_overdue(at=clock.now())
        assert services.requests_escalate_due() == 1
        assert services.requests_escalate_due() == 0
    req.refresh_from_db()
    assert req.escalated_at == start + timedelta(hours=2, minutes=1)
    assert RequestMessage.objects.filter(request=req, kind="step").count() == 2


def test_an_answered_request_is_overdue_only_past_resolution():
    made = paid_orders()
    start = clock.now()
    with time_machine.travel(start, tick=False):
        req = open_request(made)
        services.request_reply(request_id=req.pk, by=made.leader, body="在处理")
    req.refresh_from_db()
    assert not req.is_overdue(at=start + timedelta(hours=47))
    assert req.is_overdue(at=start + timedelta(hours=48, seconds=1))


# --- bulk refund -------------------------------------------------------------------------------------------------------


def test_bulk_refund_refunds_exactly_the_preview_once(django_capture_on_commit_callbacks):
    made = paid_orders(members=3)
    ledger.refund_issue(order=made.orders[0], amount_fen=1000, key="earlier", by=made.operator)
    preview = services.bulk_refund_preview(campaign_id=made.campaign.pk)
    assert [r.amount_fen for r in preview.rows] == [ORDER_FEN - 1000, ORDER_FEN, ORDER_FEN]

    bulk = services.bulk_refund_confirm(
        by=made.operator,
        key="k1",
        expected_total_fen=preview.total_fen,
        reason="冷链故障",
        campaign_id=made.campaign.pk,
    )
    again = services.bulk_refund_confirm(
        by=made.operator,
        key="k1",
        expected_total_fen=preview.total_fen,
        reason="冷链故障",
        campaign_id=made.campaign.pk,
    )
    refunded = sum(
        LedgerEntry.objects.filter(kind="refund", key__startswith="refund:bulk-k1-").values_list(
            "amount_fen", flat=True
        )
    )
    assert again.pk == bulk.pk and refunded == bulk.total_fen == preview.total_fen
    assert set(Order.objects.values_list("payment_status", flat=True)) == {"refunded"}
    assert ledger.ledger_reconcile() == []


def test_bulk_refund_refuses_a_stale_preview():
    made = paid_orders(members=2)
    preview = services.bulk_refund_preview(campaign_id=made.campaign.pk)
    ledger.refund_issue(order=made.orders[1], amount_fen=100, key="meanwhile", by=made.operator)
    with pytest.raises(services.AftersalesRefused) as refused:
        services.bulk_refund_confirm(
            by=made.operator, key="k2", expected_total_fen=preview.total_fen, reason="x", campaign_id=made.campaign.pk
        )
    assert refused.value.code == "changed"
    assert LedgerEntry.objects.filter(kind="refund").count() == 1 and not BulkRefund.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_leader_and_the_operator_resolving_at_once_move_money_once():
    import threading

    from django.db import close_old_connections

    made = paid_orders()
    req = open_request(made)
    barrier = threading.Barrier(6)
    outcomes = []

    def resolve(by, amount):
        try:
            barrier.wait()
            services.request_resolve(request_id=req.pk, by=by, resolution="refund", amount_fen=amount)
            outcomes.append(amount)
        except DomainError as refused:
            outcomes.append(refused.code)
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=resolve, args=(by, amount))
        for by, amount in [(made.leader, 1590), (made.operator, 1000)] * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    req.refresh_from_db()
    assert outcomes.count("closed") == 5 and req.resolved_fen in outcomes
    assert list(LedgerEntry.objects.filter(kind="refund").values_list("amount_fen", flat=True)) == [req.resolved_fen]
    assert Order.objects.get(pk=req.order_id).refunded_fen == req.resolved_fen
    assert ledger.ledger_reconcile(order_ids=[req.order_id]) == []
