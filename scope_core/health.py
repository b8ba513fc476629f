"""In-process model health: recent failures lower a model's effective p; repeated ones cool it down.

Semantics follow LiteLLM's router: after ``allowed_fails`` consecutive failures a model is in
cooldown for ``cooldown_time`` seconds (doubling on each further cooldown, up to ``max_cooldown``);
a success, or the end of the cooldown, brings it back.
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


class HealthTracker:
    """Consecutive failures and cooldowns per model name."""

    def __init__(
        self,
        allowed_fails: int = 3,
        cooldown_time: float = 5.0,
        max_cooldown: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowed_fails, self.cooldown_time, self.max_cooldown = allowed_fails, cooldown_time, max_cooldown
        self._clock = clock
        self._states: dict[str, _State] = {}

    def report_failure(self, model: str, error: BaseException | str | None = None) -> None:
        """Count a failed call; start (or lengthen) a cooldown after ``allowed_fails`` in a row."""
        s = self._states.setdefault(model, _State())
        s.fails += 1
        if s.fails >= self.allowed_fails:
            s.until = self._clock() + min(self.cooldown_time * 2**s.cooldowns, self.max_cooldown)
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
        """Multiplier on the model's p_correct: 0 in cooldown, 1 / (1 + recent consecutive failures) otherwise."""
        if self.cooling(model):
            return 0.0
        s = self._states.get(model)
        return 1.0 / (1 + s.fails) if s else 1.0
