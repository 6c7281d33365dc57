"""源味集's year (issue 14 item 7): nine months of plain jielongs in the WeChat groups, then three months of weekly
private lives, so the dashboards tell the article's year on first run.

- A year ago 源味集 started in one WeChat group, 源味集·尝鲜群, with twice-weekly plain jielongs (群接龙) of 老李's
  greens: one bag, sometimes two, and most neighbours ordered now and then. As each estate got its own group
  (阳光花园, 翠湖苑, 滨江一号 — the story's groups and join times) its neighbours moved there and left the 尝鲜群,
  which was archived; the plain jielongs went on in the estate groups.
- Twelve weeks before 《农场主来了》 the brand went live: a weekly evening live, alternating 《厨房里的秘密》 and
  《溯源之旅》 (the article's series), aimed at the estate groups of the day. Most members watch, about two
  thirds join the jielong it launches, with fuller baskets; a weekly plain top-up jielong stays on the side.
  《农场主来了》 (``demo.story``) is the thirteenth live and stays exactly as the story tells it.
- Neighbours brought in since then are mostly the story's invitations by viewers; 30 of 阳光花园 (the story's
  lurkers) drifted off before the last month and ten of the two smaller groups were quiet in it. Neighbours the
  after-care and blacklist stories gave a record (``demo.aftercare``, ``demo.blacklist``) buy nothing else, so
  their refund rates stay as told.

The figures, through the board's own definitions (``bi.metrics``), over "since the first live" (the era) and
over the whole year: live-driven orders' 客单价 three times the others' (+200%, both periods), LTV at the end of
the era six times LTV at its start (+500%, the board's 期间LTV变化), brand-wide monthly active 90% today, over
60% of the era's new customers brought by a viewer. The plan is settled on the whole percent before anything is
written: a few live entries more or fewer, then the plain baskets walked a unit (or a swap) at a time.

Rows are written in bulk (about 1,850 orders), payments through the ledger's own writer as of the moment each
order was paid, and the events the services would have published into the stream (``demo.history``: lives,
reservations, entries, jielongs opened and closed, joins and payments), so the stream's rollups give the boards
the domain tables' figures. Not told: the year's parcels and hand-outs (each jielong has its delivery date
only), so no 核销 events either. Every random choice comes from one seeded generator; dates hang on the story's clock. A year
already told for today's anchor is left alone (only the memberships' last activity, which the story resets, is
brought forward again); a later day forgets the year and tells it again around the new today.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Max, Sum
from django.utils import timezone

from aftersales.models import Request
from bi.metrics import _community_members_at_end, _was_active
from bi.scope import Scope
from community.models import Community, FeedItem, Flag, Membership, User
from demo.history import History
from demo.history import forget as forget_history
from fulfillment.models import CampaignDelivery
from groupbuy.stream.models import Event
from jielong.events import CampaignOpened
from jielong.ledger import payments_record
from jielong.models import Campaign, CampaignItem, LedgerEntry, Order, OrderLine
from jielong.subscribers import add_opened_campaign_to_feeds
from livestream.models import LiveSeries, LiveSession, Reservation, WatchRecord

if TYPE_CHECKING:
    from demo.story import Catalogue, Clock, People

YEAR_MARK = "demo.year"
RANDOM_SEED = 20251206

FOUNDING_SLUG = "changxian"
FOUNDING_NAME = "源味集·尝鲜群"
YEAR_START_DAY = -365  # the 尝鲜群 opened a year ago
LIVES = 12  # weekly lives before 《农场主来了》 (the story's PAST_DAY), the first twelve weeks before it
QUIET_DAYS = 36  # the story's lurkers: nothing in the last 36 days
MONTHLY_ACTIVE = 0.90

# The article's figures, as the board shows them (whole percent).
AOV_RATIO = 3.0  # +200%
LTV_RATIO = 6.0  # +500%
_TOLERANCE = 0.0025  # of a ratio: well inside the half percent the board rounds away

# (sku code, price fen, per-member limit, chance an order takes it)
_PLAIN_ITEMS = (("LL-SHQ-500", 1290, 5, 0.7), ("LL-LET-400", 990, 5, 0.35), ("LL-CUC-500", 1190, 5, 0.3))
_LIVE_ITEMS = (
    ("LL-SHQ-500", 1290, 5, 0.8),
    ("LL-EGG-30", 4990, 3, 0.5),
    ("LL-TOM-500", 1590, 5, 0.6),
    ("LL-CUC-500", 1190, 5, 0.45),
    ("LL-LET-400", 990, 5, 0.4),
    ("LL-EGG-15", 2690, 5, 0.3),
)
_SERIES = {
    "厨房里的秘密": "源味集的厨房直播：一道家常菜，从挑菜、处理到上桌，边做边聊食材的来历。",
    "溯源之旅": "跟着源味集的买手去产地：看土地、看棚、看检测，把每样菜的来路讲清楚。",
}
_EPISODES = (
    ("厨房里的秘密", "上海青的三种家常做法"),
    ("溯源之旅", "安吉山里的有机菜地"),
    ("厨房里的秘密", "一颗番茄的酸甜平衡"),
    ("溯源之旅", "农残检测仪怎么用"),
    ("厨房里的秘密", "孩子爱吃的黄瓜小菜"),
    ("溯源之旅", "冷链车里的一夜"),
    ("厨房里的秘密", "散养鸡蛋的蒸、煎、炖"),
    ("溯源之旅", "生菜为什么要清晨采"),
    ("厨房里的秘密", "一周便当的蔬菜搭配"),
    ("溯源之旅", "山林散养鸡的一天"),
    ("厨房里的秘密", "一桌家宴的三道素菜"),
    ("溯源之旅", "大棚里的冬天"),
)


@dataclass(eq=False)
class _Member:
    user: User
    home: Membership  # the first estate group they joined (the story's)
    seats: list[Membership]
    founding_at: datetime | None  # joined the 尝鲜群, before moving to their estate group
    quiet_from: datetime | None = None  # nothing from then on (lurkers, and the month's quiet ones)
    buys: bool = True  # False for neighbours with an after-sales record: their record stays the story's

    def since(self) -> datetime:
        return self.founding_at or self.home.joined_at

    def can_act(self, when: datetime) -> bool:
        return when >= self.since() and (self.quiet_from is None or when < self.quiet_from)

    def community_at(self, when: datetime, founding: Community) -> tuple[int, int | None]:
        """(community id, pickup point id) an order placed at ``when`` went to."""
        if self.founding_at is not None and when < self.home.joined_at:
            return founding.pk, None
        return self.home.community_id, self.home.default_pickup_point_id


@dataclass(eq=False)
class _Order:
    member: _Member
    at: datetime
    lines: dict[int, int]  # item index → quantity
    is_perk: bool = False
    paid_at: datetime | None = None


@dataclass(eq=False)
class _Campaign:
    title: str
    opens_at: datetime
    closes_at: datetime
    items: tuple  # rows of _PLAIN_ITEMS / _LIVE_ITEMS
    session: int | None = None  # index in the plan's sessions
    perk_limit: int = 0
    communities: set[int] = field(default_factory=set)
    orders: list[_Order] = field(default_factory=list)

    def price(self, index: int, is_perk: bool) -> int:
        price = self.items[index][1]
        return round(price * 0.9) if is_perk else price

    def total(self, order: _Order) -> int:
        return sum(q * self.price(i, order.is_perk) for i, q in order.lines.items())


@dataclass(eq=False)
class _Session:
    series: str
    title: str
    started_at: datetime
    ended_at: datetime
    communities: list[int]
    watches: list[tuple[_Member, datetime, datetime, int]] = field(default_factory=list)
    reservations: list[tuple[_Member, datetime]] = field(default_factory=list)


@dataclass(frozen=True)
class YearSummary:
    orders: int
    live_sessions: int
    written: bool  # False when a year already told around today was left alone

    def describe(self) -> str:
        state = "written" if self.written else "already there"
        return f"{self.orders} orders in a year of jielongs, {self.live_sessions} earlier lives ({state})"


def seed_year(*, people: People, catalogue: Catalogue, clock: Clock) -> YearSummary:
    """Tell (or keep) the year before the story's past session. Call at the end of ``seed_demo``."""
    founding_at = clock.at(YEAR_START_DAY, 10)
    founding = Community.objects.filter(slug=FOUNDING_SLUG).first()
    told = (
        founding is not None
        and founding.created_at == founding_at
        and Order.objects.filter(idempotency_key__startswith=YEAR_MARK).exists()
        and Event.objects.filter(properties__seed=YEAR_MARK).exists()  # a year told before it had its stream
    )
    if not told:
        _forget()
        founding = _founding(people, founding_at)
        plan = _plan(people, clock, founding)
        _write(people, catalogue, founding, plan)
    _touch_memberships(people)
    return YearSummary(
        orders=Order.objects.filter(idempotency_key__startswith=YEAR_MARK).count(),
        live_sessions=LiveSession.objects.filter(series__title__in=_SERIES, series__brand=people.brand).count(),
        written=not told,
    )


