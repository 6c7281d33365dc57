"""The demo's after-care (issue 13): what the neighbours said and got back after 《农场主来了》 was delivered.

Told through the real services, each at the moment it happened, after :mod:`demo.fulfilment` told the day:

- the money ledger (资金流水): every paid order's payment, written by ``jielong.ledger.payments_record`` as of
  the moment it was paid (not "recorded late" at seed time), so ``ledger_reconcile`` comes out clean;
- after-sales (售后): 23:50 the sweep opens a request for each of the three orders 老李 could not fill
  (4 heads of lettuce); at 07:05 林峰 refunds them in full. That morning a neighbour sends a photo of split
  tomatoes — the leader answers and a replacement is handed over with the next delivery; the next day a
  "never received" claim is rejected (the 核销 record shows the pickup); and one egg complaint came in
  within the last hour, so the leader's queue has one waiting, inside its promised time;
- NPS: a survey for every member who picked up, sent by the feedback app's own ``surveys_ask`` in the
  10-minute sweeps after the pickups; 40 answered — 38 promoters and 2 passives, no detractor: NPS 95;
- reviews (晒单): a dozen neighbours rate their order, a few with words and photos, some stars only.

The after-sales and feedback services read the one clock and take no ``now=``: each step runs with
``groupbuy.clock.now`` pinned to its moment (:func:`_as_of`). The seed runs in its own process
(``manage.py seed_demo``) before anything is served, so nobody else reads the pinned clock.

Idempotent like the rest of the demo: a story already told for this delivery day is left alone (with
whatever the demo's users did since); a story told for an older day is forgotten and told again.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Sum
from django.urls import reverse
from PIL import Image, ImageDraw, ImageFilter

from aftersales.models import Request
from aftersales.services import request_open, request_reply, request_resolve, shortages_sweep
from analytics.models import Event
from community.models import FeedItem, Membership, User
from demo.fulfilment import _at, _History
from feedback.models import NpsSurvey, Review
from feedback.nps import nps_answer, surveys_ask
from feedback.reviews import feed_source_key, review_post
from fulfillment.models import Parcel, Shortage
from groupbuy import clock
from jielong.ledger import payments_record
from jielong.models import Campaign, LedgerEntry, Order, OrderLine
from livestream.models import Notification

AFTERCARE_MARK = "demo.aftercare"
RANDOM_SEED = 20261204

SHORTAGE_SWEPT_AT = time(23, 50)  # the evening before: the first sweep after 老李's 23:48 confirmation
SHORTAGE_REFUNDED_AT = time(7, 5)  # the delivery day, before the first neighbour comes
NPS_SWEEP = timedelta(minutes=10)
OPEN_AGO = timedelta(minutes=40)  # the request still waiting in the leader's queue

# NPS 95: (38 − 0) / 40 = 95 %.
NPS_PROMOTERS, NPS_PASSIVES, NPS_DETRACTORS = 38, 2, 0
NPS_REASONS = {
    10: [
        "生菜脆甜，孩子都抢着吃，已经推荐给楼上邻居了",
        "老李直播讲得实在，菜比超市新鲜多了",
        "缺货的生菜第二天一早就退款了，靠谱",
    ],
    9: ["早上上班前顺路就取了，很方便", "番茄有小时候的味道"],
    8: ["菜很好，就是希望自提点晚上能开到九点"],
}
# (what it is about, stars, words, photos): a few with words and photos, some with words only, some stars
# only. Each goes to a neighbour whose order has that SKU (None: any), and its photos show what they bought.
REVIEWS = (
    ("LL-LET-400", 5, "老李家的生菜真的脆，洗的时候都能听到咔嚓声，拌个沙拉一家人抢光了！", 2),
    ("LL-TOM-500", 5, "番茄沙沙的，有小时候的味道，切开满屋子番茄香。第二期还跟！", 1),
    ("LL-EGG-30", 5, "鸡蛋个头均匀，蛋黄颜色很正，煮了个溏心蛋太香了", 1),
    ("LL-CUC-500", 4, "黄瓜很嫩，顶花带刺，就是有一根稍微弯了点，不影响吃", 1),
    (None, 5, "第一次参加接龙，早上 8 点就在陈姐店里取到了，包装很用心", 2),
    ("LL-SHQ-500", 5, "上海青炒一下就很甜，孩子平时不吃青菜这次吃了一大碗", 0),
    (None, 5, "直播里看到大棚才下的单，实物和直播一样，放心", 0),
    (None, 4, "菜都很新鲜，希望下次多一点品种", 0),
    (None, 5, "", 0),
    (None, 5, "", 0),
    (None, 5, "", 0),
    (None, 4, "", 0),
)


@dataclass(frozen=True)
class DemoAftercare:
    payments_fen: int
    refunded_fen: int
    requests: dict[str, int]  # per status
    reviews: int
    review_photos: int
    nps_answers: int

    def describe(self) -> str:
        requests = ", ".join(f"{n} {status}" for status, n in sorted(self.requests.items()))
        return (
            f"after-sales {requests}; {self.refunded_fen / 100:.2f} yuan refunded; {self.reviews} reviews "
            f"({self.review_photos} photos); {self.nps_answers} NPS answers"
        )


@contextmanager
def _as_of(history: _History, when: datetime) -> Iterator[None]:
    """Run a step as of ``when``: its events go to the stream then, and the one clock reads ``when``."""
    real = clock.now
    clock.now = lambda: when
    try:
        with history.at(when):
            yield
    finally:
        clock.now = real


def seed_aftercare(
    *,
    past: Campaign,
    operator: User,
    demo_member: User,
    delivery_date: date,
    now: datetime | None = None,
) -> DemoAftercare:
    """Tell the after-care of the past jielong's delivery day (see the module docstring)."""
    assert connection.in_atomic_block, "seed_aftercare runs inside seed_demo's transaction"
    now = now or clock.now()
    orders = Order.objects.filter(campaign=past)
    # Told for this day: its first step (the sweep the evening before) is there at its moment.
    swept_at = _at(delivery_date - timedelta(days=1), SHORTAGE_SWEPT_AT)
    told = Request.objects.filter(order__campaign=past, source=Request.Source.SHORTAGE, opened_at=swept_at).exists()
    if not told:
        _forget(past=past)
    _record_payments(orders)
    if not told:
        _tell(past=past, operator=operator, demo_member=demo_member, delivery_date=delivery_date, now=now)
    requests = Request.objects.filter(order__campaign=past)
    reviews = Review.objects.filter(campaign=past)
    return DemoAftercare(
        payments_fen=LedgerEntry.objects.filter(order__campaign=past, kind=LedgerEntry.Kind.PAYMENT).aggregate(
            s=Sum("amount_fen")
        )["s"]
        or 0,
        refunded_fen=orders.aggregate(s=Sum("refunded_fen"))["s"] or 0,
        requests={s: requests.filter(status=s).count() for s in requests.values_list("status", flat=True).distinct()},
        reviews=reviews.count(),
        review_photos=sum(reviews.values_list("photo_count", flat=True)),
        nps_answers=NpsSurvey.objects.filter(campaign=past, answered_at__isnull=False).count(),
    )


