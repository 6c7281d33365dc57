"""The join's events in the durable stream (issue 14 item 1): written in the join's own commit — on
PostgreSQL by the join's statement (``jielong.join.sql.JOIN_SQL``), on SQLite by the ORM twin's publish —
the same row either way, one per created order however often a request is retried, none for a refusal,
and a group call of N joins writes its N rows in the one commit that makes the N orders."""

import json
import threading

import pytest
from django.db import connection, connections, transaction

from analytics.models import Event
from groupbuy import events
from groupbuy.errors import DomainError
from groupbuy.stream.envelope import key_uuid
from jielong import events as jielong_events
from jielong import services
from jielong.join import sql
from jielong.models import Order
from tests import factories as f
from tests.jielong.gateway_client import cookie_headers, post_many, session_cookie

ENVELOPE = (
    "uuid",
    "name",
    "user_id",
    "distinct_id",
    "source",
    "community_id",
    "live_session_id",
    "campaign_id",
    "order_id",
    "amount_fen",
    "properties",
)


def _rows(**filters):
    return list(Event.objects.filter(**filters).order_by("pk").values_list(*ENVELOPE))


@pytest.mark.django_db
@pytest.mark.usefixtures("join_engine")
def test_a_join_is_one_stream_row_with_its_envelope_the_same_from_sql_and_orm(django_capture_on_commit_callbacks):
    given = f.open_campaign(threshold=1, perk_limit=1)
    campaign, item, user = given.campaign, given.item, given.members[0]

    with django_capture_on_commit_callbacks(execute=False):
        order = services.order_join(campaign_id=campaign.pk, user=user, quantities={item.pk: 2}).order
        # in the join's transaction, before any after-commit work
        assert _rows(campaign_id=campaign.pk) == [
            (
                key_uuid("jielong.order_joined", (order.pk,)),
                "jielong.order_joined",
                user.pk,
                f"user:{user.pk}",
                "mall",
                given.community.pk,
                None,
                campaign.pk,
                order.pk,
                order.total_fen,
                {"order_id": order.pk, "total_fen": order.total_fen, "is_perk": True},
            ),
            (
                key_uuid("jielong.group_formed", (campaign.pk,)),
                "jielong.group_formed",
                None,
                "",
                "mall",
                None,
                None,
                campaign.pk,
                None,
                None,
                {"joined": 1},
            ),
        ]


@pytest.mark.django_db
@pytest.mark.usefixtures("join_engine")
def test_a_join_launched_from_a_live_carries_its_session_in_the_row_and_the_event(django_capture_on_commit_callbacks):
    session = f.live_session()
    given = f.open_campaign(threshold=1, live_session=session)
    heard = []
    events.subscribe(jielong_events.OrderJoined, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            order = services.order_join(
                campaign_id=given.campaign.pk, user=given.members[0], quantities={given.item.pk: 1}
            ).order
    finally:
        events.unsubscribe(jielong_events.OrderJoined, heard.append)

    rows = dict(Event.objects.filter(campaign_id=given.campaign.pk).values_list("name", "live_session_id"))
    assert rows == {"jielong.order_joined": session.pk, "jielong.group_formed": session.pk}
    assert [(e.order_id, e.live_session_id) for e in heard] == [(order.pk, session.pk)]


@pytest.mark.django_db
@pytest.mark.usefixtures("join_engine")
def test_a_retried_join_writes_one_event(django_capture_on_commit_callbacks):
    given = f.open_campaign(threshold=5)
    campaign, item, user = given.campaign, given.item, given.members[0]

    with django_capture_on_commit_callbacks(execute=True):
        first = services.order_join(campaign_id=campaign.pk, user=user, quantities={item.pk: 1}, idempotency_key="k-1")
    with django_capture_on_commit_callbacks(execute=True):
        again = services.order_join(campaign_id=campaign.pk, user=user, quantities={item.pk: 1}, idempotency_key="k-1")

    assert again.order.pk == first.order.pk
    assert Event.objects.filter(name="jielong.order_joined", campaign_id=campaign.pk).count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("join_engine")
def test_a_refused_join_writes_no_event():
    given = f.open_campaign(stock=1)
    campaign, item, user = given.campaign, given.item, given.members[0]

    with pytest.raises(DomainError):
        services.order_join(campaign_id=campaign.pk, user=user, quantities={item.pk: 2})

    assert not Event.objects.filter(campaign_id=campaign.pk).exists()
    assert not Order.objects.filter(campaign=campaign).exists()


@pytest.mark.django_db(transaction=True)
def test_a_group_call_writes_its_n_events_in_the_commit_of_its_n_orders():
    """One call of the join statement for 12 requests: nothing is visible to another connection until
    the commit; then 12 orders and their 12 events, written by the same transaction (same xmin)."""
    given = f.open_campaign(members=12, threshold=100, perk_limit=3)
    campaign, item = given.campaign, given.item
    requests = [
        sql.JoinRequest(user_id=u.pk, items=((item.pk, 1),), idempotency_key=f"g-{u.pk}") for u in given.members
    ]
    seen_before_commit = {}

    def look_from_another_connection():
        try:
            seen_before_commit["events"] = Event.objects.filter(campaign_id=campaign.pk).count()
            seen_before_commit["orders"] = Order.objects.filter(campaign=campaign).count()
        finally:
            connections.close_all()

    with transaction.atomic():
        outcomes = sql.run_joins(campaign_id=campaign.pk, requests=requests)
        assert all(o["ok"] and o["created"] for o in outcomes)
        assert Event.objects.filter(name="jielong.order_joined", campaign_id=campaign.pk).count() == 12
        other = threading.Thread(target=look_from_another_connection)
        other.start()
        other.join()

    assert seen_before_commit == {"events": 0, "orders": 0}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*), count(DISTINCT e.xmin::text), count(*) FILTER (WHERE e.xmin::text = o.xmin::text)
               FROM stream_event e JOIN jielong_order o ON o.id = e.order_id
               WHERE e.name = 'jielong.order_joined' AND e.campaign_id = %s""",
            [campaign.pk],
        )
        assert cursor.fetchone() == (12, 1, 12)
    assert sorted(Event.objects.filter(campaign_id=campaign.pk).values_list("user_id", flat=True)) == sorted(
        u.pk for u in given.members
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_through_the_gateway_write_one_event_per_order_in_each_group_s_commit():
    given = f.open_campaign(members=40, perk_limit=5, threshold=100, stock=30)
    campaign, item, users = given.campaign, given.item, given.members
    path = f"/api/jielong/campaigns/{campaign.pk}/join/"
    body = json.dumps({"items": [{"item": item.pk, "quantity": 1}]}).encode()

    responses = post_many([(path, body, cookie_headers(session_cookie(u))) for u in users])
    # the same members again (double taps after the answers): no new orders, no new events
    post_many([(path, body, cookie_headers(session_cookie(u))) for u in users[:10]])

    assert sorted(r.status_code for r in responses) == [201] * 30 + [409] * 10
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*), count(DISTINCT e.order_id), count(*) FILTER (WHERE e.xmin::text = o.xmin::text)
               FROM stream_event e JOIN jielong_order o ON o.id = e.order_id
               WHERE e.name = 'jielong.order_joined' AND e.campaign_id = %s""",
            [campaign.pk],
        )
        assert cursor.fetchone() == (30, 30, 30)
