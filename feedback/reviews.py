"""Reviews (晒单): a member rates a picked-up order (1–5), with words and photos; the operator hides one when needed.

A review is also a feed entry of the order's community (social proof), written in the same transaction as the
review (our own table, not an outside side effect), and removed when the review is hidden.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from community.feed import publish_feed_item
from community.models import FeedItem, User
from fulfillment.models import Parcel
from groupbuy import clock, events
from groupbuy.errors import DomainError
from groupbuy.images import check_count, clean_image
from jielong.models import Order

from . import events as feedback_events
from .models import Review, ReviewPhoto

MAX_PHOTOS = 6
PHOTO_MAX_SIDE = 1600
PHOTO_MAX_BYTES = 10 * 1024 * 1024
TEXT_MAX = 500
HIDE_REASON_MAX = 200


class ReviewRefused(DomainError):
    pass


def feed_source_key(review_id: int) -> str:
    return f"feedback.review:{review_id}"


def _rating(value) -> int:
    try:
        rating = int(value)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ReviewRefused(_("Choose from one to five stars."), code="rating")
    return rating


def reviewable_order(*, order_id: int, user: User) -> Order:
    """The member's own order, picked up and not reviewed yet — or a refusal that says which rule failed."""
    order = Order.objects.select_related("campaign", "community").filter(pk=order_id, user_id=user.pk).first()
    if order is None:
        raise ReviewRefused(_("This order does not exist."), code="not_found")
    state = Parcel.objects.filter(pk=order.pk).values_list("state", flat=True).first()
    if state != Parcel.State.PICKED_UP:
        raise ReviewRefused(_("You can review this order once you have picked it up."), code="not_picked_up")
    if Review.objects.filter(order_id=order.pk).exists():
        raise ReviewRefused(_("You have already reviewed this order."), code="already_reviewed")
    return order


def review_post(*, order_id: int, user: User, rating, text: str = "", photos: list | tuple = ()) -> Review:
    """晒单: one review per picked-up order of the member's own. Photos are cleaned (upright, resized, no EXIF)
    before anything is written; any refusal writes nothing."""
    rating = _rating(rating)
    text = (text or "").strip()
    if len(text) > TEXT_MAX:
        raise ReviewRefused(_("Keep the review under %(n)s characters.") % {"n": TEXT_MAX}, code="text")
    order = reviewable_order(order_id=order_id, user=user)
    photos = list(photos)
    check_count(photos, most=MAX_PHOTOS, message=_("At most %(n)s photos.") % {"n": MAX_PHOTOS})
    cleaned = [clean_image(photo, max_side=PHOTO_MAX_SIDE, max_bytes=PHOTO_MAX_BYTES) for photo in photos]
    now = clock.now()
    try:
        with transaction.atomic():
            review = Review.objects.create(
                order=order,
                brand_id=order.campaign.brand_id,
                campaign_id=order.campaign_id,
                community_id=order.community_id,
                user=user,
                rating=rating,
                text=text,
                photo_count=len(cleaned),
                created_at=now,
            )
            stored = []
            for position, picture in enumerate(cleaned):
                photo = ReviewPhoto(review=review, width=picture.width, height=picture.height, position=position)
                photo.image.save(f"{uuid.uuid4().hex}.{picture.extension}", ContentFile(picture.content), save=False)
                stored.append(photo)
            ReviewPhoto.objects.bulk_create(stored)
            if text or stored:  # a bare star rating says little in a feed
                _publish_to_feed(review, order=order, user=user, first_photo=stored[0] if stored else None)
            events.publish(
                feedback_events.ReviewPosted(
                    review_id=review.pk,
                    order_id=order.pk,
                    campaign_id=order.campaign_id,
                    community_id=order.community_id,
                    user_id=user.pk,
                    rating=rating,
                    photos=len(stored),
                )
            )
    except IntegrityError:  # a second tab posted first: the one-per-order constraint settles it
        raise ReviewRefused(_("You have already reviewed this order."), code="already_reviewed") from None
    return review


def _publish_to_feed(review: Review, *, order: Order, user: User, first_photo: ReviewPhoto | None) -> None:
    # Feed entries are stored text, read by the whole community: written in the brand's language.
    with translation.override(settings.LANGUAGE_CODE):
        title = _("%(name)s reviewed 《%(campaign)s》 %(stars)s") % {
            "name": user.display_name,
            "campaign": order.campaign.title,
            "stars": "★" * review.rating,
        }
    publish_feed_item(
        community=order.community,
        kind=FeedItem.Kind.REVIEW,
        source_key=feed_source_key(review.pk),
        title=title,
        body=review.text[:140],
        url=reverse("jielong:member-campaign", args=[order.campaign_id]) + "#reviews",
        image_url=first_photo.image.url if first_photo else None,
        published_at=review.created_at,
    )


def review_hide(*, review_id: int, by: User, reason: str) -> Review:
    """The operator hides a review everywhere (campaign pages, the feed, the leader's copy), with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewRefused(_("Say why the review is hidden."), code="reason")
    if len(reason) > HIDE_REASON_MAX:
        raise ReviewRefused(_("Keep the reason under %(n)s characters.") % {"n": HIDE_REASON_MAX}, code="reason")
    with transaction.atomic():
        review = Review.objects.select_for_update().filter(pk=review_id).first()
        if review is None:
            raise ReviewRefused(_("This review does not exist."), code="not_found")
        if review.hidden_at is not None:
            raise ReviewRefused(_("This review is already hidden."), code="already_hidden")
        review.hidden_at = clock.now()
        review.hidden_by = by
        review.hidden_reason = reason
        review.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
        FeedItem.objects.filter(community_id=review.community_id, source_key=feed_source_key(review.pk)).delete()
        events.publish(
            feedback_events.ReviewHidden(review_id=review.pk, campaign_id=review.campaign_id, by=by.pk, reason=reason)
        )
    return review