def _record_payments(orders) -> None:
    """Each paid order's payment, through the ledger's own writer, as of the moment it was paid."""
    missing = (
        orders.exclude(payment_status=Order.PaymentStatus.UNPAID)
        .exclude(pk__in=LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT).values("order_id"))
        .order_by("paid_at", "pk")
    )
    payments_record(list(missing), by=None, paid_at=lambda order: order.paid_at or order.created_at)


def _tell(*, past: Campaign, operator: User, demo_member: User, delivery_date: date, now: datetime) -> None:
    rng = random.Random(RANDOM_SEED)
    history = _History(now=now, mark=AFTERCARE_MARK)
    eve, day, next_day = delivery_date - timedelta(days=1), delivery_date, delivery_date + timedelta(days=1)
    leader = (
        User.objects.filter(
            memberships__community_id=past.orders.values("community_id")[:1],
            memberships__role=Membership.Role.LEADER,
            memberships__status=Membership.Status.ACTIVE,
        )
        .order_by("pk")
        .first()
    )
    steps: list[tuple[datetime, Callable[[], object]]] = []

    # The shortage: the sweep opens the requests (the subscriber's after-commit call is not run by the seed).
    steps.append((_at(eve, SHORTAGE_SWEPT_AT), shortages_sweep))

    def refund_shortages() -> None:
        for request in Request.objects.filter(order__campaign=past, source=Request.Source.SHORTAGE).order_by("pk"):
            if request.asked_fen:
                request_resolve(
                    request_id=request.pk,
                    by=operator,
                    resolution=Request.Resolution.REFUND,
                    amount_fen=request.asked_fen,
                    note="老李的生菜最后一垄受了霜冻，缺的部分已原路退回，抱歉！",
                )
            else:
                # Not paid yet: nothing to give back, and none of the four resolutions means "not charged";
                # the closest honest one closes it with the explanation, and no money moves.
                request_resolve(
                    request_id=request.pk,
                    by=operator,
                    resolution=Request.Resolution.REJECTED,
                    note="您的订单还未付款，缺货的生菜不会收取费用，无需退款；取货时只付其余商品即可。",
                )

    steps.append((_at(day, SHORTAGE_REFUNDED_AT), refund_shortages))

    # NPS: the feedback app's sweep asks everyone who picked up, in the 10-minute runs after their pickups.
    picked = dict(
        Parcel.objects.filter(order__campaign=past, state=Parcel.State.PICKED_UP).values_list(
            "order_id", "picked_up_at"
        )
    )
    buckets: dict[datetime, list[int]] = {}
    for order_id, at in picked.items():
        due = at - timedelta(seconds=at.timestamp() % NPS_SWEEP.total_seconds()) + NPS_SWEEP
        buckets.setdefault(min(due, now), []).append(order_id)
    for due, ids in sorted(buckets.items()):
        steps.append((due, lambda ids=ids, due=due: surveys_ask(order_ids=ids, now=due)))

    # Who says what: neighbours who picked up, not the demo member (王姐 is left to try it all herself),
    # none of the shortage orders (their story is the refund).
    short_orders = Shortage.objects.filter(order_line__order__campaign=past).values("order_line__order_id")
    candidates = list(
        Order.objects.filter(pk__in=picked)
        .exclude(user=demo_member)
        .exclude(pk__in=short_orders)
        .select_related("user")
        .order_by("seq")
    )
    rng.shuffle(candidates)
    by_noon = [o for o in candidates if picked[o.pk] < _at(day, time(12))]

    def with_sku(code: str, exclude: set[int]) -> tuple[Order, OrderLine]:
        for order in by_noon:
            if order.pk in exclude:
                continue
            line = order.lines.filter(item__sku__code=code).select_related("item").first()
            if line is not None:
                return order, line
        raise LookupError(code)

    used: set[int] = set()
    tomato_order, tomato_line = with_sku("LL-TOM-500", used)
    used.add(tomato_order.pk)
    claim_order, claim_line = with_sku("LL-SHQ-500", used)
    used.add(claim_order.pk)
    egg_order, egg_line = with_sku("LL-EGG-30", used)
    used.add(egg_order.pk)
    quality: dict[str, Request] = {}

    # Split tomatoes: a photo, an answer, a replacement with the next delivery.
    opened = max(picked[tomato_order.pk] + timedelta(minutes=95), _at(day, time(10, 20)))

    def open_tomatoes() -> None:
        quality["tomato"] = request_open(
            order_id=tomato_order.pk,
            user=tomato_order.user,
            lines={tomato_line.pk: 1},
            reason=Request.Reason.QUALITY,
            ask=Request.Ask.REPLACEMENT,
            description="回家打开发现有两个番茄压裂了，汁水流了半袋，麻烦看一下，拍了照片。",
            photos=[_photo(rng, "tomato")],
        )

    steps.append((opened, open_tomatoes))
    steps.append(
        (
            opened + timedelta(minutes=38),
            lambda: request_reply(
                request_id=quality["tomato"].pk,
                by=leader,
                body="不好意思！运输中压到了，明天配送时给您补一份番茄，还在原来的自提点取就行。",
            ),
        )
    )
    steps.append(
        (
            opened + timedelta(hours=2, minutes=5),
            lambda: request_resolve(
                request_id=quality["tomato"].pk,
                by=leader,
                resolution=Request.Resolution.REPLACEMENT,
                note="下次配送时在原自提点补发番茄 1 份",
            ),
        )
    )

    # "Never received": the 核销 record says otherwise.
    claimed = _at(next_day, time(9, 12))
    pickup = picked[claim_order.pk]

    def open_claim() -> None:
        quality["claim"] = request_open(
            order_id=claim_order.pk,
            user=claim_order.user,
            lines={claim_line.pk: claim_line.quantity},
            reason=Request.Reason.NOT_RECEIVED,
            ask=Request.Ask.REFUND,
            asked_fen=claim_line.quantity * claim_line.unit_price_fen,
            description="上海青没有拿到，请退款。",
        )

    steps.append((claimed, open_claim))
    steps.append(
        (
            claimed + timedelta(minutes=52),
            lambda: request_resolve(
                request_id=quality["claim"].pk,
                by=leader,
                resolution=Request.Resolution.REJECTED,
                note=(
                    f"核销记录显示您已于 {clock.localtime(pickup):%m月%d日 %H:%M} 在自提点取走全部商品（含上海青），"
                    "可能放在另一个袋子里了，再找找；有疑问请私信团长。"
                ),
            ),
        )
    )

    # Reviews and NPS answers through the day and the next, each after that neighbour's pickup.
    bought: dict[int, list[str]] = {}
    for order_id, code in (
        OrderLine.objects.filter(order__in=candidates).order_by("pk").values_list("order_id", "item__sku__code")
    ):
        bought.setdefault(order_id, []).append(code)
    for about, stars, words, photos in REVIEWS:
        order = next(
            o
            for o in candidates
            if o.pk not in used and (about in bought[o.pk] if about else len(bought[o.pk]) >= photos)
        )
        used.add(order.pk)
        at = _awake(rng, picked[order.pk] + timedelta(minutes=rng.randint(25, 360)))
        kinds = [SKU_PHOTO[about]] * photos if about else [SKU_PHOTO[c] for c in bought[order.pk]][:photos]
        pictures = [_photo(rng, kind) for kind in kinds]
        steps.append(
            (
                at,
                lambda order=order, stars=stars, words=words, pictures=pictures: review_post(
                    order_id=order.pk, user=order.user, rating=stars, text=words, photos=pictures
                ),
            )
        )

    scores = [10] * 26 + [9] * (NPS_PROMOTERS - 26) + [8, 7][:NPS_PASSIVES] + [6] * NPS_DETRACTORS
    reasons = {score: list(texts) for score, texts in NPS_REASONS.items()}
    answerers = [o for o in candidates if o.pk not in used][: len(scores)]
    rng.shuffle(scores)
    for order, score in zip(answerers, scores, strict=True):
        asked = picked[order.pk] + NPS_SWEEP
        at = _awake(rng, asked + timedelta(minutes=rng.randint(3, 240)))
        reason = reasons.get(score, []).pop() if reasons.get(score) else ""
        steps.append((at, lambda order=order, score=score, reason=reason: _answer(order, score, reason)))

    # An egg complaint from within the last hour: waiting in the leader's queue, inside the promised time.
    steps.append(
        (
            now - OPEN_AGO,
            lambda: request_open(
                order_id=egg_order.pk,
                user=egg_order.user,
                lines={egg_line.pk: 1},
                reason=Request.Reason.QUALITY,
                ask=Request.Ask.REFUND,
                asked_fen=min(300, egg_line.unit_price_fen),
                description="今天早上打开发现有 2 个鸡蛋壳裂了，其他都好，退一点差价就行。",
                photos=[_photo(rng, "egg")],
            ),
        )
    )

    for when, step in sorted(steps, key=lambda s: s[0]):
        with _as_of(history, when):
            step()
    history.write_events()


