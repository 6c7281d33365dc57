"""Reviews (晒单): only after pickup, only one's own order, once; photos cleaned; shown as social proof; hidden
everywhere by the operator."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from PIL import Image

from community.models import FeedItem
from feedback import events as feedback_events
from feedback import selectors
from feedback.models import Review, ReviewPhoto
from feedback.reviews import MAX_PHOTOS, ReviewRefused, feed_source_key, review_hide, review_post
from fulfillment.models import Parcel
from groupbuy import clock
from groupbuy.errors import DomainError
from groupbuy.images import ImageRejected
from jielong.models import Campaign, CampaignItem
from tests import factories
from tests.feedback.scenario import delivered_day, leader_of, photo, pick_up
from tests.heard import heard as listening

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def heard():
    with listening(feedback_events.ReviewPosted, feedback_events.ReviewHidden) as got:
        yield got


@pytest.fixture
def day():
    return delivered_day()


def nothing_written():
    return Review.objects.count(), ReviewPhoto.objects.count(), FeedItem.objects.filter(kind="review").count()


def test_a_member_who_picked_up_reviews_with_photos_resized_and_without_exif(
    day, heard, django_capture_on_commit_callbacks
):
    order = day.orders[0]
    pick_up(order)
    with django_capture_on_commit_callbacks(execute=True):
        review = review_post(order_id=order.pk, user=order.user, rating="5", text=" 很新鲜！ ", photos=[photo()])
    assert (review.rating, review.text, review.photo_count) == (5, "很新鲜！", 1)
    stored = review.photos.get()
    with Image.open(stored.image.path) as picture:
        assert max(picture.size) == 1600
        assert not picture.getexif()
    item = FeedItem.objects.get(source_key=feed_source_key(review.pk))
    assert (item.kind, item.community_id, item.body, item.image_url) == (
        "review",
        order.community_id,
        "很新鲜！",
        stored.image.url,
    )
    assert "★★★★★" in item.title and order.campaign.title in item.title
    assert [(type(e), e.order_id, e.rating, e.photos) for e in heard] == [
        (feedback_events.ReviewPosted, order.pk, 5, 1)
    ]


def test_a_bare_star_rating_is_not_put_in_the_feed(day):
    order = day.orders[0]
    pick_up(order)
    review_post(order_id=order.pk, user=order.user, rating=4)
    assert Review.objects.get().rating == 4
    assert not FeedItem.objects.filter(kind="review").exists()


@pytest.mark.parametrize("state", [Parcel.State.PENDING, Parcel.State.AT_PICKUP, Parcel.State.UNCOLLECTED])
def test_a_review_before_pickup_is_refused_and_writes_nothing(day, state):
    order = day.orders[0]
    Parcel.objects.filter(pk=order.pk).update(state=state)
    with pytest.raises(ReviewRefused) as refused:
        review_post(order_id=order.pk, user=order.user, rating=5, text="好", photos=[photo()])
    assert refused.value.code == "not_picked_up"
    assert nothing_written() == (0, 0, 0)


def test_a_review_of_someone_elses_order_is_refused(day):
    order, other = day.orders[0], day.orders[1]
    pick_up(order)
    with pytest.raises(ReviewRefused) as refused:
        review_post(order_id=order.pk, user=other.user, rating=5, text="好")
    assert refused.value.code == "not_found"
    assert nothing_written() == (0, 0, 0)


def test_a_second_review_of_an_order_is_refused_and_the_first_stays(day):
    order = day.orders[0]
    pick_up(order)
    first = review_post(order_id=order.pk, user=order.user, rating=5, text="好吃")
    with pytest.raises(ReviewRefused) as refused:
        review_post(order_id=order.pk, user=order.user, rating=1, text="再来一次", photos=[photo()])
    assert refused.value.code == "already_reviewed"
    assert list(Review.objects.values_list("pk", "rating", "text")) == [(first.pk, 5, "好吃")]
    assert ReviewPhoto.objects.count() == 0


@pytest.mark.parametrize(
    "rating, text, photos, code",
    [
        pytest.param(0, "", 0, "rating", id="zero-stars"),
        pytest.param(6, "", 0, "rating", id="six-stars"),
        pytest.param("five", "", 0, "rating", id="not-a-number"),
        pytest.param(5, "好" * 501, 0, "text", id="text-too-long"),
        pytest.param(5, "", MAX_PHOTOS + 1, "images", id="too-many-photos"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_writes_nothing(day, rating, text, photos, code):
    order = day.orders[0]
    pick_up(order)
    with pytest.raises(DomainError) as refused:
        review_post(
            order_id=order.pk, user=order.user, rating=rating, text=text, photos=[photo() for _ in range(photos)]
        )
    assert refused.value.code == code
    assert nothing_written() == (0, 0, 0)


def test_a_file_that_is_not_a_picture_is_refused(day):
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = day.orders[0]
    pick_up(order)
    with pytest.raises(ImageRejected) as refused:
        review_post(
            order_id=order.pk,
            user=order.user,
            rating=5,
            photos=[photo(), SimpleUploadedFile("x.jpg", b"MZ not an image")],
        )
    assert refused.value.code == "not_image"
    assert nothing_written() == (0, 0, 0)


def later_campaign_with_the_same_product(day) -> Campaign:
    first = day.campaigns[0]
    later = Campaign.objects.create(
        brand_id=day.brand_id, title="第二期", status=Campaign.Status.OPEN, closes_at=clock.now() + timedelta(days=1)
    )
    for item in first.items.all():
        CampaignItem.objects.create(campaign=later, sku=item.sku, price_fen=990)
    return later


def test_reviews_show_on_later_jielongs_of_the_same_products_photos_first_then_newest(day):
    first_three = day.orders[:3]
    for order in first_three:
        pick_up(order)
    start = clock.now()
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        with_photo = review_post(order_id=first_three[0].pk, user=first_three[0].user, rating=4, photos=[photo()])
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        older_words = review_post(order_id=first_three[1].pk, user=first_three[1].user, rating=5, text="好")
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        newest_words = review_post(order_id=first_three[2].pk, user=first_three[2].user, rating=3, text="一般")
    later = later_campaign_with_the_same_product(day)
    found = selectors.reviews_for_campaign(campaign=later)
    assert [r.pk for r in found.reviews] == [with_photo.pk, newest_words.pk, older_words.pk]
    assert (found.count, found.average) == (3, 4.0)
    unrelated = factories.campaign(title="别的东西")
    assert selectors.reviews_for_campaign(campaign=unrelated).count == 0


def test_the_operator_hides_a_review_everywhere_with_a_reason(day, heard, django_capture_on_commit_callbacks):
    order = day.orders[0]
    pick_up(order)
    leader = leader_of(day)
    review = review_post(
        order_id=order.pk, user=order.user, rating=1, text="有人电话号码 13800000000", photos=[photo()]
    )
    assert [r.pk for r in selectors.reviews_for_leader(user=leader)] == [review.pk]
    operator = factories.operator()
    with pytest.raises(ReviewRefused) as refused:
        review_hide(review_id=review.pk, by=operator, reason="  ")
    assert refused.value.code == "reason"
    assert Review.objects.get().hidden_at is None
    heard.clear()
    with django_capture_on_commit_callbacks(execute=True):
        review_hide(review_id=review.pk, by=operator, reason="含个人信息")
    review.refresh_from_db()
    assert (review.hidden_reason, review.hidden_by_id) == ("含个人信息", operator.pk)
    assert selectors.reviews_for_campaign(campaign=order.campaign).count == 0
    assert selectors.reviews_for_leader(user=leader) == []
    assert not FeedItem.objects.filter(source_key=feed_source_key(review.pk)).exists()
    assert [(type(e), e.review_id, e.reason) for e in heard] == [
        (feedback_events.ReviewHidden, review.pk, "含个人信息")
    ]
    with pytest.raises(ReviewRefused) as refused:
        review_hide(review_id=review.pk, by=operator, reason="again")
    assert refused.value.code == "already_hidden"


def test_the_leaders_copy_names_the_campaign_the_stars_and_the_words(day):
    order = day.orders[0]
    pick_up(order)
    review = review_post(order_id=order.pk, user=order.user, rating=4, text="菜很嫩")
    assert selectors.group_copy(review) == f"【{order.campaign.title}】★★★★☆\n{order.user.display_name}：菜很嫩"
    other = leader_of(delivered_day())
    assert selectors.reviews_for_leader(user=other) == []
