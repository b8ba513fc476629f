"""Policy arithmetic on hand-made estimates (no store)."""

from __future__ import annotations

import pytest

from scope_core import Estimate, ModelSpec, NoCandidateError, RouteOptions
from scope_core.routing.policy import choose

SPECS = {
    "cheap": ModelSpec(name="cheap", input_price=0.1, output_price=0.1, context_window=1000),
    "dear": ModelSpec(name="dear", input_price=10, output_price=10),
}


def est(model: str, p: float, cost: float, tokens: float = 100) -> Estimate:
    return Estimate(model=model, p_correct=p, p_std=0.1, input_tokens=tokens, output_tokens=10, cost_usd=cost)


def test_alpha_moves_the_choice_along_the_trade_off():
    estimates = [est("cheap", 0.6, 0.001), est("dear", 0.9, 0.01)]
    chosen = [choose(estimates, SPECS, RouteOptions(alpha=a), cost_ref=0.01).chosen for a in (0.0, 0.5, 0.8, 1.0)]
    # dear wins when 0.3 * alpha > 0.9 * (1 - alpha), i.e. alpha > 0.75
    assert chosen == ["cheap", "cheap", "dear", "dear"]


def test_context_window_excludes_a_model():
    estimates = [est("cheap", 0.9, 0.001, tokens=5000), est("dear", 0.8, 0.01, tokens=5000)]
    choice = choose(estimates, SPECS, RouteOptions(alpha=1.0), cost_ref=0.01)
    assert choice.chosen == "dear" and "context" in choice.excluded["cheap"]


def test_min_accuracy_unreachable_falls_back_to_most_accurate():
    estimates = [est("cheap", 0.6, 0.001), est("dear", 0.7, 0.01)]
    choice = choose(estimates, SPECS, RouteOptions(min_accuracy=0.95), cost_ref=0.01)
    assert choice.chosen == "dear" and "no model predicted" in choice.reason


def test_nothing_eligible_raises_with_reasons():
    with pytest.raises(NoCandidateError, match="max_cost"):
        choose([est("dear", 0.9, 0.01)], SPECS, RouteOptions(max_cost=0.001), cost_ref=0.01)


@pytest.mark.parametrize("bad", [{"alpha": -0.1}, {"max_cost": 0}, {"min_accuracy": 2}])
def test_invalid_policy_values_are_rejected(bad):
    with pytest.raises(ValueError):
        RouteOptions(**bad)


@pytest.mark.parametrize("price", [-1.0, float("inf"), float("nan")])
def test_model_prices_must_be_finite_and_non_negative(price):
    with pytest.raises(ValueError, match="input_price"):
        ModelSpec(name="x", input_price=price, output_price=1)
