"""The pickup counter's pages (/m/pickup/…) and the member's order panel, through Django's test client."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from fulfillment.models import Handout, Parcel, PointVerifier
from fulfillment.pickup import verify_pickup
from fulfillment.split import split_day
from groupbuy import clock
from jielong.models import Order
from tests import factories
from tests.fulfillment.day import make_day

pytestmark = pytest.mark.django_db

State = Parcel.State
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def counter():
    """A split day, its first merged hand-out arrived at the point, and the point's leader."""
    day = make_day(suppliers=2, points=3, members=8, campaigns=2)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    handout = next(h for h in Handout.objects.order_by("pk") if h.parcels.count() >= 2)
    now = clock.now()
    Parcel.objects.filter(handout=handout).update(state=State.AT_PICKUP, at_pickup_at=now, state_changed_at=now)
    Order.objects.filter(parcel__handout=handout).update(status=Order.Status.READY)
    leader = factories.member(nickname="王团长")
    point = handout.pickup_point
    point.leader = leader
    point.opening_hours = "每天 9:00-20:00"
    point.save(update_fields=["leader", "opening_hours"])
    return day, handout, leader


def policy_directive(response, name: str) -> list[str]:
    parts = (part.split() for part in response["Content-Security-Policy"].split("; "))
    return next(part[1:] for part in parts if part[0] == name)


def point_url(handout, name="fulfillment:pickup-point"):
    return reverse(name, args=[handout.pickup_point_id])


def test_the_member_home_shows_the_counter_entry_only_to_those_with_points(client, counter):
    _day, handout, leader = counter
    client.force_login(leader)
    page = client.get(reverse("community:member-home")).content.decode()
    assert 'id="pickup-entry"' in page and reverse("fulfillment:pickup-points") in page

    client.force_login(handout.user)
    page = client.get(reverse("community:member-home")).content.decode()
    assert 'id="pickup-entry"' not in page


def test_the_points_page_lists_the_leaders_points_with_counts(client, counter):
    day, handout, leader = counter
    client.force_login(leader)
    with time_machine.travel(clock.now() + timedelta(days=1), tick=False):
        page = client.get(reverse("fulfillment:pickup-points")).content.decode()
    assert handout.pickup_point.name in page
    assert point_url(handout) in page
    assert all(p.name not in page for p in day.points if p.pk != handout.pickup_point_id)

    client.force_login(handout.user)
    assert client.get(reverse("fulfillment:pickup-points")).status_code == 403


def test_a_stranger_cannot_open_a_points_counter(client, counter):
    _day, handout, _leader = counter
    client.force_login(handout.user)
    assert client.get(point_url(handout)).status_code == 403
    assert client.post(point_url(handout, "fulfillment:pickup-verify"), {"code": handout.code}).status_code == 403
    handout.refresh_from_db()
    assert handout.verified_at is None


def test_only_the_counter_may_compile_its_webassembly_qr_reader(client, counter):
    day, handout, leader = counter
    client.force_login(leader)

    page = client.get(point_url(handout), {"date": day.delivery_date.isoformat()})
    home = client.get(reverse("community:member-home"))

    script_src = policy_directive(page, "script-src")
    assert script_src == ["'self'", "'wasm-unsafe-eval'"]  # WebAssembly only: no eval(), no inline script
    assert policy_directive(home, "script-src") == ["'self'"]
    assert 'data-wasm-url="/static/vendor/zxing_reader.wasm"' in page.content.decode()


def test_lookup_then_verify_then_undo_through_the_counter(client, counter):
    day, handout, leader = counter
    client.force_login(leader)

    page = client.get(point_url(handout), {"date": day.delivery_date.isoformat()}).content.decode()
    assert 'id="scan-start"' in page and "zxing-wasm-reader.js" in page
    assert handout.user.display_name in page  # in the outstanding list

    card = client.get(point_url(handout, "fulfillment:pickup-lookup"), {"code": handout.code}, **HTMX)
    html = card.content.decode()
    assert card.status_code == 200
    assert handout.user.display_name in html and handout.user.phone[-4:] in html
    assert handout.user.phone not in html  # only the last four digits
    assert 'id="verify-confirm"' in html
    handout.refresh_from_db()
    assert handout.verified_at is None

    verified = client.post(point_url(handout, "fulfillment:pickup-verify"), {"code": handout.code}, **HTMX)
    assert verified.status_code == 200
    assert verified["HX-Trigger"] == "pickup-changed"
    assert 'id="handout-verified"' in verified.content.decode()
    handout.refresh_from_db()
    assert handout.verified_by_id == leader.pk

    again = client.post(point_url(handout, "fulfillment:pickup-verify"), {"code": handout.code}, **HTMX)
    assert 'id="card-error"' in again.content.decode() and "王团长" in again.content.decode()

    lists = client.get(point_url(handout, "fulfillment:pickup-lists"), {"date": day.delivery_date.isoformat()})
    assert 'id="picked-up"' in lists.content.decode()

    undo_url = reverse("fulfillment:pickup-undo", args=[handout.pk])
    no_reason = client.post(undo_url, {"reason": ""}, **HTMX)
    assert "Say why" in no_reason.content.decode() or "原因" in no_reason.content.decode()
    handout.refresh_from_db()
    assert handout.verified_at is not None
    undone = client.post(undo_url, {"reason": "扫错了"}, **HTMX)
    assert undone.status_code == 200
    handout.refresh_from_db()
    assert handout.verified_at is None
    assert set(handout.parcels.values_list("state", flat=True)) == {State.AT_PICKUP}


