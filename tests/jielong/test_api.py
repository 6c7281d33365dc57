"""The JSON API joins through the same rules as the pages.

Every test runs against the DRF view and against the ASGI fast path (``jielong.join.asgi``) that
answers the same URL in production, so the two cannot drift apart.
"""

import pytest
from rest_framework.test import APIClient

from jielong.models import Campaign, Order
from tests import factories as f
from tests.jielong.gateway_client import GatewayClient


@pytest.fixture(
    params=[
        pytest.param("drf", marks=pytest.mark.django_db),
        # The gateway has its own database connections: the data must really be committed.
        pytest.param("gateway", marks=pytest.mark.django_db(transaction=True)),
    ]
)
def setup(request):
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    [user] = given.members
    client = APIClient()
    client.force_authenticate(user)
    if request.param == "gateway":
        client = GatewayClient(user, client)
    return client, given.campaign, given.item, user


def test_join_then_retry_with_same_key_returns_same_order(setup):
    client, campaign, item, _ = setup
    url = f"/api/jielong/campaigns/{campaign.pk}/join/"
    body = {"items": [{"item": item.pk, "quantity": 2}]}

    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="abc")
    retry = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="abc")

    assert first.status_code == 201
    assert retry.status_code == 200
    assert first.json() == retry.json() | {"campaign_version": first.json()["campaign_version"]}
    assert (first.json()["campaign_version"], retry.json()["campaign_version"]) == (1, None)
    assert first.json()["seq"] == 1 and first.json()["is_perk"] is True
    assert Order.objects.count() == 1


def test_snapshot(setup):
    client, campaign, item, _ = setup
    client.post(
        f"/api/jielong/campaigns/{campaign.pk}/join/", {"items": [{"item": item.pk, "quantity": 1}]}, format="json"
    )
    snapshot = client.get(f"/api/jielong/campaigns/{campaign.pk}/").json()
    assert (snapshot["joined"], snapshot["perk_left"], snapshot["status"]) == (1, 0, "open")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"items": [{"item": 0, "quantity": 1}]}, 400, "unknown_item"),
        ({"items": [{"item": "ITEM", "quantity": -1}]}, 400, "bad_quantity"),
        ({"items": [{"item": "ITEM", "quantity": "x"}]}, 400, "invalid"),
        ({"items": []}, 400, "empty"),
    ],
    ids=["unknown-sku", "negative-quantity", "not-a-number", "no-items"],
)
def test_bad_input_is_refused_in_the_users_language(setup, body, status, code):
    client, campaign, item, _ = setup
    for line in body["items"]:
        if line["item"] == "ITEM":
            line["item"] = item.pk
    response = client.post(
        f"/api/jielong/campaigns/{campaign.pk}/join/", body, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert Order.objects.count() == 0


def test_closed_campaign_refuses(setup):
    client, campaign, item, _ = setup
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.COMPLETED)
    response = client.post(
        f"/api/jielong/campaigns/{campaign.pk}/join/", {"items": [{"item": item.pk, "quantity": 1}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "closed"
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_anonymous_cannot_join(setup):
    _, campaign, item, _ = setup
    response = APIClient().post(
        f"/api/jielong/campaigns/{campaign.pk}/join/", {"items": [{"item": item.pk, "quantity": 1}]}, format="json"
    )
    assert response.status_code == 403


# --- who may read a campaign's snapshot (jielong.access.campaign_access) ---------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("viewer", "draft", "status"),
    [
        ("member", False, 200),
        ("member", True, 404),
        ("other-community", False, 403),
        ("other-community", True, 404),
        ("operator", True, 200),
        ("anonymous", False, 403),
    ],
)
def test_the_snapshot_is_only_for_those_who_may_see_the_campaign(viewer, draft, status):
    given = f.open_campaign(members=2, threshold=5)
    from jielong import services

    services.order_join(campaign_id=given.campaign.pk, user=given.members[0], quantities={given.item.pk: 1})
    if draft:
        Campaign.objects.filter(pk=given.campaign.pk).update(status=Campaign.Status.DRAFT)
    users = {
        "member": given.members[1],
        "other-community": f.membership(user=f.member(), community=f.community()).user,
        "operator": f.operator(),
        "anonymous": None,
    }
    client = APIClient()
    if users[viewer] is not None:
        client.force_authenticate(users[viewer])

    response = client.get(f"/api/jielong/campaigns/{given.campaign.pk}/")

    assert response.status_code == status
    if status == 200:
        assert [row["seq"] for row in response.json()["latest"]] == [1]
    else:
        assert "latest" not in response.json()
