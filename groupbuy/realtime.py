"""Group fan-out inside one server process.

A campaign or a live room can have a thousand watchers. If each watcher's own channel joined the
group, the channel layer would queue, wake and dispatch one copy of every message per watcher. Instead
each server process joins a group once, through one relay channel, and hands each message straight
to its local consumers (``relay_message``). Messages keep their channel-layer shape (``type`` names
the handler), so a consumer handles them as it would handle a group message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


class Listener(Protocol):
    async def relay_message(self, message: dict) -> None: ...


class GroupRelay:
    """This process's member of one group: forwards each message to the local listeners."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.listeners: set[Listener] = set()
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.task: asyncio.Task | None = None
        self.lock = asyncio.Lock()

    async def add(self, listener: Listener) -> None:
        async with self.lock:
            self.listeners.add(listener)
            if self.task is None:
                self.channel = await self.layer.new_channel("relay.")
                await self.layer.group_add(self.group, self.channel)
                self.task = asyncio.get_running_loop().create_task(self._forward(self.channel))

    async def discard(self, listener: Listener) -> None:
        async with self.lock:
            self.listeners.discard(listener)
            if not self.listeners and self.task is not None:
                self.task.cancel()
                await self.layer.group_discard(self.group, self.channel)
                self.task = self.channel = None
                _relays(asyncio.get_running_loop()).pop(self.group, None)

    async def _forward(self, channel: str) -> None:
        while True:
            message = await self.layer.receive(channel)
            for listener in list(self.listeners):
                try:
                    await listener.relay_message(message)
                except Exception:
                    # One broken socket must not keep the message from the others.
                    logger.debug("could not relay %s to a listener", message.get("type"), exc_info=True)


_by_loop: dict[asyncio.AbstractEventLoop, dict[str, GroupRelay]] = {}


def _relays(loop: asyncio.AbstractEventLoop) -> dict[str, GroupRelay]:
    # One set of relays per event loop (one loop per server process; tests make a loop per test).
    for old in [other for other in _by_loop if other.is_closed()]:
        del _by_loop[old]
    return _by_loop.setdefault(loop, {})


def relay(group: str) -> GroupRelay:
    relays = _relays(asyncio.get_running_loop())
    found = relays.get(group)
    if found is None:
        found = relays[group] = GroupRelay(group)
    return found


def relays_now() -> dict[str, GroupRelay]:
    """This loop's relays (tests)."""
    return _relays(asyncio.get_running_loop())
