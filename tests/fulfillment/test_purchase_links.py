"""Supplier links (供应商链接): made by an operator and shown once, only the token's SHA-256 stored; the supplier's
phone page with its pick lists, the xlsx and the confirm form; expiry, revocation and unknown tokens."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from openpyxl import load_workbook

from fulfillment.models import BatchMove, PickLine, Shortage, SupplierLink
from fulfillment.supplier_links import supplier_link_create, supplier_link_revoke
from groupbuy import clock
from jielong import services
from tests import factories as f
from tests.fulfillment.test_purchase_supply import formed_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client():
    client = Client()
    client.force_login(f.operator())
    return client


def _link(day, *, days=7):
    return supplier_link_create(supplier=day.pick.supplier, by=f.operator(), days=days)


def _unchanged(day):
    pick = PickLine.objects.get(pk=day.pick.pk)
    return pick.confirmed_quantity, pick.confirmed_at, sorted(Shortage.objects.values_list("order_line_id", "quantity"))


def test_an_operator_makes_a_link_it_is_shown_once_and_only_its_hash_is_kept(time_machine, operator_client):
    day = formed_day(time_machine)
    supplier = day.pick.supplier
    url = f"/ops/fulfilment/purchase/suppliers/{supplier.pk}/links/"

    made = operator_client.post(url, {"days": "3"})

    assert made.status_code == 200
    page = made.content.decode()
    token = re.search(r"/s/([A-Za-z0-9_-]{40,})/", page).group(1)
    assert "<svg" in page  # the QR code of it
    link = SupplierLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(SupplierLink.objects.values_list())
    assert link.expires_at == clock.now() + timedelta(days=3)
    # The list shows it, live, never opened; the token is nowhere on the page any more.
    listed = operator_client.get(url).content.decode()
    assert token not in listed
    assert "有效" in listed and "未打开过" in listed


def test_an_expiry_outside_the_choices_is_refused_and_no_link_is_made(time_machine, operator_client):
    day = formed_day(time_machine)
    response = operator_client.post(
        f"/ops/fulfilment/purchase/suppliers/{day.pick.supplier_id}/links/", {"days": "365"}
    )
    assert response.status_code == 400
    assert "3 天、7 天或 30 天" in response.content.decode()
    assert not SupplierLink.objects.exists()


def test_the_supplier_sees_its_pick_list_on_its_phone_and_the_link_is_marked_used(time_machine):
    day = formed_day(time_machine)
    made = _link(day)

    response = Client().get(f"/s/{made.token}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert day.scenario.sku.product.name in page
    assert f'name="q{day.pick.pk}"' in page and 'value="8"' in page
    assert "确认能供应的数量" in page
    assert "no-store" in response["Cache-Control"] and response["Referrer-Policy"] == "same-origin"
    assert SupplierLink.objects.get().last_used_at == clock.now()


def test_a_changed_line_shows_what_it_was(time_machine):
    day = formed_day(time_machine)
    PickLine.objects.filter(pk=day.pick.pk).update(quantity=6, previous_quantity=8, changed_at=clock.now())
    page = Client().get(f"/s/{_link(day).token}/").content.decode()
    assert re.search(r"<s>8</s> →\s*</span><strong>6</strong>", page)


def test_the_supplier_confirms_a_shortfall_through_the_page(time_machine):
    day = formed_day(time_machine)
    made = _link(day)

    response = Client().post(
        f"/s/{made.token}/confirm/", {"date": day.delivery_date.isoformat(), f"q{day.pick.pk}": "5"}
    )

    assert response.status_code == 302 and response["Location"].endswith(f"#day-{day.delivery_date.isoformat()}")
    assert PickLine.objects.get(pk=day.pick.pk).confirmed_quantity == 5
    assert sum(Shortage.objects.values_list("quantity", flat=True)) == 3
    page = Client().get(f"/s/{made.token}/").content.decode()
    assert "您确认了 5" in page and "缺 3" in page


@pytest.mark.parametrize("value", ["9", "-1", "两", ""], ids=["too-many", "negative", "not-a-number", "empty"])
def test_a_bad_quantity_on_the_page_changes_nothing(time_machine, value):
    day = formed_day(time_machine)
    made = _link(day)
    before = _unchanged(day)
    client = Client()

    response = client.post(
        f"/s/{made.token}/confirm/", {"date": day.delivery_date.isoformat(), f"q{day.pick.pk}": value}
    )

    assert response.status_code == 302
    assert _unchanged(day) == before
    page = client.get(response["Location"]).content.decode()
    assert "最多只能确认已订的 8 件" in page or "请输入 0 或以上的整数" in page


def test_an_expired_link_answers_410_in_chinese_and_changes_nothing(time_machine):
    day = formed_day(time_machine)
    made = _link(day, days=3)
    before = _unchanged(day)

    time_machine.shift(timedelta(days=3, seconds=1))
    page = Client().get(f"/s/{made.token}/")
    confirm = Client().post(
        f"/s/{made.token}/confirm/", {"date": day.delivery_date.isoformat(), f"q{day.pick.pk}": "1"}
    )
    xlsx = Client().get(f"/s/{made.token}/pick-list/{day.delivery_date.isoformat()}.xlsx")

    assert (page.status_code, confirm.status_code, xlsx.status_code) == (410, 410, 410)
    text = page.content.decode()
    assert "链接已失效" in text and "已于" in text and "过期" in text
    assert _unchanged(day) == before
    assert SupplierLink.objects.get().last_used_at is None


def test_a_link_still_works_just_before_it_expires(time_machine):
    day = formed_day(time_machine)
    made = _link(day, days=3)
    time_machine.shift(timedelta(days=3, seconds=-1))
    assert Client().get(f"/s/{made.token}/").status_code == 200


def test_a_revoked_link_answers_410_and_changes_nothing(time_machine, operator_client):
    day = formed_day(time_machine)
    made = _link(day)
    before = _unchanged(day)

    revoked = operator_client.post(f"/ops/fulfilment/purchase/links/{made.link.pk}/revoke/")
    assert revoked.status_code == 302

    page = Client().get(f"/s/{made.token}/")
    confirm = Client().post(
        f"/s/{made.token}/confirm/", {"date": day.delivery_date.isoformat(), f"q{day.pick.pk}": "1"}
    )
    assert (page.status_code, confirm.status_code) == (410, 410)
    assert "停用" in page.content.decode()
    assert _unchanged(day) == before
    listed = operator_client.get(f"/ops/fulfilment/purchase/suppliers/{day.pick.supplier_id}/links/").content.decode()
    assert "已停用" in listed


def test_revoking_twice_keeps_the_first_time(time_machine):
    day = formed_day(time_machine)
    made = _link(day)
    by = f.operator()
    first = supplier_link_revoke(link=made.link, by=by).revoked_at
    time_machine.shift(timedelta(minutes=5))
    assert supplier_link_revoke(link=made.link, by=by).revoked_at == first


@pytest.mark.parametrize("path", ["", "confirm/", "pick-list/2030-01-01.xlsx"], ids=["page", "confirm", "xlsx"])
def test_an_unknown_token_is_a_404(time_machine, path):
    day = formed_day(time_machine)
    _link(day)
    client = Client()
    response = (
        client.post(f"/s/not-a-real-token/{path}") if path == "confirm/" else client.get(f"/s/not-a-real-token/{path}")
    )
    assert response.status_code == 404


def test_the_pick_list_downloads_as_xlsx(time_machine):
    day = formed_day(time_machine)
    made = _link(day)

    response = Client().get(f"/s/{made.token}/pick-list/{day.delivery_date.isoformat()}.xlsx")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    product = day.scenario.sku.product.name
    [line] = [row for row in rows if product in row]
    assert 8 in line
    # Another day the supplier has nothing on: not found.
    other = (day.delivery_date + timedelta(days=9)).isoformat()
    assert Client().get(f"/s/{made.token}/pick-list/{other}.xlsx").status_code == 404


def test_shipped_on_the_page_moves_the_day_and_then_confirmations_are_refused(time_machine):
    day = formed_day(time_machine)
    made = _link(day)
    client = Client()
    client.post(f"/s/{made.token}/confirm/", {"date": day.delivery_date.isoformat(), f"q{day.pick.pk}": "6"})

    shipped = client.post(f"/s/{made.token}/shipped/", {"date": day.delivery_date.isoformat()})

    assert shipped.status_code == 302
    assert BatchMove.objects.filter(kind=BatchMove.Kind.SUPPLIER_SHIPPED, supplier=day.pick.supplier).count() == 1
    before = _unchanged(day)
    again = client.post(f"/s/{made.token}/confirm/", {"date": day.delivery_date.isoformat(), f"q{day.pick.pk}": "8"})
    assert _unchanged(day) == before
    page = client.get(again["Location"]).content.decode()
    assert "已标记为已发货" in page
    assert 'name="q' in page and "disabled" in page


def test_only_operators_open_the_purchase_pages(time_machine):
    day = formed_day(time_machine)
    member = Client()
    member.force_login(day.scenario.members[0])
    assert member.get("/ops/fulfilment/purchase/").status_code == 403
    assert (
        member.post(f"/ops/fulfilment/purchase/suppliers/{day.pick.supplier_id}/links/", {"days": "7"}).status_code
        == 403
    )
    assert not SupplierLink.objects.exists()
    assert Client().get("/ops/fulfilment/purchase/").status_code == 302  # to the staff sign-in


def test_the_supplier_also_sees_what_is_still_being_ordered(time_machine):
    day = formed_day(time_machine)
    still_open = f.open_campaign(members=1, threshold=5, perk_limit=0)  # another of the farm's SKUs
    assert still_open.sku.product.supplier_id == day.pick.supplier_id
    services.order_join(
        campaign_id=still_open.campaign.pk, user=still_open.members[0], quantities={still_open.item.pk: 3}
    )

    page = Client().get(f"/s/{_link(day).token}/").content.decode()

    assert "接龙进行中" in page
    assert re.search(rf"{still_open.sku.product.name}[^<]*</span> <strong>3 ", page)
