"""Cost-quality metrics: the upper concave envelope, AIQ, calibration error and cost error.

Points are ``(cost, accuracy)`` pairs. The envelope ``H`` of a set of points is the best accuracy
reachable at a given budget by randomly mixing two of them: the upper concave hull of the points,
cut at the most accurate point (so it never decreases), linear between vertices and flat outside.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Point = tuple[float, float]


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def upper_envelope(points: Sequence[Point]) -> list[Point]:
    """Vertices of the non-decreasing upper concave envelope, cheapest first."""
    if not points:
        raise ValueError("the envelope of no points is undefined")
    # per cost keep the best accuracy; sort by cost
    best: dict[float, float] = {}
    for cost, acc in points:
        best[float(cost)] = max(float(acc), best.get(float(cost), -np.inf))
    ordered = sorted(best.items())
    # cut at the cheapest point with the highest accuracy: beyond it the envelope is flat
    top = max(acc for _, acc in ordered)
    ordered = ordered[: next(i for i, (_, acc) in enumerate(ordered) if acc == top) + 1]
    hull: list[Point] = []
    for p in ordered:
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) >= 0:
            hull.pop()
        hull.append(p)
    return hull


def envelope_at(points: Sequence[Point], costs: Sequence[float] | np.ndarray) -> np.ndarray:
    """H(c) at the given costs (flat left of the cheapest and right of the most accurate vertex)."""
    hull = upper_envelope(points)
    return np.interp(np.asarray(costs, dtype=np.float64), [c for c, _ in hull], [a for _, a in hull])


def aiq(points: Sequence[Point], c_min: float, c_max: float) -> float:
    """Average improvement in quality: the mean of H over [c_min, c_max] (exact: H is piecewise linear)."""
    if c_max < c_min:
        raise ValueError(f"c_max ({c_max}) < c_min ({c_min})")
    if c_max == c_min:
        return float(envelope_at(points, [c_min])[0])
    inner = [c for c, _ in upper_envelope(points) if c_min < c < c_max]
    grid = np.asarray([c_min, *inner, c_max], dtype=np.float64)
    values = envelope_at(points, grid)
    area = float(np.sum((values[1:] + values[:-1]) * np.diff(grid)) / 2.0)
    return area / (c_max - c_min)


def cost_to_reach(points: Sequence[Point], target: float, tol: float = 1e-12) -> float | None:
    """Cost of the cheapest operating point whose accuracy reaches ``target`` (None if none does)."""
    reaching = [cost for cost, acc in points if acc >= target - tol]
    return min(reaching) if reaching else None


def reliability_bins(p: np.ndarray, y: np.ndarray, n_bins: int = 10) -> list[tuple[float, float, int]]:
    """Per equal-width bin of predicted p: (mean predicted, mean observed, count); empty bins skipped."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    index = np.minimum((p * n_bins).astype(int), n_bins - 1)
    return [
        (float(p[index == b].mean()), float(y[index == b].mean()), int((index == b).sum()))
        for b in range(n_bins)
        if (index == b).any()
    ]


def expected_calibration_error(p: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """ECE: count-weighted mean |mean predicted - mean observed| over equal-width bins of p."""
    bins = reliability_bins(p, y, n_bins)
    total = sum(n for _, _, n in bins)
    if total == 0:
        raise ValueError("no predictions to calibrate")
    return sum(n * abs(mp - my) for mp, my, n in bins) / total


def median_ape(predicted: np.ndarray, actual: np.ndarray) -> float | None:
    """Median absolute percentage error of cost predictions, over pairs with a positive actual cost."""
    predicted, actual = np.asarray(predicted, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    keep = actual > 0
    if not keep.any():
        return None
    return float(np.median(np.abs(predicted[keep] - actual[keep]) / actual[keep]))
