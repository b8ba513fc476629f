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

from dataclasses import dataclass

import numpy as np

# L2 penalties (inverse of sklearn's C), chosen per model by K-fold cross-validation (``choose_imputer``)
# from these grids: the embedding's 384 weights, fitted on a few hundred anchors, need more shrinkage
# than the few score weights, so its grid sits higher. The centres are ``fit_imputer``'s defaults.
L2_SCORES_GRID = (0.25, 1.0, 4.0)
L2_EMBEDDING_GRID = (2.5, 10.0, 40.0)
L2_SCORES, L2_EMBEDDING = L2_SCORES_GRID[1], L2_EMBEDDING_GRID[1]
FOLDS = 5


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), without overflow."""
    return np.exp(-np.logaddexp(0.0, -z))


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
        return sigmoid(filled @ self.weights + float(embedding @ self.embedding_weights) + self.bias)

    def to_dict(self) -> dict[str, object]:
        return {
            "predictors": list(self.predictors),
            "fill": self.fill.tolist(),
            "w": self.weights.tolist(),
            "we": self.embedding_weights.tolist(),
            "b": self.bias,
            "l2": list(self.penalties),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Imputer:
        l2 = tuple(d.get("l2", (L2_SCORES, L2_EMBEDDING)))
        return cls(tuple(d["predictors"]), np.asarray(d["fill"]), np.asarray(d["w"]), np.asarray(d["we"]), d["b"], l2)


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    """Mean log loss of predictions ``p`` against scores ``y`` in [0, 1], p clipped to [1e-4, 1 - 1e-4]."""
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