# --- planning -----------------------------------------------------------------------------------


@dataclass
class _Plan:
    members: list[_Member]
    campaigns: list[_Campaign]
    sessions: list[_Session]
    founding_seats: list[tuple[_Member, datetime]]


def _story_active(clock: Clock) -> set[int]:
    """Who the story alone keeps active in the last 30 days (the board's rule, ``bi.metrics``)."""
    today = clock.today
    scope = Scope(
        since=today, until=today, community_ids=None, session_ids=(), session_picked=False, label="", params={}
    )
    return set(_community_members_at_end(scope).filter(_was_active(scope)).values_list("pk", flat=True))


def _plan(people: People, clock: Clock, founding: Community) -> _Plan:
    from demo.story import PAST_DAY

    rng = random.Random(RANDOM_SEED)
    first_live_day = PAST_DAY - 7 * LIVES
    era_start = clock.at(first_live_day)
    window_start = clock.at(1) - timedelta(days=30)  # the board's month: 30 days to the end of today
    founding_at = clock.at(YEAR_START_DAY, 10)

    # The cast: every neighbour of the story, at their first estate group.
    seats: dict[int, list[Membership]] = defaultdict(list)
    for seat in people.seats:
        membership = people.membership(seat.person, seat.community)
        seats[id(seat.person)].append(membership)
    lurkers = {id(p) for p in people.lurkers}
    # Whoever the after-care and blacklist stories gave a record keeps exactly that record (its refund rate).
    recorded = set(Request.objects.values_list("user_id", flat=True)) | set(
        Flag.objects.filter(brand=people.brand).values_list("user_id", flat=True)
    )
    members: list[_Member] = []
    founding_seats = []
    for person in people.persons:
        mine = sorted(seats[id(person)], key=lambda m: m.joined_at)
        home = mine[0]
        chance = 0.6 if home.joined_at < era_start else 0.2
        latest = min(home.joined_at, clock.at(first_live_day - 14)) - timedelta(days=3)
        founding_join = None
        if rng.random() < chance and latest > founding_at + timedelta(days=2):
            span = int((latest - founding_at).total_seconds())
            founding_join = founding_at + timedelta(hours=2, seconds=int(span * rng.random() ** 1.3))
        member = _Member(person.user, home, mine, founding_join, buys=person.user.pk not in recorded)
        if id(person) in lurkers:
            member.quiet_from = min(clock.at(-QUIET_DAYS), max(home.joined_at, clock.at(-QUIET_DAYS - 30)))
        if founding_join:
            founding_seats.append((member, founding_join))
        members.append(member)

    # This month: everyone the story does not already keep active is active through the year, except enough
    # quiet ones of the smaller groups that the brand-wide rate lands on 90%.
    active = _story_active(clock)
    target = math.ceil(MONTHLY_ACTIVE * len(members) - 1e-9)
    inactive_fixed = [m for m in members if m.quiet_from is not None and m.user.pk not in active]
    candidates = [m for m in members if m.quiet_from is None and m.user.pk not in active]
    quiet = rng.sample(candidates, max(0, len(members) - target - len(inactive_fixed)))
    for m in quiet:
        m.quiet_from = window_start - timedelta(days=rng.randint(1, 20))
    must_act = [m for m in candidates if m.quiet_from is None]

    communities = {c.pk: c for c in people.communities.values()}
    created = {pk: Community.objects.filter(pk=pk).values_list("created_at", flat=True).get() for pk in communities}

    def open_groups(at: datetime) -> list[int]:
        return sorted(pk for pk, when in created.items() if when <= at)

    campaigns: list[_Campaign] = []

    # Nine months of plain jielongs, twice a week; then a weekly top-up beside the lives.
    day, n = YEAR_START_DAY + 3, 0
    while day < first_live_day:
        n += 1
        campaigns.append(_plain(rng, clock, day, f"【群接龙】老李有机蔬菜 第{n}期", members, founding, 0.04))
        campaigns[-1].communities |= set(open_groups(campaigns[-1].opens_at))
        day += 3 if n % 2 else 4
    day, n = first_live_day + 3, 0
    while day <= PAST_DAY - 2:
        n += 1
        campaigns.append(_plain(rng, clock, day, f"【日常接龙】有机青菜补货 第{n}期", members, founding, 0.07))
        campaigns[-1].communities |= set(open_groups(campaigns[-1].opens_at))
        day += 7

    sessions: list[_Session] = []
    for k, (series, title) in enumerate(_EPISODES[:LIVES]):
        day = first_live_day + 7 * k
        started = clock.at(day, 20, 0, rng.randint(0, 50))
        ended = clock.at(day, 21, rng.randint(0, 4), rng.randint(0, 59))
        session = _Session(series, title, started, ended, open_groups(started))
        sessions.append(session)
        _live(rng, clock, day, k, session, members, campaigns, founding)

    # Anyone still owed an activity this month watched the last live before the story's.
    last = sessions[-1]
    watched = {id(w[0]) for w in last.watches}
    for m in must_act:
        in_window = any(
            o.member is m and o.at >= window_start for c in campaigns if c.opens_at >= window_start for o in c.orders
        ) or any(w[0] is m for s in sessions if s.started_at >= window_start for w in s.watches)
        if not in_window and id(m) not in watched and m.home.community_id in last.communities:
            last.watches.append(_watch(rng, m, last.started_at, last.ended_at))

    plan = _Plan(members, campaigns, sessions, founding_seats)
    _tune(rng, plan, clock, era_start, brand=people.brand)
    return plan


