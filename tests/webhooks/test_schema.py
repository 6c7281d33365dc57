"""The webhooks are part of the published schema (api/openapi.yaml, OpenAPI 3.1 ``webhooks:``): an integration
written from that file alone accepts the bodies we really send."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from jielong import services as jielong_services
from jielong.ledger import refund_issue
from tests import factories
from tests.aftersales.orders import paid_orders
from webhooks import catalog

from .conftest import drive, endpoint_for

pytestmark = pytest.mark.django_db

PUBLISHED = yaml.safe_load((Path(__file__).resolve().parents[2] / "api" / "openapi.yaml").read_text())


def _validator(type_name: str) -> Draft202012Validator:
    body = PUBLISHED["webhooks"][type_name]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**body, "components": PUBLISHED["components"]})


def test_every_event_type_is_published_with_its_body():
    assert PUBLISHED["openapi"].startswith("3.1")
    assert set(PUBLISHED["webhooks"]) == {t.name for t in catalog.TYPES}
    for kind in catalog.TYPES:
        [ref] = PUBLISHED["webhooks"][kind.name]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ].values()
        data = PUBLISHED["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]["data"]["$ref"]
        assert set(PUBLISHED["components"]["schemas"][data.rsplit("/", 1)[1]]["properties"]) == set(kind.fields)


def test_the_bodies_sent_match_the_published_schema(receiver, pinned):
    # given an endpoint for everything, a join that forms a group, and a refund of a paid order
    scenario = factories.open_campaign(members=1, threshold=1)
    endpoint_for(receiver, brand=scenario.campaign.brand, by=factories.operator())
    jielong_services.order_join(
        campaign_id=scenario.campaign.pk, user=scenario.members[0], quantities={scenario.item.pk: 1}
    )
    paid = paid_orders(members=1)
    endpoint_for(receiver, brand=paid.campaign.brand, by=paid.operator)
    refund_issue(order=paid.orders[0], amount_fen=100, key="schema-1", by=paid.operator)

    drive()

    # then every body the receiver got is valid against the published schema of its type
    types = sorted(r.json["type"] for r in receiver.received)
    assert {"order.created", "campaign.formed", "order.refunded"} <= set(types)
    for received in receiver.received:
        errors = [e.message for e in _validator(received.json["type"]).iter_errors(received.json)]
        assert errors == [], (received.json["type"], errors)
    # and a body missing a field, or with a wrong type, is not (the check can fail)
    sample = next(r.json for r in receiver.received if r.json["type"] == "order.created")
    assert list(_validator("order.created").iter_errors({**sample, "data": {**sample["data"], "total_fen": "9"}}))
    assert list(_validator("order.created").iter_errors({k: v for k, v in sample.items() if k != "brand_id"}))
