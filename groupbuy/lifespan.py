"""The ASGI lifespan protocol (uvicorn ``--lifespan on``), for the steps a server process takes once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

logger = logging.getLogger(__name__)

Step = Callable[[], Awaitable[object]]


class Lifespan:
    """Runs ``startup`` before the server accepts a connection and ``shutdown`` after it has answered its
    last request. A start-up step that fails is logged and the server starts anyway: each one only does
    early what the first requests would otherwise do. A shutdown step that fails is reported to the
    server (``lifespan.shutdown.failed``) after the others have run."""

    def __init__(self, *, startup: Sequence[Step] = (), shutdown: Sequence[Step] = ()) -> None:
        self.startup = list(startup)
        self.shutdown = list(shutdown)

    async def __call__(self, scope, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for step in self.startup:
                    try:
                        await step()
                    except Exception:
                        logger.exception("start-up step %s failed; starting anyway", _name(step))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                failed = []
                for step in self.shutdown:
                    try:
                        await step()
                    except Exception as exc:
                        logger.exception("shutdown step %s failed", _name(step))
                        failed.append(f"{_name(step)}: {exc}")
                if failed:
                    await send({"type": "lifespan.shutdown.failed", "message": "; ".join(failed)})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                return


def _name(step: Step) -> str:
    return getattr(step, "__qualname__", repr(step))
