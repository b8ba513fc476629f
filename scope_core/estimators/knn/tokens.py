"""Token evidence made robust to outliers: one absurd record must not make a model's predicted length (hence its
cost and its fit in the context window) absurd.

Summaries hold sums, so a single record of a million output tokens would dominate its prompt's mean and its model's
global mean. Before the output length is estimated, each neighbour's mean output length per model is clipped at
``SPREAD`` times the weighted median of the neighbours' means (where at least ``MIN_NEIGHBOURS`` neighbours carry
usage of that model), and at the model's context window; so is the model's prior mean length. Mean input lengths
are clipped at the context window (prompts legitimately differ in length by far more than outputs).
"""

from __future__ import annotations

import numpy as np

from scope_core.store import summary as sm

SPREAD = 10.0
MIN_NEIGHBOURS = 3


def weighted_medians(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per column of ``values`` (rows, columns), the weighted median (rows of weight 0 left out)."""
    order = np.argsort(values, axis=0)
    cumulative = np.cumsum(np.take_along_axis(weights, order, axis=0), axis=0)
    at = (cumulative < 0.5 * cumulative[-1]).sum(axis=0)  # the first row whose cumulative weight reaches half
    return np.take_along_axis(np.take_along_axis(values, order, axis=0), at[None, :], axis=0)[0]


def robust_usage(
    ev: np.ndarray, weights: np.ndarray, out_prior: np.ndarray, windows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``ev`` (k, models, width) and ``out_prior`` (models,) with outlying mean token counts clipped (see the module
    docstring); ``weights`` are the neighbours' similarity weights, ``windows`` the models' context windows."""
    n = ev[:, :, sm.N_USAGE]
    used = n > 0
    if not used.any() and (out_prior <= windows).all():
        return ev, out_prior
    safe_n = np.where(used, n, 1.0)
    means = ev[:, :, sm.OUT_SUM] / safe_n
    out_cap = windows.astype(np.float64).copy()
    enough = used.sum(axis=0) >= MIN_NEIGHBOURS
    if enough.any():
        w = np.where(used, np.maximum(weights[:, None] * n, 1e-12), 0.0)
        typical = weighted_medians(np.where(used, means, np.inf), w)
        out_cap = np.where(enough, np.minimum(out_cap, SPREAD * np.maximum(typical, 1.0)), out_cap)
    ev = ev.copy()
    ev[:, :, sm.OUT_SUM] = np.minimum(means, out_cap[None, :]) * n
    ev[:, :, sm.IN_SUM] = np.minimum(ev[:, :, sm.IN_SUM] / safe_n, windows[None, :]) * n
    return ev, np.minimum(out_prior, out_cap)
