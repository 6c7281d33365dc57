"""jielong.join.group_call.GroupCall: concurrent calls go together, at most ``limit`` at a time, each
caller gets its own result (or its own exception), in order."""

import asyncio

import pytest

from jielong.join.group_call import GroupCall


def _run(coroutine):
    return asyncio.run(coroutine)


def test_calls_arriving_while_a_group_runs_go_together_in_the_next_group():
    groups = []

    async def run(items):
        groups.append(list(items))
        await asyncio.sleep(0.01)
        return [item * 10 for item in items]

    async def go():
        call = GroupCall(run, limit=100)
        first = asyncio.ensure_future(call.submit(0))
        await asyncio.sleep(0.001)  # the first group is now in the database
        rest = await asyncio.gather(*(call.submit(i) for i in range(1, 5)))
        return [await first, *rest]

    assert _run(go()) == [0, 10, 20, 30, 40]
    # The first arrival went alone; the four that arrived while it ran went as one group.
    assert groups == [[0], [1, 2, 3, 4]]


def test_a_group_never_exceeds_the_limit():
    groups = []

    async def run(items):
        groups.append(len(items))
        await asyncio.sleep(0)
        return items

    async def go():
        call = GroupCall(run, limit=3)
        return await asyncio.gather(*(call.submit(i) for i in range(10)))

    assert _run(go()) == list(range(10))
    assert max(groups) == 3
    assert sum(groups) == 10


def test_an_exception_as_a_result_reaches_only_its_own_caller():
    async def run(items):
        return [ValueError(f"bad {item}") if item == 2 else item for item in items]

    async def go():
        call = GroupCall(run, limit=100)
        return await asyncio.gather(*(call.submit(i) for i in range(4)), return_exceptions=True)

    results = _run(go())
    assert results[:2] == [0, 1] and results[3] == 3
    assert isinstance(results[2], ValueError) and str(results[2]) == "bad 2"


def test_a_failing_group_fails_each_of_its_callers_and_the_next_group_still_runs():
    calls = []

    async def run(items):
        calls.append(list(items))
        if len(calls) == 1:
            raise RuntimeError("deadlock detected")
        return items

    async def go():
        call = GroupCall(run, limit=100)
        first = asyncio.ensure_future(call.submit("a"))
        await asyncio.sleep(0)
        later = await asyncio.gather(call.submit("b"), call.submit("c"))
        with pytest.raises(RuntimeError):
            await first
        return later, call.running

    later, running = _run(go())
    assert later == ["b", "c"]
    assert running is False


def test_on_idle_is_called_once_the_last_group_is_done_and_not_before():
    idle = []

    async def run(items):
        await asyncio.sleep(0.01)
        return items

    async def go():
        call = GroupCall(run, limit=2, on_idle=lambda group_call: idle.append(len(group_call.waiting)))
        results = await asyncio.gather(*(call.submit(i) for i in range(5)))
        return results

    assert _run(go()) == [0, 1, 2, 3, 4]
    assert idle == [0]
