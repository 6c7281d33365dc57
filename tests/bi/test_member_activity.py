"""Each member's activity (``bi.models.MemberActivity``, 社群月活率 on a board of every community up to today): the
triggers keep it equal to what the members' rows say through every kind of activity — joins and visits, leaving,
reservations, heartbeats, comments, NPS answers, reviews, deletes — and the fold through their orders; the tile
counts the orders after the stream's cursor from the rows and gives the union's figure; two writers moving one
member at the same moment both land (PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bi import rollups
from bi.metrics import METRICS
from bi.metrics import community as community_metrics
from bi.models import MemberActivity
from bi.scope import Scope
from community.models import Membership
from feedback.models import NpsSurvey, Review
from groupbuy import clock
from jielong import services
from jielong.models import Order
from livestream.models import Comment, Reservation, WatchRecord
from tests import factories as f
from tests.concurrency import held_writes
from tests.migrations import migrated_back


def agrees() -> dict[int, tuple]:
    assert rollups.member_activity_differences() == []
    return {a.user_id: (a.memberships, a.last_active) for a in MemberActivity.objects.all()}


def _board(days_back: int = 0) -> Scope:
    until = clock.localdate() - timedelta(days=days_back)
    return Scope(until - timedelta(days=29), until, None, (), False, "", {})


def _figures(scope: Scope, monkeypatch) -> tuple:
    facts = METRICS["monthly_active"].compute(scope)
    with monkeypatch.context() as m:
        m.setattr(community_metrics, "_monthly_active_from_facts", lambda scope: None)
        union = METRICS["monthly_active"].compute(scope)
    return facts, union


@pytest.mark.django_db
def test_the_facts_follow_every_kind_of_activity(pinned):
    home, other = f.community(), f.community()
    a, b, c = f.member(), f.member(), f.member()
    long_ago = clock.now() - timedelta(days=90)
    f.membership(user=a, community=home, joined_at=long_ago)
    f.membership(user=b, community=home, joined_at=long_ago)
    f.membership(user=b, community=other, joined_at=long_ago - timedelta(days=1))
    assert agrees() == {a.pk: (1, long_ago), b.pk: (2, long_ago)}  # c is no member
    session = f.live_session()
    at = clock.now() - timedelta(days=3)
    record = WatchRecord.objects.create(session=session, user=a, first_seen_at=at, last_seen_at=at)
    assert agrees()[a.pk] == (1, at)
    WatchRecord.objects.filter(pk=record.pk).update(last_seen_at=at + timedelta(minutes=1))  # a heartbeat
    assert agrees()[a.pk] == (1, at)  # the same day: nothing written (the tile reads the day)
    WatchRecord.objects.filter(pk=record.pk).update(last_seen_at=at + timedelta(days=1))  # a replay the next day
    assert agrees()[a.pk] == (1, at + timedelta(days=1))
    Reservation.objects.create(session=session, user=b)
    Comment.objects.create(session=session, user=b, text="几点开播？", created_at=clock.now() - timedelta(hours=2))
    campaign = f.campaign(communities=[home])
    NpsSurvey.objects.create(
        brand=campaign.brand, campaign=campaign, user=a, community=home, created_at=at, answered_at=at, score=10
    )
    # An order long ago (no trigger on orders: older than b's activity, it moves nothing), reviewed now.
    order = Order.objects.create(
        campaign=campaign, user=b, community=home, seq=1, total_fen=990, created_at=clock.now() - timedelta(days=99)
    )
    Review.objects.create(
        brand=campaign.brand, campaign=campaign, community=home, user=b, order=order, rating=5, created_at=clock.now()
    )
    agrees()
    WatchRecord.objects.filter(pk=record.pk).delete()  # a's latest goes back to the NPS answer
    assert agrees()[a.pk] == (1, at)
    Membership.objects.filter(user=b, community=home).update(status=Membership.Status.LEFT)
    assert agrees()[b.pk][0] == 1
    Membership.objects.filter(user=b).update(status=Membership.Status.LEFT)
    assert b.pk not in agrees()  # no active membership: no row
    f.membership(user=c, community=home)
    Comment.objects.create(session=session, user=c, text="要两份", created_at=clock.now() - timedelta(days=40))
    Membership.objects.filter(user=c).update(last_active_at=clock.now() - timedelta(days=35))
    agrees()
    Membership.objects.filter(user=b).update(status=Membership.Status.ACTIVE)  # back: every activity of theirs counts
    agrees()
    Review.objects.all().delete()
    agrees()


@pytest.mark.django_db
def test_the_tile_counts_orders_after_the_cursor_from_their_rows_and_gives_the_unions_figure(pinned, monkeypatch):
    given = f.open_campaign(members=3, threshold=1)
    Membership.objects.filter(community=given.community).update(joined_at=clock.now() - timedelta(days=200))
    rollups.catch_up(settle=timedelta(0))
    quiet, buyer, _other = given.members
    services.order_join(campaign_id=given.campaign.pk, user=buyer, quantities={given.item.pk: 1})
    stored = MemberActivity.objects.get(user_id=buyer.pk).last_active
    assert stored < clock.now() - timedelta(days=100)  # the order is not in the facts yet: no trigger on orders
    facts, union = _figures(_board(), monkeypatch)
    assert facts == union and facts.numerator >= 1
    rollups.catch_up(settle=timedelta(0))  # the fold refreshes its joiners
    assert agrees()[buyer.pk][1] > clock.now() - timedelta(days=1)
    assert _figures(_board(), monkeypatch) == (facts, union)
    assert _figures(_board(days_back=40), monkeypatch)[0] == _figures(_board(days_back=40), monkeypatch)[1]
    assert quiet.pk in agrees()


PAIRS = 6


@pytest.mark.django_db(transaction=True)
def test_two_activities_of_one_member_at_the_same_moment_both_land():
    """Each member comments (now: their latest, moved forward without a recompute) and answers an NPS survey (two
    days ago: a recompute of the member) at the same moment in two transactions, each held a moment before its
    commit. The recompute cannot see the comment — without the advisory lock it would write the older day over it —
    and every row ends as the members' rows say."""
    session = f.live_session()
    home = f.community()
    campaign = f.campaign(communities=[home])
    users = [f.member() for _ in range(PAIRS)]
    for user in users:
        f.membership(user=user, community=home, joined_at=clock.now() - timedelta(days=60))
        NpsSurvey.objects.create(
            brand=campaign.brand, campaign=campaign, user=user, community=home, created_at=clock.now()
        )
    answered = clock.now() - timedelta(days=2)
    writes = []
    for user in users:
        comment = lambda u=user: Comment.objects.create(session=session, user=u, text="好")  # noqa: E731
        answer = lambda u=user: NpsSurvey.objects.filter(user=u).update(answered_at=answered, score=9)  # noqa: E731
        writes += [(comment, 0), (answer, 0.1)]
    held_writes(writes)
    assert rollups.member_activity_differences() == []
    assert all(a.last_active > answered for a in MemberActivity.objects.all())


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_rows_from_the_members_rows():
    home = f.community()
    a, b = f.member(), f.member()
    at = clock.now() - timedelta(days=4)
    with migrated_back("bi", "0013_viewer_sessions_latest"):
        f.membership(user=a, community=home, joined_at=at)
        f.membership(user=b, community=home, joined_at=at, status=Membership.Status.LEFT)
    assert list(MemberActivity.objects.values_list("user_id", "memberships", "last_active")) == [(a.pk, 1, at)]
