"""The demo's join gates: questionnaires, personal invitation codes, and a few applications to review.

Called from :func:`demo.story.seed_demo` after the people exist. Every row is found again by a natural
key (questionnaire by community, question by position, choice by position, personal invitation by
community and inviter, application by applicant and community), so a second run changes no count.
It adds no users: the applicants are members of the other communities asking to join the main one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from io import BytesIO

from django.db.models import Count

from community.models import Application, Choice, Community, Invitation, Membership, Question, Questionnaire
from groupbuy import clock

# (community slug, threshold, intro, [(question, kind, [(choice, points)] or (min length, points))])
QUESTIONNAIRES = [
    (
        "yangguang",
        10,
        "我们是一群相信食物本源的邻居。回答几个小问题，帮我们认识你。",
        [
            (
                "你为什么想加入源味集？",
                Question.Kind.SINGLE,
                [("想知道食物从哪里来", 5), ("想给家人吃得健康一些", 5), ("听说这里便宜", 0)],
            ),
            (
                "你平时怎么安排一日三餐？",
                Question.Kind.MULTIPLE,
                [("自己做饭", 3), ("给孩子或老人做饭", 2), ("基本点外卖", 0)],
            ),
            ("简单介绍一下你自己（住哪一栋、喜欢吃什么）", Question.Kind.TEXT, (10, 2)),
        ],
    ),
    (
        "cuihu",
        8,
        "翠湖苑的邻居们，一起吃得安心、活得讲究。",
        [
            ("你住在翠湖苑吗？", Question.Kind.SINGLE, [("是，业主", 5), ("是，租住", 4), ("不是", 0)]),
            ("你愿意参加每周的农场日活动吗？", Question.Kind.SINGLE, [("愿意", 3), ("看时间", 1)]),
            ("有什么想对团长说的？", Question.Kind.TEXT, (1, 0)),
        ],
    ),
]

INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PENDING_APPLICANTS = 4
MAIN_SLUG = "yangguang"


def invitation_code(slug: str, phone: str) -> str:
    """A stable 8-character code for the demo, so a re-run keeps every printed link working."""
    digest = hashlib.sha256(f"demo-invite:{slug}:{phone}".encode()).digest()
    return "".join(INVITE_ALPHABET[b % len(INVITE_ALPHABET)] for b in digest[:8])


def seed_questionnaires() -> dict[str, Questionnaire]:
    found = {}
    for slug, threshold, intro, questions in QUESTIONNAIRES:
        community = Community.objects.filter(slug=slug).first()
        if community is None:
            continue
        questionnaire, _ = Questionnaire.objects.update_or_create(
            community=community, defaults={"threshold": threshold, "intro": intro}
        )
        for position, (text, kind, options) in enumerate(questions, start=1):
            is_text = kind == Question.Kind.TEXT
            question, _ = Question.objects.update_or_create(
                questionnaire=questionnaire,
                position=position,
                defaults={
                    "text": text,
                    "kind": kind,
                    "is_required": not is_text or options[1] > 0,
                    "text_min_length": options[0] if is_text else 0,
                    "text_points": options[1] if is_text else 0,
                },
            )
            if is_text:
                continue
            for choice_position, (choice_text, points) in enumerate(options, start=1):
                Choice.objects.update_or_create(
                    question=question, position=choice_position, defaults={"text": choice_text, "score": points}
                )
        found[slug] = questionnaire
    return found


def seed_invitations() -> int:
    """A personal code for every leader and KOC, for the demo member, and for everyone who has invited someone."""
    referrals = {
        (row["community_id"], row["invited_by_id"]): row["n"]
        for row in Membership.objects.filter(invited_by__isnull=False)
        .values("community_id", "invited_by_id")
        .annotate(n=Count("pk"))
    }
    inviters = Membership.objects.filter(status=Membership.Status.ACTIVE).select_related("user", "community")
    made = 0
    for membership in inviters:
        key = (membership.community_id, membership.user_id)
        if membership.role == Membership.Role.MEMBER and key not in referrals and membership.user.nickname != "王姐":
            continue
        Invitation.objects.update_or_create(
            community=membership.community,
            inviter=membership.user,
            is_personal=True,
            defaults={
                "code": invitation_code(membership.community.slug, membership.user.phone or str(membership.user_id)),
                "uses": referrals.get(key, 0),
                "created_at": membership.joined_at,
            },
        )
        made += 1
    return made


def seed_applications(questionnaires: dict[str, Questionnaire], *, now: datetime) -> int:
    """Members of the other communities who asked to join the main one and scored under its threshold."""
    questionnaire = questionnaires.get(MAIN_SLUG)
    if questionnaire is None:
        return 0
    main = questionnaire.community
    applicants = (
        Membership.objects.filter(status=Membership.Status.ACTIVE, role=Membership.Role.MEMBER)
        .exclude(community=main)
        .exclude(user__memberships__community=main)
        .select_related("user")
        .order_by("user__phone")[:PENDING_APPLICANTS]
    )
    questions = list(questionnaire.questions.prefetch_related("choices"))
    why, meals, about = questions
    answers = {
        str(why.pk): [why.choices.all()[2].pk],
        str(meals.pk): [meals.choices.all()[0].pk],
        str(about.pk): "想试试",
    }
    score = why.choices.all()[2].score + meals.choices.all()[0].score
    made = 0
    for n, membership in enumerate(applicants):
        # An application someone already reviewed in the demo stays as it is.
        if Application.objects.filter(user=membership.user, community=main).exists():
            continue
        Application.objects.create(
            user=membership.user,
            community=main,
            answers=answers,
            score=score,
            created_at=now - timedelta(hours=3 + 5 * n),
        )
        made += 1
    return made


def seed_join_gates(*, now: datetime | None = None) -> None:
    now = now or clock.now()
    questionnaires = seed_questionnaires()
    seed_invitations()
    seed_applications(questionnaires, now=now)
    # The daily rhythm rides along here: seed_demo calls this module once, after people and lives exist.
    seed_rhythm(now=now)


# --- Daily rhythm: columns, posts with pictures, the community feed -------------------------------------------------

# (name, ISO weekdays, time, description, background colour, [(title, text)] newest first)
RHYTHM_COLUMNS = [
    (
        "周一农场日",
        [1],
        time(9, 30),
        "老李的农场本周进展：播种、采摘、天气和土地",
        (76, 140, 74),
        [
            (
                "大棚里的上海青可以采了",
                "这周气温回暖，上海青长得飞快。老李说再过三天就是最嫩的时候，周三直播现场采给大家看。\n\n施的是自家发酵的羊粪，没有打过一滴农药。",
            ),
            (
                "新开的一垄土豆地",
                "上周翻了地、晒了三天太阳，今天种下了明年春天的土豆。老李说：土地也要休息，轮着种才有劲。",
            ),
        ],
    ),
    (
        "周三食谱日",
        [3],
        time(20, 0),
        "用本周到货的菜，做一道十五分钟的家常菜",
        (214, 98, 56),
        [
            (
                "蒜蓉上海青：三分钟出锅",
                "1. 上海青对半切开，洗净沥干\n2. 热锅凉油，下蒜末炒香\n3. 大火下菜，翻炒一分钟，加少许盐\n4. 出锅前淋一点点蚝油\n\n关键：火要大，时间要短，菜才脆。",
            ),
            (
                "番茄炒蛋的秘诀",
                "先炒蛋，盛出；再炒番茄，炒出汁以后把蛋倒回去。\n最后加一小勺糖，酸甜更柔和。孩子最爱。",
            ),
        ],
    ),
    (
        "周五答疑日",
        [5],
        time(20, 0),
        "团长集中回答大家这一周的问题",
        (52, 110, 170),
        [
            (
                "有机蔬菜怎么保存更久？",
                "问：买回来的青菜两天就蔫了怎么办？\n答：不要洗，用厨房纸包好装进保鲜袋，竖着放进冰箱冷藏室，能放四五天。",
            ),
            (
                "自提点的取货时间",
                "问：下班晚了还能取货吗？\n答：各自提点营业到晚上八点；来不及的话在群里说一声，团长帮你留到第二天中午。",
            ),
        ],
    ),
]
# Goes out a few minutes after the seed runs, so a running worker visibly publishes it.
UPCOMING_POST = (
    "周五答疑日",
    "本周答疑：冬天囤菜怎么存？",
    "这周大家问得最多的是囤菜。今晚八点团长在群里集中回答，先把问题发在群里吧！",
)
UPCOMING_POST_MINUTES = 3
RHYTHM_SLUGS = ("yangguang", "cuihu", "binjiang")


def _demo_picture(name: str, colour: tuple[int, int, int], title: str) -> str:
    """A simple 1200×900 picture for a demo post, drawn once and shared by every community."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image, ImageDraw

    path = f"posts/demo-{name}.jpg"
    if default_storage.exists(path):
        return path
    picture = Image.new("RGB", (1200, 900), colour)
    draw = ImageDraw.Draw(picture)
    light = tuple(min(255, c + 60) for c in colour)
    for i in range(6):
        x, y = 120 + i * 170, 520 + (i % 2) * 90
        draw.ellipse((x, y, x + 150, y + 150), fill=light)
    draw.rounded_rectangle((80, 80, 1120, 400), radius=36, fill=(255, 255, 255))
    try:
        from groupbuy.posters import _font

        draw.text((130, 170), title[:14], font=_font(72), fill=colour)
        draw.text((130, 290), "源味集 · 社群动态", font=_font(40), fill=(120, 120, 120))
    except Exception:  # no CJK font on this machine: the picture stays without words
        pass
    buffer = BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return default_storage.save(path, ContentFile(buffer.getvalue()))


