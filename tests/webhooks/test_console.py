"""The operator's webhooks pages: add an endpoint (its secret shown once), rotate it, send a test event, read
the delivery log with its filters and one delivery's attempts; bad input changes nothing; another brand's
operator sees none of it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from groupbuy import audit
from tests import factories
from webhooks import sending, services
from webhooks.models import Delivery, Endpoint

from .conftest import endpoint_for

pytestmark = pytest.mark.django_db

ALL_TYPES = ["order.created", "order.paid", "order.refunded", "pickup.verified"]


@pytest.fixture
def operator(client):
    user = factories.operator(brand=factories.brand())
    client.force_login(user)
    return user


def test_the_page_is_reachable_from_the_integrations_nav(client, operator):
    page = client.get(reverse("api:ops-tokens")).content.decode()
    assert reverse("webhooks:ops-endpoints") in page
    response = client.get(reverse("webhooks:ops-endpoints"))
    assert response.status_code == 200
    assert reverse("webhooks:ops-endpoint-new") in response.content.decode()


def test_adding_an_endpoint_shows_its_secret_once(client, operator, receiver):
    response = client.post(
        reverse("webhooks:ops-endpoint-new"),
        {"url": receiver.url, "description": "仓库ERP", "event_types": ["order.created", "order.paid"]},
    )
    endpoint = Endpoint.objects.get()
    assert response.status_code == 302 and response.url == reverse("webhooks:ops-endpoint", args=[endpoint.pk])
    assert endpoint.brand == operator.brand and endpoint.event_types == ["order.created", "order.paid"]
    assert endpoint.created_by == operator and endpoint.is_active

    first = client.get(response.url).content.decode()
    assert endpoint.secret in first and 'id="endpoint-secret"' in first
    again = client.get(response.url).content.decode()
    assert endpoint.secret not in again and endpoint.secret_hint in again


def test_rotating_shows_the_new_secret_once_and_keeps_the_old_one_signing_a_day(pinned, client, operator, receiver):
    endpoint = endpoint_for(receiver, brand=operator.brand, by=operator)
    old = endpoint.secret
    response = client.post(reverse("webhooks:ops-endpoint-rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret in client.get(response.url).content.decode()

    # a receiver still holding the old secret verifies the next delivery (two v1= signatures)
    receiver.secret = old
    services.endpoint_send_test(by=operator, endpoint=endpoint)
    sending.send_due()
    assert [r.verified for r in receiver.received] == [True]
    assert receiver.received[0].headers["x-groupbuy-signature"].count("v1=") == 2


@pytest.mark.parametrize(
    ("posted", "field_message"),
    [
        pytest.param({"url": "ftp://x.example.com/", "event_types": ALL_TYPES}, "http://", id="not-http"),
        pytest.param({"url": "https://erp.example.com/", "event_types": []}, "", id="no-events"),
        pytest.param({"url": "https://erp.example.com/", "event_types": ["order.shipped"]}, "", id="unknown-event"),
        pytest.param({"url": "", "event_types": ALL_TYPES}, "", id="no-url"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_created(client, operator, posted, field_message):
    response = client.post(reverse("webhooks:ops-endpoint-new"), posted)
    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert not Endpoint.objects.exists()


def test_a_private_address_is_refused_unless_allowed(client, operator, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    for url in ("http://127.0.0.1:8000/x", "http://localhost/x", "http://10.1.2.3/x", "http://[::1]/x"):
        response = client.post(reverse("webhooks:ops-endpoint-new"), {"url": url, "event_types": ALL_TYPES})
        assert response.status_code == 400, url
    assert not Endpoint.objects.exists()
    # and an address that resolves inside is refused at send time, logged on the attempt
    endpoint = Endpoint.objects.create(
        brand=operator.brand, url="http://localhost:9/x", secret="s", event_types=ALL_TYPES
    )
    services.endpoint_send_test(by=operator, endpoint=endpoint)
    sending.send_due()
    attempt = Delivery.objects.get().attempt_log.get()
    assert attempt.outcome == "refused" and "internal address" in attempt.error


def test_send_test_event_then_read_the_log_and_the_attempts(pinned, client, operator, receiver):
    endpoint = endpoint_for(receiver, brand=operator.brand, by=operator, description="小程序")
    response = client.post(reverse("webhooks:ops-endpoint-test", args=[endpoint.pk]))
    assert response.status_code == 302
    receiver.answers = [500]
    sending.send_due()
    delivery = Delivery.objects.get()
    assert delivery.is_test and delivery.event_type == "webhook.test"

    log = client.get(reverse("webhooks:ops-deliveries"), {"endpoint": endpoint.pk, "status": "pending"})
    assert f'id="delivery-{delivery.pk}"' in log.content.decode()
    assert (
        f'id="delivery-{delivery.pk}"'
        not in client.get(reverse("webhooks:ops-deliveries"), {"status": "delivered"}).content.decode()
    )
    by_id = client.get(reverse("webhooks:ops-deliveries"), {"event": str(delivery.event_uuid)[:8]})
    assert f'id="delivery-{delivery.pk}"' in by_id.content.decode()

    detail = client.get(reverse("webhooks:ops-delivery", args=[delivery.pk])).content.decode()
    assert str(delivery.event_uuid) in detail and 'id="attempt-1"' in detail
    assert "500" in detail and "receiver says no" in detail


def test_disable_and_enable(client, operator, receiver):
    endpoint = endpoint_for(receiver, brand=operator.brand, by=operator)
    client.post(reverse("webhooks:ops-endpoint-disable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_reason == "operator"
    # a disabled endpoint gets no test event; the refusal is shown and nothing is queued
    response = client.post(reverse("webhooks:ops-endpoint-test", args=[endpoint.pk]), follow=True)
    assert "停用" in response.content.decode()
    assert not Delivery.objects.exists()
    client.post(reverse("webhooks:ops-endpoint-enable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""


def test_another_brands_operator_sees_nothing(client, receiver):
    owner = factories.operator(brand=factories.brand())
    endpoint = endpoint_for(receiver, brand=owner.brand, by=owner, description="源味集ERP")
    services.endpoint_send_test(by=owner, endpoint=endpoint)
    delivery = Delivery.objects.get()

    client.force_login(factories.operator(brand=factories.brand("别家")))
    assert "源味集ERP" not in client.get(reverse("webhooks:ops-endpoints")).content.decode()
    assert f"delivery-{delivery.pk}" not in client.get(reverse("webhooks:ops-deliveries")).content.decode()
    for name, args in [
        ("webhooks:ops-endpoint", [endpoint.pk]),
        ("webhooks:ops-delivery", [delivery.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404
    for name, args in [
        ("webhooks:ops-endpoint-rotate", [endpoint.pk]),
        ("webhooks:ops-endpoint-disable", [endpoint.pk]),
        ("webhooks:ops-endpoint-delete", [endpoint.pk]),
        ("webhooks:ops-delivery-replay", [delivery.pk]),
    ]:
        assert client.post(reverse(name, args=args)).status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.is_active and Endpoint.objects.count() == 1
    # and the service itself refuses, whoever calls it
    with pytest.raises(services.WebhookInvalid):
        services.endpoint_rotate_secret(by=factories.operator(brand=factories.brand("别家")), endpoint=endpoint)


def test_members_cannot_open_the_pages(client):
    client.force_login(factories.member())
    assert client.get(reverse("webhooks:ops-endpoints")).status_code == 403


def test_the_pages_read_in_english_too(client, operator, receiver):
    endpoint = endpoint_for(receiver, brand=operator.brand, by=operator)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("webhooks:ops-endpoint", args=[endpoint.pk]), HTTP_ACCEPT_LANGUAGE="en").content
    assert b"Send test event" in page and b"Rotate secret" in page
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("webhooks:ops-endpoint", args=[endpoint.pk])).content.decode()
    assert "发送测试事件" in page and "更换密钥" in page


def test_deleting_needs_the_box_ticked(client, operator, receiver):
    endpoint = endpoint_for(receiver, brand=operator.brand, by=operator)
    client.post(reverse("webhooks:ops-endpoint-delete", args=[endpoint.pk]))
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()
    response = client.post(reverse("webhooks:ops-endpoint-delete", args=[endpoint.pk]), {"confirm": "1"})
    assert response.url == reverse("webhooks:ops-endpoints")
    assert not Endpoint.objects.exists()


def test_changes_and_replays_are_in_the_audit_log(client, operator, receiver):
    endpoint = endpoint_for(receiver, brand=operator.brand, by=operator)
    services.endpoint_rotate_secret(by=operator, endpoint=endpoint)
    services.endpoint_update(
        by=operator, endpoint=endpoint, data=services.EndpointInput(url=receiver.url, event_types=["order.paid"])
    )
    services.endpoint_send_test(by=operator, endpoint=endpoint)
    services.delivery_replay(by=operator, delivery=Delivery.objects.get())
    entries = list(audit.Entry.objects.filter(brand_id=operator.brand_id).order_by("pk"))
    assert [(e.action, e.note) for e in entries] == [
        ("webhooks.endpoint_changed", "created"),
        ("webhooks.endpoint_changed", "secret rotated"),
        ("webhooks.endpoint_changed", ""),
        ("webhooks.delivery_replayed", str(Delivery.objects.get().event_uuid)),
    ]
    assert entries[2].after == {"event_types": ["order.paid"]}
    assert all(endpoint.secret not in str(e.before) + str(e.after) + e.note for e in entries)
