"""In-process model health: recent failures lower a model's effective p; repeated ones cool it down.

Semantics follow LiteLLM's router: after ``allowed_fails`` consecutive failures within
``window_s`` seconds (LiteLLM counts failures per minute) a model is in cooldown for
``cooldown_time`` seconds (doubling on each further cooldown, up to ``max_cooldown``); a success,
the end of the cooldown, or ``window_s`` without a failure brings it back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _State:
    fails: int = 0
    cooldowns: int = 0
    until: float = 0.0
    last_fail: float = 0.0


class HealthTracker:
    """Consecutive failures and cooldowns per model name."""

    def __init__(
        self,
        allowed_fails: int = 3,
        cooldown_time: float = 5.0,
        max_cooldown: float = 300.0,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowed_fails, self.cooldown_time, self.max_cooldown = allowed_fails, cooldown_time, max_cooldown
        self.window_s = window_s
        self._clock = clock
        self._states: dict[str, _State] = {}

    def report_failure(self, model: str, error: BaseException | str | None = None) -> None:
        """Count a failed call; start (or lengthen) a cooldown after ``allowed_fails`` in a row."""
        s, now = self._states.setdefault(model, _State()), self._clock()
        if now - s.last_fail > self.window_s:  # older failures no longer count
            s.fails = 0
        s.fails, s.last_fail = s.fails + 1, now
        if s.fails >= self.allowed_fails:
            s.until = now + min(self.cooldown_time * 2**s.cooldowns, self.max_cooldown)
            s.cooldowns += 1
            s.fails = 0

    def report_success(self, model: str) -> None:
        """A call succeeded: the model is healthy again."""
        self._states.pop(model, None)

    def cooling(self, model: str) -> bool:
        """Whether the model is in cooldown now."""
        s = self._states.get(model)
        return s is not None and self._clock() < s.until

    def factor(self, model: str) -> float:
        """Multiplier on the model's p_correct: 0 in cooldown, 1 / (1 + consecutive failures in the last
        ``window_s``) otherwise."""
        if self.cooling(model):
            return 0.0
        s = self._states.get(model)
        if s is None or self._clock() - s.last_fail > self.window_s:
            return 1.0
        return 1.0 / (1 + s.fails)
