"""Tokens: shown once and stored hashed, scopes, expiry, revocation, last use, rate limit; who else may call."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import TokenRefused, token_create, token_hash, token_revoke
from groupbuy import clock
from tests import factories as f

from .conftest import bearer

pytestmark = pytest.mark.django_db


def error(response) -> str:
    return response.json()["error"]["code"]


def test_a_token_is_stored_only_as_its_hash_and_shows_its_prefix(token_a):
    stored = ApiToken.objects.get(pk=token_a.token.pk)
    assert token_a.plaintext.startswith(f"gb_{stored.prefix}_")
    assert len(token_a.plaintext) > 50
    assert stored.secret_hash == token_hash(token_a.plaintext)
    assert token_a.plaintext not in str(ApiToken.objects.filter(pk=stored.pk).values().get())


def test_a_valid_token_reads_and_records_its_last_use(api_a, token_a):
    assert ApiToken.objects.get(pk=token_a.token.pk).last_used_at is None
    with time_machine.travel(clock.now(), tick=False):
        response = api_a.get("/api/v1/communities/")
        assert response.status_code == 200
        assert ApiToken.objects.get(pk=token_a.token.pk).last_used_at == clock.now()


def test_last_use_is_written_at_most_once_a_minute(api_a, token_a):
    start = clock.now()
    with time_machine.travel(start, tick=False):
        api_a.get("/api/v1/communities/")
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        api_a.get("/api/v1/communities/")
        assert ApiToken.objects.get(pk=token_a.token.pk).last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        api_a.get("/api/v1/communities/")
        assert ApiToken.objects.get(pk=token_a.token.pk).last_used_at == start + timedelta(seconds=61)


def test_an_expired_token_is_refused(api_a, token_a):
    with time_machine.travel(token_a.token.expires_at + timedelta(seconds=1), tick=False):
        response = api_a.get("/api/v1/communities/")
    assert response.status_code == 401
    assert error(response) == "token_expired"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused_at_once(api_a, token_a, operator_a):
    assert api_a.get("/api/v1/orders/").status_code == 200
    token_revoke(token_id=token_a.token.pk, by=operator_a)
    response = api_a.get("/api/v1/orders/")
    assert (response.status_code, error(response)) == (401, "token_revoked")


@pytest.mark.parametrize(
    "header",
    ["Bearer gb_nothing_here", "Bearer", "Bearer a b", "Bearer " + "x" * 300],
    ids=["unknown", "empty", "two-parts", "long"],
)
def test_a_token_that_is_not_one_is_refused(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/orders/")
    assert (response.status_code, error(response)) == (401, "token_invalid")


def test_no_credentials_answer_401():
    response = APIClient().get("/api/v1/orders/")
    assert (response.status_code, error(response)) == (401, "not_authenticated")


def test_a_token_without_the_scope_is_refused_and_one_with_it_is_not(brand_a, operator_a):
    reader = token_create(brand=brand_a, name="r", scopes=["orders:read"], by=operator_a, expires_in_days=None)
    client = bearer(reader.plaintext)
    assert client.get("/api/v1/orders/").status_code == 200
    response = client.get("/api/v1/members/")
    assert (response.status_code, error(response)) == (403, "missing_scope")
    response = client.post("/api/v1/orders/1/refunds/", {"amount_fen": 1, "reason": "x"}, format="json")
    assert (response.status_code, error(response)) == (403, "missing_scope")


def test_member_and_leader_sessions_get_403_and_an_operator_session_reads(operator_a, password):
    home = f.community()
    member, leader = f.member(), f.member()
    f.membership(user=member, community=home)
    f.membership(user=leader, community=home, role="leader")
    for person in (member, leader):
        client = APIClient()
        client.force_login(person)
        response = client.get("/api/v1/orders/")
        assert (response.status_code, error(response)) == (403, "forbidden_role")
    client = APIClient()
    client.force_login(operator_a)
    assert client.get("/api/v1/orders/").status_code == 200


def test_calls_beyond_the_rate_answer_429_with_retry_after(settings, api_a, api_b):
    settings.API_RATE = "3/min"
    assert [api_a.get("/api/v1/communities/").status_code for _ in range(3)] == [200, 200, 200]
    response = api_a.get("/api/v1/communities/")
    assert (response.status_code, error(response)) == (429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert api_b.get("/api/v1/communities/").status_code == 200  # per token, not global


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["orders:delete"]}, "scopes"),
        ({"name": "  "}, "name"),
        ({"expires_in_days": 400}, "expiry"),
    ],
    ids=["no-scope", "unknown-scope", "blank-name", "too-long"],
)
def test_a_bad_token_request_is_refused_and_makes_nothing(brand_a, operator_a, fields, code):
    given = {"brand": brand_a, "name": "ERP", "scopes": ["orders:read"], "by": operator_a, "expires_in_days": 30}
    with pytest.raises(TokenRefused) as refused:
        token_create(**{**given, **fields})
    assert refused.value.code == code
    assert ApiToken.objects.count() == 0


def test_an_operator_of_another_brand_cannot_make_or_revoke_a_brands_tokens(brand_a, brand_b, token_a):
    other = f.operator(brand=brand_b)
    with pytest.raises(TokenRefused):
        token_create(brand=brand_a, name="x", scopes=["orders:read"], by=other, expires_in_days=1)
    with pytest.raises(TokenRefused):
        token_revoke(token_id=token_a.token.pk, by=other)
    assert ApiToken.objects.get(pk=token_a.token.pk).revoked_at is None


def test_the_console_makes_a_token_shows_it_once_and_revokes_it(client, operator_a, brand_a):
    client.force_login(operator_a)
    page = client.get("/ops/integrations/tokens/")
    assert page.status_code == 200
    response = client.post(
        "/ops/integrations/tokens/",
        {"name": "金蝶 ERP", "brand": brand_a.pk, "scopes": ["orders:read", "orders:write"], "expires_in_days": 90},
    )
    assert response.status_code == 201
    token = ApiToken.objects.get()
    plaintext = response.context["created"].plaintext
    assert plaintext in response.content.decode()
    assert (token.name, token.scopes, token.created_by) == ("金蝶 ERP", ["orders:read", "orders:write"], operator_a)
    assert plaintext not in client.get("/ops/integrations/tokens/").content.decode()
    assert bearer(plaintext).get("/api/v1/orders/").status_code == 200
    client.post(f"/ops/integrations/tokens/{token.pk}/revoke/")
    assert ApiToken.objects.get().revoked_at is not None
    assert bearer(plaintext).get("/api/v1/orders/").status_code == 401


def test_members_cannot_open_the_token_page(client):
    client.force_login(f.member())
    assert client.get("/ops/integrations/tokens/").status_code in (302, 403)


def test_making_and_revoking_a_token_are_audited_and_its_refunds_say_api_token(brand_a, operator_a):
    from groupbuy.audit import Entry
    from tests.aftersales.orders import paid_orders

    made = token_create(brand=brand_a, name="ERP", scopes=["orders:write"], by=operator_a, expires_in_days=1)
    order = paid_orders().orders[0]
    response = bearer(made.plaintext).post(
        f"/api/v1/orders/{order.pk}/refunds/",
        {"amount_fen": 100, "reason": "少发"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="a1",
    )
    assert response.status_code == 201
    token_revoke(token_id=made.token.pk, by=operator_a)
    entries = list(Entry.objects.order_by("pk").values_list("action", "actor_id", "via"))
    assert entries[0][:2] == ("api.token_created", operator_a.pk)
    assert entries[-1][:2] == ("api.token_revoked", operator_a.pk)
    by_token = [action for action, _actor, via in entries if via == f"api token {made.token.prefix}"]
    assert by_token, entries
