"""What the knn family fits on a store: ``KNNSettings`` (estimator settings, group prior, calibration) and
the imputers of partly profiled models, together the ``KNNFit``.

Saved in the store's registry under the fit name ``knn`` (``BehaviourStore.put_fit``) so every process routes
with the same fit; produced by ``KNNEstimator.fit`` (``router.fit()``, ``scope fit``, after an ingest).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from scope_core.estimators.knn.features import FeatureFit
from scope_core.estimators.knn.groups import GroupPrior
from scope_core.estimators.knn.imputer import Imputer

DEFAULT_IMPUTED_WEIGHT = 1.0  # pseudo-outcomes per imputed score without a fit: one real outcome's worth


class KNNSettings(BaseModel):
    """The knn estimator's settings and group prior chosen by leave-one-out on the store, and a monotone
    map of P(correct)."""

    temperature: float = Field(gt=0, description="similarity weighting exp((s - s_max) / T)")
    prior_strength: float = Field(ge=0, description="pseudo-outcomes behind each model's prior mean")
    members: list[tuple[float, float]] = Field(
        default_factory=list, description="(temperature, prior strength) pairs whose estimates are averaged"
    )
    usage_prior_strength: float = Field(default=1.0, ge=0, description="pseudo-outcomes behind output lengths")
    shift: float = Field(default=0.0, ge=0, description="how far the other models' neighbour evidence moves a prior")
    shift_strength: float = Field(default=1.0, gt=0, description="pseudo-outcomes at 0 behind that evidence")
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


class KNNFit(BaseModel):
    """The knn family's fit: its settings (None on a store with too few scored prompts: the defaults apply)
    and an imputer per partly profiled model (``scope_core.estimators.knn.imputer``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    settings: KNNSettings | None = None
    imputers: dict[str, Imputer] = Field(default_factory=dict)

    @field_serializer("imputers")
    def _imputers_out(self, imputers: dict[str, Imputer]) -> dict[str, dict]:
        return {name: imputer.to_dict() for name, imputer in imputers.items()}

    @field_validator("imputers", mode="before")
    @classmethod
    def _imputers_in(cls, value: dict) -> dict[str, Imputer]:
        return {name: i if isinstance(i, Imputer) else Imputer.from_dict(i) for name, i in value.items()}

    def describe(self) -> str:
        """One line for ``scope fit`` and ``scope stats``."""
        imputed = f"; imputers for {', '.join(sorted(self.imputers))}" if self.imputers else ""
        f = self.settings
        if f is None:
            return f"fit: knn defaults (too few scored prompts to fit settings){imputed}"
        return (
            f"fit: {f'{len(f.groups.names)} {f.groups.source} groups' if f.groups else 'global prior'}, "
            f"{len(f.members)} settings averaged (best: temperature {f.temperature:g}, prior strength "
            f"{f.prior_strength:g}), calibrated; held-out log loss {f.log_loss:.4f} (defaults "
            f"{f.log_loss_default:.4f}) on {f.n_pairs} outcomes of {f.n_queries} prompts; imputed scores count "
            f"{f.imputed_weight:g}"
            + (
                f"; knn-features: log loss {f.features.log_loss:.4f} (without features {f.features.log_loss_without:.4f})"
                if f.features
                else ""
            )
            + imputed
        )
