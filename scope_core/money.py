"""USD amounts as people read them: cents for dollars, significant digits for fractions of a cent."""

from __future__ import annotations

import math


def usd(x: float | None, digits: int = 3) -> str:
    """``$1,234.50``, ``$0.0421``, ``$0.0000123`` (``digits`` significant below a dollar), ``-`` for None."""
    if x is None:
        return "-"
    if x == 0:
        return "$0"
    sign, x = ("-" if x < 0 else ""), abs(x)
    if x >= 1:
        return f"{sign}${x:,.2f}"
    decimals = digits - 1 - math.floor(math.log10(x))
    return f"{sign}${x:.{decimals}f}"
