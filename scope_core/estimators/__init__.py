"""Estimators, selectable by name."""

from __future__ import annotations

from collections.abc import Callable

from .base import Estimator, LocalEstimator, QueryContext
from .knn import KNNEstimator

ESTIMATORS: dict[str, Callable[[], Estimator]] = {
    "knn": KNNEstimator,
    "knn-plain": lambda: KNNEstimator(
        temperature=0.2, prior_strength=0.0, name="knn-plain", imputed_weight=0.0, calibrate=False, groups=False
    ),
}


def get_estimator(name: str) -> Estimator:
    """A fresh estimator by name (see ``ESTIMATORS``)."""
    try:
        return ESTIMATORS[name]()
    except KeyError:
        raise ValueError(f"unknown estimator '{name}'; choose one of {sorted(ESTIMATORS)}") from None


__all__ = ["ESTIMATORS", "Estimator", "KNNEstimator", "LocalEstimator", "QueryContext", "get_estimator"]
