"""A small hand-made data set for the BI metrics, every figure computed by hand in tests/bi/test_metrics.py.

Time is pinned (``NOW``, 15:00 local); everything is placed relative to it:

- community A: leader ``la`` and members a1–a9 (joined 60 days ago), a10 (joined yesterday, after the live), a11
  (left); community B: leader ``lb`` and b1–b3.
- session S1 (3 days ago 20:00–21:00, aimed at A), watched by la, a1–a5 and b1 (a member of B only); S2 (2 days
  ago, aimed at B) watched by b1 and b2. Everyone leaves at the end; they came ``seconds`` before it.
- jielong C1 (S1's, two first-N places, opened 20:55): la 30.00 (perk, 20:56), a1 20.00 (perk, 21:01),
  a2 10.00 cancelled, a3 15.00, a6 5.00 (did not watch), b1 8.00; 5.00 of la's refunded. C2 (S2's): b2 12.00.
  C0 (no live, 60 days ago): a1 40.00 — a1's first order.
- referrals: a3 ← a1 (a viewer), a6 ← a7 (never watched), b1 ← lb (never watched), b2 ← b1 (a viewer).
- parcels (C1 due 2 days ago by noon, C2 yesterday): la at the point 09:00, picked up; a1 11:30, picked up;
  a3 13:00, not collected; a6 picked up 12:30 with no arrival pressed; b1 out of stock; b2 08:00, picked up.
- NPS: la 10, a1 9, a6 6, b2 8. Activity: a7 commented 10 days ago; a8 was last active 50 days ago.

The rows are written straight into the tables; the events the services would have published with them (the
parcels' moves, 核销 and 超时未取 included) go into the stream too (``demo.history``; the refund goes through the ledger's own service), so the rollups
(``bi.rollups``) fold the same figures the domain queries count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from community.models import Community, Membership, User
from demo.history import History
from feedback.models import NpsSurvey
from fulfillment.models import Parcel
from jielong.ledger import refund_issue
from jielong.models import Campaign, Order, OrderLine
from livestream.models import Comment, LiveSession, Reservation, WatchRecord
from tests import factories as f

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2031, 3, 18, 15, 0, tzinfo=TZ)


def day(offset: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(NOW.date() + timedelta(days=offset), time(hour, minute), tzinfo=TZ)


@dataclass
class Data:
    a: Community
    b: Community
    s1: LiveSession
    s2: LiveSession
    c1: Campaign
    people: dict[str, User] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)

    def __getitem__(self, name: str) -> User:
        return self.people[name]


def _session(title: str, offset: int, community: Community, peak: int) -> LiveSession:
    session = f.live_session(title=title, starts_in=timedelta(0))
    LiveSession.objects.filter(pk=session.pk).update(
        status=LiveSession.Status.ENDED,
        scheduled_start=day(offset, 20),
        scheduled_end=day(offset, 21),
        started_at=day(offset, 20),
        ended_at=day(offset, 21),
        peak_online=peak,
    )
    session.refresh_from_db()
    session.communities.set([community])
    return session


def build() -> Data:
    brand = f.brand()
    a = f.community(name="阳光花园", brand=brand)
    b = f.community(name="翠湖苑", brand=brand)
    points = {a.pk: f.pickup_point(community=a), b.pk: f.pickup_point(community=b)}
    people: dict[str, User] = {}
    history = History()

    def join(name: str, community: Community, *, role=Membership.Role.MEMBER, offset=-60, **extra) -> User:
        user = f.member(nickname=name)
        f.membership(
            user=user,
            community=community,
            role=role,
            joined_at=day(offset, 10),
            default_pickup_point=points[community.pk],
            **extra,
        )
        people[name] = user
        return user

    join("la", a, role=Membership.Role.LEADER)
    for i in range(1, 10):
        join(f"a{i}", a)
    join("a10", a, offset=-1)
    join("a11", a, status=Membership.Status.LEFT)
    join("lb", b, role=Membership.Role.LEADER)
    for i in range(1, 4):
        join(f"b{i}", b)
    Membership.objects.filter(user=people["a3"]).update(invited_by=people["a1"])
    Membership.objects.filter(user=people["a6"]).update(invited_by=people["a7"])
    Membership.objects.filter(user=people["b1"]).update(invited_by=people["lb"])
    Membership.objects.filter(user=people["b2"]).update(invited_by=people["b1"])
    Membership.objects.filter(user=people["a8"]).update(last_active_at=day(-50, 9))

    s1 = _session("老李带你云逛大棚", -3, a, peak=7)
    s2 = _session("翠湖苑的散养鸡", -2, b, peak=2)
    for name, seconds in (
        ("la", 3600),
        ("a1", 3000),
        ("a2", 2400),
        ("a3", 1800),
        ("a4", 1200),
        ("a5", 600),
        ("b1", 600),
    ):
        end = day(-3, 21)
        WatchRecord.objects.create(
            session=s1,
            user=people[name],
            first_seen_at=end - timedelta(seconds=seconds),
            last_seen_at=end,
            seconds_watched=seconds,
        )
        history.entered(live_session_id=s1.pk, user_id=people[name].pk, at=end - timedelta(seconds=seconds))
    for name, seconds in (("b1", 1200), ("b2", 1800)):
        end = day(-2, 21)
        WatchRecord.objects.create(
            session=s2,
            user=people[name],
            first_seen_at=end - timedelta(seconds=seconds),
            last_seen_at=end,
            seconds_watched=seconds,
        )
        history.entered(live_session_id=s2.pk, user_id=people[name].pk, at=end - timedelta(seconds=seconds))
    for name in ("la", "a1", "a2", "a6", "b1"):
        Reservation.objects.create(session=s1, user=people[name])
        history.reserved(live_session_id=s1.pk, user_id=people[name].pk, at=day(-4, 12))
    Comment.objects.create(session=s2, user=people["a7"], text="鸡蛋什么时候到？", created_at=day(-10, 9))

    c0 = f.campaign(communities=[a], title="平日接龙", status=Campaign.Status.COMPLETED, closes_at=day(-59, 22))
    c1 = f.campaign(
        communities=[a],
        title="老李有机蔬菜尝鲜接龙",
        live_session=s1,
        status=Campaign.Status.COMPLETED,
        perk_limit=2,
        perk_taken=2,
        opens_at=day(-3, 20, 55),
        closes_at=day(-3, 23, 30),
    )
    c2 = f.campaign(
        communities=[b], title="散养鸡蛋接龙", live_session=s2, status=Campaign.Status.COMPLETED, closes_at=day(-2, 23)
    )
    for campaign, at in ((c0, day(-60, 9)), (c1, day(-3, 20, 55)), (c2, day(-2, 20, 30))):
        history.campaign_opened(campaign_id=campaign.pk, live_session_id=campaign.live_session_id, at=at)
    orders: dict[str, Order] = {}
    seqs: dict[int, int] = {}

    def order(
        key: str, name: str, campaign: Campaign, fen: int, at: datetime, *, community=None, perk=False, cancelled=False
    ) -> Order:
        seqs[campaign.pk] = seqs.get(campaign.pk, 0) + 1
        community = community or a
        made = Order.objects.create(
            campaign=campaign,
            user=people[name],
            community=community,
            pickup_point=points[community.pk],
            seq=seqs[campaign.pk],
            status=Order.Status.CANCELLED if cancelled else Order.Status.JOINED,
            payment_status=Order.PaymentStatus.PAID,
            is_perk=perk,
            total_fen=fen,
            created_at=at,
            paid_at=at,
        )
        OrderLine.objects.create(order=made, item=campaign.items.get(), quantity=1, unit_price_fen=fen)
        orders[key] = made
        history.orders([made])
        if cancelled:
            history.order_cancelled(order_id=made.pk, campaign_id=campaign.pk, user_id=made.user_id, at=at)
        return made

    order("a1-c0", "a1", c0, 4000, day(-60, 12))
    order("la", "la", c1, 3000, day(-3, 20, 56), perk=True)
    order("a1", "a1", c1, 2000, day(-3, 21, 1), perk=True)
    order("a2", "a2", c1, 1000, day(-3, 21, 2), cancelled=True)
    order("a3", "a3", c1, 1500, day(-3, 21, 10))
    order("a6", "a6", c1, 500, day(-3, 21, 20))
    order("b1", "b1", c1, 800, day(-3, 21, 30), community=b)
    order("b2", "b2", c2, 1200, day(-2, 21), community=b)
    refund_issue(order=orders["la"], amount_fen=500, key="test-refund-la", by=None, reason="test")

    def parcel(key: str, delivery, state, *, at_pickup=None, picked=None, uncollected=None) -> None:
        """The parcel, and the events the batch step, 核销 and the 超时未取 sweep publish with it."""
        o = orders[key]
        Parcel.objects.create(
            order=o,
            brand=brand,
            delivery_date=delivery.date(),
            pickup_point=o.pickup_point,
            state=state,
            state_changed_at=uncollected or picked or at_pickup or delivery,
            at_pickup_at=at_pickup,
            picked_up_at=picked,
        )
        where = {"order_id": o.pk, "user_id": o.user_id, "pickup_point_id": o.pickup_point_id}
        if at_pickup:
            history.parcels_at_point(brand_id=brand.pk, delivery_date=delivery.date(), order_ids=[o.pk], at=at_pickup)
        if picked:
            history.picked_up(**where, at=picked)
        if uncollected:
            history.uncollected(**where, at=uncollected)

    P = Parcel.State
    parcel("la", day(-2), P.PICKED_UP, at_pickup=day(-2, 9), picked=day(-2, 10))
    parcel("a1", day(-2), P.PICKED_UP, at_pickup=day(-2, 11, 30), picked=day(-2, 18))
    parcel("a3", day(-2), P.UNCOLLECTED, at_pickup=day(-2, 13), uncollected=day(-1, 13))
    parcel("a6", day(-2), P.PICKED_UP, picked=day(-2, 12, 30))
    parcel("b1", day(-2), P.SHORTAGE)
    parcel("b2", day(-1), P.PICKED_UP, at_pickup=day(-1, 8), picked=day(-1, 9))

    for key, score in (("la", 10), ("a1", 9), ("a6", 6), ("b2", 8)):
        o = orders[key]
        survey = NpsSurvey.objects.create(
            brand=brand,
            campaign=o.campaign,
            user=o.user,
            order=o,
            community=o.community,
            created_at=day(-1, 9),
            score=score,
            answered_at=day(-1, 10),
        )
        history.nps_answered(
            survey_id=survey.pk,
            user_id=o.user_id,
            campaign_id=o.campaign_id,
            community_id=o.community_id,
            score=score,
            at=day(-1, 10),
        )
    history.write()
    return Data(a=a, b=b, s1=s1, s2=s2, c1=c1, people=people, orders=orders)


def operator() -> User:
    return f.operator()


def b2_orders_again(data: Data, *, ordered: datetime, delivery, state: str, at_pickup: datetime | None = None):
    """b2 orders once more in C0 (domain rows only, no stream events), and that order's parcel."""
    c0 = data.orders["a1-c0"].campaign
    again = Order.objects.create(
        campaign=c0, user=data["b2"], community=data.b, seq=99, total_fen=900, created_at=ordered
    )
    return Parcel.objects.create(
        order=again,
        brand=c0.brand,
        delivery_date=delivery,
        pickup_point=data.orders["b2"].pickup_point,
        state=state,
        state_changed_at=at_pickup or ordered,
        at_pickup_at=at_pickup,
    )


def by_name(rows) -> list[str]:
    names = {u.pk: u.nickname for u in User.objects.filter(pk__in=[r.user_id for r in rows])}
    return sorted(names[r.user_id] for r in rows)