def _plain(
    rng: random.Random, clock: Clock, day: int, title: str, members: list[_Member], founding: Community, chance: float
) -> _Campaign:
    campaign = _Campaign(title, clock.at(day, 9), clock.at(day, 22), _PLAIN_ITEMS)
    for m in members:
        at = clock.at(day, 9, 5) + timedelta(seconds=rng.randint(0, 12 * 3600))
        if not m.buys or not m.can_act(at) or rng.random() >= chance:
            continue
        lines = {i: rng.choices((1, 2), (80, 20))[0] for i, row in enumerate(_PLAIN_ITEMS) if rng.random() < row[3]}
        campaign.orders.append(_Order(m, at, lines or {0: 1}))
        campaign.communities.add(m.community_at(at, founding)[0])
    return campaign


def _watch(rng: random.Random, m: _Member, started: datetime, ended: datetime) -> tuple:
    length = int((ended - started).total_seconds())
    arrive = rng.randint(0, 180) if rng.random() < 0.7 else rng.randint(180, 1500)
    leave = (
        length - rng.randint(0, 120)
        if rng.random() < 0.8
        else rng.randint(min(arrive + 900, length - 300), length - 300)
    )
    leave = max(leave, arrive + 60)
    seconds = int((leave - arrive) * rng.uniform(0.93, 1.0))
    return (m, started + timedelta(seconds=arrive), started + timedelta(seconds=leave), seconds)


