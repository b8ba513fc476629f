"""GroupPrior: each model's mean score on groups of stored prompts, the middle level of the knn's shrinkage.

A query's neighbours rarely hold enough outcomes of every model to judge it alone, and a model's
global mean ignores what kind of prompt this is. The groups are the stored prompts' task labels
where most prompts carry one (ingested data sets do), otherwise k-means clusters of the stored
embeddings with ``n_clusters(n)`` groups. A query belongs to each group softly, by a softmax over its
cosine similarity to the groups' centroids; its prior mean for a model is the membership-weighted
mean of that model's group means, each group mean shrunk toward the model's global mean by
``strength`` pseudo-outcomes. ``scope_core.fit_store`` builds it and chooses the temperature and
strength by leave-one-out.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

MIN_LABELLED = 0.5  # share of stored prompts that must carry a task label for tasks to be the groups


def n_clusters(n_prompts: int) -> int:
    """clip(round(sqrt(n / 10)), 2, 32): grows slowly with the store, so each group mean rests on
    many outcomes (the task-router baseline clusters the same way)."""
    return int(np.clip(round(np.sqrt(n_prompts / 10)), 2, 32))


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def group_labels(
    vectors: np.ndarray, tasks: Sequence[str | None], seed: int = 0
) -> tuple[Literal["task", "cluster"], np.ndarray, list[str]]:
    """(source, per-prompt group index (-1: none), group names): the task labels where at least
    ``MIN_LABELLED`` of the prompts carry one and there are two or more, else k-means clusters."""
    labelled = [t for t in tasks if t]
    names = sorted(set(labelled))
    if len(names) >= 2 and len(labelled) >= MIN_LABELLED * len(tasks):
        index = {t: g for g, t in enumerate(names)}
        return "task", np.asarray([index[t] if t else -1 for t in tasks]), names
    from sklearn.cluster import KMeans

    k = min(n_clusters(len(vectors)), len(vectors))
    labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(unit(vectors)).labels_
    return "cluster", np.asarray(labels), [f"cluster-{g}" for g in range(k)]


def centroids(vectors: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """Unit mean direction of each group's unit embeddings (rows without a group are skipped)."""
    keep = labels >= 0
    out = np.zeros((n_groups, vectors.shape[1]))
    np.add.at(out, labels[keep], unit(vectors[keep]))
    return unit(out)


def memberships(x: np.ndarray, centres: np.ndarray, temperature: float) -> np.ndarray:
    """Soft group membership of each row of ``x``: softmax of cosine similarity / temperature."""
    z = unit(np.atleast_2d(x)) @ centres.T / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def group_means(score_sum: np.ndarray, n_scored: np.ndarray, global_mean: np.ndarray, strength: float) -> np.ndarray:
    """(groups x models) mean scores, each shrunk toward the model's ``global_mean`` by ``strength``."""
    return (score_sum + strength * global_mean) / (n_scored + strength)


class GroupPrior(BaseModel):
    """The fitted groups: centroids, every model's scored outcomes per group, and the chosen settings."""

    model_config = ConfigDict(frozen=True)

    source: Literal["task", "cluster"] = Field(description="task labels, or k-means clusters of embeddings")
    names: list[str]
    centroids: list[list[float]] = Field(description="unit mean embedding per group")
    models: list[str]
    score_sum: list[list[float]] = Field(description="(groups x models) sum of scores")
    n_scored: list[list[float]] = Field(description="(groups x models) scored outcomes")
    out_sum: list[list[float]] = Field(description="(groups x models) sum of output tokens")
    n_usage: list[list[float]] = Field(description="(groups x models) outcomes with usage")
    temperature: float = Field(gt=0, description="membership softmax(cosine / T)")
    strength: float = Field(ge=0, description="pseudo-outcomes behind the model's global mean in a group mean")

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, int]]:
        tables = {name: np.asarray(getattr(self, name), dtype=np.float64) for name in _TABLES}
        return np.asarray(self.centroids, dtype=np.float64), tables, {m: j for j, m in enumerate(self.models)}

    def priors(
        self, embedding: np.ndarray, models: Sequence[str], global_mean: np.ndarray, global_tokens: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each model's prior mean score and output length on this query: its group means weighted by the
        query's membership, shrunk toward ``global_mean`` / ``global_tokens`` (aligned with ``models``);
        a model unknown to the fit keeps its global values."""
        centres, tables, col = self._arrays
        pi = memberships(embedding, centres, self.temperature)[0]
        mean, tokens = (np.asarray(x, dtype=np.float64).copy() for x in (global_mean, global_tokens))
        known = [(i, col[m]) for i, m in enumerate(models) if m in col]
        if known:
            rows, cols = (np.asarray(x) for x in zip(*known, strict=True))
            for out, sums, counts in ((mean, "score_sum", "n_scored"), (tokens, "out_sum", "n_usage")):
                out[rows] = pi @ group_means(tables[sums][:, cols], tables[counts][:, cols], out[rows], self.strength)
        return mean, tokens


_TABLES = ("score_sum", "n_scored", "out_sum", "n_usage")
