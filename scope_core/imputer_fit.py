"""Fitting imputers against a store: which models get one, on which prompts and predictors.

The model itself (``Imputer``, ``fit_imputer``) lives in ``scope_core.imputer``, which knows nothing of the store.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import summary as sm
from .imputer import choose_imputer
from .store import BehaviourStore

MIN_OUTCOMES = 50  # fewer scored prompts than this: no imputer, the global mean is as good
MAX_COVERAGE = 0.9  # a model scored on more of the store's prompts than this needs none
PREDICTOR_COVERAGE = 0.8  # a predictor is scored on this share of the store's prompts and of the fitting ones


def fit_store_imputers(store: BehaviourStore) -> list[str]:
    """Fit and save an imputer for every partly profiled model of ``store``; returns their names."""
    registry, total = store.registry(), store.count_prompts()
    priors, models = registry.priors, sorted(registry.specs)
    fitted = []
    for model in models:
        n_scored = (priors.get(model) or sm.empty())[sm.N_SCORED]
        if n_scored < MIN_OUTCOMES or n_scored > MAX_COVERAGE * total:
            continue
        embeddings, stats = store.scored_prompts(model)
        y = np.asarray([s[model][sm.SCORE_SUM] / s[model][sm.N_SCORED] for s in stats])
        others = [m for m in models if m != model]
        scores = np.asarray([[_mean_score(s.get(m)) for m in others] for s in stats]).reshape(len(stats), len(others))
        # Only broadly profiled models predict: another anchor-only model would be known on every
        # fitting prompt but missing on nearly every neighbour the imputer is used on.
        broad = np.asarray([(priors.get(m) or sm.empty())[sm.N_SCORED] >= PREDICTOR_COVERAGE * total for m in others])
        keep = broad & (np.mean(~np.isnan(scores), axis=0) >= PREDICTOR_COVERAGE)
        if not keep.any():
            continue
        predictors = [m for m, k in zip(others, keep, strict=True) if k]
        store.put_imputer(model, choose_imputer(predictors, scores[:, keep], embeddings, y)[0])
        fitted.append(model)
    return fitted


def _mean_score(summary: Sequence[float] | None) -> float:
    return summary[1] / summary[0] if summary and summary[0] > 0 else float("nan")
