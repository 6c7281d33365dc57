"""Payment providers. WeChat Pay cannot be reached from here, so it would be one more provider
behind this interface; the two below are what most group-buy leaders use today and really work.

- ``pay_at_pickup``: the leader collects when the member picks up (团长代收); paid at verification.
- ``manual``: the member transfers (e.g. a WeChat transfer to the operator) and staff confirm it.
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


PROVIDERS: dict[str, PaymentProvider] = {
    provider.code: provider
    for provider in (
        PaymentProvider(
            code="pay_at_pickup",
            label=_("Pay at pickup (leader collects)"),
            instructions=_("Pay your leader when you pick up your order."),
            needs_confirmation=True,
        ),
        PaymentProvider(
            code="manual",
            label=_("Transfer, confirmed by staff"),
            instructions=_("Transfer the amount to the operator; staff mark your order paid once it arrives."),
            needs_confirmation=True,
        ),
    )
}


def get_provider(code: str) -> PaymentProvider:
    try:
        return PROVIDERS[code]
    except KeyError:
        raise LookupError(f"unknown payment provider {code!r}") from None
