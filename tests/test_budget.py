"""BudgetGovernor: pacing a stream of calls to a budget, never past the hard cap."""

from __future__ import annotations

import numpy as np
import pytest

from scope_core import BudgetExhaustedError, BudgetGovernor, Estimate, ModelSpec, NoCandidateError, RouteOptions, Router
from scope_core.routing.policy import choose

# three models: cheap and weak, mid, dear and strong (per-call costs in USD)
SPECS = {n: ModelSpec(name=n, input_price=1.0, output_price=1.0) for n in ("cheap", "mid", "dear")}
BASE_COST = {"cheap": 0.001, "mid": 0.004, "dear": 0.03}
BASE_P = {"cheap": 0.55, "mid": 0.7, "dear": 0.9}


def stream(n: int, seed: int) -> list[dict[str, tuple[float, float, float]]]:
    """Per call and model: (predicted p, predicted cost, actual cost); actual cost is 0.5-1.9x predicted."""
    rng = np.random.default_rng(seed)
    calls = []
    for _ in range(n):
        length = rng.lognormal(0.0, 0.5)
        hardness = rng.normal(0.0, 0.15)
        calls.append(
            {
                m: (
                    float(np.clip(BASE_P[m] - hardness, 0, 1)),
                    BASE_COST[m] * length,
                    BASE_COST[m] * length * rng.uniform(0.5, 1.9),
                )
                for m in SPECS
            }
        )
    return calls


def replay(governor: BudgetGovernor, calls) -> tuple[float, list[float]]:
    """Route each call with the governor's overrides and charge the actual cost; returns (spent, alphas)."""
    alphas = []
    for call in calls:
        try:
            policy = RouteOptions(**governor.overrides())
            estimates = [
                Estimate(model=m, p_correct=p, p_std=0.1, input_tokens=1, output_tokens=1, cost_usd=c)
                for m, (p, c, _) in call.items()
            ]
            chosen = choose(estimates, SPECS, policy, cost_ref=BASE_COST["dear"]).chosen
        except (BudgetExhaustedError, NoCandidateError):
            break
        alphas.append(policy.alpha)
        governor.observe(call[chosen][2])
    return governor.spent, alphas


def dear_total(calls) -> float:
    return sum(call["dear"][2] for call in calls)


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_spend_lands_within_five_percent_of_the_budget(fraction: float):
    calls = stream(2000, seed=1)
    budget = fraction * dear_total(calls)
    spent, _ = replay(BudgetGovernor(budget, len(calls)), calls)
    assert abs(spent / budget - 1) <= 0.05


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_never_spends_past_the_hard_cap(seed: int):
    calls = stream(500, seed=seed)
    budget = 0.2 * dear_total(calls)
    # the stream is longer than announced: the governor must stop spending, not cross the cap
    governor = BudgetGovernor(budget, expected_calls=250, hard_cap_usd=budget)
    spent, _ = replay(governor, calls)
    assert spent <= budget
    assert governor.calls < len(calls), "the cap ended the stream"


def test_alpha_falls_when_calls_cost_too_much_and_rises_when_they_cost_too_little():
    tight = BudgetGovernor(1.0, expected_calls=1000)
    loose = BudgetGovernor(1.0, expected_calls=1000)
    for _ in range(50):
        tight.observe(0.01)  # 10x the 0.001 per call the budget allows
        loose.observe(0.0001)
    assert tight.alpha < 0.5 < loose.alpha


def test_a_call_may_only_use_part_of_the_room_left():
    governor = BudgetGovernor(1.0, expected_calls=10, safety=2.0)
    governor.observe(0.8)
    assert governor.overrides()["max_cost"] == pytest.approx(3 * 0.2 / 9)  # 3x the room left per call expected
    for _ in range(8):
        governor.observe(0.0)
    assert governor.overrides()["max_cost"] == pytest.approx(0.1)  # the last call: half the room left
    governor.observe(0.2)
    with pytest.raises(BudgetExhaustedError):
        governor.overrides()


def test_the_first_call_of_a_small_budget_leaves_room_for_the_rest():
    governor = BudgetGovernor(0.01, expected_calls=20)
    cap = governor.overrides()["max_cost"]
    assert cap == pytest.approx(3 * 0.01 / 20) and cap < 0.01 / 2  # not half the budget on one call
    governor.observe(cap)
    assert governor.overrides()["max_cost"] == pytest.approx(3 * (0.01 - cap) / 19)


def test_budget_messages_show_significant_digits():
    governor = BudgetGovernor(1e-5, expected_calls=1)
    governor.observe(1e-5)
    with pytest.raises(BudgetExhaustedError, match=r"\$0\.0000100 spent") as err:
        governor.overrides()
    assert "0.000000" not in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"budget_usd": 0.0, "expected_calls": 10}, "budget_usd"),
        ({"budget_usd": 1.0, "expected_calls": 0}, "expected_calls"),
        ({"budget_usd": 1.0, "expected_calls": 10, "safety": 0.5}, "safety"),
        ({"budget_usd": 1.0, "expected_calls": 10, "alpha": 1.0}, "alpha"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, match: str):
    with pytest.raises(ValueError, match=match):
        BudgetGovernor(**kwargs)


def test_router_applies_the_governor_to_a_call(router: Router):
    governor = BudgetGovernor(1e-4, expected_calls=10)
    decision = router.route("Compute the integral of x^20 times sin(x) from 0 to pi", budget=governor)
    assert decision.alpha == pytest.approx(governor.alpha)
    assert "max_cost" in decision.excluded["large"]
    assert decision.estimate_for(decision.chosen).cost_usd <= governor.remaining / governor.safety
