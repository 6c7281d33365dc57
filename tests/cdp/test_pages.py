"""The operator pages: member 360 (operators yes, leaders no; the unmask logged), the models page with the KOC
designation, the segment builder (save, live count, refusals with the form kept) and the session page's
audience section."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cdp import segments
from cdp.models import PhoneUnmask, RoundAudience, Segment
from community.models import Membership
from groupbuy.stream.models import Event
from livestream.models import LiveSession, WarmupRound
from tests import factories as f
from tests.cdp.scenario import NOW, Builder, day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pinned")]


@pytest.fixture
def data():
    s = Builder()
    k1 = s.person("朵朵妈妈")
    r1 = s.person("小王", invited_by=k1)
    s.order(r1, None, 5000, day(-3))
    s.order(k1, None, 2000, day(-20))
    live = s.live("农场主来了", -2)
    s.watch(k1, live, 50)
    leader_here = s.person("阳光团长", role=Membership.Role.LEADER)
    leader_there = s.person("翠湖团长", s.b, role=Membership.Role.LEADER)
    return s, k1, r1, leader_here, leader_there


def test_member_360_shows_an_operator_everything_with_the_phone_masked(client, data):
    _s, k1, _r1, *_ = data
    client.force_login(f.operator())
    page = client.get(reverse("cdp:member", args=[k1.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "朵朵妈妈" in html and k1.masked_phone in html
    assert k1.phone not in html and k1.phone[3:] not in html
    assert "小王" in html  # the referral tree
    assert "农场主来了" in html  # watch time per live
    assert "¥20.00" in html  # GMV / LTV
    assert PhoneUnmask.objects.count() == 0


def test_unmask_shows_the_full_number_once_and_logs_it(client, data):
    _s, k1, *_ = data
    boss = f.operator()
    client.force_login(boss)
    page = client.post(reverse("cdp:member", args=[k1.pk]), {"action": "unmask"})
    assert page.status_code == 200
    assert k1.phone in page.content.decode()
    log = PhoneUnmask.objects.get()
    assert (log.viewer_id, log.member_id, log.at) == (boss.pk, k1.pk, NOW)
    assert Event.objects.filter(name="cdp.phone_unmasked").count() == 1
    again = client.get(reverse("cdp:member", args=[k1.pk])).content.decode()
    assert k1.phone not in again  # shown for that answer only
    assert "运营查看了完整手机号" in again  # the timeline (the stream) shows it too


@pytest.mark.parametrize("who", ["leader_here", "leader_there", "member"])
def test_member_360_refuses_everyone_but_operators_and_logs_nothing(client, data, who):
    _s, k1, r1, leader_here, leader_there = data
    viewer = {"leader_here": leader_here, "leader_there": leader_there, "member": r1}[who]
    client.force_login(viewer)
    page = client.get(reverse("cdp:member", args=[k1.pk]))
    assert page.status_code == 403
    assert "运营" in page.content.decode() or "operators" in page.content.decode()
    assert k1.masked_phone not in page.content.decode()
    unmask = client.post(reverse("cdp:member", args=[k1.pk]), {"action": "unmask"})
    assert unmask.status_code == 403
    assert k1.phone not in unmask.content.decode()
    assert PhoneUnmask.objects.count() == 0


def test_models_page_ranks_kocs_and_designates_one(client, data):
    s, k1, *_ = data
    client.force_login(f.operator())
    page = client.get(reverse("cdp:home"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("朵朵妈妈") < html.index("小王")  # k1 ranks first
    membership = Membership.objects.get(user=k1, community=s.a)
    done = client.post(reverse("cdp:koc-designate"), {"membership": membership.pk}, follow=True)
    assert done.status_code == 200
    membership.refresh_from_db()
    assert membership.role == Membership.Role.KOC


def test_the_builder_saves_a_segment_and_counts_live(client, data):
    s, _k1, _r1, *_ = data
    client.force_login(f.operator())
    form = {
        "brand": s.brand.pk,
        "name": "近30天下过单",
        "match": "all",
        "field_0": "orders_in_days",
        "window_0": "30",
        "op_0": "gte",
        "value_0": "1",
    }
    count = client.post(reverse("cdp:segment-count"), form)
    assert count.json()["count"] == 2  # r1 3 days ago, k1 20 days ago
    saved = client.post(reverse("cdp:segments"), form)
    segment = Segment.objects.get()
    assert saved.status_code == 302 and saved.url == reverse("cdp:segment", args=[segment.pk])
    assert segment.rule == {
        "match": "all",
        "conditions": [{"field": "orders_in_days", "op": "gte", "window": 30, "value": 1}],
    }
    page = client.get(reverse("cdp:segment", args=[segment.pk])).content.decode()
    assert "朵朵妈妈" in page and "小王" in page
    listing = client.get(reverse("cdp:segments")).content.decode()
    assert "近30天下过单" in listing


def test_the_builder_refuses_a_bad_rule_with_a_message_and_keeps_the_form(client, data):
    s, *_ = data
    client.force_login(f.operator())
    form = {
        "brand": s.brand.pk,
        "name": "一年多",
        "field_0": "orders_in_days",
        "window_0": "900",
        "op_0": "gte",
        "value_0": "1",
    }
    page = client.post(reverse("cdp:segments"), form)
    assert page.status_code == 400
    html = page.content.decode()
    assert "366" in html and 'value="900"' in html and 'value="一年多"' in html
    assert Segment.objects.count() == 0
    count = client.post(reverse("cdp:segment-count"), form)
    assert count.status_code == 400 and "366" in count.json()["error"]
    broken = client.post(reverse("cdp:segments"), {"brand": s.brand.pk, "name": "坏的", "rule_json": "{nope"})
    assert broken.status_code == 400 and Segment.objects.count() == 0


def test_the_session_page_aims_a_round_at_a_segment(client, data):
    s, _k1, _r1, *_ = data
    boss = f.operator()
    segment = segments.segment_save(
        by=boss,
        brand=s.brand,
        name="近30天下过单",
        rule={"conditions": [{"field": "orders_in_days", "window": 30, "op": "gte", "value": 1}]},
    )
    session = s.live("下周直播", 3, status=LiveSession.Status.SCHEDULED)
    round_ = WarmupRound.objects.create(session=session, kind="teaser", send_at=day(1), title="悬念海报")
    client.force_login(boss)
    page = client.get(reverse("livestream:ops-session", args=[session.pk])).content.decode()
    assert 'id="cdp-audience"' in page and "近30天下过单" in page
    done = client.post(reverse("cdp:round-target", args=[round_.pk]), {"segment": segment.pk})
    assert done.status_code == 302
    assert RoundAudience.objects.get().segment == segment
    plan = client.get(reverse("livestream:ops-session", args=[session.pk])).content.decode()
    assert "人群：近30天下过单" in plan  # the warm-up plan names the segment as the round's audience
    invite = client.post(reverse("cdp:session-invite", args=[session.pk]), {"segment": segment.pk, "title": ""})
    assert invite.status_code == 302
    assert RoundAudience.objects.filter(is_invitation=True).count() == 1


def test_member_360_leaves_out_a_segment_whose_saved_rule_is_no_longer_valid(client, data):
    s, k1, *_ = data
    boss = f.operator()
    segments.segment_save(
        by=boss,
        brand=s.brand,
        name="下过单",
        rule={"conditions": [{"field": "orders_in_days", "window": 365, "op": "gte", "value": 1}]},
    )
    Segment.objects.create(brand=s.brand, name="改坏了的分群", rule={}, created_by=boss)  # edited outside the builder
    client.force_login(boss)
    page = client.get(reverse("cdp:member", args=[k1.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "下过单" in html and "改坏了的分群" not in html
