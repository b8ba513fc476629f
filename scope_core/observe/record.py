"""LoggedDecision: one routed call as the decision log keeps it: what was predicted, chosen and observed.

A record is made when the call ends (answered, or every candidate failed) from the call's Decision and its
attempts, and gains its score when feedback arrives (also later, by run id). ``row()`` flattens it for a
table (``pandas.DataFrame([r.row() for r in router.history()])``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from scope_core.estimators.estimate import Estimate
from scope_core.routing.call import Ended
from scope_core.routing.decision import Decision


class Prediction(BaseModel):
    """What was predicted for one candidate before any model ran."""

    p: float = Field(description="P(correct)")
    p_std: float
    input_tokens: float
    output_tokens: float
    cost_usd: float
    cold_start: bool = False
    excluded: str | None = Field(default=None, description="why it was not eligible, if it was not")

    @classmethod
    def of(cls, e: Estimate, excluded: str | None) -> Prediction:
        return cls(p=e.p_correct, p_std=e.p_std, input_tokens=e.input_tokens, output_tokens=e.output_tokens,
                   cost_usd=e.cost_usd, cold_start=e.cold_start, excluded=excluded)  # fmt: skip


class AttemptRecord(BaseModel):
    """One candidate tried: 0 is the chosen model, 1.. are fallbacks."""

    model: str
    attempt: int
    latency_s: float | None = None
    error_type: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, ended: Ended) -> AttemptRecord:
        kind = ended.error.split(":", 1)[0] if ended.error else None
        return cls(
            model=ended.model, attempt=ended.attempt, latency_s=ended.latency_s, error_type=kind, error=ended.error
        )


class LoggedDecision(BaseModel):
    """One routed call in the decision log."""

    run_id: str
    ts: float = Field(description="when it was routed (Unix time)")
    session_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    text: str | None = Field(default=None, description="the routing text (None when the store keeps no prompts)")
    query_hash: str
    estimator: str = ""
    alpha: float
    constraints: dict[str, Any] = Field(default_factory=dict, description="options that applied, after any budget")
    budget: dict[str, float | str] | None = Field(default=None, description="the budget governor's state, if any")
    predictions: dict[str, Prediction]
    chosen: str
    reason: str = ""
    chosen_rank: int = Field(
        description="the chosen model's place by predicted P(correct) among the eligible (0 = top)"
    )
    propensities: dict[str, float] = Field(default_factory=dict, description="each candidate's chance of being chosen")
    explored: bool = False
    cost_ref: float | None = Field(default=None, description="the utility's cost unit on this call")
    degraded: bool = False
    route_ms: float | None = None
    attempts: list[AttemptRecord] = Field(default_factory=list)
    model: str | None = Field(default=None, description="the model that answered (None: every candidate failed)")
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    score: float | None = None

    @property
    def cold_start(self) -> bool:
        """Whether the chosen model had no scored outcome anywhere (its p was a default)."""
        chosen = self.predictions.get(self.chosen)
        return bool(chosen and chosen.cold_start)

    @property
    def fell_back(self) -> bool:
        return self.model is not None and self.model != self.chosen

    def summary(self) -> dict[str, Any]:
        """The few numbers reports read (``scope_core.observe.report``), with short keys: the decision log keeps
        them beside the record, a tenth of its size."""
        eligible = [p for p in self.predictions.values() if p.excluded is None] or list(self.predictions.values())
        top = max(eligible, key=lambda p: p.p)
        answered = self.predictions[self.model or self.chosen]
        failed = [a.model for a in self.attempts if a.error is not None]
        budget = self.budget or {}
        return {
            "id": self.run_id, "t": self.ts, "c": self.chosen, "m": self.model, "cost": self.cost_usd,
            "pp": answered.p, "pc": answered.cost_usd, "tp": top.p, "tc": top.cost_usd,
            "dc": max(p.cost_usd for p in eligible), "ms": self.route_ms, "f": failed, "n": len(self.attempts),
            "d": self.degraded, "cs": self.cold_start, "se": self.session_id, "tg": self.tags, "b": budget.get("budget_usd"),
            "bg": budget.get("id"),
            "s": self.score, "x": self.explored,
        }  # fmt: skip

    def row(self) -> dict[str, Any]:
        """One flat row: the call, the answering model's prediction and what it cost."""
        answered = self.predictions.get(self.model or self.chosen)
        return {
            "run_id": self.run_id,
            "ts": self.ts,
            "session_id": self.session_id,
            "tags": ",".join(self.tags),
            "chosen": self.chosen,
            "model": self.model,
            "alpha": self.alpha,
            "predicted_p": answered.p if answered else None,
            "predicted_cost_usd": answered.cost_usd if answered else None,
            "cost_usd": self.cost_usd,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "latency_s": self.latency_s,
            "route_ms": self.route_ms,
            "score": self.score,
            "attempts": len(self.attempts),
            "cold_start": self.cold_start,
            "degraded": self.degraded,
            "estimator": self.estimator,
        }


_FROM_DECISION = {
    "session_id", "tags", "metadata", "query_hash", "estimator", "alpha", "constraints", "budget", "chosen", "reason",
    "propensities", "explored", "cost_ref", "degraded",
}  # fmt: skip
_ANSWER = ("model", "input_tokens", "output_tokens", "cost_usd", "latency_s")


def logged(
    decision: Decision, run_id: str, attempts: Sequence[Ended], text: str | None, score: float | None = None
) -> LoggedDecision:
    """The record of a call that ended after ``attempts`` (the last one answered unless it failed)."""
    predictions = {e.model: Prediction.of(e, decision.excluded.get(e.model)) for e in decision.estimates}
    eligible = sorted((m for m, p in predictions.items() if p.excluded is None), key=lambda m: -predictions[m].p)
    answer = attempts[-1] if attempts and attempts[-1].error is None else None
    answered = {k: getattr(answer, k) for k in _ANSWER} | {"score": score} if answer else {}
    return LoggedDecision(
        **decision.model_dump(include=_FROM_DECISION),
        **answered,
        run_id=run_id,
        ts=decision.routed_at,
        text=text,
        predictions=predictions,
        chosen_rank=eligible.index(decision.chosen) if decision.chosen in eligible else 0,
        route_ms=decision.timings_ms.get("total_ms"),
        attempts=[AttemptRecord.of(a) for a in attempts],
    )
