"""The operator's audit log page: brand isolation, filters, pages, both languages, and the export (CSV and
xlsx) that is itself an entry. And the PII downloads in other apps leave their entry with the client's place."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from groupbuy import audit
from groupbuy.audit.models import Entry
from tests import factories as f

pytestmark = pytest.mark.django_db
# Pinned in each test; relative to the real (or CI-shifted) present, never a literal date.
MOMENT = (datetime.now(UTC) + timedelta(days=30)).replace(hour=9, minute=0, second=0, microsecond=0)
BROWSER = "Mozilla/5.0 (page test)"


@pytest.fixture
def world(time_machine):
    time_machine.move_to(MOMENT, tick=False)
    a, b = f.brand("源味集"), f.brand("鲜果铺")
    everyone = f.operator(nickname="总部")
    op_a = f.operator(nickname="林峰", brand=a)
    op_b = f.operator(nickname="陈静", brand=b)
    sku = f.sku(price_fen=3990)
    audit.record(
        "catalogue.price_changed",
        actor=op_a,
        target=sku,
        brand_id=a.pk,
        before={"list_price_fen": 3990},
        after={"list_price_fen": 2990},
    )
    time_machine.move_to(MOMENT - timedelta(days=3), tick=False)
    audit.record(
        "community.person_flagged", actor=op_b, target=f.member(nickname="李先生"), brand_id=b.pk, note="反复退款"
    )
    time_machine.move_to(MOMENT, tick=False)
    return {"a": a, "b": b, "everyone": everyone, "op_a": op_a, "op_b": op_b}


def _page(client, user, **params):
    client.force_login(user)
    return client.get(reverse("web:audit"), params, HTTP_USER_AGENT=BROWSER)


def _actions(response) -> list[str]:
    return [row["entry"].action for row in response.context["entries"]]


def test_an_operator_of_a_brand_sees_only_that_brands_entries_and_installation_staff_see_all(client, world):
    assert _actions(_page(client, world["op_a"])) == ["catalogue.price_changed"]
    assert _actions(_page(client, world["op_b"])) == ["community.person_flagged"]
    assert _actions(_page(client, world["everyone"])) == ["catalogue.price_changed", "community.person_flagged"]


def test_members_and_hosts_cannot_open_it(client, world):
    client.force_login(f.host())
    assert client.get(reverse("web:audit")).status_code == 403
    client.logout()
    assert client.get(reverse("web:audit")).status_code == 302


def test_the_filters_narrow_by_action_actor_target_and_dates(client, world):
    everyone = world["everyone"]
    assert _actions(_page(client, everyone, action="community.person_flagged")) == ["community.person_flagged"]
    assert _actions(_page(client, everyone, actor="林峰")) == ["catalogue.price_changed"]
    assert _actions(_page(client, everyone, target_type="community.user")) == ["community.person_flagged"]
    assert _actions(_page(client, everyone, target="李先生")) == ["community.person_flagged"]
    day = MOMENT.date()
    assert _actions(_page(client, everyone, since=day.isoformat())) == ["catalogue.price_changed"]
    assert _actions(_page(client, everyone, until=(day - timedelta(days=1)).isoformat())) == [
        "community.person_flagged"
    ]
    wrong = _page(client, everyone, since=day.isoformat(), until=(day - timedelta(days=1)).isoformat())
    assert wrong.status_code == 200 and _actions(wrong) == []


def test_each_entry_reads_in_chinese_and_in_english(client, world):
    chinese = _page(client, world["op_a"]).content.decode()
    assert "修改价格" in chinese and "¥39.90" in chinese and "¥29.90" in chinese and "林峰" in chinese
    client.cookies["django_language"] = "en"
    english = _page(client, world["op_a"]).content.decode()
    assert "Changed a price" in english and "price" in english and "Audit log" in english


def test_pages_of_fifty(client, world):
    audit.record_all(audit.entry("jielong.refunded", brand_id=world["a"].pk) for _ in range(50))
    first = _page(client, world["op_a"])
    assert len(first.context["entries"]) == 50 and first.context["page"].paginator.num_pages == 2
    assert len(_page(client, world["op_a"], page=2).context["entries"]) == 1


def test_the_csv_export_holds_the_brands_entries_and_is_itself_recorded_with_the_place(client, world):
    client.force_login(world["op_a"])
    response = client.get(
        reverse("web:audit-export", args=["csv"]), {"actor": "林峰"}, REMOTE_ADDR="203.0.113.5", HTTP_USER_AGENT=BROWSER
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][2] == "catalogue.price_changed" and rows[1][3] == "林峰"
    exported = Entry.objects.get(action="audit.exported")
    assert (exported.actor_id, exported.brand_id, exported.ip, exported.user_agent) == (
        world["op_a"].pk,
        world["a"].pk,
        "203.0.113.5",
        BROWSER,
    )
    assert exported.after == {"rows": 1, "filters": {"actor": "林峰"}, "format": "csv"}


def test_the_xlsx_export_opens_and_an_unknown_format_is_not_found(client, world):
    client.force_login(world["everyone"])
    response = client.get(reverse("web:audit-export", args=["xlsx"]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        "catalogue.price_changed",
        "community.person_flagged",
    ]
    assert client.get(reverse("web:audit-export", args=["pdf"])).status_code == 404
    assert Entry.objects.filter(action="audit.exported").count() == 1


def test_downloads_of_personal_data_elsewhere_are_entries_with_the_clients_place(client):
    given = f.open_campaign(members=1)
    operator = f.operator()
    client.force_login(operator)
    where = {"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": BROWSER}
    campaign = given.campaign
    assert client.get(reverse("jielong:ops-campaign-export", args=[campaign.pk]), **where).status_code == 200
    assert (
        client.post(reverse("jielong:ops-campaign-export-full-phones", args=[campaign.pk]), **where).status_code == 200
    )
    assert client.get(reverse("jielong:ops-orders-export"), **where).status_code == 200
    iso = MOMENT.date().isoformat()
    assert client.get(reverse("fulfillment:doc-handouts-xlsx", args=[iso, given.point.pk]), **where).status_code == 200
    entries = {e.action: e for e in Entry.objects.all()}
    assert set(entries) == {
        "jielong.orders_exported",
        "jielong.orders_exported_full_phones",
        "jielong.all_orders_exported",
        "fulfillment.document_exported",
    }
    assert all((e.actor_id, e.ip, e.user_agent) == (operator.pk, "203.0.113.9", BROWSER) for e in entries.values())
    assert entries["jielong.orders_exported"].target_id == str(campaign.pk)
    assert entries["fulfillment.document_exported"].after == {"document": "handouts", "day": iso}
    assert entries["fulfillment.document_exported"].brand_id == given.community.brand_id


def test_the_place_column_shows_the_address_and_the_browser_in_short_with_the_whole_user_agent_as_tooltip(client):
    operator = f.operator(nickname="林峰")
    agent = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0"
    )
    with audit.place.place(ip="203.0.113.7", user_agent=agent):
        audit.record("cdp.phone_unmasked", actor=operator, target=f.member(nickname="王姐"))
    client.force_login(operator)

    html = client.get(reverse("web:audit"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert '<td class="audit-place">203.0.113.7<br><span title="' + agent + '">微信 · iOS</span></td>' in html
