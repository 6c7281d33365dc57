"""Events the after-sales app publishes (refunds and credits are ``jielong.events.RefundIssued`` /
``CreditIssued``, written by the ledger)."""

from __future__ import annotations

from groupbuy import events


@events.event("aftersales.request_opened")
class RequestOpened(events.DomainEvent):
    request_id: int
    brand_id: int
    order_id: int
    user_id: int
    reason: str
    ask: str
    source: str  # "member", or "shortage" when fulfilment's record opened it


@events.event("aftersales.request_answered")
class RequestAnswered(events.DomainEvent):
    """The first answer from the leader or the operator (the first SLA timer stops)."""

    request_id: int
    by: int
    minutes: int


@events.event("aftersales.request_escalated")
class RequestEscalated(events.DomainEvent):
    """A request went past its SLA and is now the operator's."""

    request_id: int
    brand_id: int


@events.event("aftersales.request_resolved")
class RequestResolved(events.DomainEvent):
    request_id: int
    order_id: int
    user_id: int
    resolution: str  # refund / replacement / credit / rejected
    amount_fen: int
    by: int
    is_overdue: bool


@events.event("aftersales.bulk_refund_issued")
class BulkRefundIssued(events.DomainEvent):
    bulk_refund_id: int
    brand_id: int
    orders: int
    total_fen: int
    by: int
