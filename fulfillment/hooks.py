"""What higher apps do inside a 核销's transaction, without fulfilment importing them.

The fission app (帮卖 and leader commissions) accrues commissions on the orders a verification hands over,
in the same transaction as the verification, and takes them back when the verification is undone. It
registers here in its ``AppConfig.ready``; each handler gets the jielong order ids and the moment, runs
holding those orders' row locks, and may raise to refuse the whole verification (it should not).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

# (order ids, now) -> None
PickupHandler = Callable[[list[int], datetime], None]

_picked_up: list[PickupHandler] = []
_pickup_undone: list[PickupHandler] = []


def register_picked_up(handler: PickupHandler) -> None:
    if handler not in _picked_up:
        _picked_up.append(handler)


def register_pickup_undone(handler: PickupHandler) -> None:
    if handler not in _pickup_undone:
        _pickup_undone.append(handler)


def picked_up(order_ids: list[int], now: datetime) -> None:
    for handler in _picked_up:
        handler(order_ids, now)


def pickup_undone(order_ids: list[int], now: datetime) -> None:
    for handler in _pickup_undone:
        handler(order_ids, now)
