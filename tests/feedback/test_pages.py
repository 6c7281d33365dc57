"""The feedback pages through the test client: reachable from the order page, the member home, the campaign
page and the operator's nav; refusals shown, nothing changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from feedback.models import NpsSurvey, Review
from feedback.nps import surveys_ask
from feedback.reviews import review_post
from fulfillment.models import Parcel
from tests import factories
from tests.feedback.scenario import delivered_day, leader_of, photo, pick_up

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def day():
    return delivered_day()


def order_page(client, order):
    return client.get(reverse("jielong:member-order", args=[order.pk])).content.decode()


def test_the_order_page_offers_a_review_only_once_picked_up(client, day):
    order = day.orders[0]
    client.force_login(order.user)
    review_url = reverse("feedback:member-review", args=[order.pk])
    assert review_url not in order_page(client, order)
    assert client.get(review_url).status_code == 302  # not picked up: back to the order page with a message
    pick_up(order)
    surveys_ask(order_ids=[order.pk])
    page = order_page(client, order)
    assert review_url in page
    survey = NpsSurvey.objects.get(user=order.user, campaign=order.campaign)
    assert reverse("feedback:member-nps", args=[survey.pk]) in page
    home = client.get(reverse("community:member-home")).content.decode()
    assert review_url in home and reverse("feedback:member-nps", args=[survey.pk]) in home


def test_a_member_posts_a_review_with_a_photo_and_the_order_page_shows_it(client, day):
    order = day.orders[0]
    pick_up(order)
    client.force_login(order.user)
    url = reverse("feedback:member-review", args=[order.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"rating": "5", "text": "很新鲜", "photos": [photo()]})
    assert response.status_code == 302
    review = Review.objects.get(order=order)
    assert (review.rating, review.photo_count) == (5, 1)
    page = order_page(client, order)
    assert 'id="my-review"' in page and "很新鲜" in page
    again = client.post(url, {"rating": "1", "text": "x"})
    assert again.status_code == 400
    assert Review.objects.count() == 1
    campaign_page = client.get(reverse("jielong:member-campaign", args=[order.campaign_id])).content.decode()
    assert 'id="reviews"' in campaign_page and "很新鲜" in campaign_page


def test_a_review_of_someone_elses_order_is_a_404(client, day):
    order = day.orders[0]
    pick_up(order)
    client.force_login(day.orders[1].user)
    url = reverse("feedback:member-review", args=[order.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"rating": "5"}).status_code == 404
    assert not Review.objects.exists()


def test_a_bad_photo_is_shown_as_a_message_and_nothing_is_written(client, day):
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = day.orders[0]
    pick_up(order)
    client.force_login(order.user)
    response = client.post(
        reverse("feedback:member-review", args=[order.pk]),
        {"rating": "5", "photos": [SimpleUploadedFile("a.jpg", b"not an image")]},
    )
    assert response.status_code == 400
    assert 'id="review-error"' in response.content.decode()
    assert not Review.objects.exists()


def test_the_survey_is_answered_with_one_tap_and_a_second_answer_is_refused(client, day):
    order = day.orders[0]
    pick_up(order)
    surveys_ask(order_ids=[order.pk])
    survey = NpsSurvey.objects.get(user=order.user, campaign=order.campaign)
    client.force_login(order.user)
    url = reverse("feedback:member-nps", args=[survey.pk])
    page = client.get(url).content.decode()
    assert all(f'id="nps-{n}"' in page for n in range(11))
    assert client.post(url, {"score": "10", "reason": "好"}).status_code == 302
    second = client.post(url, {"score": "0"})
    assert second.status_code == 400 and 'id="nps-error"' in second.content.decode()
    survey.refresh_from_db()
    assert (survey.score, survey.reason) == (10, "好")
    client.force_login(day.orders[1].user)
    assert client.get(url).status_code == 404


def test_the_leader_page_lists_reviews_with_a_copy_button_and_only_for_leaders(client, day):
    order = day.orders[0]
    pick_up(order)
    review_post(order_id=order.pk, user=order.user, rating=5, text="推荐", photos=[photo()])
    leader = leader_of(day)
    client.force_login(leader)
    home = client.get(reverse("community:member-home")).content.decode()
    assert reverse("feedback:leader-reviews") in home
    page = client.get(reverse("feedback:leader-reviews")).content.decode()
    assert "推荐" in page and "data-copy=" in page
    client.force_login(day.orders[1].user)
    assert client.get(reverse("feedback:leader-reviews")).status_code == 403


def test_operator_pages_list_hide_and_report(client, day):
    order = day.orders[0]
    pick_up(order)
    review = review_post(order_id=order.pk, user=order.user, rating=2, text="不好")
    surveys_ask()
    survey = NpsSurvey.objects.filter(user=order.user).first()
    from feedback.nps import nps_answer

    nps_answer(survey_id=survey.pk, user=order.user, score=3, reason="鸡蛋碎了")
    client.force_login(factories.operator())
    dashboard = client.get(reverse("analytics:ops-dashboard")).content.decode()
    assert reverse("feedback:ops-nps") in dashboard
    campaign_page = client.get(reverse("jielong:ops-campaign", args=[order.campaign_id])).content.decode()
    assert reverse("feedback:ops-reviews") + f"?campaign={order.campaign_id}" in campaign_page
    listing = client.get(reverse("feedback:ops-reviews"))
    assert listing.status_code == 200 and "不好" in listing.content.decode()
    refused = client.post(reverse("feedback:ops-review-hide", args=[review.pk]), {"reason": ""})
    assert refused.status_code == 302
    review.refresh_from_db()
    assert review.hidden_at is None
    client.post(reverse("feedback:ops-review-hide", args=[review.pk]), {"reason": "辱骂"})
    review.refresh_from_db()
    assert review.hidden_reason == "辱骂"
    for group in ("campaign", "session", "series", "community", "period"):
        report = client.get(reverse("feedback:ops-nps"), {"by": group})
        assert report.status_code == 200
    report = client.get(reverse("feedback:ops-nps"), {"campaign": order.campaign_id}).content.decode()
    assert 'id="nps-total">-100<' in report and "鸡蛋碎了" in report


def test_members_cannot_open_operator_pages(client, day):
    client.force_login(day.orders[0].user)
    assert client.get(reverse("feedback:ops-nps")).status_code == 403
    assert client.get(reverse("feedback:ops-reviews")).status_code == 403
    assert Parcel.objects.exists()


def test_a_review_with_words_is_in_the_community_feed_until_hidden(client, day):
    order = day.orders[0]
    pick_up(order)
    review = review_post(order_id=order.pk, user=order.user, rating=5, text="鸡蛋很香", photos=[photo()])
    client.force_login(day.orders[1].user)
    feed = client.get(reverse("community:member-feed")).content.decode()
    assert "鸡蛋很香" in feed and "feed-kind-review" in feed
    from feedback.reviews import review_hide

    review_hide(review_id=review.pk, by=factories.operator(), reason="重复")
    feed = client.get(reverse("community:member-feed")).content.decode()
    assert "鸡蛋很香" not in feed


def test_the_campaign_page_keeps_its_panels_and_a_hidden_review_leaves_them_at_once(client, day, settings):
    """The reviews panel is the same for every member: cached per campaign and language (the join storm
    opens the page again and again), and a review hidden (or posted) shows on the next view."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from feedback.reviews import review_hide

    order = day.orders[0]
    pick_up(order)
    review = review_post(order_id=order.pk, user=order.user, rating=5, text="草莓很甜", photos=[])
    client.force_login(day.orders[1].user)
    url = reverse("jielong:member-campaign", args=[order.campaign_id])

    first = client.get(url).content.decode()
    with CaptureQueriesContext(connection) as again:
        second = client.get(url).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url).content.decode()
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]

    assert "邻居们的评价" in first and "草莓很甜" in first
    assert "草莓很甜" in second
    assert not [q for q in again.captured_queries if "feedback_review" in q["sql"]]
    assert "Neighbours' reviews" in english and "邻居们的评价" not in english

    review_hide(review_id=review.pk, by=factories.operator(), reason="重复")
    assert "草莓很甜" not in client.get(url).content.decode()