def _live(
    rng: random.Random,
    clock: Clock,
    day: int,
    k: int,
    session: _Session,
    members: list[_Member],
    campaigns: list[_Campaign],
    founding: Community,
) -> None:
    """One weekly live: who reserved, who watched, and the jielong it launched at 20:55."""
    targeted = [
        m
        for m in members
        if any(s.community_id in session.communities and s.joined_at < session.ended_at for s in m.seats)
    ]
    watch_chance = 0.74 + 0.01 * k
    for m in targeted:
        watches = m.can_act(session.started_at) and rng.random() < watch_chance
        if watches:
            session.watches.append(_watch(rng, m, session.started_at, session.ended_at))
        if m.can_act(clock.at(day - 1, 9)) and rng.random() < (0.85 if watches else 0.25):
            session.reservations.append((m, clock.at(day - 1, 9) + timedelta(seconds=rng.randint(0, 35 * 3600))))
    opens_at = clock.at(day, 20, 55)
    campaign = _Campaign(
        f"《{session.series}》{session.title} · 直播接龙",
        opens_at,
        clock.at(day, 23, 30),
        _LIVE_ITEMS,
        session=k,
        perk_limit=30,
    )
    stayed = [w for w in session.watches if w[2] >= opens_at - timedelta(minutes=10)]
    joiners = [w[0] for w in stayed if rng.random() < 0.72 and w[0].buys]
    rng.shuffle(joiners)
    sellout = rng.randint(300, 840)
    for i, m in enumerate(joiners):
        if i < campaign.perk_limit:
            at = opens_at + timedelta(seconds=int(sellout * (i + 1) / campaign.perk_limit))
        else:
            at = opens_at + timedelta(seconds=sellout + int(rng.random() ** 1.8 * (2.5 * 3600 - sellout)))
        lines = {}
        for index, row in enumerate(_LIVE_ITEMS):
            if rng.random() < row[3]:
                lines[index] = rng.choices((1, 2, 3), (55, 32, 13))[0]
        order = _Order(m, at, lines or {0: 2}, is_perk=i < campaign.perk_limit)
        campaign.orders.append(order)
        campaign.communities.add(m.community_at(at, founding)[0])
    campaign.communities |= set(session.communities)
    campaigns.append(campaign)


