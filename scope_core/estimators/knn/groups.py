"""GroupPrior: each model's mean score on groups of stored prompts, the middle level of the knn's shrinkage.

A query's neighbours rarely hold enough outcomes of every model to judge it alone, and a model's
global mean ignores what kind of prompt this is. The groups are the stored prompts' task labels
where the store has labelled tasks (ingested data sets do; an unlabelled prompt joins its nearest task),
otherwise k-means clusters of the stored embeddings with ``n_clusters(n)`` groups. A query belongs to each group softly, by a softmax over its
cosine similarity to the groups' centroids; its prior mean for a model is the membership-weighted
mean of that model's group means, each group mean shrunk by ``strength`` pseudo-outcomes toward the model's
global mean moved by the group's difficulty (``offsets``: a logistic model, logit p = model + group, fitted on
every model's outcomes). So a model known from a few outcomes per group (one that live traffic never picks) still
gets what the other models' outcomes say about how hard each group is. ``fit_settings`` builds it and chooses the
temperature and strength by leave-one-out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from scope_core.estimators.knn.features import logit
from scope_core.estimators.knn.imputer import sigmoid
from scope_core.estimators.knn.logistic import fit_logistic
from scope_core.store import summary as sm

MIN_TASK_PROMPTS = 5  # labelled prompts a task needs to be a group (its centroid is their mean direction)


def n_clusters(n_prompts: int) -> int:
    """clip(round(sqrt(n / 10)), 2, 32): grows slowly with the store, so each group mean rests on
    many outcomes (the task-router baseline clusters the same way)."""
    return int(np.clip(round(np.sqrt(n_prompts / 10)), 2, 32))


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def group_labels(
    vectors: np.ndarray, tasks: Sequence[str | None], seed: int = 0
) -> tuple[Literal["task", "cluster"], np.ndarray, list[str]]:
    """(source, per-prompt group index, group names): the task labels where two or more tasks each label at least
    ``MIN_TASK_PROMPTS`` prompts (a prompt without one, live traffic's, joins the task of its nearest task
    centroid, so live outcomes pool with ingested ones), else k-means clusters."""
    counts = Counter(t for t in tasks if t)
    names = sorted(t for t, n in counts.items() if n >= MIN_TASK_PROMPTS)
    if len(names) >= 2:
        index = {t: g for g, t in enumerate(names)}
        labels = np.asarray([index.get(t, -1) if t else -1 for t in tasks])
        alone = labels < 0
        if alone.any():
            labels[alone] = np.argmax(unit(vectors[alone]) @ centroids(vectors, labels, len(names)).T, axis=1)
        return "task", labels, names
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


def group_means(score_sum: np.ndarray, n_scored: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
    """(groups x models) mean scores, each shrunk toward ``target`` by ``strength``."""
    return (score_sum + strength * target) / (n_scored + strength)


def moved(mean: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Mean scores moved by logit offsets: sigmoid(logit(mean) + offset)."""
    return sigmoid(logit(mean) + offset)


