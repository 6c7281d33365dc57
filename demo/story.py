"""The 源味集 demo data set: section 七 of the seed article, planted as history.

One community of 300 members, a past 《农场主来了》 session watched by 270 of them, a jielong of 210
orders whose 50 first-N places went in 8 minutes, the next session already reserved by 180, and an
event stream that tells the same story, so every dashboard shows something true on first run.

The seed writes rows directly, in bulk, instead of calling the services: the services stamp "now" and
publish domain events, and a demo needs a past. (The delivery after the jielong is the exception: it is
told through the fulfilment services with the historical time passed as ``now``, see ``demo.fulfilment``.)
Every row is found again by a natural key, and every
random choice comes from one seeded generator in a fixed order before the database is read, so a
second run updates in place and leaves every count exactly as it was. Times hang on today's local date,
not on the clock, so two runs on the same day write nothing new except the replaced demo events.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo

from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from analytics.models import Event
from catalogue.models import SKU, Product, Supplier
from community.models import Brand, Community, Membership, PickupPoint, User
from community.phones import normalize_phone
from demo.aftercare import AFTERCARE_MARK
from demo.fulfilment import FULFILMENT_MARK
from groupbuy import clock
from jielong.models import Campaign, CampaignItem, Order, OrderLine
from livestream.models import LiveSeries, LiveSession, Reservation, WatchRecord

DEMO_PASSWORD = "yuanweiji2026"
RANDOM_SEED = 20260206

# bin/dev serves on $PORT; the printed logins should point there.
DEMO_BASE_URL = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
STAFF_LOGIN_PATH = "/accounts/login/"
MEMBER_LOGIN_PATH = "/m/login/"
STAFF_LOGIN_URL = DEMO_BASE_URL + STAFF_LOGIN_PATH
MEMBER_LOGIN_URL = DEMO_BASE_URL + MEMBER_LOGIN_PATH

OPERATOR_USERNAME = "linfeng"
HOST_USERNAME = "laoli"
ASSISTANT_USERNAME = "xiaoyu"
DEMO_MEMBER_PHONE = "+8613800138000"
DEMO_MEMBER_NICKNAME = "王姐"

BRAND_NAME = "源味集"
MAIN_COMMUNITY_SLUG = "yangguang"
SERIES_TITLE = "农场主来了"
PAST_SESSION_TITLE = "老李带你云逛有机蔬菜大棚"
UPCOMING_SESSION_TITLE = "老李的散养鸡：一枚好鸡蛋的诞生"
PAST_CAMPAIGN_TITLE = "《农场主来了》老李有机蔬菜尝鲜接龙"
UPCOMING_CAMPAIGN_TITLE = "《农场主来了》第二期 · 散养鸡蛋与有机番茄"

# The story's numbers (seed article, section 七).
MAIN_MEMBERS = 300
KOC_COUNT = 10
VIEWERS = 270
JOINERS = 210
PERK_PLACES = 50
PERK_MINUTES = 8
REFERRED_MAIN = 205  # > 60% of the community came through a viewer's invitation
PAST_RESERVATIONS = 240
UPCOMING_RESERVATIONS = 180
UNPAID_ORDERS = 5
LATE_PICKUPS = 6  # paid, and collected after noon (see demo.fulfilment)

# Days relative to today (local time): the past session ran three days ago, the next one is in two.
PAST_DAY = -3
UPCOMING_DAY = 2

# Marks the events this seed wrote, so a re-run replaces them and leaves real activity alone.
SEED_MARK = "demo"

_BATCH = 500

_SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任沈姚卢钟姜崔谭陆范汪廖石金贾夏傅方邹熊白孟秦邱侯江尹薛段雷龙黎史陶贺毛郝顾龚邵万钱戴严莫孔向常汤康易乔赖文"
_GIVEN_NAMES = (
    "丽华 秀英 建国 海燕 晓敏 静怡 志强 雪梅 桂芳 玉兰 文静 思远 婷婷 佳慧 宇航 欣怡 俊杰 美玲 春花 国庆 红霞 "
    "晓燕 丹丹 立新 慧敏 晨曦 雅琴 建华 淑芬 明辉 翠萍 子轩 梦瑶 卫东 亚男 凤英 永红 嘉怡 晓峰 雨桐"
)
_CHILD_NAMES = (
    "朵朵 豆豆 乐乐 果果 糖糖 安安 悠悠 多多 球球 米粒 橙子 可乐 天天 牛牛 航航 晨晨 小满 一一 圆圆 萌萌 "
    "壮壮 妞妞 瑶瑶 嘟嘟 跳跳 木木 芒果 小鱼 石头 西西"
)
_ENGLISH_NAMES = "Amy Cathy Lily Linda Vivian Grace Coco Kevin Jenny Tina Helen Sunny"


# --- time --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """Local wall-clock times on days counted from today, so the story always sits around now."""

    today: date
    tz: tzinfo

    def at(self, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
        return datetime.combine(self.today + timedelta(days=day), time(hour, minute, second), tzinfo=self.tz)

    @classmethod
    def around(cls, now: datetime | None = None) -> Clock:
        tz = timezone.get_default_timezone()
        return cls(today=timezone.localtime(now or clock.now(), tz).date(), tz=tz)


def _spread(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    """``count`` distinct whole-second times in [start, end), sorted."""
    span = int((end - start).total_seconds())
    return [start + timedelta(seconds=s) for s in sorted(rng.sample(range(span), count))]


# --- writing -------------------------------------------------------------------------------------


def _sync(
    queryset: QuerySet,
    desired: Sequence[models.Model],
    *,
    key: Sequence[str],
    fields: Sequence[str],
    prune: bool = False,
) -> list:
    """Make ``queryset`` hold ``desired``: insert missing rows, update changed ``fields``, optionally delete
    rows no longer planned. Rows match on the ``key`` attributes. Returns saved rows in ``desired`` order."""
    model = queryset.model
    attnames = [model._meta.get_field(name).attname for name in fields]

    def key_of(obj: models.Model) -> tuple:
        return tuple(getattr(obj, name) for name in key)

    existing = {key_of(obj): obj for obj in queryset.all()}
    rows, new, changed = [], [], []
    for obj in desired:
        current = existing.pop(key_of(obj), None)
        if current is None:
            new.append(obj)
            rows.append(obj)
            continue
        dirty = False
        for attname in attnames:
            value = getattr(obj, attname)
            if getattr(current, attname) != value:
                setattr(current, attname, value)
                dirty = True
        if dirty:
            changed.append(current)
        rows.append(current)
    if prune and existing:
        model.objects.filter(pk__in=[obj.pk for obj in existing.values()]).delete()
    if new:
        # bulk_create stamps auto_now_add fields with "now"; put the planned past back afterwards.
        stamped = [f for f in model._meta.concrete_fields if getattr(f, "auto_now_add", False) and f.name in fields]
        planned = [[getattr(obj, f.attname) for f in stamped] for obj in new]
        model.objects.bulk_create(new, batch_size=_BATCH)
        if any(obj.pk is None for obj in new):
            saved = {key_of(obj): obj for obj in queryset.all()}
            rows = [saved[key_of(obj)] if obj.pk is None else obj for obj in rows]
            new = [saved[key_of(obj)] if obj.pk is None else obj for obj in new]
        if stamped:
            for obj, values in zip(new, planned, strict=True):
                for f, value in zip(stamped, values, strict=True):
                    setattr(obj, f.attname, value)
            model.objects.bulk_update(new, [f.name for f in stamped], batch_size=_BATCH)
    if changed:
        model.objects.bulk_update(changed, list(fields), batch_size=_BATCH)
    return rows


def _upsert(model: type[models.Model], lookup: dict, values: dict) -> models.Model:
    obj, _ = model.objects.update_or_create(**lookup, defaults=values)
    return obj


# --- people and communities ------------------------------------------------------------------------


@dataclass(eq=False)
class Person:
    """A planned member account. ``user`` is filled in once it is saved."""

    phone: str
    nickname: str
    user: User | None = None


@dataclass(eq=False)
class Seat:
    """A planned membership."""

    person: Person
    community: str  # slug
    role: str
    joined_at: datetime
    pickup_point: str  # name
    invited_by: Person | None = None
    # Known up front for everyone except the main community's viewers, whose activity comes later.
    last_active_at: datetime | None = None


@dataclass
class People:
    brand: Brand
    communities: dict[str, Community]
    pickup_points: dict[tuple[str, str], PickupPoint]
    operator: User
    host: User
    assistant: User
    seats: list[Seat]
    memberships: dict[tuple[int, str], Membership]  # (person index in ``persons``, slug)
    persons: list[Person]
    leader: Person
    kocs: list[Person]
    demo_member: Person
    viewers: list[Person]  # main community members who watched the past session
    lurkers: list[Person]  # main community members who did not

    def membership(self, person: Person, slug: str = MAIN_COMMUNITY_SLUG) -> Membership:
        return self.memberships[(self._index[id(person)], slug)]

    def __post_init__(self) -> None:
        self._index = {id(p): i for i, p in enumerate(self.persons)}


_COMMUNITIES = (
    {
        "slug": MAIN_COMMUNITY_SLUG,
        "name": "源味集·阳光花园群",
        "positioning": "一群相信食物本源、追求健康生活的探索者联盟",
        "join_gate": Community.JoinGate.QUESTIONNAIRE,
        "created_day": PAST_DAY - 150,
        "label": "阳光花园",
    },
    {
        "slug": "cuihu",
        "name": "源味集·翠湖苑群",
        "positioning": "翠湖苑的邻居们，一起吃得安心、活得讲究",
        "join_gate": Community.JoinGate.QUESTIONNAIRE,
        "created_day": PAST_DAY - 100,
        "label": "翠湖",
    },
    {
        "slug": "binjiang",
        "name": "源味集·滨江一号群",
        "positioning": "滨江一号业主的健康餐桌互助群",
        "join_gate": Community.JoinGate.INVITATION,
        "created_day": PAST_DAY - 60,
        "label": "滨江",
    },
)

# (community slug, name, address, opening hours, share of members who pick up there)
_PICKUP_POINTS = (
    (
        MAIN_COMMUNITY_SLUG,
        "阳光花园南门·陈姐便利店",
        "杭州市西湖区文一西路588号阳光花园南门东侧",
        "每天 08:00–21:00",
        45,
    ),
    (
        MAIN_COMMUNITY_SLUG,
        "阳光花园3栋架空层",
        "杭州市西湖区文一西路588号阳光花园3栋1单元架空层",
        # 李阿姨 (the 核销员) hands out in the mornings, the leader after work.
        "每天 07:30–12:00、16:00–20:00",
        35,
    ),
    (MAIN_COMMUNITY_SLUG, "阳光花园北门菜鸟驿站", "杭州市西湖区紫荆花路216号阳光花园北门", "每天 09:00–21:30", 20),
    ("cuihu", "翠湖苑东门鲜果铺", "杭州市拱墅区湖墅南路333号翠湖苑东门", "每天 08:30–20:30", 60),
    ("cuihu", "翠湖苑会所前台", "杭州市拱墅区湖墅南路333号翠湖苑会所一楼", "周一至周六 10:00–19:00", 40),
    ("binjiang", "滨江一号物业服务中心", "杭州市滨江区江南大道1088号滨江一号1幢物业中心", "每天 09:00–20:00", 55),
    ("binjiang", "滨江一号B1电梯厅自提柜", "杭州市滨江区江南大道1088号滨江一号地下一层", "全天 24 小时", 45),
)

_LEADERS = {MAIN_COMMUNITY_SLUG: "阳光花园-陈姐", "cuihu": "翠湖-周姐", "binjiang": "滨江-刘哥"}
_KOCS = ("朵朵妈妈", "李阿姨", "张老师", "小周妈妈", "吴姐", "Cathy林", "赵大哥", "孙奶奶", "果果妈妈", "何医生")


class _Namer:
    """Realistic, distinct WeChat-style nicknames (no emoji)."""

    def __init__(self, rng: random.Random, taken: Iterable[str]) -> None:
        self.rng = rng
        self.used = set(taken)
        self.given, self.children, self.english = (
            names.split() for names in (_GIVEN_NAMES, _CHILD_NAMES, _ENGLISH_NAMES)
        )

    def __call__(self, label: str) -> str:
        rng = self.rng
        styles: list[Callable[[], str]] = [
            lambda: f"{rng.choice(_SURNAMES)}姐",
            lambda: f"{rng.choice(_SURNAMES)}阿姨",
            lambda: f"小{rng.choice(_SURNAMES)}妈妈",
            lambda: f"{rng.choice(self.children)}妈妈",
            lambda: f"{rng.choice(self.children)}爸爸",
            lambda: f"{label}-{rng.choice(_SURNAMES)}",
            lambda: f"{rng.randint(1, 18)}栋{rng.choice(_SURNAMES)}姐",
            lambda: f"{rng.choice(_SURNAMES)}{rng.choice(self.given)}",
            lambda: f"{rng.choice(_SURNAMES)}老师",
            lambda: f"{rng.choice(_SURNAMES)}大哥",
            lambda: rng.choice(self.given),
            lambda: f"{rng.choice(self.english)}{rng.choice(_SURNAMES)}",
        ]
        weights = [14, 9, 8, 12, 4, 10, 6, 16, 4, 5, 6, 6]
        while True:
            name = rng.choices(styles, weights)[0]()
            if name not in self.used:
                self.used.add(name)
                return name


def _phone(index: int) -> str:
    # 138 0013 8000 onwards: the demo member holds the first number, everyone else follows.
    return normalize_phone(f"+86138{138000 + index:08d}")


def seed_people(rng: random.Random, clock: Clock) -> People:
    """Brand, staff, the three communities with their pickup points, members, leaders, KOCs, referrals."""
    brand = _upsert(Brand, {"name": BRAND_NAME}, {"slogan": "食物本源，健康生活"})
    Brand.objects.filter(pk=brand.pk).update(created_at=clock.at(PAST_DAY - 180, 10))

    # One hash for the three staff accounts: hashing is deliberately slow and they share the demo password.
    password = make_password(DEMO_PASSWORD)
    operator = _upsert(
        User,
        {"username": OPERATOR_USERNAME},
        # 源味集's operator: the console shows 源味集 (the demo's second brand, demo.brands, has its own)
        {
            "nickname": "林峰",
            "role": User.Role.OPERATOR,
            "is_staff": True,
            "is_superuser": True,
            "password": password,
            "brand": brand,
        },
    )
    host = _upsert(
        User,
        {"username": HOST_USERNAME},
        {"nickname": "农场主老李", "role": User.Role.HOST, "is_staff": False, "password": password, "brand": brand},
    )
    assistant = _upsert(
        User,
        {"username": ASSISTANT_USERNAME},
        {"nickname": "小雨", "role": User.Role.ASSISTANT, "is_staff": False, "password": password, "brand": brand},
    )

    communities = {}
    for spec in _COMMUNITIES:
        community = _upsert(
            Community,
            {"slug": spec["slug"]},
            {
                "brand": brand,
                "name": spec["name"],
                "positioning": spec["positioning"],
                "join_gate": spec["join_gate"],
                "is_active": True,
            },
        )
        Community.objects.filter(pk=community.pk).update(created_at=clock.at(spec["created_day"], 10))
        communities[spec["slug"]] = community

    persons: list[Person] = []

    def person(nickname: str) -> Person:
        p = Person(phone=_phone(len(persons)), nickname=nickname)
        persons.append(p)
        return p

    namer = _Namer(rng, [DEMO_MEMBER_NICKNAME, *_LEADERS.values(), *_KOCS])
    demo_member = person(DEMO_MEMBER_NICKNAME)
    main_seats, leader, kocs, viewers, lurkers = _plan_main(rng, clock, person, namer, demo_member)
    other_seats = _plan_others(rng, clock, person, namer, viewers, exclude=[leader, *kocs, demo_member])
    seats = main_seats + other_seats

    _save_persons(persons, seats)
    pickup_points = _save_pickup_points(communities, {s.community: s.person for s in seats if s.role == "leader"})
    memberships = _save_memberships(persons, seats, communities, pickup_points)
    return People(
        brand=brand,
        communities=communities,
        pickup_points=pickup_points,
        operator=operator,
        host=host,
        assistant=assistant,
        seats=seats,
        memberships=memberships,
        persons=persons,
        leader=leader,
        kocs=kocs,
        demo_member=demo_member,
        viewers=viewers,
        lurkers=lurkers,
    )


def _points_of(slug: str) -> tuple[list[str], list[int]]:
    rows = [p for p in _PICKUP_POINTS if p[0] == slug]
    return [p[1] for p in rows], [p[4] for p in rows]


def _plan_main(
    rng: random.Random, clock: Clock, person: Callable[[str], Person], namer: _Namer, demo_member: Person
) -> tuple[list[Seat], Person, list[Person], list[Person], list[Person]]:
    """The 300 of 阳光花园: who joined when, who brought whom, and the 30 who did not watch."""
    slug = MAIN_COMMUNITY_SLUG
    points, shares = _points_of(slug)
    start, end = clock.at(PAST_DAY - 148, 9), clock.at(PAST_DAY - 5, 22)
    span = (end - start).total_seconds()
    # The group grew faster as word spread: join times lean towards the end.
    joined = sorted(
        start + timedelta(seconds=int(span * rng.random() ** 0.7)) for _ in range(MAIN_MEMBERS - 1 - KOC_COUNT)
    )

    leader = person(_LEADERS[slug])
    kocs = [person(name) for name in _KOCS]
    seats = [Seat(leader, slug, Membership.Role.LEADER, clock.at(PAST_DAY - 150, 10, 5), points[0])]
    for i, koc in enumerate(kocs):
        when = clock.at(PAST_DAY - 149 + 3 * i, rng.randint(8, 21), rng.randint(0, 59))
        seats.append(Seat(koc, slug, Membership.Role.KOC, when, rng.choices(points, shares)[0]))
    for i, when in enumerate(joined):
        # 王姐 is one of the founding members, so the demo account has history to show.
        who = demo_member if i == 0 else person(namer("阳光花园"))
        seats.append(
            Seat(who, slug, Membership.Role.MEMBER, when, points[0] if i == 0 else rng.choices(points, shares)[0])
        )

    special = {id(leader), id(demo_member), *(id(k) for k in kocs)}
    early = [s for s in seats if s.joined_at < clock.at(PAST_DAY - 40) and id(s.person) not in special]
    lurker_seats = rng.sample(early, MAIN_MEMBERS - VIEWERS)
    lurking = {id(s.person) for s in lurker_seats}
    for s in lurker_seats:
        # Nothing in the last month: these are the 10% the monthly active rate leaves out.
        quiet_until = min(s.joined_at + timedelta(days=rng.randint(3, 25)), clock.at(PAST_DAY - 35))
        s.last_active_at = max(quiet_until, s.joined_at)

    # The first 40 seats (leader, KOCs, the earliest neighbours) started the group; of the rest most
    # were brought in by someone who watches, so the referral tree has the story's > 60% share.
    referred = rng.sample(range(1 + KOC_COUNT + 29, MAIN_MEMBERS), REFERRED_MAIN)
    weight = {id(leader): 5, id(demo_member): 5, **{id(k): 8 for k in kocs}}
    for i in sorted(referred):
        when = seats[i].joined_at
        candidates = [s.person for s in seats if s.joined_at < when and id(s.person) not in lurking]
        seats[i].invited_by = rng.choices(candidates, [weight.get(id(p), 1) for p in candidates])[0]

    viewers = [s.person for s in seats if id(s.person) not in lurking]
    return seats, leader, kocs, viewers, [s.person for s in lurker_seats]


def _plan_others(
    rng: random.Random,
    clock: Clock,
    person: Callable[[str], Person],
    namer: _Namer,
    main_viewers: list[Person],
    *,
    exclude: list[Person],
) -> list[Seat]:
    """翠湖苑 (80) and 滨江一号 (45): smaller groups, some neighbours in two of them."""
    excluded = {id(p) for p in exclude}
    movable = [p for p in main_viewers if id(p) not in excluded]
    from_main = rng.sample(movable, 20)
    seats: list[Seat] = []
    cuihu_new: list[Person] = []
    for slug, size in (("cuihu", 80), ("binjiang", 45)):
        spec = next(c for c in _COMMUNITIES if c["slug"] == slug)
        points, shares = _points_of(slug)
        shared = from_main[:15] if slug == "cuihu" else from_main[15:] + rng.sample(cuihu_new, 3)
        leader = person(_LEADERS[slug])
        newcomers = [person(namer(spec["label"])) for _ in range(size - 1 - len(shared))]
        if slug == "cuihu":
            cuihu_new = newcomers
        members = shared + newcomers
        rng.shuffle(members)
        first = clock.at(spec["created_day"], 10, 5)
        times = _spread(rng, first + timedelta(hours=1), clock.at(-2, 22), len(members))
        community_seats = [Seat(leader, slug, Membership.Role.LEADER, first, points[0])]
        for who, when in zip(members, times, strict=True):
            community_seats.append(Seat(who, slug, Membership.Role.MEMBER, when, rng.choices(points, shares)[0]))
        for i, seat in enumerate(community_seats):
            if i > 5 and rng.random() < 0.5:
                seat.invited_by = rng.choice(community_seats[:i]).person
            active_span = max(int((clock.at(-1, 22) - seat.joined_at).total_seconds()), 1)
            seat.last_active_at = seat.joined_at + timedelta(seconds=rng.randrange(active_span))
        seats.extend(community_seats)
    return seats


def _save_persons(persons: list[Person], seats: list[Seat]) -> None:
    first_joined: dict[int, datetime] = {}
    for seat in seats:
        key = id(seat.person)
        first_joined[key] = min(first_joined.get(key, seat.joined_at), seat.joined_at)
    desired = [
        User(
            phone=p.phone,
            nickname=p.nickname,
            role=User.Role.MEMBER,
            date_joined=first_joined[id(p)],
            privacy_consent_at=first_joined[id(p)],
            # Members sign in with a one-time code; a password they do not know would only be a risk.
            password=make_password(None),
        )
        for p in persons
    ]
    users = _sync(
        User.objects.filter(phone__in=[p.phone for p in persons]),
        desired,
        key=["phone"],
        fields=["nickname", "role", "date_joined", "privacy_consent_at", "is_active"],
    )
    for p, user in zip(persons, users, strict=True):
        p.user = user


def _save_pickup_points(
    communities: dict[str, Community], leaders: dict[str, Person]
) -> dict[tuple[str, str], PickupPoint]:
    desired = [
        PickupPoint(
            community=communities[slug],
            name=name,
            address=address,
            opening_hours=hours,
            leader=leaders[slug].user,
            is_active=True,
        )
        for slug, name, address, hours, _ in _PICKUP_POINTS
    ]
    saved = _sync(
        PickupPoint.objects.filter(community__in=communities.values()),
        desired,
        key=["community_id", "name"],
        fields=["address", "opening_hours", "leader", "is_active"],
    )
    return {(slug, point.name): point for (slug, *_), point in zip(_PICKUP_POINTS, saved, strict=True)}


def _save_memberships(
    persons: list[Person],
    seats: list[Seat],
    communities: dict[str, Community],
    pickup_points: dict[tuple[str, str], PickupPoint],
) -> dict[tuple[int, str], Membership]:
    index = {id(p): i for i, p in enumerate(persons)}
    desired = [
        Membership(
            user=s.person.user,
            community=communities[s.community],
            role=s.role,
            status=Membership.Status.ACTIVE,
            invited_by=s.invited_by.user if s.invited_by else None,
            default_pickup_point=pickup_points[(s.community, s.pickup_point)],
            joined_at=s.joined_at,
            last_active_at=s.last_active_at,
        )
        for s in seats
    ]
    saved = _sync(
        Membership.objects.filter(community__in=communities.values()),
        desired,
        key=["user_id", "community_id"],
        # last_active_at is settled by members_touch once the activity is known.
        fields=["role", "status", "invited_by", "default_pickup_point", "joined_at"],
    )
    return {(index[id(s.person)], s.community): m for s, m in zip(seats, saved, strict=True)}


def members_touch(people: People, activity: dict[int, datetime]) -> None:
    """Set each membership's last activity: planned for most, from the live and jielong for viewers."""
    desired = []
    for seat in people.seats:
        membership = people.membership(seat.person, seat.community)
        last = seat.last_active_at
        if last is None:
            last = max(activity.get(seat.person.user.pk, seat.joined_at), seat.joined_at)
        desired.append(
            Membership(user_id=membership.user_id, community_id=membership.community_id, last_active_at=last)
        )
    _sync(
        Membership.objects.filter(community__in=people.communities.values()),
        desired,
        key=["user_id", "community_id"],
        fields=["last_active_at"],
    )