def test_the_code_form_works_without_scripts(client, counter):
    _day, handout, leader = counter
    client.force_login(leader)
    page = client.get(point_url(handout), {"code": handout.code}).content.decode()
    assert 'id="verify-confirm"' in page
    response = client.post(point_url(handout, "fulfillment:pickup-verify"), {"code": handout.code})
    assert response.status_code == 200 and 'id="handout-verified"' in response.content.decode()
    refused = client.post(point_url(handout, "fulfillment:pickup-verify"), {"code": "12"})
    assert refused.status_code == 400


def test_a_verifier_sees_the_counter_too(client, counter):
    _day, handout, leader = counter
    helper = factories.member(nickname="小李")
    PointVerifier.objects.create(pickup_point=handout.pickup_point, user=helper, added_by=leader, added_at=clock.now())
    client.force_login(helper)
    assert client.get(point_url(handout)).status_code == 200
    assert 'id="pickup-entry"' in client.get(reverse("community:member-home")).content.decode()


# --- the member's order page ---------------------------------------------------------------------


def order_url(order):
    return reverse("jielong:member-order", args=[order.pk])


def test_the_members_order_page_shows_the_code_the_qr_the_point_and_where_the_order_is(client, counter):
    _day, handout, _leader = counter
    order = Order.objects.filter(parcel__handout=handout).order_by("pk").first()
    client.force_login(handout.user)
    page = client.get(order_url(order)).content.decode()
    assert 'id="pickup-panel"' in page
    assert f'id="pickup-code">{handout.code}<' in page
    assert "<svg" in page  # the QR, server-rendered
    assert handout.pickup_point.name in page and "每天 9:00-20:00" in page
    assert 'id="pickup-merged"' in page  # two orders, one hand-out
    assert 'hx-trigger="every 4s"' in page


def test_the_panel_poll_answers_204_until_the_state_changes_then_stops(client, counter):
    _day, handout, leader = counter
    order = Order.objects.filter(parcel__handout=handout).order_by("pk").first()
    client.force_login(handout.user)
    poll = reverse("fulfillment:member-order-pickup", args=[order.pk])
    page = client.get(order_url(order)).content.decode()
    version = page.split(poll + "?v=", 1)[1].split('"', 1)[0].replace("%7C", "|")
    assert client.get(poll, {"v": version}).status_code == 204

    verify_pickup(code=handout.code, pickup_point_id=handout.pickup_point_id, by=leader)
    changed = client.get(poll, {"v": version})
    html = changed.content.decode()
    assert changed.status_code == 200
    assert 'id="pickup-done"' in html and "hx-trigger" not in html.split('id="pickup-panel"')[0] + html.split(">")[0]
    assert 'id="order-status" hx-swap-oob="true"' in html
    assert 'id="pickup-qr"' not in html


def test_another_members_order_poll_is_404(client, counter):
    _day, handout, _leader = counter
    order = Order.objects.filter(parcel__handout=handout).first()
    client.force_login(factories.member())
    assert client.get(reverse("fulfillment:member-order-pickup", args=[order.pk])).status_code == 404


def test_before_the_split_a_formed_order_says_its_code_is_coming_and_an_open_one_shows_nothing(client):
    day = make_day(suppliers=1, points=1, members=2, campaigns=2)
    formed, still_open = day.campaigns
    still_open.status = "open"
    still_open.save(update_fields=["status"])
    member = day.members[0]
    client.force_login(member)

    page = client.get(order_url(Order.objects.get(campaign=formed, user=member))).content.decode()
    assert 'id="pickup-panel"' in page and 'id="pickup-code"' not in page

    page = client.get(order_url(Order.objects.get(campaign=still_open, user=member))).content.decode()
    assert 'id="pickup-panel"' not in page


# --- the operator's delivery-day page --------------------------------------------------------------


def test_the_delivery_day_page_shows_pickup_per_point(client, counter):
    day, handout, leader = counter
    verify_pickup(code=handout.code, pickup_point_id=handout.pickup_point_id, by=leader)
    client.force_login(factories.operator())
    page = client.get(reverse("fulfillment:day", args=[day.brand_id, day.delivery_date.isoformat()])).content.decode()
    assert 'id="pickup"' in page
    picked = handout.parcels.count()
    orders = Parcel.objects.filter(delivery_date=day.delivery_date).exclude(state__in=["cancelled", "shortage"]).count()
    assert f'id="pickup-picked-up">{picked}<' in page
    assert f'id="pickup-orders">{orders}<' in page
    assert f'data-point="{handout.pickup_point_id}"' in page


def test_my_orders_shows_where_each_order_is_its_code_and_the_points_hours(client, counter):
    _day, handout, _leader = counter
    client.force_login(handout.user)
    page = client.get(reverse("community:member-home")).content.decode()
    section = page.split('id="orders"', 1)[1]
    assert 'class="small order-pickup" data-state="at_pickup"' in section
    assert handout.code in section and "每天 9:00-20:00" in section


def test_the_counter_links_the_days_hand_out_list_and_labels_which_the_leader_may_open(client, counter):
    day, handout, leader = counter
    client.force_login(leader)
    iso = day.delivery_date.isoformat()

    page = client.get(point_url(handout), {"date": iso}).content.decode()

    handouts_url = reverse("fulfillment:doc-handouts", args=[iso, handout.pickup_point_id])
    assert handouts_url in page
    assert reverse("fulfillment:doc-handout-labels", args=[iso, handout.pickup_point_id]) in page
    assert client.get(handouts_url).status_code == 200