# --- tuning the baskets to the article's figures ------------------------------------------------------


def _tune(rng: random.Random, plan: _Plan, clock: Clock, era_start: datetime, *, brand) -> None:
    """Settle the plan on the article's figures as the board computes them (``bi.metrics``: orders not
    cancelled, net of the ledger's refunds): the 客单价 of live-driven orders three times the others' in the era
    and over the year, and LTV at the era's end six times LTV at its start.

    With both 客单价 tied to the live one, the LTV ratio is set by how many orders there are, so it is settled
    first by a few more (or fewer) live jielong entries — viewers who stayed to the end joining (or not); then
    the plain baskets are walked to a third of the live one, a unit (or a swap of one item for another) at a
    time. Only the brand's own story counts (a re-told year finds the second brand's orders there too)."""
    story = list(
        Order.objects.exclude(status=Order.Status.CANCELLED)
        .filter(campaign__brand=brand)
        .exclude(idempotency_key__startswith=YEAR_MARK)
        .values_list("user_id", "created_at", "total_fen", "campaign__live_session_id")
    )
    refunds = (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, order__in=Order.objects.exclude(status="cancelled"))
        .filter(order__campaign__brand=brand)
        .exclude(order__idempotency_key__startswith=YEAR_MARK)
        .aggregate(s=Sum("amount_fen"))["s"]
        or 0
    )
    story_live = [t for _u, at, t, live in story if live is not None and at >= era_start]
    story_total = sum(t for _u, _a, t, _l in story)
    story_before = [(u, t) for u, at, t, _live in story if at < era_start]
    lives = [c for c in plan.campaigns if c.session is not None]
    pre = [(c, o) for c in plan.campaigns if c.session is None and c.opens_at < era_start for o in c.orders]
    side = [(c, o) for c in plan.campaigns if c.session is None and c.opens_at >= era_start for o in c.orders]
    before = {o.member.user.pk for _c, o in pre} | {u for u, _t in story_before}

    def live() -> list:
        return [(c, o) for c in lives for o in c.orders]

    def total(rows) -> int:
        return sum(c.total(o) for c, o in rows)

    def customers() -> int:
        return len({o.member.user.pk for c in plan.campaigns for o in c.orders} | {u for u, *_ in story})

    def live_aov() -> float:
        rows = live()
        return (total(rows) + sum(story_live)) / (len(rows) + len(story_live))

    def ltv_ratio() -> float:
        start = round((total(pre) + sum(t for _u, t in story_before)) / len(before))
        end = round((total(live()) + total(pre) + total(side) + story_total - refunds) / customers())
        return end / start

    def walk(rows, goal: float) -> None:
        """Move ``rows``' total to within 50 fen of ``goal``: a unit more or less of one line, then swaps."""
        gap = goal - total(rows)
        for _step in range(100000):
            if abs(gap) <= 50:
                return
            c, o = rows[rng.randrange(len(rows))]
            was = c.total(o)
            prices = [row[1] for row in c.items]
            if abs(gap) >= min(prices) / 2:
                if gap > 0:
                    index = rng.randrange(len(c.items))
                    if o.lines.get(index, 0) < c.items[index][2]:
                        o.lines[index] = o.lines.get(index, 0) + 1
                else:
                    index = rng.choice(list(o.lines))
                    if o.lines[index] > 1:
                        o.lines[index] -= 1
                    elif len(o.lines) > 1:
                        del o.lines[index]
            else:
                # One unit of one item for one of another: steps of a few jiao.
                give = rng.choice(list(o.lines))
                take = min(range(len(c.items)), key=lambda i: abs(prices[i] - prices[give] - gap))
                if (
                    take != give
                    and o.lines.get(take, 0) < c.items[take][2]
                    and abs(prices[take] - prices[give] - gap) < abs(gap)
                ):
                    o.lines[take] = o.lines.get(take, 0) + 1
                    o.lines[give] -= 1
                    if not o.lines[give]:
                        del o.lines[give]
            gap -= c.total(o) - was
        raise AssertionError("a basket walk did not settle")

    def ltv_by_counts() -> float:
        # The ratio when every plain basket is a third of the live one (the refunds are a rounding error here).
        n_live = len(live()) + len(story_live)
        numerator = (AOV_RATIO * n_live + len(pre) + len(side)) / customers()
        return numerator / (len(pre) / len(before))

    def settle_counts(goal: float) -> None:
        step = AOV_RATIO / (customers() * len(pre) / len(before))
        for _round in range(2000):
            gap = ltv_by_counts() - goal
            if abs(gap) <= step / 2:
                return
            c = lives[rng.randrange(len(lives))]
            if gap > 0:
                late = [o for o in c.orders if not o.is_perk]
                if late:
                    c.orders.remove(late[rng.randrange(len(late))])
                continue
            joined = {id(o.member) for o in c.orders}
            stayed = [
                w[0]
                for w in plan.sessions[c.session].watches
                if id(w[0]) not in joined and w[2] >= c.opens_at and w[0].buys
            ]
            if stayed:
                m = stayed[rng.randrange(len(stayed))]
                at = c.opens_at + timedelta(minutes=15, seconds=rng.randint(0, 2 * 3600))
                lines = {
                    i: rng.choices((1, 2, 3), (55, 32, 13))[0] for i, row in enumerate(c.items) if rng.random() < row[3]
                }
                c.orders.append(_Order(m, at, lines or {0: 2}))
        raise AssertionError("the year's live jielongs did not settle on the LTV ratio")

    goal = LTV_RATIO
    for _round in range(30):
        settle_counts(goal)
        a_live = live_aov()
        for rows in (pre, side):
            walk(rows, a_live / AOV_RATIO * len(rows))
        ratio = ltv_ratio()
        if abs(ratio - LTV_RATIO) <= _TOLERANCE:
            return
        goal -= ratio - LTV_RATIO
    raise AssertionError(f"the year's baskets did not settle on the article's figures: LTV ×{ltv_ratio():.4f}")


