"""The 源味集 demo data set: the story's numbers, exactly, and the same after every re-run.

The demo is seeded once for the module (committed, flushed at the end: a seed tells a whole delivery day
through the services, seconds on PostgreSQL); each test runs in its own transaction on top of it, so what a
test seeds again or changes is rolled back. The clock is pinned to 15:00 today (local time), after the
story's reminders came due; two tests tell the story as of 05:00, before they did.
"""

from datetime import datetime, time, timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Avg, Count, F, Q, Sum
from django.urls import reverse
from django.utils import timezone

from aftersales.models import Request, RequestPhoto
from analytics.models import Event
from bi import rollup_check
from catalogue.models import SKU, Product, Supplier
from community.models import Community, Membership, PickupPoint, User
from community.phones import normalize_phone
from demo import brands
from demo import story as demo
from demo.year import YEAR_MARK
from feedback.models import NpsSurvey, Review, ReviewPhoto
from fulfillment.models import (
    BatchMove,
    CampaignDelivery,
    Handout,
    HandoutLine,
    LoadLine,
    Notice,
    Parcel,
    PickLine,
    PointVerifier,
    Route,
    RouteStop,
    Shortage,
    Verification,
    Warehouse,
)
from groupbuy import clock
from jielong.ledger import ledger_reconcile
from jielong.models import Campaign, CampaignItem, LedgerEntry, Order, OrderLine
from livestream.models import LiveSeries, LiveSession, Notification, Reservation, WatchRecord
from tests import factories as f

pytestmark = pytest.mark.django_db


def _today_at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(timezone.localdate(), time(hour, minute), tzinfo=timezone.get_current_timezone())


@pytest.fixture(autouse=True)
def _afternoon():
    with time_machine.travel(_today_at(15), tick=True):
        yield


@pytest.fixture(scope="module", autouse=True)
def _demo(django_db_setup, django_db_blocker):
    """The demo, seeded once and committed; every table emptied afterwards, as a transactional test would."""
    with django_db_blocker.unblock(), time_machine.travel(_today_at(15), tick=True):
        output = _seed()
    yield output
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


# Rows per table after a seed: 402 members + 3 staff; 300 + 80 + 45 memberships; 240 + 180 reservations.
# The flagged neighbour's two refunds (demo.blacklist): one unit each of their two cheapest items.
FLAGGED_REFUNDED_FEN = 2180

EXPECTED_ROWS = {
    "users": 405,
    "memberships": 425,
    "pickup_points": 7,
    "suppliers": 1,
    "products": 5,
    "skus": 6,
    "series": 1,
    "sessions": 2,
    "reservations": 420,
    "watch_records": 270,
    "campaigns": 2,
    "campaign_items": 9,
    "orders": 210,
    "order_lines": 546,
    # the story's, then the delivery's (see test_the_delivery_is_in_the_event_stream), then demo.blacklist's 12,
    # then demo.highlights' 4 (the clips generated, 老李讲上海青 published, on the jielong page and a warm-up round)
    "events": 1330 + 230 + 102 + 12 + 4,
    "gmv_fen": 1468290,
    # fulfilment: one warehouse, a cold-chain and an ambient van at the 7 points, a 核销员, the past day split
    "warehouses": 1,
    "routes": 2,
    "route_stops": 14,
    "verifiers": 1,
    "deliveries": 1,
    "pick_lines": 5,  # the past jielong's 5 SKUs
    "load_lines": 15,  # 5 SKUs at each of 阳光花园's 3 points
    "handouts": 210,  # one member, one order, one hand-out
    "handout_lines": 546,
    "parcels": 210,
    # its story: shipped, received, two vans, five stops and one point received; 207 pickups; 4 lettuce short
    "batch_moves": 10,
    "verifications": 207,
    "shortages": 3,
    # shipped (inbox), at the point (inbox, SMS, 3 leader copies), picked up (inbox), not collected (inbox, SMS)
    # ..., short (inbox, SMS)
    "notices": 210 + 210 + 210 + 3 + 207 + 3 + 3 + 3 + 3,
    # ..., short (inbox) + NPS surveys + after-sales steps + the flagged neighbour's (demo.blacklist) 3 opened, 3 closed
    "notifications": 210 + 210 + 3 + 207 + 3 + 3 + 207 + 9 + 6,
    # after-care (demo.aftercare): 3 shortage requests, a replacement, a rejected claim, one open; 12 reviews
    # with 7 photos; a survey for each of the 207 who picked up, 40 answered
    "requests": 6 + 3,  # + the flagged neighbour's three (demo.blacklist)
    "request_photos": 2,
    "reviews": 12,
    "review_photos": 7,
    "nps_surveys": 207,
    "nps_answers": 40,
    # demo.fission: a commission per line of the 205 paid orders picked up (the point leader's), 55 + 25 lines of
    # the help-sellers' attributed ones
    "commissions": 532 + 55 + 25,
    # a payment per line of the 205 paid orders, two lettuce refunds, the flagged neighbour's two refunds
    "ledger_entries": 534 + 2 + 2,
    "refunded_fen": 2 * 990 + FLAGGED_REFUNDED_FEN,
}

# demo.year: the 尝鲜群's 140 members who moved on to their estate groups; 《厨房里的秘密》 and 《溯源之旅》, twelve
# weekly lives with their reservations and viewers; 88 plain jielongs and 12 live ones (each delivered the next
# day), their orders, lines and a payment per line.
YEAR_ROWS = {
    "memberships": 140,
    "series": 2,
    "sessions": 12,
    "reservations": 1915,
    "watch_records": 2123,
    "campaigns": 100,
    "campaign_items": 336,
    "orders": 1844,
    "order_lines": 5061,
    "gmv_fen": 14718251,
    "deliveries": 100,
    "ledger_entries": 5061,
    # its stream (demo.history): 12 lives started and ended, their reservations and entries, 100 jielongs
    # opened, formed and completed, 1,844 orders joined and paid
    "events": 12 * 2 + 1915 + 2123 + 100 * 3 + 1844 * 2,
}
EXPECTED_ROWS = {key: value + YEAR_ROWS.get(key, 0) for key, value in EXPECTED_ROWS.items()}

# demo.brands: the second brand 邻家鲜 — its operator and six neighbours in one community with one pickup point,
# one product, one past live (5 reservations and viewers) and its jielong (4 orders, 6 boxes at 59.90).
BRANDS_ROWS = {
    "users": 7,
    "memberships": 6,
    "pickup_points": 1,
    "suppliers": 1,
    "products": 1,
    "skus": 1,
    "series": 1,
    "sessions": 1,
    "reservations": 5,
    "watch_records": 5,
    "campaigns": 1,
    "campaign_items": 1,
    "orders": 4,
    "order_lines": 4,
    "gmv_fen": 6 * 5990,
    "ledger_entries": 4,  # a payment per line
    # its stream: the live's start, 5 entries and end; the jielong opened, 4 joins and payments, formed, completed
    "events": 2 + 5 + 1 + 4 * 2 + 2,
}
EXPECTED_ROWS = {key: value + BRANDS_ROWS.get(key, 0) for key, value in EXPECTED_ROWS.items()}


