"""Plausible evidence: an outcome's token counts and cost must be ones a real call of its model could have.

Checked when an outcome is recorded (``Router.record``, ``record_call``, a routed call's attempts, an ingest), so
that one absurd record cannot make every later estimate of its model absurd:

- neither token count is beyond the model's context window (nor their sum, past a 10% margin for tokenizers);
- the cost is at most what the model's whole window costs at its dearest price, twice over;
- once the model has ``OBSERVED_MIN`` outcomes with usage, its output tokens and cost are within ``SPREAD`` times
  its mean (never below ``FLOOR_TOKENS`` tokens, or their cost).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from scope_core.outcome import Outcome
from scope_core.specs import ModelSpec
from scope_core.store import summary as sm
from scope_core.store.records import Registry

OBSERVED_MIN = 20
SPREAD = 100.0
FLOOR_TOKENS = 32_768


def problem(outcome: Outcome, spec: ModelSpec | None, prior: sm.Summary | None = None) -> str | None:
    """Why ``outcome`` cannot be real, in words, or None (an unknown model is the store's to refuse)."""
    if spec is None:
        return None
    window, name = spec.context_window, f"model '{spec.name}'"
    it, ot, cost = outcome.input_tokens, outcome.output_tokens, outcome.cost_usd
    for field, value in (("input_tokens", it), ("output_tokens", ot)):
        if value is not None and value > window:
            return f"{field} {value:,} is beyond the context window of {name} ({window:,} tokens)"
    if it is not None and ot is not None and it + ot > 1.1 * window:
        return f"input_tokens + output_tokens = {it + ot:,} is beyond the context window of {name} ({window:,} tokens)"
    dearest = max(spec.input_price, spec.output_price)
    if cost is not None and dearest > 0 and cost > 2 * window * dearest / 1e6:
        return f"cost_usd {cost:g} is more than a call of {name} can cost (${window * dearest / 1e6:g} for its window)"
    if prior is None or prior[sm.N_USAGE] < OBSERVED_MIN:
        return None
    n = int(prior[sm.N_USAGE])
    mean_out, mean_cost = prior[sm.OUT_SUM] / n, prior[sm.COST_SUM] / n
    if ot is not None and ot > max(SPREAD * mean_out, FLOOR_TOKENS):
        return f"output_tokens {ot:,} is far outside what {name} was seen to use (a mean of {mean_out:,.0f} over {n})"
    if cost is not None and cost > max(SPREAD * mean_cost, spec.cost(FLOOR_TOKENS, FLOOR_TOKENS)):
        return f"cost_usd {cost:g} is far outside what {name} was seen to cost (a mean of {mean_cost:g} over {n})"
    return None


def why_refused(outcome: Outcome, what: str) -> str:
    """The message of an implausible outcome: what it is, why, and what to do."""
    return (
        f"outcome {outcome.id} is implausible: {what}; it is refused so that it cannot distort the estimates of "
        f"'{outcome.model}' (if the model's window is larger, register it with ModelSpec(..., context_window=N))"
    )


class EvidenceCheck:
    """``problem`` against the registry a router knows (specs and priors, no store read)."""

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self._registry = registry

    def __call__(self, outcome: Outcome, specs: Mapping[str, ModelSpec] | None = None) -> str | None:
        registry = self._registry()
        specs = registry.specs if specs is None else specs
        return problem(outcome, specs.get(outcome.model), registry.priors.get(outcome.model))
