"""Callers of the public API: tokens of two brands, an operator's session, a member, a leader."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from api.scopes import SCOPES
from api.tokens import token_create
from tests import factories as f


@pytest.fixture(autouse=True)
def _api_settings(settings):
    settings.API_SYNC_SETTLE_SECONDS = 0  # the settle has its own test
    settings.API_RATE = "1000/min"
    _clear_throttle()
    yield
    _clear_throttle()


def _clear_throttle():
    client = getattr(cache, "_cache", None)
    if client is None or not hasattr(client, "get_client"):
        cache.clear()
        return
    redis = client.get_client(write=True)
    keys = list(redis.scan_iter(match="*api-throttle*"))
    if keys:
        redis.delete(*keys)


def bearer(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


@pytest.fixture
def brand_a():
    return f.brand()  # 源味集, the factories' brand


@pytest.fixture
def brand_b():
    return f.brand("鲜丰社")


@pytest.fixture
def operator_a(brand_a):
    return f.operator(brand=brand_a)


@pytest.fixture
def token_a(brand_a, operator_a):
    """Every scope of brand A."""
    return token_create(brand=brand_a, name="ERP", scopes=list(SCOPES), by=operator_a, expires_in_days=30)


@pytest.fixture
def token_b(brand_b):
    operator_b = f.operator(brand=brand_b)
    return token_create(brand=brand_b, name="ERP B", scopes=list(SCOPES), by=operator_b, expires_in_days=30)


@pytest.fixture
def api_a(token_a) -> APIClient:
    return bearer(token_a.plaintext)


@pytest.fixture
def api_b(token_b) -> APIClient:
    return bearer(token_b.plaintext)