def _rows() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "pickup_points": PickupPoint.objects.count(),
        "suppliers": Supplier.objects.count(),
        "products": Product.objects.count(),
        "skus": SKU.objects.count(),
        "series": LiveSeries.objects.count(),
        "sessions": LiveSession.objects.count(),
        "reservations": Reservation.objects.count(),
        "watch_records": WatchRecord.objects.count(),
        "campaigns": Campaign.objects.count(),
        "campaign_items": CampaignItem.objects.count(),
        "orders": Order.objects.count(),
        "order_lines": OrderLine.objects.count(),
        # demo.fission and demo.cdp (saved segments): tests of their own
        "events": Event.objects.exclude(name__startswith="fission.").exclude(name__startswith="cdp.").count(),
        "gmv_fen": Order.objects.aggregate(total=Sum("total_fen"))["total"],
        "warehouses": Warehouse.objects.count(),
        "routes": Route.objects.count(),
        "route_stops": RouteStop.objects.count(),
        "verifiers": PointVerifier.objects.count(),
        "deliveries": CampaignDelivery.objects.count(),
        "pick_lines": PickLine.objects.count(),
        "load_lines": LoadLine.objects.count(),
        "handouts": Handout.objects.count(),
        "handout_lines": HandoutLine.objects.count(),
        "parcels": Parcel.objects.count(),
        "batch_moves": BatchMove.objects.count(),
        "verifications": Verification.objects.count(),
        "shortages": Shortage.objects.count(),
        "notices": Notice.objects.count(),
        "notifications": Notification.objects.count(),
        "requests": Request.objects.count(),
        "request_photos": RequestPhoto.objects.count(),
        "reviews": Review.objects.count(),
        "review_photos": ReviewPhoto.objects.count(),
        "nps_surveys": NpsSurvey.objects.count(),
        "nps_answers": NpsSurvey.objects.filter(answered_at__isnull=False).count(),
        "ledger_entries": LedgerEntry.objects.exclude(kind__in=["commission", "clawback"]).count(),
        "commissions": LedgerEntry.objects.filter(kind="commission").count(),
        "refunded_fen": Order.objects.aggregate(total=Sum("refunded_fen"))["total"],
    }


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(_demo) -> str:
    """What ``seed_demo`` printed (the data is there for every test of the module)."""
    return _demo


def _main() -> Community:
    return Community.objects.get(slug=demo.MAIN_COMMUNITY_SLUG)


def _past() -> LiveSession:
    return LiveSession.objects.get(title=demo.PAST_SESSION_TITLE)


def _upcoming() -> LiveSession:
    return LiveSession.objects.get(title=demo.UPCOMING_SESSION_TITLE)


def _past_campaign() -> Campaign:
    return Campaign.objects.get(live_session=_past())


def test_running_twice_keeps_every_count():
    _seed()
    first = _rows()
    average = WatchRecord.objects.aggregate(avg=Avg("seconds_watched"))["avg"]

    _seed()

    assert first == EXPECTED_ROWS
    assert _rows() == EXPECTED_ROWS
    assert WatchRecord.objects.aggregate(avg=Avg("seconds_watched"))["avg"] == average


def test_a_later_day_moves_the_story_but_keeps_the_counts():
    now = timezone.now()
    demo.seed_demo(now=now)
    start = _upcoming().scheduled_start
    day = _delivery_day()
    copies = Notification.objects.filter(title__startswith="请转发到微信群").count()

    demo.seed_demo(now=now + timedelta(days=1))

    assert _rows() == EXPECTED_ROWS
    assert _upcoming().scheduled_start == start + timedelta(days=1)
    assert _past().ended_at > now + timedelta(days=1) - timedelta(days=4)
    # The delivery day's story is told again a day later, and nothing of the old day is left.
    assert _delivery_day() == day + timedelta(days=1)
    assert set(BatchMove.objects.values_list("delivery_date", flat=True)) == {day + timedelta(days=1)}
    assert set(Notice.objects.values_list("delivery_date", flat=True)) == {day + timedelta(days=1)}
    assert Notification.objects.filter(title__startswith="请转发到微信群").count() == copies == 3
    picked = Parcel.objects.filter(state=Parcel.State.PICKED_UP).values_list("picked_up_at", flat=True)
    assert {timezone.localdate(t) for t in picked} == {day + timedelta(days=1), day + timedelta(days=2)}


def test_main_community_has_300_members_with_leader_kocs_and_referrals(seeded):
    main = _main()
    active = Membership.objects.filter(community=main, status=Membership.Status.ACTIVE)
    viewers = WatchRecord.objects.filter(session=_past()).values("user_id")

    assert main.name == "源味集·阳光花园群"
    assert main.join_gate == Community.JoinGate.QUESTIONNAIRE
    assert main.positioning == "一群相信食物本源、追求健康生活的探索者联盟"
    assert active.count() == 300
    assert dict(active.values_list("role").annotate(n=Count("pk"))) == {"leader": 1, "koc": 10, "member": 289}
    assert active.filter(invited_by__isnull=False).count() == 205
    assert active.filter(invited_by__in=viewers).count() == 205  # > 60% brought in by viewers
    assert main.pickup_points.count() == 3
    leader = active.get(role=Membership.Role.LEADER).user
    assert set(main.pickup_points.values_list("leader", flat=True)) == {leader.pk}
    month_ago = timezone.now() - timedelta(days=30)
    assert active.filter(last_active_at__gte=month_ago).count() == 270  # monthly active rate 90%


def test_every_community_has_a_leader_and_some_members_belong_to_two(seeded):
    counts = {
        c.slug: (
            c.memberships.filter(status=Membership.Status.ACTIVE).count(),
            c.memberships.filter(role=Membership.Role.LEADER).count(),
            c.pickup_points.filter(leader__isnull=False).count(),
        )
        for c in Community.objects.filter(is_active=True)  # demo.year's 尝鲜群 is archived, everyone moved on
    }

    # demo.brands' 邻家鲜 community: six neighbours, one of them the leader of its one point
    assert counts == {"yangguang": (300, 1, 3), "cuihu": (80, 1, 2), "binjiang": (45, 1, 2), "linjia-wutong": (6, 1, 1)}
    in_two = Count("memberships", filter=Q(memberships__status=Membership.Status.ACTIVE))
    assert User.objects.annotate(n=in_two).filter(n=2).count() == 23


def test_members_have_valid_mainland_phones_and_sign_in_by_code_only(seeded):
    members = User.objects.filter(role=User.Role.MEMBER).exclude(memberships__community__slug=brands.COMMUNITY_SLUG)
    phones = list(members.values_list("phone", flat=True))

    assert len(phones) == 402
    assert all(normalize_phone(p) == p and p.startswith("+86138") for p in phones)
    assert not any(u.has_usable_password() for u in members)
    assert members.filter(nickname="").count() == 0
    assert members.values("nickname").distinct().count() == 402
    wang = User.objects.get(phone=demo.DEMO_MEMBER_PHONE)
    assert wang.nickname == "王姐"
    assert wang.memberships.get(status=Membership.Status.ACTIVE).community == _main()


@pytest.mark.parametrize(
    ("username", "role", "is_staff"),
    [("linfeng", User.Role.OPERATOR, True), ("laoli", User.Role.HOST, False), ("xiaoyu", User.Role.ASSISTANT, False)],
    ids=["operator", "host", "assistant"],
)
def test_staff_sign_in_with_the_demo_password(seeded, username, role, is_staff):
    user = authenticate(username=username, password=demo.DEMO_PASSWORD)

    assert user is not None
    assert (user.role, user.is_staff) == (role, is_staff)
    assert authenticate(username=username, password=f.DEFAULT_PASSWORD) is None


