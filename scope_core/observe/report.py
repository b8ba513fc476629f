"""The report of a window of routed calls: traffic and spend per model, route latency, spend over time against a
budget, savings against two references, predicted against observed accuracy and cost, failure and fallback rates.

Pure functions over the decision log's summaries (``LoggedDecision.summary()``: a few numbers per call, short
keys), which ``scope report`` and the dashboard read; a test recomputes the same from ``router.history()``.

Savings are estimates priced from each decision's own predictions: what the call would have cost, predicted, had
it always gone to the dearest eligible candidate, or to the candidate predicted most accurate, against what it
cost (its actual cost, or the answering model's predicted cost where none was recorded).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

Summary = Mapping[str, Any]
_STEPS = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)  # bucket widths of spend over time, seconds


class ModelLine(BaseModel):
    """One model's share of the window."""

    model: str
    calls: int = Field(description="calls it answered")
    share: float = Field(description="its share of the answered calls")
    chosen: int = Field(description="calls routed to it first")
    spend_usd: float
    failures: int = Field(description="its attempts that failed")
    scored: int = Field(description="its answers with a score")
    predicted_accuracy: float | None = Field(description="mean predicted P(correct) of its scored answers")
    observed_accuracy: float | None = Field(description="mean score of its scored answers")
    cost_mdape: float | None = Field(description="median absolute % error of predicted vs actual cost")


class Bucket(BaseModel):
    start: float
    calls: int
    spend_usd: float
    by_model: dict[str, float]
    cumulative_usd: float


class Savings(BaseModel):
    """Estimates from each decision's predictions (see the module docstring)."""

    spent_usd: float
    dearest_usd: float = Field(description="always the dearest eligible candidate, predicted")
    most_accurate_usd: float = Field(description="always the candidate predicted most accurate, predicted")
    saved_vs_dearest_usd: float
    saved_vs_most_accurate_usd: float
    predicted_accuracy: float | None = Field(description="mean predicted P(correct) of the chosen models")
    predicted_accuracy_most_accurate: float | None


class CalibrationBin(BaseModel):
    mean_predicted: float
    mean_observed: float
    count: int


class Report(BaseModel):
    since: float | None
    until: float | None
    calls: int
    answered: int
    spend_usd: float
    models: list[ModelLine]
    route_ms_p50: float | None
    route_ms_p99: float | None
    spend_over_time: list[Bucket]
    bucket_s: float | None
    budget_usd: float | None = Field(description="the budget of the governor the calls ran under, if any")
    savings: Savings
    calibration: list[CalibrationBin]
    ece: float | None = Field(description="expected calibration error over the scored answers")
    scored: int
    cost_mdape: float | None
    fallback_rate: float | None = Field(description="answered calls whose answer came from a fallback")
    failure_rate: float | None = Field(description="calls every candidate failed")
    attempt_failure_rate: float | None = Field(description="attempts that failed")
    cold_start_share: float | None
    degraded_share: float | None


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mdape(pairs: Sequence[tuple[float, float]]) -> float | None:
    errors = [abs(p - a) / a for p, a in pairs if a > 0]
    return float(np.median(errors)) if errors else None


def spent(s: Summary) -> float:
    """What a call cost: recorded, else the answering model's predicted cost; 0 when nobody answered."""
    if s["m"] is None:
        return 0.0
    return s["cost"] if s["cost"] is not None else s["pc"]


def calibration_bins(p: Sequence[float], y: Sequence[float], n_bins: int = 10) -> list[CalibrationBin]:
    """Equal-width bins of predicted p: mean predicted, mean observed, count (empty bins skipped)."""
    p_arr, y_arr = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    index = np.minimum((p_arr * n_bins).astype(int), n_bins - 1)
    return [
        CalibrationBin(
            mean_predicted=float(p_arr[index == b].mean()),
            mean_observed=float(y_arr[index == b].mean()),
            count=int((index == b).sum()),
        )
        for b in range(n_bins)
        if (index == b).any()
    ]


