"""Events the fission app publishes (analytics records every one in the stream)."""

from __future__ import annotations

from groupbuy import events


@events.event("fission.help_seller_invited")
class HelpSellerInvited(events.DomainEvent):
    help_seller_id: int
    campaign_id: int
    user_id: int
    by: int


@events.event("fission.commission_rule_set")
class CommissionRuleSet(events.DomainEvent):
    campaign_id: int
    help_seller_id: int | None  # None: the campaign's default
    kind: str
    rate_bp: int
    fixed_fen: int
    leader_rate_bp: int | None
    by: int


@events.event("fission.order_attributed")
class OrderAttributed(events.DomainEvent):
    order_id: int
    campaign_id: int
    user_id: int
    help_seller_id: int
    help_seller_user_id: int
    source: str


@events.event("fission.commission_accrued")
class CommissionAccrued(events.DomainEvent):
    entry_id: int
    order_id: int
    payee_id: int
    role: str  # "help_seller" or "leader"
    amount_fen: int


@events.event("fission.commission_reversed")
class CommissionReversed(events.DomainEvent):
    entry_id: int
    reverses_id: int
    order_id: int
    payee_id: int
    amount_fen: int
    reason: str  # "refund" or "pickup_undone"


@events.event("fission.commission_settled")
class CommissionSettled(events.DomainEvent):
    statement_id: int
    payee_id: int
    period_start: str
    period_end: str
    total_fen: int
    entries: int
    by: int
