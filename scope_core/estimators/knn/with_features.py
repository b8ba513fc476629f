"""KNNFeaturesEstimator: the knn estimate with features of the prompt itself (``knn.features``)."""

from __future__ import annotations

import numpy as np

from scope_core.estimators.base import QueryContext
from scope_core.estimators.knn.estimator import KNNEstimator, NeighbourEstimate
from scope_core.estimators.knn.features import prompt_features
from scope_core.estimators.knn.settings import KNNSettings
from scope_core.estimators.registry import register_estimator


@register_estimator("knn-features")
class KNNFeaturesEstimator(KNNEstimator):
    """``knn``'s neighbour evidence, then the store's fitted feature map: P(correct) from
    [logit p_knn, prompt length relative to its neighbours, prompt length] and output length scaled by
    the same features (``FeatureFit``). The map replaces the calibration; a store whose fit has no
    feature map (fitted before it existed, or too small to fit) routes exactly as ``knn``.
    """

    name = "knn-features"

    def refine(
        self, query: QueryContext, settings: KNNSettings | None, raw: NeighbourEstimate
    ) -> tuple[np.ndarray, np.ndarray]:
        features = settings.features if settings is not None else None
        if features is None:
            return super().refine(query, settings, raw)
        x = prompt_features(query.input_tokens, query.neighbours.tokens, raw.weights)
        return features.p_correct(raw.p, x, raw.names), raw.out * features.output_factor(x, raw.names)
