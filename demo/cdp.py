"""The demo's saved segments (人群包, issue 14 item 5): the three rules the article's operators start from,
saved by 林峰 so that 客户数据 → 人群 and the upcoming live's 按人群推送 have something to offer on first run.

They are rules, counted when a page opens, so where they sit in the story does not matter. Idempotent: a
segment already saved under its name is left as it is (the operator may have changed it).
"""

from __future__ import annotations

from datetime import datetime

from cdp import segments
from cdp.models import Segment
from community.models import Brand, User
from groupbuy.stream import envelope as stream_envelope

# (name, rule): the article's examples.
DEMO_SEGMENTS = [
    (
        "看了直播还没下单",
        {
            "match": "all",
            "conditions": [
                {"field": "watched_last_lives", "window": 2, "op": "gte", "value": 30},
                {"field": "orders_in_days", "window": 30, "op": "eq", "value": 0},
            ],
        },
    ),
    ("KOC 分前20名", {"match": "all", "conditions": [{"field": "koc_rank", "op": "top", "value": 20}]}),
    (
        "本月经推荐入群的新成员",
        {
            "match": "all",
            "conditions": [{"field": "joined_in_days", "window": "month", "op": "is", "value": "referral"}],
        },
    ),
]


def seed_segments(*, brand: Brand, operator: User, at: datetime) -> list[Segment]:
    """林峰 saves them at ``at`` (the stream dates the events then)."""
    saved = []
    for name, rule in DEMO_SEGMENTS:
        segment = Segment.objects.filter(brand=brand, name=name).first()
        if segment is None:
            with stream_envelope.context(occurred_at=at):
                segment = segments.segment_save(by=operator, brand=brand, name=name, rule=rule, now=at)
        saved.append(segment)
    return saved
