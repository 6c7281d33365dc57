"""What an integration does through the API is audited with its token's prefix as the place."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.scopes import SCOPES
from api.tokens import token_create
from groupbuy.audit.models import Entry
from tests.aftersales.orders import paid_orders

pytestmark = pytest.mark.django_db


def test_a_refund_through_the_api_is_recorded_as_the_tokens(settings):
    settings.API_RATE = "1000/min"
    made = paid_orders(members=1)
    operator = made.operator
    operator.brand = made.campaign.brand
    operator.save(update_fields=["brand"])
    token = token_create(brand=made.campaign.brand, name="ERP", scopes=list(SCOPES), by=operator, expires_in_days=30)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.plaintext}")
    order = made.orders[0]

    response = client.post(
        f"/api/v1/orders/{order.pk}/refunds/",
        {"amount_fen": 500, "reason": "漏发一袋"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="refund-1",
        REMOTE_ADDR="198.51.100.20",
        HTTP_USER_AGENT="erp-sync/2.1",
    )

    assert response.status_code == 201, response.json()
    entry = Entry.objects.get(action="jielong.refunded")
    prefix = token.token.prefix
    assert (entry.actor_id, entry.via, entry.ip, entry.user_agent) == (
        operator.pk,
        f"api token {prefix}",
        "198.51.100.20",
        "erp-sync/2.1",
    )
    assert entry.place == f"api token {prefix} · 198.51.100.20 · erp-sync/2.1"
