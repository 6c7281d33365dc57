"""Bad input answers one error body with a stable code, and nothing changes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from jielong.models import LedgerEntry
from tests.aftersales.orders import paid_orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    return paid_orders().orders[0]


def post_raw(client, order, raw: bytes | str, content_type="application/json", key="k"):
    return client.generic(
        "POST", f"/api/v1/orders/{order.pk}/refunds/", raw, content_type=content_type, HTTP_IDEMPOTENCY_KEY=key
    )


def nothing_refunded() -> bool:
    return not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ('{"amount_fen": 100, "reason": ', 400, "malformed_json"),
        ("[1, 2]", 400, "malformed_json"),
        ('{"amount_fen": NaN, "reason": "x"}', 400, "malformed_json"),
        (b"\xff\xfe", 400, "malformed_json"),
        ('{"amount_fen": "100", "reason": "x"}', 400, "wrong_type"),
        ('{"amount_fen": 100.5, "reason": "x"}', 400, "wrong_type"),
        ('{"amount_fen": true, "reason": "x"}', 400, "wrong_type"),
        ('{"amount_fen": 100, "reason": 5}', 400, "wrong_type"),
        ('{"amount_fen": 100, "reason": "x", "refund_all": true}', 400, "unknown_field"),
        ('{"amount_fen": -5, "reason": "x"}', 400, "invalid_input"),
        ('{"reason": "x"}', 400, "invalid_input"),
    ],
    ids=[
        "truncated",
        "not-an-object",
        "nan",
        "not-utf8",
        "string-for-int",
        "fraction-for-int",
        "bool-for-int",
        "int-for-string",
        "unknown-field",
        "negative",
        "missing",
    ],
)
def test_bad_bodies(api_a, order, raw, status, code):
    response = post_raw(api_a, order, raw)
    assert error(response) == (status, code)
    assert response.json()["error"]["message"]
    assert nothing_refunded()


def test_field_errors_name_the_fields(api_a, order):
    response = post_raw(api_a, order, '{"amount_fen": "1", "reason": "x", "extra": 1}')
    assert set(response.json()["error"]["fields"]) == {"extra"}
    response = post_raw(api_a, order, '{"amount_fen": "1", "reason": "x"}')
    assert set(response.json()["error"]["fields"]) == {"amount_fen"}


def test_a_huge_body_is_refused_before_it_is_read(api_a, order, settings):
    settings.API_MAX_BODY_BYTES = 1024
    raw = '{"amount_fen": 100, "reason": "' + "x" * 2000 + '"}'
    assert error(post_raw(api_a, order, raw)) == (413, "too_large")
    assert nothing_refunded()


def test_a_body_that_is_not_json_is_refused(api_a, order):
    response = post_raw(api_a, order, "amount_fen=100", content_type="application/x-www-form-urlencoded")
    assert error(response) == (415, "unsupported_media_type")


def test_messages_follow_the_callers_language(api_a, order):
    english = api_a.generic(
        "POST",
        f"/api/v1/orders/{order.pk}/refunds/",
        "{",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    chinese = post_raw(api_a, order, "{")
    assert english.json()["error"]["code"] == chinese.json()["error"]["code"] == "malformed_json"
    assert english.json()["error"]["message"] != chinese.json()["error"]["message"]


def test_a_cursor_from_another_query_is_refused(api_a):
    paid_orders(members=3)
    by_status = api_a.get("/api/v1/orders/", {"page_size": 1, "status": "joined"}).json()["next"]
    cursor = parse_qs(urlsplit(by_status).query)["cursor"][0]
    response = api_a.get("/api/v1/orders/", {"page_size": 1, "cursor": cursor})
    assert error(response) == (400, "invalid_cursor")
    response = api_a.get("/api/v1/campaigns/", {"cursor": cursor})
    assert error(response) == (400, "invalid_cursor")
    assert error(api_a.get("/api/v1/orders/", {"cursor": "not-base64!"})) == (400, "invalid_cursor")
    # The same query with its own cursor reads on; another page size is the same query.
    assert api_a.get("/api/v1/orders/", {"page_size": 2, "status": "joined", "cursor": cursor}).status_code == 200


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"colour": "red"}, "unknown_parameter"),
        ({"updated_after": "yesterday"}, "invalid_input"),
        ({"campaign_id": "abc"}, "invalid_input"),
        ({"campaign_id": str(2**70)}, "invalid_input"),
        ({"ordering": "total_fen"}, "invalid_input"),
        ({"page_size": "0"}, "invalid_input"),
        ({"status": "lost"}, "invalid_input"),
    ],
    ids=["unknown", "bad-time", "bad-id", "huge-id", "bad-ordering", "page-size", "bad-choice"],
)
def test_bad_query_parameters(api_a, params, code):
    assert error(api_a.get("/api/v1/orders/", params)) == (400, code)


def test_unknown_or_huge_ids_answer_404(api_a):
    assert error(api_a.get("/api/v1/orders/99999999/")) == (404, "not_found")
    assert error(api_a.get(f"/api/v1/orders/{2**70}/")) == (404, "not_found")
    assert error(api_a.get("/api/v1/orders/abc/")) == (404, "not_found")


def test_a_wrong_method_answers_405(api_a):
    assert error(api_a.delete("/api/v1/orders/")) == (405, "method_not_allowed")


def test_a_body_over_the_sites_upload_limit_answers_the_same_code(api_a, order, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096  # the site-wide middleware refuses before the view
    raw = '{"amount_fen": 100, "reason": "' + "x" * 5000 + '"}'
    assert error(post_raw(api_a, order, raw)) == (413, "too_large")
    assert nothing_refunded()
