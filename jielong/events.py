"""Events the jielong app publishes: a campaign's life and its orders."""

from __future__ import annotations

from groupbuy import events


@events.event("jielong.campaign_opened")
class CampaignOpened(events.DomainEvent):
    campaign_id: int
    live_session_id: int | None


@events.event("jielong.order_joined", key=("order_id",))
class OrderJoined(events.DomainEvent):
    campaign_id: int
    user_id: int
    community_id: int
    order_id: int
    total_fen: int
    is_perk: bool
    live_session_id: int | None = None  # the live the jielong was launched from (its stream row's column)


@events.event("jielong.group_formed", key=("campaign_id",))
class GroupFormed(events.DomainEvent):
    """成团: the campaign reached its threshold."""

    campaign_id: int
    joined: int
    live_session_id: int | None = None


@events.event("jielong.order_cancelled")
class OrderCancelled(events.DomainEvent):
    campaign_id: int
    user_id: int
    order_id: int


@events.event("jielong.order_updated")
class OrderUpdated(events.DomainEvent):
    campaign_id: int
    user_id: int
    order_id: int
    total_fen: int


@events.event("jielong.order_paid")
class OrderPaid(events.DomainEvent):
    campaign_id: int
    user_id: int
    order_id: int
    by: int
    community_id: int | None = None
    total_fen: int | None = None  # what was paid (the stream's amount)


@events.event("jielong.campaign_completed")
class CampaignCompleted(events.DomainEvent):
    """The deadline passed with the group formed."""

    campaign_id: int
    joined: int


@events.event("jielong.campaign_failed")
class CampaignFailed(events.DomainEvent):
    """The deadline passed before the group formed (不成团): orders cancelled, stock returned."""

    campaign_id: int
    joined: int


@events.event("jielong.prices_settled")
class PricesSettled(events.DomainEvent):
    campaign_id: int
    orders: int


@events.event("jielong.campaign_changed")
class CampaignChanged(events.DomainEvent):
    campaign_id: int
    user_id: int
    fields: int
    # The live session the jielong belongs to after the change (its stream row's column; the rollups follow it).
    live_session_id: int | None = None


@events.event("jielong.campaign_copied")
class CampaignCopied(events.DomainEvent):
    campaign_id: int
    user_id: int
    source_id: int


@events.event("jielong.export_full_phones")
class FullPhonesExported(events.DomainEvent):
    """An operator downloaded an export with unmasked phone numbers (kept for the audit trail)."""

    campaign_id: int
    user_id: int


# --- the money ledger (jielong.ledger): refunds and store credit -------------------------------------------


@events.event("jielong.refund_issued")
class RefundIssued(events.DomainEvent):
    """Money went back to a member (``key`` is the caller's idempotency key, e.g. an after-sales request)."""

    campaign_id: int
    order_id: int
    user_id: int
    amount_fen: int
    key: str
    by: int | None


@events.event("jielong.credit_issued")
class CreditIssued(events.DomainEvent):
    """A member was given store credit (店铺余额) instead of money back."""

    campaign_id: int
    order_id: int
    user_id: int
    amount_fen: int
    key: str
    by: int | None
