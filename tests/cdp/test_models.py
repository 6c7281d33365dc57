"""The models of cdp on hand-made data: RFM cells, per-person LTV (equal to the BI boards' LTV), the KOC score's
components and ranking, designating a KOC from it, and the LTV/AOV curves."""

from __future__ import annotations

import pytest

from bi import rollups
from bi.metrics import sales
from bi.scope import Scope
from cdp import cohorts, koc, rfm
from cdp.models import KocDesignation
from community.models import Membership
from feedback.models import NpsSurvey
from groupbuy.stream.models import Event
from jielong.ledger import refund_issue
from jielong.models import LedgerEntry
from tests import factories as f
from tests.cdp.scenario import NOW, Builder, day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pinned")]


def _rfm_set():
    s = Builder()
    u1, u2, u3, u4, u5 = (s.person(n) for n in ("u1", "u2", "u3", "u4", "u5"))
    s.order(u1, None, 10000, day(-5))
    s.order(u1, None, 5000, day(-10))
    big = s.order(u2, None, 30000, day(-200))
    s.order(u3, None, 1000, day(-1))
    for offset in (-30, -60, -90):
        s.order(u4, None, 2000, day(offset))
    s.order(u5, None, 9000, day(-400))  # outside the 365 days: no cell
    s.order(u5, None, 9000, day(-2), cancelled=True)  # cancelled: does not count
    refund_issue(order=big, amount_fen=10000, key="cdp-test-refund", by=None, reason="test")
    LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).update(created_at=day(-150))
    return s, (u1, u2, u3, u4, u5)


def test_rfm_cells_are_quintiles_of_recency_frequency_and_net_spend():
    s, (u1, u2, u3, u4, _u5) = _rfm_set()
    cells = rfm.rfm_cells(brand_id=s.brand.pk)

    assert set(cells) == {u1.pk, u2.pk, u3.pk, u4.pk}  # u5: only a cancelled order in the year
    # R (days): u3 1, u1 5, u4 30, u2 200 → 4, 3, 2, 1; F: u4 3, u1 2, u2/u3 1 → 4, 3, 1, 1;
    # M (net): u2 300-100=200, u1 150, u4 60, u3 10 yuan → 4, 3, 2, 1.
    assert {pk: c.code for pk, c in cells.items()} == {
        u1.pk: "R3F3M3",
        u2.pk: "R1F1M4",
        u3.pk: "R4F1M1",
        u4.pk: "R2F4M2",
    }
    assert cells[u2.pk].monetary_fen == 20000
    assert cells[u2.pk].recency_days == 200
    assert {pk: c.key for pk, c in cells.items()} == {
        u1.pk: "important_value",
        u2.pk: "important_winback",
        u3.pk: "general_develop",
        u4.pk: "general_retain",
    }
    counts = {key: n for key, _label, n, _arrows in rfm.cell_counts(cells)}
    assert rfm.cell_counts(cells)[1][3] == "R↑ F↓ M↑"  # important_develop
    assert counts["important_value"] == 1 and counts["general_winback"] == 0 and sum(counts.values()) == 4


def test_rfm_cells_are_per_brand():
    s, _people = _rfm_set()
    other = f.brand("别的品牌")
    assert rfm.rfm_cells(brand_id=other.pk) == {}
    assert len(rfm.rfm_cells(brand_id=s.brand.pk)) == 4


def test_person_ltv_is_the_boards_ltv_per_customer():
    _s, people = _rfm_set()
    ltv = {u.pk: rfm.lifetime_value(user_id=u.pk, until=NOW) for u in people}
    assert ltv == {people[0].pk: 15000, people[1].pk: 20000, people[2].pk: 1000, people[3].pk: 6000, people[4].pk: 9000}
    scope = Scope(
        since=day(-500).date(),
        until=NOW.date(),
        community_ids=None,
        session_ids=(),
        session_picked=False,
        label="",
        params={},
    )
    with rollups.reading(False):  # this builder writes the domain rows only, not the stream the rollups fold
        board = sales.lifetime_value(scope)
    assert board.numerator == sum(ltv.values())
    assert board.denominator == len(ltv)


def _koc_set():
    s = Builder()
    k1, k2 = s.person("k1"), s.person("k2", s.b)
    r1 = s.person("r1", invited_by=k1)
    r2 = s.person("r2", invited_by=k1)
    r3 = s.person("r3", invited_by=r1)
    r4 = s.person("r4", s.b, invited_by=k2)
    c = s.campaign("蔬菜接龙", opens_at=day(-10, 20))
    s.order(k1, c, 1000, day(-10, 20, 2))  # early, and three others followed
    s.order(r1, c, 10000, day(-10, 20, 20))
    s.order(r2, c, 5000, day(-10, 20, 30))
    s.order(r3, c, 3000, day(-10, 20, 40))
    d = s.campaign("鸡蛋接龙", opens_at=day(-5, 20))
    s.order(r4, d, 50000, day(-5, 20, 1))  # early, but nobody followed
    live = s.live("农场直播", -3)
    s.watch(k1, live, 30)
    s.watch(k2, live, 60)
    NpsSurvey.objects.create(
        brand=s.brand, campaign=c, user=k1, community=s.a, created_at=day(-8), score=10, answered_at=day(-8)
    )
    return s, (k1, k2, r1, r2, r3, r4)


