"""Estimators: the registry, the kNN estimator's evidence weighting, shrinkage and cost prediction."""

from __future__ import annotations

import numpy as np
import pytest

from scope_core import ModelSpec, Router
from scope_core.estimators import Estimator, KNNEstimator, QueryContext, estimator_names, get_estimator
from scope_core.estimators.base import evidence_matrix
from scope_core.store import summary as sm
from scope_core.store.records import Neighbourhood

SPECS = [
    ModelSpec(name="a", input_price=1.0, output_price=2.0),
    ModelSpec(name="b", input_price=10.0, output_price=30.0),
]


def summary(score: float, out_tokens: float = 100.0, in_tokens: float = 50.0) -> sm.Summary:
    return [1.0, score, 1.0, out_tokens, in_tokens, 0.0]


def context(neighbours: list[tuple[float, dict[str, sm.Summary]]], priors: dict[str, sm.Summary]) -> QueryContext:
    """A query whose neighbours are (similarity, {model: summary}) pairs, each stored prompt 50 tokens long."""
    nb = Neighbourhood(
        ids=[f"p{i}" for i in range(len(neighbours))],
        similarities=np.asarray([s for s, _ in neighbours], dtype=np.float64),
        tokens=np.full(len(neighbours), 50.0),
        stats=[stats for _, stats in neighbours],
    )
    return QueryContext("q", np.zeros(4, dtype=np.float32), 50, nb, priors)


def prior(n: int, mean: float, out_tokens: float = 100.0) -> sm.Summary:
    return [float(n), n * mean, float(n), n * out_tokens, n * 50.0, 0.0]


PRIORS = {"a": prior(1000, 0.5), "b": prior(1000, 0.5)}


def by_model(estimator: Estimator, ctx: QueryContext) -> dict:
    return {e.model: e for e in estimator.estimate(ctx, SPECS)}


@pytest.mark.parametrize("name", [n for n in estimator_names() if n != "reasoning"])
def test_every_registered_estimator_builds_and_estimates_every_candidate(name: str):
    estimator = get_estimator(name)
    assert isinstance(estimator, Estimator) and estimator.name == name
    ctx = context([(0.9, {"a": summary(1.0), "b": summary(0.0)})], PRIORS)
    estimates = estimator.estimate(ctx, SPECS)
    assert [e.model for e in estimates] == ["a", "b"]
    assert all(0.0 <= e.p_correct <= 1.0 and e.cost_usd > 0 for e in estimates)


def test_unknown_estimator_names_the_known_ones():
    with pytest.raises(ValueError, match="knn"):
        get_estimator("nope")


def test_without_neighbours_the_estimate_is_the_models_global_record():
    priors = {"a": prior(1000, 0.9), "b": prior(1000, 0.2)}
    got = by_model(KNNEstimator(), context([], priors))
    assert got["a"].p_correct == pytest.approx(0.9, abs=0.02)
    assert got["b"].p_correct == pytest.approx(0.2, abs=0.02)


def test_more_agreeing_neighbours_pull_further_from_the_prior_and_narrow_the_spread():
    est = KNNEstimator()
    few = by_model(est, context([(0.8, {"a": summary(1.0)})] * 2, PRIORS))["a"]
    many = by_model(est, context([(0.8, {"a": summary(1.0)})] * 40, PRIORS))["a"]
    assert 0.5 < few.p_correct < many.p_correct <= 1.0
    assert many.p_std < few.p_std


def test_closer_neighbours_count_more():
    near_right = [(0.95, {"a": summary(1.0)}), (0.55, {"a": summary(0.0)})]
    near_wrong = [(0.95, {"a": summary(0.0)}), (0.55, {"a": summary(1.0)})]
    est = KNNEstimator(prior_strength=0.0)
    assert by_model(est, context(near_right, PRIORS))["a"].p_correct > 0.5
    assert by_model(est, context(near_wrong, PRIORS))["a"].p_correct < 0.5


def test_plain_knn_ignores_the_prior():
    ctx = context([(0.9, {"a": summary(1.0)})], {"a": prior(1000, 0.1), "b": prior(1000, 0.1)})
    assert get_estimator("knn-plain").estimate(ctx, SPECS)[0].p_correct == pytest.approx(1.0)
    assert get_estimator("knn").estimate(ctx, SPECS)[0].p_correct < 0.5


def test_cost_follows_the_neighbours_output_length():
    short = by_model(KNNEstimator(), context([(0.9, {"a": summary(1.0, out_tokens=20)})] * 8, PRIORS))["a"]
    long = by_model(KNNEstimator(), context([(0.9, {"a": summary(1.0, out_tokens=2000)})] * 8, PRIORS))["a"]
    assert short.output_tokens < 100 < long.output_tokens
    assert long.cost_usd > short.cost_usd
    assert long.cost_usd == pytest.approx(SPECS[0].cost(long.input_tokens, long.output_tokens))


def test_evidence_matrix_places_each_summary_and_zeros_missing_models():
    nb = Neighbourhood(["x", "y"], np.ones(2), np.ones(2), [{"b": summary(1.0)}, {"a": summary(0.0, 7.0)}])
    ev = evidence_matrix(nb, ["a", "b"])
    assert ev.shape == (2, 2, sm.WIDTH)
    assert ev[0, 0].sum() == 0 and ev[0, 1, sm.SCORE_SUM] == 1.0
    assert ev[1, 0, sm.OUT_SUM] == 7.0 and ev[1, 1].sum() == 0


def test_router_routes_with_each_registered_estimator(store, pool, embedder):
    from .conftest import seed_outcomes

    for name in [n for n in estimator_names() if n != "reasoning"]:
        router = Router(store, estimator=name, embedder=embedder, cache_ttl_s=0.0)
        if not router.models():
            for spec in pool:
                router.register_model(spec)
            seed_outcomes(router, pool)
        decision = router.route("Compute the integral of x^20 times sin(x) from 0 to pi", alpha=1.0)
        assert decision.chosen == "large", name
