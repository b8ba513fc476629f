"""Imputers: a partly profiled model's P(correct) on prompts it never saw, from how the other models did there.

A model profiled on a few hundred anchor prompts has no evidence on most stored prompts, so its
estimates fall back on its global mean. The other, fully profiled models did answer those prompts,
and models agree in structured ways (a question most models miss is hard for the new one too).
An imputer is a small L2-regularised logistic regression, fitted on the prompts where the model has
outcomes, of its score on (the broadly profiled models' scores on the prompt, the prompt's embedding). The
KNN estimator uses its prediction as one pseudo-outcome on each neighbour that lacks real evidence
for the model. Fitting 250 anchors takes milliseconds; nothing is retrained when outcomes arrive.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

# L2 penalties (inverse of sklearn's C), chosen per model by K-fold cross-validation (``choose_imputer``)
# from these grids: the embedding's 384 weights, fitted on a few hundred anchors, need more shrinkage
# than the few score weights, so its grid sits higher. The centres are ``fit_imputer``'s defaults.
L2_SCORES_GRID = (0.25, 1.0, 4.0)
L2_EMBEDDING_GRID = (2.5, 10.0, 40.0)
L2_SCORES, L2_EMBEDDING = L2_SCORES_GRID[1], L2_EMBEDDING_GRID[1]
FOLDS = 5


@dataclass(frozen=True)
class Imputer:
    """P(model correct | other models' scores on a prompt, the prompt's embedding)."""

    predictors: tuple[str, ...]
    fill: np.ndarray  # each predictor's mean score, standing in where it has no score on a prompt
    weights: np.ndarray  # one per predictor
    embedding_weights: np.ndarray
    bias: float
    penalties: tuple[float, float] = (L2_SCORES, L2_EMBEDDING)  # the L2 penalties it was fitted with

    def predict(self, scores: np.ndarray, embedding: np.ndarray) -> np.ndarray:
        """P(correct) per row of ``scores`` (rows x predictors, NaN where unknown) for prompts near ``embedding``."""
        filled = np.where(np.isnan(scores), self.fill, scores)
        return expit(filled @ self.weights + float(embedding @ self.embedding_weights) + self.bias)

    def to_json(self) -> str:
        return json.dumps(
            {
                "predictors": list(self.predictors),
                "fill": self.fill.tolist(),
                "w": self.weights.tolist(),
                "we": self.embedding_weights.tolist(),
                "b": self.bias,
                "l2": list(self.penalties),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Imputer:
        d = json.loads(text)
        l2 = tuple(d.get("l2", (L2_SCORES, L2_EMBEDDING)))
        return cls(tuple(d["predictors"]), np.asarray(d["fill"]), np.asarray(d["w"]), np.asarray(d["we"]), d["b"], l2)


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
        p = expit(z)
        value = np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(penalty * w * w)
        return float(value), x.T @ (p - y) + penalty * w

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    n_pred = len(predictors)
    return Imputer(tuple(predictors), fill, w[:n_pred], w[n_pred:-1], float(w[-1]), (l2_scores, l2_embedding))


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    """Mean log loss of predictions ``p`` against scores ``y`` in [0, 1], p clipped to [1e-4, 1 - 1e-4]."""
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


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
            loss += log_loss(expit(z), y[test]) * test.sum()
        return loss

    best = min(((a, b) for a in L2_SCORES_GRID for b in L2_EMBEDDING_GRID), key=lambda ab: held_out(*ab))
    return fit_imputer(predictors, scores, embeddings, y, *best), best
