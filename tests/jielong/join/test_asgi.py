"""The ASGI fast path for joins (jielong.join.asgi): Django's session and CSRF rules, group commit
under real concurrency, and the same answers as the DRF view (see also test_api.py)."""

import asyncio
import json

import pytest

from analytics.models import Event
from catalogue.models import SKU
from jielong.join import asgi as gateway_module
from jielong.join.asgi import JoinGateway
from jielong.models import Campaign, Order
from tests import factories as f
from tests.jielong.gateway_client import GatewayClient, call, cookie_headers, post_many, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def _join(campaign, item, headers, quantity=1):
    body = json.dumps({"items": [{"item": item.pk, "quantity": quantity}]}).encode()
    return post_many([(f"/api/jielong/campaigns/{campaign.pk}/join/", body, headers)])[0]


def test_a_signed_in_member_joins_and_the_answer_is_chinese_by_default():
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    campaign, item, [user] = given.campaign, given.item, given.members
    joined = _join(campaign, item, cookie_headers(session_cookie(user)))
    again = _join(campaign, item, cookie_headers(session_cookie(user)))

    assert joined.status_code == 201
    assert (joined.json()["seq"], joined.json()["is_perk"], joined.json()["campaign_version"]) == (1, True, 1)
    assert again.status_code == 409
    assert again.json()["detail"] == "您已经接龙了，请修改原订单。"
    assert again.headers["content-language"] == "zh-hans"
    assert Order.objects.filter(campaign=campaign).count() == 1


def test_the_language_switch_cookie_gives_english():
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    campaign, item, [user] = given.campaign, given.item, given.members
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.COMPLETED)
    response = _join(campaign, item, cookie_headers(session_cookie(user), language="en"))
    assert response.status_code == 400
    assert response.json() == {"code": "closed", "detail": "This jielong is closed."}


@pytest.mark.parametrize("who", ["no cookie", "unknown session", "password changed", "deactivated"])
def test_no_valid_login_is_refused_and_nothing_changes(who):
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    campaign, item, [user] = given.campaign, given.item, given.members
    key = session_cookie(user)
    if who == "no cookie":
        key = None
    elif who == "unknown session":
        key = "x" * 32
    elif who == "password changed":
        user.set_password("a new password 2026")
        user.save()
    else:
        user.is_active = False
        user.save()

    response = _join(campaign, item, cookie_headers(key))

    assert response.status_code == 403
    assert Order.objects.count() == 0
    assert SKU.objects.get(pk=item.sku_id).stock == 100


def test_a_post_without_the_csrf_token_is_refused():
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    campaign, item, [user] = given.campaign, given.item, given.members
    response = _join(campaign, item, cookie_headers(session_cookie(user), csrf=False))
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert Order.objects.count() == 0


def test_malformed_json_and_oversized_bodies_are_refused():
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    campaign, _item, [user] = given.campaign, given.item, given.members
    headers = cookie_headers(session_cookie(user))
    path = f"/api/jielong/campaigns/{campaign.pk}/join/"
    bad_json, too_big = post_many([(path, b"{not json", headers), (path, b"x" * (70 * 1024), headers)])
    assert bad_json.status_code == 400
    assert too_big.status_code == 413
    assert Order.objects.count() == 0


def test_sixty_members_racing_through_one_process_are_grouped_but_never_oversold():
    given = f.open_campaign(members=60, perk_limit=10, threshold=30, stock=40)
    campaign, item, users = given.campaign, given.item, given.members
    path = f"/api/jielong/campaigns/{campaign.pk}/join/"
    body = json.dumps({"items": [{"item": item.pk, "quantity": 1}]}).encode()

    responses = post_many([(path, body, cookie_headers(session_cookie(u))) for u in users])

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 40 + [409] * 20
    orders = Order.objects.filter(campaign=campaign)
    assert sorted(orders.values_list("seq", flat=True)) == list(range(1, 41))
    assert sorted(orders.filter(is_perk=True).values_list("seq", flat=True)) == list(range(1, 11))
    campaign.refresh_from_db()
    assert (campaign.joined_count, campaign.perk_taken, campaign.status) == (40, 10, Campaign.Status.FORMED)
    assert SKU.objects.get(pk=item.sku_id).stock == 0
    # Events are written in bulk after the answers, off the request path — but all of them.
    assert Event.objects.filter(name="jielong.order_joined", campaign_id=campaign.pk).count() == 40
    assert Event.objects.filter(name="jielong.group_formed", campaign_id=campaign.pk).count() == 1


