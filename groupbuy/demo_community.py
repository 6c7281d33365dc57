"""The demo's join gates: questionnaires, personal invitation codes, and a few applications to review.

Called from :func:`groupbuy.demo.seed_demo` after the people exist. Every row is found again by a natural
key (questionnaire by community, question by position, choice by position, personal invitation by
community and inviter, application by applicant and community), so a second run changes no count.
It adds no users: the applicants are members of the other communities asking to join the main one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from community.models import Application, Choice, Community, Invitation, Membership, Question, Questionnaire

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


def _code(slug: str, phone: str) -> str:
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
                "code": _code(membership.community.slug, membership.user.phone or str(membership.user_id)),
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
    now = now or timezone.now()
    questionnaires = seed_questionnaires()
    seed_invitations()
    seed_applications(questionnaires, now=now)
