"""Fitting imputers: which models of a store get one, on which prompts and predictors, and the regression itself
(penalties chosen by K-fold cross-validation). The fitted ``Imputer`` lives in ``scope_core.estimators.knn.imputer``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize

from scope_core.estimators.knn.imputer import (
    FOLDS,
    L2_EMBEDDING,
    L2_EMBEDDING_GRID,
    L2_SCORES,
    L2_SCORES_GRID,
    Imputer,
    log_loss,
    sigmoid,
)
from scope_core.store import summary as sm
from scope_core.store.behaviour import BehaviourStore

MIN_OUTCOMES = 50  # fewer scored prompts than this: no imputer, the global mean is as good
MAX_COVERAGE = 0.9  # a model scored on more of the store's prompts than this needs none
PREDICTOR_COVERAGE = 0.8  # a predictor is scored on this share of the store's prompts and of the fitting ones


def fit_imputers(store: BehaviourStore) -> dict[str, Imputer]:
    """An imputer for every partly profiled model of ``store``, by model name."""
    registry, total = store.registry(), store.count_prompts()
    priors, models = registry.priors, sorted(registry.specs)
    fitted: dict[str, Imputer] = {}
    for model in models:
        n_scored = (priors.get(model) or sm.empty())[sm.N_SCORED]
        if n_scored < MIN_OUTCOMES or n_scored > MAX_COVERAGE * total:
            continue
        embeddings, stats = store.scored_prompts(model)
        y = np.asarray([s[model][sm.SCORE_SUM] / s[model][sm.N_SCORED] for s in stats])
        others = [m for m in models if m != model]
        scores = np.asarray([[_mean_score(s.get(m)) for m in others] for s in stats]).reshape(len(stats), len(others))
        # Only broadly profiled models predict: another anchor-only model would be known on every
        # fitting prompt but missing on nearly every neighbour the imputer is used on.
        broad = np.asarray([(priors.get(m) or sm.empty())[sm.N_SCORED] >= PREDICTOR_COVERAGE * total for m in others])
        keep = broad & (np.mean(~np.isnan(scores), axis=0) >= PREDICTOR_COVERAGE)
        if not keep.any():
            continue
        predictors = [m for m, k in zip(others, keep, strict=True) if k]
        fitted[model] = choose_imputer(predictors, scores[:, keep], embeddings, y)[0]
    return fitted


def _mean_score(summary: Sequence[float] | None) -> float:
    return summary[1] / summary[0] if summary and summary[0] > 0 else float("nan")


def fit_imputer(
    predictors: Sequence[str],
    scores: np.ndarray,
    embeddings: np.ndarray,
    y: np.ndarray,
    l2_scores: float = L2_SCORES,
    l2_embedding: float = L2_EMBEDDING,
) -> Imputer:
    """Fit on n prompts: ``scores`` (n x predictors, NaN where unknown), ``embeddings`` (n x d), ``y`` in [0, 1]."""
    fill = np.nan_to_num(np.nanmean(scores, axis=0), nan=0.5) if len(scores) else np.full(len(predictors), 0.5)
    x = np.hstack([np.where(np.isnan(scores), fill, scores), embeddings, np.ones((len(y), 1))])
    penalty = np.concatenate([np.full(len(predictors), l2_scores), np.full(embeddings.shape[1], l2_embedding), [0.0]])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        p = sigmoid(z)
        value = np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(penalty * w * w)
        return float(value), x.T @ (p - y) + penalty * w

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    n_pred = len(predictors)
    return Imputer(tuple(predictors), fill, w[:n_pred], w[n_pred:-1], float(w[-1]), (l2_scores, l2_embedding))


def choose_imputer(
    predictors: Sequence[str], scores: np.ndarray, embeddings: np.ndarray, y: np.ndarray, seed: int = 0
) -> tuple[Imputer, tuple[float, float]]:
    """``fit_imputer`` with the penalties of the grids that predict held-out prompts best (K-fold log loss),
    and those penalties."""
    fold = np.random.default_rng(seed).permutation(len(y)) % FOLDS

    def held_out(l2s: float, l2e: float) -> float:
        loss = 0.0
        for k in range(FOLDS):
            train, test = fold != k, fold == k
            imputer = fit_imputer(predictors, scores[train], embeddings[train], y[train], l2s, l2e)
            filled = np.where(np.isnan(scores[test]), imputer.fill, scores[test])
            z = filled @ imputer.weights + embeddings[test] @ imputer.embedding_weights + imputer.bias
            loss += log_loss(sigmoid(z), y[test]) * test.sum()
        return loss

    best = min(((a, b) for a in L2_SCORES_GRID for b in L2_EMBEDDING_GRID), key=lambda ab: held_out(*ab))
    return fit_imputer(predictors, scores, embeddings, y, *best), best
