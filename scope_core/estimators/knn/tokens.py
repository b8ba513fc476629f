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


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def robust_usage(
    ev: np.ndarray, weights: np.ndarray, out_prior: np.ndarray, windows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``ev`` (k, models, width) and ``out_prior`` (models,) with outlying mean token counts clipped (see the module
    docstring); ``weights`` are the neighbours' similarity weights, ``windows`` the models' context windows."""
    n = ev[:, :, sm.N_USAGE]
    used = n > 0
    if not used.any() and (out_prior <= windows).all():
        return ev, out_prior
    out_cap = windows.astype(np.float64).copy()
    for i in range(ev.shape[1]):
        rows = used[:, i]
        if rows.sum() >= MIN_NEIGHBOURS:
            means = ev[rows, i, sm.OUT_SUM] / n[rows, i]
            typical = weighted_median(means, np.maximum(weights[rows] * n[rows, i], 1e-12))
            out_cap[i] = min(out_cap[i], SPREAD * max(typical, 1.0))
    ev = ev.copy()
    safe_n = np.where(used, n, 1.0)
    ev[:, :, sm.OUT_SUM] = np.minimum(ev[:, :, sm.OUT_SUM] / safe_n, out_cap[None, :]) * n
    ev[:, :, sm.IN_SUM] = np.minimum(ev[:, :, sm.IN_SUM] / safe_n, windows[None, :]) * n
    return ev, np.minimum(out_prior, out_cap)
