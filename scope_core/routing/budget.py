"""BudgetGovernor: paces a running $ budget over a stream of calls by adapting alpha online."""

from __future__ import annotations

import math
import threading
import uuid

from scope_core.errors import InvalidInputError, ScopeError
from scope_core.money import usd


class BudgetExhaustedError(ScopeError):
    """The hard cap leaves no room for another call."""


class BudgetGovernor:
    """Keeps spend on a straight line from 0 to ``budget_usd`` over ``expected_calls`` calls.

    Alpha lives on a log-odds scale: when recent spend per call runs above the remaining budget
    per remaining call, alpha moves toward 0 (cheaper), below it toward 1. Each call is also given
    ``max_cost``, the smaller of two caps on its predicted cost: the room left under ``hard_cap_usd``
    divided by ``safety`` (so the cap holds unless a call costs more than ``safety`` times its
    prediction), and ``max_share`` times the room left per call still expected (so the first calls of
    a small budget cannot spend what the later ones need).
    """

    def __init__(
        self,
        budget_usd: float,
        expected_calls: int,
        *,
        hard_cap_usd: float | None = None,
        alpha: float = 0.5,
        gain: float = 0.1,
        smoothing: float = 0.1,
        safety: float = 2.0,
        max_share: float = 3.0,
    ) -> None:
        if not (math.isfinite(budget_usd) and budget_usd > 0):
            raise InvalidInputError(f"budget_usd must be a positive number, got {budget_usd!r}")
        if expected_calls <= 0:
            raise InvalidInputError(f"expected_calls must be > 0, got {expected_calls!r}")
        if not 0.0 < alpha < 1.0:
            raise InvalidInputError("the starting alpha must be strictly between 0 and 1")
        if safety < 1.0:
            raise InvalidInputError(f"safety must be >= 1, got {safety!r}")
        if max_share < 1.0:
            raise InvalidInputError(f"max_share must be >= 1, got {max_share!r}")
        self.budget, self.expected_calls = budget_usd, expected_calls
        self.hard_cap = hard_cap_usd if hard_cap_usd is not None else budget_usd
        self.gain, self.smoothing, self.safety, self.max_share = gain, smoothing, safety, max_share
        self._logit = math.log(alpha / (1 - alpha))
        self._avg_cost: float | None = None
        self.spent, self.reserved, self.calls = 0.0, 0.0, 0
        self.id = uuid.uuid4().hex[:12]  # tells the decision log's reports one governor's calls from another's
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"BudgetGovernor(budget={usd(self.budget)}, spent={usd(self.spent)} over {self.calls} of "
            f"{self.expected_calls} calls, reserved={usd(self.reserved)}, hard_cap={usd(self.hard_cap)}, "
            f"alpha={self.alpha:.3f})"
        )

    def state(self) -> dict[str, float | str]:
        """What the governor stands at, for the decision log: its id, budget, hard cap, spent, calls."""
        return {"id": self.id, "budget_usd": self.budget, "hard_cap_usd": self.hard_cap, "spent_usd": self.spent,
                "calls": self.calls}  # fmt: skip

    @property
    def alpha(self) -> float:
        return 1.0 / (1.0 + math.exp(-self._logit))

    @property
    def remaining(self) -> float:
        """Room under the hard cap: what is neither spent nor reserved by calls still in flight."""
        return max(self.hard_cap - self.spent - self.reserved, 0.0)

    def reserve(self, predicted_cost_usd: float) -> float:
        """Hold ``safety`` x the predicted cost of a routed call until ``observe`` releases it.

        Check and hold are one step, so concurrent calls cannot together cross the cap: a call whose
        hold no longer fits (others reserved first) raises BudgetExhaustedError. Returns the amount held
        (pass it to ``observe``).
        """
        with self._lock:
            held = predicted_cost_usd * self.safety
            if held > self.hard_cap - self.spent - self.reserved:
                raise BudgetExhaustedError(
                    f"calls in flight hold {usd(self.reserved)}; {usd(held)} more does not fit under the"
                    f" hard cap {usd(self.hard_cap)} ({usd(self.spent)} spent)"
                )
            self.reserved += held
            return held

    def release(self, reserved_usd: float) -> None:
        """Give back what ``reserve`` held for a call that spent nothing (every candidate failed)."""
        with self._lock:
            self.reserved = max(self.reserved - reserved_usd, 0.0)

    def target_per_call(self) -> float:
        """What each remaining call may spend to land on the budget."""
        left_calls = max(self.expected_calls - self.calls, 1)
        return max(self.budget - self.spent, 0.0) / left_calls

    def overrides(self) -> dict[str, float]:
        """Policy overrides for the next call: the paced alpha and the room under the cap."""
        with self._lock:
            if self.remaining <= 0:
                raise BudgetExhaustedError(
                    f"budget exhausted: {usd(self.spent)} spent and {usd(self.reserved)} held by calls in flight"
                    f" of the hard cap {usd(self.hard_cap)}"
                )
            return {"alpha": self.alpha, "max_cost": self.per_call_cap()}

    def per_call_cap(self) -> float:
        """The most the next call may be predicted to cost (see the class docstring)."""
        left_calls = max(self.expected_calls - self.calls, 1)
        return min(self.remaining / self.safety, self.max_share * self.remaining / left_calls)

    def observe(self, cost_usd: float, reserved_usd: float = 0.0) -> None:
        """Account one finished call (releasing what ``reserve`` held for it) and adapt alpha."""
        with self._lock:
            target = self.target_per_call()
            self.reserved = max(self.reserved - reserved_usd, 0.0)
            self.spent += cost_usd
            self.calls += 1
            s = self.smoothing
            self._avg_cost = cost_usd if self._avg_cost is None else (1 - s) * self._avg_cost + s * cost_usd
            if target <= 0:
                self._logit -= 5 * self.gain
            else:
                ratio = max(self._avg_cost, 1e-12) / target
                self._logit -= self.gain * math.log(ratio)
            self._logit = min(max(self._logit, -12.0), 12.0)
