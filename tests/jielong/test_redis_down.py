"""Joining with Redis unreachable (the cache, the channel layer and the broker): a committed join
answers success on every route (the page form, the DRF view, the ASGI fast path), retries with the same
idempotency key answer the same order, and the work the joins owe — the snapshot broadcast and tier
settling — waits in the campaign's outbox until the sweep finishes it with Redis back."""

import json
import logging
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from groupbuy import clock
from jielong import broadcast, tasks
from jielong.join import after_join
from jielong.models import CampaignOutbox, Order, PriceTier
from tests import factories as f
from tests.jielong.gateway_client import cookie_headers, post_many, session_cookie

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
REDIS_DOWN = {
    "CACHES": {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": UNREACHABLE_REDIS,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    },
    "CHANNEL_LAYERS": {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [UNREACHABLE_REDIS]},
        }
    },
}


@pytest.fixture
def broadcasts(monkeypatch):
    """Campaigns whose snapshot was really handed to the broadcaster (the cache answered)."""
    done, real = [], broadcast.snapshot_changed

    def spy(campaign_id):
        real(campaign_id)
        done.append(campaign_id)

    monkeypatch.setattr(broadcast, "snapshot_changed", spy)
    return done


@pytest.fixture
def broker(monkeypatch):
    """The Celery broker (Redis too), down while ``broker["down"]``; tasks sent while up are recorded."""
    state = {"down": True, "sent": []}

    def delay(campaign_id):
        if state["down"]:
            raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
        state["sent"].append(campaign_id)

    monkeypatch.setattr(tasks.settle_prices, "delay", delay)
    return state


def _page_join(user, campaign, item, key):
    client = Client()
    client.force_login(user)
    return client.post(f"/m/jielong/{campaign.pk}/join/", {f"qty_{item.pk}": "1", "idempotency_key": key})