def test_a_failing_group_call_is_retried_one_by_one(monkeypatch):
    given = f.open_campaign(members=5, perk_limit=2, threshold=2, stock=100)
    campaign, item, users = given.campaign, given.item, given.members
    real = JoinGateway.run_joins
    calls = []

    async def fail_groups(self, campaign_id, requests):
        calls.append(len(requests))
        if len(requests) > 1:
            raise RuntimeError("deadlock detected")
        return await real(self, campaign_id, requests)

    monkeypatch.setattr(JoinGateway, "run_joins", fail_groups)
    path = f"/api/jielong/campaigns/{campaign.pk}/join/"
    body = json.dumps({"items": [{"item": item.pk, "quantity": 1}]}).encode()

    responses = post_many([(path, body, cookie_headers(session_cookie(u))) for u in users])

    assert [r.status_code for r in responses] == [201] * 5
    assert any(size > 1 for size in calls)  # the requests really were grouped first
    assert Order.objects.filter(campaign=campaign, is_perk=True).count() == 2


def test_other_requests_go_on_to_django():
    seen = []

    async def django_app(scope, receive, send):
        seen.append((scope["method"], scope["path"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def go():
        gateway = JoinGateway(django_app)
        response = await call(gateway, "/api/jielong/campaigns/1/", b"", {})
        await gateway.aclose()
        return response

    assert asyncio.run(go()).status_code == 204
    assert seen == [("POST", "/api/jielong/campaigns/1/")]


def test_it_stands_aside_when_sessions_are_not_in_the_database(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    assert gateway_module.enabled() is False


def test_the_gateway_client_matches_the_api_client_on_a_retry():
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    campaign, item, [user] = given.campaign, given.item, given.members
    from rest_framework.test import APIClient

    client = GatewayClient(user, APIClient())
    url = f"/api/jielong/campaigns/{campaign.pk}/join/"
    first = client.post(url, {"items": [{"item": item.pk, "quantity": 1}]}, HTTP_IDEMPOTENCY_KEY="k1")
    retry = client.post(url, {"items": [{"item": item.pk, "quantity": 1}]}, HTTP_IDEMPOTENCY_KEY="k1")
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"items": [{"item": 3, "quantity": 2}]},
        {"items": [{"item": 3, "quantity": 2}, {"item": 4, "quantity": 1}], "pickup_point": 7, "note": " 放门口 "},
        {"items": [], "pickup_point": None},
        {"items": [{"item": 3, "quantity": -1}]},
        {"items": [{"item": "3", "quantity": 2}]},
        {"items": [{"item": 3, "quantity": 2.5}]},
        {"items": [{"item": 3, "quantity": True}]},
        {"items": [{"item": 3}]},
        {"items": "3"},
        {"items": [{"item": 3, "quantity": 1}], "note": None},
        {"items": [{"item": 3, "quantity": 1}], "note": "长" * 201},
        {"items": [{"item": 3, "quantity": 1}], "extra": 1},
        [],
        None,
    ],
)
def test_the_quick_body_check_never_disagrees_with_the_api_serializer(body):
    from jielong.api import JoinSerializer
    from jielong.join.asgi import plainly_valid

    quick = plainly_valid(body)
    serializer = JoinSerializer(data=body)
    if quick is not None:
        assert serializer.is_valid(), serializer.errors
        expected = json.loads(json.dumps(serializer.validated_data))
        assert quick == expected


BAD_BODIES = [
    {"note": "放门卫\x00"},
    {"note": "\ud800"},
    {"note": "铃\x07"},
    {"note": "长" * 201},
    {"quantity": 2**31},
    {"quantity": 2**40},
    {"pickup_point": 2**63},
    {"pickup_point": 2**70},
    {"item": 2**63},
    {"note": "x\udfff"},
]


def _storm_body(item, bad: dict) -> bytes:
    line = {"item": bad.get("item", item.pk), "quantity": bad.get("quantity", 1)}
    body = {"items": [line]} | {k: v for k, v in bad.items() if k in ("note", "pickup_point")}
    return json.dumps(body).encode()


def test_a_storm_of_bad_requests_never_enters_a_group_call_nor_splits_the_good_ones(monkeypatch, caplog):
    given = f.open_campaign(members=30, perk_limit=2, threshold=2, stock=100)
    campaign, item, users = given.campaign, given.item, given.members
    good_users, bad_users = users[:20], users[20:]
    real = JoinGateway.run_joins
    groups: list[list] = []

    async def spy(self, campaign_id, requests):
        groups.append(list(requests))
        return await real(self, campaign_id, requests)

    monkeypatch.setattr(JoinGateway, "run_joins", spy)
    path = f"/api/jielong/campaigns/{campaign.pk}/join/"
    good = json.dumps({"items": [{"item": item.pk, "quantity": 1}], "note": "放门卫"}).encode()
    requests = []
    for good_user, bad_user, bad in zip(good_users[::2], bad_users, BAD_BODIES, strict=True):
        requests.append((path, good, cookie_headers(session_cookie(good_user))))
        requests.append((path, _storm_body(item, bad), cookie_headers(session_cookie(bad_user))))
    requests += [(path, good, cookie_headers(session_cookie(u))) for u in good_users[1::2]]

    with caplog.at_level("WARNING", logger="jielong.join.asgi"):
        responses = post_many(requests)

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 20 and statuses.count(400) == 10
    sent = [request for group in groups for request in group]
    assert sorted(r.user_id for r in sent) == sorted(u.pk for u in good_users)  # each good join in one group call
    assert {r.note for r in sent} == {"放门卫"}
    assert "retrying one by one" not in caplog.text
    assert Order.objects.filter(campaign=campaign).count() == 20


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "testserver.evil.example", "bad host"])
def test_a_host_outside_allowed_hosts_is_refused_like_django_does(client, host):
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    campaign, item, [user] = given.campaign, given.item, given.members

    through_gateway = _join(campaign, item, cookie_headers(session_cookie(user)) | {"Host": host})
    through_django = client.get(f"/api/jielong/campaigns/{campaign.pk}/", headers={"host": host})

    assert (through_gateway.status_code, through_django.status_code) == (400, 400)
    assert Order.objects.count() == 0