# --- catalogue -----------------------------------------------------------------------------------


@dataclass
class Catalogue:
    supplier: Supplier
    skus: dict[str, SKU]  # by code


_PRODUCTS = {
    "上海青": (Product.StorageType.CHILLED, "大棚有机上海青，清晨采摘，现场农残检测未检出。"),
    "散养鸡蛋": (Product.StorageType.AMBIENT, "山林散养土鸡蛋，鸡吃虫子、玉米和青菜叶长大，蛋黄橙红。"),
    "有机番茄": (Product.StorageType.CHILLED, "自然成熟的有机番茄，沙瓤多汁，酸甜适口。"),
    "水果黄瓜": (Product.StorageType.CHILLED, "小果型水果黄瓜，脆甜，洗净即可生吃。"),
    "生菜": (Product.StorageType.CHILLED, "球生菜，叶片脆嫩，适合沙拉和白灼。"),
}
# (code, product, spec, list price fen, stock left after the first jielong)
_SKUS = (
    ("LL-SHQ-500", "上海青", "500g/袋", 1580, 420),
    ("LL-EGG-30", "散养鸡蛋", "30枚/盒", 5900, 160),
    ("LL-EGG-15", "散养鸡蛋", "15枚/盒", 3200, 200),
    ("LL-TOM-500", "有机番茄", "500g/袋", 1980, 300),
    ("LL-CUC-500", "水果黄瓜", "500g/袋", 1380, 260),
    ("LL-LET-400", "生菜", "400g/颗", 1280, 240),
)


