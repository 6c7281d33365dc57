"""after_commit: a robust on-commit hook whose failure is logged, not raised (a bare partial made Django's
logging of the failure raise AttributeError after the commit)."""

import functools

import pytest
from django.db import transaction

from groupbuy.commit import after_commit

pytestmark = pytest.mark.django_db(transaction=True)


def _boom(what: str, *, times: int) -> None:
    raise RuntimeError(what * times)


def test_a_failing_hook_is_logged_and_the_commit_stands(caplog):
    calls = []
    with transaction.atomic():
        after_commit(_boom, "x", times=2)
        after_commit(calls.append, "after the failure")

    assert calls == ["after the failure"]
    assert "Error calling _boom in on_commit()" in caplog.text


def test_a_bare_partial_would_have_raised_after_the_commit():
    # What the helper exists for: Django 5.2 reads __qualname__ of a failing robust hook.
    with pytest.raises(AttributeError, match="__qualname__"), transaction.atomic():
        transaction.on_commit(functools.partial(_boom, "x", times=1), robust=True)
