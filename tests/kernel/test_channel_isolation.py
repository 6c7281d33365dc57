"""Installs sharing one Redis do not hear each other: pub/sub ignores the db number, the prefix does not."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _url_with_db(db: int) -> str:
    parts = urlsplit(settings.REDIS_URL)
    return urlunsplit(parts._replace(path=f"/{db}"))


def _prefix_for(redis_url: str, tmp_path: Path) -> str:
    """The prefix an install on ``redis_url`` gets by default (settings loaded in a fresh interpreter)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "groupbuy.settings.local",
        "GROUPBUY_DATA_DIR": str(tmp_path),
        "REDIS_URL": redis_url,
    }
    probe = "from django.conf import settings; print(settings.CHANNEL_LAYERS['default']['CONFIG']['prefix'])"
    result = subprocess.run([sys.executable, "-c", probe], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def _heard(sender: RedisPubSubChannelLayer, listener: RedisPubSubChannelLayer) -> bool:
    channel = await listener.new_channel()
    await listener.group_add("campaign-1", channel)
    try:
        await asyncio.sleep(0.2)  # the subscription reaches Redis
        await sender.group_send("campaign-1", {"type": "snapshot", "version": 7})
        try:
            await asyncio.wait_for(listener.receive(channel), timeout=1)
        except TimeoutError:
            return False
        return True
    finally:
        await listener.group_discard("campaign-1", channel)
        await sender.flush()
        await listener.flush()


@pytest.mark.asyncio
async def test_an_install_on_db_7_does_not_reach_a_watcher_of_an_install_on_db_0(tmp_path):
    db0, db7 = _url_with_db(0), _url_with_db(7)
    listener = RedisPubSubChannelLayer(hosts=[db0], prefix=_prefix_for(db0, tmp_path))
    sender = RedisPubSubChannelLayer(hosts=[db7], prefix=_prefix_for(db7, tmp_path))

    assert await _heard(sender, listener) is False


@pytest.mark.asyncio
async def test_the_same_install_still_hears_itself(tmp_path):
    """The control: with one prefix the message arrives (so the test above can fail)."""
    db0 = _url_with_db(0)
    prefix = _prefix_for(db0, tmp_path)
    listener = RedisPubSubChannelLayer(hosts=[db0], prefix=prefix)
    sender = RedisPubSubChannelLayer(hosts=[_url_with_db(7)], prefix=prefix)

    assert await _heard(sender, listener) is True