def seed_catalogue(people: People) -> Catalogue:
    """老李有机农场 and the five products of the story, priced in fen."""
    supplier = _upsert(
        Supplier,
        {"brand": people.brand, "name": "老李有机农场"},
        {
            "region": "浙江湖州·安吉",
            "contact_name": "李建国（老李）",
            "contact_phone": "+8613905720101",
            "story": (
                "老李曾在上海做了十几年工程师，2016年放弃百万年薪回到安吉老家，流转了80亩山地种有机蔬菜、"
                "散养土鸡。不打农药、不用化肥，每一批菜都用农残检测仪自检。"
                "他说：“我种的菜，首先是给自己家孩子吃的。”"
            ),
        },
    )
    products = {
        name: _upsert(
            Product,
            {"supplier": supplier, "name": name},
            {"storage": storage, "description": description, "is_active": True},
        )
        for name, (storage, description) in _PRODUCTS.items()
    }
    skus = {
        code: _upsert(
            SKU,
            {"code": code},
            {
                "product": products[name],
                "spec": {"规格": spec},
                "list_price_fen": price,
                "stock": stock,
                "is_active": True,
            },
        )
        for code, name, spec, price, stock in _SKUS
    }
    return Catalogue(supplier=supplier, skus=skus)


# --- live ----------------------------------------------------------------------------------------