def test_past_session_was_watched_by_270_members_for_over_45_minutes(seeded):
    past = _past()
    records = WatchRecord.objects.filter(session=past)

    assert past.status == LiveSession.Status.ENDED
    assert past.ended_at < timezone.now()
    assert timezone.localtime(past.scheduled_start).hour == 20
    assert list(past.hosts.values_list("username", flat=True)) == ["laoli"]
    assert list(past.assistants.values_list("username", flat=True)) == ["xiaoyu"]
    assert past.perk_summary == "前50名接龙享8折尝鲜价，赠老李亲笔签名《有机生活手札》"
    assert records.count() == 270
    assert records.filter(user__memberships__community=_main()).values("user").distinct().count() == 270
    assert records.aggregate(avg=Avg("seconds_watched"))["avg"] > 45 * 60
    assert records.filter(first_seen_at__lt=past.started_at).count() == 0
    assert records.filter(last_seen_at__gt=past.ended_at).count() == 0
    assert records.filter(last_seen_at__lte=F("first_seen_at")).count() == 0
    assert Reservation.objects.filter(session=past).count() == 240


def test_jielong_has_210_orders_and_the_first_50_took_the_perk_within_8_minutes(seeded):
    campaign = _past_campaign()
    orders = Order.objects.filter(campaign=campaign).order_by("seq")
    viewers = WatchRecord.objects.filter(session=_past()).values("user_id")
    first, fiftieth = orders[0], orders[49]

    assert campaign.status == Campaign.Status.COMPLETED
    assert (campaign.joined_count, campaign.perk_taken, campaign.next_seq) == (210, 50, 211)
    assert (campaign.group_threshold, campaign.perk_limit) == (50, 50)
    assert campaign.formed_at == campaign.opens_at + timedelta(minutes=8)
    assert timezone.localtime(campaign.opens_at).strftime("%H:%M") == "20:55"
    # 今晚截单: the list closes at night, so the farm can pick before dawn.
    assert timezone.localtime(campaign.closes_at).strftime("%H:%M") == "23:30"
    assert timezone.localdate(campaign.closes_at) == timezone.localdate(campaign.opens_at)
    assert list(orders.values_list("seq", flat=True)) == list(range(1, 211))
    assert orders.values("user").distinct().count() == 210
    assert orders.filter(user__in=viewers).count() == 210
    assert list(orders.filter(is_perk=True).values_list("seq", flat=True)) == list(range(1, 51))
    assert fiftieth.created_at - first.created_at <= timedelta(minutes=8)
    assert fiftieth.created_at == campaign.formed_at
    times = list(orders.values_list("created_at", flat=True))
    assert times == sorted(times)
    kocs = Membership.objects.filter(community=_main(), role=Membership.Role.KOC).values("user_id")
    assert set(orders.filter(seq__lte=10).values_list("user_id", flat=True)) == {k["user_id"] for k in kocs}
    assert dict(orders.order_by().values_list("payment_status").annotate(n=Count("pk"))) == {"paid": 205, "unpaid": 5}


def test_order_totals_equal_their_lines_at_perk_or_community_price(seeded):
    orders = Order.objects.filter(campaign=_past_campaign()).prefetch_related("lines__item")

    for order in orders:
        lines = list(order.lines.all())
        assert lines, order.seq
        assert order.total_fen == sum(line.quantity * line.unit_price_fen for line in lines)
        for line in lines:
            expected = line.item.perk_price_fen if order.is_perk else line.item.price_fen
            assert line.unit_price_fen == expected
            assert 1 <= line.quantity <= line.item.per_member_limit
        membership = Membership.objects.get(user_id=order.user_id, community_id=order.community_id)
        assert order.pickup_point_id == membership.default_pickup_point_id
    items = CampaignItem.objects.filter(campaign=_past_campaign())
    assert all(item.perk_price_fen * 5 == item.price_fen * 4 for item in items)  # 8折, whole fen


def test_upcoming_session_is_scheduled_reserved_and_has_a_draft_campaign(seeded):
    upcoming = _upcoming()
    draft = Campaign.objects.get(live_session=upcoming)

    assert upcoming.status == LiveSession.Status.SCHEDULED
    assert upcoming.scheduled_start > timezone.now()
    assert timezone.localtime(upcoming.scheduled_start).hour == 20
    assert list(upcoming.hosts.values_list("username", flat=True)) == ["laoli"]
    assert Reservation.objects.filter(session=upcoming).count() == 180
    assert not Reservation.objects.filter(session=upcoming, user__phone=demo.DEMO_MEMBER_PHONE).exists()
    assert draft.status == Campaign.Status.DRAFT
    assert draft.closes_at > upcoming.scheduled_end
    assert (draft.joined_count, draft.next_seq, draft.items.count()) == (0, 1, 4)


def test_events_tell_the_same_story(seeded):
    past, campaign = _past(), _past_campaign()
    # The help-sellers' story (demo.fission) and the saved segments (demo.cdp) have tests of their own.
    stream = Event.objects.exclude(name__startswith="fission.").exclude(name__startswith="cdp.")
    # The year before and the second brand tell theirs (test_the_year_s_stream_gives_the_boards_figures).
    stream = stream.exclude(Q(properties__has_key="seed") & Q(properties__seed__in=[YEAR_MARK, brands.STREAM_MARK]))
    names = dict(stream.values_list("name").annotate(n=Count("pk")))

    assert names == {
        "community.member_joined": 425,
        "livestream.reserved": 420,
        "livestream.session_started": 1,
        "livestream.entered": 270,
        "livestream.session_ended": 1,
        "jielong.campaign_opened": 1,
        "jielong.order_joined": 210,
        "jielong.group_formed": 1,
        "jielong.campaign_completed": 1,
        "fulfillment.day_split": 2,
        "fulfillment.supply_confirmed": 5,
        "fulfillment.shortage_recorded": 3,
        "fulfillment.parcels_moved": 10,
        "fulfillment.order_picked_up": 207,
        "fulfillment.order_uncollected": 3,
        # after-care: 6 opened, 5 first answers and 5 resolutions, 2 refunds; 12 reviews; the NPS sweep's
        # 32 ten-minute runs after the pickups asked 207, and 40 answered
        "aftersales.request_opened": 6 + 3,  # + the flagged neighbour's (demo.blacklist), and the flag
        "aftersales.request_answered": 5 + 3,
        "aftersales.request_resolved": 5 + 3,
        "jielong.refund_issued": 2 + 2,
        "community.person_flagged": 1,
        "feedback.review_posted": 12,
        "feedback.nps_asked": 32,
        "feedback.nps_answered": 40,
        "highlights.clips_generated": 1,
        "highlights.clip_published": 1,
        "highlights.clip_attached": 2,
    }
    entered = Event.objects.filter(name="livestream.entered", live_session_id=past.pk)
    assert entered.values("user").distinct().count() == 270
    assert not entered.exclude(occurred_at__range=(past.started_at, past.ended_at)).exists()
    joined = Event.objects.filter(name="jielong.order_joined", campaign_id=campaign.pk)
    assert (
        sum(e.properties["total_fen"] for e in joined)
        == EXPECTED_ROWS["gmv_fen"] - YEAR_ROWS["gmv_fen"] - BRANDS_ROWS["gmv_fen"]
    )  # the story's jielong only
    assert sum(e.properties["is_perk"] for e in joined) == 50
    assert Event.objects.get(name="jielong.group_formed", campaign_id=campaign.pk).occurred_at == campaign.formed_at
    assert not Event.objects.filter(occurred_at__gt=timezone.now()).exists()