def _api_join(user, campaign, item, key):
    client = APIClient()
    client.force_authenticate(user)
    body = {"items": [{"item": item.pk, "quantity": 1}]}
    return client.post(f"/api/jielong/campaigns/{campaign.pk}/join/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _gateway_join(user, campaign, item, key):
    body = json.dumps({"items": [{"item": item.pk, "quantity": 1}]}).encode()
    headers = cookie_headers(session_cookie(user)) | {"Idempotency-Key": key}
    return post_many([(f"/api/jielong/campaigns/{campaign.pk}/join/", body, headers)])[0]


@pytest.mark.django_db(transaction=True)
def test_joins_succeed_on_every_route_and_the_owed_work_is_done_when_redis_is_back(broadcasts, broker, caplog):
    given = f.open_campaign(members=3, perk_limit=0, threshold=10)
    campaign, item, (by_page, by_api, by_gateway) = given.campaign, given.item, given.members
    PriceTier.objects.create(item=item, min_joins=3, price_fen=1500)  # the third join reaches it

    with override_settings(**REDIS_DOWN), caplog.at_level(logging.WARNING):
        page = [_page_join(by_page, campaign, item, "page-key") for _ in range(2)]
        api = [_api_join(by_api, campaign, item, "api-key") for _ in range(2)]
        gateway = [_gateway_join(by_gateway, campaign, item, "gateway-key") for _ in range(2)]

    # Every committed join answered success, and a retry with its key the same order.
    assert [r.status_code for r in page] == [302, 302]
    assert page[0]["Location"] == page[1]["Location"] == f"/m/jielong/{campaign.pk}/#my-order"
    assert [r.status_code for r in api] == [201, 200] and api[0].json()["id"] == api[1].json()["id"]
    assert [r.status_code for r in gateway] == [201, 200] and gateway[0].json()["id"] == gateway[1].json()["id"]
    orders = Order.objects.filter(campaign=campaign).order_by("seq")
    base = orders[0].total_fen
    assert base > 1500
    assert [(o.user_id, o.total_fen) for o in orders] == [(by_page.pk, base), (by_api.pk, base), (by_gateway.pk, 1500)]
    # Nothing went out, and nothing is forgotten: the campaign's outbox holds the work.
    assert broadcasts == [] and broker["sent"] == []
    assert list(CampaignOutbox.objects.values_list("campaign_id", "needs_settle", "version")) == [
        (campaign.pk, True, 3)
    ]
    assert "left to the sweep" in caplog.text

    # Redis is back; the periodic sweep (rows a while old) settles the earlier joiners and broadcasts.
    broker["down"] = False
    CampaignOutbox.objects.update(queued_at=clock.now() - timedelta(minutes=1))
    assert tasks.deliver_owed_after_join_work() == [campaign.pk]

    assert [o.total_fen for o in Order.objects.filter(campaign=campaign).order_by("seq")] == [1500, 1500, 1500]
    assert broadcasts == [campaign.pk]
    assert not CampaignOutbox.objects.exists()
    assert tasks.deliver_owed_after_join_work() == []  # done once


@pytest.mark.django_db(transaction=True)
def test_with_redis_up_the_join_clears_its_outbox_row_itself(broadcasts, broker):
    broker["down"] = False
    given = f.open_campaign(members=3, perk_limit=0, threshold=10)
    campaign, item, users = given.campaign, given.item, given.members
    PriceTier.objects.create(item=item, min_joins=3, price_fen=1500)

    assert _page_join(users[0], campaign, item, "a").status_code == 302
    assert _api_join(users[1], campaign, item, "b").status_code == 201
    assert _gateway_join(users[2], campaign, item, "c").status_code == 201

    assert broadcasts == [campaign.pk] * 3
    assert broker["sent"] == [campaign.pk]  # the third join reached the tier
    assert not CampaignOutbox.objects.exists()
    assert after_join.outbox_sweep(older_than=timedelta(0)) == []


@pytest.mark.django_db(transaction=True)
def test_changing_and_cancelling_with_redis_down_answer_success_and_the_broadcast_waits_in_the_outbox(
    broadcasts, broker, caplog
):
    # They answered 500: their broadcast went straight to Redis, not through the outbox the join uses.
    broker["down"] = False
    given = f.open_campaign(members=2, perk_limit=0, threshold=10, stock=10)
    campaign, item, (editor, canceller) = given.campaign, given.item, given.members
    assert _page_join(editor, campaign, item, "e").status_code == 302
    assert _page_join(canceller, campaign, item, "c").status_code == 302
    broadcasts.clear()

    with override_settings(**REDIS_DOWN), caplog.at_level(logging.WARNING):
        edit = Client()
        edit.force_login(editor)
        edited = edit.post(f"/m/jielong/{campaign.pk}/order/", {f"qty_{item.pk}": "3"})
        cancel = Client()
        cancel.force_login(canceller)
        cancelled = cancel.post(f"/m/jielong/{campaign.pk}/order/cancel/")

    assert (edited.status_code, cancelled.status_code) == (302, 302)
    assert [line.quantity for line in Order.objects.get(user=editor).lines.all()] == [3]
    assert Order.objects.get(user=canceller).status == Order.Status.CANCELLED
    campaign.refresh_from_db()
    assert broadcasts == []
    assert list(CampaignOutbox.objects.values_list("campaign_id", "needs_settle", "version")) == [
        (campaign.pk, False, campaign.version)
    ]

    CampaignOutbox.objects.update(queued_at=clock.now() - timedelta(minutes=1))
    assert tasks.deliver_owed_after_join_work() == [campaign.pk]
    assert broadcasts == [campaign.pk]
    assert not CampaignOutbox.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_redis_up_a_change_broadcasts_and_leaves_no_outbox_row(broadcasts, broker):
    broker["down"] = False
    given = f.open_campaign(members=1, perk_limit=0, threshold=10, stock=10)
    campaign, item, (member,) = given.campaign, given.item, given.members
    assert _page_join(member, campaign, item, "k").status_code == 302
    broadcasts.clear()
    client = Client()
    client.force_login(member)

    assert client.post(f"/m/jielong/{campaign.pk}/order/", {f"qty_{item.pk}": "2"}).status_code == 302
    assert client.post(f"/m/jielong/{campaign.pk}/order/cancel/").status_code == 302

    assert broadcasts == [campaign.pk, campaign.pk]
    assert not CampaignOutbox.objects.exists()
