"""What the community pages accept from a form before a service sees it: ids and storable text.

* ``parse_id``: ``"12"`` → 12; anything else → ``None``. ``str.isdigit()`` is not enough: ``"²"`` and
  ``"١٢"`` pass it and ``int()`` then fails or reads a number nobody typed (a 500, issue 10 item 15).
* ``refuse_unstorable``: PostgreSQL cannot store NUL, UTF-8 cannot encode a lone surrogate; text with
  either is refused with a clear message before anything is written (it was a 500).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from groupbuy.errors import DomainError

MAX_ID_DIGITS = 18  # bigint holds 19 digits; a longer "id" names nothing


class TextUnstorable(DomainError):
    pass


def parse_id(raw: Any) -> int | None:
    """A positive whole number written in ASCII digits, or ``None``."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text or len(text) > MAX_ID_DIGITS or not (text.isascii() and text.isdecimal()):
        return None
    return int(text)


def unstorable(text: str) -> bool:
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)


def _texts(values: Iterable[Any]) -> Iterable[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from _texts(value.keys())
            yield from _texts(value.values())
        elif isinstance(value, list | tuple | set):
            yield from _texts(value)


def refuse_unstorable(*values: Any) -> None:
    """Raise :class:`TextUnstorable` if any text (also inside lists and dicts) holds NUL or a lone surrogate."""
    if any(unstorable(text) for text in _texts(values)):
        raise TextUnstorable(
            _(
                "The text contains characters that cannot be saved (such as a NUL character). Remove them and try again."
            ),
            code="unstorable",
        )
