"""catalogue.stock, the one owner of SKU stock: all or nothing, rows locked in pk order, no oversell."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from catalogue import stock
from catalogue.models import SKU
from tests import factories as f


def _stock(*skus):
    return [SKU.objects.get(pk=sku.pk).stock for sku in skus]


@pytest.mark.django_db
def test_take_and_give_back_move_exactly_the_quantities():
    a, b = f.sku(stock=10), f.sku(stock=5)

    stock.stock_take(quantities={a.pk: 3, b.pk: 5})
    assert _stock(a, b) == [7, 0]

    stock.stock_give_back(quantities={b.pk: 2})
    assert _stock(a, b) == [7, 2]


@pytest.mark.django_db
def test_insufficient_stock_names_the_sku_and_changes_nothing():
    a, b = f.sku(stock=10, name="上海青"), f.sku(stock=1, name="土鸡蛋")

    with pytest.raises(stock.InsufficientStock) as error:
        stock.stock_take(quantities={a.pk: 3, b.pk: 2})

    assert (error.value.code, error.value.sku_id) == ("sold_out", b.pk)
    assert "土鸡蛋" in error.value.message
    assert _stock(a, b) == [10, 1]


@pytest.mark.django_db
def test_insufficient_stock_is_refused_before_any_write():
    a, b = f.sku(stock=10), f.sku(stock=0)

    with CaptureQueriesContext(connection) as queries, pytest.raises(stock.InsufficientStock):
        stock.stock_take(quantities={a.pk: 1, b.pk: 1})

    assert not [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]


@pytest.mark.django_db
def test_exchange_takes_one_sku_and_gives_back_another_in_one_pass():
    a, b = f.sku(stock=4), f.sku(stock=4)

    stock.stock_exchange(take={a.pk: 4}, give_back={b.pk: 3})
    assert _stock(a, b) == [0, 7]

    with pytest.raises(stock.InsufficientStock):
        stock.stock_exchange(take={a.pk: 1}, give_back={b.pk: 1})
    assert _stock(a, b) == [0, 7]  # the give-back half was not written either


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -1, 1.5, True, "2"], ids=["zero", "negative", "float", "bool", "text"])
def test_quantities_are_whole_numbers_of_at_least_one(quantity):
    a = f.sku(stock=10)
    with pytest.raises(ValueError):
        stock.stock_take(quantities={a.pk: quantity})
    with pytest.raises(ValueError):
        stock.stock_give_back(quantities={a.pk: quantity})
    assert _stock(a) == [10]


@pytest.mark.django_db
def test_rows_are_locked_and_written_in_primary_key_order():
    skus = [f.sku(stock=10) for _ in range(3)]
    asked = {skus[2].pk: 1, skus[0].pk: 1, skus[1].pk: 1}  # not in pk order

    with CaptureQueriesContext(connection) as queries:
        stock.stock_take(quantities=asked)

    statements = [q["sql"] for q in queries.captured_queries]
    [lock] = [sql for sql in statements if "FOR UPDATE" in sql]
    assert 'ORDER BY "catalogue_sku"."id" ASC' in lock
    assert 'FOR UPDATE OF "catalogue_sku"' in lock
    updates = [sql for sql in statements if sql.startswith("UPDATE")]
    written = [next(sku.pk for sku in skus if f'"id" = {sku.pk} ' in sql) for sql in updates]
    assert written == sorted(asked)
    assert statements.index(lock) < statements.index(updates[0])


def _race(fn, args_list, workers):
    start = threading.Barrier(workers)

    def run(args):
        try:
            start.wait()
            return fn(*args)
        except Exception as exc:  # the outcome is what we count
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, args_list))


@pytest.mark.django_db(transaction=True)
def test_thirty_threads_racing_for_ten_units_never_oversell():
    hot = f.sku(stock=10)

    outcomes = _race(lambda: stock.stock_take(quantities={hot.pk: 1}), [()] * 30, workers=30)

    taken = [o for o in outcomes if o is None]
    refused = [o for o in outcomes if isinstance(o, stock.InsufficientStock)]
    assert (len(taken), len(refused)) == (10, 20), outcomes
    assert _stock(hot) == [0]


@pytest.mark.django_db(transaction=True)
def test_takes_of_the_same_skus_in_opposite_orders_do_not_deadlock():
    a, b = f.sku(stock=100), f.sku(stock=100)
    forwards, backwards = {a.pk: 1, b.pk: 1}, {b.pk: 1, a.pk: 1}

    outcomes = _race(lambda q: stock.stock_take(quantities=q), [(forwards,), (backwards,)] * 10, workers=20)

    assert outcomes == [None] * 20
    assert _stock(a, b) == [80, 80]
