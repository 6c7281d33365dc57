"""A campaign's life (jielong.services.campaigns): opening, closing at the deadline, settling tier prices."""

from datetime import timedelta

import pytest

from groupbuy import clock
from jielong import services
from jielong.models import Campaign, Order, OrderLine
from tests import factories as f
from tests.jielong.states import campaign_state as _state

# Every test runs twice: through the PostgreSQL function and through its ORM twin (conftest.join_engine).
pytestmark = pytest.mark.usefixtures("join_engine")


@pytest.mark.django_db
def test_close_fails_an_unformed_group_and_returns_stock():
    given = f.open_campaign(threshold=3)
    campaign, item, users = given.campaign, given.item, given.members
    services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 2})
    Campaign.objects.filter(pk=campaign.pk).update(closes_at=clock.now() - timedelta(seconds=1))

    assert services.campaigns_close_due() == [campaign.pk]
    assert services.campaigns_close_due() == []  # a second run changes nothing

    state = _state(campaign, item)
    assert state["status"] == Campaign.Status.FAILED
    assert state["stock"] == 100
    assert set(Order.objects.filter(campaign=campaign).values_list("status", flat=True)) == {Order.Status.CANCELLED}
    with pytest.raises(services.JoinRefused):
        services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 1})


@pytest.mark.django_db
def test_close_completes_a_formed_group():
    given = f.open_campaign(threshold=1)
    campaign, item, users = given.campaign, given.item, given.members
    services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1})
    Campaign.objects.filter(pk=campaign.pk).update(closes_at=clock.now() - timedelta(seconds=1))
    services.campaigns_close_due()
    state = _state(campaign, item)
    assert state["status"] == Campaign.Status.COMPLETED
    assert state["stock"] == 99
    assert Order.objects.get(campaign=campaign).status == Order.Status.JOINED


@pytest.mark.django_db
def test_campaign_opens_at_a_later_time_and_ending_the_live_opens_it(django_capture_on_commit_callbacks):
    from livestream import services as live

    host = f.host()
    session = f.live_session(hosts=[host])
    campaign = f.campaign(live_session=session)
    live.session_go_live(session=session, by=host)

    with django_capture_on_commit_callbacks(execute=True):
        live.session_end(session=session, by=host)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.OPEN
    assert campaign.opens_at is not None


@pytest.mark.django_db
def test_tiered_price_settles_earlier_joiners_down(django_capture_on_commit_callbacks, monkeypatch):
    from jielong import tasks
    from jielong.models import PriceTier

    given = f.open_campaign(perk_limit=1)
    campaign, item, users = given.campaign, given.item, given.members
    PriceTier.objects.create(item=item, min_joins=3, price_fen=1400)
    settled = []
    monkeypatch.setattr(tasks.settle_prices, "delay", lambda cid: settled.append(cid))

    with django_capture_on_commit_callbacks(execute=True):
        perk = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}).order
        second = services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 2}).order
    assert (perk.total_fen, second.total_fen) == (1272, 2 * 1590)
    assert settled == []

    with django_capture_on_commit_callbacks(execute=True):
        third = services.order_join(campaign_id=campaign.pk, user=users[2], quantities={item.pk: 1}).order
    assert third.total_fen == 1400  # joins at the tier it unlocks
    assert settled == [campaign.pk]  # and the earlier joiners are settled after commit

    assert services.campaign_settle_prices(campaign_id=campaign.pk) == 1
    assert services.campaign_settle_prices(campaign_id=campaign.pk) == 0  # idempotent
    totals = dict(Order.objects.filter(campaign=campaign).values_list("seq", "total_fen"))
    # The perk order keeps its lower first-N price; the second joiner now pays the tier price.
    assert totals == {1: 1272, 2: 2 * 1400, 3: 1400}
    assert sum(
        line.quantity * line.unit_price_fen for line in OrderLine.objects.filter(order__campaign=campaign)
    ) == sum(totals.values())


@pytest.mark.django_db
def test_one_campaign_failing_to_close_does_not_keep_the_others_open(monkeypatch, caplog):
    from jielong.services import campaigns as campaigns_module

    due = [f.open_campaign(members=0).campaign for _ in range(3)]
    Campaign.objects.filter(pk__in=[c.pk for c in due]).update(closes_at=clock.now() - timedelta(seconds=1))
    real, broken = campaigns_module.campaign_close, due[0].pk

    def close_or_fail(*, campaign_id):
        if campaign_id == broken:
            raise RuntimeError("a broken campaign")
        return real(campaign_id=campaign_id)

    monkeypatch.setattr(campaigns_module, "campaign_close", close_or_fail)

    assert sorted(services.campaigns_close_due()) == sorted(c.pk for c in due[1:])
    statuses = dict(Campaign.objects.values_list("pk", "status"))
    assert [statuses[c.pk] for c in due] == [Campaign.Status.OPEN, Campaign.Status.FAILED, Campaign.Status.FAILED]
    assert f"campaign {broken} did not close" in caplog.text


@pytest.mark.django_db
def test_a_draft_that_cannot_open_does_not_keep_the_session_s_other_drafts_shut(caplog):
    session = f.live_session(hosts=[f.host()])
    stale = f.campaign(live_session=session)
    Campaign.objects.filter(pk=stale.pk).update(closes_at=clock.now() - timedelta(minutes=1))
    fresh = f.campaign(live_session=session)

    opened = services.campaigns_open_for_session(live_session_id=session.pk)

    assert [c.pk for c in opened] == [fresh.pk]
    statuses = dict(Campaign.objects.values_list("pk", "status"))
    assert (statuses[stale.pk], statuses[fresh.pk]) == (Campaign.Status.DRAFT, Campaign.Status.OPEN)
    assert f"campaign {stale.pk} of live session {session.pk} did not open" in caplog.text
