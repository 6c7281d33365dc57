import os

import pytest

# Playwright's sync API runs an event loop in the test thread; Django must still allow ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def password():
    from tests.factories import DEFAULT_PASSWORD

    return DEFAULT_PASSWORD


@pytest.fixture(autouse=True)
def _isolated_redis_state_and_language():
    """Redis is not rolled back with the test database: clear the sign-in throttle counters around
    every test. And a page rendered in English leaves English active in the thread; reset it."""
    from django.conf import settings
    from django.utils import translation

    from community import throttle

    throttle.clear_all()
    yield
    throttle.clear_all()
    translation.activate(settings.LANGUAGE_CODE)
