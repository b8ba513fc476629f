"""Estimation with its fitting: the Estimator protocol, the estimators by name (``knn``, ``knn-plain``,
``knn-features``, ``reasoning``), and each estimator's own fit on a store's outcomes.

A new estimator is one module in this package that registers itself (``@register_estimator("name")``); an
estimator that fits itself on the store implements ``FittedEstimator``.
"""

from scope_core.lazy import lazy_exports

DEFAULT_ESTIMATOR = "knn-features"  # ties knn on AIQ, lower cost error where features fit (benchmarks/quality.md)

__all__ = [
    "DEFAULT_ESTIMATOR",
    "Estimate",
    "Estimator",
    "Evidence",
    "FittedEstimator",
    "KNNEstimator",
    "KNNFeaturesEstimator",
    "LocalEstimator",
    "QueryContext",
    "ReasoningEstimator",
    "estimator_names",
    "get_estimator",
    "register_estimator",
]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Estimate": "scope_core.estimators.estimate",
        "Estimator": "scope_core.estimators.base",
        "Evidence": "scope_core.estimators.estimate",
        "FittedEstimator": "scope_core.estimators.base",
        "KNNEstimator": "scope_core.estimators.knn.estimator",
        "KNNFeaturesEstimator": "scope_core.estimators.knn.with_features",
        "LocalEstimator": "scope_core.estimators.base",
        "QueryContext": "scope_core.estimators.base",
        "ReasoningEstimator": "scope_core.estimators.reasoning.estimator",
        "estimator_names": "scope_core.estimators.registry",
        "get_estimator": "scope_core.estimators.registry",
        "register_estimator": "scope_core.estimators.registry",
    },
)
