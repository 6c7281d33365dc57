"""The operator's side of the refund-abuse blacklist (售后黑名单), from after-sales history.

The flag itself belongs to the community app (``community.models.Flag``, ``community.services.person_flag``),
brand-wide, because the jielong join below this app must honour it. This module adds what after-sales knows:
the person's record in the brand (``selectors.person_history``), kept with the flag as its evidence.
"""

from __future__ import annotations

from datetime import datetime

from community import services as community_services
from community.models import Brand, Flag, User
from groupbuy import clock

from . import selectors


def person_flag_from_history(*, by: User, brand: Brand, user: User, reason: str, now: datetime | None = None) -> Flag:
    """Flag ``user`` in ``brand`` with their after-sales record as of now as the evidence. Operators only
    (``community.services.person_flag`` decides, and refuses a second active flag)."""
    now = now or clock.now()
    history = selectors.person_history(brand_id=brand.pk, user_id=user.pk)
    return community_services.person_flag(
        by=by, brand=brand, user=user, reason=reason, evidence=history.evidence(as_of=now), now=now
    )
