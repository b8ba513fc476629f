"""fit_store: choose the knn estimator's settings and a calibration map on a store's own outcomes.

Leave-one-out: up to ``max_queries`` stored prompts are drawn at random; each is looked up in the
store, its own record is dropped from its neighbourhood and its outcomes from the global priors, and
every (temperature, prior strength) pair of a fixed grid predicts its models' scores from the rest.
The pair with the lowest held-out log loss wins; a Platt map fitted on its held-out predictions is
the calibration. Nothing here was tuned on any data set: the grid spans the
plausible range, and a store with fewer than ``min_queries`` scored prompts keeps the defaults.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize

from . import summary as sm
from .estimators.base import evidence_matrix, prior_matrix
from .estimators.knn import DEFAULT_PRIOR_STRENGTH, DEFAULT_TEMPERATURE, shrunk_means, shrunk_p
from .fit import StoreFit
from .store import BehaviourStore

TEMPERATURES = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
PRIOR_STRENGTHS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
_EPS = 1e-4


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _held_out(store: BehaviourStore, ids: Sequence[str], vectors: np.ndarray, models: list[str], k: int):
    """Per held-out prompt: its neighbours' evidence, their similarities, and its own summaries."""
    rows = []
    for pid, vector in zip(ids, vectors, strict=True):
        nb = store.nearest(vector, k + 1)
        if pid not in nb.ids:  # approximate search missed the prompt itself: skip it
            continue
        at = nb.ids.index(pid)
        own = np.asarray([nb.stats[at].get(m) or sm.empty() for m in models], dtype=np.float64)
        if not (own[:, sm.N_SCORED] > 0).any():
            continue
        ev = np.delete(evidence_matrix(nb, models), at, axis=0)[:k]
        rows.append((ev, np.delete(nb.similarities, at)[:k], own))
    return rows


def _predict(rows, prior: np.ndarray, temperature: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Held-out predictions and observed scores over every scored (prompt, model) pair."""
    ps, ys = [], []
    for ev, sims, own in rows:
        loo = prior - own  # the held-out prompt's outcomes leave the priors too
        mu = shrunk_means(loo, loo)
        p = shrunk_p(ev, sims, mu, temperature, tau)[0]
        has = own[:, sm.N_SCORED] > 0
        ps.append(p[has])
        ys.append(own[has, sm.SCORE_SUM] / own[has, sm.N_SCORED])
    return np.concatenate(ps), np.concatenate(ys)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def calibration_map(p: np.ndarray, y: np.ndarray, n_knots: int = 101) -> tuple[list[float], list[float]]:
    """Knots of a Platt map p -> sigmoid(a * logit(p) + b), (a, b) fitted by log loss on held-out pairs.

    Strictly increasing for a > 0, so it keeps every ranking of p (across models too) and only
    reshapes the scale; a < 1 tempers overconfident estimates. A staircase (isotonic) map was
    tried and lost AIQ: its flat steps tie models that the raw estimates tell apart.
    """
    z = _logit(p)

    def loss(ab: np.ndarray) -> float:
        return _log_loss(1 / (1 + np.exp(-(ab[0] * z + ab[1]))), y)

    a, b = minimize(loss, x0=np.asarray([1.0, 0.0]), method="Nelder-Mead").x
    a = max(a, 1e-3)  # never reverse or flatten the ranking
    xs = np.linspace(0.0, 1.0, n_knots)
    return xs.tolist(), (1 / (1 + np.exp(-(a * _logit(xs) + b)))).tolist()


def fit_store(
    store: BehaviourStore, *, k: int, max_queries: int = 2000, min_queries: int = 200, seed: int = 0
) -> StoreFit | None:
    """The store's fit (see the module docstring), or None when it holds too few scored prompts."""
    registry = store.registry()
    models = sorted(registry.specs)
    ids, vectors = store.sample_prompts(max_queries, seed)
    rows = _held_out(store, ids, vectors, models, k) if models else []
    if len(rows) < min_queries:
        return None
    prior = prior_matrix(registry.priors, models)
    losses = {(t, tau): _log_loss(*_predict(rows, prior, t, tau)) for t in TEMPERATURES for tau in PRIOR_STRENGTHS}
    temperature, tau = min(losses, key=losses.get)
    p, y = _predict(rows, prior, temperature, tau)
    xs, ys = calibration_map(p, y)
    default = _log_loss(*_predict(rows, prior, DEFAULT_TEMPERATURE, DEFAULT_PRIOR_STRENGTH))
    return StoreFit(
        temperature=temperature,
        prior_strength=tau,
        calibration_x=xs,
        calibration_y=ys,
        n_queries=len(rows),
        n_pairs=len(p),
        log_loss=losses[(temperature, tau)],
        log_loss_default=default,
    )
