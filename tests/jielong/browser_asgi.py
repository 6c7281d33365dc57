"""ASGI app for browser tests: the project's app with static files served (DEBUG is off in tests, and
whitenoise serves only the built STATIC_ROOT). Run by ``uvicorn --factory`` in a server process."""


def make_app():
    from groupbuy.asgi_handler import get_asgi_application

    http = get_asgi_application()  # sets Django up before anything imports models

    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from groupbuy.routing import websocket_urlpatterns

    websocket = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
    return ProtocolTypeRouter({"http": ASGIStaticFilesHandler(http), "websocket": websocket, "lifespan": _lifespan})


async def _lifespan(scope, receive, send):
    """uvicorn runs with --lifespan on, as in production; this app has nothing to start or drain."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