def difficulty_offsets(score_sum: np.ndarray, n_scored: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """Each group's logit offset in the logistic model logit p = a_model + d_group, fitted by binomial log loss
    on the (groups x models) outcome sums with a unit normal prior on each offset, centred on the prompts'
    mean; zeros where fewer than two groups hold outcomes."""
    g, m = score_sum.shape
    if (n_scored.sum(axis=1) > 0).sum() < 2:
        return np.zeros(g)
    from scipy import sparse

    cell = np.arange(g * m)  # (group, model) cells, row-major: one coefficient per model, then one per group
    design = sparse.csr_matrix(
        (np.ones(2 * g * m), (np.r_[cell, cell], np.r_[cell % m, m + cell // m])), shape=(g * m, m + g)
    )
    penalty = np.r_[np.zeros(m), np.full(g, ridge)]
    d = fit_logistic(design, score_sum.ravel(), trials=n_scored.ravel(), penalty=penalty)[m:]
    w = n_scored.sum(axis=1)
    return d - (w @ d) / w.sum()


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
    strength: float = Field(ge=0, description="pseudo-outcomes behind the moved global mean in a group mean")
    offsets: list[float] = Field(default_factory=list, description="per group: logit difficulty offset")

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, int], np.ndarray]:
        tables = {name: np.asarray(getattr(self, name), dtype=np.float64) for name in _TABLES}
        centres = np.asarray(self.centroids, dtype=np.float64)
        offsets = np.asarray(self.offsets, dtype=np.float64) if self.offsets else np.zeros(len(centres))  # older fits
        return centres, tables, {m: j for j, m in enumerate(self.models)}, offsets[:, None]

    def priors(
        self,
        embedding: np.ndarray,
        models: Sequence[str],
        global_mean: np.ndarray,
        global_tokens: np.ndarray,
        global_counts: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each model's prior mean score and output length on this query, and the outcomes the mean rests on: its
        group means weighted by the query's membership, shrunk toward ``global_mean`` / ``global_tokens`` (aligned
        with ``models``; the global mean an average of ``global_counts`` outcomes). The count is the membership-weighted
        group count n with the ``strength`` s pseudo-outcomes at the global mean: (n + s)^2 / (n + s^2 / (global + 1)),
        the count whose binomial variance is the group mean's. A model unknown to the fit keeps its global values."""
        centres, tables, col, offsets = self._arrays
        pi = memberships(embedding, centres, self.temperature)[0]
        mean, tokens, counts = (
            np.asarray(x, dtype=np.float64).copy() for x in (global_mean, global_tokens, global_counts)
        )
        known = [(i, col[m]) for i, m in enumerate(models) if m in col]
        if known:
            rows, cols = (np.asarray(x) for x in zip(*known, strict=True))
            s = self.strength
            target = moved(mean[rows][None], offsets)
            mean[rows] = pi @ group_means(tables["score_sum"][:, cols], tables["n_scored"][:, cols], target, s)
            tokens[rows] = pi @ group_means(tables["out_sum"][:, cols], tables["n_usage"][:, cols], tokens[rows], s)
            n = pi @ tables["n_scored"][:, cols]
            counts[rows] = (n + s) ** 2 / np.maximum(n + s**2 / (counts[rows] + 1.0), 1e-12)
        return mean, tokens, counts


_TABLES = ("score_sum", "n_scored", "out_sum", "n_usage")


class GroupTable:
    """The stored prompts' groups and their per-model outcome sums, with leave-one-out prior means."""

    def __init__(self, vectors: np.ndarray, metas: Sequence[dict[str, object]], own: np.ndarray, seed: int) -> None:
        self.source, self.labels, self.names = group_labels(vectors, [m.get("task") or None for m in metas], seed)
        self.centres = centroids(vectors, self.labels, len(self.names))
        keep = self.labels >= 0
        self.score_sum = np.zeros((len(self.names), own.shape[1]))
        self.n_scored = np.zeros_like(self.score_sum)
        np.add.at(self.score_sum, self.labels[keep], own[keep, :, sm.SCORE_SUM])
        np.add.at(self.n_scored, self.labels[keep], own[keep, :, sm.N_SCORED])
        self.out_sum, self.n_usage = np.zeros_like(self.score_sum), np.zeros_like(self.score_sum)
        np.add.at(self.out_sum, self.labels[keep], own[keep, :, sm.OUT_SUM])
        np.add.at(self.n_usage, self.labels[keep], own[keep, :, sm.N_USAGE])
        self.offsets = difficulty_offsets(self.score_sum, self.n_scored)

    def loo_means(self, held: np.ndarray, vectors: np.ndarray, own: np.ndarray, mu: np.ndarray, t: float, s: float):
        """Prior mean scores of held-out rows (rows, models): group means without the row's own outcomes."""
        tables, fields = (self.score_sum, self.n_scored), (sm.SCORE_SUM, sm.N_SCORED)
        return self._loo(held, vectors, own, mu, t, s, tables, fields, self.offsets)

    def loo_tokens(self, held: np.ndarray, vectors: np.ndarray, own: np.ndarray, mu: np.ndarray, t: float, s: float):
        """The same for output tokens."""
        tables, fields = (self.out_sum, self.n_usage), (sm.OUT_SUM, sm.N_USAGE)
        return self._loo(held, vectors, own, mu, t, s, tables, fields, None)

    def _loo(self, held, vectors, own, mu, t, s, tables, fields, offsets: np.ndarray | None):
        """Group means shrunk toward ``mu`` moved by ``offsets`` (None: not moved, as output lengths). The offsets
        are the whole store's (a held-out row's outcomes are a sliver of each group's)."""
        sums, counts = tables
        pi = memberships(vectors, self.centres, t)  # (rows, groups)
        targets = mu[:, None] if offsets is None else moved(mu[:, None], offsets[None, :, None])
        out = np.einsum("rg,rgm->rm", pi, group_means(sums[None], counts[None], targets, s))
        g = self.labels[held]
        has = g >= 0
        target = mu if offsets is None else targets[np.arange(len(g)), np.where(has, g, 0)]
        full = group_means(sums[g], counts[g], target, s)
        loo = group_means(sums[g] - own[:, :, fields[0]], counts[g] - own[:, :, fields[1]], target, s)
        w = pi[np.arange(len(g)), np.where(has, g, 0)][:, None] * has[:, None]
        return out + w * (loo - full)

    def prior(self, models: list[str], t: float, s: float) -> GroupPrior:
        return GroupPrior(
            source=self.source,
            names=self.names,
            centroids=self.centres.tolist(),
            models=models,
            score_sum=self.score_sum.tolist(),
            n_scored=self.n_scored.tolist(),
            out_sum=self.out_sum.tolist(),
            n_usage=self.n_usage.tolist(),
            temperature=t,
            strength=s,
            offsets=self.offsets.tolist(),
        )
