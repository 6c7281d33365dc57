"""The relay's fan-out: a listener whose socket does not drain holds up nobody else (groupbuy/realtime.py)."""

import asyncio

import pytest

from groupbuy import realtime


class Listener:
    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.gate = gate
        self.got: list[int] = []

    async def relay_message(self, message: dict) -> None:
        if self.gate is not None:
            await self.gate.wait()  # like a send waiting for a full socket buffer to drain
        self.got.append(message["n"])


class Broken:
    async def relay_message(self, message: dict) -> None:
        raise ConnectionError("gone")


@pytest.mark.asyncio
async def test_a_listener_that_waits_holds_up_nobody_and_gets_its_messages_in_order():
    # given a relay with a listener whose socket is full, a broken one and two quick ones
    relay = realtime.GroupRelay("test.relay")
    gate = asyncio.Event()
    slow, quick, other = Listener(gate), Listener(), Listener()
    for listener in (slow, Broken(), quick, other):
        relay.listeners.add(listener)

    # when three messages go out
    for n in (1, 2, 3):
        for listener in list(relay.listeners):
            relay.deliver(listener, {"type": "x", "n": n})

    # then the quick listeners have them all at once, the slow one none yet
    assert quick.got == [1, 2, 3] and other.got == [1, 2, 3]
    assert slow.got == []
    assert list(relay.backlogs[slow]) == [{"type": "x", "n": 2}, {"type": "x", "n": 3}]

    # and once its socket drains, the slow one gets all three, in order, and leaves no backlog
    gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert slow.got == [1, 2, 3]
    assert relay.backlogs == {} and relay.finishing == set()


@pytest.mark.asyncio
async def test_a_listener_far_behind_loses_the_newest_messages_not_the_others(monkeypatch):
    monkeypatch.setattr(realtime, "MAX_BACKLOG", 2)
    relay = realtime.GroupRelay("test.relay")
    gate = asyncio.Event()
    slow, quick = Listener(gate), Listener()
    for n in range(1, 6):
        for listener in (slow, quick):
            relay.deliver(listener, {"type": "x", "n": n})
    assert quick.got == [1, 2, 3, 4, 5]
    gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert slow.got == [1, 2, 3]
