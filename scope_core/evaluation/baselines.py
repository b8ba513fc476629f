"""Reference points computed from recorded outcomes: single models, the oracle, the task oracle,
the zero router, the task router (train means per task) and the RouterBench-style logistic-regression
router (one classifier per model on embeddings)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from scope_core.evaluation.report import OperatingPoint, SingleModel


def single_models(scores: np.ndarray, costs: np.ndarray, models: Sequence[str]) -> list[SingleModel]:
    """Each model alone: mean score and mean cost x number of test prompts (comparable totals
    even when a model skipped a few prompts)."""
    out = []
    for j, model in enumerate(models):
        has = ~np.isnan(scores[:, j])
        if has.any():
            out.append(
                SingleModel(
                    name=model,
                    accuracy=float(scores[has, j].mean()),
                    cost=float(costs[has, j].mean() * len(scores)),
                    n=int(has.sum()),
                )
            )
    return out


def oracle_point(scores: np.ndarray, costs: np.ndarray, models: Sequence[str]) -> OperatingPoint:
    """Per prompt the cheapest model with the best recorded score (the cheapest one when all fail)."""
    chosen = []
    for i in range(len(scores)):
        has = np.flatnonzero(~np.isnan(scores[i]))
        best = has[scores[i, has] == scores[i, has].max()]
        chosen.append(int(best[np.argmin(costs[i, best])]))
    rows = np.arange(len(scores))
    return OperatingPoint(
        cost=float(np.sum(costs[rows, chosen])),
        accuracy=float(np.mean(scores[rows, chosen])),
        choices=dict(sorted(Counter(models[j] for j in chosen).items())),
    )


def task_means(values: np.ndarray, tasks: Sequence[str | None]) -> np.ndarray:
    """Each row replaced by its task's column means (prompts x models; NaN stays NaN).

    With the test outcomes this is the *task oracle*: a router told every model's true accuracy and
    mean cost on each task, but nothing about the prompt within it: an optimistic (in-sample) bound
    on what task-level information alone can reach (prompts without a task form one group).
    """
    labels = np.asarray([t if t is not None else "" for t in tasks], dtype=object)
    out = np.full(values.shape, np.nan)
    for task in np.unique(labels):
        rows = labels == task
        has = ~np.isnan(values[rows])
        means = np.where(has.any(axis=0), np.nansum(values[rows], axis=0) / np.maximum(has.sum(axis=0), 1), np.nan)
        out[rows] = np.where(np.isnan(values[rows]), np.nan, means)
    return out


def logistic_p(train_x: np.ndarray, train_scores: np.ndarray, test_x: np.ndarray, seed: int = 0) -> np.ndarray:
    """P(correct) per (test prompt, model) from one logistic regression per model.

    Each model's classifier sees the train prompts it has an outcome on (score >= 0.5 is correct);
    a model with one class only (or none) predicts its train mean.
    """
    from sklearn.linear_model import LogisticRegression

    out = np.empty((len(test_x), train_scores.shape[1]))
    for j in range(train_scores.shape[1]):
        has = ~np.isnan(train_scores[:, j])
        y = (train_scores[has, j] >= 0.5).astype(int)
        if len(np.unique(y)) < 2:
            out[:, j] = y.mean() if len(y) else 0.5
            continue
        clf = LogisticRegression(C=1.0, max_iter=1000, random_state=seed)
        clf.fit(train_x[has], y)
        out[:, j] = clf.predict_proba(test_x)[:, 1]
    return out


def _column_means(values: np.ndarray) -> np.ndarray:
    """Column means over the rows that have a value (NaN for an empty column)."""
    has = ~np.isnan(values)
    return np.where(has.any(axis=0), np.nansum(values, axis=0) / np.maximum(has.sum(axis=0), 1), np.nan)


def task_router(train_values: np.ndarray, train_labels: Sequence[str], test_labels: Sequence[str]) -> np.ndarray:
    """Each test row gets its task's per-model mean over the *train* rows (prompts x models).

    The fair *task router*: it learns each model's accuracy (or mean cost) per task from the train
    part and is told each test prompt's task, nothing per prompt. A model without train outcomes on
    a task, or a task unseen in training, falls back to the model's mean over all train rows.
    """
    overall = _column_means(train_values)
    labels = np.asarray(train_labels, dtype=object)
    per_task = {task: _column_means(train_values[labels == task]) for task in np.unique(labels)}
    out = np.empty((len(test_labels), train_values.shape[1]))
    for i, task in enumerate(test_labels):
        means = per_task.get(task, overall)
        out[i] = np.where(np.isnan(means), overall, means)
    return np.nan_to_num(out, nan=0.5)


def cluster_labels(train_x: np.ndarray, test_x: np.ndarray, seed: int = 0) -> tuple[list[str], list[str]]:
    """Task labels for data without a task column: k-means clusters of the train embeddings.

    ``n_clusters = clip(round(sqrt(n_train / 10)), 2, 32)``: it grows slowly with the train size, so
    each cluster mean rests on many outcomes (1,500 train prompts: 12 clusters of ~125); test prompts
    take their nearest centroid.
    """
    from sklearn.cluster import KMeans

    n = int(np.clip(round(np.sqrt(len(train_x) / 10)), 2, 32))
    km = KMeans(n_clusters=min(n, len(train_x)), n_init=4, random_state=seed).fit(train_x)
    return [f"cluster-{c}" for c in km.labels_], [f"cluster-{c}" for c in km.predict(test_x)]