def test_the_year_s_stream_gives_the_boards_figures(seeded):
    year = Event.objects.filter(properties__seed=YEAR_MARK)
    names = dict(year.values_list("name").annotate(n=Count("pk")))
    orders = Order.objects.filter(idempotency_key__startswith=YEAR_MARK)
    assert names["jielong.order_joined"] == names["jielong.order_paid"] == orders.count() == YEAR_ROWS["orders"]
    assert names["jielong.campaign_opened"] == names["jielong.campaign_completed"] == YEAR_ROWS["campaigns"]
    assert names["livestream.entered"] == YEAR_ROWS["watch_records"]
    joined = year.filter(name="jielong.order_joined")
    assert joined.aggregate(s=Sum("amount_fen"))["s"] == YEAR_ROWS["gmv_fen"]
    assert set(joined.values_list("order_id", flat=True)) == set(orders.values_list("pk", flat=True))
    live_opened = year.filter(name="jielong.campaign_opened", live_session_id__isnull=False).count()
    assert live_opened == YEAR_ROWS["sessions"]
    # The rollups (rebuilt by seed_demo) give every rollup-backed tile the live queries' figure on every board.
    assert rollup_check.differences() == []


def test_reseeding_leaves_real_activity_alone(seeded):
    # A member reserved in the demo and the app recorded it: a re-seed must not erase that.
    newcomer = f.member()
    Reservation.objects.create(session=_upcoming(), user=newcomer)
    Event.objects.create(name="livestream.reserved", user=newcomer, live_session_id=_upcoming().pk)

    _seed()

    assert Reservation.objects.filter(session=_upcoming()).count() == 181
    reserved = Event.objects.filter(name="livestream.reserved")
    assert reserved.count() == 421 + YEAR_ROWS["reservations"]  # and the year's (demo.history)


def test_reseeding_after_the_next_session_ran_keeps_its_results(seeded):
    upcoming = _upcoming()
    LiveSession.objects.filter(pk=upcoming.pk).update(status=LiveSession.Status.ENDED, ended_at=timezone.now())
    Campaign.objects.filter(live_session=upcoming).update(status=Campaign.Status.OPEN)

    out = _seed()

    assert _upcoming().status == LiveSession.Status.ENDED
    assert Campaign.objects.get(live_session=upcoming).status == Campaign.Status.OPEN
    assert "already been used" in out


def test_printed_logins_and_urls_match_the_app(seeded):
    assert reverse("web:staff-login") == demo.STAFF_LOGIN_PATH
    assert reverse("community:member-login") == demo.MEMBER_LOGIN_PATH
    for text in ("linfeng", "laoli", demo.DEMO_PASSWORD, "13800138000", demo.STAFF_LOGIN_URL, demo.MEMBER_LOGIN_URL):
        assert text in seeded


def test_the_past_jielong_is_delivered_the_next_day_split_onto_a_cold_and_an_ambient_van(seeded, client):
    from fulfillment import selectors

    campaign, brand = _past_campaign(), _main().brand
    delivery = CampaignDelivery.objects.get(campaign=campaign)
    assert delivery.delivery_date == timezone.localtime(_past().started_at).date() + timedelta(days=1)
    assert delivery.split_at is not None and delivery.split_version == campaign.version

    zones = dict(SKU.objects.filter(product__supplier__brand=brand).values_list("code", "zone"))
    assert zones == {
        "LL-SHQ-500": "chilled",
        "LL-TOM-500": "chilled",
        "LL-CUC-500": "chilled",
        "LL-LET-400": "chilled",
        "LL-EGG-30": "ambient",
        "LL-EGG-15": "ambient",
    }
    assert not SKU.objects.filter(units_per_pack__lt=6).exists()
    cold, dry = Route.objects.get(name="冷链一线"), Route.objects.get(name="常温一线")
    assert (cold.zones, dry.zones) == (["chilled", "frozen"], ["ambient"])
    points = set(PickupPoint.objects.filter(community__brand=brand).values_list("pk", flat=True))
    for route in (cold, dry):
        assert normalize_phone(route.driver_phone) == route.driver_phone and route.driver_name
        assert set(route.stops.values_list("pickup_point_id", flat=True)) == points
        assert list(route.stops.values_list("position", flat=True)) == list(range(1, 8))
    verifier = PointVerifier.objects.select_related("pickup_point", "user").get()
    assert (verifier.pickup_point.name, verifier.user.nickname) == ("阳光花园3栋架空层", "李阿姨")
    assert Membership.objects.filter(
        user=verifier.user, community=verifier.pickup_point.community, status=Membership.Status.ACTIVE
    ).exists()

    ordered = OrderLine.objects.filter(order__campaign=campaign).aggregate(n=Sum("quantity"))["n"]
    assert sum(PickLine.objects.values_list("quantity", flat=True)) == ordered
    # 4 heads of lettuce were short: picked for (the farm was asked), neither loaded nor handed out.
    assert sum(HandoutLine.objects.values_list("quantity", flat=True)) == ordered - 4
    assert sum(LoadLine.objects.values_list("quantity", flat=True)) == ordered - 4
    assert not LoadLine.objects.filter(route__isnull=True).exists()
    for line in LoadLine.objects.select_related("sku"):
        assert line.route_id == (dry.pk if line.sku.zone == "ambient" else cold.pk)
    day = selectors.delivery_day(brand.pk, delivery.delivery_date)
    assert [c.pk for c in day.campaigns] == [campaign.pk]
    main_points = set(PickupPoint.objects.filter(community=_main()).values_list("pk", flat=True))
    assert set(day.point_ids) == main_points
    assert (set(day.route_ids), day.supplier_ids) == ({cold.pk, dry.pk}, (Supplier.objects.get(brand=brand).pk,))
    assert not day.needs_split and day.unrouted_point_ids == () and day.orders == 210

    client.force_login(User.objects.get(username=demo.OPERATOR_USERNAME))
    page = client.get(f"/ops/fulfilment/{brand.pk}/{delivery.delivery_date.isoformat()}/").content.decode()
    assert campaign.title in page
    assert (
        f"/ops/fulfilment/{brand.pk}/{delivery.delivery_date.isoformat()}/"
        in client.get("/ops/fulfilment/").content.decode()
    )


# --- the past jielong's delivery day, as it happened -----------------------------------------------------------


def _delivery_day():
    return CampaignDelivery.objects.get(campaign=_past_campaign()).delivery_date


def _at(day, hour: int, minute: int = 0):
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


def _next_ten_minutes(value: datetime) -> datetime:
    return value - timedelta(seconds=value.timestamp() % 600) + timedelta(minutes=10)


def _local(value) -> str:
    return timezone.localtime(value).strftime("%m-%d %H:%M")


