"""Hand-made data for the customer data platform's tests; every expected figure is worked out in the tests.

Time is pinned at ``NOW`` (2031-03-18 15:00, Asia/Shanghai); everything is placed relative to it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from community.models import Community, Membership, User
from jielong.models import Campaign, Order, OrderLine
from livestream.models import LiveSession, WatchRecord
from tests import factories as f

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2031, 3, 18, 15, 0, tzinfo=TZ)


def day(offset: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(NOW.date() + timedelta(days=offset), time(hour, minute), tzinfo=TZ)


class Builder:
    def __init__(self) -> None:
        self.brand = f.brand()
        self.a = f.community(name="阳光花园", brand=self.brand)
        self.b = f.community(name="翠湖苑", brand=self.brand)
        self.points = {c.pk: f.pickup_point(community=c) for c in (self.a, self.b)}
        self.seqs: dict[int, int] = {}

    def person(
        self,
        name: str,
        community: Community | None = None,
        *,
        joined: int = -400,
        invited_by: User | None = None,
        **extra,
    ) -> User:
        user = f.member(nickname=name)
        f.membership(
            user=user,
            community=community or self.a,
            joined_at=day(joined),
            invited_by=invited_by,
            default_pickup_point=self.points[(community or self.a).pk],
            **extra,
        )
        return user

    def campaign(self, title: str, *, opens_at: datetime | None = None, live: LiveSession | None = None) -> Campaign:
        return f.campaign(
            communities=[self.a, self.b],
            title=title,
            status=Campaign.Status.COMPLETED,
            opens_at=opens_at,
            closes_at=(opens_at or NOW) + timedelta(hours=3),
            live_session=live,
        )

    def order(self, user: User, campaign: Campaign | None, fen: int, at: datetime, *, cancelled: bool = False) -> Order:
        """One order; ``campaign`` None: a jielong of its own (a member has one active order per jielong)."""
        campaign = campaign or self.campaign(f"接龙{len(self.seqs) + 1}", opens_at=at - timedelta(hours=1))
        self.seqs[campaign.pk] = self.seqs.get(campaign.pk, 0) + 1
        community = Membership.objects.filter(user=user).order_by("pk").first().community
        made = Order.objects.create(
            campaign=campaign,
            user=user,
            community=community,
            pickup_point=self.points[community.pk],
            seq=self.seqs[campaign.pk],
            status=Order.Status.CANCELLED if cancelled else Order.Status.JOINED,
            payment_status=Order.PaymentStatus.PAID,
            total_fen=fen,
            created_at=at,
            paid_at=at,
        )
        OrderLine.objects.create(order=made, item=campaign.items.first(), quantity=1, unit_price_fen=fen)
        return made

    def live(self, title: str, offset: int, *, communities=None, status=LiveSession.Status.ENDED) -> LiveSession:
        session = f.live_session(title=title, starts_in=timedelta(0))
        LiveSession.objects.filter(pk=session.pk).update(
            status=status,
            scheduled_start=day(offset, 20),
            scheduled_end=day(offset, 21),
            started_at=day(offset, 20) if status == LiveSession.Status.ENDED else None,
            ended_at=day(offset, 21) if status == LiveSession.Status.ENDED else None,
        )
        session.refresh_from_db()
        session.communities.set(communities or [self.a])
        return session

    def watch(self, user: User, session: LiveSession, minutes: int) -> WatchRecord:
        end = session.ended_at or session.scheduled_end
        return WatchRecord.objects.create(
            session=session,
            user=user,
            first_seen_at=end - timedelta(minutes=minutes),
            last_seen_at=end,
            seconds_watched=minutes * 60,
        )
