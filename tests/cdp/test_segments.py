"""Segments: rules → counts on hand-made data; bad rules refused with a message and nothing saved; a warm-up
round and a targeted invitation aimed at a segment reach exactly its members."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cdp import audiences, segments
from cdp.models import RoundAudience, Segment
from community.models import Membership
from groupbuy.stream.models import Event
from livestream import warmup
from livestream.models import Delivery, LiveSession, WarmupRound
from tests import factories as f
from tests.cdp.scenario import NOW, Builder, day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pinned")]

WATCHED_NO_ORDER = {
    "match": "all",
    "conditions": [
        {"field": "watched_last_lives", "window": 2, "op": "gte", "value": 30},
        {"field": "orders_in_days", "window": 30, "op": "eq", "value": 0},
    ],
}
REFERRED_THIS_MONTH = {
    "match": "all",
    "conditions": [{"field": "joined_in_days", "window": "month", "op": "is", "value": "referral"}],
}


def _watchers():
    s = Builder()
    old, l1, l2 = s.live("早场", -20), s.live("周一场", -3), s.live("周二场", -2)
    w1, w2, w3, w4, w5 = (s.person(n) for n in ("w1", "w2", "w3", "w4", "w5"))
    s.watch(w1, l1, 20)
    s.watch(w1, l2, 15)  # 35 min over the last two lives, no order → in
    s.watch(w2, l1, 40)
    s.order(w2, None, 1000, day(-10))  # ordered 10 days ago → out
    s.watch(w3, old, 60)  # an older live only → out
    s.watch(w4, l2, 30)
    s.order(w4, None, 1000, day(-40))  # exactly 30 min; the order is older than 30 days → in
    s.watch(w5, l1, 60)
    Membership.objects.filter(user=w5).update(status=Membership.Status.LEFT)  # not a member any more → out
    return s, (w1, w2, w3, w4, w5)


def test_watched_30_min_of_the_last_two_lives_and_no_order_in_30_days():
    s, (w1, _w2, _w3, w4, _w5) = _watchers()
    people = segments.members(brand_id=s.brand.pk, rule=WATCHED_NO_ORDER)
    assert list(people.values_list("pk", flat=True)) == [w1.pk, w4.pk]
    assert segments.count(brand_id=s.brand.pk, rule=WATCHED_NO_ORDER) == 2


def test_any_of_the_conditions_is_their_union():
    s, (w1, w2, _w3, w4, _w5) = _watchers()
    rule = {
        "match": "any",
        "conditions": [
            {"field": "orders_in_days", "window": 30, "op": "gte", "value": 1},
            {"field": "watched_last_lives", "window": 1, "op": "gte", "value": 15},
        ],
    }
    # w2 ordered in 30 days; the last live (周二场) was watched 15+ min by w1 (15) and w4 (30).
    assert set(segments.members(brand_id=s.brand.pk, rule=rule).values_list("pk", flat=True)) == {w1.pk, w2.pk, w4.pk}


def test_new_members_via_referral_this_month():
    s = Builder()
    x = s.person("老会员")
    j1 = s.person("j1", joined=-13, invited_by=x)  # 03-05, referred → in
    s.person("j2", joined=-8)  # this month, not referred → out
    s.person("j3", joined=-21, invited_by=x)  # 02-25: last month → out
    j4 = s.person("j4", s.b, joined=-6, invited_by=x)  # referred this month, but a member of 阳光花园 since 2030
    f.membership(user=j4, community=s.a, joined_at=day(-300))
    assert list(segments.members(brand_id=s.brand.pk, rule=REFERRED_THIS_MONTH).values_list("pk", flat=True)) == [j1.pk]


def test_koc_top_n_rfm_cell_role_and_stream_events():
    s = Builder()
    k1, k2, plain = s.person("k1"), s.person("k2", role=Membership.Role.KOC), s.person("plain")
    r1 = s.person("r1", invited_by=k1)
    s.order(r1, None, 5000, day(-3))
    live = s.live("直播", -2)
    s.watch(k2, live, 20)
    for minutes in (1, 2, 3):
        Event.objects.create(name="livestream.commented", user=plain, occurred_at=day(-1, 20, minutes))
    Event.objects.create(name="livestream.commented", user=k1, occurred_at=day(-40))  # outside 7 days

    def ids(*conditions, match="all"):
        rule = {"match": match, "conditions": list(conditions)}
        return list(segments.members(brand_id=s.brand.pk, rule=rule).values_list("pk", flat=True))

    assert ids({"field": "koc_rank", "op": "top", "value": 1}) == [k1.pk]  # 40 for r1's 50 yuan
    assert ids({"field": "koc_rank", "op": "top", "value": 20}) == [k1.pk, k2.pk]  # nobody else scores
    assert ids({"field": "role", "op": "is", "value": "koc"}) == [k2.pk]
    assert ids({"field": "rfm_cell", "op": "is", "value": "general_winback"}) == [r1.pk]  # one customer: 1-1-1
    assert ids({"field": "event_count", "event": "livestream.commented", "window": 7, "op": "gte", "value": 3}) == [
        plain.pk
    ]
    assert ids({"field": "community", "op": "is", "value": s.a.pk}) == [k1.pk, k2.pk, plain.pk, r1.pk]


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"conditions": [{"field": "orders_in_days", "window": 400, "op": "gte", "value": 1}]}, "366"),
        ({"conditions": [{"field": "orders_in_days", "op": "gte", "value": 1}]}, "1"),
        ({"conditions": [{"field": "watched_last_lives", "window": 50, "op": "gte", "value": 1}]}, "10"),
        ({"conditions": [{"field": "koc_rank", "op": "top", "value": 5000}]}, "1000"),
        ({"conditions": [{"field": "salary", "op": "gte", "value": 1}]}, "salary"),
        ({"conditions": [{"field": "koc_rank", "op": "gte", "value": 1}]}, "gte"),
        ({"conditions": [{"field": "orders_in_days", "window": 30, "op": "gte", "value": "many"}]}, "1"),
        ({"conditions": [{"field": "rfm_cell", "op": "is", "value": "whales"}]}, "1"),
        ({"conditions": [{"field": "event_count", "window": 7, "op": "gte", "value": 1, "event": "'; drop"}]}, "1"),
        ({"conditions": []}, ""),
        ({"conditions": [{"field": "orders_in_days", "window": 30, "op": "gte", "value": 1}] * 7}, "6"),
        ({"match": "most", "conditions": [{"field": "role", "op": "is", "value": "koc"}]}, ""),
        ("everyone", ""),
    ],
    ids=[
        "window-over-366-days",
        "no-window",
        "too-many-lives",
        "top-n-over-1000",
        "unknown-field",
        "operator-not-for-field",
        "value-not-a-number",
        "unknown-cell",
        "bad-event-name",
        "no-conditions",
        "seven-conditions",
        "bad-match",
        "not-a-rule",
    ],
)
def test_bad_rules_are_refused_with_a_message_and_nothing_is_saved(rule, words):
    s = Builder()
    boss = f.operator()
    with pytest.raises(segments.SegmentRuleInvalid) as refused:
        segments.segment_save(by=boss, brand=s.brand, name="坏规则", rule=rule)
    assert refused.value.message
    assert words in refused.value.message
    assert Segment.objects.count() == 0
    assert not Event.objects.filter(name="cdp.segment_saved").exists()


def test_a_rule_that_does_not_parse_is_refused():
    with pytest.raises(segments.SegmentRuleInvalid) as refused:
        segments.rule_parse('{"match": "all", "conditions": [')
    assert refused.value.code == "parse"


def test_a_community_of_another_brand_is_refused():
    s = Builder()
    elsewhere = f.community(brand=f.brand("别的品牌"))
    with pytest.raises(segments.SegmentRuleInvalid):
        segments.segment_save(
            by=f.operator(),
            brand=s.brand,
            name="别人的群",
            rule={"conditions": [{"field": "community", "op": "is", "value": elsewhere.pk}]},
        )
    assert Segment.objects.count() == 0


def test_only_operators_save_segments_and_names_are_unique():
    s = Builder()
    leader = s.person("团长", role=Membership.Role.LEADER)
    with pytest.raises(segments.SegmentRuleInvalid):
        segments.segment_save(by=leader, brand=s.brand, name="我的人群", rule=REFERRED_THIS_MONTH)
    boss = f.operator()
    saved = segments.segment_save(by=boss, brand=s.brand, name="本月裂变新人", rule=REFERRED_THIS_MONTH)
    assert saved.rule == {**REFERRED_THIS_MONTH}
    with pytest.raises(segments.SegmentRuleInvalid):
        segments.segment_save(by=boss, brand=s.brand, name="本月裂变新人", rule=WATCHED_NO_ORDER)
    assert Segment.objects.count() == 1
    assert Event.objects.filter(name="cdp.segment_saved").count() == 1


# --- as an audience ---------------------------------------------------------------------------------


def _scheduled(s: Builder) -> LiveSession:
    session = s.live("下周直播", 3, communities=[s.a], status=LiveSession.Status.SCHEDULED)
    return session


def test_a_warm_up_round_aimed_at_a_segment_reaches_exactly_its_members():
    s, (w1, _w2, _w3, w4, _w5) = _watchers()
    outsider = s.person("翠湖的邻居", s.b)
    s.watch(outsider, LiveSession.objects.get(title="周二场"), 45)  # in the segment, not in the session's community
    boss = f.operator()
    segment = segments.segment_save(by=boss, brand=s.brand, name="看了没买", rule=WATCHED_NO_ORDER)
    session = _scheduled(s)
    targeted = WarmupRound.objects.create(
        session=session, kind=WarmupRound.Kind.TEASER, send_at=day(1), title="悬念海报", send_sms=True
    )
    whole = WarmupRound.objects.create(session=session, kind=WarmupRound.Kind.STORY, send_at=day(1), title="故事")

    audiences.round_target_segment(by=boss, round_=targeted, segment=segment)
    warmup.delivery.rounds_expand_due(now=day(1, 13))

    reached = set(Delivery.objects.filter(round=targeted, channel="inbox").values_list("user_id", flat=True))
    assert reached == {w1.pk, w4.pk, outsider.pk}
    sms = set(Delivery.objects.filter(round=targeted, channel="sms").values_list("user_id", flat=True))
    assert sms == reached
    everyone = set(Delivery.objects.filter(round=whole, channel="inbox").values_list("user_id", flat=True))
    assert everyone == set(
        Membership.objects.filter(community=s.a, status="active").values_list("user_id", flat=True)
    )  # a round without a segment is unchanged
    assert Event.objects.filter(name="cdp.round_targeted").count() == 1


def test_a_sent_round_keeps_its_audience():
    s, _people = _watchers()
    boss = f.operator()
    segment = segments.segment_save(by=boss, brand=s.brand, name="看了没买", rule=WATCHED_NO_ORDER)
    round_ = WarmupRound.objects.create(
        session=_scheduled(s), kind=WarmupRound.Kind.TEASER, send_at=day(1), title="悬念海报"
    )
    warmup.delivery.rounds_expand_due(now=day(1, 13))
    with pytest.raises(audiences.AudienceRefused):
        audiences.round_target_segment(by=boss, round_=round_, segment=segment)
    with pytest.raises(audiences.AudienceRefused):
        audiences.round_target_segment(by=s.person("团长", role="leader"), round_=round_, segment=segment)
    assert RoundAudience.objects.count() == 0


def test_a_targeted_invitation_reaches_the_segment_within_a_minute():
    s, (w1, _w2, _w3, w4, _w5) = _watchers()
    boss = f.operator()
    segment = segments.segment_save(by=boss, brand=s.brand, name="看了没买", rule=WATCHED_NO_ORDER)
    round_ = audiences.segment_invite(by=boss, segment=segment, session=_scheduled(s), title="诚邀您来看直播")

    assert round_.send_at == NOW + timedelta(minutes=1)
    assert RoundAudience.objects.get(round=round_).is_invitation
    warmup.delivery.rounds_expand_due(now=NOW + timedelta(minutes=1))
    assert set(Delivery.objects.filter(round=round_).values_list("user_id", flat=True)) == {w1.pk, w4.pk}


def test_a_segment_of_another_brand_is_refused_as_audience():
    s, _people = _watchers()
    other = f.brand("别的品牌")
    boss = f.operator()
    foreign = Segment.objects.create(brand=other, name="别人的", rule=WATCHED_NO_ORDER, created_by=boss)
    with pytest.raises(audiences.AudienceRefused):
        audiences.segment_invite(by=boss, segment=foreign, session=_scheduled(s), title="邀请")
    assert WarmupRound.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_operators_saving_the_same_name_at_once_make_one_segment():
    import threading

    from django.db import connection

    s = Builder()
    bosses = [f.operator(), f.operator()]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(boss):
        try:
            barrier.wait()
            segments.segment_save(by=boss, brand=s.brand, name="本月裂变新人", rule=REFERRED_THIS_MONTH)
            outcomes.append("saved")
        except segments.SegmentRuleInvalid as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(b,)) for b in bosses]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["name", "saved"]
    assert Segment.objects.count() == 1
    assert Event.objects.filter(name="cdp.segment_saved").count() == 1
