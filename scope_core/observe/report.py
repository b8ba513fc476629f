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
from collections.abc import Mapping, Sequence
from operator import itemgetter
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
    budget_usd: float | None = Field(
        description="the budget the calls ran under, if any: each governor's (each process's, or each adapter's) summed"
    )
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


_NUMBERS = ("t", "cost", "pc", "pp", "tp", "tc", "dc", "ms", "n", "s")


class Columns:
    """The summaries as columns: numbers as float arrays (NaN where unset), models as indices into ``names``."""

    def __init__(self, calls: Sequence[Summary]) -> None:
        table = np.array(list(map(itemgetter(*_NUMBERS), calls)), dtype=object).reshape(len(calls), len(_NUMBERS))
        table[np.equal(table, None)] = np.nan  # an unset number
        for key, column in zip(_NUMBERS, table.astype(float).T, strict=True):
            setattr(self, key, column)
        models = [s["m"] for s in calls]
        self.names = sorted(
            {m for m in models if m is not None} | {s["c"] for s in calls} | {f for s in calls for f in s["f"]}
        )
        index = {m: i for i, m in enumerate(self.names)}
        self.m = np.array([-1 if m is None else index[m] for m in models], dtype=int)
        self.c = np.array([index[s["c"]] for s in calls], dtype=int)
        self.failed = np.array([index[f] for s in calls for f in s["f"]], dtype=int)
        self.d = np.array([bool(s["d"]) for s in calls], dtype=bool)
        self.cs = np.array([bool(s["cs"]) for s in calls], dtype=bool)
        self.answered = self.m >= 0
        self.spent = np.where(self.answered, np.where(np.isnan(self.cost), self.pc, self.cost), 0.0)
        self.scored = self.answered & ~np.isnan(self.s)


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mdape(predicted: np.ndarray, actual: np.ndarray) -> float | None:
    keep = actual > 0
    return float(np.median(np.abs(predicted[keep] - actual[keep]) / actual[keep])) if keep.any() else None


def calibration_bins(p: np.ndarray, y: np.ndarray, n_bins: int = 10) -> list[CalibrationBin]:
    """Equal-width bins of predicted p: mean predicted, mean observed, count (empty bins skipped)."""
    index = np.minimum((p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    mean_p = np.bincount(index, p, minlength=n_bins) / np.maximum(count, 1)
    mean_y = np.bincount(index, y, minlength=n_bins) / np.maximum(count, 1)
    return [
        CalibrationBin(mean_predicted=float(mean_p[b]), mean_observed=float(mean_y[b]), count=int(count[b]))
        for b in range(n_bins)
        if count[b]
    ]


def _buckets(c: Columns) -> tuple[list[Bucket], float | None]:
    if not c.t.size:
        return [], None
    step = next((s for s in _STEPS if (c.t[-1] - c.t[0]) / s <= 60), _STEPS[-1])
    first = math.floor(c.t[0] / step) * step
    bucket = ((c.t - first) // step).astype(int)
    n = int(bucket.max()) + 1
    calls = np.bincount(bucket, minlength=n)
    spend = np.bincount(bucket, c.spent, minlength=n)
    by_model = {
        m: np.bincount(bucket[c.m == j], c.spent[c.m == j], minlength=n)
        for j, m in enumerate(c.names)
        if (c.m == j).any()
    }
    total = np.cumsum(spend)
    return [
        Bucket(
            start=first + i * step,
            calls=int(calls[i]),
            spend_usd=float(spend[i]),
            by_model={m: float(v[i]) for m, v in by_model.items() if v[i]},
            cumulative_usd=float(total[i]),
        )
        for i in range(n)
    ], float(step)


def _savings(c: Columns) -> Savings:
    a = c.answered
    total, dearest, accurate = float(c.spent[a].sum()), float(c.dc[a].sum()), float(c.tc[a].sum())
    return Savings(
        spent_usd=total,
        dearest_usd=dearest,
        most_accurate_usd=accurate,
        saved_vs_dearest_usd=dearest - total,
        saved_vs_most_accurate_usd=accurate - total,
        predicted_accuracy=_mean(c.pp[a]),
        predicted_accuracy_most_accurate=_mean(c.tp[a]),
    )


def _model_lines(c: Columns) -> list[ModelLine]:
    answered = int(c.answered.sum())
    lines = []
    for j, m in enumerate(c.names):
        mine = c.m == j
        scored, costed = mine & c.scored, mine & ~np.isnan(c.cost)
        lines.append(
            ModelLine(
                model=m,
                calls=int(mine.sum()),
                share=_share(int(mine.sum()), answered) or 0.0,
                chosen=int((c.c == j).sum()),
                spend_usd=float(c.spent[mine].sum()),
                failures=int((c.failed == j).sum()),
                scored=int(scored.sum()),
                predicted_accuracy=_mean(c.pp[scored]),
                observed_accuracy=_mean(c.s[scored]),
                cost_mdape=_mdape(c.pc[costed], c.cost[costed]),
            )
        )
    return lines


def _budget(calls: Sequence[Summary]) -> float | None:
    """The summed budgets of the governors the calls ran under (each one's last; None: no governor)."""
    last = {s.get("bg"): s["b"] for s in calls if s.get("b") is not None}
    return float(sum(last.values())) if last else None


def report_of(calls: Sequence[Summary], since: float | None = None, until: float | None = None) -> Report:
    """The report of these calls' summaries (oldest first), for the window they were read for."""
    c = Columns(calls)
    n, answered, scored = len(calls), int(c.answered.sum()), int(c.scored.sum())
    bins = calibration_bins(c.pp[c.scored], c.s[c.scored]) if scored else []
    route_ms = c.ms[~np.isnan(c.ms)]
    costed = c.answered & ~np.isnan(c.cost)
    buckets, step = _buckets(c)
    return Report(
        since=since,
        until=until,
        calls=n,
        answered=answered,
        spend_usd=float(c.spent.sum()),
        models=_model_lines(c),
        route_ms_p50=float(np.percentile(route_ms, 50)) if route_ms.size else None,
        route_ms_p99=float(np.percentile(route_ms, 99)) if route_ms.size else None,
        spend_over_time=buckets,
        bucket_s=step,
        budget_usd=_budget(calls),
        savings=_savings(c),
        calibration=bins,
        ece=sum(b.count * abs(b.mean_predicted - b.mean_observed) for b in bins) / scored if scored else None,
        scored=scored,
        cost_mdape=_mdape(c.pc[costed], c.cost[costed]),
        fallback_rate=_share(int((c.answered & (c.m != c.c)).sum()), answered),
        failure_rate=_share(n - answered, n),
        attempt_failure_rate=_share(int(c.failed.size), int(np.nansum(c.n))),
        cold_start_share=_share(int(c.cs.sum()), n),
        degraded_share=_share(int(c.d.sum()), n),
    )
