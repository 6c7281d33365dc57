"""Side effects after commit, robustly: ``after_commit(func, *args)``.

Django runs a ``robust`` on-commit hook inside try/except and logs a failure by the hook's ``__qualname__``;
a bare ``functools.partial`` has none, so the logging itself raised ``AttributeError`` after the commit and
turned a saved change into an error page. The wrapper here carries the function's name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.db import transaction


def after_commit(func: Callable[..., object], /, *args, **kwargs) -> None:
    """Call ``func(*args, **kwargs)`` once the current transaction commits; a failure is logged, never raised."""
    call = functools.partial(func, *args, **kwargs)
    functools.update_wrapper(call, func)
    transaction.on_commit(call, robust=True)
