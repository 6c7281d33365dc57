"""The read replica: dashboards' and exports' reads go to it (explicitly, ``groupbuy.db.replica_reads``), joins,
refunds and 核销 never touch it, and with no replica configured nothing changes.

The replica alias is Django's test mirror of the default database (groupbuy/settings/test.py): the same test
database through a second connection. These tests commit (``transaction=True``) so that connection sees the rows.
"""

from __future__ import annotations

import pytest
import time_machine
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from community.models import User
from fulfillment.models import Handout
from fulfillment.pickup import verify_pickup
from fulfillment.split import split_day
from groupbuy.db import REPLICA, ReplicaRouter, replica_reads
from jielong import ledger, services
from jielong.models import Order
from tests import factories as f
from tests.bi import scenario
from tests.fulfillment.day import make_day

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])


@pytest.fixture
def replica_on(settings):
    settings.DATABASE_REPLICA_ALIAS = REPLICA
    return connections[REPLICA]


def _tables(queries) -> str:
    return " ".join(q["sql"] for q in queries)


def test_the_boards_exports_and_customer_models_read_from_the_replica(client, replica_on):
    with time_machine.travel(scenario.NOW, tick=False):
        data = scenario.build()
        client.force_login(f.operator())
        with CaptureQueriesContext(replica_on) as on_replica, CaptureQueriesContext(connections["default"]) as primary:
            response = client.get(reverse("bi:board"), {"session": data.s1.pk})
        assert response.status_code == 200
        assert 'data-figure="viewer_to_joiner">57%<' in response.content.decode()  # the figure, read via the replica
        assert len(on_replica) >= 5
        assert "jielong_order" in _tables(on_replica)
        # The primary answered who is asking (session, user, the scope's access check), not the figures.
        assert "jielong_order" not in _tables(primary)

        with CaptureQueriesContext(replica_on) as on_replica:
            export = client.get(reverse("bi:board-export", args=["csv"]), {"session": data.s1.pk})
            drill = client.get(reverse("bi:people", args=["viewer_to_joiner"]), {"session": data.s1.pk})
        assert export.status_code == 200 and drill.status_code == 200
        assert drill.context["total"] == 4
        assert "jielong_order" in _tables(on_replica)

        # The customer models (RFM, KOC ranking, LTV and cohorts) too.
        with CaptureQueriesContext(replica_on) as on_replica:
            models = client.get(reverse("cdp:home"))
        assert models.status_code == 200
        assert "jielong_order" in _tables(on_replica)


def test_joins_cancels_refunds_and_pickups_never_touch_the_replica(replica_on):
    given = f.open_campaign(members=2, threshold=1)
    operator = f.operator()
    day = make_day(suppliers=1, points=1, members=2, campaigns=1)
    with CaptureQueriesContext(replica_on) as on_replica:
        joined = services.order_join(
            campaign_id=given.campaign.pk, user=given.members[0], quantities={given.item.pk: 2}, idempotency_key="k1"
        ).order
        other = services.order_join(
            campaign_id=given.campaign.pk, user=given.members[1], quantities={given.item.pk: 1}
        ).order
        services.order_cancel(order_id=other.pk, user=given.members[1])
        services.order_mark_paid(order_id=joined.pk, by=operator)
        ledger.refund_issue(order=joined, amount_fen=100, key="r1", by=operator)

        split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
        handout = Handout.objects.filter(delivery_date=day.delivery_date).first()
        verify_pickup(code=handout.code, pickup_point_id=handout.pickup_point_id, by=operator)
    assert len(on_replica) == 0
    assert Order.objects.get(pk=joined.pk).refunded_fen == 100
    assert Handout.objects.get(pk=handout.pk).verified_at is not None


def test_inside_the_block_writes_and_transactions_stay_on_the_primary(replica_on):
    user = f.member(nickname="读者")
    router = ReplicaRouter()
    with replica_reads() as alias:
        assert alias == REPLICA
        assert router.db_for_read(User) == REPLICA
        loaded = User.objects.get(pk=user.pk)
        assert loaded._state.db == REPLICA
        assert router.db_for_write(User, instance=loaded) == "default"
        with CaptureQueriesContext(replica_on) as on_replica:
            loaded.nickname = "写者"
            loaded.save(update_fields=["nickname"])  # to the primary, though read from the replica
            with transaction.atomic():
                assert router.db_for_read(User) == "default"  # a read that may follow a write in this transaction
                User.objects.get(pk=user.pk)
        assert on_replica.captured_queries == []
    assert router.db_for_read(User, instance=loaded) == "default"  # outside the block, even for its objects
    assert User.objects.get(pk=user.pk).nickname == "写者"


@pytest.mark.django_db(transaction=False, databases=["default", REPLICA])
def test_without_a_replica_the_block_changes_nothing(settings):
    settings.DATABASE_REPLICA_ALIAS = ""
    with replica_reads() as alias, CaptureQueriesContext(connections[REPLICA]) as on_replica:
        assert alias == "default"
        assert ReplicaRouter().db_for_read(User) == "default"
        User.objects.count()
    assert on_replica.captured_queries == []


@pytest.fixture
def replica_down(replica_on, monkeypatch):
    """The replica alias pointed at a port nothing listens on: a replica that is down (connection refused)."""
    import socket

    from groupbuy import db

    with socket.socket() as probe:  # a port that was free a moment ago, closed again: nothing listens there
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    replica_on.close()
    monkeypatch.setitem(replica_on.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(replica_on.settings_dict, "PORT", closed_port)
    monkeypatch.setattr(db, "_replica_down_until", 0.0, raising=False)  # no replica marked down by an earlier test
    yield replica_on
    replica_on.close()


def test_a_replica_that_is_down_leaves_the_boards_on_the_primary_and_is_tried_again_later(
    client, replica_down, settings, monkeypatch, caplog
):
    """The board answers from the primary (a warning, not an error page); the next block within the retry
    interval does not try the replica again; after it, a replica that is back is used again."""
    from groupbuy import db

    attempts = []
    real_ensure = replica_down.ensure_connection

    def counted():
        attempts.append(1)
        return real_ensure()

    monkeypatch.setattr(replica_down, "ensure_connection", counted)
    with time_machine.travel(scenario.NOW, tick=False):
        data = scenario.build()
        client.force_login(f.operator())
        with caplog.at_level("WARNING", logger="groupbuy.db"), CaptureQueriesContext(connections["default"]) as primary:
            response = client.get(reverse("bi:board"), {"session": data.s1.pk})
    assert response.status_code == 200
    assert 'data-figure="viewer_to_joiner">57%<' in response.content.decode()  # the same figure, from the primary
    assert "jielong_order" in _tables(primary)
    assert "read replica (replica) is unreachable" in caplog.text
    assert len(attempts) == 1

    with replica_reads() as alias:  # within the retry interval: not tried again
        assert alias == "default"
        assert ReplicaRouter().db_for_read(User) == "default"
    assert len(attempts) == 1

    # The replica is back (its real address again), and the interval has passed.
    monkeypatch.undo()
    settings.DATABASE_REPLICA_ALIAS = REPLICA
    replica_down.close()
    monkeypatch.setattr(db, "_replica_down_until", 0.0)
    with replica_reads() as alias, CaptureQueriesContext(replica_down) as on_replica:
        assert alias == REPLICA
        User.objects.count()
    assert len(on_replica) == 1
