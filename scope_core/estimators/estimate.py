"""What an estimator predicts for one candidate on one query, before any model runs, and the evidence it rests on."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Evidence(BaseModel):
    """The stored outcomes an estimate rests on."""

    neighbour_ids: list[str] = Field(default_factory=list)
    similarities: list[float] = Field(default_factory=list)
    effective_n: float = 0.0

    def __repr_args__(self):
        """Counts, not the ids: a repr stays one short line."""
        yield "neighbours", len(self.neighbour_ids)
        yield "effective_n", round(self.effective_n, 2)


class Estimate(BaseModel):
    """Prediction for one candidate model on one query, made before any model runs."""

    model: str
    p_correct: float
    p_std: float
    input_tokens: float
    output_tokens: float
    cost_usd: float
    evidence: Evidence = Field(default_factory=Evidence)
    estimator_tokens: int = Field(default=0, description="tokens the estimator itself spent on this estimate")
    estimator_cost_usd: float = Field(default=0.0, description="USD the estimator itself spent on this estimate")
    confidence: float | None = Field(
        default=None, description="an LLM estimator's trust in its parsed prediction (1 strict, lower when partial)"
    )
    fallback: str | None = Field(default=None, description="why a stand-in estimate (e.g. knn) was used, if it was")
    cold_start: bool = Field(
        default=False, description="no scored outcome of this model anywhere: p_correct is a default, not evidence"
    )
    cache_read_tokens: float = Field(default=0.0, description="input tokens expected from the session's prompt cache")
    cache_write_tokens: float = Field(default=0.0, description="input tokens expected to be written to it (billed)")
    latency_s: float | None = Field(default=None, description="predicted time to the whole answer (None: unknown)")
    ttft_s: float | None = Field(default=None, description="predicted time to the first token (None: unknown)")

    def __repr_args__(self):
        """The prediction in short (the evidence as counts): a repr stays one line."""
        yield "model", self.model
        yield "p_correct", round(self.p_correct, 4)
        yield "cost_usd", float(f"{self.cost_usd:.3g}")
        yield "output_tokens", round(self.output_tokens, 1)
        yield "evidence", self.evidence
        yield from ((k, getattr(self, k)) for k in ("cold_start", "fallback") if getattr(self, k))