def test_the_night_after_the_live_moves_every_order_to_its_point_in_batch_steps(seeded):
    day = _delivery_day()
    eve = day - timedelta(days=1)
    d, e = day.strftime("%m-%d"), eve.strftime("%m-%d")

    moves = [
        (
            m.kind,
            _local(m.at),
            str(m.supplier or m.warehouse or m.route or ""),
            m.pickup_point.name if m.pickup_point else "",
            m.by.display_name if m.by else "",
            m.parcels,
        )
        for m in BatchMove.objects.select_related("supplier", "warehouse", "route", "pickup_point", "by")
    ]

    # The farm ships and the warehouse receives in the night; each van leaves at its departure time and calls at
    # 阳光花园's three points (the only ones with orders); at 3栋 the ambient van's driver left the eggs with the
    # 核销员, who marked the point received.
    assert moves == [
        ("supplier_shipped", f"{d} 02:40", "老李有机农场", "", "", 210),
        ("warehouse_received", f"{d} 04:25", "源味集杭州城西仓", "", "林峰", 210),
        ("route_departed", f"{d} 05:30", "冷链一线", "", "", 209),
        ("stop_arrived", f"{d} 06:04", "冷链一线", "阳光花园北门菜鸟驿站", "", 23),
        ("stop_arrived", f"{d} 06:16", "冷链一线", "阳光花园南门·陈姐便利店", "", 49),
        ("stop_arrived", f"{d} 06:28", "冷链一线", "阳光花园3栋架空层", "", 47),
        ("route_departed", f"{d} 06:30", "常温一线", "", "", 1),
        ("stop_arrived", f"{d} 07:04", "常温一线", "阳光花园北门菜鸟驿站", "", 15),
        ("stop_arrived", f"{d} 07:16", "常温一线", "阳光花园南门·陈姐便利店", "", 43),
        ("point_received", f"{d} 07:31", "", "阳光花园3栋架空层", "李阿姨", 33),
    ]
    assert set(BatchMove.objects.values_list("delivery_date", flat=True)) == {day}
    parcels = Parcel.objects.filter(order__campaign=_past_campaign())
    assert {_local(t) for t in parcels.values_list("shipped_at", flat=True)} == {f"{d} 02:40"}
    assert {_local(t) for t in parcels.values_list("at_warehouse_at", flat=True)} == {f"{d} 04:25"}
    assert {_local(t) for t in parcels.values_list("out_for_delivery_at", flat=True)} == {f"{d} 05:30", f"{d} 06:30"}
    arrived = {_local(t) for t in parcels.values_list("at_pickup_at", flat=True)}
    assert arrived == {f"{d} {hm}" for hm in ("06:04", "06:16", "06:28", "07:04", "07:16", "07:31")}

    # 老李 confirmed his pick list the night before: everything but 4 heads of lettuce.
    lines = {
        line.sku.code: (line.quantity, line.confirmed_quantity, _local(line.confirmed_at))
        for line in PickLine.objects.select_related("sku")
    }
    ordered = dict(
        OrderLine.objects.filter(order__campaign=_past_campaign())
        .values_list("item__sku__code")
        .annotate(n=Sum("quantity"))
    )
    assert lines == {code: (n, n - 4 if code == "LL-LET-400" else n, f"{e} 23:48") for code, n in ordered.items()}
    # The shortfall falls on the latest joiners who ordered lettuce, ready for after-sales; their orders still
    # had the rest to hand over.
    short = Shortage.objects.select_related("order_line__order", "order_line__item__sku")
    assert sum(s.quantity for s in short) == 4
    assert {s.order_line.item.sku.code for s in short} == {"LL-LET-400"}
    with_lettuce = OrderLine.objects.filter(order__campaign=_past_campaign(), item__sku__code="LL-LET-400")
    latest = list(with_lettuce.order_by("-order__seq").values_list("order__seq", "quantity"))
    hit, units = [], 0
    for seq, quantity in latest:
        if units >= 4:
            break
        hit.append(seq)
        units += quantity
    assert sorted(s.order_line.order.seq for s in short) == sorted(hit)
    assert not parcels.filter(state=Parcel.State.SHORTAGE).exists()


def test_most_neighbours_collect_before_noon_a_few_late_and_three_never(seeded):
    day = _delivery_day()
    campaign = _past_campaign()
    parcels = Parcel.objects.filter(order__campaign=campaign).select_related("order", "pickup_point", "handout")
    noon, next_noon = _at(day, 12), _at(day + timedelta(days=1), 12)

    assert dict(parcels.order_by().values_list("state").annotate(n=Count("pk"))) == {"picked_up": 207, "uncollected": 3}
    picked = [p for p in parcels if p.state == Parcel.State.PICKED_UP]
    on_time = [p for p in picked if p.picked_up_at <= noon]
    late = [p for p in picked if p.picked_up_at > noon]
    assert (len(on_time), len(late)) == (199, 8)
    # Inside each point's morning hours, after the goods arrived.
    opens = {"阳光花园南门·陈姐便利店": (8, 0), "阳光花园北门菜鸟驿站": (9, 0), "阳光花园3栋架空层": (7, 35)}
    for p in on_time:
        assert p.picked_up_at >= max(_at(day, *opens[p.pickup_point.name]), p.at_pickup_at), p.order.seq
    # The late ones: that evening after work, or the next morning (the group keeps them until noon).
    evening = [p for p in late if timezone.localdate(p.picked_up_at) == day]
    assert len(evening) == 6 and all(17 <= timezone.localtime(p.picked_up_at).hour < 20 for p in evening)
    assert all(noon + timedelta(hours=12) < p.picked_up_at < next_noon for p in late if p not in evening)
    unpaid = Order.objects.filter(campaign=campaign, payment_status=Order.PaymentStatus.UNPAID)
    assert sum(p.order.payment_status == Order.PaymentStatus.UNPAID for p in late) == 2
    for p in picked:
        assert p.handout.verified_at == p.picked_up_at
        assert p.order.status == Order.Status.PICKED_UP

    # The three latest unpaid joiners never came: 超时未取 at the reminder sweep's first run after 48 hours.
    never = sorted((p for p in parcels if p.state == Parcel.State.UNCOLLECTED), key=lambda p: p.order.seq)
    assert [p.order.seq for p in never] == sorted(unpaid.order_by("-seq").values_list("seq", flat=True)[:3])
    for p in never:
        due = p.at_pickup_at + timedelta(hours=48)
        assert due <= p.state_changed_at < due + timedelta(minutes=10)
        assert timezone.localtime(p.state_changed_at).minute % 10 == 0
        assert p.state_changed_at <= timezone.now()
        assert p.picked_up_at is None and p.handout.verified_at is None
        assert p.order.status == Order.Status.READY

    # The leader verified at her shop and the north gate, 李阿姨 at 3栋 in the mornings.
    assert dict(Verification.objects.values_list("by__nickname").annotate(n=Count("pk"))) == {
        "阳光花园-陈姐": 129,
        "李阿姨": 78,
    }
    assert not Verification.objects.filter(undone_at__isnull=False).exists()
    for v in Verification.objects.select_related("by", "handout__pickup_point"):
        at_3 = v.handout.pickup_point.name == "阳光花园3栋架空层" and v.at < noon
        assert v.by.nickname == ("李阿姨" if at_3 else "阳光花园-陈姐")

    # 王姐 collected hers in the morning at 陈姐's shop.
    wang = parcels.get(order__user__phone=demo.DEMO_MEMBER_PHONE)
    assert wang.state == Parcel.State.PICKED_UP and wang.pickup_point.name == "阳光花园南门·陈姐便利店"
    assert _at(day, 8) <= wang.picked_up_at <= noon


