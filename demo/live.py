"""The demo's live extras: a warm-up plan for the upcoming session, the past session's peak concurrency,
its room (comments, answered questions, the product last explained, the jielong it opened) and the
brand's blocked words.

Called from :func:`demo.story.seed_demo`; safe to run again (a plan is created once, then only its
pending rounds are realigned to the session's start, which moves with the demo's clock).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db.models import F

from community.models import User
from groupbuy import clock
from livestream import warmup
from livestream.models import BannedWord, Comment, LiveSession, WarmupRound, WatchRecord


def seed_warmup_plan(upcoming: LiveSession, *, now: datetime | None = None) -> None:
    """Give the upcoming session the standard plan; a teaser already due goes out a minute from now."""
    now = now or clock.now()
    if upcoming.status != LiveSession.Status.SCHEDULED:
        return
    rounds = WarmupRound.objects.filter(session=upcoming)
    if rounds.exists():
        rounds.filter(status=WarmupRound.Status.PENDING, offset__isnull=False).update(
            send_at=upcoming.scheduled_start - F("offset")
        )
        return
    warmup.warmup_plan_apply_standard(session=upcoming)
    if not rounds.filter(kind=WarmupRound.Kind.TEASER).exists():
        title, body = warmup._default_text(upcoming, WarmupRound.Kind.TEASER)
        WarmupRound.objects.create(
            session=upcoming,
            kind=WarmupRound.Kind.TEASER,
            send_at=now + timedelta(minutes=1),
            title=title,
            body=body,
            has_poster=True,
            audience=WarmupRound.Audience.COMMUNITIES,
            leader_copy=True,
        )


def seed_past_peak(past: LiveSession) -> None:
    """Peak concurrency of the past session, from its watch records (the most overlapping intervals)."""
    edges = []
    for first, last in WatchRecord.objects.filter(session=past).values_list("first_seen_at", "last_seen_at"):
        edges += [(first, 1), (last, -1)]
    online = peak = 0
    for _at, step in sorted(edges, key=lambda e: (e[0], -e[1])):
        online += step
        peak = max(peak, online)
    LiveSession.objects.filter(pk=past.pk).update(peak_online=peak)


def seed_live_extras(*, past: LiveSession, upcoming: LiveSession, now: datetime | None = None) -> None:
    seed_past_peak(past)
    past = LiveSession.objects.select_related("series__brand").get(pk=past.pk)
    seed_room(past)
    seed_room_state(past)
    seed_blocked_words(past)
    seed_warmup_plan(LiveSession.objects.get(pk=upcoming.pk), now=now)


# --- the past session's room: comments, questions (mostly answered), the last pinned product ---------

DEMO_COMMENT_SEED = 20240611

DEMO_COMMENTS = [
    "老李好！准时来了",
    "大棚里好暖和啊",
    "这上海青看着就嫩",
    "孩子最爱吃青菜了",
    "上次买的番茄特别有味道",
    "支持农场主！",
    "画面好清楚",
    "泥土都是香的吧哈哈",
    "已经预约了好几次了",
    "想去农场参观",
    "这个价格很实在",
    "我妈说这种菜小时候吃过",
    "看着就放心",
    "鸡蛋是散养的吗，好想要",
    "老李讲得真好",
    "已经转发到小区群了",
    "给邻居也安利了",
    "这次一定抢到前50",
    "签名手札好想要",
    "接龙什么时候开？",
    "冲冲冲",
    "又学到了，原来要轮作",
    "有机认证证书能看看吗",
    "厉害了",
    "等接龙",
]

DEMO_QUESTIONS = [
    # (text, answered, merged into the question at this index or None)
    ("上海青明天能到自提点吗？", True, None),
    ("明天能送到吗？", True, 0),
    ("番茄是自然成熟的吗？", True, None),
    ("鸡蛋一盒几枚？", True, None),
    ("有没有农药残留检测报告？", True, None),
    ("检测报告在哪里看？", True, 4),
    ("前50名怎么算？", True, None),
    ("能在翠湖店自提吗？", True, None),
    ("冷链怎么保证？", True, None),
    ("可以开发票吗？", False, None),
    ("下次直播什么时候？", False, None),
]

DEMO_BLOCKED_WORDS = ["加微信", "私聊", "代购"]


def seed_room(past: LiveSession) -> None:
    """Comments and questions of the past session, replaced on every run so the counts stay the same."""
    rng = random.Random(DEMO_COMMENT_SEED)  # its own generator: the main seed's order is untouched
    watchers = list(
        User.objects.filter(watch_records__session=past, role=User.Role.MEMBER).order_by("pk").distinct()[:80]
    )
    Comment.objects.filter(session=past).delete()
    if not watchers or past.started_at is None or past.ended_at is None:
        return
    span = (past.ended_at - past.started_at).total_seconds()
    assistant = past.assistants.order_by("pk").first()

    rows = []
    for i, text in enumerate(DEMO_COMMENTS):
        at = past.started_at + timedelta(seconds=int(span * (i + rng.random()) / (len(DEMO_COMMENTS) + 1)))
        rows.append(Comment(session=past, user=watchers[i % len(watchers)], text=text, created_at=at))
    spam = Comment(
        session=past,
        user=watchers[-1],
        text="进群领红包，戳我头像",
        created_at=past.started_at + timedelta(minutes=12),
        status=Comment.Status.HIDDEN,
        hidden_by=assistant,
    )
    Comment.objects.bulk_create([*rows, spam])

    questions: list[Comment] = []
    for i, (text, answered, merged) in enumerate(DEMO_QUESTIONS):
        at = past.started_at + timedelta(seconds=int(span * 0.85 * (i + rng.random()) / len(DEMO_QUESTIONS)))
        question = Comment.objects.create(
            session=past,
            user=watchers[(7 * i + 3) % len(watchers)],
            text=text,
            kind=Comment.Kind.QUESTION,
            created_at=at,
            picked_at=at + timedelta(minutes=1) if answered else None,
            answered_at=at + timedelta(minutes=3) if answered else None,
            merged_into=questions[merged] if merged is not None else None,
        )
        questions.append(question)


def seed_room_state(past: LiveSession) -> None:
    """The product last explained and the jielong the past session opened, as the room would show them."""
    from jielong.models import Campaign

    campaign = Campaign.objects.filter(live_session=past).order_by("pk").first()
    item = campaign.items.select_related("sku__product").order_by("position", "pk").first() if campaign else None
    LiveSession.objects.filter(pk=past.pk).update(
        pinned_sku=item.sku if item else None,
        pinned_name=f"{item.sku.product.name} {item.sku.spec_label}".strip() if item else "",
        pinned_price_fen=item.price_fen if item else None,
        pinned_image_url="",
        pinned_at=past.ended_at - timedelta(minutes=5) if item and past.ended_at else None,
        jielong_campaign_id=campaign.pk if campaign else None,
        jielong_opened_at=past.ended_at if campaign else None,
    )


def seed_blocked_words(past: LiveSession) -> None:
    brand = past.series.brand
    for word in DEMO_BLOCKED_WORDS:
        BannedWord.objects.get_or_create(brand=brand, word=word)
