"""Group commit for the ASGI fast path: concurrent joins of one campaign go to the database as one
call of ``jielong_join``, under one lock and one commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class GroupCall:
    """Coalesce concurrent calls into group calls: while one group is in the database, new
    arrivals wait, then go together (at most ``limit`` at a time). ``run`` takes a list of items and
    returns one result per item, in order; a result that is an exception is raised to its caller.

    ``on_idle`` is called when the last waiting group is done (the gateway forgets the campaign's
    GroupCall then, so a process that served 10,000 campaigns does not keep 10,000 of them)."""

    def __init__(
        self, run: Callable[[list], Awaitable[list]], limit: int, on_idle: Callable[[GroupCall], None] | None = None
    ) -> None:
        self.run, self.limit, self.on_idle = run, limit, on_idle
        self.waiting: list[tuple[Any, asyncio.Future]] = []
        self.running = False

    async def submit(self, item: Any) -> Any:
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((item, future))
        if not self.running:
            self.running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.waiting:
                group, self.waiting = self.waiting[: self.limit], self.waiting[self.limit :]
                try:
                    results = await self.run([item for item, _future in group])
                except Exception as exc:
                    results = [exc] * len(group)
                for (_item, future), result in zip(group, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self.running = False
            if self.on_idle is not None and not self.waiting:
                self.on_idle(self)
