"""The report of a window of routed calls: traffic and spend per model, route latency, spend over time against a
budget, savings against two references, predicted against observed accuracy and cost, failure and fallback rates.

Pure functions over logged decision records (the JSON dicts of ``LoggedDecision``), so ``scope report``, the
dashboard and a test's own recomputation from ``router.history()`` all read the same rows.

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

Record = Mapping[str, Any]
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


def _cost(r: Record) -> float:
    """What a call cost: recorded, else the answering model's predicted cost; 0 when nobody answered."""
    if r.get("model") is None:
        return 0.0
    return r["cost_usd"] if r.get("cost_usd") is not None else r["predictions"][r["model"]]["cost_usd"]


def _eligible(r: Record) -> dict[str, Mapping[str, Any]]:
    return {m: p for m, p in r["predictions"].items() if p.get("excluded") is None} or r["predictions"]


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


def _buckets(records: Sequence[Record]) -> tuple[list[Bucket], float | None]:
    if not records:
        return [], None
    start, end = records[0]["ts"], records[-1]["ts"]
    step = next((s for s in _STEPS if (end - start) / s <= 60), _STEPS[-1])
    first = math.floor(start / step) * step
    spend: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    calls: dict[int, int] = defaultdict(int)
    for r in records:
        i = int((r["ts"] - first) // step)
        calls[i] += 1
        if r.get("model") is not None:
            spend[i][r["model"]] += _cost(r)
    out, total = [], 0.0
    for i in range(max(calls) + 1):
        here = sum(spend[i].values())
        total += here
        out.append(
            Bucket(
                start=first + i * step, calls=calls[i], spend_usd=here, by_model=dict(spend[i]), cumulative_usd=total
            )
        )
    return out, float(step)


def _savings(records: Sequence[Record]) -> Savings:
    spent = dearest = accurate = 0.0
    p_chosen, p_top = [], []
    for r in records:
        if r.get("model") is None:
            continue
        eligible = _eligible(r)
        top = max(eligible.values(), key=lambda p: p["p"])
        spent += _cost(r)
        dearest += max(p["cost_usd"] for p in eligible.values())
        accurate += top["cost_usd"]
        p_chosen.append(r["predictions"][r["model"]]["p"])
        p_top.append(top["p"])
    return Savings(
        spent_usd=spent,
        dearest_usd=dearest,
        most_accurate_usd=accurate,
        saved_vs_dearest_usd=dearest - spent,
        saved_vs_most_accurate_usd=accurate - spent,
        predicted_accuracy=_mean(p_chosen),
        predicted_accuracy_most_accurate=_mean(p_top),
    )


def _model_lines(records: Sequence[Record], answered: int) -> list[ModelLine]:
    calls, chosen, failures = defaultdict(int), defaultdict(int), defaultdict(int)
    spend: dict[str, float] = defaultdict(float)
    p: dict[str, list[float]] = defaultdict(list)
    y: dict[str, list[float]] = defaultdict(list)
    costs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in records:
        chosen[r["chosen"]] += 1
        for a in r.get("attempts") or ():
            failures[a["model"]] += a.get("error") is not None
        m = r.get("model")
        if m is None:
            continue
        calls[m] += 1
        spend[m] += _cost(r)
        if r.get("score") is not None:
            p[m].append(r["predictions"][m]["p"])
            y[m].append(r["score"])
        if r.get("cost_usd") is not None:
            costs[m].append((r["predictions"][m]["cost_usd"], r["cost_usd"]))
    names = sorted(set(calls) | set(chosen) | set(failures))
    return [
        ModelLine(
            model=m,
            calls=calls[m],
            share=_share(calls[m], answered) or 0.0,
            chosen=chosen[m],
            spend_usd=spend[m],
            failures=failures[m],
            scored=len(y[m]),
            predicted_accuracy=_mean(p[m]),
            observed_accuracy=_mean(y[m]),
            cost_mdape=_mdape(costs[m]),
        )
        for m in names
    ]


def report_of(records: Sequence[Record], since: float | None = None, until: float | None = None) -> Report:
    """The report of these records (oldest first), the window they were read for."""
    answered_rows = [r for r in records if r.get("model") is not None]
    scored = [r for r in answered_rows if r.get("score") is not None]
    p = [r["predictions"][r["model"]]["p"] for r in scored]
    y = [r["score"] for r in scored]
    bins = calibration_bins(p, y) if scored else []
    route_ms = [r["route_ms"] for r in records if r.get("route_ms") is not None]
    attempts = [a for r in records for a in r.get("attempts") or ()]
    budgets = [r["budget"]["budget_usd"] for r in records if r.get("budget")]
    buckets, step = _buckets(records)
    costs = [(r["predictions"][r["model"]]["cost_usd"], r["cost_usd"]) for r in answered_rows if r.get("cost_usd")]
    return Report(
        since=since,
        until=until,
        calls=len(records),
        answered=len(answered_rows),
        spend_usd=sum(_cost(r) for r in answered_rows),
        models=_model_lines(records, len(answered_rows)),
        route_ms_p50=float(np.percentile(route_ms, 50)) if route_ms else None,
        route_ms_p99=float(np.percentile(route_ms, 99)) if route_ms else None,
        spend_over_time=buckets,
        bucket_s=step,
        budget_usd=budgets[-1] if budgets else None,
        savings=_savings(records),
        calibration=bins,
        ece=sum(b.count * abs(b.mean_predicted - b.mean_observed) for b in bins) / len(scored) if scored else None,
        scored=len(scored),
        cost_mdape=_mdape(costs),
        fallback_rate=_share(sum(r["model"] != r["chosen"] for r in answered_rows), len(answered_rows)),
        failure_rate=_share(len(records) - len(answered_rows), len(records)),
        attempt_failure_rate=_share(sum(a.get("error") is not None for a in attempts), len(attempts)),
        cold_start_share=_share(
            sum(bool(r["predictions"][r["chosen"]].get("cold_start")) for r in records), len(records)
        ),
        degraded_share=_share(sum(bool(r.get("degraded")) for r in records), len(records)),
    )
