"""A time window of the decision log: ``since``/``until`` given as Unix time, datetime, how long ago, or text."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

from scope_core.errors import InvalidInputError

When = float | int | datetime | timedelta | str | None
_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def moment(when: When, *, now: float | None = None) -> float | None:
    """Unix time of ``when``: a number (Unix time), a datetime, a timedelta or ``"24h"``/``"30m"``/``"7d"`` (that
    long ago), or an ISO 8601 date or time; None stays None."""
    now = time.time() if now is None else now
    if when is None:
        return None
    if isinstance(when, datetime):
        return when.timestamp()
    if isinstance(when, timedelta):
        return now - when.total_seconds()
    if isinstance(when, int | float):
        return float(when)
    if m := _AGO.match(when):
        return now - float(m[1]) * _SECONDS[m[2]]
    try:
        return datetime.fromisoformat(when).timestamp()
    except ValueError:
        raise InvalidInputError(
            f"cannot read the time {when!r}: give Unix time, an ISO date ('2026-12-06T10:00'), or how long ago "
            "('30m', '24h', '7d')"
        ) from None
