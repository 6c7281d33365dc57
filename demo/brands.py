"""A second, small brand on the same installation: 邻家鲜, with its own operator (cross-brand isolation,
issue 16 item 5).

One community (邻家鲜·梧桐里群) with a pickup point, its leader and a few neighbours, one product from its
own orchard, and one past live with its jielong — a week before 源味集's, so the installation-wide dashboard
still opens on 源味集's last live. Its operator ``ops_linjia`` belongs to the brand (``User.brand``): signed
in, the console shows 邻家鲜 only, and every URL of 源味集's answers 404. The demo's own operator 林峰 belongs to
源味集 (demo.story) the same way, so his dashboards show the story's figures as before; staff with no brand
(the usual one-brand install, and the tests' operators) see every brand.

Idempotent: everything is looked up by a natural key and updated in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from catalogue.models import SKU, Product, Supplier
from community.models import Brand, Community, Invitation, Membership, PickupPoint, User
from community.phones import normalize_phone
from demo.community import invitation_code
from demo.history import History
from demo.history import forget as forget_history
from jielong.ledger import payment_record
from jielong.models import Campaign, CampaignItem, Order, OrderLine
from livestream.models import LiveSeries, LiveSession, Reservation, WatchRecord

BRAND_NAME = "邻家鲜"
OPERATOR_USERNAME = "ops_linjia"
OPERATOR_NICKNAME = "周敏"
COMMUNITY_SLUG = "linjia-wutong"
COMMUNITY_NAME = "邻家鲜·梧桐里群"
SERIES_TITLE = "《周末鲜果》"
SESSION_TITLE = "赣南脐橙开箱"
CAMPAIGN_TITLE = "赣南脐橙 10斤装接龙"
SKU_CODE = "LJX-QC-10"
PRICE_FEN = 5990
PAST_DAY = -10  # a week before 源味集's past live (day -3)
# Leader first; phones far from 源味集's (which start at +86 138 0013 8000).
NEIGHBOURS = ("梧桐里·陈姐", "梧桐里·小杜", "梧桐里·阿强", "梧桐里·刘阿姨", "梧桐里·Coco", "梧桐里·老吴")
BUYERS = 4  # the first four neighbours bought in the jielong; five watched the live


def _phone(index: int) -> str:
    return normalize_phone(f"+86138{900000 + index:08d}")


def _upsert(model, lookup: dict, values: dict):
    obj, _created = model.objects.update_or_create(**lookup, defaults=values)
    return obj


@dataclass(frozen=True)
class SecondBrand:
    brand: Brand
    operator: User
    community: Community
    session: LiveSession
    campaign: Campaign

    def describe(self) -> str:
        return (
            f"{self.brand.name}: {self.community.name}, {len(NEIGHBOURS)} members, "
            f"past live {SESSION_TITLE}, {BUYERS} orders (operator {OPERATOR_USERNAME} sees this brand only)"
        )


STREAM_MARK = "demo.brands"


def seed_second_brand(*, at, password: str) -> SecondBrand:
    """Plant 邻家鲜. ``at(day, hour, minute)`` is the story's clock; ``password`` the staff's shared hash."""
    brand = _upsert(Brand, {"name": BRAND_NAME}, {"slogan": "邻里之间，新鲜到家"})
    operator = _upsert(
        User,
        {"username": OPERATOR_USERNAME},
        # A brand's operator: the console of their brand; no admin site (it is not narrowed to a brand).
        {
            "nickname": OPERATOR_NICKNAME,
            "role": User.Role.OPERATOR,
            "is_staff": False,
            "is_superuser": False,
            "brand": brand,
            "password": password,
        },
    )
    community = _upsert(
        Community,
        {"slug": COMMUNITY_SLUG},
        {
            "brand": brand,
            "name": COMMUNITY_NAME,
            "positioning": "梧桐里小区的邻居们，一起买当季好水果",
            "is_active": True,
        },
    )
    people = [
        _upsert(User, {"phone": _phone(i)}, {"nickname": name, "role": User.Role.MEMBER})
        for i, name in enumerate(NEIGHBOURS)
    ]
    leader = people[0]
    point = _upsert(
        PickupPoint,
        {"community": community, "name": "梧桐里3号楼门岗"},
        {"address": "梧桐里小区3号楼", "opening_hours": "每天 8:00-21:00", "leader": leader},
    )
    for i, user in enumerate(people):
        _upsert(
            Membership,
            {"user": user, "community": community},
            {
                "role": Membership.Role.LEADER if i == 0 else Membership.Role.MEMBER,
                "status": Membership.Status.ACTIVE,
                "default_pickup_point": point,
                "joined_at": at(PAST_DAY - 30, 10),  # neighbours for a month before the live
            },
        )
    # The leader's own invitation code, as demo.community.seed_invitations gives every leader (which, on a
    # re-seed, finds this community and would otherwise add or change it: a re-seed must change nothing).
    Invitation.objects.update_or_create(
        community=community,
        inviter=leader,
        is_personal=True,
        defaults={
            "code": invitation_code(community.slug, leader.phone),
            "uses": 0,
            "created_at": at(PAST_DAY - 30, 10),
        },
    )

    supplier = _upsert(
        Supplier, {"brand": brand, "name": "赣南果园合作社"}, {"region": "江西赣州", "contact_name": "钟师傅"}
    )
    product = _upsert(
        Product,
        {"supplier": supplier, "name": "赣南脐橙"},
        {"description": "树上熟，现摘现发", "storage": Product.StorageType.AMBIENT},
    )
    sku = _upsert(
        SKU,
        {"code": SKU_CODE},
        {
            "product": product,
            "spec": {"规格": "10斤/箱"},
            "unit": "箱",
            "list_price_fen": 6990,
            "stock": 40,
            "zone": Product.StorageType.AMBIENT,
            "pack_unit": "托",
            "units_per_pack": 6,
        },
    )

    series = _upsert(LiveSeries, {"brand": brand, "title": SERIES_TITLE}, {"description": "周末的当季鲜果"})
    started: datetime = at(PAST_DAY, 19, 30)
    ended = started + timedelta(minutes=45)
    session = _upsert(
        LiveSession,
        {"series": series, "title": SESSION_TITLE},
        {
            "status": LiveSession.Status.ENDED,
            "scheduled_start": started,
            "scheduled_end": ended,
            "started_at": started,
            "ended_at": ended,
            "peak_online": 5,
        },
    )
    session.communities.set([community])
    session.hosts.set([operator])
    for i, user in enumerate(people[:5]):
        Reservation.objects.get_or_create(session=session, user=user)
        _upsert(
            WatchRecord,
            {"session": session, "user": user},
            {
                "first_seen_at": started + timedelta(minutes=i),
                "last_seen_at": ended - timedelta(minutes=i),
                "seconds_watched": (45 - 2 * i) * 60,
            },
        )

    campaign = _upsert(
        Campaign,
        {"brand": brand, "title": CAMPAIGN_TITLE},
        {
            "status": Campaign.Status.COMPLETED,
            "live_session": session,
            "group_threshold": 3,
            "opens_at": started + timedelta(minutes=20),
            "closes_at": ended + timedelta(hours=12),
            "formed_at": started + timedelta(minutes=31),
            "delivery_note": "周日上午到梧桐里3号楼门岗",
            "joined_count": BUYERS,
            "next_seq": BUYERS + 1,
        },
    )
    campaign.communities.set([community])
    item = _upsert(CampaignItem, {"campaign": campaign, "sku": sku}, {"price_fen": PRICE_FEN, "per_member_limit": 3})
    orders = []
    for seq, user in enumerate(people[:BUYERS], start=1):
        quantity = 1 + seq % 2
        order = _upsert(
            Order,
            {"campaign": campaign, "seq": seq},
            {
                "user": user,
                "community": community,
                "pickup_point": point,
                "status": Order.Status.PICKED_UP,
                "payment_status": Order.PaymentStatus.PAID,
                "total_fen": PRICE_FEN * quantity,
                "created_at": started + timedelta(minutes=21 + seq),
                "paid_at": started + timedelta(minutes=22 + seq),
            },
        )
        _upsert(OrderLine, {"order": order, "item": item}, {"quantity": quantity, "unit_price_fen": PRICE_FEN})
        payment_record(order=order, by=None)  # the money ledger has each paid order's payment (idempotent)
        orders.append(order)
    # Its stream, as the services would have written it (the boards' rollups fold it; demo.history).
    forget_history(STREAM_MARK)
    history = History(mark=STREAM_MARK)
    history.session_started(live_session_id=session.pk, host_id=operator.pk, at=started)
    for i, user in enumerate(people[:5]):
        history.entered(live_session_id=session.pk, user_id=user.pk, at=started + timedelta(minutes=i))
    history.session_ended(live_session_id=session.pk, host_id=operator.pk, at=ended)
    history.campaign_opened(campaign_id=campaign.pk, live_session_id=session.pk, at=campaign.opens_at)
    history.orders(orders, paid_by=operator.pk)
    history.group_formed(
        campaign_id=campaign.pk, joined=campaign.group_threshold, at=campaign.formed_at, live_session_id=session.pk
    )
    history.campaign_closed(campaign_id=campaign.pk, joined=BUYERS, formed=True, at=campaign.closes_at)
    history.write()
    return SecondBrand(brand=brand, operator=operator, community=community, session=session, campaign=campaign)
