"""Leave-one-out pieces of the knn fit: each held-out prompt's neighbourhood without itself, its neighbours'
evidence weighted at each temperature, and the knn's held-out predictions from it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scope_core.estimators.base import evidence_matrix
from scope_core.estimators.knn.estimator import shifted_prior, similarity_weights
from scope_core.store import summary as sm
from scope_core.store.records import NeighbourIndex


def summaries(metas: Sequence[dict[str, object]], models: list[str]) -> np.ndarray:
    """(prompts, models, width) summaries packed in prompt metadata."""
    out = np.zeros((len(metas), len(models), sm.WIDTH))
    for i, meta in enumerate(metas):
        stats = sm.loads(meta.get("stats"))  # type: ignore[arg-type]
        for j, model in enumerate(models):
            if model in stats:
                out[i, j] = stats[model]
    return out


def held_out(store: NeighbourIndex, ids: Sequence[str], vectors: np.ndarray, models: list[str], k: int):
    """Per held-out prompt: its neighbours' evidence, similarities and prompt tokens (itself dropped); None
    where the approximate search missed the prompt itself."""
    rows = []
    for pid, vector in zip(ids, vectors, strict=True):
        nb = store.nearest(vector, k + 1)
        if pid not in nb.ids:
            rows.append(None)
            continue
        at = nb.ids.index(pid)
        ev = np.delete(evidence_matrix(nb, models), at, axis=0)[:k]
        rows.append((ev, np.delete(nb.similarities, at)[:k], np.delete(nb.tokens, at)[:k]))
    return rows


def weights(ev: np.ndarray, sims: np.ndarray, temperature: float) -> np.ndarray:
    return similarity_weights(sims, temperature, ev[:, :, sm.N_SCORED].sum(axis=1) > 0)


def weighted_evidence(rows, temperature: float) -> np.ndarray:
    """(prompts, models, width): each held-out prompt's neighbour evidence weighted by similarity (as in
    ``shrunk_p``), computed once per temperature so every prior strength costs one array operation."""
    out = [weights(ev, sims, temperature) @ ev.reshape(len(ev), -1) for ev, sims, _ in rows]
    return np.stack(out).reshape(len(rows), -1, sm.WIDTH)


def held_out_p(
    weighted: np.ndarray, mu: np.ndarray, tau: float, shift: float = 0.0, shift_strength: float = 1.0
) -> np.ndarray:
    """Held-out predictions (``shrunk_p``'s formula), (prompts, models)."""
    n_w, s_w = weighted[:, :, sm.N_SCORED], weighted[:, :, sm.SCORE_SUM]
    mu = shifted_prior(s_w, n_w, mu, shift, shift_strength)
    denom = n_w + tau
    return np.clip(np.where(denom > 0, (s_w + tau * mu) / np.where(denom > 0, denom, 1.0), mu), 0.0, 1.0)


def pairs(p: np.ndarray, own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Held-out predictions ``p`` (prompts, models) and observed scores over every scored pair."""
    has = own[:, :, sm.N_SCORED] > 0
    return p[has], own[:, :, sm.SCORE_SUM][has] / own[:, :, sm.N_SCORED][has]


def held_out_tokens(weighted: np.ndarray, prior_out: np.ndarray, tau: float) -> np.ndarray:
    """Held-out predicted output tokens (the knn's formula), (prompts, models)."""
    return (weighted[:, :, sm.OUT_SUM] + tau * prior_out) / (weighted[:, :, sm.N_USAGE] + tau)
