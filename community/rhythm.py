"""The daily rhythm of a community (社群日常节奏): recurring columns, posts written ahead, and their publication.

An operator or a leader (团长) of the community plans columns (固定栏目 such as 周一农场日, 周三食谱日)
and writes posts for their slots. A scheduled post is published at its time by the periodic task
``community.tasks.publish_due_posts``: the status change and the feed entry are written in one
transaction, each post exactly once, however many workers run. Every post also carries copy-ready
text for the leader to paste into the WeChat group.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from groupbuy import clock, events
from groupbuy.errors import DomainError
from groupbuy.images import ImageRejected, check_count, clean_image

from . import events as community_events
from . import feed
from .access import may_manage_community
from .inputs import refuse_unstorable
from .models import Column, Community, FeedItem, Post, PostImage, User
from .services import referral_code

MAX_IMAGE_SIDE = 1600
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_IMAGES = 9
MAX_TEXT = 2000
EDITABLE = (Post.Status.DRAFT, Post.Status.SCHEDULED)
# How many due posts one run of the scheduler publishes at most; the next run takes the rest.
PUBLISH_BATCH = 200


class RhythmRefused(DomainError):
    """Base of every refusal in the daily rhythm; ``code`` says which rule."""


class ColumnInvalid(RhythmRefused):
    pass


class PostInvalid(RhythmRefused):
    pass


def _check_may_manage(*, user: User, community: Community) -> None:
    if not may_manage_community(user=user, community=community):
        raise RhythmRefused(_("Only operators and this community's leaders can plan its posts."), code="forbidden")


# --- Columns (固定栏目) ------------------------------------------------------------------------------------------


def column_save(
    *,
    by: User,
    community: Community,
    name: str,
    weekdays: Sequence[int],
    time_of_day: time | None,
    description: str = "",
    is_active: bool = True,
    column: Column | None = None,
) -> Column:
    """Create (``column`` None) or change a column: a name, the weekdays (1 = Monday) and the time of its slot."""
    _check_may_manage(user=by, community=community)
    refuse_unstorable(name, description, list(weekdays))
    name, description = (name or "").strip(), (description or "").strip()
    if not name:
        raise ColumnInvalid(_("Enter the column's name, e.g. 周三食谱日."), code="name")
    if len(name) > Column._meta.get_field("name").max_length:
        raise ColumnInvalid(_("The column's name is too long."), code="name")
    raw = {str(d).strip() for d in weekdays}
    days = sorted(int(d) for d in raw if d in {"1", "2", "3", "4", "5", "6", "7"})
    if not days or len(days) != len(raw):
        raise ColumnInvalid(_("Choose at least one weekday."), code="weekdays")
    if time_of_day is None:
        raise ColumnInvalid(_("Choose the time of day for the column's posts."), code="time")
    if column is not None and column.community_id != community.pk:
        raise ColumnInvalid(_("This column belongs to another community."), code="community")
    target = column or Column(community=community)
    target.name, target.weekdays, target.time_of_day = name, days, time_of_day
    target.description, target.is_active = description[:200], is_active
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise ColumnInvalid(_("This community already has a column with that name."), code="duplicate") from None
    return target


def column_next_slot(column: Column, *, after: datetime | None = None) -> datetime | None:
    """The first slot of ``column`` strictly after ``after`` (now by default), in local time."""
    after = after or clock.now()
    tz = timezone.get_current_timezone()
    start = timezone.localtime(after, tz).date()
    for offset in range(8):
        day = start + timedelta(days=offset)
        if day.isoweekday() not in column.weekdays:
            continue
        slot = datetime.combine(day, column.time_of_day, tzinfo=tz)
        if slot > after:
            return slot
    return None


# --- Posts ----------------------------------------------------------------------------------------------------


def _leader_copy(*, column: Column | None, title: str, text: str) -> str:
    head = f"{column.tag}{title}" if column is not None else f"【{title}】"
    return f"{head}\n{text}"


def _title_from(text: str) -> str:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first_line[:30]


def post_save(
    *,
    by: User,
    community: Community,
    text: str,
    scheduled_at: datetime | None,
    title: str = "",
    column: Column | None = None,
    schedule: bool = True,
    uploads: Sequence = (),
    post: Post | None = None,
    now: datetime | None = None,
) -> Post:
    """Create (``post`` None) or change a post with its new pictures; ``schedule`` False keeps it a draft.

    Everything is checked before anything is written: a scheduled time in the past, a foreign column,
    a picture that is not a picture or is over 10 MB. Pictures are stored upright, at most 1600 px on
    the long edge and without EXIF. A post the scheduler has already published can no longer change.
    """
    _check_may_manage(user=by, community=community)
    now = now or clock.now()
    text = (text or "").strip().replace("\r\n", "\n")
    title = (title or "").strip() or _title_from(text)
    if not text:
        raise PostInvalid(_("Write the post's text."), code="text")
    if len(text) > MAX_TEXT:
        raise PostInvalid(_("The text is too long (at most %(count)s characters).") % {"count": MAX_TEXT}, code="text")
    if len(title) > Post._meta.get_field("title").max_length:
        raise PostInvalid(_("The title is too long."), code="title")
    if column is not None and column.community_id != community.pk:
        raise PostInvalid(_("Choose one of this community's columns."), code="column")
    if scheduled_at is None:
        raise PostInvalid(_("Choose when the post goes out."), code="scheduled_at")
    if schedule and scheduled_at <= now:
        raise PostInvalid(_("The scheduled time has already passed. Choose a later time."), code="past")
    if post is not None and post.community_id != community.pk:
        raise PostInvalid(_("This post belongs to another community."), code="community")
    uploads = [u for u in uploads if u]
    too_many = _("A post can have at most %(count)s pictures.") % {"count": MAX_IMAGES}
    try:
        # Count before decoding: each picture costs memory and time, and the post's own count is checked again below.
        check_count(uploads, already=post.images.count() if post is not None else 0, most=MAX_IMAGES, message=too_many)
        pictures = [clean_image(u, max_side=MAX_IMAGE_SIDE, max_bytes=MAX_UPLOAD_BYTES) for u in uploads]
    except ImageRejected as exc:
        raise PostInvalid(exc.message, code=exc.code) from None
    with transaction.atomic():
        if post is None:
            target = Post(community=community, author=by)
            existing_images = 0
        else:
            # The scheduler may be publishing this very post: lock it and look again.
            target = Post.objects.select_for_update().get(pk=post.pk)
            if target.status not in EDITABLE:
                raise PostInvalid(
                    _("This post was already published or cancelled and can no longer be changed."), code="locked"
                )
            existing_images = target.images.count()
        if existing_images + len(pictures) > MAX_IMAGES:
            raise PostInvalid(too_many, code="images")
        target.column, target.title, target.text, target.scheduled_at = column, title, text, scheduled_at
        target.status = Post.Status.SCHEDULED if schedule else Post.Status.DRAFT
        target.leader_copy = _leader_copy(column=column, title=title, text=text)
        target.save()
        for position, picture in enumerate(pictures, start=existing_images):
            image = PostImage(post=target, position=position, width=picture.width, height=picture.height)
            image.image.save(
                f"{community.pk}-{uuid.uuid4().hex[:16]}.{picture.extension}", ContentFile(picture.content), save=False
            )
            image.save()
    return target


def post_cancel(*, by: User, post: Post) -> Post:
    """Withdraw a draft or scheduled post; a published one stays (it is already in the group)."""
    _check_may_manage(user=by, community=post.community)
    with transaction.atomic():
        locked = Post.objects.select_for_update().get(pk=post.pk)
        if locked.status not in EDITABLE:
            raise PostInvalid(
                _("This post was already published or cancelled and can no longer be changed."), code="locked"
            )
        locked.status = Post.Status.CANCELLED
        locked.save(update_fields=["status", "updated_at"])
    return locked


def post_image_remove(*, by: User, image: PostImage) -> None:
    post = image.post
    _check_may_manage(user=by, community=post.community)
    with transaction.atomic():
        locked = Post.objects.select_for_update().get(pk=post.pk)
        if locked.status not in EDITABLE:
            raise PostInvalid(
                _("This post was already published or cancelled and can no longer be changed."), code="locked"
            )
        PostImage.objects.filter(pk=image.pk).delete()


def _publish_locked(post: Post, *, now: datetime) -> None:
    """Publish ``post``; the caller holds its row lock inside a transaction and has seen it scheduled."""
    post.status = Post.Status.PUBLISHED
    post.published_at = now
    post.save(update_fields=["status", "published_at", "updated_at"])
    first = post.images.first()
    feed.publish_feed_item(
        community=post.community,
        kind=FeedItem.Kind.POST,
        source_key=f"community.post:{post.pk}",
        title=f"{post.column.tag}{post.title}" if post.column_id else post.title,
        body=post.text,
        url=reverse("community:member-post", args=[post.pk]),
        image_url=first.image.url if first else None,
        published_at=now,
    )
    events.publish(community_events.PostPublished(post_id=post.pk, community_id=post.community_id))


def posts_publish_due(*, now: datetime | None = None, limit: int = PUBLISH_BATCH) -> list[int]:
    """Publish every scheduled post whose time has come; returns the pks this call published.

    One short transaction per post: lock the next due post with ``SKIP LOCKED`` (another worker
    holding one makes this one take the next), flip it to published and add its feed entry. A post
    is published once: it is only picked while scheduled, and the feed entry is unique per post.
    """
    published: list[int] = []
    for _attempt in range(limit):
        with transaction.atomic():
            post = (
                Post.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=Post.Status.SCHEDULED, scheduled_at__lte=now or clock.now())
                .select_related("community", "column")
                .order_by("scheduled_at", "pk")
                .first()
            )
            if post is None:
                break
            _publish_locked(post, now=clock.now())
            published.append(post.pk)
    return published


# --- Leader copy (团长转发文案) ------------------------------------------------------------------------------------


def post_share_path(*, post: Post, sharer: User | None) -> str:
    """The member page of ``post``; ``ref`` carries the sharer's referral code when they are a member."""
    path = reverse("community:member-post", args=[post.pk])
    code = referral_code(user=sharer, community=post.community) if sharer is not None else ""
    return f"{path}?ref={code}" if code else path


