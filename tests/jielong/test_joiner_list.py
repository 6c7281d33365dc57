"""The campaign page shows the latest 50 entries (a 2,000-joiner page cost ~300 ms to render during the
storm); the whole jielong is one tap away, in pages."""

import pytest

from jielong import member_views, services
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowded():
    scenario = factories.open_campaign(members=member_views.PAGE_JOINERS + 3, threshold=500, perk_limit=0)
    for user in scenario.members:
        services.order_join(campaign_id=scenario.campaign.pk, user=user, quantities={scenario.item.pk: 1})
    return scenario


def test_the_campaign_page_shows_the_latest_entries_and_links_to_the_whole_list(client, crowded):
    client.force_login(crowded.members[0])

    page = client.get(f"/m/jielong/{crowded.campaign.pk}/").content.decode()

    assert page.count("<li data-seq=") == member_views.PAGE_JOINERS
    assert '<li data-seq="53">' in page and '<li data-seq="3">' not in page  # newest first
    assert f'href="/m/jielong/{crowded.campaign.pk}/joiners/"' in page
    assert "查看完整接龙名单" in page


def test_the_whole_list_has_every_entry(client, crowded):
    client.force_login(crowded.members[0])

    page = client.get(f"/m/jielong/{crowded.campaign.pk}/joiners/").content.decode()

    assert page.count("<li data-seq=") == member_views.PAGE_JOINERS + 3
    assert '<li data-seq="1">' in page


def test_a_small_jielong_needs_no_link(client):
    scenario = factories.open_campaign(members=2)
    services.order_join(campaign_id=scenario.campaign.pk, user=scenario.members[0], quantities={scenario.item.pk: 1})
    client.force_login(scenario.members[1])

    page = client.get(f"/m/jielong/{scenario.campaign.pk}/").content.decode()

    assert 'id="jl-all-joiners" hidden' in page


def test_someone_outside_the_community_cannot_read_the_list(client, crowded):
    client.force_login(factories.member())

    assert client.get(f"/m/jielong/{crowded.campaign.pk}/joiners/").status_code in (403, 404)