def _awake(rng: random.Random, at: datetime) -> datetime:
    """``at``, or the next morning if it falls at night: nobody reviews at 2 a.m. in the demo."""
    local = clock.localtime(at)
    if 7 <= local.hour < 22:
        return at
    morning = local.date() + timedelta(days=1) if local.hour >= 22 else local.date()
    return _at(morning, time(7, 30)) + timedelta(minutes=rng.randint(0, 90))


def _answer(order: Order, score: int, reason: str) -> None:
    survey = NpsSurvey.objects.get(campaign_id=order.campaign_id, user_id=order.user_id)
    nps_answer(survey_id=survey.pk, user=order.user, score=score, reason=reason)


def _forget(*, past: Campaign) -> None:
    """Before the story is told (again) on a new day: none of it left — requests, refunds, reviews, surveys,
    their inbox messages, feed entries and events. No service un-refunds a payment, so this writes rows itself;
    the payments go too, to be written again at the orders' (moved) payment times."""
    requests = list(Request.objects.filter(order__campaign=past).values_list("pk", flat=True))
    surveys = list(NpsSurvey.objects.filter(campaign=past).values_list("pk", flat=True))
    links = [reverse("aftersales:member-request", args=[pk]) for pk in requests]
    links += [reverse("feedback:member-nps", args=[pk]) for pk in surveys]
    if links:
        Notification.objects.filter(link__in=links).delete()
    Request.objects.filter(pk__in=requests).delete()
    NpsSurvey.objects.filter(pk__in=surveys).delete()
    reviews = Review.objects.filter(campaign=past)
    FeedItem.objects.filter(
        source_key__in=[feed_source_key(pk) for pk in reviews.values_list("pk", flat=True)]
    ).delete()
    for review in reviews.prefetch_related("photos"):
        for photo in review.photos.all():
            photo.image.delete(save=False)
    reviews.delete()
    LedgerEntry.objects.filter(order__campaign=past).delete()
    Order.objects.filter(campaign=past).exclude(refunded_fen=0).update(refunded_fen=0)
    Order.objects.filter(campaign=past, payment_status=Order.PaymentStatus.REFUNDED).update(
        payment_status=Order.PaymentStatus.PAID
    )
    Event.objects.filter(properties__seed=AFTERCARE_MARK).delete()


