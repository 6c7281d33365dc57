"""The community feed (社群动态): what members of a community see on their home page, newest first.

Entries come from published posts (``community.rhythm``) and from the apps above community: the
jielong app adds an entry when a campaign opens, by calling :func:`publish_feed_item` from its own
subscriber. Community never imports those apps; they import this face.
"""

from __future__ import annotations

from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

from groupbuy import clock

from .models import Community, FeedItem, Membership, Post, User
from .selectors import member_active_community_ids

FEED_PAGE_SIZE = 5


def publish_feed_item(
    *,
    community: Community,
    kind: str,
    source_key: str,
    title: str,
    body: str = "",
    url: str,
    image_url: str | None = None,
    published_at: datetime | None = None,
) -> FeedItem:
    """Add an entry to ``community``'s feed, once: a second call with the same ``source_key`` returns
    the entry already there and changes nothing (the unique constraint settles a race)."""
    if kind not in FeedItem.Kind.values:
        raise ValueError(f"unknown feed item kind {kind!r}")
    item, _created = FeedItem.objects.get_or_create(
        community=community,
        source_key=source_key[:64],
        defaults={
            "kind": kind,
            "title": title[:120],
            "body": body,
            "url": url[:300],
            "image_url": (image_url or "")[:300],
            "published_at": published_at or clock.now(),
        },
    )
    return item


def feed_for_communities(*, community_ids: list[int]) -> QuerySet[FeedItem]:
    return (
        FeedItem.objects.filter(community_id__in=community_ids, community__is_active=True)
        .select_related("community")
        .order_by("-published_at", "-pk")
    )


def member_feed_page(*, user: User, page: int | str | None = 1) -> Page:
    """One page of the feed of every community ``user`` is an active member of; nothing else."""
    items = feed_for_communities(community_ids=member_active_community_ids(user=user))
    return Paginator(items, FEED_PAGE_SIZE).get_page(page)


def member_home_section(request: HttpRequest, community_ids: list[int]) -> dict:
    """Context of the "社群动态" section of the member home page (registered in ``CommunityConfig.ready``)."""
    return {"page": member_feed_page(user=request.user, page=1)}


def post_for_member(*, user: User, pk: int) -> tuple[Post | None, bool]:
    """The published post ``pk`` and whether ``user`` may read it (an active member of its community)."""
    post = (
        Post.objects.filter(pk=pk, status=Post.Status.PUBLISHED)
        .select_related("community", "column")
        .prefetch_related("images")
        .first()
    )
    if post is None:
        return None, False
    may_read = Membership.objects.filter(
        user=user, community=post.community, status=Membership.Status.ACTIVE, community__is_active=True
    ).exists()
    return post, may_read
