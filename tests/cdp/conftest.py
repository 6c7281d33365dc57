"""The CDP tests' clock: the scenario's fixed "now" (``scenario.NOW``; its ``day()`` is relative to it)."""

import pytest
import time_machine

from tests.cdp import scenario


@pytest.fixture
def pinned():
    with time_machine.travel(scenario.NOW, tick=False):
        yield