@dataclass
class Watch:
    person: Person
    first_seen_at: datetime
    last_seen_at: datetime
    seconds: int


@dataclass
class Live:
    series: LiveSeries
    past: LiveSession
    upcoming: LiveSession
    watches: list[Watch]
    past_reservations: list[Reservation]
    upcoming_reservations: list[Reservation]
    upcoming_untouched: bool = False


def seed_live(rng: random.Random, clock: Clock, people: People) -> Live:
    """《农场主来了》: the past session (270 watched, over 45 minutes on average) and the next one."""
    series = _upsert(
        LiveSeries,
        {"brand": people.brand, "title": SERIES_TITLE},
        {"description": "邀请真实的农场主走进直播间，带大家云逛田间地头，把“从田间到餐桌”讲给家人们听。"},
    )
    main = people.communities[MAIN_COMMUNITY_SLUG]
    started, ended = clock.at(PAST_DAY, 20, 0, 5), clock.at(PAST_DAY, 21, 1, 40)
    past = _upsert(
        LiveSession,
        {"series": series, "title": PAST_SESSION_TITLE},
        {
            "status": LiveSession.Status.ENDED,
            "scheduled_start": clock.at(PAST_DAY, 20),
            "scheduled_end": clock.at(PAST_DAY, 21),
            "started_at": started,
            "ended_at": ended,
            "perk_summary": "前50名接龙享8折尝鲜价，赠老李亲笔签名《有机生活手札》",
        },
    )
    _cast(past, hosts=[people.host], assistants=[people.assistant], communities=[main])

    upcoming_values = {
        "status": LiveSession.Status.SCHEDULED,
        "scheduled_start": clock.at(UPCOMING_DAY, 20),
        "scheduled_end": clock.at(UPCOMING_DAY, 21),
        "started_at": None,
        "ended_at": None,
        "perk_summary": "前30名接龙享9折，加赠散养鸡蛋6枚",
    }
    upcoming = LiveSession.objects.filter(series=series, title=UPCOMING_SESSION_TITLE).first()
    # Someone already ran this session in the demo: leave their live and its results alone.
    untouched = upcoming is not None and upcoming.status != LiveSession.Status.SCHEDULED
    if not untouched:
        upcoming = _upsert(LiveSession, {"series": series, "title": UPCOMING_SESSION_TITLE}, upcoming_values)
    _cast(upcoming, hosts=[people.host], assistants=[people.assistant], communities=[main])

    watches = _plan_watches(rng, people, started, ended)
    watch_rows = [
        WatchRecord(
            session=past,
            user=w.person.user,
            first_seen_at=w.first_seen_at,
            last_seen_at=w.last_seen_at,
            seconds_watched=w.seconds,
        )
        for w in watches
    ]
    _sync(
        WatchRecord.objects.filter(session=past),
        watch_rows,
        key=["session_id", "user_id"],
        fields=["first_seen_at", "last_seen_at", "seconds_watched"],
        prune=True,
    )

    # The story post went out the day before (D-1); reservations came in until the session started.
    must_reserve = [people.leader, *people.kocs, people.demo_member]
    others = [p for p in people.viewers if p not in must_reserve]
    past_reservers = must_reserve + rng.sample(others, PAST_RESERVATIONS - len(must_reserve))
    times = _spread(rng, clock.at(PAST_DAY - 1, 9), clock.at(PAST_DAY, 19, 59), len(past_reservers))
    past_reservations = _sync(
        Reservation.objects.filter(session=past),
        [Reservation(session=past, user=p.user, created_at=t) for p, t in zip(past_reservers, times, strict=True)],
        key=["session_id", "user_id"],
        fields=["created_at"],
        prune=True,
    )

    # The next session was announced after the deliveries; 王姐 has not reserved yet, so the demo can.
    keen = [people.leader, *people.kocs]
    others = [p for p in people.viewers if p not in keen and p is not people.demo_member]
    upcoming_reservers = keen + rng.sample(others, UPCOMING_RESERVATIONS - len(keen))
    times = _spread(rng, clock.at(PAST_DAY + 1, 14), clock.at(-1, 23, 30), len(upcoming_reservers))
    upcoming_reservations = _sync(
        Reservation.objects.filter(session=upcoming, user__in=[p.user for p in upcoming_reservers]),
        [
            Reservation(session=upcoming, user=p.user, created_at=t)
            for p, t in zip(upcoming_reservers, times, strict=True)
        ],
        key=["session_id", "user_id"],
        fields=["created_at"],
    )
    return Live(
        series=series,
        past=past,
        upcoming=upcoming,
        watches=watches,
        past_reservations=past_reservations,
        upcoming_reservations=upcoming_reservations,
        upcoming_untouched=untouched,
    )


