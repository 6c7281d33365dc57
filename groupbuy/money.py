"""Money is stored as integer fen (分) and shown as yuan — exact Decimal arithmetic, never float."""

from __future__ import annotations

from decimal import Decimal


def fen_to_yuan(fen: int | None) -> Decimal | None:
    """1280 → Decimal("12.80")."""
    return None if fen is None else Decimal(int(fen)).scaleb(-2)


def format_fen(fen: int | None, *, empty: str = "") -> str:
    """1280 → "¥12.80" (thousands separated); ``empty`` for None."""
    yuan = fen_to_yuan(fen)
    if yuan is None:
        return empty
    sign = "-" if yuan < 0 else ""
    return f"{sign}¥{abs(yuan):,}"


def yuan_to_fen(yuan: Decimal) -> int:
    """Decimal("12.90") → 1290. Exact for amounts with at most two decimal places (forms allow no more)."""
    return int(Decimal(yuan).scaleb(2))