# --- photos: small JPEGs drawn for the demo ------------------------------------------------------------

SKU_PHOTO = {
    "LL-LET-400": "lettuce",
    "LL-TOM-500": "tomato",
    "LL-CUC-500": "cucumber",
    "LL-SHQ-500": "greens",
    "LL-EGG-30": "egg",
    "LL-EGG-15": "egg",
}
_PALETTE = {
    "lettuce": ((233, 240, 220), [(110, 170, 60), (140, 195, 80), (90, 150, 50)]),
    "tomato": ((240, 232, 220), [(205, 45, 35), (225, 70, 50), (180, 35, 30)]),
    "cucumber": ((236, 236, 228), [(60, 120, 50), (80, 140, 60), (50, 100, 40)]),
    "egg": ((214, 190, 150), [(236, 210, 175), (245, 225, 195), (225, 195, 160)]),
    "greens": ((228, 236, 226), [(50, 130, 60), (70, 150, 70), (40, 110, 50)]),
}


def _photo(rng: random.Random, kind: str) -> io.BytesIO:
    """A 640×480 JPEG of a basket of ``kind`` (a few soft shapes in its colours), ~20 KB."""
    background, colours = _PALETTE[kind]
    image = Image.new("RGB", (640, 480), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 360, 640, 480), fill=tuple(max(c - 40, 0) for c in background))  # the table
    for _ in range(14):
        x, y = rng.randint(40, 600), rng.randint(90, 400)
        if kind == "cucumber":
            w, h = rng.randint(150, 220), rng.randint(34, 44)
        elif kind == "egg":
            w, h = rng.randint(70, 84), rng.randint(92, 106)
        else:
            w = h = rng.randint(90, 150)
        draw.ellipse((x - w // 2, y - h // 2, x + w // 2, y + h // 2), fill=rng.choice(colours))
    image = image.filter(ImageFilter.GaussianBlur(2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    out.seek(0)
    out.name = f"{kind}.jpg"
    return out
