"""The BI tests' clock and world: the scenario's fixed "now" (``scenario.NOW``), and the scenario itself."""

import pytest
import time_machine

from tests.bi import scenario


@pytest.fixture
def pinned():
    """The clock stands at the scenario's "now" (its days are relative to it)."""
    with time_machine.travel(scenario.NOW, tick=False):
        yield


@pytest.fixture
def data(pinned):
    return scenario.build()
