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