def _cast(session: LiveSession, *, hosts: list[User], assistants: list[User], communities: list[Community]) -> None:
    session.hosts.set(hosts)
    session.assistants.set(assistants)
    session.communities.set(communities)


def _plan_watches(rng: random.Random, people: People, started: datetime, ended: datetime) -> list[Watch]:
    """Most came on time after the reminder and stayed to the jielong; a quarter drifted off early."""
    length = int((ended - started).total_seconds())
    stayers = {id(p) for p in [people.leader, *people.kocs, people.demo_member]}
    watches = []
    for p in people.viewers:
        roll = rng.random()
        if roll < 0.7:
            arrive = rng.randint(0, 180)
        elif roll < 0.9:
            arrive = rng.randint(180, 900)
        else:
            arrive = rng.randint(900, 2400)
        if id(p) in stayers or rng.random() < 0.75:
            leave = length - rng.randint(0, 120)
        else:
            leave = rng.randint(min(arrive + 600, length - 300), length - 300)
        leave = max(leave, arrive + 60)
        # Heartbeats miss the odd minute (phone locked, network): credit a little less than present.
        seconds = int((leave - arrive) * rng.uniform(0.93, 1.0))
        watches.append(Watch(p, started + timedelta(seconds=arrive), started + timedelta(seconds=leave), seconds))
    return watches


