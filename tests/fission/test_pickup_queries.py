"""核销 with commissions accruing stays a bounded handful of statements (the bench's p99 ≤ 100 ms rests on it)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fission import sellers
from fission.models import RuleKind
from fulfillment.models import Handout
from fulfillment.pickup import verify_pickup
from fulfillment.split import split_day
from jielong import services
from jielong.models import LedgerEntry, Order
from tests import factories
from tests.fulfillment.day import make_day

pytestmark = pytest.mark.django_db


def _statements(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


def test_a_merged_handout_with_leader_commissions_is_verified_in_a_bounded_number_of_statements():
    day = make_day(suppliers=2, points=2, members=6, campaigns=3)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    handout = max(Handout.objects.filter(delivery_date=day.delivery_date), key=lambda h: h.parcels.count())
    orders = list(Order.objects.filter(parcel__handout=handout))
    assert len(orders) >= 2  # merged: several orders, several lines
    point = handout.pickup_point
    leader = factories.member(nickname="李团长")
    point.leader = leader
    point.save(update_fields=["leader"])
    operator = factories.operator()
    for order in orders:
        services.order_mark_paid(order_id=order.pk, by=operator)
        sellers.rule_set(
            campaign=order.campaign, kind=RuleKind.PERCENT, rate_bp=0, fixed_fen=0, leader_rate_bp=800, by=operator
        )

    with CaptureQueriesContext(connection) as ctx:
        verify_pickup(code=handout.code, pickup_point_id=point.pk, by=leader)

    earned = LedgerEntry.objects.filter(payee=leader, kind=LedgerEntry.Kind.COMMISSION)
    assert {e.order_id for e in earned} == {o.pk for o in orders}
    statements = _statements(ctx)
    # The point; the claim, the parcels, the orders, the log; the commissions: orders, lines with their money,
    # earlier accruals, the campaigns' rules, the brand's defaults, the ledger's key check and insert, their
    # events; the notices: facts, what is there, the insert; the pickup events. (Before: 25 for this one.)
    assert len(statements) <= 17, "\n".join(statements)