def seed_rhythm(*, now: datetime) -> int:
    """Columns 周一农场日 / 周三食谱日 / 周五答疑日 in every demo community, their two latest posts each
    (published, with a picture, in the feed), one post due in a few minutes in the main community, and
    feed entries for the announced live and (through jielong's subscriber) the opened jielong. Rows are found by natural keys: column
    by name, post by title, picture by position, feed entry by source."""
    from django.urls import reverse

    from community import rhythm
    from community.models import Column, FeedItem, Post, PostImage
    from jielong.events import CampaignOpened
    from jielong.models import Campaign
    from jielong.subscribers import add_opened_campaign_to_feeds
    from livestream.models import LiveSession

    made = 0
    for community in Community.objects.filter(slug__in=RHYTHM_SLUGS).order_by("pk"):
        leader = (
            Membership.objects.filter(community=community, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE)
            .select_related("user")
            .order_by("pk")
            .first()
        )
        for n, (name, weekdays, at, description, colour, posts) in enumerate(RHYTHM_COLUMNS):
            column, _ = Column.objects.update_or_create(
                community=community,
                name=name,
                defaults={"weekdays": weekdays, "time_of_day": at, "description": description, "is_active": True},
            )
            # The column's latest slots before now, newest first: one a week.
            slot = rhythm.column_next_slot(column, after=now - timedelta(days=7))
            for k, (title, text) in enumerate(posts):
                when = slot - timedelta(days=7 * k)
                post, _ = Post.objects.update_or_create(
                    community=community,
                    title=title,
                    defaults={
                        "column": column,
                        "author": leader.user if leader else None,
                        "text": text,
                        "scheduled_at": when,
                        "status": Post.Status.PUBLISHED,
                        "published_at": when,
                        "leader_copy": f"{column.tag}{title}\n{text}",
                    },
                )
                picture = _demo_picture(f"{n}-{k}", colour, title)
                image, _ = PostImage.objects.update_or_create(
                    post=post, position=0, defaults={"image": picture, "width": 1200, "height": 900}
                )
                FeedItem.objects.update_or_create(
                    community=community,
                    source_key=f"community.post:{post.pk}",
                    defaults={
                        "kind": FeedItem.Kind.POST,
                        "title": f"{column.tag}{title}",
                        "body": text,
                        "url": reverse("community:member-post", args=[post.pk]),
                        "image_url": image.image.url,
                        "published_at": when,
                    },
                )
                made += 1
        if community.slug == MAIN_SLUG:
            column = Column.objects.get(community=community, name=UPCOMING_POST[0])
            post = Post.objects.filter(community=community, title=UPCOMING_POST[1]).first()
            if post is None or post.status == Post.Status.SCHEDULED:
                Post.objects.update_or_create(
                    community=community,
                    title=UPCOMING_POST[1],
                    defaults={
                        "column": column,
                        "author": leader.user if leader else None,
                        "text": UPCOMING_POST[2],
                        "scheduled_at": now + timedelta(minutes=UPCOMING_POST_MINUTES),
                        "status": Post.Status.SCHEDULED,
                        "leader_copy": f"{column.tag}{UPCOMING_POST[1]}\n{UPCOMING_POST[2]}",
                    },
                )
        for session in LiveSession.objects.filter(communities=community, scheduled_start__gt=now):
            FeedItem.objects.update_or_create(
                community=community,
                source_key=f"livestream.session:{session.pk}",
                defaults={
                    "kind": FeedItem.Kind.LIVE,
                    "title": session.title,
                    "body": session.perk_summary,
                    "url": reverse("livestream:member-live", args=[session.pk]),
                    "published_at": min(now - timedelta(hours=2), session.scheduled_start),
                },
            )
    # Opened jielongs reach the feed the way they do in the running app: through jielong's subscriber.
    for campaign in Campaign.objects.filter(communities__slug__in=RHYTHM_SLUGS, opens_at__isnull=False).distinct():
        add_opened_campaign_to_feeds(CampaignOpened(campaign_id=campaign.pk, live_session_id=campaign.live_session_id))
        FeedItem.objects.filter(source_key=f"jielong.campaign:{campaign.pk}").update(published_at=campaign.opens_at)
    return made
