"""Graceful shutdown of the join gateway: uvicorn runs with ``--lifespan on`` and a stop (SIGTERM)
finishes the after-join work of joins already answered (in-process events, broadcast, tier settling)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings

from analytics.models import Event
from jielong.models import CampaignOutbox, Order
from tests import factories as f
from tests.jielong.gateway_client import cookie_headers, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(port: int) -> subprocess.Popen:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "groupbuy.settings.test",
    }
    env.pop("GROUPBUY_CLOCK_SHIFT_DAYS", None)
    command = [sys.executable, "-m", "uvicorn", "--factory", "tests.jielong.lifespan_asgi:make_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "on"]
    server = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)
    deadline = time.monotonic() + 30
    while True:
        assert server.poll() is None, "uvicorn exited"
        assert time.monotonic() < deadline, "uvicorn did not start"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)


def test_sigterm_finishes_the_queued_after_join_work_before_the_server_exits():
    given = f.open_campaign(members=2, perk_limit=1, threshold=2)
    campaign, item = given.campaign, given.item
    port = _free_port()
    server = _start_server(port)
    try:
        for user in given.members:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/jielong/campaigns/{campaign.pk}/join/",
                data=json.dumps({"items": [{"item": item.pk, "quantity": 1}]}).encode(),
                headers=cookie_headers(session_cookie(user)) | {"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 201
        assert Order.objects.filter(campaign=campaign).count() == 2
        # Answered and committed, with their events (the join's statement writes them to the stream);
        # the after-join work (broadcast, clearing the owed outbox row) waits in the gateway (its delay
        # is stretched).
        assert Event.objects.filter(name="jielong.order_joined", campaign_id=campaign.pk).count() == 2
        assert CampaignOutbox.objects.filter(campaign_id=campaign.pk).exists()

        server.send_signal(signal.SIGTERM)
        # uvicorn ends by re-raising the signal once the application has shut down
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    assert not CampaignOutbox.objects.filter(campaign_id=campaign.pk).exists()  # the work was done
    assert Event.objects.filter(name="jielong.order_joined", campaign_id=campaign.pk).count() == 2
    assert Event.objects.filter(name="jielong.group_formed", campaign_id=campaign.pk).count() == 1
