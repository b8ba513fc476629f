"""KNNFeaturesEstimator: the knn estimate with features of the prompt itself (``scope_core.features``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..features import prompt_features
from .base import QueryContext
from .knn import KNNEstimator


class KNNFeaturesEstimator(KNNEstimator):
    """``knn``'s neighbour evidence, then the store's fitted feature map: P(correct) from
    [logit p_knn, prompt length relative to its neighbours, prompt length] and output length scaled by
    the same features (``FeatureFit``). The map replaces the calibration; a store whose fit has no
    feature map (fitted before it existed, or too small to fit) routes exactly as ``knn``.
    """

    def __init__(self, name: str = "knn-features", **options) -> None:
        super().__init__(name=name, **options)

    def refine(
        self, query: QueryContext, names: Sequence[str], p: np.ndarray, out: np.ndarray, weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        features = query.fit.features if query.fit is not None else None
        if features is None:
            return super().refine(query, names, p, out, weights)
        x = prompt_features(query.input_tokens, query.neighbours.tokens, weights)
        return features.p_correct(p, x, names), out * features.output_factor(x, names)