def test_every_notice_was_delivered_back_then_and_no_text_reached_the_gateway(settings):
    from tests import sms_fakes

    settings.SMS_PROVIDER = "tests.sms_fakes.RecordingSMSProvider"
    sms_fakes.sent.clear()
    # Seeded again tomorrow, the story moves a day and is told again, every step with this gateway listening.
    later = timezone.now() + timedelta(days=1)
    demo.seed_demo(now=later)
    day = _delivery_day()

    assert sms_fakes.sent == []
    assert list(
        Notice.objects.order_by("state", "channel")
        .values_list("state", "channel", "status")
        .annotate(n=Count("pk"))
        .order_by("state", "channel")
    ) == [
        ("at_pickup", "inbox", "sent", 210),
        ("at_pickup", "leader_copy", "sent", 3),
        ("at_pickup", "sms", "sent", 210),
        ("picked_up", "inbox", "sent", 207),
        ("shipped", "inbox", "sent", 210),
        ("shortage", "inbox", "sent", 3),
        ("shortage", "sms", "sent", 3),
        ("uncollected", "inbox", "sent", 3),
        ("uncollected", "sms", "sent", 3),
    ]
    # Each went out when its step happened.
    assert not Notice.objects.exclude(sent_at=F("created_at")).exists()
    for notice in Notice.objects.filter(state="picked_up").select_related("order__parcel"):
        assert notice.created_at == notice.order.parcel.picked_up_at
    # 王姐's inbox tells her order's night and morning, dated then.
    wang = User.objects.get(phone=demo.DEMO_MEMBER_PHONE)
    parcel = Parcel.objects.get(order__user=wang)
    inbox = [(n.title, n.created_at) for n in Notification.objects.filter(user=wang).order_by("created_at")]
    assert inbox == [
        ("订单已发货", _at(day, 2, 40)),
        ("订单已到阳光花园南门·陈姐便利店，请取货", _at(day, 7, 16)),
        ("订单已取货", parcel.picked_up_at),
        # The NPS sweep's next 10-minute run after her pickup (demo.aftercare).
        ("关于您订单的一个小问题", _next_ten_minutes(parcel.picked_up_at)),
    ]
    # 陈姐 got the group copy of each of her points when the first van arrived there.
    leader = User.objects.get(nickname="阳光花园-陈姐")
    copies = [
        (n.body.split("，")[0], n.created_at)
        for n in Notification.objects.filter(user=leader, title__startswith="请转发到微信群").order_by("created_at")
    ]
    assert copies == [
        ("阳光花园北门菜鸟驿站：今天 06:04 到货 23 份", _at(day, 6, 4)),
        ("阳光花园南门·陈姐便利店：今天 06:16 到货 49 份", _at(day, 6, 16)),
        ("阳光花园3栋架空层：今天 06:28 到货 47 份", _at(day, 6, 28)),
    ]
    # Every inbox message is dated when its notice was queued, none when the demo was seeded; the after-care's
    # (demo.aftercare) when its step happened: an NPS question when its survey was made.
    queued = set(Notice.objects.values_list("created_at", flat=True))
    aftercare = Notification.objects.filter(link__regex=r"^/m/(aftersales|feedback)/")
    assert set(Notification.objects.difference(aftercare).values_list("created_at", flat=True)) <= queued
    asked = dict(NpsSurvey.objects.values_list("pk", "created_at"))
    for link, at in aftercare.filter(link__startswith="/m/feedback/nps/").values_list("link", "created_at"):
        assert at == asked[int(link.rstrip("/").rsplit("/", 1)[1])]
    assert aftercare.count() == 207 + 9 + 6 and not aftercare.filter(created_at__gt=later).exists()


def test_the_delivery_is_in_the_event_stream_at_the_moments_it_happened(seeded):
    fulfilment = Event.objects.filter(name__startswith="fulfillment.")

    assert dict(fulfilment.values_list("name").annotate(n=Count("pk"))) == {
        "fulfillment.day_split": 2,  # once the jielong closed, again after the farm's confirmation
        "fulfillment.supply_confirmed": 5,
        "fulfillment.shortage_recorded": 3,
        "fulfillment.parcels_moved": 10,
        "fulfillment.order_picked_up": 207,
        "fulfillment.order_uncollected": 3,
    }
    moves = BatchMove.objects.in_bulk()
    for event in fulfilment.filter(name="fulfillment.parcels_moved"):
        assert event.occurred_at == moves[event.properties["batch_move_id"]].at
    picked = dict(Parcel.objects.values_list("order_id", "picked_up_at"))
    for event in fulfilment.filter(name="fulfillment.order_picked_up"):
        assert event.occurred_at == picked[event.properties["order_id"]]
        assert event.user_id is not None
    changed = dict(Parcel.objects.values_list("order_id", "state_changed_at"))
    for event in fulfilment.filter(name="fulfillment.order_uncollected"):
        assert event.occurred_at == changed[event.properties["order_id"]]
    assert not Event.objects.filter(occurred_at__gt=timezone.now()).exists()


def test_told_before_the_reminders_are_due_the_three_wait_and_a_later_run_catches_up():
    tomorrow = timezone.localdate() + timedelta(days=1)

    # Seeded at 05:00 tomorrow: the story moves a day, and the three arrived less than 48 hours ago.
    demo.seed_demo(now=_at(tomorrow, 5))

    assert Parcel.objects.filter(state=Parcel.State.AT_PICKUP).count() == 3
    assert not Parcel.objects.filter(state=Parcel.State.UNCOLLECTED).exists()
    assert not Notice.objects.filter(state="uncollected").exists()
    assert not Notice.objects.exclude(status=Notice.Status.SENT).exists()

    # Seeded again at 09:00 (no worker ran the sweep meanwhile): the sweep's runs since are caught up on.
    demo.seed_demo(now=_at(tomorrow, 9))

    assert _rows() == EXPECTED_ROWS
    for parcel in Parcel.objects.filter(state=Parcel.State.UNCOLLECTED):
        due = parcel.at_pickup_at + timedelta(hours=48)
        assert due <= parcel.state_changed_at < min(due + timedelta(minutes=10), _at(tomorrow, 9))


def test_the_running_worker_marks_the_three_when_they_come_due():
    from fulfillment.pickup import parcels_mark_uncollected

    tomorrow = timezone.localdate() + timedelta(days=1)
    demo.seed_demo(now=_at(tomorrow, 5))

    assert parcels_mark_uncollected(now=_at(tomorrow, 8)) == 3
    assert Notice.objects.filter(state="uncollected", status=Notice.Status.PENDING).count() == 6  # inbox + SMS


def test_the_delivery_day_pages_tell_the_story(seeded, client):
    brand, day = _main().brand, _delivery_day()
    wang = User.objects.get(phone=demo.DEMO_MEMBER_PHONE)
    order = Order.objects.get(campaign=_past_campaign(), user=wang)
    south = PickupPoint.objects.get(name="阳光花园南门·陈姐便利店")

    client.force_login(User.objects.get(username=demo.OPERATOR_USERNAME))
    page = client.get(f"/ops/fulfilment/{brand.pk}/{day.isoformat()}/").content.decode()
    assert "陈师傅" in page and "李阿姨" in page
    purchase = client.get("/ops/fulfilment/purchase/", {"date": day.isoformat()}).content.decode()
    assert "老李有机农场" in purchase

    client.force_login(wang)
    member = client.get(reverse("jielong:member-order", args=[order.pk])).content.decode()
    assert "已取货" in member

    client.force_login(User.objects.get(nickname="阳光花园-陈姐"))
    counter = client.get(reverse("fulfillment:pickup-point", args=[south.pk]), {"date": day.isoformat()})
    assert counter.status_code == 200
    assert order.parcel.handout.code in counter.content.decode()


def test_the_upcoming_jielong_enters_the_live_purchase_summary_as_joins_arrive(
    seeded, monkeypatch, django_capture_on_commit_callbacks
):
    from fulfillment import purchase_subscribers
    from fulfillment.purchase import purchase_summary
    from jielong.services.campaigns import campaign_open
    from jielong.services.joins import order_join

    pushed = []
    monkeypatch.setattr(purchase_subscribers, "summary_changed", pushed.append)
    brand = _main().brand
    upcoming = Campaign.objects.get(live_session=_upcoming())
    eggs = upcoming.items.get(sku__code="LL-EGG-30")
    wang = User.objects.get(phone=demo.DEMO_MEMBER_PHONE)

    def ordered(code: str) -> tuple[int, int]:
        skus = purchase_summary(brand_id=brand.pk)["suppliers"][0]["skus"]
        row = next((s for s in skus if s["code"] == code), None)
        return (row["open"], row["formed"]) if row else (0, 0)

    assert ordered("LL-EGG-30") == (0, 0)  # the past day is delivered; the next jielong is a draft
    with django_capture_on_commit_callbacks(execute=True):
        campaign_open(campaign=upcoming)
    with django_capture_on_commit_callbacks(execute=True):
        order_join(campaign_id=upcoming.pk, user=wang, quantities={eggs.pk: 2})

    assert ordered("LL-EGG-30") == (2, 0)
    assert pushed and set(pushed) == {brand.pk}