# --- writing ------------------------------------------------------------------------------------


def _founding(people: People, founded_at: datetime) -> Community:
    founding, _ = Community.objects.update_or_create(
        slug=FOUNDING_SLUG,
        defaults={
            "brand": people.brand,
            "name": FOUNDING_NAME,
            "positioning": "源味集的第一个群：先尝鲜，再说好。各小区开了自己的群后，邻居们都搬了过去，此群已归档。",
            "is_active": False,
        },
    )
    Community.objects.filter(pk=founding.pk).update(created_at=founded_at)
    founding.created_at = founded_at
    return founding


def _forget() -> None:
    """Take the year away (a later day tells it again around the new today)."""
    forget_history(YEAR_MARK)
    orders = Order.objects.filter(idempotency_key__startswith=YEAR_MARK)
    LedgerEntry.objects.filter(order__in=orders).delete()
    campaigns = list(orders.values_list("campaign_id", flat=True).distinct())
    orders.delete()
    FeedItem.objects.filter(source_key__in=[f"jielong.campaign:{pk}" for pk in campaigns]).delete()
    Campaign.objects.filter(pk__in=campaigns).delete()
    LiveSession.objects.filter(series__title__in=_SERIES).delete()
    LiveSeries.objects.filter(title__in=_SERIES, sessions__isnull=True).delete()
    Membership.objects.filter(community__slug=FOUNDING_SLUG).delete()


