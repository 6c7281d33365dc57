"""Django's ASGI handler, with each request's middleware and view run as one synchronous call.

Django's own ASGI handler runs the middleware chain in async mode: it crosses from the event loop to a
thread and back around each run of sync-only middleware (ours), for the stock middleware's
process_response, and for the synchronous view — 9 crossings for a member page, against 3 here
(tests/kernel/test_asgi_handler.py). Each crossing waits its turn in the event loop, and during a join
storm that loop has a hundred joins ready in every turn. Every view here is synchronous, so the whole
chain runs in the request's thread in one crossing, as under WSGI.

The joins themselves never get here: ``jielong.join.asgi.JoinGateway`` answers them on the loop.

A streamed response (the xlsx lists, a FileResponse over a temporary file) goes out chunk by chunk, each read
in the request's thread: Django's handler reads a synchronous iterator whole into a list first, so a file
written in constant memory was held in memory whole to be sent.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler


class OneCrossingASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        BaseHandler.__init__(self)  # not ASGIHandler.__init__: it loads the chain in async mode
        self.load_middleware(is_async=False)

    async def run_get_response(self, request):
        response = await super().run_get_response(request)  # sets a FileResponse's block size: read lazily
        if response.streaming and not response.is_async:
            response.streaming_content = _one_by_one(response.streaming_content)
        return response

    async def get_response_async(self, request):
        # thread_sensitive: inside the ThreadSensitiveContext ASGIHandler.__call__ opens per request, the
        # request's own thread — the one request_started/finished (closing the database connection) run in.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


_END = object()


async def _one_by_one(chunks):
    """A synchronous iterator's chunks as they come, each read in the request's thread (thread_sensitive)."""
    step = sync_to_async(next, thread_sensitive=True)
    while (chunk := await step(chunks, _END)) is not _END:
        yield chunk


def get_asgi_application() -> OneCrossingASGIHandler:
    """``django.core.asgi.get_asgi_application`` for this handler."""
    import django

    django.setup(set_prefix=False)
    return OneCrossingASGIHandler()
