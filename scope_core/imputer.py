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
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

if TYPE_CHECKING:
    from .store import BehaviourStore

MIN_OUTCOMES = 50  # fewer scored prompts than this: no imputer, the global mean is as good
MAX_COVERAGE = 0.9  # a model scored on more of the store's prompts than this needs none
PREDICTOR_COVERAGE = 0.8  # a predictor is scored on this share of the store's prompts and of the fitting ones
# L2 penalties (inverse of sklearn's C). The embedding's 384 weights, fitted on a few hundred anchors,
# need far more shrinkage than the few score weights. Chosen for the smallest worst holdout AIQ drop
# over routerbench-3k seeds 0-2 and mmlu-pro-29 seed 0 (benchmarks/quality.md; tried C 0.05-2).
L2_SCORES = 1.0 / 1.0
L2_EMBEDDING = 1.0 / 0.1


@dataclass(frozen=True)
class Imputer:
    """P(model correct | other models' scores on a prompt, the prompt's embedding)."""

    predictors: tuple[str, ...]
    fill: np.ndarray  # each predictor's mean score, standing in where it has no score on a prompt
    weights: np.ndarray  # one per predictor
    embedding_weights: np.ndarray
    bias: float

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
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Imputer:
        d = json.loads(text)
        return cls(tuple(d["predictors"]), np.asarray(d["fill"]), np.asarray(d["w"]), np.asarray(d["we"]), d["b"])


def fit_imputer(predictors: Sequence[str], scores: np.ndarray, embeddings: np.ndarray, y: np.ndarray) -> Imputer:
    """Fit on n prompts: ``scores`` (n x predictors, NaN where unknown), ``embeddings`` (n x d), ``y`` in [0, 1]."""
    fill = np.nan_to_num(np.nanmean(scores, axis=0), nan=0.5) if len(scores) else np.full(len(predictors), 0.5)
    x = np.hstack([np.where(np.isnan(scores), fill, scores), embeddings, np.ones((len(y), 1))])
    penalty = np.concatenate([np.full(len(predictors), L2_SCORES), np.full(embeddings.shape[1], L2_EMBEDDING), [0.0]])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        p = expit(z)
        value = np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(penalty * w * w)
        return float(value), x.T @ (p - y) + penalty * w

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    n_pred = len(predictors)
    return Imputer(tuple(predictors), fill, w[:n_pred], w[n_pred:-1], float(w[-1]))


def fit_store_imputers(store: BehaviourStore) -> list[str]:
    """Fit and save an imputer for every partly profiled model of ``store``; returns their names."""
    from . import summary as sm

    registry, total = store.registry(), store.count_prompts()
    priors, models = registry.priors, sorted(registry.specs)
    fitted = []
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
        store.put_imputer(model, fit_imputer(predictors, scores[:, keep], embeddings, y))
        fitted.append(model)
    return fitted


def _mean_score(summary: Sequence[float] | None) -> float:
    return summary[1] / summary[0] if summary and summary[0] > 0 else float("nan")
