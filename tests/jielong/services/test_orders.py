"""Orders after the join (jielong.services.orders): cancelling returns stock and the perk place."""

import pytest

from jielong import services
from jielong.models import Order
from tests import factories as f
from tests.jielong.states import campaign_state as _state

# Every test runs twice: through the PostgreSQL function and through its ORM twin (conftest.join_engine).
pytestmark = pytest.mark.usefixtures("join_engine")


@pytest.mark.django_db
def test_cancel_returns_stock_and_perk_to_the_next_joiner():
    given = f.open_campaign(perk_limit=1)
    campaign, item, users = given.campaign, given.item, given.members
    first = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 2}).order

    services.order_cancel(order_id=first.pk, user=users[0])

    state = _state(campaign, item)
    assert (state["stock"], state["joined"], state["perk_taken"], state["next_seq"]) == (100, 0, 0, 2)
    nxt = services.order_join(campaign_id=campaign.pk, user=users[1], quantities={item.pk: 1}).order
    assert (nxt.seq, nxt.is_perk) == (2, True)
    # The member who cancelled may join again, as a new entry.
    again = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}).order
    assert (again.seq, again.is_perk) == (3, False)


@pytest.mark.django_db
def test_cancel_of_someone_elses_order_is_refused():
    given = f.open_campaign()
    campaign, item, users = given.campaign, given.item, given.members
    order = services.order_join(campaign_id=campaign.pk, user=users[0], quantities={item.pk: 1}).order
    with pytest.raises(services.JoinRefused):
        services.order_cancel(order_id=order.pk, user=users[1])
    order.refresh_from_db()
    assert order.status == Order.Status.JOINED
