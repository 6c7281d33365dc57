"""/healthz reports each dependency; /readyz fails while a required one is down (it said 200 with Redis gone)."""

import pytest

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = UNREACHABLE_REDIS
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": UNREACHABLE_REDIS,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


def test_with_everything_up_both_answer_ok(client):
    for url in ("/healthz", "/readyz"):
        response = client.get(url)

        assert response.status_code == 200
        assert response.json() == {"ok": True, "database": "ok", "redis": "ok"}


def test_with_redis_down_liveness_says_which_and_readiness_fails(client, redis_down):
    live = client.get("/healthz")
    ready = client.get("/readyz")

    assert live.status_code == 200
    assert live.json() == {"ok": False, "database": "ok", "redis": "down"}
    assert ready.status_code == 503
    assert ready.json() == {"ok": False, "database": "ok", "redis": "down"}


def test_without_redis_configured_nothing_is_down(client, settings):
    settings.REDIS_URL = ""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"ok": True, "database": "ok", "redis": "not configured"}
