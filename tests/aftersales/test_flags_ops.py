"""The refund-abuse blacklist on the after-sales side: a flagged person cannot open a new request (fulfilment's
shortages still open theirs), whom to review from after-sales history (thresholds, ranking, reasons), the flag's
evidence, and the operator's pages — reachable from the after-sales tabs, operators only."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from aftersales import blacklist, selectors, services
from aftersales.models import Request, RequestMessage
from community import services as community_services
from community.models import Flag, FlagLogEntry
from groupbuy import clock
from groupbuy.errors import DomainError
from livestream.models import Notification
from tests import factories as f
from tests.aftersales.orders import paid_orders

pytestmark = pytest.mark.django_db

NEUTRAL_ZH = "暂时无法发起新的售后申请，如有疑问请联系团长。"


def _claim(order, *, reason="quality", resolution="refund", amount_fen=1590, line=0, by):
    """The member opens a request on one unit of the order's ``line`` (0: two units, 1: one); ``by`` resolves it."""
    chosen = order.lines.order_by("pk")[line]
    req = services.request_open(
        order_id=order.pk,
        user=order.user,
        lines={chosen.pk: 1},
        reason=reason,
        ask="refund",
        asked_fen=1590,
        description="",
    )
    if resolution:
        services.request_resolve(
            request_id=req.pk,
            by=by,
            resolution=resolution,
            amount_fen=amount_fen if resolution in ("refund", "credit") else 0,
            note="" if resolution != "rejected" else "照片看不出问题",
        )
    return req


def _written():
    return (Request.objects.count(), RequestMessage.objects.count(), Notification.objects.count())


# --- opening a request ------------------------------------------------------------------------------------------------


def test_a_flagged_person_cannot_open_a_request_and_nothing_is_written():
    made = paid_orders()
    order = made.orders[0]
    community_services.person_flag(
        by=made.operator, brand=made.campaign.brand, user=order.user, reason="多次以未收到为由退款"
    )
    before = _written()

    with pytest.raises(DomainError) as refused:
        _claim(order, resolution=None, by=made.operator)

    assert (refused.value.code, refused.value.message) == ("not_available", NEUTRAL_ZH)
    assert _written() == before


def test_a_flag_in_another_brand_does_not_stop_a_request():
    made = paid_orders()
    order = made.orders[0]
    community_services.person_flag(by=made.operator, brand=f.brand("另一个品牌"), user=order.user, reason="多次退款")

    req = _claim(order, resolution=None, by=made.operator)

    assert req.status == "open"


def test_a_shortage_recorded_by_fulfilment_still_opens_for_a_flagged_person():
    made = paid_orders()
    order = made.orders[0]
    community_services.person_flag(by=made.operator, brand=made.campaign.brand, user=order.user, reason="多次退款")
    line = order.lines.order_by("pk")[0]

    req = services.request_open_for_shortage(order_line_id=line.pk, quantity=1)

    assert (req.source, req.user_id, req.asked_fen) == ("shortage", order.user_id, 1590)


def test_the_member_page_shows_the_neutral_message():
    made = paid_orders()
    order = made.orders[0]
    community_services.person_flag(by=made.operator, brand=made.campaign.brand, user=order.user, reason="多次退款")
    client = Client()
    client.force_login(order.user)
    first = order.lines.order_by("pk")[0]
    # Told before the form is filled in.
    form = client.get(f"/m/orders/{order.pk}/aftersales/")
    assert form.status_code == 200 and NEUTRAL_ZH in form.content.decode()

    response = client.post(
        f"/m/orders/{order.pk}/aftersales/",
        {f"qty-{first.pk}": "1", f"qty-{order.lines.order_by('pk')[1].pk}": "0", "reason": "quality", "ask": "credit"},
    )

    assert response.status_code == 400
    assert NEUTRAL_ZH in response.content.decode()
    assert Request.objects.count() == 0


# --- whom to review ---------------------------------------------------------------------------------------------------


@pytest.fixture
def histories():
    """Five members of one campaign (orders of ¥47.70, paid) with different after-sales histories."""
    made = paid_orders(members=5)
    a, b, c, d, e = made.orders
    op = made.operator
    for line in (0, 0, 1):  # a: three "not received", each refunded ¥15.90 = 100% of ¥47.70
        _claim(a, reason="not_received", line=line, by=op)
    _claim(b, reason="quality", by=op)  # b: one refunded, one rejected = 33%
    _claim(b, reason="quality", resolution="rejected", by=op)
    _claim(c, reason="quality", by=op)  # c: a single request, whatever it got, is no pattern
    _claim(d, reason="quality", resolution="rejected", by=op)  # d: two rejected, nothing refunded
    _claim(d, reason="wrong_item", resolution="rejected", by=op)
    for line in e.lines.order_by("pk"):  # e: two shortages fulfilment recorded, refunded: not their doing
        req = services.request_open_for_shortage(order_line_id=line.pk, quantity=1)
        services.request_resolve(request_id=req.pk, by=op, resolution="refund", amount_fen=1590)
    return made


def test_suggestions_rank_people_by_reasons_then_refund_rate_and_say_why(histories):
    a, b, *_rest = histories.orders

    suggestions = selectors.flag_suggestions(brand_id=histories.campaign.brand_id)

    assert [(s.user, s.history.signals) for s in suggestions] == [
        (a.user, ["refund_rate", "repeated_reason"]),
        (b.user, ["refund_rate"]),
    ]
    first = suggestions[0].history
    assert (first.requests, first.refunded_fen, first.paid_fen, first.refund_percent, first.reasons) == (
        3,
        3 * 1590,
        3 * 1590,
        100,
        {"not_received": 3},
    )
    assert first.signal_texts == ["退款占实付的 100%（¥47.70 / ¥47.70）", "“未收到” 3 次"]
    assert suggestions[1].history.refund_percent == 33


