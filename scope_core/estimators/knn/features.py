"""Prompt features beside the neighbour evidence, and the fitted map that adds them to the knn estimate.

Two features of the prompt itself, both known before any model runs:

- ``relative length``: log prompt tokens minus the similarity-weighted mean log tokens of its
  neighbours (is this prompt long *for its kind*: within a task, longer prompts are answered
  correctly less often and get longer answers);
- ``length``: log prompt tokens, centred on the store's mean.

``FeatureFit`` holds a logistic map of P(correct), ``logit p = a * logit(p_knn) + b + x @ (g + d_m)``, and
a log-linear correction of output length, ``out = out_knn * exp(x @ (h + e_m))``: shared slopes plus a
ridge-shrunk deviation per model (a model unseen at fit time gets the shared slopes).
``scope_core.fit_features`` fits it on the store's held-out outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

FEATURES = ("relative length", "length")
_EPS = 1e-4


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def prompt_features(input_tokens: float, neighbour_tokens: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[relative length, log length] of one prompt (uncentred, unscaled); relative length is 0 without neighbours."""
    length = np.log1p(max(float(input_tokens), 0.0))
    total = float(weights.sum()) if weights.size else 0.0
    if total <= 0:
        return np.asarray([0.0, length])
    return np.asarray([length - float(weights @ np.log1p(np.maximum(neighbour_tokens, 0.0))) / total, length])


class FeatureFit(BaseModel):
    """The fitted feature map of P(correct) and output length (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    center: list[float] = Field(description="mean of each feature over the held-out prompts")
    scale: list[float] = Field(description="standard deviation of each feature (features are standardised)")
    a: float = Field(description="weight on logit(p_knn)")
    b: float = Field(description="intercept of the P(correct) map")
    p_shared: list[float] = Field(description="shared feature slopes of logit P(correct)")
    p_model: dict[str, list[float]] = Field(description="per-model deviations from the shared slopes")
    p_strength: float | None = Field(
        ge=0,
        description="ridge penalty on the per-model deviations chosen by "
        "cross-validation; None: the features did not help (slopes 0)",
    )
    out_shared: list[float] = Field(description="shared feature slopes of log output tokens")
    out_model: dict[str, list[float]] = Field(description="per-model deviations of the output slopes")
    out_strength: float | None = Field(ge=0, description="the same for output lengths")
    log_loss: float = Field(description="cross-validated log loss of the map")
    log_loss_without: float = Field(description="the same of the map without features (Platt on logit p_knn)")
    out_error: float = Field(description="cross-validated mean absolute log error of output tokens")
    out_error_without: float = Field(description="the same of the knn's output tokens alone")

    def standardise(self, x: np.ndarray) -> np.ndarray:
        return (x - np.asarray(self.center)) / np.asarray(self.scale)

    @cached_property
    def _p_slopes(self) -> dict[str, np.ndarray]:
        return {m: np.asarray(self.p_shared) + d for m, d in self.p_model.items()}

    @cached_property
    def _out_slopes(self) -> dict[str, np.ndarray]:
        return {m: np.asarray(self.out_shared) + d for m, d in self.out_model.items()}

    def p_correct(self, p_knn: np.ndarray, x: np.ndarray, models: Sequence[str]) -> np.ndarray:
        """P(correct) of ``models`` from their knn estimates and the prompt's raw features ``x``."""
        shared = np.asarray(self.p_shared)
        slopes = np.stack([self._p_slopes.get(m, shared) for m in models])
        return 1.0 / (1.0 + np.exp(-(self.a * logit(p_knn) + self.b + slopes @ self.standardise(x))))

    def output_factor(self, x: np.ndarray, models: Sequence[str]) -> np.ndarray:
        """Multiplier of each model's knn output length for a prompt with raw features ``x``."""
        shared = np.asarray(self.out_shared)
        return np.exp(np.stack([self._out_slopes.get(m, shared) for m in models]) @ self.standardise(x))
