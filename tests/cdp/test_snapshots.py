"""The brand models' snapshot (cdp.snapshots): computed once, read from the cache while the brand's orders and
refunds stay as they were and it is young; computed again after an order changes or it grows old; the page says
how fresh it is; a cache that cannot be reached only costs the computation."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.urls import reverse

from cdp import snapshots
from jielong.ledger import refund_issue
from jielong.models import Order
from tests import factories as f
from tests.cdp.scenario import NOW, Builder, day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pinned")]


@pytest.fixture
def data():
    s = Builder()
    k1 = s.person("朵朵妈妈")
    r1 = s.person("小王", invited_by=k1)
    order = s.order(r1, None, 5000, day(-3))
    s.order(k1, None, 2000, day(-20))
    return s, k1, r1, order


def _computations():
    return mock.patch("cdp.snapshots.rfm.rfm_cells", wraps=snapshots.rfm.rfm_cells)


def test_the_second_read_comes_from_the_cache_with_the_same_figures(data):
    s, _k1, r1, _order = data
    with _computations() as computed:
        first = snapshots.brand_snapshot(brand_id=s.brand.pk)
        second = snapshots.brand_snapshot(brand_id=s.brand.pk)
    assert computed.call_count == 1
    assert second.cells == first.cells and second.computed_at == first.computed_at
    assert [x.user_id for x in second.scores] == [x.user_id for x in first.scores]
    assert second.cells[r1.pk].monetary_fen == 5000


@pytest.mark.parametrize("change", ["cancel", "refund", "new order"])
def test_an_order_or_refund_change_makes_the_next_read_compute_again(data, change):
    s, _k1, r1, order = data
    before = snapshots.brand_snapshot(brand_id=s.brand.pk)
    if change == "cancel":
        Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    elif change == "refund":
        with time_machine.travel(NOW - timedelta(hours=1), tick=False):  # paid back before now: it counts
            refund_issue(order=order, amount_fen=1200, key="snap-refund", by=None, reason="test")
    else:
        s.order(r1, None, 700, day(-1))
    with _computations() as computed:
        after = snapshots.brand_snapshot(brand_id=s.brand.pk)
    assert computed.call_count == 1
    expected = {"cancel": None, "refund": 3800, "new order": 5700}[change]
    assert (after.cells[r1.pk].monetary_fen if r1.pk in after.cells else None) == expected
    assert before.cells[r1.pk].monetary_fen == 5000


def test_a_snapshot_older_than_its_life_is_computed_again(data):
    s, *_ = data
    snapshots.brand_snapshot(brand_id=s.brand.pk)
    with time_machine.travel(NOW + snapshots.MAX_AGE - timedelta(seconds=1), tick=False), _computations() as computed:
        snapshots.brand_snapshot(brand_id=s.brand.pk)
        assert computed.call_count == 0
    with time_machine.travel(NOW + snapshots.MAX_AGE, tick=False), _computations() as computed:
        again = snapshots.brand_snapshot(brand_id=s.brand.pk)
        assert computed.call_count == 1
    assert again.computed_at == NOW + snapshots.MAX_AGE


def test_the_beat_task_refreshes_half_old_snapshots_only(data):
    s, *_ = data
    other = f.brand("邻家鲜")
    snapshots.brand_snapshot(brand_id=s.brand.pk)
    snapshots.brand_snapshot(brand_id=other.pk)
    from cdp.tasks import models_refresh

    assert models_refresh() == 0  # both fresh
    with time_machine.travel(NOW + snapshots.REFRESH_AFTER, tick=False):
        assert models_refresh() == 2


def test_an_unreachable_cache_costs_the_computation_not_the_page(data):
    s, *_ = data
    with mock.patch("cdp.snapshots.cache") as broken:
        broken.get.side_effect = ConnectionError("redis down")
        broken.set.side_effect = ConnectionError("redis down")
        snapshot = snapshots.brand_snapshot(brand_id=s.brand.pk)
    assert snapshot.cells


def test_the_models_page_says_how_fresh_its_figures_are(client, data):
    s, *_ = data
    operator = f.operator()
    client.force_login(operator)
    page = client.get(reverse("cdp:home"), {"brand": s.brand.pk, "lang": "en"}, HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="models-freshness"' in text
    assert NOW.strftime("%H:%M") in text
