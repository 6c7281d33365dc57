"""Writing an entry: the changed fields only, phone numbers masked, the place and the time filled in."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models

from groupbuy import clock
from groupbuy.stream import envelope

from . import place as places

LABEL_MAX = 200
NOTE_MAX = 500
# A phone number in any text: E.164 (+8613812345678, +4915112345678) or a mainland mobile (13812345678),
# not inside a longer run of digits (an order number, an amount in fen).
_PHONE = re.compile(r"(?<![\d+])(?:\+\d{7,15}|1[3-9]\d{9})(?!\d)")
_PHONE_KEYS = ("phone", "mobile", "手机")


@dataclasses.dataclass(frozen=True)
class Target:
    """What an entry is about when it is not one model instance: an export's scope, a list."""

    type: str
    id: str | int = ""
    label: str = ""


def mask_phone(text: str) -> str:
    """``+8613812345678`` → ``138****5678``; other numbers keep their first four and last four."""

    def masked(match: re.Match) -> str:
        number = match.group(0)
        if number.startswith("+86") and len(number) == 14:
            number = number[3:]
        if len(number) == 11 and number.startswith("1"):
            return f"{number[:3]}****{number[-4:]}"
        return f"{number[:4]}****{number[-4:]}"

    return _PHONE.sub(masked, text)


def _json(value: Any, *, key: str = "") -> Any:
    """A JSON-ready copy of ``value``, with phone numbers masked (every string under a phone-like key is)."""
    if isinstance(value, Mapping):
        return {str(k): _json(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_json(v, key=key) for v in items]
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        if any(word in key.lower() for word in _PHONE_KEYS) and value and not _PHONE.search(value):
            return f"{value[:3]}****{value[-4:]}" if len(value) > 7 else "****"
        return mask_phone(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_phone(str(value))


def _changed(before: Mapping | None, after: Mapping | None) -> tuple[dict, dict]:
    before, after = dict(before or {}), dict(after or {})
    for key in set(before) & set(after):
        if before[key] == after[key]:
            del before[key], after[key]
    return _json(before), _json(after)


def _target(target: Any) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, Target):
        return target.type[:64], str(target.id)[:64], mask_phone(target.label)[:LABEL_MAX]
    if isinstance(target, models.Model):
        return target._meta.label_lower[:64], str(target.pk)[:64], mask_phone(str(target))[:LABEL_MAX]
    raise TypeError(f"an audit target is a model instance or an audit.Target, not {type(target).__name__}")


def _actor_label(actor: Any) -> str:
    name = getattr(actor, "display_name", None) or str(actor)
    return mask_phone(name)[:100]


def entry(
    action: str,
    *,
    actor: Any = None,
    target: Any = None,
    brand_id: int | None = None,
    before: Mapping | None = None,
    after: Mapping | None = None,
    note: str = "",
):
    """The entry :func:`record` would write, unsaved (for :func:`record_all`)."""
    from .models import Entry

    if not getattr(actor, "is_authenticated", False):
        actor = None
    target_type, target_id, target_label = _target(target)
    if brand_id is None and isinstance(target, models.Model):
        brand_id = getattr(target, "brand_id", None)
    old, new = _changed(before, after)
    where = places.current()
    return Entry(
        at=envelope.current().occurred_at or clock.now(),
        action=action[:64],
        actor=actor,
        actor_label=_actor_label(actor) if actor is not None else "",
        ip=where.ip,
        user_agent=where.user_agent,
        via=where.via,
        brand_id=brand_id,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label,
        before=old,
        after=new,
        note=mask_phone(note or "")[:NOTE_MAX],
    )


def record(
    action: str,
    *,
    actor: Any = None,
    target: Any = None,
    brand_id: int | None = None,
    before: Mapping | None = None,
    after: Mapping | None = None,
    note: str = "",
):
    """Write one entry (one INSERT) in the caller's transaction. ``actor``: the user who did it (None: the
    system); ``target``: a model instance or a :class:`Target`; ``brand_id``: whose log shows it (the
    target's ``brand_id`` when not given)."""
    made = entry(action, actor=actor, target=target, brand_id=brand_id, before=before, after=after, note=note)
    made.save(force_insert=True)
    return made


def record_all(entries: Iterable) -> list:
    """Write several entries made with :func:`entry` in one INSERT (a bulk refund's orders)."""
    from .models import Entry

    return Entry.objects.bulk_create(list(entries))
