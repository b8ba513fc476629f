"""StoreFit: estimator settings and a calibration map fitted on a store's own outcomes.

Saved in the store's registry (see ``BehaviourStore.put_fit``) so every process routes with the same
fit; produced by ``scope_core.fit_store.fit_store`` (``router.fit()``, ``scope fit``, after ingest).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from .features import FeatureFit
from .groups import GroupPrior

DEFAULT_IMPUTED_WEIGHT = 1.0  # pseudo-outcomes per imputed score without a fit: one real outcome's worth


class StoreFit(BaseModel):
    """The knn estimator's settings and group prior chosen by leave-one-out on the store, and a monotone
    map of P(correct)."""

    temperature: float = Field(gt=0, description="similarity weighting exp((s - s_max) / T)")
    prior_strength: float = Field(ge=0, description="pseudo-outcomes behind each model's prior mean")
    members: list[tuple[float, float]] = Field(
        default_factory=list, description="(temperature, prior strength) pairs whose estimates are averaged"
    )
    usage_prior_strength: float = Field(default=1.0, ge=0, description="pseudo-outcomes behind output lengths")
    imputed_weight: float = Field(
        default=DEFAULT_IMPUTED_WEIGHT, ge=0, description="pseudo-outcomes an imputed score counts for on a neighbour"
    )
    groups: GroupPrior | None = Field(default=None, description="the prior mean's groups; None: global means")
    features: FeatureFit | None = Field(default=None, description="prompt-feature map (estimator knn-features)")
    calibration_x: list[float] = Field(default_factory=list, description="raw P(correct) knots, increasing")
    calibration_y: list[float] = Field(default_factory=list, description="observed accuracy at each knot")
    n_queries: int = Field(ge=0, description="stored prompts held out one at a time")
    n_pairs: int = Field(ge=0, description="(held-out prompt, model) pairs with a scored outcome")
    log_loss: float = Field(description="held-out log loss of the averaged estimate, before calibration")
    log_loss_default: float = Field(description="held-out log loss of the default settings")

    def calibrate(self, p: np.ndarray) -> np.ndarray:
        """P(correct) through the calibration map (piecewise linear between knots; identity without one)."""
        if len(self.calibration_x) < 2:
            return p
        return np.interp(p, self.calibration_x, self.calibration_y)