def _write(people: People, catalogue: Catalogue, founding: Community, plan: _Plan) -> None:
    brand = people.brand

    Membership.objects.bulk_create(
        [
            Membership(
                user=m.user,
                community=founding,
                role=Membership.Role.MEMBER,
                status=Membership.Status.LEFT,
                default_pickup_point=None,
                joined_at=at,
                last_active_at=min(m.home.joined_at, m.quiet_from or m.home.joined_at),
            )
            for m, at in plan.founding_seats
        ],
        batch_size=500,
    )

    series = {
        title: LiveSeries.objects.update_or_create(brand=brand, title=title, defaults={"description": text})[0]
        for title, text in _SERIES.items()
    }
    sessions = LiveSession.objects.bulk_create(
        [
            LiveSession(
                series=series[s.series],
                title=s.title,
                status=LiveSession.Status.ENDED,
                scheduled_start=s.started_at.replace(second=0, minute=0),
                scheduled_end=s.started_at.replace(second=0, minute=0) + timedelta(hours=1),
                started_at=s.started_at,
                ended_at=s.ended_at,
                perk_summary="前30名接龙享9折",
                peak_online=_peak(s),
            )
            for s in plan.sessions
        ]
    )
    LiveSession.hosts.through.objects.bulk_create(
        [LiveSession.hosts.through(livesession_id=s.pk, user_id=people.host.pk) for s in sessions]
    )
    LiveSession.assistants.through.objects.bulk_create(
        [LiveSession.assistants.through(livesession_id=s.pk, user_id=people.assistant.pk) for s in sessions]
    )
    LiveSession.communities.through.objects.bulk_create(
        [
            LiveSession.communities.through(livesession_id=s.pk, community_id=pk)
            for s, planned in zip(sessions, plan.sessions, strict=True)
            for pk in planned.communities
        ]
    )
    WatchRecord.objects.bulk_create(
        [
            WatchRecord(session=s, user=m.user, first_seen_at=first, last_seen_at=last, seconds_watched=seconds)
            for s, planned in zip(sessions, plan.sessions, strict=True)
            for m, first, last, seconds in planned.watches
        ],
        batch_size=500,
    )
    reservations = [
        Reservation(session=s, user=m.user)
        for s, planned in zip(sessions, plan.sessions, strict=True)
        for m, _at in planned.reservations
    ]
    Reservation.objects.bulk_create(reservations, batch_size=500)
    for row, (_m, at) in zip(reservations, [r for planned in plan.sessions for r in planned.reservations], strict=True):
        row.created_at = at
    Reservation.objects.bulk_update(reservations, ["created_at"], batch_size=500)

    # Campaigns and their items (a plain jielong nobody joined is left out).
    plan.campaigns = [c for c in plan.campaigns if c.orders]
    rows = []
    for c in plan.campaigns:
        ordered = sorted(c.orders, key=lambda o: o.at)
        c.orders = ordered
        perk_taken = sum(o.is_perk for o in ordered)
        threshold = min(c.perk_limit or 5, len(ordered))
        rows.append(
            Campaign(
                brand=brand,
                title=c.title,
                story="直播间里讲过的好菜，接龙下单，次日送到自提点。"
                if c.session is not None
                else "老李有机农场直供，今晚截单，次日中午前送达自提点。",
                status=Campaign.Status.COMPLETED,
                live_session=sessions[c.session] if c.session is not None else None,
                group_threshold=threshold,
                perk_limit=c.perk_limit,
                perk_description="前30名享9折" if c.perk_limit else "",
                opens_at=c.opens_at,
                closes_at=c.closes_at,
                formed_at=ordered[threshold - 1].at if len(ordered) >= threshold else None,
                delivery_note="次日中午前送达自提点",
                joined_count=len(ordered),
                perk_taken=perk_taken,
                next_seq=len(ordered) + 1,
                version=len(ordered) + 2,
            )
        )
    campaigns = Campaign.objects.bulk_create(rows, batch_size=200)
    for row, c in zip(campaigns, plan.campaigns, strict=True):
        row.created_at = c.opens_at - timedelta(hours=20)
    Campaign.objects.bulk_update(campaigns, ["created_at"], batch_size=200)
    Campaign.communities.through.objects.bulk_create(
        [
            Campaign.communities.through(campaign_id=row.pk, community_id=pk)
            for row, c in zip(campaigns, plan.campaigns, strict=True)
            for pk in sorted(c.communities)
        ],
        batch_size=500,
    )
    items = CampaignItem.objects.bulk_create(
        [
            CampaignItem(
                campaign=row,
                sku=catalogue.skus[code],
                price_fen=price,
                perk_price_fen=round(price * 0.9) if c.perk_limit else None,
                per_member_limit=limit,
                position=position,
            )
            for row, c in zip(campaigns, plan.campaigns, strict=True)
            for position, (code, price, limit, _chance) in enumerate(c.items)
        ],
        batch_size=500,
    )
    item_of: dict[tuple[int, int], CampaignItem] = {}
    cursor = 0
    for row, c in zip(campaigns, plan.campaigns, strict=True):
        for position in range(len(c.items)):
            item_of[(row.pk, position)] = items[cursor]
            cursor += 1

    rng = random.Random(RANDOM_SEED + 1)
    orders, planned = [], []
    for row, c in zip(campaigns, plan.campaigns, strict=True):
        for seq, o in enumerate(c.orders, start=1):
            community_id, point_id = o.member.community_at(o.at, founding)
            o.paid_at = o.at + timedelta(seconds=rng.randint(20, 1800))
            orders.append(
                Order(
                    campaign=row,
                    user=o.member.user,
                    community_id=community_id,
                    pickup_point_id=point_id,
                    seq=seq,
                    status=Order.Status.PICKED_UP,
                    payment_status=Order.PaymentStatus.PAID,
                    is_perk=o.is_perk,
                    total_fen=c.total(o),
                    idempotency_key=f"{YEAR_MARK}:{seq}",
                    created_at=o.at,
                    paid_at=o.paid_at,
                )
            )
            planned.append((row, c, o))
    # Opened jielongs reach the estate groups' feeds the way they do in the running app (and as demo.community
    # shows the story's): through jielong's subscriber, dated when they opened.
    for row in campaigns:
        add_opened_campaign_to_feeds(CampaignOpened(campaign_id=row.pk, live_session_id=row.live_session_id))
    for row in campaigns:
        FeedItem.objects.filter(source_key=f"jielong.campaign:{row.pk}").update(published_at=row.opens_at)

    # Delivered the next day, as every jielong since (its parcels are not told; only the story's day is).
    CampaignDelivery.objects.bulk_create(
        [
            CampaignDelivery(
                campaign=row,
                delivery_date=timezone.localdate(c.closes_at) + timedelta(days=1),
                split_at=c.closes_at + timedelta(minutes=5),
            )
            for row, c in zip(campaigns, plan.campaigns, strict=True)
        ],
        batch_size=500,
    )
    Order.objects.bulk_create(orders, batch_size=500)
    _tell_stream(people, plan, sessions, campaigns, orders)
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order, item=item_of[(row.pk, index)], quantity=qty, unit_price_fen=c.price(index, o.is_perk)
            )
            for order, (row, c, o) in zip(orders, planned, strict=True)
            for index, qty in sorted(o.lines.items())
        ],
        batch_size=500,
    )
    _record_payments(orders)


