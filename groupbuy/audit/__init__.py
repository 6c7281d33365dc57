"""The audit log (审计日志): who unmasked a phone, changed a price, stock, a role or a commission rule,
refunded, flagged or exported personal data — when, from where, to what, in which brand, and what changed.

    from groupbuy import audit
    audit.record("catalogue.price_changed", actor=by, target=sku, brand_id=brand_id,
                 before={"list_price_fen": 1290}, after={"list_price_fen": 990}, note="")

Call it inside the transaction of the change (one INSERT, so a rolled-back change leaves no entry and a
committed one always has its entry); an export records when the file is made. ``before``/``after`` keep only
the fields that differ; phone numbers anywhere in them, the note or the target's label are masked
(``138****5678``). The place comes from :mod:`groupbuy.audit.place` (the request's address and browser, an
API token, a management command, or "system"); the time from ``groupbuy.clock`` (or the stream context's
historical time, so the demo's history is dated like its events).

- ``actions``: the codes and their labels (:func:`actions.register` for an app's own);
- ``place``: the current place and :class:`middleware.AuditPlaceMiddleware` that sets it per request;
- ``models.Entry``: the one table; ``selectors``: the page's filtered, brand-narrowed reads.

Never on the jielong join's hot path: a join is a member's own act, not an audited one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .writer import Target, entry, record, record_all

if TYPE_CHECKING:
    from .models import Entry

__all__ = ["Entry", "Target", "entry", "record", "record_all"]


def __getattr__(name: str) -> Any:
    # ``audit.Entry`` without importing models before the app registry is ready.
    if name == "Entry":
        from .models import Entry

        return Entry
    raise AttributeError(name)
