"""Opening a campaign puts it in its communities' feeds (through the domain event, once)."""

import pytest

from community.models import FeedItem
from jielong import services, subscribers
from jielong.events import CampaignOpened
from jielong.models import Campaign
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_an_opened_campaign_appears_once_in_each_target_community_feed(django_capture_on_commit_callbacks):
    east, west, elsewhere = f.community(), f.community(), f.community()
    campaign = f.campaign(
        communities=[east, west],
        title="有机上海青接龙",
        perk_limit=50,
        perk_description="签名小册子",
        group_threshold=30,
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_open(campaign=campaign)
    # a redelivered event adds nothing
    subscribers.add_opened_campaign_to_feeds(CampaignOpened(campaign_id=campaign.pk, live_session_id=None))

    entries = FeedItem.objects.filter(source_key=f"jielong.campaign:{campaign.pk}")
    assert sorted(entries.values_list("community_id", flat=True)) == sorted([east.pk, west.pk])
    entry = entries.get(community=east)
    assert (entry.kind, entry.title, entry.url) == ("campaign", "有机上海青接龙", f"/m/jielong/{campaign.pk}/")
    assert "30" in entry.body and "签名小册子" in entry.body
    assert not FeedItem.objects.filter(community=elsewhere).exists()


def test_a_draft_is_not_in_the_feed():
    campaign = f.campaign(communities=[f.community()])
    assert campaign.status == Campaign.Status.DRAFT
    assert not FeedItem.objects.exists()


def test_a_failing_campaign_opened_subscriber_does_not_stop_the_others(django_capture_on_commit_callbacks, caplog):
    """Refutes issue 10's "a failing open handler stops the others": the typed bus calls each one."""
    from groupbuy import events

    def broken(event):
        raise RuntimeError("a broken subscriber")

    # First in line, so the feed's subscriber runs after it.
    events._handlers[events._topic_name(CampaignOpened)].insert(0, broken)
    try:
        campaign = f.campaign(communities=[f.community()])
        with django_capture_on_commit_callbacks(execute=True):
            services.campaign_open(campaign=campaign)
    finally:
        events.unsubscribe(CampaignOpened, broken)

    assert FeedItem.objects.filter(source_key=f"jielong.campaign:{campaign.pk}").count() == 1
    assert "a broken subscriber" in caplog.text
