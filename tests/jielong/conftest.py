"""Shared by the jielong tests: the join engine switch (both implementations of the join)."""

import pytest

from jielong.join import sql


@pytest.fixture(params=["in_database", "orm"])
def join_engine(request, monkeypatch):
    """Run the test twice: joins through the PostgreSQL function ``jielong_join`` (production) and
    through its ORM twin (the embedded SQLite demo), so the two keep the same rules."""
    if request.param == "orm":
        monkeypatch.setattr(sql, "in_database", lambda: False)
    return request.param
