"""Route each test prompt once, then replay the policy at every alpha of a sweep.

The policy is replayed with ``choices_at`` (``policy.choose`` vectorised over prompts; tests check
that both agree). The alpha sweep is 21 evenly spaced values in [0, 1] plus 30 values ``1 - geomspace(1e-3, 0.5)``
(0.5 ... 0.999, evenly spaced in log-odds): the utility ``alpha*p - (1-alpha)*cost/c_ref`` trades a
few points of accuracy against a 10-50x price gap only when alpha is close to 1, so the sweep is
dense there. AIQ uses the upper envelope of the points, so extra alphas only add resolution.

All estimators under evaluation see the same neighbourhood of a prompt: the router's estimator is
wrapped in a ``Recorder`` that also runs the baselines' estimators on the router's query context.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from scope_core.errors import NoCandidateError
from scope_core.estimators import Estimator, LocalEstimator, QueryContext
from scope_core.estimators.estimate import Estimate
from scope_core.evaluation.report import OperatingPoint
from scope_core.routing.policy import RouteOptions, eligibility
from scope_core.routing.router import Router
from scope_core.specs import ModelSpec


def alpha_sweep() -> list[float]:
    """The default sweep (50 distinct values, sorted)."""
    even = np.linspace(0.0, 1.0, 21)
    near_one = 1.0 - np.geomspace(1e-3, 0.5, 30)
    return sorted({round(float(a), 6) for a in np.concatenate([even, near_one])})


@dataclass(frozen=True)
class Routed:
    """One test prompt's estimates for its candidates and the cost unit of its utility."""

    estimates: list[Estimate]
    cost_ref: float


class Recorder(LocalEstimator):
    """Estimates with the first of ``estimators`` and records every estimator's output on each query."""

    def __init__(self, estimators: Mapping[str, Estimator]) -> None:
        self.estimators = dict(estimators)
        self.name = next(iter(self.estimators))
        self.seen: dict[str, list[list[Estimate]]] = {name: [] for name in self.estimators}

    def estimate(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> list[Estimate]:
        for name, estimator in self.estimators.items():
            self.seen[name].append(estimator.estimate(query, candidates))
        return self.seen[self.name][-1]


def route_prompts(
    router: Router,
    texts: Sequence[str],
    candidates: Sequence[Sequence[str]],
    *,
    extra: Mapping[str, Estimator] | None = None,
    progress: bool = False,
) -> dict[str, list[Routed]]:
    """Route every text once among its candidates (the models with a recorded outcome on it).

    Returns the estimates of the router's estimator (by its name) and of each ``extra`` estimator,
    all computed on the router's query context of each text.
    """
    specs = router.models()
    own = router.estimator
    recorder = Recorder({own.name: own, **(extra or {})})
    cost_refs = []
    for text, allowed in tqdm(list(zip(texts, candidates, strict=True)), desc="route", disable=not progress):
        decision = router.route(text, allowed=allowed, estimator=recorder)
        cost_refs.append(router.cost_ref([specs[m] for m in allowed], decision.input_tokens))
    return {name: [Routed(e, c) for e, c in zip(seen, cost_refs, strict=True)] for name, seen in recorder.seen.items()}


def with_p(
    routed: Sequence[Routed], p: np.ndarray, models: Sequence[str], cost: np.ndarray | None = None
) -> list[Routed]:
    """The same estimates with P(correct) replaced by ``p`` (prompts x models), e.g. a baseline's,
    and the predicted cost by ``cost`` when given."""
    col = {m: j for j, m in enumerate(models)}

    def update(i: int, e: Estimate) -> dict[str, float]:
        new = {"p_correct": float(p[i, col[e.model]])}
        if cost is not None:
            new["cost_usd"] = float(cost[i, col[e.model]])
        return new

    return [Routed([e.model_copy(update=update(i, e)) for e in r.estimates], r.cost_ref) for i, r in enumerate(routed)]


def estimator_costs(routed: Sequence[Routed]) -> np.ndarray:
    """USD the estimator itself spent on each prompt (0 for local estimators)."""
    return np.asarray([sum(e.estimator_cost_usd for e in r.estimates) for r in routed], dtype=np.float64)


def estimate_matrix(routed: Sequence[Routed], models: Sequence[str], field: str) -> np.ndarray:
    """(prompts x models) array of an Estimate field; NaN where a model was not a candidate."""
    col = {m: j for j, m in enumerate(models)}
    out = np.full((len(routed), len(models)), np.nan)
    for i, r in enumerate(routed):
        for e in r.estimates:
            out[i, col[e.model]] = getattr(e, field)
    return out


def choices_at(
    routed: Sequence[Routed], specs: Mapping[str, ModelSpec], alphas: Sequence[float], models: Sequence[str]
):
    """Column index of the chosen model per (alpha, prompt): ``policy.choose`` vectorised over prompts.

    Same rule and arithmetic as ``choose`` with no per-call constraints: the highest utility among
    eligible candidates, ties to the cheaper model, then to the first in name order.
    """
    col = {m: j for j, m in enumerate(models)}
    p, cost = estimate_matrix(routed, models, "p_correct"), estimate_matrix(routed, models, "cost_usd")
    eligible = np.zeros(p.shape, dtype=bool)
    for i, r in enumerate(routed):
        for e in eligibility(r.estimates, specs, RouteOptions())[0]:
            eligible[i, col[e.model]] = True
    if not eligible.any(axis=1).all():
        raise NoCandidateError("a test prompt has no eligible candidate")
    scale = np.asarray([r.cost_ref if r.cost_ref > 0 else 1.0 for r in routed])[:, None]
    out = np.empty((len(alphas), len(routed)), dtype=int)
    for a_i, a in enumerate(alphas):
        utility = np.where(eligible, a * p - (1 - a) * cost / scale, -np.inf)
        tied = utility == utility.max(axis=1, keepdims=True)
        out[a_i] = np.argmin(np.where(tied, cost, np.inf), axis=1)
    return out


def operating_points(
    routed: Sequence[Routed],
    specs: Mapping[str, ModelSpec],
    alphas: Sequence[float],
    scores: np.ndarray,
    costs: np.ndarray,
    models: Sequence[str],
    overhead: float = 0.0,
) -> list[OperatingPoint]:
    """Per alpha: the policy's choice on every prompt, charged its recorded score and cost, plus
    ``overhead`` (USD the estimator itself spent over all prompts, e.g. an LLM estimator's calls)."""
    rows = np.arange(len(routed))
    points = []
    for alpha, chosen in zip(alphas, choices_at(routed, specs, alphas, models), strict=True):
        points.append(
            OperatingPoint(
                alpha=alpha,
                cost=float(np.sum(costs[rows, chosen])) + overhead,
                estimator_cost=overhead,
                accuracy=float(np.mean(scores[rows, chosen])),
                choices=dict(sorted(Counter(models[j] for j in chosen).items())),
            )
        )
    return points
