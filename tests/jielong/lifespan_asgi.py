"""The production ASGI app (groupbuy.asgi) for the graceful-shutdown test, with the gateway's after-join
delay stretched so committed joins' after-join work is still queued when the server is told to stop.
Run by ``uvicorn --factory --lifespan on`` in a server process."""


def make_app():
    from groupbuy.asgi import application
    from jielong.join import asgi as gateway

    gateway.AFTER_JOIN_DELAY = 600
    return application
