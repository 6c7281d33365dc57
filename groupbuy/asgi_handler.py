"""Django's ASGI handler, with each request's middleware and view run as one synchronous call.

Django's own ASGI handler runs the middleware chain in async mode: it crosses from the event loop to a
thread and back around each run of sync-only middleware (ours), for the stock middleware's
process_response, and for the synchronous view — 9 crossings for a member page, against 3 here
(tests/kernel/test_asgi_handler.py). Each crossing waits its turn in the event loop, and during a join
storm that loop has a hundred joins ready in every turn. Every view here is synchronous, so the whole
chain runs in the request's thread in one crossing, as under WSGI.

The joins themselves never get here: ``jielong.join.asgi.JoinGateway`` answers them on the loop.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler


class OneCrossingASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        BaseHandler.__init__(self)  # not ASGIHandler.__init__: it loads the chain in async mode
        self.load_middleware(is_async=False)

    async def get_response_async(self, request):
        # thread_sensitive: inside the ThreadSensitiveContext ASGIHandler.__call__ opens per request, the
        # request's own thread — the one request_started/finished (closing the database connection) run in.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> OneCrossingASGIHandler:
    """``django.core.asgi.get_asgi_application`` for this handler."""
    import django

    django.setup(set_prefix=False)
    return OneCrossingASGIHandler()
