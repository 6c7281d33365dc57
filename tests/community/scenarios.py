"""Scenario helpers shared by the community tests: a scored questionnaire, an invitation-only community,
roster files with every kind of row, and the roster pages' upload and confirm."""

import io

from community.models import Choice, Community, Membership, Question, Questionnaire, User
from tests import factories


def questionnaire(community, threshold=10):
    q = Questionnaire.objects.create(community=community, threshold=threshold)
    why = Question.objects.create(questionnaire=q, text="为什么想加入？", kind=Question.Kind.SINGLE, position=1)
    good = Choice.objects.create(question=why, text="关心食材来源", score=6)
    cheap = Choice.objects.create(question=why, text="图便宜", score=0)
    cook = Question.objects.create(questionnaire=q, text="你平时做饭吗？", kind=Question.Kind.MULTIPLE, position=2)
    daily = Choice.objects.create(question=cook, text="每天做", score=3)
    kids = Choice.objects.create(question=cook, text="给孩子做", score=2)
    about = Question.objects.create(
        questionnaire=q, text="介绍一下你自己", kind=Question.Kind.TEXT, position=3, text_min_length=10, text_points=2
    )
    return q, {"why": why, "good": good, "cheap": cheap, "cook": cook, "daily": daily, "kids": kids, "about": about}


def good_answers(parts, text="我住在阳光花园，喜欢给家人做饭。"):
    return {
        str(parts["why"].pk): str(parts["good"].pk),
        str(parts["cook"].pk): [str(parts["daily"].pk), str(parts["kids"].pk)],
        str(parts["about"].pk): text,
    }


def invited_community(gate=Community.JoinGate.INVITATION):
    community = factories.community(join_gate=gate)
    inviter = factories.member()
    factories.membership(user=inviter, community=community)
    return community, inviter


# --- roster import ---

HEADER = "昵称,手机号,自提点,邀请人"

GOOD_AND_BAD_ROWS = [
    "王阿姨,13812345678,阳光花园,",  # 2 new
    "小李,13812345679,阳光花园,13812345678",  # 3 new, invited by row 2
    ",13812345680,,",  # 4 nickname missing
    "张三,12345,,",  # 5 invalid phone
    "王阿姨的小号,138 1234 5678,,",  # 6 duplicate of row 2
    "赵六,13812345681,不存在站,",  # 7 unknown pickup point
    "孙七,13812345682,老街站,",  # 8 closed pickup point
    "周八,13812345683,,不认识的人",  # 9 unknown inviter
    "老会员,13900000001,,",  # 10 already a member
    "新名字,13900000002,,老会员",  # 11 has an account, not in this community: shown as new; invited by a member
    "回来了,13900000003,阳光花园,",  # 12 left earlier: re-activated
    "被移出,13900000004,,",  # 13 removed: refused
    "员工,13900000005,,",  # 14 staff account: shown as new (not revealed), skipped at confirm
    f"{'长' * 65},13812345684,,",  # 15 nickname too long
    "自己,13812345685,,13812345685",  # 16 own inviter
]

EXPECTED_OUTCOMES = {
    2: ("new", ()),
    3: ("new", ()),
    4: ("invalid", ("The nickname is missing.",)),
    5: ("invalid", ("“12345” is not a valid mobile phone number.",)),
    6: ("duplicate", ("Same phone as row 2; merged into that row, only row 2 is imported.",)),
    7: ("invalid", ("This community has no pickup point called “不存在站”.",)),
    8: ("invalid", ("The pickup point “老街站” is closed.",)),
    9: ("invalid", ("Inviter “不认识的人” is not a member of this community or a row above.",)),
    10: ("already", ()),
    # Issue 10 item 7: rows 11 and 14 said "merged" and "This phone number belongs to a staff account.",
    # revealing accounts outside the community; a number not in this community now always looks new.
    11: ("new", ()),
    12: ("merged", ()),
    13: (
        "invalid",
        ("This person was removed from the community; add them back on their member page if you mean to.",),
    ),
    14: ("new", ()),
    15: ("invalid", ("The nickname is longer than 64 characters.",)),
    16: ("invalid", ("A member cannot be their own inviter.",)),
}


def csv_bytes(lines, *, encoding="utf-8", header=HEADER) -> bytes:
    return "\n".join([header, *lines]).encode(encoding)


def upload(client, community, content: bytes, name: str, *, prefix: str = "/ops/communities"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(f"{prefix}/{community.slug}/import/", {"action": "upload", "file": file}, follow=True)


def confirm(client, community, token, *, prefix="/ops/communities"):
    return client.post(f"{prefix}/{community.slug}/import/", {"action": "confirm", "token": token}, follow=True)


def snapshot():
    return (
        list(User.objects.order_by("pk").values_list("pk", "phone", "nickname")),
        list(Membership.objects.order_by("pk").values_list("pk", "status", "invited_by", "default_pickup_point")),
    )


def outcomes(plan):
    return {row.number: (row.outcome, row.reasons) for row in plan.rows}
