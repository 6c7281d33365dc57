"""Warm-up (预热) before a live session: plans of rounds (``plans``), what each round says (``texts``),
and their exactly-once delivery to inboxes, leaders and phones (``delivery``, run by a periodic task).

The rest of the app imports what it needs from here.
"""

from .delivery import (
    LEASE,
    MAX_ATTEMPTS,
    deliveries_claim,
    deliveries_send,
    round_deliver_now,
    round_deliver_on_commit,
    rounds_expand_due,
    run_once,
)
from .plans import (
    STANDARD_PLAN,
    RoundTemplate,
    default_text,
    live_now_round,
    rounds_cancel_pending,
    rounds_shift_pending,
    warmup_plan_apply_standard,
)
from .texts import session_link

# The demo seeds a plan's first text under its old private name.
_default_text = default_text

__all__ = [
    "LEASE",
    "MAX_ATTEMPTS",
    "STANDARD_PLAN",
    "RoundTemplate",
    "default_text",
    "deliveries_claim",
    "deliveries_send",
    "live_now_round",
    "round_deliver_now",
    "round_deliver_on_commit",
    "rounds_cancel_pending",
    "rounds_expand_due",
    "rounds_shift_pending",
    "run_once",
    "session_link",
    "warmup_plan_apply_standard",
]