# --- jielong -------------------------------------------------------------------------------------


@dataclass
class Jielong:
    past: Campaign
    upcoming: Campaign
    orders: list[Order]
    unpaid_seqs: frozenset[int] = frozenset()
    late_seqs: frozenset[int] = frozenset()  # paid, collected after noon
    upcoming_untouched: bool = False


# (sku code, community price fen, per-member limit, chance an order takes it)
_PAST_ITEMS = (
    ("LL-SHQ-500", 1290, 5, 0.85),
    ("LL-EGG-30", 4990, 3, 0.45),
    ("LL-TOM-500", 1590, 5, 0.55),
    ("LL-CUC-500", 1190, 5, 0.4),
    ("LL-LET-400", 990, 5, 0.35),
)
_UPCOMING_ITEMS = (("LL-EGG-30", 4990, 3), ("LL-EGG-15", 2690, 5), ("LL-TOM-500", 1590, 5), ("LL-SHQ-500", 1290, 5))
_NOTES = (
    "请放南门便利店，谢谢",
    "鸡蛋请多包一层",
    "晚上下班后来取",
    "老李辛苦了！",
    "帮邻居一起带的",
    "上次的菜很新鲜",
)


def seed_jielong(rng: random.Random, clock: Clock, people: People, catalogue: Catalogue, live: Live) -> Jielong:
    """The completed jielong of the past session (210 orders) and the draft waiting for the next one."""

    opens_at = clock.at(PAST_DAY, 20, 55)
    formed_at = opens_at + timedelta(minutes=PERK_MINUTES)
    # 今晚截单: the farm picks through the night and the vans leave at dawn (demo.fulfilment).
    closes_at = clock.at(PAST_DAY, 23, 30)
    past = _campaign(
        people,
        live.past,
        PAST_CAMPAIGN_TITLE,
        {
            "story": "老李现场采摘、清洗上海青并用农残检测仪自检：未检出。今晚的订单老李亲自监督采摘和打包，成团后冷链专车直发城市仓，次日中午前送达自提点。",
            "status": Campaign.Status.COMPLETED,
            "group_threshold": PERK_PLACES,
            "perk_limit": PERK_PLACES,
            "perk_description": "前50名接龙享8折尝鲜价，赠老李亲笔签名《有机生活手札》",
            "opens_at": opens_at,
            "closes_at": closes_at,
            "formed_at": formed_at,
            "delivery_note": "次日中午前送达自提点",
            "joined_count": JOINERS,
            "perk_taken": PERK_PLACES,
            "next_seq": JOINERS + 1,
            # One bump for opening, one per join, one for closing, as the services would have done.
            "version": JOINERS + 2,
        },
        created_at=clock.at(PAST_DAY - 2, 15),
    )
    items = _items(past, catalogue, [(code, price, limit) for code, price, limit, _ in _PAST_ITEMS], perk=0.8)
    orders, unpaid, late = _save_orders(rng, people, live, past, items, opens_at, formed_at, closes_at)

    upcoming = Campaign.objects.filter(live_session=live.upcoming, title=UPCOMING_CAMPAIGN_TITLE).first()
    untouched = upcoming is not None and upcoming.status != Campaign.Status.DRAFT
    if not untouched:
        upcoming = _campaign(
            people,
            live.upcoming,
            UPCOMING_CAMPAIGN_TITLE,
            {
                "story": "老李的土鸡在山林里散养，吃虫子、玉米和青菜叶。直播结束时自动开团，前30名享9折并加赠6枚散养鸡蛋。",
                "status": Campaign.Status.DRAFT,
                "group_threshold": 50,
                "perk_limit": 30,
                "perk_description": "前30名接龙享9折，加赠散养鸡蛋6枚",
                "opens_at": None,
                "closes_at": clock.at(UPCOMING_DAY, 23, 30),
                "formed_at": None,
                "delivery_note": "成团后次日中午前送达自提点",
                "joined_count": 0,
                "perk_taken": 0,
                "next_seq": 1,
                "version": 0,
            },
            created_at=clock.at(PAST_DAY + 1, 16),
        )
        _items(upcoming, catalogue, _UPCOMING_ITEMS, perk=0.9)
    return Jielong(
        past=past,
        upcoming=upcoming,
        orders=orders,
        unpaid_seqs=unpaid,
        late_seqs=late,
        upcoming_untouched=untouched,
    )


def _campaign(people: People, session: LiveSession, title: str, values: dict, *, created_at: datetime) -> Campaign:
    campaign = Campaign.objects.filter(live_session=session, title=title).first() or Campaign(
        live_session=session, title=title
    )
    campaign.brand = people.brand
    for name, value in values.items():
        setattr(campaign, name, value)
    campaign.save()
    Campaign.objects.filter(pk=campaign.pk).update(created_at=created_at)
    campaign.communities.set([people.communities[MAIN_COMMUNITY_SLUG]])
    return campaign


def _items(
    campaign: Campaign, catalogue: Catalogue, rows: Iterable[tuple[str, int, int]], *, perk: float
) -> list[CampaignItem]:
    desired = [
        CampaignItem(
            campaign=campaign,
            sku=catalogue.skus[code],
            price_fen=price,
            perk_price_fen=round(price * perk),
            per_member_limit=limit,
            position=position,
        )
        for position, (code, price, limit) in enumerate(rows)
    ]
    return _sync(
        CampaignItem.objects.filter(campaign=campaign),
        desired,
        key=["campaign_id", "sku_id"],
        fields=["price_fen", "perk_price_fen", "per_member_limit", "position"],
    )