def test_debug_allows_localhost_when_allowed_hosts_is_empty(settings):
    settings.DEBUG, settings.ALLOWED_HOSTS = True, []
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    campaign, item, [user] = given.campaign, given.item, given.members
    headers = cookie_headers(session_cookie(user))

    evil = _join(campaign, item, headers | {"Host": "evil.example"})
    local = _join(campaign, item, headers | {"Host": "localhost:8000"})

    assert (evil.status_code, local.status_code) == (400, 201)


def test_the_gateway_forgets_a_campaign_s_group_call_once_its_joins_are_answered():
    campaigns = [f.open_campaign(members=2, perk_limit=1, threshold=2) for _ in range(3)]
    requests = [
        (
            f"/api/jielong/campaigns/{g.campaign.pk}/join/",
            json.dumps({"items": [{"item": g.item.pk, "quantity": 1}]}).encode(),
            cookie_headers(session_cookie(u)),
        )
        for g in campaigns
        for u in g.members
    ]

    async def go():
        gateway = JoinGateway(lambda scope, receive, send: None)
        try:
            responses = await asyncio.gather(*(call(gateway, path, body, headers) for path, body, headers in requests))
            return responses, dict(gateway._batchers)
        finally:
            await gateway.aclose()

    responses, batchers = asyncio.run(go())

    assert [r.status_code for r in responses] == [201] * 6
    assert batchers == {}