# --- after-care (demo.aftercare): the ledger, after-sales, NPS and reviews --------------------------------------


def test_the_money_ledger_reconciles_to_the_fen_with_orders_and_refunds(seeded):
    campaign = _past_campaign()
    paid = Order.objects.filter(campaign=campaign, payment_status=Order.PaymentStatus.PAID)
    payments = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT, order__campaign=campaign)
    refunds = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND)
    refunded_requests = Request.objects.filter(resolution=Request.Resolution.REFUND)

    assert ledger_reconcile() == []
    assert paid.count() == 205
    assert payments.aggregate(s=Sum("amount_fen"))["s"] == paid.aggregate(s=Sum("total_fen"))["s"]
    # Each payment is dated when the member paid, not when the seed ran.
    paid_at = dict(paid.values_list("pk", "paid_at"))
    assert all(at == paid_at[order_id] for order_id, at in payments.values_list("order_id", "created_at"))
    assert not payments.exclude(reason="").exists()
    refunded = refunds.aggregate(s=Sum("amount_fen"))["s"]
    assert refunded == refunded_requests.aggregate(s=Sum("resolved_fen"))["s"] == 2 * 990 + FLAGGED_REFUNDED_FEN
    assert refunded == Order.objects.aggregate(s=Sum("refunded_fen"))["s"]
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CREDIT).exists()


def test_two_help_sellers_earned_commissions_and_one_statement_is_settled(seeded, client):
    from demo.fission import BOTH, KOC_ORDERS, LEADER_ORDERS, LEADER_RATE_BP, SELLER_RATE_BP
    from fission.models import Attribution, HelpSeller, Statement, Touch

    campaign, kind = _past_campaign(), LedgerEntry.Kind
    sellers = {s.user.nickname: s for s in HelpSeller.objects.filter(campaign=campaign).select_related("user")}
    assert set(sellers) == {"朵朵妈妈", "翠湖-周姐"}
    koc = sellers["朵朵妈妈"].user
    attributed = Attribution.objects.filter(order__campaign=campaign).select_related("order")
    assert attributed.filter(help_seller=sellers["朵朵妈妈"]).count() == KOC_ORDERS
    assert attributed.filter(help_seller=sellers["翠湖-周姐"]).count() == LEADER_ORDERS
    # Each order went to the last link opened before it; some neighbours had opened both.
    for found in attributed:
        last = (
            Touch.objects.filter(user=found.order.user, campaign=campaign, at__lte=found.order.created_at)
            .order_by("-at")
            .first()
        )
        assert (last.help_seller_id, last.at) == (found.help_seller_id, found.touched_at)
    both = Touch.objects.filter(campaign=campaign).values("user").annotate(n=Count("help_seller", distinct=True))
    assert sum(1 for row in both if row["n"] == 2) == 2 * BOTH
    # Commissions were earned at each pickup on what was kept paid: the point leader's 3 % of every paid order
    # picked up, the help-seller's on theirs; refunds after a pickup took their share back.
    picked = dict(
        Parcel.objects.filter(order__campaign=campaign, state=Parcel.State.PICKED_UP).values_list(
            "order_id", "picked_up_at"
        )
    )
    paid_picked = set(Order.objects.filter(pk__in=picked).exclude(payment_status="unpaid").values_list("pk", flat=True))
    earned = LedgerEntry.objects.filter(order__campaign=campaign, kind=kind.COMMISSION)
    assert all(at == picked[order_id] for order_id, at in earned.values_list("order_id", "created_at"))
    assert set(earned.filter(key__startswith="commission:leader:").values_list("order_id", flat=True)) == paid_picked
    assert set(earned.filter(key__startswith="commission:hs:").values_list("order_id", flat=True)) == {
        a.order_id for a in attributed if a.order_id in paid_picked
    }
    for entry in earned.filter(key__startswith="commission:leader:").select_related("order_line")[:50]:
        line = entry.order_line
        assert abs(entry.amount_fen * 10000 - line.quantity * line.unit_price_fen * LEADER_RATE_BP) <= 10000 * 1
    for entry in earned.filter(payee=koc).select_related("order_line"):
        line = entry.order_line
        assert abs(entry.amount_fen * 10000 - line.quantity * line.unit_price_fen * SELLER_RATE_BP) <= 10000 * 1
    for refund in LedgerEntry.objects.filter(order__campaign=campaign, kind=kind.REFUND):
        before = earned.filter(order_line=refund.order_line, created_at__lt=refund.created_at)
        assert (
            before.exists()
            == LedgerEntry.objects.filter(kind=kind.CLAWBACK, key__startswith=f"clawback:{refund.pk}:").exists()
        )
    assert ledger_reconcile() == []
    # One statement: 朵朵妈妈's commissions of the delivery day, settled the next morning.
    statement = Statement.objects.get()
    lines = LedgerEntry.objects.filter(statement_line__statement=statement)
    day = _delivery_day()
    assert (statement.payee, statement.period_start, statement.period_end) == (koc, day, day)
    assert clock.localtime(statement.settled_at).date() == day + timedelta(days=1)
    assert statement.total_fen == sum(e.amount_fen if e.kind == kind.COMMISSION else -e.amount_fen for e in lines) > 0
    assert {e.pk for e in lines} == {
        e.pk for e in LedgerEntry.objects.filter(payee=koc) if clock.localtime(e.created_at).date() == day
    }
    # The stream says so; the operator and the help-seller see it.
    names = dict(Event.objects.filter(name__startswith="fission.").values_list("name").annotate(n=Count("pk")))
    assert names["fission.help_seller_invited"] == 2 and names["fission.commission_settled"] == 1
    assert names["fission.order_attributed"] == KOC_ORDERS + LEADER_ORDERS
    assert names["fission.commission_accrued"] == earned.count()
    client.force_login(User.objects.get(username=demo.OPERATOR_USERNAME))
    page = client.get(reverse("fission:ops-overview")).content.decode()
    assert "朵朵妈妈" in page and "翠湖-周姐" in page and "阳光花园-陈姐" in page
    client.force_login(koc)
    page = client.get(reverse("fission:member-earnings")).content.decode()
    assert campaign.title in page and reverse("fission:member-statement", args=[statement.pk]) in page


