"""Tasks executed by a real Celery worker process: over Redis (production), and over the filesystem
broker with embedded beat running the settings' own schedule (the embedded default of ``bin/dev``)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from analytics.models import Event
from analytics.tasks import event_record_task
from jielong.models import Campaign
from tests import factories

BASE_DIR = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db(transaction=True)


def worker_database_url() -> str:
    """The URL of the database this test runs against (pytest-django's test_<name>)."""
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_worker(tmp_path: Path, *args: str, **env: str) -> Iterator[Path]:
    """Run ``celery -A groupbuy worker`` against the test database until the block ends; yields its log."""
    log = tmp_path / "worker.log"
    worker_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "groupbuy.settings.test",
        "DATABASE_URL": worker_database_url(),
        "GROUPBUY_DATA_DIR": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    command = [sys.executable, "-m", "celery", "-A", "groupbuy", "worker", "--pool=solo", "--loglevel=info"]
    # No mingle/gossip: never talk to other workers that may share this Redis.
    command += ["--without-mingle", "--without-gossip", *args]
    with log.open("w") as out:
        worker = subprocess.Popen(
            command, cwd=BASE_DIR, env=worker_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield log
    finally:
        # Warm shutdown; the worker must be gone before pytest-django drops the test database.
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def wait_for(condition: Callable[[], bool], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"gave up after {timeout:.0f} s; worker log:\n{log.read_text()[-4000:]}")


def test_worker_runs_a_task_sent_over_redis(tmp_path):
    # given a worker consuming a queue of its own on the Redis broker
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    queue = f"test-{uuid.uuid4().hex}"
    with celery_worker(tmp_path, "-Q", queue) as log:
        # when a task is sent the way the app sends it
        event_record_task.apply_async(args=["test.worker_ping", {"campaign_id": 42, "via": "redis"}], queue=queue)

        # then the worker writes the event
        wait_for(lambda: Event.objects.filter(name="test.worker_ping").exists(), log)

    event = Event.objects.get(name="test.worker_ping")
    assert event.campaign_id == 42
    assert event.properties == {"via": "redis"}
    assert "succeeded" in log.read_text()


def test_embedded_beat_runs_the_scheduled_close_over_the_filesystem_broker(tmp_path):
    # given an open campaign whose deadline has passed, and the schedule from settings, only sooner
    campaign = factories.campaign(status=Campaign.Status.OPEN, closes_at=timezone.now() - timedelta(minutes=1))
    assert "jielong-close-due-campaigns" in settings.CELERY_BEAT_SCHEDULE
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    (overrides / "beat_soon.py").write_text(
        "from groupbuy.settings.test import *  # noqa: F403\n"
        "from groupbuy.settings.test import CELERY_BEAT_SCHEDULE\n"
        "CELERY_BEAT_SCHEDULE = {name: {**entry, 'schedule': 1.0} for name, entry in CELERY_BEAT_SCHEDULE.items()}\n"
    )

    # when a worker with embedded beat runs on the filesystem broker (as bin/dev starts it)
    with celery_worker(
        tmp_path,
        "--beat",
        DJANGO_SETTINGS_MODULE="beat_soon",
        PYTHONPATH=f"{overrides}{os.pathsep}{BASE_DIR}",
        CELERY_BROKER_URL="filesystem://",
    ) as log:
        # then beat sends the periodic task through files and the worker closes the campaign
        wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.FAILED, log)

    text = log.read_text()
    assert "groupbuy.filesystem_broker:Transport://" in text  # the filesystem broker, messages written whole
    assert "Sending due task jielong-close-due-campaigns" in text
    assert (tmp_path / "data" / "celery" / "control" / "celery.exchange").is_file()
    assert not (BASE_DIR / "control").exists()
    assert Event.objects.filter(name="jielong.campaign_failed", campaign_id=campaign.pk).count() == 1


def test_every_periodic_task_expires_within_its_interval():
    """Refutes 'periodic tasks have no expires': a sweep that waited a whole interval is dropped, so a
    worker that was down for an hour does not come back to 120 queued copies of the same sweep."""
    from groupbuy.celery import app

    schedule = app.conf.beat_schedule

    assert schedule
    for name, entry in schedule.items():
        assert 0 < entry["options"]["expires"] <= entry["schedule"], name
