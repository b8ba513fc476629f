"""fit_features: fit ``FeatureFit`` on held-out (prompt, model) pairs of a store's leave-one-out.

P(correct): a logistic map on [logit p_knn, standardised prompt features], shared slopes plus per-model
deviations under a ridge penalty. Output length: least squares in log space of observed over the knn's
predicted output tokens, with per-model intercepts (fitted so the slopes are unbiased, never applied: the
knn's mean length stays the level) and the same slope structure. Each penalty is chosen from a grid by
K-fold cross-validation over prompts; "no features" is one of the choices, so features enter only where
they predict held-out outcomes better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import minimize

from scope_core.estimators.knn.features import FeatureFit, logit

STRENGTHS = (1e-4, 1e-3, 1e-2, 1e-1)  # ridge on per-model deviations (per mean loss)
NO_FEATURES = float("inf")  # the grid's last choice: slopes held at 0
FOLDS = 5


@dataclass(frozen=True)
class Pairs:
    """Held-out pairs: row index of the prompt, model index, and the values fitted on."""

    row: np.ndarray
    model: np.ndarray
    target: np.ndarray  # P(correct) pairs: observed score; output pairs: log observed / predicted tokens
    base: np.ndarray  # P(correct) pairs: logit p_knn; output pairs: unused (zeros)


def _design(x: np.ndarray, pairs: Pairs, n_models: int) -> sparse.csr_matrix:
    """Per pair: [shared features, per-model copies of the features] (pairs, F + M * F), sparse."""
    n, f = len(pairs.row), x.shape[1]
    xr = x[pairs.row]
    cols = np.c_[np.tile(np.arange(f), (n, 1)), f + pairs.model[:, None] * f + np.arange(f)[None]]
    rows = np.repeat(np.arange(n), 2 * f)
    return sparse.csr_matrix((np.c_[xr, xr].ravel(), (rows, cols.ravel())), shape=(n, f + n_models * f))


def _fit_p(design: sparse.csr_matrix, pairs: Pairs, strength: float, n_shared: int) -> np.ndarray:
    """[a, b, slopes...] minimising mean log loss + strength * |per-model slopes|^2."""
    use = np.zeros(design.shape[1]) if strength == NO_FEATURES else np.ones(design.shape[1])
    penalty = np.r_[
        np.full(n_shared, 1e-6), np.full(design.shape[1] - n_shared, 0 if strength == NO_FEATURES else strength)
    ]
    y, zk, n = pairs.target, pairs.base, len(pairs.target)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        slopes = theta[2:] * use
        z = theta[0] * zk + theta[1] + design @ slopes
        q = 1.0 / (1.0 + np.exp(-z))
        ll = np.logaddexp(0.0, z) - y * z
        r = (q - y) / n
        grad = np.r_[r @ zk, r.sum(), (design.T @ r) * use + 2 * penalty * slopes]
        return float(ll.mean() + penalty @ slopes**2), grad

    theta0 = np.r_[1.0, 0.0, np.zeros(design.shape[1])]
    return minimize(loss, theta0, jac=True, method="L-BFGS-B").x * np.r_[1.0, 1.0, use]


def _p_loss(theta: np.ndarray, design: sparse.csr_matrix, pairs: Pairs) -> float:
    z = theta[0] * pairs.base + theta[1] + design @ theta[2:]
    return float(np.mean(np.logaddexp(0.0, z) - pairs.target * z))


def _fit_out(design: sparse.csr_matrix, pairs: Pairs, strength: float, n_models: int, n_shared: int) -> np.ndarray:
    """[intercept per model, slopes...] by ridge least squares on log output ratios."""
    if strength == NO_FEATURES:
        design = sparse.csr_matrix(design.shape)
    intercepts = sparse.csr_matrix((np.ones(len(pairs.row)), (np.arange(len(pairs.row)), pairs.model)),
                                   shape=(len(pairs.row), n_models))  # fmt: skip
    a = sparse.hstack([intercepts, design]).tocsr()
    penalty = np.r_[
        np.full(n_models + n_shared, 1e-6),
        np.full(design.shape[1] - n_shared, strength if strength != NO_FEATURES else 0),
    ]
    n = max(len(pairs.row), 1)
    return np.linalg.solve((a.T @ a).toarray() / n + np.diag(penalty + 1e-9), a.T @ pairs.target / n)


def _out_error(coef: np.ndarray, design: sparse.csr_matrix, pairs: Pairs, n_models: int) -> float:
    """Mean absolute log error of the knn length times the fitted factor (intercepts not applied)."""
    return float(np.mean(np.abs(pairs.target - design @ coef[n_models:])))


def _folds(n_rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n_rows) % FOLDS


def _choose(n_rows: int, pairs: Pairs, fit, score, seed: int) -> tuple[float, dict[float, float]]:
    """The grid's strength with the lowest K-fold error over prompts, and each strength's error."""
    if not len(pairs.row):
        return NO_FEATURES, {NO_FEATURES: 0.0}
    fold_of_row = _folds(n_rows, seed)
    fold = fold_of_row[pairs.row]
    errors = {}
    for strength in (*STRENGTHS, NO_FEATURES):
        total = 0.0
        for k in range(FOLDS):
            train, test = fold != k, fold == k
            if not test.any() or not train.any():
                continue
            total += score(fit(_subset(pairs, train), strength), _subset(pairs, test)) * test.sum()
        errors[strength] = total / len(pairs.row)
    return min(errors, key=errors.get), errors


def _subset(pairs: Pairs, keep: np.ndarray) -> Pairs:
    return Pairs(pairs.row[keep], pairs.model[keep], pairs.target[keep], pairs.base[keep])


def fit_features(x_rows: np.ndarray, p_pairs: Pairs, out_pairs: Pairs, models: list[str], seed: int = 0) -> FeatureFit:
    """The feature map fitted on held-out prompts' raw features ``x_rows`` (rows, F) and their pairs."""
    center, scale = x_rows.mean(axis=0), np.maximum(x_rows.std(axis=0), 1e-6)
    x = (x_rows - center) / scale
    f, m = x.shape[1], len(models)
    p_design = _design(x, p_pairs, m)
    p_strength, p_errors = _choose(
        len(x),
        p_pairs,
        lambda s, st: _fit_p(_design(x, s, m), s, st, f),
        lambda th, s: _p_loss(th, _design(x, s, m), s),
        seed,
    )
    theta = _fit_p(p_design, p_pairs, p_strength, f)
    out_design = _design(x, out_pairs, m)
    out_strength, out_errors = _choose(
        len(x),
        out_pairs,
        lambda s, st: _fit_out(_design(x, s, m), s, st, m, f),
        lambda c, s: _out_error(c, _design(x, s, m), s, m),
        seed,
    )
    coef = _fit_out(out_design, out_pairs, out_strength, m, f)[m:]
    slopes = theta[2:]
    base_out = float(np.mean(np.abs(out_pairs.target))) if len(out_pairs.row) else 0.0
    return FeatureFit(
        center=center.tolist(),
        scale=scale.tolist(),
        a=float(theta[0]),
        b=float(theta[1]),
        p_shared=slopes[:f].tolist(),
        p_model={name: slopes[f + i * f : f + (i + 1) * f].tolist() for i, name in enumerate(models)},
        p_strength=None if p_strength == NO_FEATURES else p_strength,
        out_shared=coef[:f].tolist(),
        out_model={name: coef[f + i * f : f + (i + 1) * f].tolist() for i, name in enumerate(models)},
        out_strength=None if out_strength == NO_FEATURES else out_strength,
        log_loss=p_errors[p_strength],
        log_loss_without=p_errors[NO_FEATURES],
        out_error=out_errors[out_strength],
        out_error_without=base_out,
    )


def pairs_of(has: np.ndarray, target: np.ndarray, base: np.ndarray | None = None) -> Pairs:
    """Pairs from a (rows, models) mask and arrays of the same shape."""
    rows, cols = np.nonzero(has)
    return Pairs(rows, cols, target[has], np.zeros(len(rows)) if base is None else logit(base[has]))
