"""Writes for jielong campaigns and orders: the app's public services (``from jielong import services``).

- ``campaigns``: open, close at the deadline (成团 / 不成团), settle tier prices;
- ``joins``: ``order_join`` (the mechanics — rules, the database function, its ORM twin, the ASGI
  fast path — are the ``jielong.join`` package);
- ``orders``: cancel, change, mark paid.

Stock moves only through ``catalogue.stock``. Every refusal is a ``DomainError`` whose message is
safe to show, raised before anything is written.
"""

from catalogue.stock import InsufficientStock
from groupbuy.errors import DomainError

from ..join.after_join import after_join
from ..join.rules import JOINABLE, AlreadyJoined, JoinRefused, JoinResult, join_error
from .campaigns import (
    CampaignStateError,
    campaign_close,
    campaign_open,
    campaign_settle_prices,
    campaigns_close_due,
    campaigns_open_for_session,
)
from .joins import order_join
from .orders import order_cancel, order_mark_paid, order_update

__all__ = [
    "JOINABLE",
    "AlreadyJoined",
    "CampaignStateError",
    "DomainError",
    "InsufficientStock",
    "JoinRefused",
    "JoinResult",
    "after_join",
    "campaign_close",
    "campaign_open",
    "campaign_settle_prices",
    "campaigns_close_due",
    "campaigns_open_for_session",
    "join_error",
    "order_cancel",
    "order_join",
    "order_mark_paid",
    "order_update",
]
