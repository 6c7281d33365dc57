"""NPS: asked once per member per delivered campaign after pickup (subscriber and sweep), told once in the
inbox, answered once; the arithmetic exactly, per campaign, session, series, community and month."""

from __future__ import annotations

from datetime import timedelta

import pytest

from feedback import events as feedback_events
from feedback.models import NpsSurvey
from feedback.nps import (
    NpsRefused,
    answered,
    band,
    nps_add_reason,
    nps_answer,
    nps_by,
    nps_total,
    nps_value,
    reasons_by_band,
    surveys_ask,
)
from fulfillment.models import Parcel
from groupbuy import clock, events
from jielong.models import Campaign
from livestream.models import Notification
from tests import factories
from tests.feedback.scenario import delivered_day, pick_up

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "promoters, passives, detractors, expected",
    [
        pytest.param(20, 0, 0, 100, id="all-promoters"),
        pytest.param(0, 0, 5, -100, id="all-detractors"),
        pytest.param(0, 7, 0, 0, id="all-passives"),
        pytest.param(19, 1, 0, 95, id="seed-95"),
        pytest.param(10, 5, 5, 25, id="half-promoters-quarter-detractors"),
        pytest.param(2, 1, 0, 67, id="two-thirds-rounds-up"),
        pytest.param(1, 0, 2, -33, id="minus-one-third"),
        pytest.param(1, 7, 0, 13, id="half-up-12.5"),
        pytest.param(0, 7, 1, -13, id="half-away-from-zero-minus-12.5"),
        pytest.param(0, 0, 0, None, id="nobody-answered"),
    ],
)
def test_nps_is_percent_promoters_minus_percent_detractors_as_an_integer(promoters, passives, detractors, expected):
    assert nps_value(promoters=promoters, passives=passives, detractors=detractors) == expected


