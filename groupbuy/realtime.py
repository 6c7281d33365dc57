"""Group fan-out inside one server process.

A campaign or a live room can have a thousand watchers. If each watcher's own channel joined the
group, the channel layer would queue, wake and dispatch one copy of every message per watcher. Instead
each server process joins a group once, through one relay channel, and hands each message straight
to its local consumers (``relay_message``). Messages keep their channel-layer shape (``type`` names
the handler), so a consumer handles them as it would handle a group message.

A slow socket must not hold up the others. When a client stops reading (a phone in a tunnel, a
tab in the background), its socket's write buffer fills and the server's ``send`` waits until it
drains — or, for a dead connection, until the keep-alive ping gives up (~20–40 s). Awaited one
listener after another, that one wait held every later message for every watcher in the process:
the live room heard 发布接龙 tens of seconds late during a join storm. So the relay starts each
listener's ``relay_message`` itself and lets it run as far as it can (almost always to the end:
writing to a socket with room in its buffer does not wait). Only a send that must wait goes on in
a task of its own, and that listener's next messages queue behind it (``MAX_BACKLOG``), so each
listener still gets its messages in order and nobody else waits.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import types
from collections.abc import Coroutine
from typing import Any, Protocol

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

# Messages held for one listener whose socket is not draining. Beyond that it is far behind (its
# connection is probably dead and about to be closed by the keep-alive): newer messages are dropped
# for it. Delivery is at most once anyway; snapshots are whole and a reconnect re-syncs.
MAX_BACKLOG = 100


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
        # Listeners whose send is waiting for their socket, with the messages queued behind it.
        self.backlogs: dict[Listener, collections.deque[dict]] = {}
        self.finishing: set[asyncio.Task] = set()  # strong references while they run

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
                self.deliver(listener, message)

    def deliver(self, listener: Listener, message: dict) -> None:
        """Hand ``message`` to ``listener`` without waiting for its socket (see the module's docstring)."""
        backlog = self.backlogs.get(listener)
        if backlog is not None:
            if len(backlog) < MAX_BACKLOG:
                backlog.append(message)
            else:
                logger.info("a listener of %s is not reading; dropped a %s for it", self.group, message.get("type"))
            return
        waiting = _run_until_it_waits(listener.relay_message(message), message)
        if waiting is not None:
            self.backlogs[listener] = collections.deque()
            task = asyncio.get_running_loop().create_task(self._finish(listener, waiting))
            self.finishing.add(task)
            task.add_done_callback(self.finishing.discard)

    async def _finish(self, listener: Listener, waiting) -> None:
        """Finish a send that had to wait, then the listener's queued messages, in order."""
        backlog = self.backlogs[listener]
        try:
            while True:
                try:
                    await waiting
                except Exception:
                    logger.debug("could not relay a message to a listener", exc_info=True)
                if not backlog:
                    return
                message = backlog.popleft()
                waiting = listener.relay_message(message)
        finally:
            self.backlogs.pop(listener, None)


def _run_until_it_waits(coroutine: Coroutine, message: dict):
    """Run ``coroutine`` now, on the caller's stack, until it finishes (None) or has to wait: then
    an awaitable that goes on from there. (What Python 3.12's eager tasks do, without a task for the
    common case of a send that never waits.)"""
    try:
        waits_on = coroutine.send(None)
    except StopIteration:
        return None
    except Exception:
        # One broken socket must not keep the message from the others.
        logger.debug("could not relay %s to a listener", message.get("type"), exc_info=True)
        return None
    return _go_on(coroutine, waits_on)


@types.coroutine
def _go_on(coroutine: Coroutine, waits_on: Any):
    """Hand what ``coroutine`` waits on up to the task running this, and resume it when it is done."""
    while True:
        try:
            sent = yield waits_on
        except BaseException as exc:  # cancellation included: it goes to the coroutine
            try:
                waits_on = coroutine.throw(exc)
            except StopIteration:
                return
        else:
            try:
                waits_on = coroutine.send(sent)
            except StopIteration:
                return


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
