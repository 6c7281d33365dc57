"""The one clock: every piece of code that compares with "now" asks here (or takes ``now=``).

Tests pin it with time-machine (``tests/conftest.py``); the year-ahead run moves it a year forward, so a
rule that secretly depends on today's date fails there. PostgreSQL's own ``now()`` is never the judge:
the join function and every query that compares with the time take it from here as a parameter.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone


def now() -> datetime:
    """The current time, aware (UTC)."""
    return timezone.now()


def localtime(value: datetime | None = None) -> datetime:
    """``value`` (default: now) in the current time zone."""
    return timezone.localtime(value if value is not None else now())


def localdate(value: datetime | None = None) -> date:
    """Today (or ``value``'s date) in the current time zone."""
    return localtime(value).date()
