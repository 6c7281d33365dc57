"""Racing phones on PostgreSQL with real threads: two taps on the survey, two tabs posting a review, and the
pickup subscriber racing the sweep — one answer, one review, one survey and one inbox message each."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from feedback.models import NpsSurvey, Review
from feedback.nps import NpsRefused, nps_answer, surveys_ask
from feedback.reviews import ReviewRefused, review_post
from livestream.models import Notification
from tests.feedback.scenario import delivered_day, pick_up

pytestmark = pytest.mark.django_db(transaction=True)


def race(work, n: int = 6) -> list:
    barrier = threading.Barrier(n)
    outcomes: list = []

    def run(i):
        try:
            barrier.wait()
            outcomes.append(("ok", work(i)))
        except Exception as exc:  # every outcome is asserted below
            outcomes.append(("refused", exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_racing_taps_answer_once():
    day = delivered_day(members=2)
    order = day.orders[0]
    pick_up(order)
    surveys_ask(order_ids=[order.pk])
    survey = NpsSurvey.objects.get(user=order.user, campaign=order.campaign)
    outcomes = race(lambda i: nps_answer(survey_id=survey.pk, user=order.user, score=i + 4))
    won = [value for kind, value in outcomes if kind == "ok"]
    lost = [value for kind, value in outcomes if kind == "refused"]
    assert len(won) == 1 and all(isinstance(e, NpsRefused) and e.code == "already_answered" for e in lost)
    survey.refresh_from_db()
    assert survey.score == won[0].score


def test_racing_tabs_post_one_review():
    day = delivered_day(members=2)
    order = day.orders[0]
    pick_up(order)
    outcomes = race(lambda i: review_post(order_id=order.pk, user=order.user, rating=5, text=f"第{i}次"), n=4)
    assert [kind for kind, _v in outcomes].count("ok") == 1
    assert all(isinstance(v, ReviewRefused) for kind, v in outcomes if kind == "refused")
    assert Review.objects.count() == 1


def test_the_subscriber_racing_the_sweep_makes_one_survey_and_one_message_each():
    day = delivered_day(members=4)
    for order in day.orders:
        pick_up(order)  # transaction=True: each pickup's subscriber already ran
    NpsSurvey.objects.all().delete()
    Notification.objects.filter(link__startswith="/m/feedback/nps/").delete()
    race(lambda i: surveys_ask(), n=4)
    pairs = {(o.user_id, o.campaign_id) for o in day.orders}
    assert set(NpsSurvey.objects.values_list("user_id", "campaign_id")) == pairs
    assert NpsSurvey.objects.count() == len(pairs)
    assert Notification.objects.filter(link__startswith="/m/feedback/nps/").count() == len(pairs)