def _tell_stream(
    people: People, plan: _Plan, sessions: list[LiveSession], campaigns: list[Campaign], orders: list[Order]
) -> None:
    """The year's facts in the event stream, as the services would have published them then (``demo.history``):
    each live's start, reservations, entries and end; each jielong's opening (by its live), 成团 and close; each
    order's join and payment (marked paid by the operator). The stream's rollups (``bi.rollups``) fold them into
    the figures the domain tables give."""
    history = History(mark=YEAR_MARK)
    for session, planned in zip(sessions, plan.sessions, strict=True):
        history.session_started(live_session_id=session.pk, host_id=people.host.pk, at=session.started_at)
        for m, at in planned.reservations:
            history.reserved(live_session_id=session.pk, user_id=m.user.pk, at=at)
        for m, first, _last, _seconds in planned.watches:
            history.entered(live_session_id=session.pk, user_id=m.user.pk, at=first)
        history.session_ended(live_session_id=session.pk, host_id=people.host.pk, at=session.ended_at)
    for row in campaigns:
        history.campaign_opened(campaign_id=row.pk, live_session_id=row.live_session_id, at=row.opens_at)
        if row.formed_at is not None:
            history.group_formed(
                campaign_id=row.pk, joined=row.group_threshold, at=row.formed_at, live_session_id=row.live_session_id
            )
        history.campaign_closed(
            campaign_id=row.pk, joined=row.joined_count, formed=row.formed_at is not None, at=row.closes_at
        )
    history.orders(orders, paid_by=people.operator.pk)
    history.write()


def _record_payments(orders: list[Order]) -> None:
    """Each order's payment through the ledger's own writer, as of the moment it was paid."""
    ordered = sorted(orders, key=lambda o: (o.paid_at, o.pk))
    payments_record(ordered, by=None, paid_at=lambda order: order.paid_at)


def _peak(session: _Session) -> int:
    edges = sorted(
        [(first, 1) for _m, first, _l, _s in session.watches] + [(last, -1) for *_x, last, _s in session.watches],
        key=lambda e: (e[0], -e[1]),
    )
    online = best = 0
    for _at, step in edges:
        online += step
        best = max(best, online)
    return best


def _touch_memberships(people: People) -> None:
    """The story sets each membership's last activity from its own tale; bring it forward to the year's."""
    communities = list(people.communities.values())
    orders = (
        Order.objects.filter(idempotency_key__startswith=YEAR_MARK, community__in=communities)
        .values_list("user_id", "community_id")
        .annotate(last=Max("created_at"))
    )
    latest: dict[tuple[int, int], datetime] = {(u, c): at for u, c, at in orders}
    watches = (
        WatchRecord.objects.filter(session__series__title__in=_SERIES, session__series__brand=people.brand)
        .values_list("user_id", "session__communities")
        .annotate(last=Max("last_seen_at"))
    )
    for u, c, at in watches:
        if c is not None and at > latest.get((u, c), at - timedelta(seconds=1)):
            latest[(u, c)] = at
    changed = []
    for m in Membership.objects.filter(community__in=communities):
        at = latest.get((m.user_id, m.community_id))
        if at is not None and at >= m.joined_at and (m.last_active_at is None or at > m.last_active_at):
            m.last_active_at = at
            changed.append(m)
    Membership.objects.bulk_update(changed, ["last_active_at"], batch_size=500)
