"""Fitting imputers: which models of a store get one, on which prompts and predictors, the regression itself
(penalties chosen by K-fold cross-validation), and the weight their imputed scores count for in the knn, chosen on
held-out pairs imputed by imputers refitted out of fold. The fitted ``Imputer`` lives in ``knn.imputer``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scope_core.estimators.knn.evidence import imputed_scores
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
from scope_core.estimators.knn.logistic import fit_logistic
from scope_core.estimators.knn.loo import held_out_p, weights
from scope_core.estimators.knn.settings import DEFAULT_IMPUTED_WEIGHT
from scope_core.store import summary as sm
from scope_core.store.behaviour import BehaviourStore

IMPUTED_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
IMPUTER_FOLDS = 5
MIN_IMPUTED_PAIRS = 30  # held-out scored pairs of models with an imputer needed to choose their weight
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

    w = fit_logistic(x, y, penalty=penalty)
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


def out_of_fold(
    held: np.ndarray, vectors: np.ndarray, own: np.ndarray, models: list[str], imputers: dict[str, Imputer], seed: int
) -> dict[str, dict[int, Imputer]]:
    """Per model with an imputer: for each held-out row where the model has an outcome, its imputer refitted
    (same predictors and penalties) without that prompt's fold, so the weight is chosen on outcomes no
    imputer saw. Rows where the model has no outcome keep the stored imputer (they carry no pairs of it)."""
    col = {m: j for j, m in enumerate(models)}
    position = {int(g): r for r, g in enumerate(held)}
    out: dict[str, dict[int, Imputer]] = {}
    for name, imputer in imputers.items():
        if name not in col or any(p not in col for p in imputer.predictors):
            continue
        i, cols = col[name], [col[p] for p in imputer.predictors]
        rows = np.flatnonzero(own[:, i, sm.N_SCORED] > 0)
        scores = np.where(own[rows][:, cols, sm.N_SCORED] > 0, own[rows][:, cols, sm.SCORE_SUM], np.nan)
        scores = scores / np.maximum(own[rows][:, cols, sm.N_SCORED], 1e-12)
        y = own[rows, i, sm.SCORE_SUM] / own[rows, i, sm.N_SCORED]
        fold = np.random.default_rng(seed).permutation(len(rows)) % IMPUTER_FOLDS
        out[name] = {}
        for f in range(IMPUTER_FOLDS):
            train = fold != f
            refit = fit_imputer(imputer.predictors, scores[train], vectors[rows][train], y[train], *imputer.penalties)
            out[name] |= {position[int(g)]: refit for g in rows[~train] if int(g) in position}
    return out


def imputed_evidence(rows, vectors: np.ndarray, models: list[str], imputers: dict[str, Imputer], refits, temperatures):
    """{temperature: (prompts, models, 2)}: per held-out prompt, the similarity-weighted [count, score sum]
    of the imputed pseudo-outcomes (weight 1) on neighbours a model with an imputer never answered
    (``add_imputed``), imputed by the out-of-fold imputers ``refits`` (``out_of_fold``)."""
    col = {m: j for j, m in enumerate(models)}
    out = {t: np.zeros((len(rows), len(models), 2)) for t in temperatures}
    for r, ((ev, sims, _), vector) in enumerate(zip(rows, vectors, strict=True)):
        found = []
        for name, by_row in refits.items():
            imp, i = by_row.get(r, imputers[name]), col[name]
            found.append(
                (i, *imputed_scores(ev[:, i, sm.N_SCORED], ev[:, [col[p] for p in imp.predictors]], imp, vector))
            )
        for t in temperatures:
            w = weights(ev, sims, t)
            for i, missing, p in found:
                out[t][r, i] = w[missing].sum(), w[missing] @ p
    return out


def imputed_weight(
    weighted, imputed, mu: np.ndarray, own: np.ndarray, members, cols: list[int], shift: tuple[float, float]
) -> float:
    """The imputed scores' weight with the lowest held-out log loss on the imputer models' pairs (``shift``: the
    prior's shift and its strength, ``held_out_p``)."""
    has = np.zeros(own.shape[:2], dtype=bool)
    has[:, cols] = own[:, cols, sm.N_SCORED] > 0
    if has.sum() < MIN_IMPUTED_PAIRS:
        return DEFAULT_IMPUTED_WEIGHT
    y = own[:, :, sm.SCORE_SUM][has] / own[:, :, sm.N_SCORED][has]

    def loss(omega: float) -> float:
        p = np.mean(
            [held_out_p(with_imputed(weighted[t], imputed[t], omega), mu, x, *shift) for t, x in members], axis=0
        )
        return log_loss(p[has], y)

    return min(IMPUTED_WEIGHTS, key=loss)


def with_imputed(weighted: np.ndarray, imputed: np.ndarray, omega: float) -> np.ndarray:
    """Weighted evidence with ``omega`` pseudo-outcomes per imputed score added."""
    out = weighted.copy()
    out[:, :, sm.N_SCORED] += omega * imputed[:, :, 0]
    out[:, :, sm.SCORE_SUM] += omega * imputed[:, :, 1]
    return out
