"""The community feed (社群动态): entries once per source, members see only their own communities."""

from datetime import timedelta

import pytest
from django.utils import timezone

from community import feed
from community.models import FeedItem, Membership, Post, PostImage
from tests import factories
from tests.browser import launch, phone_page, session_cookies

pytestmark = pytest.mark.django_db


def _member_of(*communities, status=Membership.Status.ACTIVE):
    user = factories.member(nickname="王姐")
    for community in communities:
        factories.membership(user=user, community=community, status=status)
    return user


def _item(community, key, *, minutes_ago=0, kind=FeedItem.Kind.POST, title=None):
    return feed.publish_feed_item(
        community=community,
        kind=kind,
        source_key=key,
        title=title or key,
        body="正文",
        url=f"/somewhere/{key}/",
        published_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def _published_post(community, **extra):
    return Post.objects.create(
        community=community,
        title=extra.pop("title", "老李的大棚日记"),
        text=extra.pop("text", "今天的番茄红了。\n明天开始采摘。"),
        scheduled_at=timezone.now() - timedelta(hours=1),
        status=Post.Status.PUBLISHED,
        published_at=timezone.now() - timedelta(hours=1),
        **extra,
    )


def test_publishing_the_same_source_twice_leaves_one_entry_unchanged():
    community = factories.community()

    first = feed.publish_feed_item(
        community=community,
        kind=FeedItem.Kind.CAMPAIGN,
        source_key="jielong.campaign:42",
        title="有机上海青接龙",
        body="前50名8折",
        url="/m/jielong/42/",
        image_url="/media/campaigns/42.jpg",
    )
    again = feed.publish_feed_item(
        community=community,
        kind=FeedItem.Kind.CAMPAIGN,
        source_key="jielong.campaign:42",
        title="改了标题",
        url="/m/jielong/42/",
    )

    assert again.pk == first.pk
    item = FeedItem.objects.get()
    assert (item.kind, item.title, item.body, item.url, item.image_url) == (
        "campaign",
        "有机上海青接龙",
        "前50名8折",
        "/m/jielong/42/",
        "/media/campaigns/42.jpg",
    )


def test_one_campaign_open_in_two_communities_appears_in_both_feeds():
    # What jielong's subscriber to "jielong.campaign_opened" does for each of the campaign's communities.
    north, south = factories.community(), factories.community()

    for community in (north, south, north):
        _item(community, "jielong.campaign:7", kind=FeedItem.Kind.CAMPAIGN, title="草莓接龙")

    assert sorted(FeedItem.objects.values_list("community_id", "source_key")) == sorted(
        [(north.pk, "jielong.campaign:7"), (south.pk, "jielong.campaign:7")]
    )


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        feed.publish_feed_item(community=factories.community(), kind="poll", source_key="x:1", title="?", url="/")
    assert FeedItem.objects.count() == 0


def test_member_feed_shows_only_active_memberships_newest_first():
    mine, pending, left, other = (factories.community() for _ in range(4))
    user = _member_of(mine)
    factories.membership(user=user, community=pending, status=Membership.Status.PENDING)
    factories.membership(user=user, community=left, status=Membership.Status.LEFT)
    _item(mine, "old", minutes_ago=30)
    _item(mine, "new", minutes_ago=1)
    for community in (pending, left, other):
        _item(community, f"not-mine-{community.pk}")

    page = feed.member_feed_page(user=user)

    assert [item.source_key for item in page.object_list] == ["new", "old"]


def test_a_closed_community_drops_out_of_the_feed():
    community = factories.community()
    user = _member_of(community)
    _item(community, "community.post:1")
    community.is_active = False
    community.save()

    assert list(feed.member_feed_page(user=user).object_list) == []


def test_member_home_shows_the_feed_section_and_more_loads_the_next_page(client):
    community = factories.community(name="阳光花园吃货群")
    user = _member_of(community)
    for n in range(feed.FEED_PAGE_SIZE + 2):
        _item(community, f"community.post:{n}", minutes_ago=n, title=f"动态{n}")
    _item(factories.community(), "community.post:999", title="别人的动态")
    client.force_login(user)

    home = client.get("/m/").content.decode()
    more = client.get("/m/feed/?page=2", HTTP_HX_REQUEST="true")

    assert 'id="feed"' in home
    # Issue 11: the feed once led the page; five feed cards pushed the upcoming live (预约直播) below the fold.
    assert home.index('id="live"') < home.index('id="jielong"') < home.index('id="feed"')
    assert [f"动态{n}" in home for n in range(feed.FEED_PAGE_SIZE + 2)] == [True] * feed.FEED_PAGE_SIZE + [False] * 2
    assert "别人的动态" not in home
    assert 'hx-get="/m/feed/?page=2"' in home
    fragment = more.content.decode()
    assert "<html" not in fragment
    assert ("动态5" in fragment, "动态6" in fragment, "动态4" in fragment) == (True, True, False)
    assert "hx-get" not in fragment  # the last page has no "more"


def test_the_feed_page_without_htmx_is_a_whole_page(client):
    community = factories.community()
    client.force_login(_member_of(community))
    _item(community, "community.post:1", title="整页动态")

    page = client.get("/m/feed/").content.decode()

    assert "<html" in page and "整页动态" in page


def test_a_member_reads_a_published_post_with_its_pictures(client):
    community = factories.community()
    post = _published_post(community)
    PostImage.objects.create(post=post, image="posts/tomato.jpg", width=1600, height=1200)
    client.force_login(_member_of(community))

    page = client.get(f"/m/posts/{post.pk}/").content.decode()

    assert "老李的大棚日记" in page
    assert "今天的番茄红了。\n明天开始采摘。" in page
    assert 'src="/media/posts/tomato.jpg"' in page


def test_someone_outside_the_community_following_a_shared_link_is_sent_to_join_with_the_code(client):
    community = factories.community()
    post = _published_post(community)
    client.force_login(_member_of(factories.community()))

    response = client.get(f"/m/posts/{post.pk}/?ref=ABCD2345")

    assert response.status_code == 302
    assert response["Location"] == f"/m/join/{community.slug}/?ref=ABCD2345"


def test_a_pending_member_cannot_read_posts_yet(client):
    community = factories.community()
    post = _published_post(community)
    client.force_login(_member_of(community, status=Membership.Status.PENDING))

    response = client.get(f"/m/posts/{post.pk}/")

    assert (response.status_code, response["Location"]) == (302, f"/m/join/{community.slug}/")


@pytest.mark.parametrize("status", [Post.Status.SCHEDULED, Post.Status.DRAFT, Post.Status.CANCELLED])
def test_a_post_not_published_is_not_found_even_for_members(client, status):
    community = factories.community()
    post = _published_post(community)
    Post.objects.filter(pk=post.pk).update(status=status, published_at=None)
    client.force_login(_member_of(community))

    assert client.get(f"/m/posts/{post.pk}/").status_code == 404


def test_the_feed_needs_a_signed_in_member(client):
    response = client.get("/m/feed/")

    assert response.status_code == 302
    assert response["Location"].startswith("/m/login/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_member_home_shows_the_feed_and_opens_a_post(live_server, settings, tmp_path):
    from io import BytesIO

    from django.core.files.base import ContentFile
    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    from community import rhythm
    from community.models import Column

    settings.MEDIA_ROOT = tmp_path
    community = factories.community(name="阳光花园吃货群")
    member = _member_of(community)
    column = Column.objects.create(community=community, name="周三食谱日", weekdays=[3], time_of_day="20:00")
    post = Post.objects.create(
        community=community,
        column=column,
        title="番茄炒蛋的秘诀",
        text="先炒蛋，再炒番茄。\n最后加一点糖。",
        scheduled_at=timezone.now() - timedelta(seconds=1),
    )
    buffer = BytesIO()
    Image.new("RGB", (800, 600), (220, 60, 40)).save(buffer, format="JPEG")
    image = PostImage(post=post, width=800, height=600)
    image.image.save("tomato.jpg", ContentFile(buffer.getvalue()))
    assert rhythm.posts_publish_due() == [post.pk]  # the scheduler puts it in the feed
    _item(community, "jielong.campaign:1", kind=FeedItem.Kind.CAMPAIGN, title="有机草莓接龙", minutes_ago=60)
    cookies = session_cookies(live_server.url, member)

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = phone_page(browser, cookies)

            page.goto(f"{live_server.url}/m/")
            section = page.locator("#feed")
            expect(section.get_by_role("heading", name="Community feed")).to_be_visible()
            items = section.locator(".feed-item")
            expect(items).to_have_count(2)
            expect(items.nth(0)).to_contain_text("【周三食谱日】番茄炒蛋的秘诀")
            expect(items.nth(1)).to_contain_text("有机草莓接龙")
            assert page.evaluate("document.documentElement.scrollWidth") <= 375

            items.nth(0).click()
            expect(page).to_have_url(f"{live_server.url}/m/posts/{post.pk}/")
            expect(page.get_by_role("heading", name="番茄炒蛋的秘诀")).to_be_visible()
            expect(page.get_by_text("最后加一点糖。")).to_be_visible()
            expect(page.locator(".post-images img")).to_have_count(1)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.goto(f"{live_server.url}/m/")
            page.context.close()
        finally:
            browser.close()


def test_member_pages_use_member_words_not_staff_words(client):
    """Issue 11: 栏目帖子 and 开放 are the operator's words; a member reads 社群分享 and how to join."""
    community = factories.community(name="阳光花园吃货群")
    user = _member_of(community)
    _item(community, "community.post:1", title="周三食谱")
    client.force_login(user)

    home = client.get("/m/").content.decode()
    join = client.get(f"/m/join/{community.slug}/").content.decode()

    assert "社群分享" in home
    assert "栏目帖子" not in home
    assert "下单人" not in home and "成员" in home
    assert "可直接加入" in join
    assert "开放" not in join
