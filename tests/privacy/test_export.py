"""Download my data: the member's own data, all of it, and nothing of anyone else's; the download is logged."""

import json

import pytest

from community import services as community_services
from community.models import Application
from groupbuy import audit
from groupbuy.stream.models import Event
from jielong import services as jielong
from privacy import services
from privacy.models import DataExport
from tests import factories as f

pytestmark = pytest.mark.django_db


def _two_members_with_orders():
    given = f.open_campaign(members=2, threshold=1, perk_limit=0)
    mine, theirs = given.members
    mine.nickname, mine.email = "小王", "wang@example.com"
    mine.save(update_fields=["nickname", "email"])
    theirs.nickname = "隔壁老李"
    theirs.save(update_fields=["nickname"])
    operator = f.operator()
    for user, quantity, note in ((mine, 2, "放门卫"), (theirs, 3, "李家专用备注")):
        order = jielong.order_join(campaign_id=given.campaign.pk, user=user, quantities={given.item.pk: quantity}).order
        order.note = note
        order.save(update_fields=["note"])
        jielong.order_mark_paid(order_id=order.pk, by=operator)
    Application.objects.create(user=mine, community=given.community, answers={"1": "我住3栋"}, score=5)
    Application.objects.create(user=theirs, community=given.community, answers={"1": "老李的回答"}, score=1)
    community_services.privacy_consent_record(user=mine, source="signin")
    Event.objects.create(name="page_viewed", user=mine, properties={"path": "/m/"})
    Event.objects.create(name="page_viewed", user=theirs, properties={"path": "/m/secret-of-li/"})
    return given, mine, theirs


def test_the_export_holds_the_members_own_data_and_nothing_of_others():
    given, mine, theirs = _two_members_with_orders()

    content, record = services.data_export_make(user=mine)

    text = content.decode()
    data = json.loads(text)
    assert data["profile"]["phone"] == mine.phone
    assert data["profile"]["nickname"] == "小王"
    assert data["profile"]["email"] == "wang@example.com"
    assert [m["community__name"] for m in data["memberships"]] == [given.community.name]
    assert data["applications"][0]["answers"] == {"1": "我住3栋"}
    [order] = data["orders"]
    assert order["note"] == "放门卫"
    assert order["items"] == [
        {"product": given.sku.product.name, "sku": given.sku.code, "quantity": 2, "unit_price_fen": 1590}
    ]
    assert order["total_fen"] == 3180
    assert order["payment_status"] == "paid"
    assert [(m["kind"], m["amount_fen"]) for m in data["money"]] == [("payment", 3180)]
    assert "page_viewed" in [e["event"] for e in data["events"]]
    assert {e["order_id"] for e in data["events"]} <= {order["id"], None}
    assert [c["version"] for c in data["consents"]] == ["2"]
    assert set(data) >= {"pickups", "aftersales_requests", "reviews", "nps_answers", "help_selling", "live"}
    # Nothing of the other member: not their number, name, note, answers or events.
    for secret in (theirs.phone, "隔壁老李", "李家专用备注", "老李的回答", "secret-of-li"):
        assert secret not in text
    # Logged: the download's size and counts, not the data; and an audit entry.
    assert record.size_bytes == len(content)
    assert record.counts["orders"] == 1
    assert record.counts["events"] == len(data["events"])
    assert DataExport.objects.filter(user=mine).count() == 1
    assert audit.Entry.objects.filter(action="privacy.data_exported", actor=mine).count() == 1


def test_the_download_page_sends_a_json_attachment(client):
    _given, mine, _theirs = _two_members_with_orders()
    client.force_login(mine)

    page = client.get("/m/me/privacy/")
    response = client.post("/m/me/privacy/download/")

    assert page.status_code == 200
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert json.loads(response.content)["profile"]["phone"] == mine.phone
    assert client.get("/m/me/privacy/download/").status_code == 405  # a GET (a prefetch) makes nothing
    assert DataExport.objects.count() == 1


def test_staff_and_strangers_cannot_download_a_members_data(client):
    client.force_login(f.operator())
    assert client.post("/m/me/privacy/download/").status_code == 403
    client.logout()
    assert client.post("/m/me/privacy/download/").status_code == 302
    assert not DataExport.objects.exists()
