"""run_eval: split a data set, ingest the train part into a fresh store, route the test part.

Each test prompt is routed once (the ``knn-plain`` baseline is estimated on the same neighbours);
the policy is then replayed over the alpha sweep, charging the chosen model's recorded score and
cost. With ``holdout_models`` those models keep train outcomes on ``anchors`` anchor prompts only
(see ``scope_core.anchors``), as a newly profiled model would.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scope_core.data.dataset import Dataset, load_dataset
from scope_core.errors import InvalidInputError
from scope_core.estimators import DEFAULT_ESTIMATOR, Estimator, get_estimator
from scope_core.evaluation import metrics
from scope_core.evaluation.baselines import (
    cluster_labels,
    logistic_p,
    oracle_point,
    single_models,
    task_means,
    task_router,
)
from scope_core.evaluation.budget_replay import replay_budget
from scope_core.evaluation.report import Calibration, Curve, EvalReport, OperatingPoint, ReliabilityBin
from scope_core.evaluation.split import restrict_models, sample_prompts, split_prompts
from scope_core.evaluation.sweep import (
    Routed,
    alpha_sweep,
    estimate_matrix,
    estimator_costs,
    operating_points,
    route_prompts,
    with_p,
)
from scope_core.profiling.anchors import select_anchors
from scope_core.routing.router import DEFAULT_K, Router
from scope_core.store.behaviour import BehaviourStore
from scope_core.store.memory_index import MemoryIndex
from scope_core.text.embedder import Embedder, default_embedder


def _curve(name: str, points: list[OperatingPoint], report_range: tuple[float, float, float], ece=None) -> Curve:
    c_min, c_max, best_acc = report_range
    xy = [(p.cost, p.accuracy) for p in points]
    return Curve(
        name=name,
        points=points,
        aiq=metrics.aiq(xy, c_min, c_max),
        max_accuracy=max(p.accuracy for p in points),
        cost_to_best_single=metrics.cost_to_reach(xy, best_acc),
        ece=ece,
    )


def _ece(p: np.ndarray, scores: np.ndarray) -> float:
    has = ~np.isnan(scores) & ~np.isnan(p)
    return metrics.expected_calibration_error(p[has], scores[has])


def _calibration(routed: Sequence[Routed], scores: np.ndarray, costs: np.ndarray, models: list[str]) -> Calibration:
    p = estimate_matrix(routed, models, "p_correct")
    predicted_cost = estimate_matrix(routed, models, "cost_usd")
    has = ~np.isnan(scores) & ~np.isnan(p)
    bins = metrics.reliability_bins(p[has], scores[has])
    mdape = {}
    for j, model in enumerate(models):
        keep = has[:, j] & ~np.isnan(costs[:, j])
        mdape[model] = metrics.median_ape(predicted_cost[keep, j], costs[keep, j]) if keep.any() else None
    return Calibration(
        ece=_ece(p, scores),
        bins=[ReliabilityBin(mean_predicted=a, mean_observed=b, count=n) for a, b, n in bins],
        cost_mdape=mdape,
    )


def _test_outcomes(dataset: Dataset, test_ids: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Test prompts with any outcome, with their (prompts x models) scores and costs (NaN: no outcome)."""
    scores = dataset.matrix("score", test_ids)
    answered = ~np.all(np.isnan(scores), axis=1)
    test_ids, scores = [i for i, a in zip(test_ids, answered, strict=True) if a], scores[answered]
    costs = np.nan_to_num(dataset.matrix("cost_usd", test_ids), nan=0.0)  # an unrecorded cost counts as 0
    return test_ids, scores, np.where(np.isnan(scores), np.nan, costs)


def _task_labels(
    train_ids: Sequence[str],
    test_ids: Sequence[str],
    task_of: dict[str, str | None],
    train_x: np.ndarray,
    test_x: np.ndarray,
    seed: int,
) -> tuple[list[str], list[str]]:
    """The data's task labels, or k-means clusters of the train embeddings when it has none."""
    if all(task_of[i] is None for i in train_ids):
        return cluster_labels(train_x, test_x, seed)
    return [task_of[i] or "" for i in train_ids], [task_of[i] or "" for i in test_ids]


