"""replay_budget: a routed test stream replayed in order under a BudgetGovernor."""

from __future__ import annotations

import numpy as np
import pytest

from scope_core import Estimate, ModelSpec
from scope_core.evaluation import run_eval
from scope_core.evaluation.budget_replay import replay_budget
from scope_core.evaluation.plot import plot_reliability
from scope_core.evaluation.sweep import Routed

from .test_evaluation_run import synthetic

MODELS = ["cheap", "mid", "dear"]
SPECS = {m: ModelSpec(name=m, input_price=1.0, output_price=1.0) for m in MODELS}
BASE_COST = np.asarray([0.001, 0.004, 0.03])
BASE_P = np.asarray([0.55, 0.7, 0.9])


def synthetic_stream(n: int, seed: int) -> tuple[list[Routed], np.ndarray, np.ndarray]:
    """Estimates per prompt, plus recorded 0/1 scores and costs; a recorded cost is 0.5-1.9x its prediction."""
    rng = np.random.default_rng(seed)
    length = rng.lognormal(0.0, 0.5, size=(n, 1))
    p = np.clip(BASE_P - rng.normal(0.0, 0.15, size=(n, 1)), 0.0, 1.0)
    predicted = BASE_COST * length
    actual = predicted * rng.uniform(0.5, 1.9, size=predicted.shape)
    scores = (rng.uniform(size=p.shape) < p).astype(float)
    routed = [
        Routed(
            [
                Estimate(
                    model=m, p_correct=p[i, j], p_std=0.1, input_tokens=1, output_tokens=1, cost_usd=predicted[i, j]
                )
                for j, m in enumerate(MODELS)
            ],
            cost_ref=float(BASE_COST[-1]),
        )
        for i in range(n)
    ]
    return routed, scores, actual


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.25, 0.5])
@pytest.mark.parametrize("seed", [0, 1])
def test_hard_cap_is_never_exceeded_and_spend_lands_near_the_budget(fraction: float, seed: int):
    routed, scores, costs = synthetic_stream(400, seed)
    budget = fraction * costs[:, -1].sum()
    replay = replay_budget(routed, SPECS, scores, costs, MODELS, budget)
    assert not replay.over_cap
    assert replay.spent <= replay.hard_cap == budget
    assert replay.spent >= 0.9 * budget
    assert replay.served + replay.refused == len(routed) == sum(replay.choices.values()) + replay.refused


def test_tighter_hard_cap_binds_and_refused_calls_score_zero():
    routed, scores, costs = synthetic_stream(300, 2)
    budget = 0.5 * costs[:, -1].sum()
    replay = replay_budget(routed, SPECS, scores, costs, MODELS, budget, hard_cap_usd=0.1 * budget)
    assert not replay.over_cap
    assert replay.spent <= 0.1 * budget
    assert replay.refused > 0
    assert replay.accuracy <= replay.served / len(routed)


def test_more_budget_buys_dearer_models_and_more_accuracy():
    routed, scores, costs = synthetic_stream(400, 3)
    low, high = (replay_budget(routed, SPECS, scores, costs, MODELS, f * costs[:, -1].sum()) for f in (0.08, 0.6))
    assert high.choices.get("dear", 0) > low.choices.get("dear", 0)
    assert high.accuracy > low.accuracy
    assert high.final_alpha > low.final_alpha


def test_run_eval_replays_each_budget_under_its_cap(embedder, tmp_path):
    fractions = (0.1, 0.5)
    report = run_eval(synthetic(), embedder=embedder, k=8, budgets=fractions)
    large = next(s for s in report.singles if s.name == report.best_single)
    assert report.k == 8
    assert [round(b.budget / large.cost, 6) for b in report.budget_replays] == list(fractions)
    for replay in report.budget_replays:
        assert not replay.over_cap and replay.spent <= replay.hard_cap
        assert replay.served + replay.refused == report.n_test
    assert report.budget_replays[1].accuracy >= report.budget_replays[0].accuracy
    png = plot_reliability({"synthetic": report}, tmp_path / "reliability.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