def _save_orders(
    rng: random.Random,
    people: People,
    live: Live,
    campaign: Campaign,
    items: list[CampaignItem],
    opens_at: datetime,
    formed_at: datetime,
    closes_at: datetime,
) -> tuple[list[Order], frozenset[int], frozenset[int]]:
    """210 entries: the KOCs lead, 50 first-N places gone in 8 minutes, a tail until the close at night.

    Returns the orders and the seqs of the unpaid ones and of the paid ones collected late."""
    watched_to_end = {id(w.person) for w in live.watches if w.last_seen_at >= opens_at}
    kocs = list(people.kocs)
    rng.shuffle(kocs)
    first = [p for p in people.viewers if id(p) in watched_to_end and p not in kocs and p is not people.demo_member]
    first = rng.sample(first, PERK_PLACES - KOC_COUNT - 1)
    first.insert(6, people.demo_member)
    chosen = {id(p) for p in kocs + first}
    rest = rng.sample([p for p in people.viewers if id(p) not in chosen], JOINERS - PERK_PLACES)
    joiners = kocs + first + rest

    times = (
        _spread(rng, opens_at + timedelta(seconds=5), opens_at + timedelta(seconds=75), KOC_COUNT)
        + _spread(rng, opens_at + timedelta(seconds=75), formed_at, PERK_PLACES - KOC_COUNT - 1)
        + [formed_at]  # the 50th entry forms the group
        + _spread(rng, formed_at + timedelta(seconds=1), opens_at + timedelta(minutes=65), 110)
        + _spread(rng, opens_at + timedelta(minutes=65), closes_at - timedelta(minutes=35), 40)
        + _spread(rng, closes_at - timedelta(minutes=30), closes_at - timedelta(minutes=5), JOINERS - PERK_PLACES - 150)
    )
    tail = range(PERK_PLACES, JOINERS)
    unpaid = set(rng.sample(tail, UNPAID_ORDERS))
    waiting = set(rng.sample([i for i in tail if i not in unpaid], LATE_PICKUPS))

    planned_orders, planned_lines = [], []
    for i, (p, created_at) in enumerate(zip(joiners, times, strict=True)):
        is_perk = i < PERK_PLACES
        lines = []
        for item, (*_, chance) in zip(items, _PAST_ITEMS, strict=True):
            if rng.random() < chance:
                lines.append((item, rng.choices((1, 2, 3), (60, 30, 10))[0]))
        if not lines:
            lines.append((items[0], 1))
        priced = [(item, qty, item.perk_price_fen if is_perk else item.price_fen) for item, qty in lines]
        paid = i not in unpaid
        membership = people.membership(p)
        planned_orders.append(
            Order(
                campaign=campaign,
                user=p.user,
                community_id=membership.community_id,
                pickup_point_id=membership.default_pickup_point_id,
                seq=i + 1,
                # Where the order went after the split is fulfilment's to say (demo.fulfilment moves it).
                status=Order.Status.JOINED,
                payment_status=Order.PaymentStatus.PAID if paid else Order.PaymentStatus.UNPAID,
                is_perk=is_perk,
                total_fen=sum(qty * price for _, qty, price in priced),
                note=rng.choice(_NOTES) if rng.random() < 0.08 else "",
                created_at=created_at,
                paid_at=created_at + timedelta(seconds=rng.randint(20, 900)) if paid else None,
            )
        )
        planned_lines.append(priced)

    orders = _sync(
        Order.objects.filter(campaign=campaign),
        planned_orders,
        key=["campaign_id", "seq"],
        fields=[
            "user",
            "community",
            "pickup_point",
            "payment_status",
            "is_perk",
            "total_fen",
            "note",
            "created_at",
            "paid_at",
        ],
        prune=True,
    )
    lines = [
        OrderLine(order=order, item=item, quantity=qty, unit_price_fen=price)
        for order, priced in zip(orders, planned_lines, strict=True)
        for item, qty, price in priced
    ]
    _sync(
        OrderLine.objects.filter(order__campaign=campaign),
        lines,
        key=["order_id", "item_id"],
        fields=["quantity", "unit_price_fen"],
        prune=True,
    )
    return orders, frozenset(i + 1 for i in unpaid), frozenset(i + 1 for i in waiting)


# --- analytics events ------------------------------------------------------------------------------


def seed_events(people: People, live: Live, jielong: Jielong) -> dict[int, datetime]:
    """Replace the seed's events with the story's: joins, reservations, entries, jielong orders.

    Returns each user's latest activity around the past session, for ``members_touch``.
    """
    Event.objects.filter(properties__seed=SEED_MARK).delete()
    events: list[Event] = []
    activity: dict[int, datetime] = {}

    def add(name: str, occurred_at: datetime, *, user_id=None, **columns_and_properties) -> None:
        columns = {
            k: columns_and_properties.pop(k)
            for k in ("community_id", "live_session_id", "campaign_id")
            if k in columns_and_properties
        }
        events.append(
            Event(
                name=name,
                occurred_at=occurred_at,
                user_id=user_id,
                properties={**columns_and_properties, "seed": SEED_MARK},
                **columns,
            )
        )

    for seat in people.seats:
        membership = people.membership(seat.person, seat.community)
        add(
            "community.member_joined",
            seat.joined_at,
            user_id=membership.user_id,
            community_id=membership.community_id,
            invited_by_id=membership.invited_by_id,
        )
    for reservation in [*live.past_reservations, *live.upcoming_reservations]:
        add(
            "livestream.reserved",
            reservation.created_at,
            user_id=reservation.user_id,
            live_session_id=reservation.session_id,
        )
        _later(activity, reservation.user_id, reservation.created_at)
    past = live.past
    add("livestream.session_started", past.started_at, user_id=people.host.pk, live_session_id=past.pk)
    for watch in live.watches:
        add("livestream.entered", watch.first_seen_at, user_id=watch.person.user.pk, live_session_id=past.pk)
        _later(activity, watch.person.user.pk, watch.last_seen_at)
    add("livestream.session_ended", past.ended_at, user_id=people.host.pk, live_session_id=past.pk)

    campaign = jielong.past
    add("jielong.campaign_opened", campaign.opens_at, campaign_id=campaign.pk, live_session_id=past.pk)
    for order in jielong.orders:
        add(
            "jielong.order_joined",
            order.created_at,
            user_id=order.user_id,
            campaign_id=campaign.pk,
            community_id=order.community_id,
            order_id=order.pk,
            total_fen=order.total_fen,
            is_perk=order.is_perk,
        )
        _later(activity, order.user_id, order.paid_at or order.created_at)
        if order.seq == campaign.group_threshold:
            add("jielong.group_formed", campaign.formed_at, campaign_id=campaign.pk, joined=order.seq)
    add("jielong.campaign_completed", campaign.closes_at, campaign_id=campaign.pk, joined=campaign.joined_count)

    Event.objects.bulk_create(events, batch_size=_BATCH)
    return activity


