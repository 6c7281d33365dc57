"""Money is stored as integer fen (分); templates show it as yuan: ``{{ order.total_fen|fen }}`` → ¥12.80."""

from decimal import Decimal

from django import template

register = template.Library()

_CENT = Decimal("0.01")


@register.filter
def fen(value) -> str:
    """Render an amount in fen as ``¥12.80`` (Decimal arithmetic, never float); empty for ``None``."""
    if value is None or value == "":
        return ""
    try:
        amount = (Decimal(int(value)) / 100).quantize(_CENT)
    except (TypeError, ValueError, ArithmeticError):
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,}"