def run_eval(
    data: Dataset | str | Path,
    *,
    train_frac: float = 0.5,
    seed: int = 0,
    estimator: str | Estimator = DEFAULT_ESTIMATOR,
    holdout_models: Sequence[str] = (),
    anchors: int = 250,
    alphas: Sequence[float] | None = None,
    max_prompts: int | None = None,
    embedder: Embedder | None = None,
    k: int = DEFAULT_K,
    budgets: Sequence[float] = (),
    fast: bool = False,
    progress: bool = False,
    compare: Sequence[str] = (),
) -> EvalReport:
    """Evaluate a router against single models, the oracle and baselines.

    ``estimator``: a name (``scope_core.estimators``) or an estimator (e.g. ``ReasoningEstimator(llm)``).
    What the estimator itself spends (``Estimate.estimator_cost_usd``) is added to the router's costs.

    ``budgets``: fractions of the best single model's total test cost; for each, the router's test
    stream is replayed in order under a ``BudgetGovernor`` with that budget (``report.budget_replays``).
    ``fast``: the fit and the routing search neighbours in a ``MemoryIndex`` snapshot of the train
    store (exact, in memory) instead of Chroma.
    ``compare``: more estimators (by name) estimated on the router's own query contexts, so their curves
    (``report.compared``) differ from the router's by the estimator alone.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    dataset = data if isinstance(data, Dataset) else load_dataset(data)
    timings["load_s"] = time.perf_counter() - started
    if max_prompts is not None:
        dataset = sample_prompts(dataset, max_prompts, seed)
    unknown = sorted(set(holdout_models) - set(dataset.models))
    if unknown:
        raise InvalidInputError(f"unknown held-out model(s) {unknown}; the data set has {dataset.models}")
    alphas = sorted(alphas) if alphas is not None else alpha_sweep()
    models = dataset.models
    train_ids, test_ids = split_prompts(dataset, train_frac, seed)
    test_ids, scores, costs = _test_outcomes(dataset, test_ids)
    text_of = {p.id: p.text for p in dataset.prompts}
    task_of = {p.id: p.task for p in dataset.prompts}
    embedder = embedder if embedder is not None else default_embedder(disk_cache=True)

    store = BehaviourStore.ephemeral()
    try:
        router = Router(store, estimator=estimator, embedder=embedder, k=k, cache_ttl_s=3600.0)
        t = time.perf_counter()
        train_x = router.embed_texts([text_of[i] for i in train_ids])
        test_x = router.embed_texts([text_of[i] for i in test_ids])
        timings["embed_s"] = time.perf_counter() - t
        train = dataset.subset(train_ids)
        n_anchors = None
        if holdout_models:
            anchor_ids = [train_ids[i] for i in select_anchors(train_x, anchors, seed)]
            train, n_anchors = restrict_models(train, holdout_models, anchor_ids), len(anchor_ids)
        t = time.perf_counter()
        router.ingest(train, progress=progress, fit=not fast)
        if fast:
            router.index = MemoryIndex.snapshot(store)
            router.fit()
        timings["ingest_s"] = time.perf_counter() - t

        texts = [text_of[i] for i in test_ids]
        candidates = [[m for j, m in enumerate(models) if not np.isnan(scores[i, j])] for i in range(len(test_ids))]
        t = time.perf_counter()
        main = router.estimator.name
        extra = {name: get_estimator(name) for name in ("knn-plain", *compare) if name != main}
        routed = route_prompts(router, texts, candidates, extra=extra, progress=progress)
        timings["route_s"] = time.perf_counter() - t

        t = time.perf_counter()
        train_scores = train.matrix("score", train_ids)
        p_logistic = logistic_p(train_x, train_scores, test_x, seed)
        routed["logistic"] = with_p(routed[main], p_logistic, models)
        timings["logistic_fit_s"] = time.perf_counter() - t
        train_labels, test_labels = _task_labels(train_ids, test_ids, task_of, train_x, test_x, seed)
        train_costs = train.matrix("cost_usd", train_ids)
        routed["task-router"] = with_p(
            routed[main],
            task_router(train_scores, train_labels, test_labels),
            models,
            task_router(train_costs, train_labels, test_labels),
        )
        tasks = [task_of[i] for i in test_ids]
        routed["task-oracle"] = with_p(routed[main], task_means(scores, tasks), models, task_means(costs, tasks))
    finally:
        store.drop()

    t = time.perf_counter()
    specs = dataset.specs
    singles = single_models(scores, costs, models)
    c_min, c_max = min(s.cost for s in singles), max(s.cost for s in singles)
    best = max(singles, key=lambda s: (s.accuracy, -s.cost))
    report_range = (c_min, c_max, best.accuracy)
    hull = metrics.upper_envelope([(s.cost, s.accuracy) for s in singles])
    zero = _curve("zero", [OperatingPoint(cost=c, accuracy=a) for c, a in hull], report_range)
    filled = np.nan_to_num(scores, nan=0.0), np.nan_to_num(costs, nan=0.0)
    overhead = estimator_costs(routed[main])  # the router's estimator's own spend, per prompt
    curves = {
        name: _curve(
            name,
            operating_points(r, specs, alphas, *filled, models, float(overhead.sum()) if name == main else 0.0),
            report_range,
            ece=None if name == "task-oracle" else _ece(estimate_matrix(r, models, "p_correct"), scores),
        )
        for name, r in routed.items()
    }
    replays = [replay_budget(routed[main], specs, *filled, models, f * best.cost, overhead=overhead) for f in budgets]
    fallbacks = Counter(
        e.fallback.split(":")[1].strip() for r in routed[main] for e in r.estimates if e.fallback is not None
    )
    timings["sweep_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started
    return EvalReport(
        data=dataset.name,
        estimator=main,
        seed=seed,
        train_frac=train_frac,
        n_train=len(train_ids),
        n_test=len(test_ids),
        k=k,
        holdout_models=sorted(holdout_models),
        anchors=n_anchors,
        alphas=list(alphas),
        c_min=c_min,
        c_max=c_max,
        best_single=best.name,
        best_single_accuracy=best.accuracy,
        singles=singles,
        oracle=oracle_point(scores, costs, models),
        zero_router=zero,
        router=curves[main],
        baselines={name: curves[name] for name in ("knn-plain", "logistic", "task-router")},
        compared={name: curves[name] for name in compare if name != main},
        compared_cost_mdape={
            name: _calibration(routed[name], scores, costs, models).cost_mdape for name in compare if name != main
        },
        task_oracle=curves["task-oracle"],
        calibration=_calibration(routed[main], scores, costs, models),
        budget_replays=replays,
        estimator_tokens=sum(e.estimator_tokens for r in routed[main] for e in r.estimates),
        estimator_cost_usd=float(overhead.sum()),
        estimator_fallbacks=dict(sorted(fallbacks.items())),
        timings_s={k: round(v, 3) for k, v in timings.items()},
        train_ids=list(train_ids),
        test_ids=list(test_ids),
    )
