"""Delivery-day documents (issue 12 item 4): pick lists, inbound, loading lists, hand-out lists, labels —
as print views and as xlsx, on a generated day after the split."""

from __future__ import annotations

import io
import re
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from catalogue.models import SKU
from community.models import Membership
from community.phones import mask_phone
from fulfillment.documents import handout_rows, pick_list_rows, pick_list_xlsx
from fulfillment.documents.common import full_phone, packs
from fulfillment.documents.qr import qr_svg
from fulfillment.documents.route import crate_counts, route_stops
from fulfillment.models import Handout, LoadLine, PointVerifier
from fulfillment.split import split_day
from groupbuy import clock
from jielong.models import Order, OrderLine
from tests import factories
from tests.fulfillment.day import make_day

pytestmark = pytest.mark.django_db

ROW = re.compile(r'data-sku="([^"]+)" data-units="(\d+)"')


def split(day):
    return split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)


def with_leaders(day):
    """Each point gets a leader with a phone of their own (the stop contact of the loading list)."""
    for n, point in enumerate(day.points):
        point.leader = factories.member(phone=f"+8613700000{n:03d}", nickname=f"团长{n}")
        point.save(update_fields=["leader"])
    return day


def ordered(day) -> Counter:
    """(SKU code, pickup point, member) → units, straight from the live order lines."""
    units: Counter = Counter()
    for line in (
        OrderLine.objects.filter(order__campaign__in=day.campaigns)
        .exclude(order__status=Order.Status.CANCELLED)
        .select_related("order", "item__sku")
    ):
        units[(line.item.sku.code, line.order.pickup_point_id, line.order.user_id)] += line.quantity
    return units


def per(units: Counter, *keep: int) -> Counter:
    out: Counter = Counter()
    for key, q in units.items():
        out[tuple(key[i] for i in keep) if len(keep) > 1 else key[keep[0]]] += q
    return out


def supplier_ids(day) -> list[int]:
    return sorted({sku.product.supplier_id for sku in day.skus})