def _buckets(calls: Sequence[Summary]) -> tuple[list[Bucket], float | None]:
    if not calls:
        return [], None
    start, end = calls[0]["t"], calls[-1]["t"]
    step = next((s for s in _STEPS if (end - start) / s <= 60), _STEPS[-1])
    first = math.floor(start / step) * step
    by_bucket: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[int, int] = defaultdict(int)
    for s in calls:
        i = int((s["t"] - first) // step)
        counts[i] += 1
        if s["m"] is not None:
            by_bucket[i][s["m"]] += spent(s)
    out, total = [], 0.0
    for i in range(max(counts) + 1):
        here = sum(by_bucket[i].values())
        total += here
        out.append(
            Bucket(
                start=first + i * step,
                calls=counts[i],
                spend_usd=here,
                by_model=dict(by_bucket[i]),
                cumulative_usd=total,
            )
        )
    return out, float(step)


def _savings(answered: Sequence[Summary]) -> Savings:
    total = sum(spent(s) for s in answered)
    dearest = sum(s["dc"] for s in answered)
    accurate = sum(s["tc"] for s in answered)
    return Savings(
        spent_usd=total,
        dearest_usd=dearest,
        most_accurate_usd=accurate,
        saved_vs_dearest_usd=dearest - total,
        saved_vs_most_accurate_usd=accurate - total,
        predicted_accuracy=_mean([s["pp"] for s in answered]),
        predicted_accuracy_most_accurate=_mean([s["tp"] for s in answered]),
    )


def _model_lines(calls: Sequence[Summary], answered: int) -> list[ModelLine]:
    counts, chosen, failures = defaultdict(int), defaultdict(int), defaultdict(int)
    spend: dict[str, float] = defaultdict(float)
    p: dict[str, list[float]] = defaultdict(list)
    y: dict[str, list[float]] = defaultdict(list)
    costs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for s in calls:
        chosen[s["c"]] += 1
        for model in s["f"]:
            failures[model] += 1
        m = s["m"]
        if m is None:
            continue
        counts[m] += 1
        spend[m] += spent(s)
        if s["s"] is not None:
            p[m].append(s["pp"])
            y[m].append(s["s"])
        if s["cost"] is not None:
            costs[m].append((s["pc"], s["cost"]))
    return [
        ModelLine(
            model=m,
            calls=counts[m],
            share=_share(counts[m], answered) or 0.0,
            chosen=chosen[m],
            spend_usd=spend[m],
            failures=failures[m],
            scored=len(y[m]),
            predicted_accuracy=_mean(p[m]),
            observed_accuracy=_mean(y[m]),
            cost_mdape=_mdape(costs[m]),
        )
        for m in sorted(set(counts) | set(chosen) | set(failures))
    ]


def report_of(calls: Sequence[Summary], since: float | None = None, until: float | None = None) -> Report:
    """The report of these calls' summaries (oldest first), for the window they were read for."""
    answered = [s for s in calls if s["m"] is not None]
    scored = [s for s in answered if s["s"] is not None]
    bins = calibration_bins([s["pp"] for s in scored], [s["s"] for s in scored]) if scored else []
    route_ms = [s["ms"] for s in calls if s["ms"] is not None]
    attempts = sum(s["n"] for s in calls)
    budgets = [s["b"] for s in calls if s["b"] is not None]
    buckets, step = _buckets(calls)
    return Report(
        since=since,
        until=until,
        calls=len(calls),
        answered=len(answered),
        spend_usd=sum(spent(s) for s in answered),
        models=_model_lines(calls, len(answered)),
        route_ms_p50=float(np.percentile(route_ms, 50)) if route_ms else None,
        route_ms_p99=float(np.percentile(route_ms, 99)) if route_ms else None,
        spend_over_time=buckets,
        bucket_s=step,
        budget_usd=budgets[-1] if budgets else None,
        savings=_savings(answered),
        calibration=bins,
        ece=sum(b.count * abs(b.mean_predicted - b.mean_observed) for b in bins) / len(scored) if scored else None,
        scored=len(scored),
        cost_mdape=_mdape([(s["pc"], s["cost"]) for s in answered if s["cost"] is not None]),
        fallback_rate=_share(sum(s["m"] != s["c"] for s in answered), len(answered)),
        failure_rate=_share(len(calls) - len(answered), len(calls)),
        attempt_failure_rate=_share(sum(len(s["f"]) for s in calls), attempts),
        cold_start_share=_share(sum(bool(s["cs"]) for s in calls), len(calls)),
        degraded_share=_share(sum(bool(s["d"]) for s in calls), len(calls)),
    )
