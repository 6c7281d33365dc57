"""The one world the authorization matrix asks every URL about.

Brand A (源味集) has two communities (``a1``, ``a2``), each with a pickup point and a leader; a scheduled live
session with its host and assistant, and a second session with another host; an open jielong sold in both
communities through a help-seller, and a formed one delivered tomorrow (split, so the member has a parcel and
a pickup code) with a picked-up order, its review, an NPS survey and an after-sales request; a warehouse and a
route (with its driver's link), a supplier with a live and a revoked link, a 核销员 at ``a1``'s point, a
segment, a flag, a clip, a commission statement. Brand B (山野集) has its own operator, community, point,
supplier, campaign and session. Every name of brand A carries ``ZQA`` so a page can be searched for brand A's
rows (``200-A`` in the matrix: brand B's operator sees the page, without any of them).

``build()`` returns ``World``: ``users`` by role, and ``values`` by the names the matrix's ``args`` use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db import models as models_

from aftersales.models import Request, RequestLine
from api.scopes import SCOPES
from api.tokens import token_create
from catalogue.models import SKU, Product, ProductImage, Supplier
from cdp.models import Segment
from community.models import Column, Flag, Membership, Post, PostImage, User
from feedback.models import NpsSurvey, Review
from fission.models import HelpSeller, Statement
from fulfillment.models import CampaignDelivery, Parcel, PointVerifier, Route, RouteStop, Warehouse
from fulfillment.pickup import verify_pickup
from fulfillment.split import split_day
from fulfillment.supplier_links import supplier_link_create, supplier_link_revoke
from fulfillment.tracking_driver import driver_token
from groupbuy import clock
from highlights.models import Clip
from jielong.models import Campaign, CampaignImage, CampaignItem, LedgerEntry, Order, OrderLine
from livestream.models import LiveSeries, LiveSession, Reservation, WarmupRound
from media.models import Destination, Recording
from media.services import stream_for
from privacy.models import DeletionRequest
from tests import factories as f
from webhooks.models import Delivery, Endpoint

# The marks end in "~", which no random token on a page (CSRF, share and signed links) ever holds: "A1Q" alone
# turned up inside a CSRF token once in a few thousand pages and failed a cell.
MARK = "ZQA~"  # in every name of brand A: brand B's operator must never read it
MARK_A1 = "A1Q~"  # and in every name of community a1's people and things: a2's leader must never read it

# The columns of the matrix, in order. ``link``: an anonymous browser holding brand A's live supplier and
# driver links (every other role holds the revoked link instead); ``token``: brand A's API token with every
# scope, ``token_noscope``: brand A's token with ``dashboard:read`` only, ``token_b``: brand B's token with every
# scope (each sent as ``Authorization: Bearer``, without a session).
ROLES = [
    "anon",
    "member",
    "member_other",
    "leader",
    "leader_other",
    "koc",
    "verifier",
    "seller",
    "host",
    "host_other",
    "assistant",
    "op",
    "op_b",
    "link",
    "token",
    "token_noscope",
    "token_b",
]


@dataclass
class World:
    users: dict[str, User | None]
    values: dict[str, object] = field(default_factory=dict)


def _campaign(*, brand, title: str, communities, status: str, **extra) -> tuple[Campaign, CampaignItem]:
    supplier = Supplier.objects.get_or_create(brand=brand, name=f"{title}农场")[0]
    product = Product.objects.create(supplier=supplier, name=f"{title}上海青")
    sku = SKU.objects.create(product=product, code=f"S{product.pk}", spec={"规格": "500g"}, list_price_fen=1990)
    SKU.objects.filter(pk=sku.pk).update(stock=1000)
    extra.setdefault("closes_at", clock.now() + timedelta(days=1))
    campaign = Campaign.objects.create(brand=brand, title=title, status=status, group_threshold=1, **extra)
    campaign.communities.set(communities)
    item = CampaignItem.objects.create(campaign=campaign, sku=sku, price_fen=1590, position=0, per_member_limit=10)
    return campaign, item


def _order(campaign: Campaign, item: CampaignItem, user: User, point, *, seq: int, **extra) -> Order:
    order = Order.objects.create(
        campaign=campaign,
        user=user,
        community=point.community,
        pickup_point=point,
        seq=seq,
        total_fen=item.price_fen * 2,
        created_at=clock.now() - timedelta(hours=3),
        **extra,
    )
    OrderLine.objects.create(order=order, item=item, quantity=2, unit_price_fen=item.price_fen)
    return order


def _stagger_ids() -> None:
    """Move every table's next id into a range of its own (table n jumps n × 100,000 ahead), so that a URL
    filled with the id of the wrong kind of object answers 404 instead of passing by a coincidence of
    small ids (a membership's id that happens to equal its user's)."""
    if connection.vendor != "postgresql":
        return
    models = sorted(apps.get_models(), key=lambda m: m._meta.db_table)
    with connection.cursor() as cursor:
        for n, model in enumerate(models, start=1):
            if not isinstance(model._meta.pk, models_.AutoField) or model._meta.proxy or not model._meta.managed:
                continue
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [model._meta.db_table, model._meta.pk.column])
            (sequence,) = cursor.fetchone()
            if sequence:
                cursor.execute("SELECT setval(%s, nextval(%s) + %s)", [sequence, sequence, n * 100_000])


def build() -> World:
    _stagger_ids()
    now = clock.now()
    brand_a, brand_b = f.brand(f"{MARK}源味集"), f.brand("山野集")
    a1 = f.community(brand=brand_a, name=f"{MARK}{MARK_A1}阳光花园")
    a2 = f.community(brand=brand_a, name=f"{MARK}翠湖小区")
    b1 = f.community(brand=brand_b, name="山野一社")

    def person(name: str, community, role: str = Membership.Role.MEMBER, **extra) -> User:
        mark = {a1.pk: MARK + MARK_A1, a2.pk: MARK}.get(community.pk, "")
        user = f.member(nickname=f"{mark}{name}")
        f.membership(user=user, community=community, role=role, **extra)
        return user

    op = f.operator(brand=brand_a, nickname=f"{MARK}运营")
    op_b = f.operator(brand=brand_b, nickname="山野运营")
    host, host_other = f.host(brand=brand_a), f.host(brand=brand_a)
    assistant = f.assistant(brand=brand_a)
    leader = person("王团长", a1, Membership.Role.LEADER)
    leader_other = person("李团长", a2, Membership.Role.LEADER)
    pa1 = f.pickup_point(community=a1, name=f"{MARK}{MARK_A1}阳光花园3栋", leader=leader)
    pa2 = f.pickup_point(community=a2, name=f"{MARK}翠湖门卫", leader=leader_other)
    pb1 = f.pickup_point(community=b1, name="山野门卫")
    member = person("邻居甲", a1, default_pickup_point=pa1)
    member_other = person("邻居乙", a2, default_pickup_point=pa2)
    koc = person("达人", a1, Membership.Role.KOC, default_pickup_point=pa1)
    verifier = person("核销员", a1, default_pickup_point=pa1)
    seller = person("帮卖", a2, default_pickup_point=pa2)
    flagged = person("被标记", a1, default_pickup_point=pa1)
    member_b = person("山野邻居", b1, default_pickup_point=pb1)
    PointVerifier.objects.create(pickup_point=pa1, user=verifier, added_by=op, added_at=now)
    Flag.objects.create(brand=brand_a, user=flagged, reason="退款过多", flagged_by=op, flagged_at=now)

    # --- live: session A (host, assistant), session A2 (another host), session B --------------------------
    series_a = LiveSeries.objects.create(brand=brand_a, title=f"{MARK}农场主来了")
    series_b = LiveSeries.objects.create(brand=brand_b, title="山野直播间")

    def session(series, title, hosts, assistants=(), communities=()):
        start = now + timedelta(days=1)
        made = LiveSession.objects.create(
            series=series, title=title, scheduled_start=start, scheduled_end=start + timedelta(hours=1)
        )
        made.hosts.set(hosts)
        made.assistants.set(assistants)
        made.communities.set(communities)
        return made

    session_a = session(series_a, f"{MARK}逛大棚", [host], [assistant], [a1, a2])
    session(series_a, f"{MARK}溯源之旅", [host_other], [], [a1])
    session_b = session(series_b, "山野逛山", [f.host(brand=brand_b)], [], [b1])
    round_a = WarmupRound.objects.create(
        session=session_a,
        kind=WarmupRound.Kind.TEASER,
        send_at=now + timedelta(hours=2),
        title=f"{MARK}明晚见",
        has_poster=True,
    )
    stream_for(session=session_a)  # made on the panel's first view otherwise: a GET would write it
    destination = Destination.objects.create(session=session_a, label=f"{MARK}视频号", url="rtmp://push.example/x")
    recording = Recording.objects.create(
        session=session_a,
        mp4=f"recordings/authz-{session_a.pk}.mp4",
        duration_seconds=60,
        started_at=now - timedelta(days=2),
        ended_at=now - timedelta(days=2) + timedelta(minutes=1),
        status=Recording.Status.READY,
    )
    clip = Clip.objects.create(
        session=session_a,
        recording=recording,
        kind=Clip.Kind.PEAK,
        title=f"{MARK}高光",
        start_s=1,
        end_s=20,
        peak_s=5,
        status=Clip.Status.PUBLISHED,
        render_state=Clip.RenderState.READY,
        video="highlights/zqa.mp4",
        thumbnail="highlights/zqa.jpg",
    )

    # --- jielong: open (live's, with a help-seller) and formed (delivered tomorrow) ------------------------
    open_a, open_item = _campaign(
        brand=brand_a, title=f"{MARK}有机上海青", communities=[a1], status=Campaign.Status.OPEN,
        live_session=session_a,
    )  # fmt: skip
    image = CampaignImage.objects.create(campaign=open_a, image="campaigns/authz.jpg", width=10, height=10)
    order_open = _order(open_a, open_item, member, pa1, seq=1)
    Campaign.objects.filter(pk=open_a.pk).update(joined_count=1, next_seq=2)
    help_seller = HelpSeller.objects.create(
        campaign=open_a, user=seller, token="zqa-seller-1", invited_at=now, invited_by=op
    )
    formed_a, formed_item = _campaign(
        brand=brand_a,
        title=f"{MARK}土鸡蛋",
        communities=[a1, a2],
        status=Campaign.Status.FORMED,
        closes_at=now - timedelta(hours=1),
        formed_at=now - timedelta(hours=2),
    )
    order_formed = _order(formed_a, formed_item, member, pa1, seq=1, paid_at=now - timedelta(hours=2))
    picked = _order(formed_a, formed_item, koc, pa1, seq=2, paid_at=now - timedelta(hours=2))
    _order(formed_a, formed_item, member_other, pa2, seq=3)
    delivery_date = clock.localdate() + timedelta(days=1)
    CampaignDelivery.objects.create(campaign=formed_a, delivery_date=delivery_date)
    supplier_a = formed_item.sku.product.supplier
    product_a = formed_item.sku.product
    photo = ProductImage.objects.create(product=product_a, image="products/authz.jpg", width=10, height=10)
    warehouse = Warehouse.objects.create(brand=brand_a, name=f"{MARK}城市仓", city="上海")
    route = Route.objects.create(
        brand=brand_a, warehouse=warehouse, name=f"{MARK}冷链线", zones=["ambient"], departs_at="06:00"
    )
    RouteStop.objects.create(route=route, pickup_point=pa1, position=1)
    RouteStop.objects.create(route=route, pickup_point=pa2, position=2)
    split_day(brand_id=brand_a.pk, delivery_date=delivery_date)
    handout_member = Parcel.objects.get(order=order_formed).handout
    handout_picked = Parcel.objects.get(order=picked).handout
    Parcel.objects.filter(handout=handout_picked).update(state=Parcel.State.AT_PICKUP, at_pickup_at=now)
    verify_pickup(code=handout_picked.code, pickup_point_id=pa1.pk, by=leader)
    Parcel.objects.filter(handout=handout_member).update(state=Parcel.State.AT_PICKUP, at_pickup_at=now)
    live_link = supplier_link_create(supplier=supplier_a, by=op, days=7)
    revoked = supplier_link_create(supplier=supplier_a, by=op, days=7)
    supplier_link_revoke(link=revoked.link, by=op)

    # --- feedback, after-sales, commissions, segments, rhythm ----------------------------------------------
    Order.objects.filter(pk=order_formed.pk).update(status=Order.Status.PICKED_UP)
    review = Review.objects.create(
        order=order_formed, brand=brand_a, campaign=formed_a, community=a1, user=member, rating=5,
        text=f"{MARK}{MARK_A1}好吃", created_at=now,
    )  # fmt: skip
    survey = NpsSurvey.objects.create(brand=brand_a, campaign=formed_a, user=member, community=a1, created_at=now)
    request = Request.objects.create(
        brand=brand_a, community=a1, order=order_formed, user=member, reason=Request.Reason.QUALITY,
        ask=Request.Ask.REFUND, asked_fen=500, opened_at=now, first_answer_due=now + timedelta(hours=4),
        resolution_due=now + timedelta(days=1), description=f"{MARK}{MARK_A1}坏了",
    )  # fmt: skip
    RequestLine.objects.create(request=request, order_line=order_formed.lines.get(), quantity=1)
    statement = Statement.objects.create(
        payee=seller, period_start=delivery_date - timedelta(days=30), period_end=delivery_date,
        accrued_fen=0, reversed_fen=0, total_fen=0, settled_at=now, settled_by=op,
    )  # fmt: skip
    commission = LedgerEntry.objects.create(
        kind=LedgerEntry.Kind.COMMISSION, amount_fen=159, order=order_open, payee=seller, key="zqa-commission-1",
        created_at=now,
    )  # fmt: skip
    segment = Segment.objects.create(
        brand=brand_a,
        name=f"{MARK}常客",
        created_by=op,
        rule={"conditions": [{"field": "orders_in_days", "window": 30, "op": "gte", "value": 1}]},
    )
    column = Column.objects.create(community=a1, name=f"{MARK}早安", weekdays=[1], time_of_day="08:00")
    post = Post.objects.create(
        community=a1, column=column, author=leader, title=f"{MARK}{MARK_A1}早安", text="早", scheduled_at=now - timedelta(hours=1),
        status=Post.Status.PUBLISHED, published_at=now - timedelta(hours=1),
    )  # fmt: skip
    post_image = PostImage.objects.create(post=post, image="posts/authz.jpg", width=10, height=10)

    # --- the public API's tokens, webhooks, privacy -----------------------------------------------------
    every_scope = list(SCOPES)
    token = token_create(brand=brand_a, name="ERP", scopes=every_scope, by=op, expires_in_days=30)
    token_noscope = token_create(brand=brand_a, name="看板", scopes=["dashboard:read"], by=op, expires_in_days=30)
    token_b = token_create(brand=brand_b, name="山野ERP", scopes=every_scope, by=op_b, expires_in_days=30)
    endpoint = Endpoint.objects.create(brand=brand_a, url="https://erp.example/hook", secret="s" * 40, created_by=op)
    delivery = Delivery.objects.create(endpoint=endpoint, event_type="order.created", body="{}")
    reservation = Reservation.objects.create(session=session_a, user=member)
    deletion = DeletionRequest.objects.create(
        user=flagged, reference="ZQA0001", requested_at=now, due_at=now + timedelta(days=15)
    )

    # Brand B's own rows, so its operator's lists are not empty by accident.
    _campaign(brand=brand_b, title="山野蜂蜜", communities=[b1], status=Campaign.Status.OPEN)
    Warehouse.objects.create(brand=brand_b, name="山野仓", city="杭州")

    users = {
        "anon": None,
        "member": member,
        "member_other": member_other,
        "leader": leader,
        "leader_other": leader_other,
        "koc": koc,
        "verifier": verifier,
        "seller": seller,
        "host": host,
        "host_other": host_other,
        "assistant": assistant,
        "op": op,
        "op_b": op_b,
        "link": None,
        "token": None,
        "token_noscope": None,
        "token_b": None,
    }
    values = {
        "brand_a": brand_a.pk,
        "brand_b": brand_b.pk,
        "staff": host_other.pk,
        "a1": a1.slug,
        "a2": a2.slug,
        "b1": b1.slug,
        "member": member.pk,
        "member_b": member_b.pk,
        "flagged": flagged.pk,
        "flag": Flag.objects.get(user=flagged).pk,
        "column": column.pk,
        "post": post.pk,
        "post_image": post_image.pk,
        "supplier": supplier_a.pk,
        "product": product_a.pk,
        "product_photo": photo.pk,
        "sku": formed_item.sku_id,
        "series": series_a.pk,
        "session": session_a.pk,
        "session_b": session_b.pk,
        "round": round_a.pk,
        "destination": destination.pk,
        "recording": recording.pk,
        "clip": clip.pk,
        "clip_action": "rename",
        "campaign": open_a.pk,
        "campaign_formed": formed_a.pk,
        "campaign_image": image.pk,
        "order": order_open.pk,
        "order_formed": order_formed.pk,
        "day": delivery_date.isoformat(),
        "warehouse": warehouse.pk,
        "route": route.pk,
        "point": pa1.pk,
        "point_b": pb1.pk,
        "verifier": PointVerifier.objects.get(user=verifier).pk,
        "link_id": live_link.link.pk,
        "supplier_token": live_link.token,
        "supplier_token_revoked": revoked.token,
        "driver_token": driver_token(route_id=route.pk, delivery_date=delivery_date),
        "driver_token_bad": "not-a-route-link",
        "handout": handout_picked.pk,
        "handout_member": handout_member.pk,
        "pickup_code": handout_member.code,
        "member_phone": member.phone,
        "member_membership": Membership.objects.get(user=member, community=a1).pk,
        "future_start": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "review": review.pk,
        "survey": survey.pk,
        "request": request.pk,
        "help_seller": help_seller.pk,
        "statement": statement.pk,
        "segment": segment.pk,
        "rfm_cell": "important_value",
        "people_key": "community_to_viewer",
        "fmt_csv": "csv",
        "fmt_xlsx": "xlsx",
        "xlsx": "xlsx",
        "a1_pk": a1.pk,
        "item": open_item.pk,
        "parcel": Parcel.objects.get(order=order_formed).pk,
        "reservation": reservation.pk,
        "commission": commission.pk,
        "api_token": token.token.pk,
        "endpoint": endpoint.pk,
        "delivery": delivery.pk,
        "deletion": deletion.pk,
        "notice_version": settings.PRIVACY_NOTICE_VERSION,
        "_api_token": token.plaintext,
        "_api_token_noscope": token_noscope.plaintext,
        "_api_token_b": token_b.plaintext,
    }
    return World(users=users, values=values)
