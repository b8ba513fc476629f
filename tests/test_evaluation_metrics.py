"""Evaluation math on hand-made points: envelope, AIQ, calibration, cost error, split, baselines."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scope_core.data.dataset import Dataset, OutcomeRow, PromptRow
from scope_core.estimators.estimate import Estimate
from scope_core.evaluation import alpha_sweep
from scope_core.evaluation.baselines import cluster_labels, oracle_point, single_models, task_means, task_router
from scope_core.evaluation.metrics import (
    aiq,
    cost_to_reach,
    envelope_at,
    expected_calibration_error,
    median_ape,
    reliability_bins,
    upper_envelope,
)
from scope_core.evaluation.split import restrict_models, split_prompts
from scope_core.evaluation.sweep import Routed, choices_at
from scope_core.routing.policy import RouteOptions, choose
from scope_core.specs import ModelSpec


def test_aiq_matches_the_definition_computed_on_paper():
    # H: 0.5 flat on [0, 2], linear 0.5 -> 0.9 on [2, 4], flat 0.9 after the most accurate point (4, 0.9);
    # (6, 0.7) is dearer and worse, so H ignores it. Area = 2*0.5 + 2*0.7 + 4*0.9 = 6.0 over a width of 8.
    assert aiq([(2, 0.5), (4, 0.9), (6, 0.7)], 0.0, 8.0) == pytest.approx(0.75)


def test_point_under_the_chord_does_not_count():
    # (5, 0.3) lies under the chord from (0, 0.2) to (10, 0.6): H is the chord, mean 0.4
    assert upper_envelope([(0, 0.2), (5, 0.3), (10, 0.6)]) == [(0, 0.2), (10, 0.6)]
    assert aiq([(0, 0.2), (5, 0.3), (10, 0.6)], 0, 10) == pytest.approx(0.4)
    # above the chord it is a vertex and raises AIQ: area 5*(0.2+0.5)/2 + 5*(0.5+0.6)/2 = 4.5
    assert aiq([(0, 0.2), (5, 0.5), (10, 0.6)], 0, 10) == pytest.approx(0.45)


def test_envelope_is_non_decreasing_concave_and_above_every_point():
    rng = np.random.default_rng(3)
    points = [(float(c), float(a)) for c, a in zip(rng.uniform(0, 10, 40), rng.uniform(0, 1, 40), strict=True)]
    hull = upper_envelope(points)
    slopes = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(hull)]
    assert all(s >= 0 for s in slopes)
    assert all(s1 > s2 for s1, s2 in itertools.pairwise(slopes))
    h = envelope_at(points, [c for c, _ in points])
    assert all(h_i >= a - 1e-12 for h_i, (_, a) in zip(h, points, strict=True))
    assert hull[-1][1] == max(a for _, a in points)


def test_envelope_is_flat_outside_the_points():
    h = envelope_at([(1.0, 0.3), (2.0, 0.8)], [0.0, 1.0, 1.5, 2.0, 100.0])
    assert list(h) == pytest.approx([0.3, 0.3, 0.55, 0.8, 0.8])
    # so a cheaper, worse point lowers H left of the old cheapest point
    assert aiq([(1.0, 0.3), (2.0, 0.8)], 0.0, 2.0) > aiq([(0.0, 0.0), (1.0, 0.3), (2.0, 0.8)], 0.0, 2.0)


def test_more_operating_points_never_lower_aiq():
    # holds for points no cheaper than the cheapest one (H is flat left of it, at its accuracy)
    rng = np.random.default_rng(7)
    points = [(1.0, 0.2)] + [
        (float(c), float(a)) for c, a in zip(rng.uniform(1, 9, 10), rng.uniform(0, 1, 10), strict=True)
    ]
    base = aiq(points, 0.0, 10.0)
    assert 0.0 <= base <= 1.0
    for c, a in zip(rng.uniform(1, 12, 20), rng.uniform(0, 1, 20), strict=True):
        points.append((float(c), float(a)))
        assert aiq(points, 0.0, 10.0) >= base - 1e-12
        base = aiq(points, 0.0, 10.0)


def test_aiq_on_an_empty_range_is_the_envelope_there():
    assert aiq([(1.0, 0.3), (3.0, 0.7)], 2.0, 2.0) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        aiq([(1.0, 0.3)], 2.0, 1.0)


def test_cost_to_reach_is_the_cheapest_point_reaching_the_target():
    points = [(3.0, 0.9), (1.0, 0.5), (2.0, 0.85), (5.0, 0.95)]
    assert cost_to_reach(points, 0.85) == 2.0
    assert cost_to_reach(points, 0.95) == 5.0
    assert cost_to_reach(points, 0.96) is None


def test_expected_calibration_error():
    p = np.array([0.25] * 4 + [0.9] * 10)
    y = np.array([1, 0, 0, 0] + [1] * 9 + [0])
    assert expected_calibration_error(p, y) == pytest.approx(0.0)
    # all predicted 0.9, none correct: off by 0.9; two bins off by 0.5 and 0.1, weights 1:3
    assert expected_calibration_error(np.full(5, 0.9), np.zeros(5)) == pytest.approx(0.9)
    assert expected_calibration_error(np.array([0.5, 0.9, 0.9, 0.9]), np.array([0, 1, 1, 1])) == pytest.approx(
        (0.5 + 3 * 0.1) / 4
    )


def test_reliability_bins_put_certainty_in_the_last_bin():
    bins = reliability_bins(np.array([0.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.0]))
    assert bins == [(0.0, 0.0, 1), (1.0, 0.5, 2)]


def test_median_ape_ignores_zero_costs():
    assert median_ape(np.array([1.0, 3.0, 2.0, 5.0]), np.array([2.0, 2.0, 2.0, 0.0])) == pytest.approx(0.5)
    assert median_ape(np.array([1.0]), np.array([0.0])) is None


def test_alpha_sweep_is_dense_near_one():
    alphas = alpha_sweep()
    assert len(alphas) >= 21 and alphas == sorted(set(alphas))
    assert alphas[0] == 0.0 and alphas[-1] == 1.0
    assert sum(a > 0.9 for a in alphas) >= 10


def _dataset(n_prompts: int = 10) -> Dataset:
    prompts = [PromptRow(f"p{i}", None, f"prompt {i}") for i in range(n_prompts)]
    outcomes = [OutcomeRow(p.id, m, 1.0, 10, 10, 0.1) for p in prompts for m in ("a", "b")]
    specs = {m: ModelSpec(name=m, input_price=1, output_price=1) for m in ("a", "b")}
    return Dataset("toy", prompts, outcomes, specs)


def test_split_is_a_seeded_partition():
    data = _dataset(10)
    train, test = split_prompts(data, 0.3, seed=1)
    assert len(train) == 3 and len(test) == 7
    assert sorted(train + test) == sorted(p.id for p in data.prompts)
    assert split_prompts(data, 0.3, seed=1) == (train, test)
    assert split_prompts(data, 0.3, seed=2) != (train, test)
    with pytest.raises(ValueError):
        split_prompts(data, 1.0, seed=0)


def test_restrict_models_keeps_held_out_outcomes_on_anchors_only():
    restricted = restrict_models(_dataset(10), ["b"], ["p1", "p2"])
    assert sorted(o.prompt_id for o in restricted.outcomes if o.model == "b") == ["p1", "p2"]
    assert sum(o.model == "a" for o in restricted.outcomes) == 10


def test_oracle_takes_the_cheapest_correct_model_and_singles_handle_gaps():
    scores = np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [np.nan, 1.0]])
    costs = np.array([[1.0, 5.0], [1.0, 5.0], [2.0, 5.0], [np.nan, 5.0]])
    oracle = oracle_point(scores, costs, ["cheap", "dear"])
    assert oracle.choices == {"cheap": 2, "dear": 2}
    assert oracle.accuracy == pytest.approx(0.75) and oracle.cost == pytest.approx(1 + 5 + 2 + 5)
    cheap, dear = single_models(scores, costs, ["cheap", "dear"])
    assert cheap.n == 3 and cheap.accuracy == pytest.approx(1 / 3)
    assert cheap.cost == pytest.approx(4 / 3 * 4)  # mean cost scaled to all 4 test prompts
    assert dear.accuracy == pytest.approx(0.75) and dear.cost == pytest.approx(20.0)


def test_task_means_average_within_each_task_and_keep_gaps():
    values = np.array([[1.0, 0.0], [0.0, np.nan], [1.0, 1.0], [0.0, 1.0]])
    means = task_means(values, ["a", "a", "b", None])
    expected = np.array([[0.5, 0.0], [0.5, np.nan], [1.0, 1.0], [0.0, 1.0]])
    np.testing.assert_array_equal(means, expected)


def test_task_router_uses_train_means_per_task_and_falls_back_to_overall():
    train = np.array([[1.0, 0.0], [0.0, np.nan], [1.0, 1.0], [1.0, 1.0]])
    out = task_router(train, ["a", "a", "b", "b"], ["b", "a", "unseen"])
    # model 1 has one train outcome on "a" (0.0); an unseen task takes each model's overall train mean
    expected = np.array([[1.0, 1.0], [0.5, 0.0], [0.75, 2 / 3]])
    np.testing.assert_allclose(out, expected)


def test_cluster_labels_separate_distinct_groups_and_label_test_by_nearest_centroid():
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:2] * 10
    train = np.vstack([c + rng.normal(scale=0.1, size=(40, 8)) for c in centres])
    test = np.vstack([centres[1], centres[0]])
    train_labels, test_labels = cluster_labels(train, test, seed=0)
    assert len(train_labels) == len(train) and len(set(train_labels)) == 3  # round(sqrt(80 / 10))
    first, second = set(train_labels[:40]), set(train_labels[40:])
    assert not first & second  # no cluster mixes the two groups
    assert test_labels[0] in second and test_labels[1] in first


def test_vectorised_replay_agrees_with_policy_choose():
    rng = np.random.default_rng(11)
    models = [f"m{j}" for j in range(6)]
    specs = {m: ModelSpec(name=m, input_price=1, output_price=1, context_window=1000) for m in models}
    routed = []
    for _ in range(200):
        names = sorted(rng.choice(models, size=int(rng.integers(1, 7)), replace=False))
        # coarse grids make exact utility and cost ties common; some candidates exceed the context window
        estimates = [
            Estimate(
                model=m, p_correct=float(rng.integers(0, 4) / 4), p_std=0.1, input_tokens=float(rng.choice([10, 2000])),
                output_tokens=10.0, cost_usd=float(rng.integers(1, 4) / 1000),
            )
            for m in names
        ]  # fmt: skip
        if any(e.input_tokens < 1000 for e in estimates):
            routed.append(Routed(estimates, cost_ref=float(rng.choice([0.0, 0.003]))))
    alphas = alpha_sweep()
    chosen = choices_at(routed, specs, alphas, models)
    for a_i, alpha in enumerate(alphas):
        expected = [choose(r.estimates, specs, RouteOptions(alpha=alpha), r.cost_ref).chosen for r in routed]
        assert [models[j] for j in chosen[a_i]] == expected