def test_koc_score_components_and_ranking():
    s, (k1, k2, r1, _r2, _r3, r4) = _koc_set()
    scores = koc.koc_scores(brand_id=s.brand.pk)
    by_user = {x.user_id: x for x in scores}

    one = by_user[k1.pk]
    assert (one.referral_fen, one.referred_people) == (18000, 3)  # r1 100 + r2 50 + r3 30 (depth 2)
    assert one.led_jielongs == 1
    assert one.watched_seconds == 1800
    assert one.nps == 10
    two = by_user[k2.pk]
    assert (two.referral_fen, two.referred_people, two.led_jielongs, two.watched_seconds, two.nps) == (
        50000,
        1,
        0,
        3600,
        None,
    )
    assert by_user[r4.pk].led_jielongs == 0  # joined first, but nobody followed
    # k1: 40 × 18000/50000 + 25 × 1/1 + 20 × 1800/3600 + 15 × 10/10 = 14.4 + 25 + 10 + 15
    assert one.score == 64.4
    assert two.score == 60.0  # 40 + 0 + 20 + 0
    assert by_user[r1.pk].score == 2.4  # r3 (30 yuan) joined through r1: 40 × 3000/50000
    assert [x.user_id for x in scores[:3]] == [k1.pk, k2.pk, r1.pk]
    assert all(x.score == 0 for x in scores[3:])
    assert one.reasons[0].endswith("(+25)")  # leadership is its largest part
    assert len(one.reasons) == 4
    assert len(two.reasons) == 2  # only the parts that count: referrals and watching


def test_designate_as_koc_uses_the_community_role_and_is_logged():
    s, (k1, *_rest) = _koc_set()
    boss = f.operator()
    membership = Membership.objects.get(user=k1, community=s.a)

    designation = koc.koc_designate(by=boss, membership=membership)

    membership.refresh_from_db()
    assert membership.role == Membership.Role.KOC
    assert (designation.member_id, designation.community_id, designation.by_id, designation.score) == (
        k1.pk,
        s.a.pk,
        boss.pk,
        64.4,
    )
    assert len(designation.reasons) == 4
    assert Event.objects.filter(name="community.role_changed").count() == 1
    assert Event.objects.filter(name="cdp.koc_designated").count() == 1


def test_designation_refused_changes_nothing():
    s, (k1, _k2, r1, *_rest) = _koc_set()
    boss = f.operator()
    leader = s.person("团长", role=Membership.Role.LEADER)
    with pytest.raises(koc.KocRefused):
        koc.koc_designate(by=leader, membership=Membership.objects.get(user=r1))
    k1_membership = Membership.objects.get(user=k1)
    koc.koc_designate(by=boss, membership=k1_membership)
    with pytest.raises(koc.KocRefused) as refused:
        koc.koc_designate(by=boss, membership=Membership.objects.get(user=k1))
    assert "KOC" in refused.value.message
    assert KocDesignation.objects.count() == 1
    assert Membership.objects.get(user=r1).role == Membership.Role.MEMBER


def test_ltv_curves_by_acquisition_and_the_aov_of_live_orders():
    s = Builder()
    viewer = s.person("viewer", joined=-200)
    lonely = s.person("lonely", joined=-200)
    live = s.live("早先的直播", -150)
    s.watch(viewer, live, 40)
    brought = s.person("brought", joined=-100, invited_by=viewer)  # invited by someone who had watched
    plain = s.person("plain", joined=-100, invited_by=lonely)  # invited by someone who never watched
    lc = s.campaign("直播接龙", live=live)
    s.order(brought, None, 3000, day(-90))
    s.order(brought, lc, 9000, day(-60))
    s.order(plain, None, 3000, day(-90))
    models = cohorts.brand_models(brand_id=s.brand.pk)

    groups = {c.key: c for c in models.by_acquisition}
    assert groups["viewer_referral"].customers == 1 and groups["other"].customers == 1
    assert groups["viewer_referral"].points[0] == 3000
    assert groups["viewer_referral"].points[2] == 12000  # 90 and 60 days ago: months 0 and 1 (or 2)
    assert groups["other"].points[2] == 3000
    assert models.aov_live_fen == 9000 and models.aov_other_fen == 3000
    assert models.aov_lift == 2.0  # +200%
