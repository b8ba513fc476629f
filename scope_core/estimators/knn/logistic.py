"""Penalised logistic regression: the maximum a posteriori fit behind the imputers, the groups' difficulty offsets
and the off-policy recalibration."""

from __future__ import annotations

import numpy as np

from scope_core.estimators.knn.imputer import sigmoid


def fit_logistic(
    design,
    successes: np.ndarray,
    *,
    trials: np.ndarray | None = None,
    penalty: float | np.ndarray = 0.0,
    offset: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Coefficients ``w`` minimising sum(trials * log(1 + e^z) - successes * z) + sum(penalty * w^2) / 2, with
    z = offset + design @ w: binomial outcomes (``trials`` default 1 per row) under a normal prior of variance
    1 / ``penalty`` on each coefficient (0: flat). ``design`` is a dense or scipy sparse (rows x coefficients)."""
    from scipy.optimize import minimize

    n = np.ones(design.shape[0]) if trials is None else trials
    prior = np.broadcast_to(np.asarray(penalty, dtype=np.float64), (design.shape[1],))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = offset + design @ w
        value = float(np.sum(n * np.logaddexp(0.0, z) - successes * z) + 0.5 * prior @ (w * w))
        return value, design.T @ (n * sigmoid(z) - successes) + prior * w

    return minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B").x
