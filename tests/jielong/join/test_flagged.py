"""The refund-abuse blacklist (community.Flag) on the join: a person flagged in the campaign's brand
is refused on every route — the member page, the DRF API, the ASGI gateway — with the same neutral
message, and nothing is written. The page and the API run against both join engines (the PostgreSQL
function ``jielong_join`` v3 and its ORM twin)."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from catalogue.models import SKU
from community import services as community_services
from community.models import Brand
from jielong.models import Campaign, CampaignOutbox, Order, OrderLine
from tests import factories as f
from tests.jielong.gateway_client import GatewayClient

NEUTRAL_EN = "You cannot take part in this jielong for now; please contact your leader if you have questions."
NEUTRAL_ZH = "暂时无法参与本次接龙，如有疑问请联系团长。"


def _given(*, flagged: bool = True, brand: Brand | None = None):
    given = f.open_campaign(members=2, stock=10, threshold=5)
    flagged_member, neighbour = given.members
    if flagged:
        community_services.person_flag(
            by=f.operator(), brand=brand or given.campaign.brand, user=flagged_member, reason="反复以未收到为由退款"
        )
    return given, flagged_member, neighbour


def _state(given):
    campaign = Campaign.objects.get(pk=given.campaign.pk)
    return {
        "stock": SKU.objects.get(pk=given.sku.pk).stock,
        "orders": list(Order.objects.values_list("pk", "user_id", "status")),
        "lines": OrderLine.objects.count(),
        "campaign": (campaign.joined_count, campaign.next_seq, campaign.perk_taken, campaign.version),
        "outbox": CampaignOutbox.objects.count(),
    }


def _api_client(user, route):
    client = APIClient()
    client.force_authenticate(user)
    return GatewayClient(user, client) if route == "gateway" else client


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "message"), [("zh-hans", NEUTRAL_ZH), ("en", NEUTRAL_EN)])
def test_flagged_member_joining_by_the_page_sees_the_neutral_message_and_nothing_changes(
    join_engine, language, message
):
    given, flagged_member, _ = _given()
    client = Client()
    client.force_login(flagged_member)
    client.cookies["django_language"] = language
    before = _state(given)

    response = client.post(
        f"/m/jielong/{given.campaign.pk}/join/", {f"qty_{given.item.pk}": "1", "idempotency_key": "k1"}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert _state(given) == before
    # Seeing the page is still allowed.
    assert client.get(f"/m/jielong/{given.campaign.pk}/").status_code == 200


@pytest.mark.parametrize(
    "route",
    [
        pytest.param("drf", marks=pytest.mark.django_db),
        pytest.param("gateway", marks=pytest.mark.django_db(transaction=True)),
    ],
)
def test_flagged_member_joining_by_the_api_is_refused_and_nothing_changes(join_engine, route):
    if route == "gateway" and join_engine == "orm":
        pytest.skip("the gateway always joins in the database")
    given, flagged_member, neighbour = _given()
    url = f"/api/jielong/campaigns/{given.campaign.pk}/join/"
    body = {"items": [{"item": given.item.pk, "quantity": 1}]}
    before = _state(given)

    refused = _api_client(flagged_member, route).post(url, body, format="json")

    assert refused.status_code == 400
    assert refused.json() == {"code": "not_available", "detail": NEUTRAL_ZH}
    assert _state(given) == before
    # The neighbour in the same community joins as ever.
    assert _api_client(neighbour, route).post(url, body, format="json").status_code == 201
    assert list(Order.objects.values_list("user_id", "seq")) == [(neighbour.pk, 1)]


@pytest.mark.django_db(transaction=True)
def test_the_gateway_refuses_the_flagged_member_inside_a_group_call(join_engine):
    """Several joins in one database call: only the flagged person's is refused."""
    if join_engine == "orm":
        pytest.skip("the gateway always joins in the database")
    from tests.jielong.gateway_client import cookie_headers, post_many, session_cookie

    given, flagged_member, neighbour = _given()
    url = f"/api/jielong/campaigns/{given.campaign.pk}/join/"
    body = b'{"items": [{"item": %d, "quantity": 1}]}' % given.item.pk
    responses = post_many([(url, body, cookie_headers(session_cookie(user))) for user in (neighbour, flagged_member)])

    assert sorted(r.status_code for r in responses) == [201, 400]
    assert [r.json()["code"] for r in responses if r.status_code == 400] == ["not_available"]
    assert list(Order.objects.values_list("user_id", flat=True)) == [neighbour.pk]


@pytest.mark.django_db
def test_unflagging_lets_the_person_join_again(join_engine):
    given, flagged_member, _ = _given()
    [flag] = flagged_member.flags.all()
    community_services.person_unflag(by=f.operator(), flag=flag, reason="已核实，误判")
    client = APIClient()
    client.force_authenticate(flagged_member)

    response = client.post(
        f"/api/jielong/campaigns/{given.campaign.pk}/join/",
        {"items": [{"item": given.item.pk, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 201
    assert Order.objects.filter(user=flagged_member).count() == 1


@pytest.mark.django_db
def test_a_flag_in_another_brand_does_not_block(join_engine):
    other_brand = f.brand("另一个品牌")
    given, flagged_member, _ = _given(brand=other_brand)
    client = APIClient()
    client.force_authenticate(flagged_member)

    response = client.post(
        f"/api/jielong/campaigns/{given.campaign.pk}/join/",
        {"items": [{"item": given.item.pk, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 201


@pytest.mark.django_db
def test_orders_made_before_the_flag_are_kept_and_a_retry_gets_its_order_back(join_engine):
    given, member, _ = _given(flagged=False)
    client = APIClient()
    client.force_authenticate(member)
    url = f"/api/jielong/campaigns/{given.campaign.pk}/join/"
    body = {"items": [{"item": given.item.pk, "quantity": 1}]}
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k9")
    community_services.person_flag(by=f.operator(), brand=given.campaign.brand, user=member, reason="多次退款")

    retry = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k9")

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert list(Order.objects.values_list("user_id", "status")) == [(member.pk, "joined")]
