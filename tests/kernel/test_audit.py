"""The kernel's audit log: one entry per record, in the caller's transaction, only changed fields, phones
masked, the place from the request (or the system), every recorded code listed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from groupbuy import audit
from groupbuy.audit import actions, place
from groupbuy.audit.middleware import AuditPlaceMiddleware
from groupbuy.audit.models import Entry
from groupbuy.stream import envelope
from tests import factories

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
# Pinned in each test; relative to the real (or CI-shifted) present, never a literal date.
MOMENT = (datetime.now(UTC) + timedelta(days=30)).replace(hour=7, minute=8, second=9, microsecond=0)


def test_record_writes_one_entry_with_only_the_changed_fields_and_phones_masked(
    time_machine, django_assert_num_queries
):
    time_machine.move_to(MOMENT, tick=False)
    operator = factories.operator(nickname="林峰")
    sku = factories.sku(price_fen=1290)
    with django_assert_num_queries(1):
        made = audit.record(
            "catalogue.price_changed",
            actor=operator,
            target=sku,
            brand_id=7,
            before={"list_price_fen": 1290, "code": "EGG", "phone": "+8613812345678"},
            after={"list_price_fen": 990, "code": "EGG", "phone": "+8613912345678"},
            note="for 13812345678, order 2031050612345678",
        )
    entry = Entry.objects.get()
    assert entry.pk == made.pk
    assert (entry.action, entry.actor_id, entry.actor_label, entry.brand_id) == (
        "catalogue.price_changed",
        operator.pk,
        "林峰",
        7,
    )
    assert (entry.target_type, entry.target_id, entry.target_label) == ("catalogue.sku", str(sku.pk), str(sku))
    assert entry.before == {"list_price_fen": 1290, "phone": "138****5678"}
    assert entry.after == {"list_price_fen": 990, "phone": "139****5678"}
    assert entry.note == "for 138****5678, order 2031050612345678"
    assert entry.at == MOMENT
    assert (entry.ip, entry.user_agent, entry.via, entry.place) == (None, "", "system", "system")


def test_a_rolled_back_change_leaves_no_entry():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("catalogue.stock_changed", before={"stock": 1}, after={"stock": 2})
        raise RuntimeError("the change failed")
    assert not Entry.objects.exists()


def test_the_target_may_be_described_and_the_brand_comes_from_a_target_that_has_one():
    brand = factories.brand()
    community = factories.community(brand=brand)
    audit.record(
        "jielong.all_orders_exported", target=audit.Target(type="jielong.order", label="orders of 3 +8613812345678")
    )
    audit.record("community.role_changed", target=community)
    listed, owned = Entry.objects.order_by("pk")
    assert (listed.target_type, listed.target_id, listed.target_label, listed.brand_id) == (
        "jielong.order",
        "",
        "orders of 3 138****5678",
        None,
    )
    assert owned.brand_id == brand.pk
    with pytest.raises(TypeError):
        audit.record("community.role_changed", target="a string")


def test_an_anonymous_actor_is_no_actor_and_the_stream_context_dates_the_demo_history(time_machine):
    from django.contrib.auth.models import AnonymousUser

    time_machine.move_to(MOMENT, tick=False)
    then = (MOMENT - timedelta(days=124)).replace(hour=3, minute=4, second=0)
    with envelope.context(occurred_at=then):
        audit.record("cdp.phone_unmasked", actor=AnonymousUser())
    entry = Entry.objects.get()
    assert (entry.actor_id, entry.actor_label, entry.at) == (None, "", then)


def test_record_all_writes_several_entries_in_one_insert(django_assert_num_queries):
    made = [audit.entry("jielong.refunded", after={"refunded_fen": n}) for n in (1, 2, 3)]
    with django_assert_num_queries(1):
        audit.record_all(made)
    assert sorted(Entry.objects.values_list("after", flat=True), key=str) == [
        {"refunded_fen": 1},
        {"refunded_fen": 2},
        {"refunded_fen": 3},
    ]


def _through_middleware(request):
    seen = {}

    def view(req):
        seen["place"] = place.current()
        audit.record("cdp.phone_unmasked")
        return HttpResponse("ok")

    AuditPlaceMiddleware(view)(request)
    return seen["place"]


def test_the_middleware_gives_the_request_its_address_and_browser_and_restores_the_system_after():
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Mozilla/5.0 Test")
    seen = _through_middleware(request)
    assert (seen.ip, seen.user_agent, seen.via) == ("203.0.113.7", "Mozilla/5.0 Test", "")
    assert Entry.objects.get().place == "203.0.113.7 · Mozilla/5.0 Test"
    assert place.current().via == "system"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_behind_a_trusted_proxy_the_place_is_the_forwarded_client_and_a_forged_header_is_not_believed():
    proxied = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert _through_middleware(proxied).ip == "198.51.100.9"
    direct = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert _through_middleware(direct).ip == "192.0.2.1"


def test_an_api_token_request_says_so_and_a_malformed_address_is_dropped_not_failing_the_change():
    with place.place(ip="not-an-ip", user_agent="curl/8"):
        place.via_api_token("gb_3f9a")
        audit.record("jielong.refunded")
    entry = Entry.objects.get()
    assert (entry.ip, entry.via, entry.place) == (None, "api token gb_3f9a", "api token gb_3f9a · curl/8")


def test_a_management_command_is_the_place_outside_a_request(monkeypatch):
    monkeypatch.setattr("sys.argv", ["manage.py", "seed_demo"])
    place._outside_request.cache_clear()
    try:
        assert place.current().via == "command seed_demo"
        monkeypatch.setattr("sys.argv", ["manage.py", "runserver"])
        place._outside_request.cache_clear()
        assert place.current().via == "system"
    finally:
        place._outside_request.cache_clear()


_RECORDED = re.compile(r"audit\.(?:record|entry)\(\s*\"([^\"]+)\"")


def test_every_code_the_code_base_records_is_listed_with_a_label():
    sources = [p for p in ROOT.rglob("*.py") if not {".venv", "tests", "node_modules"} & set(p.parts)]
    used = {code for path in sources for code in _RECORDED.findall(path.read_text(encoding="utf-8"))}
    assert used, "no audited call sites found"
    assert sorted(used - set(actions.ACTIONS)) == []
    assert all(re.fullmatch(r"[a-z]+\.[a-z_]+", code) for code in actions.ACTIONS)


def test_an_entry_reads_in_words_in_both_languages():
    from django.utils import translation

    from groupbuy.audit import selectors

    entry = audit.record(
        "jielong.item_price_changed",
        before={"上海青 500g · price": "¥15.90", "list_price_fen": 3990, "rate_bp": 500, "flagged": False},
        after={"上海青 500g · price": "¥12.90", "list_price_fen": 2990, "rate_bp": 800, "flagged": True},
    )
    with translation.override("zh-hans"):
        shown = selectors.describe(entry)
        assert shown["action_label"] == "修改接龙商品价格"
        assert shown["place"] == "系统"
        assert [(c.field, c.before, c.after) for c in shown["changes"]] == [
            ("上海青 500g · 价格", "¥15.90", "¥12.90"),
            ("价格", "¥39.90", "¥29.90"),
            ("比例", "5%", "8%"),
            ("黑名单", "否", "是"),
        ]
    with translation.override("en"):
        shown = selectors.describe(entry)
        assert shown["action_label"] == "Changed a jielong's prices"
        assert [c.field for c in shown["changes"]] == ["上海青 500g · price", "price", "rate", "flagged"]
