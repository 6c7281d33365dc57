"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import asyncio
import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "groupbuy.settings.local")

from groupbuy.asgi_handler import get_asgi_application

# Django must be set up before anything imports models (the routing does).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from groupbuy import broadcaster, warmup  # noqa: E402
from groupbuy.lifespan import Lifespan  # noqa: E402
from groupbuy.routing import websocket_urlpatterns  # noqa: E402
from jielong.join.asgi import JoinGateway  # noqa: E402


async def _freeze_heap() -> None:
    """What start-up loaded (and the warm-up compiled) lives as long as the process: keep it out of the garbage
    collector's full passes, which walked all of it and paused the event loop 0.1–0.5 s in the middle of
    broadcasts to 1,000 watchers (bench/broadcast.py)."""
    gc.freeze()


# Joins at the end of a live take a fast path (see jielong/join/asgi.py); the rest is Django.
join_gateway = JoinGateway(django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": join_gateway,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        # Run uvicorn with --lifespan on: start-up warms the process before it accepts a connection (its
        # first page loads are as fast as the rest); shutdown finishes the gateway's queued after-join work.
        "lifespan": Lifespan(
            startup=[lambda: asyncio.to_thread(warmup.warm_process), join_gateway.start, _freeze_heap],
            shutdown=[join_gateway.aclose],
        ),
    }
)

# Real-time messages go out from a thread of each server process; start it before traffic arrives.
broadcaster.start()

# Without the lifespan (a server run with --lifespan off), freeze what the import loaded.
gc.freeze()