def test_shortages_are_counted_apart_and_never_suggest_anyone(histories):
    e = histories.orders[4]

    history = selectors.person_history(brand_id=histories.campaign.brand_id, user_id=e.user_id)

    assert (history.requests, history.shortage_requests, history.refunded_fen, history.signals) == (0, 2, 0, [])


def test_amount_and_request_count_thresholds(monkeypatch, histories):
    monkeypatch.setattr(selectors, "HIGH_REFUND_RATE", 2.0)  # the rate alone no longer suggests anyone
    monkeypatch.setattr(selectors, "HIGH_REFUND_FEN", 3 * 1590)
    monkeypatch.setattr(selectors, "MANY_REQUESTS", 2)
    a, b, _c, d, _e = histories.orders

    suggestions = selectors.flag_suggestions(brand_id=histories.campaign.brand_id)

    assert [(s.user, s.history.signals) for s in suggestions] == [
        (a.user, ["repeated_reason", "refund_amount", "many_requests"]),
        (b.user, ["many_requests"]),
        (d.user, ["many_requests"]),
    ]


def test_flagged_people_move_to_the_end_of_the_suggestions_and_their_flag_keeps_the_evidence(histories):
    a = histories.orders[0]
    brand = histories.campaign.brand

    with time_machine.travel(clock.now() + timedelta(hours=1), tick=False):
        flag = blacklist.person_flag_from_history(
            by=histories.operator, brand=brand, user=a.user, reason="三次未收到，均已退款"
        )
        as_of = clock.now()

    assert flag.evidence == {
        "as_of": as_of.isoformat(),
        "requests": 3,
        "shortage_requests": 0,
        "refunded_fen": 3 * 1590,
        "credited_fen": 0,
        "paid_fen": 3 * 1590,
        "refund_percent": 100,
        "reasons": {"not_received": 3},
        "signals": ["refund_rate", "repeated_reason"],
        "request_ids": list(
            Request.objects.filter(user=a.user).order_by("-opened_at", "-pk").values_list("pk", flat=True)
        ),
    }
    assert [(s.user, s.is_flagged) for s in selectors.flag_suggestions(brand_id=brand.pk)] == [
        (histories.orders[1].user, False),
        (a.user, True),
    ]


# --- the operator's pages ---------------------------------------------------------------------------------------------


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_operator_flags_from_the_request_page_sees_the_lists_and_unflags(histories):
    a = histories.orders[0]
    brand = histories.campaign.brand
    ops = _client(histories.operator)
    req = Request.objects.filter(user=a.user).first()

    request_page = ops.get(f"/ops/aftersales/{req.pk}/").content.decode()
    person_url = f"/ops/aftersales/blacklist/people/{a.user_id}/?brand={brand.pk}"
    assert f'href="{person_url}"' in request_page.replace("&amp;", "&")
    assert ops.get("/ops/aftersales/").content.decode().count('href="/ops/aftersales/blacklist/"') == 1
    review = ops.get("/ops/aftersales/blacklist/review/").content.decode()
    assert f"/ops/aftersales/blacklist/people/{a.user_id}/" in review and "“未收到” 3 次" in review

    refused = ops.post(person_url, {"reason": "  ", "brand": brand.pk})
    assert refused.status_code == 400 and "请填写原因。" in refused.content.decode()
    assert Flag.objects.count() == 0

    flagged = ops.post(person_url, {"reason": "三次未收到", "brand": brand.pk})
    assert flagged.status_code == 302
    flag = Flag.objects.get()
    listing = ops.get("/ops/aftersales/blacklist/").content.decode()
    assert "三次未收到" in listing and histories.operator.display_name in listing and "100%" in listing
    assert f"/ops/aftersales/{req.pk}/" in ops.get(person_url).content.decode()

    ops.post(f"/ops/aftersales/blacklist/{flag.pk}/unflag/", {"reason": ""})
    assert Flag.objects.get().lifted_at is None
    ops.post(f"/ops/aftersales/blacklist/{flag.pk}/unflag/", {"reason": "核实为快递丢件"})
    assert Flag.objects.get().lift_reason == "核实为快递丢件"
    log = ops.get("/ops/aftersales/blacklist/log/").content.decode()
    assert "核实为快递丢件" in log and "三次未收到" in log
    assert list(FlagLogEntry.objects.order_by("pk").values_list("action", flat=True)) == ["flagged", "unflagged"]


@pytest.mark.parametrize("who", ["leader", "member"])
def test_leaders_and_members_can_neither_see_nor_flag(histories, who):
    a = histories.orders[0]
    brand = histories.campaign.brand
    flag = community_services.person_flag(by=histories.operator, brand=brand, user=a.user, reason="多次退款")
    client = _client(histories.leader if who == "leader" else histories.orders[1].user)

    for url in (
        "/ops/aftersales/blacklist/",
        "/ops/aftersales/blacklist/review/",
        "/ops/aftersales/blacklist/log/",
        f"/ops/aftersales/blacklist/people/{a.user_id}/",
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(f"/ops/aftersales/blacklist/people/{histories.orders[2].user_id}/", {"reason": "x"}).status_code
        == 403
    )
    assert client.post(f"/ops/aftersales/blacklist/{flag.pk}/unflag/", {"reason": "x"}).status_code == 403
    assert list(Flag.objects.values_list("user_id", "lifted_at")) == [(a.user_id, None)]
