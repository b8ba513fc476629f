"""Anchor prompts: a small, diverse set a new model is run on so the router can place it.

Method (k-means medoids): cluster the prompt embeddings into ``n`` groups with k-means
(k-means++ seeding, a few Lloyd rounds), then take, for each group, the real prompt closest to its
centre. Medoids spread over the embedding space in proportion to where prompts are, so the
anchors cover every kind of prompt the store knows, with more anchors on the common kinds
(farthest-point sampling would give a rare but spread-out kind as many as a common one), and
each anchor is a typical member of its group rather than an edge case.
"""

from __future__ import annotations

import numpy as np

from scope_core.errors import InvalidInputError


def _kmeans_pp(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each new centre drawn with probability proportional to squared distance."""
    centres = [int(rng.integers(len(x)))]
    d2 = np.sum((x - x[centres[0]]) ** 2, axis=1)
    for _ in range(1, n):
        total = d2.sum()
        nxt = int(rng.choice(len(x), p=d2 / total)) if total > 0 else int(rng.integers(len(x)))
        centres.append(nxt)
        d2 = np.minimum(d2, np.sum((x - x[nxt]) ** 2, axis=1))
    return x[centres].copy()


def _sq_distances(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return np.sum(x**2, axis=1)[:, None] - 2.0 * x @ centres.T + np.sum(centres**2, axis=1)[None, :]


def select_anchors(embeddings: np.ndarray, n: int, seed: int = 0, rounds: int = 10) -> list[int]:
    """Indices of ``n`` diverse, representative rows of ``embeddings`` (all rows when n >= their count)."""
    x = np.asarray(embeddings, dtype=np.float64)
    if n <= 0:
        raise InvalidInputError(f"the number of anchors must be > 0, got {n}")
    if n >= len(x):
        return list(range(len(x)))
    rng = np.random.default_rng(seed)
    centres = _kmeans_pp(x, n, rng)
    for _ in range(rounds):
        label = np.argmin(_sq_distances(x, centres), axis=1)
        for j in range(n):
            members = x[label == j]
            if len(members):
                centres[j] = members.mean(axis=0)
    # medoids: the closest distinct prompt to each centre
    d = _sq_distances(x, centres)
    chosen: list[int] = []
    taken = np.zeros(len(x), dtype=bool)
    for j in np.argsort(d.min(axis=0)):
        order = np.argsort(d[:, j])
        pick = int(next(i for i in order if not taken[i]))
        taken[pick] = True
        chosen.append(pick)
    return sorted(chosen)
