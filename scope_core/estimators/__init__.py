"""Estimators, selectable by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import Estimator, LocalEstimator, QueryContext
from .knn import KNNEstimator
from .knn_features import KNNFeaturesEstimator
from .reasoning import ReasoningEstimator

DEFAULT_ESTIMATOR = "knn-features"  # ties knn on AIQ, lower cost error where features fit (benchmarks/quality.md)
ESTIMATORS: dict[str, Callable[[], Estimator]] = {
    "knn": KNNEstimator,
    "knn-features": KNNFeaturesEstimator,
    "knn-plain": lambda: KNNEstimator(
        temperature=0.2, prior_strength=0.0, name="knn-plain", imputed_weight=0.0, calibrate=False, groups=False
    ),
}
# estimators that need an LLM and the router's store: get_estimator(name, llm=..., store=router.store, ...)
LLM_ESTIMATORS: dict[str, Callable[..., Estimator]] = {"reasoning": ReasoningEstimator}


def get_estimator(name: str, **options: Any) -> Estimator:
    """A fresh estimator by name (see ``ESTIMATORS`` and ``LLM_ESTIMATORS``), built with ``options``."""
    if name in LLM_ESTIMATORS:
        if options.get("llm") is None or options.get("store") is None:
            raise ValueError(
                f"the '{name}' estimator needs llm= (a LangChain chat model or a callable prompt -> str) and "
                f"store= (the router's store): get_estimator('{name}', llm=..., store=store)"
            )
        return LLM_ESTIMATORS[name](**options)
    try:
        factory = ESTIMATORS[name]
    except KeyError:
        known = sorted({*ESTIMATORS, *LLM_ESTIMATORS})
        raise ValueError(f"unknown estimator '{name}'; choose one of {known}") from None
    return factory(**options)


__all__ = [
    "DEFAULT_ESTIMATOR",
    "ESTIMATORS",
    "LLM_ESTIMATORS",
    "Estimator",
    "KNNEstimator",
    "KNNFeaturesEstimator",
    "LocalEstimator",
    "QueryContext",
    "ReasoningEstimator",
    "get_estimator",
]
