"""The 源味集 demo data set: the story's numbers, exactly, and the same after every re-run."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Avg, Count, F, Sum
from django.urls import reverse
from django.utils import timezone

from analytics.models import Event
from catalogue.models import SKU, Product, Supplier
from community.models import Community, Membership, PickupPoint, User
from community.phones import normalize_phone
from demo import story as demo
from fulfillment.models import (
    CampaignDelivery,
    Handout,
    HandoutLine,
    LoadLine,
    Parcel,
    PickLine,
    PointVerifier,
    Route,
    RouteStop,
    Warehouse,
)
from jielong.models import Campaign, CampaignItem, Order, OrderLine
from livestream.models import LiveSeries, LiveSession, Reservation, WatchRecord
from tests import factories as f

pytestmark = pytest.mark.django_db

# Rows per table after a seed: 402 members + 3 staff; 300 + 80 + 45 memberships; 240 + 180 reservations.
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
    "order_lines": 543,
    "events": 1330,
    "gmv_fen": 1459930,
    # fulfilment: one warehouse, a cold-chain and an ambient van at the 7 points, a 核销员, the past day split
    "warehouses": 1,
    "routes": 2,
    "route_stops": 14,
    "verifiers": 1,
    "deliveries": 1,
    "pick_lines": 5,  # the past jielong's 5 SKUs
    "load_lines": 15,  # 5 SKUs at each of 阳光花园's 3 points
    "handouts": 210,  # one member, one order, one hand-out
    "handout_lines": 543,
    "parcels": 210,
}


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
        "events": Event.objects.count(),
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
    }


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded() -> str:
    return _seed()


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

    demo.seed_demo(now=now + timedelta(days=1))

    assert _rows() == EXPECTED_ROWS
    assert _upcoming().scheduled_start == start + timedelta(days=1)
    assert _past().ended_at > now + timedelta(days=1) - timedelta(days=4)


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
        for c in Community.objects.all()
    }

    assert counts == {"yangguang": (300, 1, 3), "cuihu": (80, 1, 2), "binjiang": (45, 1, 2)}
    assert User.objects.annotate(n=Count("memberships")).filter(n=2).count() == 23


def test_members_have_valid_mainland_phones_and_sign_in_by_code_only(seeded):
    members = User.objects.filter(role=User.Role.MEMBER)
    phones = list(members.values_list("phone", flat=True))

    assert len(phones) == 402
    assert all(normalize_phone(p) == p and p.startswith("+86138") for p in phones)
    assert not any(u.has_usable_password() for u in members)
    assert members.filter(nickname="").count() == 0
    assert members.values("nickname").distinct().count() == 402
    wang = User.objects.get(phone=demo.DEMO_MEMBER_PHONE)
    assert wang.nickname == "王姐"
    assert wang.memberships.get().community == _main()


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
    assert campaign.closes_at.date() > campaign.opens_at.date()
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
    names = dict(Event.objects.values_list("name").annotate(n=Count("pk")))

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
    }
    entered = Event.objects.filter(name="livestream.entered", live_session_id=past.pk)
    assert entered.values("user").distinct().count() == 270
    assert not entered.exclude(occurred_at__range=(past.started_at, past.ended_at)).exists()
    joined = Event.objects.filter(name="jielong.order_joined", campaign_id=campaign.pk)
    assert sum(e.properties["total_fen"] for e in joined) == EXPECTED_ROWS["gmv_fen"]
    assert sum(e.properties["is_perk"] for e in joined) == 50
    assert Event.objects.get(name="jielong.group_formed").occurred_at == campaign.formed_at
    assert not Event.objects.filter(occurred_at__gt=timezone.now()).exists()


def test_reseeding_leaves_real_activity_alone(seeded):
    # A member reserved in the demo and the app recorded it: a re-seed must not erase that.
    newcomer = f.member()
    Reservation.objects.create(session=_upcoming(), user=newcomer)
    Event.objects.create(name="livestream.reserved", user=newcomer, live_session_id=_upcoming().pk)

    _seed()

    assert Reservation.objects.filter(session=_upcoming()).count() == 181
    assert Event.objects.filter(name="livestream.reserved").count() == 421


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

    zones = dict(SKU.objects.values_list("code", "zone"))
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
    assert sum(HandoutLine.objects.values_list("quantity", flat=True)) == ordered
    assert not LoadLine.objects.filter(route__isnull=True).exists()
    for line in LoadLine.objects.select_related("sku"):
        assert line.route_id == (dry.pk if line.sku.zone == "ambient" else cold.pk)
    day = selectors.delivery_day(brand.pk, delivery.delivery_date)
    assert [c.pk for c in day.campaigns] == [campaign.pk]
    main_points = set(PickupPoint.objects.filter(community=_main()).values_list("pk", flat=True))
    assert set(day.point_ids) == main_points
    assert (set(day.route_ids), day.supplier_ids) == ({cold.pk, dry.pk}, (Supplier.objects.get().pk,))
    assert not day.needs_split and day.unrouted_point_ids == () and day.orders == 210

    client.force_login(User.objects.get(username=demo.OPERATOR_USERNAME))
    page = client.get(f"/ops/fulfilment/{brand.pk}/{delivery.delivery_date.isoformat()}/").content.decode()
    assert campaign.title in page
    assert (
        f"/ops/fulfilment/{brand.pk}/{delivery.delivery_date.isoformat()}/"
        in client.get("/ops/fulfilment/").content.decode()
    )