def xlsx_rows(content: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def get(client, name, *args, query: str = ""):
    response = client.get(reverse(f"fulfillment:{name}", args=args) + query)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


@pytest.fixture
def day():
    day = with_leaders(make_day(suppliers=4, points=5, members=20, campaigns=3))
    split(day)
    return day


@pytest.fixture(autouse=True)
def english(client):
    """Pages and files in English, so the assertions can name the columns."""
    client.cookies["django_language"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def operator_client(client):
    client.force_login(factories.operator())
    return client


# --- every unit exactly once, in the documents themselves ----------------------------------------------


def test_every_ordered_unit_is_on_exactly_one_supplier_pick_list_printed_and_in_excel(day, operator_client):
    iso, units = day.delivery_date.isoformat(), ordered(day)
    printed, excel = Counter(), Counter()
    for supplier_id in supplier_ids(day):
        _response, html = get(operator_client, "doc-pick-list", iso, supplier_id)
        for code, quantity in ROW.findall(html.decode()):
            printed[code] += int(quantity)
        response, content = get(operator_client, "doc-pick-list-xlsx", iso, supplier_id)
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        rows = xlsx_rows(content)
        assert rows[1][:6] == ("SKU code", "Product", "Spec", "Unit", "Zone", "Quantity")
        for row in rows[2:]:
            excel[row[0]] += row[5]
    assert printed == per(units, 0)
    assert excel == per(units, 0)


def test_every_ordered_unit_is_on_exactly_one_hand_out_list_printed_and_in_excel(day, operator_client):
    iso, units = day.delivery_date.isoformat(), ordered(day)
    code_owner = {(h.pickup_point_id, h.code): h.user_id for h in Handout.objects.all()}
    printed, excel_totals = Counter(), Counter()
    for point in day.points:
        _response, html = get(operator_client, "doc-handouts", iso, point.pk)
        for row in re.split(r"<tr data-code=", html.decode())[1:]:
            code = row[1:7]
            for sku, quantity in ROW.findall(row):
                printed[(sku, point.pk, code_owner[(point.pk, code)])] += int(quantity)
        _response, content = get(operator_client, "doc-handouts-xlsx", iso, point.pk)
        rows = xlsx_rows(content)
        assert rows[1] == ("Pickup code", "Member", "Phone", "Items", "Units", "Changed", "Picked up")
        for code, _member, _phone, _items, total, *_marks in rows[2:]:
            excel_totals[(point.pk, code_owner[(point.pk, str(code))])] += total
    assert printed == units
    assert excel_totals == per(units, 1, 2)


def test_a_members_orders_at_one_point_are_one_row_with_one_code(day, operator_client):
    point = day.points[0]
    members = {o.user_id for o in day.orders if o.pickup_point_id == point.pk}
    rows = list(handout_rows(point.pk, day.delivery_date))
    assert len(rows) == len(members) == Handout.objects.filter(pickup_point=point).count()
    assert len({r.code for r in rows}) == len(rows)
    assert [r.code for r in rows] == sorted(r.code for r in rows)
    by_name = list(handout_rows(point.pk, day.delivery_date, sort="name"))
    assert [r.member for r in by_name] == sorted(r.member for r in by_name)


# --- packs and crates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "per_pack", "expected"), [(1, 10, 1), (10, 10, 1), (11, 10, 2), (23, 10, 3), (5, 1, 5)]
)
def test_packs_round_up(units, per_pack, expected):
    assert packs(units, per_pack) == expected


def test_the_loading_list_counts_crates_per_sku_and_labels_every_crate_n_of_m(operator_client):
    day = with_leaders(make_day(suppliers=3, points=4, members=16, campaigns=2))
    SKU.objects.filter(pk=day.skus[0].pk).update(units_per_pack=2)
    split(day)
    cold, dry = day.routes
    for route in (cold, dry):
        stops = list(route_stops(route.pk, day.delivery_date))
        assert [s.position for s in stops] == sorted(s.position for s in stops)
        for stop in stops:
            for block in stop.zones:
                for row in block.rows:
                    line = LoadLine.objects.select_related("sku").get(
                        route=route, pickup_point_id=stop.point_id, sku__code=row.sku_code
                    )
                    assert row.quantity == line.quantity
                    assert row.crates == -(-line.quantity // line.sku.units_per_pack)
        counts = crate_counts(route.pk, day.delivery_date)
        assert {(c.point_id, c.zone): c.crates for c in counts} == {
            (s.point_id, b.zone): b.crates for s in stops for b in s.zones
        }
        _response, content = get(operator_client, "doc-crate-labels-xlsx", day.delivery_date.isoformat(), route.pk)
        labels = xlsx_rows(content)[1:]
        assert len(labels) == sum(c.crates for c in counts)
        for count in counts:
            mine = [
                row for row in labels if row[2] == count.point and row[4] <= count.crates and row[5] == count.crates
            ]
            numbers = sorted(row[4] for row in mine if row[3] == count.zone_label)
            assert numbers == list(range(1, count.crates + 1))


def test_the_loading_list_shows_stops_in_route_order_with_the_leaders_full_phone(day, operator_client):
    cold = day.routes[0]  # its stops run through the points in reverse
    _response, html = get(operator_client, "doc-route", day.delivery_date.isoformat(), cold.pk)
    text = html.decode()
    positions = [text.index(f'<span class="stop-name">{p.name}</span>') for p in reversed(day.points)]
    assert positions == sorted(positions)
    for point in day.points:
        point.refresh_from_db()
        assert full_phone(point.leader.phone) in text


# --- phones: masked everywhere but the route's stop contact ------------------------------------------------


def _phone_forms(e164: str) -> list[str]:
    return [e164, e164[3:], full_phone(e164)]


def test_no_full_member_phone_appears_in_any_document_and_leaders_only_on_the_loading_list(day, operator_client):
    iso = day.delivery_date.isoformat()
    documents: dict[str, bytes] = {}
    for paper in ("", "?paper=80mm"):
        for supplier_id in supplier_ids(day):
            documents[f"pick {supplier_id}{paper}"] = get(
                operator_client, "doc-pick-list", iso, supplier_id, query=paper
            )[1]
        for route in day.routes:
            documents[f"route {route.pk}{paper}"] = get(operator_client, "doc-route", iso, route.pk, query=paper)[1]
            documents[f"crates {route.pk}{paper}"] = get(
                operator_client, "doc-crate-labels", iso, route.pk, query=paper
            )[1]
        documents[f"inbound{paper}"] = get(
            operator_client, "doc-inbound", iso, day.routes[0].warehouse_id, query=paper
        )[1]
        for point in day.points:
            documents[f"handouts {point.pk}{paper}"] = get(operator_client, "doc-handouts", iso, point.pk, query=paper)[
                1
            ]
            documents[f"labels {point.pk}{paper}"] = get(
                operator_client, "doc-handout-labels", iso, point.pk, query=paper
            )[1]
    texts = {name: body.decode() for name, body in documents.items()}
    for point in day.points:
        for kind in ("doc-handouts-xlsx", "doc-handout-labels-xlsx"):
            texts[f"{kind} {point.pk}"] = repr(xlsx_rows(get(operator_client, kind, iso, point.pk)[1]))
    for route in day.routes:
        texts[f"route xlsx {route.pk}"] = repr(xlsx_rows(get(operator_client, "doc-route-xlsx", iso, route.pk)[1]))

    for member in day.members:
        for name, text in texts.items():
            for form in _phone_forms(member.phone):
                assert form not in text, f"{member.phone} in full in {name}"
    masked = [mask_phone(m.phone) for m in day.members]
    assert any(m in texts[f"handouts {day.points[0].pk}"] for m in masked)
    for point in day.points:
        point.refresh_from_db()
        leader_phone = full_phone(point.leader.phone)
        for name, text in texts.items():
            if leader_phone in text:
                assert name.startswith(("route ", "route xlsx")), f"leader's phone in {name}"


# --- changes, shortages of routes, labels ---------------------------------------------------------------


def test_a_late_cancellation_is_marked_on_the_pick_list_and_the_hand_out_list(day, operator_client):
    gone = day.orders[0]
    line = gone.lines.select_related("item__sku__product").first()
    sku = line.item.sku
    before = next(
        r.quantity for r in pick_list_rows(sku.product.supplier_id, day.delivery_date) if r.sku_code == sku.code
    )
    Order.objects.filter(pk=gone.pk).update(status=Order.Status.CANCELLED)
    split(day)

    row = next(r for r in pick_list_rows(sku.product.supplier_id, day.delivery_date) if r.sku_code == sku.code)
    assert row.change == f"{before} → {before - line.quantity}"
    rows = xlsx_rows(pick_list_xlsx(sku.product.supplier_id, day.delivery_date).read())
    assert any(r[0] == sku.code and r[10] == row.change for r in rows)
    handout = Handout.objects.get(user=gone.user_id, pickup_point=gone.pickup_point_id)
    listed = next(r for r in handout_rows(gone.pickup_point_id, day.delivery_date) if r.code == handout.code)
    assert listed.is_changed
    _response, html = get(operator_client, "doc-handouts", day.delivery_date.isoformat(), gone.pickup_point_id)
    assert "→" in html.decode()


def test_lines_no_route_carries_are_listed_loudly_on_the_inbound_document(operator_client):
    day = make_day(route_every_point=False)
    split(day)
    last = day.points[-1]
    if not LoadLine.objects.filter(pickup_point=last, route__isnull=True, quantity__gt=0).exists():
        pytest.skip("the generated day has nothing ambient for the last point")
    iso, warehouse = day.delivery_date.isoformat(), day.routes[0].warehouse_id
    _response, html = get(operator_client, "doc-inbound", iso, warehouse)
    loud = html.decode().split('class="loud"')[1].split("</section>")[0]
    assert last.name in loud
    _response, content = get(operator_client, "doc-inbound-xlsx", iso, warehouse)
    sheets = load_workbook(io.BytesIO(content), read_only=True).sheetnames
    assert len(sheets) == 2 and sheets[1] == "NOT ON ANY ROUTE"


def test_the_hand_out_labels_qr_is_exactly_the_pickup_code(day, operator_client):
    point = day.points[0]
    _response, html = get(operator_client, "doc-handout-labels", day.delivery_date.isoformat(), point.pk)
    text = html.decode()
    handouts = Handout.objects.filter(pickup_point=point)
    assert text.count('class="label"') == handouts.count()
    for handout in handouts:
        assert str(qr_svg(handout.code)) in text  # the same QR as one of the bare 6-digit code, nothing else
    _response, content = get(operator_client, "doc-handout-labels-xlsx", day.delivery_date.isoformat(), point.pk)
    rows = xlsx_rows(content)
    assert rows[0][-1] == "QR code"
    assert sorted(r[-1] for r in rows[1:]) == sorted(handouts.values_list("code", flat=True))


def test_a_picked_up_hand_out_is_marked(day, operator_client):
    handout = Handout.objects.filter(pickup_point=day.points[0]).first()
    Handout.objects.filter(pk=handout.pk).update(verified_at=clock.now())
    row = next(r for r in handout_rows(day.points[0].pk, day.delivery_date) if r.code == handout.code)
    assert row.is_picked_up
    rows = xlsx_rows(get(operator_client, "doc-handouts-xlsx", day.delivery_date.isoformat(), day.points[0].pk)[1])
    assert next(r for r in rows[2:] if r[0] == handout.code)[6] == "Picked up"


def test_excel_text_that_looks_like_a_formula_stays_text(day, operator_client):
    member = next(m for m in day.members if any(o.user_id == m.pk for o in day.orders))
    member.nickname = '=HYPERLINK("http://evil.example","x")'
    member.save(update_fields=["nickname"])
    point_id = next(o.pickup_point_id for o in day.orders if o.user_id == member.pk)
    content = get(operator_client, "doc-handouts-xlsx", day.delivery_date.isoformat(), point_id)[1]
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    cell = next(row[1] for row in sheet.iter_rows(min_row=3) if row[1].value == member.nickname)
    assert cell.data_type == "s"
    assert cell.quotePrefix


# --- who may open what ----------------------------------------------------------------------------------


def _point_urls(day, point):
    iso = day.delivery_date.isoformat()
    return [
        reverse(f"fulfillment:{name}", args=[iso, point.pk])
        for name in ("doc-handouts", "doc-handouts-xlsx", "doc-handout-labels", "doc-handout-labels-xlsx")
    ]


def _operator_urls(day):
    iso, route = day.delivery_date.isoformat(), day.routes[0]
    return [
        reverse("fulfillment:doc-pick-list", args=[iso, supplier_ids(day)[0]]),
        reverse("fulfillment:doc-pick-list-xlsx", args=[iso, supplier_ids(day)[0]]),
        reverse("fulfillment:doc-inbound", args=[iso, route.warehouse_id]),
        reverse("fulfillment:doc-inbound-xlsx", args=[iso, route.warehouse_id]),
        reverse("fulfillment:doc-route", args=[iso, route.pk]),
        reverse("fulfillment:doc-route-xlsx", args=[iso, route.pk]),
        reverse("fulfillment:doc-crate-labels", args=[iso, route.pk]),
        reverse("fulfillment:doc-crate-labels-xlsx", args=[iso, route.pk]),
    ]


def test_a_points_leader_and_verifier_open_its_hand_out_documents_only(day, client):
    mine, other = day.points[0], day.points[1]
    verifier = factories.member()
    PointVerifier.objects.create(pickup_point=mine, user=verifier, added_by=factories.operator(), added_at=clock.now())
    for user in (mine.leader, verifier):
        client.force_login(user)
        for url in _point_urls(day, mine):
            assert client.get(url).status_code == 200, url
        for url in _point_urls(day, other) + _operator_urls(day):
            assert client.get(url).status_code == 403, url


def test_a_community_leader_opens_the_hand_out_documents_of_the_communitys_points(day, client):
    leader = factories.member()
    Membership.objects.create(user=leader, community=day.points[0].community, role=Membership.Role.LEADER)
    client.force_login(leader)
    assert all(client.get(url).status_code == 200 for url in _point_urls(day, day.points[3]))


def test_members_are_refused_and_anonymous_visitors_sent_to_sign_in(day, client):
    client.force_login(next(m for m in day.members))
    for url in _point_urls(day, day.points[0]) + _operator_urls(day):
        assert client.get(url).status_code == 403, url
    client.logout()
    for url in _point_urls(day, day.points[0]):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("community:member-login"))
    for url in _operator_urls(day):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("web:staff-login"))


def test_operators_open_everything_and_a_bad_date_or_target_is_not_found(day, operator_client):
    for url in _operator_urls(day) + _point_urls(day, day.points[2]):
        assert operator_client.get(url).status_code == 200, url
    assert (
        operator_client.get(reverse("fulfillment:doc-route", args=["2026-13-45", day.routes[0].pk])).status_code == 404
    )
    assert (
        operator_client.get(reverse("fulfillment:doc-route", args=[day.delivery_date.isoformat(), 999999])).status_code
        == 404
    )
    assert operator_client.post(_operator_urls(day)[0]).status_code == 405
