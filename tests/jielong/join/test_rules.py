"""jielong.join.rules: the one check of join input, and every route (page form, DRF view, ASGI fast
path) refusing the same bad quantities with the same message."""

import json

import pytest
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from jielong.join import rules
from jielong.models import Order
from tests import factories as f
from tests.jielong.gateway_client import GatewayClient

BAD_QUANTITY = "Quantities must be whole numbers of at least 1."


def _refusal(**kwargs):
    with translation.override("en"), pytest.raises(rules.JoinRefused) as error:
        rules.check_input(**kwargs)
    return error.value.code, error.value.message


@pytest.mark.parametrize(
    "quantity",
    [0, -1, 2.5, 2.0, True, "2", None, rules.MAX_QUANTITY + 1],
    ids=["zero", "negative", "fraction", "float", "bool", "text", "none", "too-big"],
)
def test_a_quantity_is_a_whole_number_from_1_to_the_column_bound(quantity):
    assert _refusal(quantities={7: 1, 8: quantity}) == ("bad_quantity", BAD_QUANTITY)


@pytest.mark.parametrize(
    "item_id", [0, -3, rules.MAX_ID + 1, "7", True], ids=["zero", "negative", "huge", "text", "bool"]
)
def test_an_item_id_that_cannot_be_an_id_is_not_part_of_the_jielong(item_id):
    assert _refusal(quantities={item_id: 1}) == ("unknown_item", "That item is not part of this jielong.")


@pytest.mark.parametrize("pickup", [0, -1, rules.MAX_ID + 1, "3"], ids=["zero", "negative", "huge", "text"])
def test_a_pickup_point_id_that_cannot_be_an_id_is_refused(pickup):
    assert _refusal(quantities={7: 1}, pickup_point_id=pickup) == (
        "bad_pickup_point",
        "Choose a pickup point of your community.",
    )


def test_good_input_passes_and_emptiness_is_left_to_the_join():
    rules.check_input(quantities={7: 1, 8: rules.MAX_QUANTITY}, pickup_point_id=rules.MAX_ID)
    rules.check_input(quantities={}, pickup_point_id=None)  # "empty" comes after "closed", in the join


@pytest.mark.parametrize(("text", "quantity"), [("", 0), ("  ", 0), (" 3 ", 3), ("0", 0), ("-1", -1)])
def test_form_text_becomes_a_number_blank_meaning_none(text, quantity):
    assert rules.quantity_from_form(text) == quantity


@pytest.mark.parametrize("text", ["abc", "1.5", "２x"])
def test_form_text_that_is_not_a_whole_number_is_a_bad_quantity(text):
    with translation.override("en"), pytest.raises(rules.JoinRefused) as error:
        rules.quantity_from_form(text)
    assert (error.value.code, error.value.message) == ("bad_quantity", BAD_QUANTITY)


def test_request_lines_of_one_item_are_added_up():
    lines = [{"item": 3, "quantity": 2}, {"item": 4, "quantity": 1}, {"item": 3, "quantity": 5}]
    assert rules.quantities_from(lines) == {3: 7, 4: 1}


def _page(user, campaign, item, value):
    client = Client()
    client.force_login(user)
    response = client.post(f"/m/jielong/{campaign.pk}/join/", {f"qty_{item.pk}": str(value), "idempotency_key": "k"})
    return response.status_code, response.context["error"]


def _api(user, campaign, item, value, *, through_gateway):
    client = APIClient()
    client.force_authenticate(user)
    if through_gateway:
        client = GatewayClient(user, client)
    response = client.post(
        f"/api/jielong/campaigns/{campaign.pk}/join/",
        {"items": [{"item": item.pk, "quantity": value}]},
        format="json",
    )
    return response.status_code, response.json()["detail"]


