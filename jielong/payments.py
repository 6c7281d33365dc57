"""Payment providers. WeChat Pay cannot be reached from here, so it would be one more provider
behind this interface; the two below are what most group-buy leaders use today and really work.

- ``pay_at_pickup``: the leader collects when the member picks up (团长代收); paid at verification.
- ``manual``: the member transfers (e.g. a WeChat transfer to the operator) and staff confirm it.

Refunds go back the way the money came. Both providers here are offline: the leader pays the member back
(cash or a WeChat transfer) or staff transfer it back, so ``refund`` records the refund as done at once and
returns a reference; an online provider (WeChat Pay) would answer asynchronously and be confirmed later.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class PaymentProvider:
    code: str
    label: str
    instructions: str
    # Whether a member's order counts as paid only once staff confirm it.
    needs_confirmation: bool
    # How the money goes back, shown beside a refund (who hands it over).
    refund_instructions: str = ""

    def refund(self, *, order_id: int, amount_fen: int, key: str) -> RefundReceipt:
        """Send ``amount_fen`` of ``order_id`` back to the member. Offline providers: the person who took the
        money pays it back by hand, so the refund is done when recorded (``jielong.ledger`` calls this)."""
        return RefundReceipt(reference=f"{self.code}:{key}", is_done=True)


@dataclass(frozen=True)
class RefundReceipt:
    reference: str
    is_done: bool


PROVIDERS: dict[str, PaymentProvider] = {
    provider.code: provider
    for provider in (
        PaymentProvider(
            code="pay_at_pickup",
            label=_("Pay at pickup (leader collects)"),
            instructions=_("Pay your leader when you pick up your order."),
            needs_confirmation=True,
            refund_instructions=_("Your leader pays the refund back to you."),
        ),
        PaymentProvider(
            code="manual",
            label=_("Transfer, confirmed by staff"),
            instructions=_("Transfer the amount to the operator; staff mark your order paid once it arrives."),
            needs_confirmation=True,
            refund_instructions=_("Staff transfer the refund back to you."),
        ),
    )
}


def get_provider(code: str) -> PaymentProvider:
    try:
        return PROVIDERS[code]
    except KeyError:
        raise LookupError(f"unknown payment provider {code!r}") from None
