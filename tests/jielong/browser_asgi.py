"""ASGI app for browser tests: the project's app with static files served (DEBUG is off in tests, and
whitenoise serves only the built STATIC_ROOT). Run by ``uvicorn --factory`` in a server process."""


def make_app():
    from django.core.asgi import get_asgi_application

    http = get_asgi_application()  # sets Django up before anything imports models

    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from groupbuy.routing import websocket_urlpatterns

    websocket = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
    return ProtocolTypeRouter({"http": ASGIStaticFilesHandler(http), "websocket": websocket})