def test_after_sales_a_shortage_refund_a_replacement_a_rejection_and_one_waiting(seeded, client):
    campaign = _past_campaign()
    # The flagged neighbour's requests are demo.blacklist's story (test_one_neighbour_is_flagged_...).
    requests = Request.objects.filter(order__campaign=campaign).exclude(user__flags__isnull=False)
    by_outcome = sorted(requests.values_list("source", "reason", "status", "resolution", "resolved_fen"))
    assert by_outcome == [
        ("member", "not_received", "rejected", "rejected", 0),
        ("member", "quality", "open", "", 0),
        ("member", "quality", "resolved", "replacement", 0),
        ("shortage", "shortage", "rejected", "rejected", 0),  # #201 was never paid: nothing to give back
        ("shortage", "shortage", "resolved", "refund", 990),
        ("shortage", "shortage", "resolved", "refund", 990),
    ]
    # The lettuce 老李 could not supply: the sweep opened one request per short line, all 4 units.
    shortage = requests.filter(source=Request.Source.SHORTAGE)
    assert sorted(shortage.values_list("order__seq", flat=True)) == [199, 201, 210]
    assert sum(line.quantity for r in shortage for line in r.lines.all()) == 4
    assert set(Shortage.objects.values_list("order_line_id", flat=True)) == set(
        shortage.values_list("shortage_line_id", flat=True)
    )
    tomato = requests.get(resolution=Request.Resolution.REPLACEMENT)
    assert tomato.photos.count() == 1 and tomato.messages.filter(is_staff=True, kind="message").exists()
    assert tomato.opened_at > tomato.order.parcel.picked_up_at
    claim = requests.get(reason=Request.Reason.NOT_RECEIVED)
    assert "核销记录" in claim.resolution_note
    # Every step happened in the past, and the one still waiting is inside its promised time.
    now = timezone.now()
    assert not requests.filter(opened_at__gt=now).exists()
    waiting = requests.get(status=Request.Status.OPEN)
    assert not waiting.is_overdue(at=now) and waiting.photos.count() == 1
    assert waiting.order.user.phone != demo.DEMO_MEMBER_PHONE

    client.force_login(User.objects.get(nickname="阳光花园-陈姐"))
    queue = client.get(reverse("aftersales:leader-queue"))
    assert queue.status_code == 200
    assert reverse("aftersales:leader-request", args=[waiting.pk]) in queue.content.decode()


def test_nps_for_the_campaign_is_95(seeded, client):
    from feedback.nps import answered, nps_by, nps_total, reasons_by_band

    brand, campaign = _main().brand, _past_campaign()
    surveys = NpsSurvey.objects.filter(campaign=campaign)
    row = next(r for r in nps_by(answered(brand=brand), group="campaign") if r.key == campaign.pk)

    assert (row.answers, row.promoters, row.passives, row.detractors) == (40, 38, 2, 0)
    assert row.nps == 95 == round(100 * (38 - 0) / 40)
    assert nps_total(answered(brand=brand)).nps == 95
    # Everyone who picked up was asked, once, after their pickup; the answers came after the question.
    picked = Parcel.objects.filter(order__campaign=campaign, state=Parcel.State.PICKED_UP)
    assert set(surveys.values_list("order_id", flat=True)) == set(picked.values_list("pk", flat=True))
    assert not surveys.filter(notified_at__isnull=True).exists()
    for survey in surveys.filter(answered_at__isnull=False).select_related("order__parcel"):
        assert survey.order.parcel.picked_up_at < survey.created_at < survey.answered_at < timezone.now()
    reasons = reasons_by_band(answered(brand=brand))
    assert len(reasons["promoter"]) == 5 and len(reasons["passive"]) == 1 and not reasons["detractor"]

    client.force_login(User.objects.get(username=demo.OPERATOR_USERNAME))
    page = client.get(reverse("feedback:ops-nps")).content.decode()
    assert "95" in page and "生菜脆甜" in page


def test_reviews_with_photos_are_social_proof_and_the_leaders_copy(seeded, client):
    from community.models import FeedItem
    from feedback.selectors import reviews_for_campaign

    campaign = _past_campaign()
    reviews = Review.objects.filter(campaign=campaign)
    assert reviews.count() == 12
    assert reviews.filter(photo_count__gt=0).count() == 5 and ReviewPhoto.objects.count() == 7
    assert reviews.exclude(text="").count() == 8
    assert reviews.filter(text="", photo_count=0).count() == 4
    for review in reviews.select_related("order__parcel"):
        assert review.order.parcel.picked_up_at < review.created_at < timezone.now()
    for photo in ReviewPhoto.objects.all():
        assert (photo.width, photo.height) == (640, 480) and photo.image.name.endswith(".jpg")
    # Words or photos go to the community's feed; a bare star rating does not.
    assert FeedItem.objects.filter(kind=FeedItem.Kind.REVIEW).count() == 8
    # A review speaks of what the neighbour bought, and its photos show it.
    for start, code in (("老李家的生菜", "LL-LET-400"), ("番茄沙沙的", "LL-TOM-500"), ("黄瓜很嫩", "LL-CUC-500")):
        assert reviews.get(text__startswith=start).order.lines.filter(item__sku__code=code).exists()
    shown = reviews_for_campaign(campaign=campaign)
    assert shown.reviews[0].photo_count > 0

    wang = User.objects.get(phone=demo.DEMO_MEMBER_PHONE)
    assert not reviews.filter(user=wang).exists()  # left for whoever tries the demo as 王姐

    client.force_login(User.objects.get(nickname="阳光花园-陈姐"))
    page = client.get(reverse("feedback:leader-reviews")).content.decode()
    assert "老李家的生菜真的脆" in page


def test_after_care_on_a_later_day_is_told_again_and_still_reconciles():
    now = timezone.now()
    demo.seed_demo(now=now + timedelta(days=1))

    assert _rows() == EXPECTED_ROWS
    assert ledger_reconcile() == []
    day = _delivery_day()
    assert timezone.localdate(Review.objects.earliest("created_at").created_at) >= day
    assert (
        Event.objects.filter(properties__seed="demo.aftercare", occurred_at__lt=_at(day, 0) - timedelta(days=1)).count()
        == 0
    )


# --- the refund-abuse blacklist (demo.blacklist) ----------------------------------------------------------------


def test_one_neighbour_is_flagged_with_their_record_and_is_also_among_the_suggestions(seeded, client):
    from aftersales.selectors import flag_suggestions
    from community.models import Flag, FlagLogEntry

    campaign = _past_campaign()
    flag = Flag.objects.select_related("user", "flagged_by").get()
    assert flag.is_active and flag.flagged_by.username == demo.OPERATOR_USERNAME
    assert flag.user.phone != demo.DEMO_MEMBER_PHONE
    requests = Request.objects.filter(user=flag.user).order_by("opened_at")
    assert list(requests.values_list("reason", "resolution")) == [
        ("quality", "refund"),
        ("quality", "refund"),
        ("not_received", "rejected"),
    ]
    assert flag.flagged_at > requests.last().resolved_at and flag.flagged_at < timezone.now()
    paid = Order.objects.get(campaign=campaign, user=flag.user).total_fen
    assert (flag.evidence["requests"], flag.evidence["refunded_fen"], flag.evidence["paid_fen"]) == (
        3,
        FLAGGED_REFUNDED_FEN,
        paid,
    )
    assert flag.evidence["signals"] == ["refund_rate"]
    assert list(FlagLogEntry.objects.values_list("action", "user_id")) == [("flagged", flag.user_id)]
    assert Event.objects.get(name="community.person_flagged").occurred_at == flag.flagged_at
    assert [(s.user, s.is_flagged) for s in flag_suggestions(brand_id=campaign.brand_id)] == [(flag.user, True)]

    client.force_login(User.objects.get(username=demo.OPERATOR_USERNAME))
    assert flag.reason in client.get(reverse("aftersales:ops-blacklist")).content.decode()


def test_the_operator_has_three_saved_segments_counted_live(seeded, client):
    from cdp import segments
    from cdp.models import Segment

    saved = {s.name: s for s in Segment.objects.all()}
    assert set(saved) == {"看了直播还没下单", "KOC 分前20名", "本月经推荐入群的新成员"}
    top = saved["KOC 分前20名"]
    assert segments.count(brand_id=top.brand_id, rule=top.rule) == 20
    assert Event.objects.filter(name="cdp.segment_saved").count() == 3  # a re-run saves none again
    client.force_login(User.objects.get(username=demo.OPERATOR_USERNAME))
    assert "看了直播还没下单" in client.get(reverse("cdp:segments")).content.decode()