def leader_copy_text(*, post: Post, link: str) -> str:
    """What the leader pastes into the WeChat group: the column tag, the text, and the link."""
    more = _("Read more: %(link)s") % {"link": link}
    return f"{post.leader_copy}\n{more}"


# --- Content calendar (内容日历) -----------------------------------------------------------------------------------


@dataclass
class Slot:
    column: Column
    at: datetime
    post: Post | None = None

    @property
    def is_past(self) -> bool:
        return self.at <= clock.now()


@dataclass
class Day:
    date: date
    slots: list[Slot] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)  # posts not filling a column slot
    in_month: bool = True

    @property
    def is_today(self) -> bool:
        return self.date == clock.localdate()


def calendar_days(*, community: Community, start: date, end: date, month: int | None = None) -> list[Day]:
    """Each day in [start, end) with the slots of the community's active columns and the posts of that day.

    A post of a column scheduled on one of its days fills that slot; other posts are listed on their day.
    """
    tz = timezone.get_current_timezone()
    columns = list(Column.objects.filter(community=community, is_active=True))
    posts = list(
        Post.objects.filter(
            community=community,
            scheduled_at__gte=datetime.combine(start, time.min, tzinfo=tz),
            scheduled_at__lt=datetime.combine(end, time.min, tzinfo=tz),
        )
        .exclude(status=Post.Status.CANCELLED)
        .select_related("column")
        .prefetch_related("images")
        .order_by("scheduled_at", "pk")
    )
    days: dict[date, Day] = {}
    current = start
    while current < end:
        day = Day(date=current, in_month=month is None or current.month == month)
        for column in columns:
            if current.isoweekday() in column.weekdays:
                day.slots.append(Slot(column=column, at=datetime.combine(current, column.time_of_day, tzinfo=tz)))
        days[current] = day
        current += timedelta(days=1)
    for post in posts:
        day = days[timezone.localtime(post.scheduled_at, tz).date()]
        slot = next((s for s in day.slots if s.column.pk == post.column_id and s.post is None), None)
        if slot is not None:
            slot.post = post
        else:
            day.posts.append(post)
    for day in days.values():
        day.slots.sort(key=lambda s: s.at)
    return list(days.values())


def upcoming_posts(*, community: Community, limit: int = 20) -> list[Post]:
    return list(
        Post.objects.filter(community=community, status__in=EDITABLE)
        .select_related("column")
        .order_by("scheduled_at", "pk")[:limit]
    )