# The gateway has its own database connections: the data must really be committed.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", ["page", "api", "gateway"])
@pytest.mark.parametrize("value", [-1, rules.MAX_QUANTITY + 1], ids=["negative", "too-big"])
def test_every_route_refuses_a_bad_quantity_alike_and_changes_nothing(route, value):
    given = f.open_campaign(members=1)
    [user], campaign, item = given.members, given.campaign, given.item

    if route == "page":
        status, message = _page(user, campaign, item, value)
    else:
        status, message = _api(user, campaign, item, value, through_gateway=route == "gateway")

    with translation.override("zh-hans"):  # every route answers in Chinese by default
        assert (status, message) == (400, str(rules.BAD_QUANTITY_MESSAGE))
    assert Order.objects.count() == 0
    given.sku.refresh_from_db()
    assert given.sku.stock == 100


BAD_NOTE = "The note can have at most 200 characters, without control characters."


@pytest.mark.parametrize(
    "note",
    ["放门卫\x00", "\ud800", "a\udfffb", "铃\x07", "长" * 201, None, 5],
    ids=["nul", "lone-high-surrogate", "lone-low-surrogate", "control", "too-long", "none", "number"],
)
def test_a_note_the_database_or_a_sheet_cannot_store_is_refused(note):
    assert _refusal(quantities={7: 1}, note=note) == ("bad_note", BAD_NOTE)


@pytest.mark.parametrize(
    "note", ["", "放门卫\n晚上取\t谢谢", " " * 50 + "长" * 200 + " " * 50], ids=["empty", "lines", "trimmed"]
)
def test_a_note_of_plain_text_passes(note):
    rules.check_input(quantities={7: 1}, note=note)


@pytest.mark.parametrize("key", ["k\x00", "\udc80"], ids=["nul", "surrogate"])
def test_an_idempotency_key_the_database_cannot_store_is_refused(key):
    code, _message = _refusal(quantities={7: 1}, idempotency_key=key)
    assert code == "bad_key"


def _page_note(user, campaign, item, note):
    client = Client()
    client.force_login(user)
    response = client.post(
        f"/m/jielong/{campaign.pk}/join/", {f"qty_{item.pk}": "1", "note": note, "idempotency_key": "k"}
    )
    return response.status_code, response.context["error"]


def _api_body(user, campaign, body, *, through_gateway):
    client = APIClient()
    client.force_authenticate(user)
    url = f"/api/jielong/campaigns/{campaign.pk}/join/"
    if through_gateway:
        response = GatewayClient(user, client).post(url, body, format="json")
    else:  # as sent by a client: a lone surrogate travels as a JSON escape
        response = client.post(url, json.dumps(body), content_type="application/json")
    return response.status_code, response.json()["detail"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", ["page", "api", "gateway"])
@pytest.mark.parametrize("note", ["放门卫\x00", "铃\x07", "长" * 201], ids=["nul", "control", "too-long"])
def test_every_route_refuses_a_bad_note_alike_and_changes_nothing(route, note):
    given = f.open_campaign(members=1)
    [user], campaign, item = given.members, given.campaign, given.item

    if route == "page":
        status, message = _page_note(user, campaign, item, note)
    else:
        body = {"items": [{"item": item.pk, "quantity": 1}], "note": note}
        status, message = _api_body(user, campaign, body, through_gateway=route == "gateway")

    with translation.override("zh-hans"):
        expected = str(rules.join_error({"code": "bad_note"}).message)
    assert (status, message) == (400, expected)
    assert Order.objects.count() == 0
    given.sku.refresh_from_db()
    assert given.sku.stock == 100


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", ["api", "gateway"])
@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("note", "\ud800", "bad_note"),
        ("quantity", rules.MAX_QUANTITY + 1, "bad_quantity"),
        ("pickup_point", rules.MAX_ID + 1, "bad_pickup_point"),
    ],
    ids=["lone-surrogate-note", "quantity-2**31", "pickup-2**63"],
)
def test_the_api_routes_refuse_unstorable_values_alike(route, field, value, code):
    given = f.open_campaign(members=1)
    [user], campaign, item = given.members, given.campaign, given.item
    body = {"items": [{"item": item.pk, "quantity": value if field == "quantity" else 1}]}
    if field != "quantity":
        body[field] = value

    status, message = _api_body(user, campaign, body, through_gateway=route == "gateway")

    with translation.override("zh-hans"):
        assert (status, message) == (400, str(rules.join_error({"code": code}).message))
    assert Order.objects.count() == 0
