"""Each metric of the glossary on the hand-made data set (tests/bi/scenario.py), against its hand-computed value.
The test names carry the formula; the docstring of the scenario says who did what."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bi import charts, metrics
from bi.scope import scope_resolve
from tests.bi import scenario
from tests.bi.scenario import NOW, by_name

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pinned")]


@pytest.fixture
def operator():
    return scenario.operator()


def _all(operator):
    return scope_resolve(viewer=operator)


def _session(operator, data):
    return scope_resolve(viewer=operator, session_id=data.s1.pk)


def test_community_to_viewer__members_who_watched_a_session_aimed_at_them_over_members_aimed_at(data, operator):
    # S1 aims at A: la, a1–a9 (a10 joined after, a11 left); S2 at B: lb, b1–b3. Watched one aimed at them:
    # la, a1–a5 (S1) and b1, b2 (S2) — b1's S1 watch is not one aimed at B.
    assert metrics.community_to_viewer(_all(operator)) == metrics.Figure(8 / 14, 8, 14)
    assert metrics.community_to_viewer(_session(operator, data)) == metrics.Figure(6 / 10, 6, 10)
    people = metrics.community_to_viewer_people(_session(operator, data), "numerator")
    assert by_name(people) == ["a1", "a2", "a3", "a4", "a5", "la"]
    assert len(metrics.community_to_viewer_people(_session(operator, data), "denominator")) == 10


def test_viewer_to_joiner__viewers_with_an_uncancelled_order_in_that_sessions_jielong_over_viewers(data, operator):
    # S1's viewers: la, a1–a5, b1 = 7. Joined C1 and not cancelled: la, a1, a3, b1 (a2 cancelled: not counted;
    # a6 ordered without watching: on neither side). With the cancelled joiner it would have been 5 / 7.
    assert metrics.viewer_to_joiner(_session(operator, data)) == metrics.Figure(4 / 7, 4, 7)
    assert by_name(metrics.viewer_to_joiner_people(_session(operator, data), "numerator")) == ["a1", "a3", "b1", "la"]
    # Both sessions: b2 watched S2 and joined C2; b1 counts once.
    assert metrics.viewer_to_joiner(_all(operator)) == metrics.Figure(5 / 8, 5, 8)


def test_gmv_gross__sum_of_uncancelled_order_amounts(data, operator):
    # In the last 30 days: 30.00 + 20.00 + 15.00 + 5.00 + 8.00 (C1) + 12.00 (C2); a2's cancelled 10.00 and
    # a1's C0 order two months ago do not count. S1 alone: C1's 78.00.
    assert metrics.gmv_gross(_all(operator)) == metrics.Figure(9000)
    assert metrics.gmv_gross(_session(operator, data)) == metrics.Figure(7800)
    assert len(metrics.METRICS["gmv_gross"].people(_all(operator), "numerator")) == 6


def test_gmv_net__gross_minus_ledger_refunds(data, operator):
    assert metrics.gmv_net(_all(operator)) == metrics.Figure(9000 - 500)
    rows = {r.name: r.detail for r in metrics.METRICS["gmv_net"].people(_all(operator), "numerator")}
    assert rows["la"] == "¥25.00"


def test_average_order_value__gross_gmv_over_order_count(data, operator):
    assert metrics.average_order_value(_all(operator)) == metrics.Figure(1500, 9000, 6)
    assert metrics.average_order_value(_session(operator, data)) == metrics.Figure(1560, 7800, 5)


def test_aov_live_lift__aov_of_live_driven_orders_over_aov_of_other_orders_minus_1(data, operator):
    # Last 30 days: every order came from a live's jielong, so there is nothing to compare with.
    assert metrics.aov_live_lift(_all(operator)) == metrics.Figure(None)
    # Over the year: C1 and C2's six orders average 15.00, a1's C0 order (no live) 40.00 → 15 / 40 − 1 = −62.5%.
    year = scope_resolve(viewer=operator, since=scenario.day(-364).date(), until=NOW.date())
    assert metrics.aov_live_lift(year) == metrics.Figure(1500 / 4000 - 1)
    assert len(metrics.aov_live_lift_people(year, "numerator")) == 6


def test_average_watch__seconds_watched_over_viewer_sessions_over_60(data, operator):
    # (3600+3000+2400+1800+1200+600+600) + (1200+1800) = 16200 s over 9 watch records = 30 min.
    assert metrics.average_watch(_all(operator)) == metrics.Figure(30.0)
    # S1 alone: 13200 / 7 = 1885.7 s = 31.4 min.
    assert metrics.average_watch(_session(operator, data)) == metrics.Figure(31.4)


def test_peak_online__max_over_sessions_of_most_online_at_once(data, operator):
    assert metrics.peak_online(_all(operator)) == metrics.Figure(7)
    # The busiest moment of S1 is 20:50, when a5 and b1 came: all seven of its viewers are online.
    assert len(metrics.peak_online_people(_all(operator), "numerator")) == 7


def test_monthly_active__members_active_in_the_last_30_days_over_members(data, operator):
    # Members at the end: A's la, a1–a10 (11) and B's lb, b1–b3 (4). Active: la, a1–a5 and b1, b2 watched, a6
    # reserved and ordered, a7 commented, a10 joined; a8 (50 days ago), a9, lb and b3 were not.
    assert metrics.monthly_active(_all(operator)) == metrics.Figure(11 / 15, 11, 15)
    assert "a8" not in by_name(metrics.monthly_active_people(_all(operator), "numerator"))


def test_referral_share__new_customers_invited_by_a_live_viewer_over_new_customers(data, operator):
    # Customers in the period: la, a1, a3, a6, b1, b2; a1 bought before (C0), so 5 are new. Invited by someone
    # who watched: a3 (by a1) and b2 (by b1); a6's inviter a7 and b1's inviter lb never watched.
    assert metrics.referral_share(_all(operator)) == metrics.Figure(2 / 5, 2, 5)
    assert by_name(metrics.referral_share_people(_all(operator), "numerator")) == ["a3", "b2"]


def test_lifetime_value__net_gmv_of_all_customers_so_far_over_customers(data, operator):
    # 40.00 (C0) + 90.00 − 5.00 refunded = 125.00 over la, a1, a3, a6, b1, b2 → ¥20.83.
    assert metrics.lifetime_value(_all(operator)) == metrics.Figure(2083, 12500, 6)
    trend = charts.monthly_trend(_all(operator))
    assert len(trend) == 12 and trend[-1]["lifetime_value"] == 2083


def test_ltv_change__ltv_at_the_periods_end_over_ltv_at_its_start_minus_one(data, operator):
    # At the start of the last 30 days only a1 had ordered (C0, 40.00 → ¥40.00); at the end ¥20.83 (above).
    assert metrics.ltv_change(_all(operator)) == metrics.Figure(2083 / 4000 - 1)
    # Nobody had ordered before a period that starts 90 days back: no change to show.
    assert metrics.ltv_change(scope_resolve(viewer=operator, since=NOW.date() - timedelta(days=89))).value is None


def test_nps__percent_promoters_minus_percent_detractors(data, operator):
    # Scores 10, 9, 6, 8: (2 − 1) / 4 = 25.
    assert metrics.net_promoter(_all(operator)) == metrics.Figure(25, 1, 4)
    # S1's jielong only: 10, 9, 6 → (2 − 1) / 3 = 33.
    assert metrics.net_promoter(_session(operator, data)).value == 33


def test_perk_sellout__nth_perk_order_time_minus_opening(data, operator):
    # C1 opened 20:55; its second (last) first-N place went to a1 at 21:01.
    assert metrics.perk_sellout(_all(operator)) == metrics.Figure(6.0, 1, 1)
    assert by_name(metrics.perk_sellout_people(_all(operator), "numerator")) == ["a1", "la"]


def test_delivery_on_time__parcels_at_the_point_by_noon_over_parcels_due(data, operator):
    # Due: la, a1, a3, a6 (C1) and b2 (C2); b1's was out of stock. On time: la 09:00, a1 11:30, b2 08:00;
    # a3 arrived 13:00, a6 was only handed over at 12:30.
    assert metrics.delivery_on_time(_all(operator)) == metrics.Figure(3 / 5, 3, 5)


def test_delivery_on_time__counts_parcels_so_a_customer_with_two_due_counts_twice(data, operator):
    from fulfillment.models import Parcel

    # b2 orders again in C0 yesterday; that parcel was due by noon today and is still on its way: 3 of 6 parcels.
    # Counted by customer it would read 3 of 5 (b2 on time once).
    scenario.b2_orders_again(data, ordered=scenario.day(-1, 22), delivery=NOW.date(), state=Parcel.State.SHIPPED)
    assert metrics.delivery_on_time(_all(operator)) == metrics.Figure(3 / 6, 3, 6)
    rows = {r.name: r.detail for r in metrics.delivery_on_time_people(_all(operator), "denominator")}
    assert rows[data["b2"].display_name] == f"{scenario.day(-1).date()}, {NOW.date()}"
    on_time = {r.name: r.detail for r in metrics.delivery_on_time_people(_all(operator), "numerator")}
    assert on_time[data["b2"].display_name] == f"{scenario.day(-1).date()}"


def test_pickup_rate__picked_up_over_parcels_that_reached_the_point(data, operator):
    # At the point: la, a1, a3, a6, b2; a3 was not collected.
    assert metrics.pickup_rate(_all(operator)) == metrics.Figure(4 / 5, 4, 5)


def test_the_funnel_counts_each_step_within_the_one_before(data, operator):
    steps = {s.key: s.count for s in charts.funnel(_session(operator, data))}
    assert steps == {"members": 10, "reserved": 4, "watched": 6, "joined": 3, "picked_up": 2}
    assert by_name(charts.funnel_people(_session(operator, data), "picked_up")) == ["a1", "la"]


def test_cohorts_are_by_month_of_first_order(data, operator):
    result = charts.cohorts(_all(operator))
    # a1's first order was two months back (its month +2 is this month); the five others are this month's.
    last = result["cohorts"].index(NOW.strftime("%Y-%m"))
    assert result["sizes"][last] == 5
    first_of_a1 = result["cohorts"].index(scenario.day(-60).strftime("%Y-%m"))
    assert result["sizes"][first_of_a1] == 1
    assert result["cohorts"][0] == scenario.day(-60).strftime("%Y-%m")  # no empty months above the first cohort
    offset = last - first_of_a1
    assert [offset, first_of_a1, 100, 1] in result["cells"]
    assert by_name(charts.cohort_people(_all(operator), scenario.day(-60).strftime("%Y-%m"), offset)) == ["a1"]


def test_every_metric_is_in_the_glossary_registry_with_a_formula():
    assert set(metrics.METRICS) == {
        "community_to_viewer",
        "viewer_to_joiner",
        "gmv_gross",
        "gmv_net",
        "average_order_value",
        "aov_live_lift",
        "average_watch",
        "peak_online",
        "monthly_active",
        "referral_share",
        "lifetime_value",
        "ltv_change",
        "nps",
        "perk_sellout",
        "delivery_on_time",
        "pickup_rate",
    }
    assert all(str(m.formula) and str(m.counts) for m in metrics.METRICS.values())
