"""Money is stored as integer fen (分); templates show it as yuan: ``{{ order.total_fen|fen }}`` → ¥12.80."""

from django import template

from groupbuy.money import format_fen

register = template.Library()


@register.filter
def fen(value) -> str:
    """Render an amount in fen as ``¥12.80`` (Decimal arithmetic, never float); empty for ``None``."""
    if value is None or value == "":
        return ""
    try:
        return format_fen(int(value))
    except (TypeError, ValueError, ArithmeticError):
        return ""
