"""The Decision of one routed call: every candidate's estimate, the ranking, the choice and why."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field, computed_field

from scope_core.estimators.estimate import Estimate


class Decision(BaseModel):
    """The routing decision for one call.

    ``ranking`` lists the eligible models best first by utility: the chosen one, then the fallbacks.
    """

    chosen: str
    ranking: list[str]
    estimates: list[Estimate]
    utilities: dict[str, float]
    reason: str
    alpha: float
    query_hash: str
    input_tokens: int
    timings_ms: dict[str, float] = Field(default_factory=dict)
    excluded: dict[str, str] = Field(default_factory=dict, description="model -> why it was not eligible")
    reserved_usd: float = Field(default=0.0, description="held by the budget until the call is observed")
    degraded: bool = Field(
        default=False, description="the store was unavailable: routed on the last registry and priors seen"
    )
    estimator: str = Field(default="", description="the estimator that made the estimates")
    constraints: dict[str, Any] = Field(
        default_factory=dict, description="the routing options that shaped the choice, after any budget governor"
    )
    propensities: dict[str, float] = Field(
        default_factory=dict, description="each candidate's probability of being chosen (exploration; greedy: 1 on one)"
    )
    explored: bool = Field(default=False, description="chosen by exploration rather than greedily")
    cost_ref: float | None = Field(default=None, description="the utility's cost unit on this call")
    routed_at: float = Field(default_factory=time.time, description="when the call was routed (Unix time)")
    session_id: str | None = Field(default=None, description="the caller's session or thread, if given")
    tags: list[str] = Field(default_factory=list, description="the caller's tags")
    metadata: dict[str, Any] = Field(default_factory=dict, description="the caller's metadata")
    budget: dict[str, float | str] | None = Field(default=None, description="the budget governor's state when routed")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def estimator_tokens(self) -> int:
        """Tokens the estimator spent on this decision (an LLM estimator's own calls; 0 for knn)."""
        return sum(e.estimator_tokens for e in self.estimates)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def estimator_cost_usd(self) -> float:
        """USD the estimator spent on this decision, on top of the chosen model's call."""
        return sum(e.estimator_cost_usd for e in self.estimates)

    @property
    def propensity(self) -> float:
        """The probability that the policy chose ``chosen``."""
        return self.propensities.get(self.chosen, 1.0)

    def __repr_args__(self):
        """The choice and why, the ranking, and each candidate's p_correct and cost (not every neighbour id)."""
        yield "chosen", self.chosen
        yield "reason", self.reason
        yield "ranking", self.ranking
        yield "alpha", round(self.alpha, 4)
        yield "estimates", {e.model: (round(e.p_correct, 3), float(f"{e.cost_usd:.3g}")) for e in self.estimates}
        yield from ((k, getattr(self, k)) for k in ("excluded", "degraded") if getattr(self, k))

    def estimate_for(self, model: str) -> Estimate:
        for estimate in self.estimates:
            if estimate.model == model:
                return estimate
        raise KeyError(model)

    def overview(self) -> dict[str, Any]:
        """A small JSON-serialisable view, for response metadata and logs."""
        return {
            "chosen": self.chosen,
            "alpha": self.alpha,
            "reason": self.reason,
            "candidates": {
                e.model: {"p_correct": round(e.p_correct, 4), "cost_usd": e.cost_usd, "cold_start": e.cold_start}
                for e in self.estimates
            },
            "excluded": dict(self.excluded),
            "estimator_cost_usd": self.estimator_cost_usd,
            "degraded": self.degraded,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }
