"""knn-features: the prompt-feature map fitted on the store's own outcomes, and the estimator using it."""

from __future__ import annotations

import numpy as np
import pytest

from scope_core import Outcome
from scope_core.estimators import get_estimator
from scope_core.estimators.knn.features_fit import fit_features, pairs_of
from scope_core.estimators.knn.fit import fit_settings
from scope_core.estimators.knn.settings import KNNFit
from scope_core.outcome import text_hash
from scope_core.store.records import PromptInfo

from .test_estimators import SPECS, context, summary


def _pairs(n: int, slopes: tuple[float, ...], seed: int = 0):
    """Held-out rows whose correctness depends on feature 0 with a per-model ``slopes``."""
    rng = np.random.default_rng(seed)
    x = np.c_[rng.normal(size=n), rng.normal(3.0, 1.0, size=n)]
    base = rng.uniform(0.2, 0.8, size=(n, len(slopes)))
    z = np.log(base / (1 - base)) + np.asarray(slopes)[None] * x[:, :1]
    y = (rng.uniform(size=z.shape) < 1 / (1 + np.exp(-z))).astype(float)
    ratio = 0.5 * (x[:, 1:] - 3.0) + rng.normal(0, 0.3, size=z.shape)  # longer prompts, longer answers
    has = np.ones(z.shape, dtype=bool)
    return x, pairs_of(has, y, base), pairs_of(has, ratio)


def test_the_map_finds_a_per_model_length_effect_and_output_lengths():
    x, p_pairs, out_pairs = _pairs(1500, (0.0, 0.0, -1.0, 1.0))
    fit = fit_features(x, p_pairs, out_pairs, ["m0", "m1", "m2", "m3"])
    assert fit.log_loss < fit.log_loss_without - 0.01 and fit.p_strength is not None
    slope = {m: fit.p_shared[0] + fit.p_model[m][0] for m in fit.p_model}
    assert slope["m2"] < -0.5 < 0.5 < slope["m3"] and abs(slope["m0"]) < 0.2
    assert fit.out_error < fit.out_error_without - 0.1
    # a long prompt gets longer predicted answers, and a model unseen at fit time the shared slopes
    factor = fit.output_factor(np.asarray([0.0, 5.0]), ["m0", "new"])
    assert factor[0] > 2.0 and factor[1] == pytest.approx(factor[0], rel=0.05)


def test_features_that_predict_nothing_stay_out():
    x, p_pairs, out_pairs = _pairs(1500, (0.0, 0.0, 0.0, 0.0), seed=1)
    fit = fit_features(x, p_pairs, out_pairs, ["m0", "m1", "m2", "m3"])
    # cross-validation either drops the features or keeps their slopes near zero
    assert fit.log_loss <= fit.log_loss_without + 1e-3
    assert max(abs(fit.p_shared[0] + d[0]) for d in fit.p_model.values()) < 0.15


def _length_store(store, n: int = 320, seed: int = 0) -> None:
    """One tight cluster of prompts: 'a' answers short prompts (10 tokens) right and long ones (200) wrong,
    at ten times the output length on long ones; 'b' is right half the time on both."""
    rng = np.random.default_rng(seed)
    for spec in SPECS:
        store.put_model(spec)
    infos, outcomes = {}, []
    for i in range(n):
        long = i % 2 == 1
        text, tokens = f"prompt {i}", 200 if long else 10
        vector = np.eye(16, dtype=np.float32)[0] + rng.normal(scale=0.05, size=16).astype(np.float32)
        infos[text_hash(text)] = PromptInfo(text_hash(text), vector / np.linalg.norm(vector), tokens, text, None)
        for model, score in (("a", float(not long)), ("b", float(rng.random() < 0.5))):
            out = 1000 if long and model == "a" else 100
            outcomes.append(
                Outcome(prompt=text, model=model, score=score, input_tokens=tokens, output_tokens=out, cost_usd=0.01)
            )
    store.add(outcomes, infos)


def test_knn_features_tells_long_prompts_apart_where_the_neighbours_cannot(store):
    _length_store(store)
    fit = fit_settings(store, {}, k=16, min_queries=100)
    assert fit is not None and fit.features is not None
    assert fit.features.log_loss < fit.features.log_loss_without - 0.1
    # a query among mixed short and long neighbours: knn cannot tell, knn-features reads the length
    neighbours = [(0.9, {"a": summary(float(j % 2 == 0), 100.0 if j % 2 == 0 else 1000.0), "b": summary(0.5)})
                  for j in range(8)]  # fmt: skip
    base = context(neighbours, {m: summary(0.5) for m in ("a", "b")})
    tokens = np.asarray([10.0 if j % 2 == 0 else 200.0 for j in range(8)])
    estimates = {}
    for length in (10, 200):
        ctx = base.__class__(**{**base.__dict__, "fits": {"knn": KNNFit(settings=fit).model_dump_json()}, "input_tokens": length, "embedding": np.eye(16)[0],
                                "neighbours": base.neighbours.__class__(**{**base.neighbours.__dict__, "tokens": tokens})})  # fmt: skip
        for name in ("knn", "knn-features"):
            estimates[(name, length)] = {e.model: e for e in get_estimator(name).estimate(ctx, SPECS)}
    knn_gap = estimates[("knn", 10)]["a"].p_correct - estimates[("knn", 200)]["a"].p_correct
    feature_gap = estimates[("knn-features", 10)]["a"].p_correct - estimates[("knn-features", 200)]["a"].p_correct
    assert abs(knn_gap) < 0.05 and feature_gap > 0.5
    long_out = estimates[("knn-features", 200)]["a"].output_tokens / estimates[("knn-features", 10)]["a"].output_tokens
    assert long_out > 3.0


def test_without_a_feature_map_knn_features_is_knn():
    ctx = context([(0.9, {"a": summary(1.0), "b": summary(0.0)}), (0.8, {"a": summary(0.0)})], {})
    plain = [e.model_dump() for e in get_estimator("knn").estimate(ctx, SPECS)]
    assert [e.model_dump() for e in get_estimator("knn-features").estimate(ctx, SPECS)] == plain
