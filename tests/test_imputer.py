"""Imputers: a partly profiled model borrows evidence from how the other models did on prompts it never saw."""

from __future__ import annotations

import json

import numpy as np

from scope_core import KNNEstimator, ModelSpec, Outcome, Router
from scope_core.estimators.knn.imputer import L2_EMBEDDING_GRID, Imputer
from scope_core.estimators.knn.imputer_fit import choose_imputer, fit_imputer

FITTED_MATH = [f"Compute the derivative of x^{n} times cos(x) at x = {n}" for n in range(2, 42)]
FITTED_CHAT = [f"Write a friendly birthday note for my colleague number {n}" for n in range(2, 42)]
UNSEEN_MATH = [f"Evaluate the definite integral of {n} x^2 ln(x) from 1 to e" for n in range(2, 42)]


def test_fit_imputer_learns_which_model_a_new_one_behaves_like():
    rng = np.random.default_rng(0)
    twin, other = rng.integers(0, 2, 300).astype(float), rng.integers(0, 2, 300).astype(float)
    scores = np.column_stack([twin, other])
    scores[rng.random(300) < 0.1, 1] = np.nan  # a predictor missing on some prompts
    emb = rng.normal(size=(300, 8)) / 3
    imputer = fit_imputer(["twin", "other"], scores, emb, y=twin)
    p = imputer.predict(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, np.nan]]), emb[0])
    assert p[0] > 0.8 and p[1] < 0.2 and p[2] > 0.8
    again = Imputer.from_dict(json.loads(json.dumps(imputer.to_dict())))
    assert np.allclose(again.predict(scores[:5], emb[0]), imputer.predict(scores[:5], emb[0]))


def test_choose_imputer_shrinks_the_embedding_weights_as_far_as_held_out_prompts_ask():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(300, 32))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    scores = rng.integers(0, 2, size=(300, 3)).astype(float)  # the other models say nothing here
    # where the embedding decides the score, the weakest shrinkage wins; where it is noise, the strongest
    signal = (emb[:, 0] > 0).astype(float)
    assert choose_imputer(["a", "b", "c"], scores, emb, signal)[1][1] == L2_EMBEDDING_GRID[0]
    noise = rng.integers(0, 2, 300).astype(float)
    assert choose_imputer(["a", "b", "c"], scores, emb, noise)[1][1] == L2_EMBEDDING_GRID[-1]


def _outcome(text: str, model: str, score: float) -> Outcome:
    return Outcome(prompt=text, model=model, score=score, input_tokens=20, output_tokens=40, cost_usd=0.0)


def test_a_model_profiled_on_anchors_is_estimated_from_its_twin_where_it_has_no_outcome(store, embedder):
    router = Router(store, embedder=embedder, cache_ttl_s=0.0)
    for name in ("small", "large", "newbie", "rookie"):
        router.register_model(ModelSpec(name=name, input_price=1.0, output_price=1.0))
    everywhere = FITTED_MATH + FITTED_CHAT + UNSEEN_MATH
    router.record([_outcome(t, "large", 1.0) for t in everywhere])
    router.record([_outcome(t, "small", float(t not in FITTED_MATH + UNSEEN_MATH)) for t in everywhere])
    # newbie behaves like small, but was only run on the fitted anchors
    router.record([_outcome(t, "newbie", float(t in FITTED_CHAT)) for t in FITTED_MATH + FITTED_CHAT])
    router.record([_outcome(t, "rookie", 1.0) for t in FITTED_MATH + FITTED_CHAT])  # profiled on the same anchors

    fit = router.fit()
    assert sorted(fit.imputers) == ["newbie", "rookie"]  # small and large answered every prompt: no imputer
    # rookie is known on every anchor but missing on most neighbours: it must not predict newbie
    assert fit.imputers["newbie"].predictors == ("large", "small")
    query = "Evaluate the definite integral of 77 x^2 ln(x) from 1 to e"
    imputed = router.route(query, alpha=1.0).estimate_for("newbie").p_correct
    router.estimator = KNNEstimator(imputed_weight=0.0)
    plain = router.route(query, alpha=1.0).estimate_for("newbie").p_correct
    assert imputed < plain - 0.1 and imputed < 0.35