def _later(activity: dict[int, datetime], user_id: int, when: datetime) -> None:
    if user_id not in activity or when > activity[user_id]:
        activity[user_id] = when


# --- the whole story -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    communities: dict[str, int] = field(default_factory=dict)  # name → active members
    members: int = 0
    past_session: str = ""
    reservations: int = 0
    viewers: int = 0
    average_watch_minutes: float = 0.0
    orders: int = 0
    perk_orders: int = 0
    gmv_fen: int = 0
    upcoming_session: str = ""
    upcoming_start: datetime | None = None
    upcoming_reservations: int = 0
    draft_campaign: str = ""
    events: int = 0
    notes: tuple[str, ...] = ()
    fulfilment: str = ""  # the past jielong's delivery day, as split
    aftercare: str = ""  # its after-sales, reviews and NPS


def seed_demo(*, now: datetime | None = None) -> DemoSummary:
    """Plant (or refresh) the whole 源味集 story. Safe to run again: the counts stay the same."""
    rng = random.Random(RANDOM_SEED)
    clock = Clock.around(now)
    with transaction.atomic():
        people = seed_people(rng, clock)
        catalogue = seed_catalogue(people)
        live = seed_live(rng, clock, people)
        jielong = seed_jielong(rng, clock, people, catalogue, live)
        activity = seed_events(people, live, jielong)
        members_touch(people, activity)
        from demo.live import seed_live_extras

        seed_live_extras(past=live.past, upcoming=live.upcoming, now=now)
        from demo.community import seed_join_gates

        seed_join_gates(now=now)
        from demo.cdp import seed_segments  # the article's three segments, saved (issue 14 item 5)

        seed_segments(brand=people.brand, operator=people.operator, at=clock.at(-1, 9, 30))
        from demo.fulfilment import seed_fulfilment

        # Delivered the day after the live, as the story says (次日中午前送达), split once the jielong closed.
        delivery = seed_fulfilment(
            brand=people.brand,
            supplier=catalogue.supplier,
            past=jielong.past,
            operator=people.operator,
            verifier=next(p.user for p in people.kocs if p.nickname == "李阿姨"),
            delivery_date=clock.today + timedelta(days=PAST_DAY + 1),
            split_at=jielong.past.closes_at + timedelta(minutes=5),
            unpaid_seqs=jielong.unpaid_seqs,
            late_seqs=jielong.late_seqs,
            now=now,
        )
        from demo.aftercare import seed_aftercare

        # What the neighbours said and got back: after-sales, refunds, reviews and NPS (issue 13).
        aftercare = seed_aftercare(
            past=jielong.past,
            operator=people.operator,
            demo_member=people.demo_member.user,
            delivery_date=delivery.delivery_date,
            now=now,
        )
        from demo.blacklist import seed_blacklist

        seed_blacklist(
            past=jielong.past,
            brand=people.brand,
            operator=people.operator,
            delivery_date=delivery.delivery_date,
            now=now,
        )
        from demo.fission import seed_fission  # help-sellers, commissions, a settled statement (issue 13 item 5)

        seed_fission(past=jielong.past, operator=people.operator, delivery_date=delivery.delivery_date, now=now)
        from demo.media import seed_media  # the past session's replay and chapters (issue 15)

        seed_media(past=live.past)
        from demo.highlights import seed_highlights  # the past live's clips, one on its jielong page (issue 15)

        seed_highlights(past=live.past, upcoming=live.upcoming, campaign=jielong.past, operator=people.operator)
        from demo.year import seed_year  # the year before: plain jielongs, then weekly lives (issue 14 item 7)

        seed_year(people=people, catalogue=catalogue, clock=clock)
        from demo.brands import seed_second_brand  # 邻家鲜 and its own operator (issue 16 item 5)

        seed_second_brand(at=clock.at, password=people.operator.password)
        from demo.privacy import seed_privacy  # everyone accepted the current privacy notice (issue 16 item 9)

        seed_privacy()
        from demo.audit import seed_audit  # 林峰 saw 王姐's full number yesterday (issue 16 item 8)

        seed_audit(operator=people.operator, member=people.demo_member.user, at=clock.at(-1, 10, 5))
        from bi.rollups import rebuild  # the boards' rollups, folded from the stream the story just told

        rebuild()
    summary = _summary(people, live, jielong)
    return replace(summary, fulfilment=delivery.describe(), aftercare=aftercare.describe())


def _summary(people: People, live: Live, jielong: Jielong) -> DemoSummary:
    communities = {
        c.name: Membership.objects.filter(community=c, status=Membership.Status.ACTIVE).count()
        for c in people.communities.values()
    }
    watch = WatchRecord.objects.filter(session=live.past).aggregate(
        n=models.Count("pk"), seconds=models.Avg("seconds_watched")
    )
    orders = Order.objects.filter(campaign=jielong.past).exclude(status=Order.Status.CANCELLED)
    sales = orders.aggregate(n=models.Count("pk"), gmv=models.Sum("total_fen"))
    notes = []
    if live.upcoming_untouched or jielong.upcoming_untouched:
        notes.append(
            "The next session or its jielong has already been used in the demo and was left as it is; "
            "run `manage.py flush` first for a fresh story."
        )
    return DemoSummary(
        communities=communities,
        members=User.objects.filter(memberships__community__in=people.communities.values()).distinct().count(),
        past_session=live.past.title,
        reservations=Reservation.objects.filter(session=live.past).count(),
        viewers=watch["n"],
        average_watch_minutes=round((watch["seconds"] or 0) / 60, 1),
        orders=sales["n"],
        perk_orders=orders.filter(is_perk=True).count(),
        gmv_fen=sales["gmv"] or 0,
        upcoming_session=live.upcoming.title,
        upcoming_start=live.upcoming.scheduled_start,
        upcoming_reservations=Reservation.objects.filter(session=live.upcoming).count(),
        draft_campaign=jielong.upcoming.title,
        events=Event.objects.filter(properties__seed__in=[SEED_MARK, FULFILMENT_MARK, AFTERCARE_MARK]).count(),
        notes=tuple(notes),
    )
