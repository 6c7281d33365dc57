"""Settings load in each mode, in a fresh interpreter with a clean environment (no database needed)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

PROBE = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"],
    "pool": db.get("OPTIONS", {}).get("pool"),
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "broker": settings.CELERY_BROKER_URL,
    "broker_options": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    "debug": settings.DEBUG,
    "channel_config": {k: v for k, v in settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).items() if k != "hosts"},
}))
"""


def load(settings_module: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": settings_module,
        "GROUPBUY_DATA_DIR": str(tmp_path / "data"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )


def loaded(settings_module: str, tmp_path: Path, **env: str) -> dict:
    result = load(settings_module, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_local_without_urls_runs_on_the_embedded_default(tmp_path):
    config = loaded("groupbuy.settings.local", tmp_path)

    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["pool"] is None
    assert config["channel_layer"] == "channels.layers.InMemoryChannelLayer"
    assert config["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert config["broker"] == "filesystem://"
    assert config["debug"] is True
    # kombu's filesystem transport needs its folders to exist before a worker or producer starts.
    queue = Path(config["broker_options"]["data_folder_in"])
    assert queue == tmp_path / "data" / "celery" / "queue"
    assert queue.is_dir()
    assert Path(config["broker_options"]["processed_folder"]).is_dir()
    # kombu's default control folder is ./control: it must not land in the working directory.
    assert Path(config["broker_options"]["control_folder"]) == tmp_path / "data" / "celery" / "control"
    assert (tmp_path / "data").is_dir()


def test_local_with_urls_uses_postgres_and_redis(tmp_path):
    config = loaded(
        "groupbuy.settings.local",
        tmp_path,
        DATABASE_URL="postgres://u:p@db.example:5432/shop",
        REDIS_URL="redis://cache.example:6379/0",
    )

    assert config["engine"] == "django.db.backends.postgresql"
    assert config["pool"] == {"min_size": 2, "max_size": 8, "timeout": 10}
    assert config["channel_layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert config["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert config["broker"] == "redis://cache.example:6379/0"
    assert config["broker_options"] == {"visibility_timeout": 3600}
    assert not (tmp_path / "data" / "celery").exists()


def test_pool_size_comes_from_the_environment(tmp_path):
    config = loaded(
        "groupbuy.settings.local",
        tmp_path,
        DATABASE_URL="postgres://u:p@db.example:5432/shop",
        DB_POOL_MIN="4",
        DB_POOL_MAX="32",
    )

    assert config["pool"] == {"min_size": 4, "max_size": 32, "timeout": 10}


def test_production_without_a_secret_key_is_refused(tmp_path):
    result = load("groupbuy.settings.production", tmp_path)

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set in production." in result.stderr


@pytest.mark.parametrize("debug", ["true", "1", "on"], ids=["true", "one", "on"])
def test_production_with_debug_on_is_refused(tmp_path, debug):
    result = load("groupbuy.settings.production", tmp_path, SECRET_KEY="x" * 50, DEBUG=debug)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG must be off in production." in result.stderr


def test_production_with_a_key_loads_with_debug_off(tmp_path):
    config = loaded(
        "groupbuy.settings.production",
        tmp_path,
        SECRET_KEY="x" * 50,
        SMS_PROVIDER="community.providers.sms.HttpSMSProvider",
        DATABASE_URL="postgres://u:p@db.example:5432/shop",
        REDIS_URL="redis://cache.example:6379/0",
    )

    assert config["debug"] is False
    assert config["engine"] == "django.db.backends.postgresql"
    assert config["channel_layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"


def test_production_refuses_the_console_sms_provider(tmp_path):
    """The console provider sends nothing: members could not sign in, and codes would only be in a log."""
    result = load("groupbuy.settings.production", tmp_path, SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "SMS_PROVIDER is the console provider" in result.stderr


def test_production_allows_the_console_sms_provider_for_a_trial_when_told(tmp_path):
    config = loaded("groupbuy.settings.production", tmp_path, SECRET_KEY="x" * 50, SMS_CONSOLE_ALLOWED="true")

    assert config["debug"] is False


def test_production_passes_the_deployment_checks(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "groupbuy.settings.production",
        "GROUPBUY_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "k7#Vq9!zR2@pL5$wX8^mN3&bT6*cY1(dF4)gH0_jK-sA=eU+iO~" * 2,
        "ALLOWED_HOSTS": "groupbuy.example.com",
        "SMS_PROVIDER": "community.providers.sms.HttpSMSProvider",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("redis_url", "prefix"),
    [("redis://cache.example:6379/0", "groupbuy.db0."), ("redis://cache.example:6379/7", "groupbuy.db7.")],
    ids=["db0", "db7"],
)
def test_each_redis_db_gets_its_own_channel_prefix(tmp_path, redis_url, prefix):
    """Redis pub/sub ignores the db number: the prefix keeps installs on other dbs from hearing each other."""
    config = loaded("groupbuy.settings.local", tmp_path, REDIS_URL=redis_url)

    assert config["channel_config"] == {"prefix": prefix}


def test_the_channel_prefix_can_be_set(tmp_path):
    config = loaded(
        "groupbuy.settings.local", tmp_path, REDIS_URL="redis://cache.example:6379/0", CHANNEL_PREFIX="shop2."
    )

    assert config["channel_config"] == {"prefix": "shop2."}


def test_each_xdist_worker_gets_its_own_redis_database_and_its_children_keep_it(tmp_path):
    redis = "redis://127.0.0.1:6379/3"
    alone = loaded("groupbuy.settings.test", tmp_path, REDIS_URL=redis)
    second = loaded("groupbuy.settings.test", tmp_path, REDIS_URL=redis, PYTEST_XDIST_WORKER="gw1")
    # a server that worker starts inherits the moved URL and the mark: it stays on the worker's database
    child = loaded(
        "groupbuy.settings.test",
        tmp_path,
        REDIS_URL="redis://127.0.0.1:6379/4",
        PYTEST_XDIST_WORKER="gw1",
        GROUPBUY_TEST_REDIS_MOVED="1",
    )
    assert alone["broker"] == redis and alone["channel_config"]["prefix"] == "groupbuy.db3."
    assert second["broker"] == child["broker"] == "redis://127.0.0.1:6379/4"
    assert second["channel_config"]["prefix"] == child["channel_config"]["prefix"] == "groupbuy.db4."