@pytest.mark.parametrize(
    "score, expected",
    [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter"), (10, "promoter")],
)
def test_score_bands(score, expected):
    assert band(score) == expected


@pytest.fixture
def day():
    return delivered_day(members=3, campaigns=2)


def test_a_pickup_asks_the_member_once_in_the_inbox_with_the_brands_name(day, django_capture_on_commit_callbacks):
    order = day.orders[0]
    with django_capture_on_commit_callbacks(execute=True):
        pick_up(order)  # the member's hand-out may carry their order of the other campaign too
    campaigns = set(
        Parcel.objects.filter(handout__user=order.user, state="picked_up").values_list("order__campaign_id", flat=True)
    )
    surveys = NpsSurvey.objects.filter(user=order.user)
    assert set(surveys.values_list("campaign_id", flat=True)) == campaigns
    assert all(s.notified_at is not None for s in surveys)
    inbox = list(Notification.objects.filter(user=order.user, link__startswith="/m/feedback/nps/"))
    assert len(inbox) == len(campaigns)
    assert "源味集" in inbox[0].body
    # the sweep after it changes nothing
    assert surveys_ask() == 0
    assert NpsSurvey.objects.count() == len(campaigns)
    assert Notification.objects.filter(link__startswith="/m/feedback/nps/").count() == len(campaigns)


def test_the_sweep_asks_when_the_after_commit_hook_was_lost_and_only_once(day):
    picked = [pick_up(order) for order in day.orders if order.campaign_id == day.campaigns[0].pk]
    assert picked and NpsSurvey.objects.count() == 0  # no on-commit ran: the hook was "lost"
    pairs = set(Parcel.objects.filter(state="picked_up").values_list("order__user_id", "order__campaign_id"))
    heard: list = []
    events.subscribe(feedback_events.NpsAsked, heard.append)
    try:
        assert surveys_ask() == len(pairs)
        assert surveys_ask() == 0
    finally:
        events.unsubscribe(feedback_events.NpsAsked, heard.append)
    assert set(NpsSurvey.objects.values_list("user_id", "campaign_id")) == pairs
    assert Notification.objects.filter(link__startswith="/m/feedback/nps/").count() == len(pairs)


def test_the_sweep_leaves_old_pickups_and_undelivered_orders_alone(day):
    order = day.orders[0]
    pick_up(order)
    Parcel.objects.filter(pk=order.pk).update(picked_up_at=clock.now() - timedelta(days=30))
    Parcel.objects.exclude(pk=order.pk).exclude(state="picked_up").update(state="at_pickup")
    Parcel.objects.filter(state="picked_up").exclude(pk=order.pk).update(picked_up_at=clock.now() - timedelta(days=30))
    assert surveys_ask() == 0
    assert NpsSurvey.objects.count() == 0


def survey_for(day, index: int = 0) -> NpsSurvey:
    order = day.orders[index]
    pick_up(order)
    surveys_ask(order_ids=[order.pk])
    return NpsSurvey.objects.get(user=order.user, campaign=order.campaign)


def test_a_member_answers_once_and_a_second_answer_changes_nothing(day):
    survey = survey_for(day)
    heard: list = []
    events.subscribe(feedback_events.NpsAnswered, heard.append)
    try:
        nps_answer(survey_id=survey.pk, user=survey.user, score="9", reason=" 菜新鲜 ")
        with pytest.raises(NpsRefused) as refused:
            nps_answer(survey_id=survey.pk, user=survey.user, score=0, reason="改主意")
    finally:
        events.unsubscribe(feedback_events.NpsAnswered, heard.append)
    assert refused.value.code == "already_answered"
    survey.refresh_from_db()
    assert (survey.score, survey.reason) == (9, "菜新鲜")


def test_events_of_an_answer(day, django_capture_on_commit_callbacks):
    survey = survey_for(day)
    heard: list = []
    events.subscribe(feedback_events.NpsAnswered, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            nps_answer(survey_id=survey.pk, user=survey.user, score=10)
    finally:
        events.unsubscribe(feedback_events.NpsAnswered, heard.append)
    assert [(e.survey_id, e.campaign_id, e.score) for e in heard] == [(survey.pk, survey.campaign_id, 10)]


@pytest.mark.parametrize("score", [-1, 11, "ten", None, ""])
def test_a_score_outside_0_to_10_is_refused(day, score):
    survey = survey_for(day)
    with pytest.raises(NpsRefused) as refused:
        nps_answer(survey_id=survey.pk, user=survey.user, score=score)
    assert refused.value.code == "score"
    survey.refresh_from_db()
    assert survey.answered_at is None


def test_someone_elses_survey_is_refused(day):
    survey = survey_for(day)
    with pytest.raises(NpsRefused) as refused:
        nps_answer(survey_id=survey.pk, user=factories.member(), score=10)
    assert refused.value.code == "not_found"
    survey.refresh_from_db()
    assert survey.answered_at is None


def make_answers(*, brand, campaign, community, scores, reasons=None, at=None):
    made = []
    for i, score in enumerate(scores):
        user = factories.member()
        made.append(
            NpsSurvey.objects.create(
                brand=brand,
                campaign=campaign,
                community=community,
                user=user,
                created_at=at or clock.now(),
                score=score,
                reason=(reasons or {}).get(i, ""),
                answered_at=at or clock.now(),
            )
        )
    return made


def test_nps_by_campaign_session_series_community_and_month():
    brand = factories.brand()
    spring = factories.community(name="阳光花园", brand=brand)
    river = factories.community(name="滨江一号", brand=brand)
    session = factories.live_session(title="老李带你逛大棚")
    a = factories.campaign(title="上海青", live_session=session)
    b = factories.campaign(title="土鸡蛋")
    now = clock.now()
    last_month = now - timedelta(days=40)
    make_answers(brand=brand, campaign=a, community=spring, scores=[10, 10, 9, 8, 3])  # 3p 1n 1d → 40
    make_answers(brand=brand, campaign=a, community=river, scores=[10, 6, 6])  # 1p 0n 2d → -33
    make_answers(brand=brand, campaign=b, community=river, scores=[9, 9, 9, 7], at=last_month)  # 3p 1n → 75
    surveys = answered(brand=brand)
    total = nps_total(surveys)
    assert (total.answers, total.promoters, total.passives, total.detractors, total.nps) == (12, 7, 2, 3, 33)

    def table(group):
        return {row.label: (row.answers, row.nps) for row in nps_by(surveys, group=group)}

    assert table("campaign") == {"上海青": (8, 13), "土鸡蛋": (4, 75)}
    assert table("community") == {"阳光花园": (5, 40), "滨江一号": (7, 29)}  # 4p 1n 2d: 28.57 → 29
    assert table("session") == {"老李带你逛大棚": (8, 13), "—": (4, 75)}
    assert table("series") == {session.series.title: (8, 13), "—": (4, 75)}
    by_month = nps_by(surveys, group="period")
    assert [(row.answers, row.nps) for row in by_month] == [(8, 13), (4, 75)]
    since = (now - timedelta(days=7)).date()
    assert nps_total(answered(brand=brand, since=since)).answers == 8


def test_reasons_are_read_by_score_band_newest_first():
    brand = factories.brand()
    home = factories.community(brand=brand)
    c = factories.campaign()
    make_answers(
        brand=brand,
        campaign=c,
        community=home,
        scores=[2, 7, 10, 10],
        reasons={0: "鸡蛋碎了", 1: "还行", 2: "很新鲜", 3: ""},
    )
    got = reasons_by_band(answered(brand=brand))
    assert {key: [s.reason for s in rows] for key, rows in got.items()} == {
        "detractor": ["鸡蛋碎了"],
        "passive": ["还行"],
        "promoter": ["很新鲜"],
    }


def test_a_campaign_without_answers_has_no_nps():
    brand = factories.brand()
    assert nps_total(answered(brand=brand)).nps is None
    assert Campaign.objects.count() == 0


def test_a_reason_may_follow_the_one_tap_answer_once_and_never_changes_the_score(day):
    survey = survey_for(day)
    with pytest.raises(NpsRefused) as refused:
        nps_add_reason(survey_id=survey.pk, user=survey.user, reason="先写原因")
    assert refused.value.code == "not_answered"
    nps_answer(survey_id=survey.pk, user=survey.user, score=8)
    nps_add_reason(survey_id=survey.pk, user=survey.user, reason=" 送得有点晚 ")
    with pytest.raises(NpsRefused) as refused:
        nps_add_reason(survey_id=survey.pk, user=survey.user, reason="改一下")
    assert refused.value.code == "already_answered"
    survey.refresh_from_db()
    assert (survey.score, survey.reason) == (8, "送得有点晚")
