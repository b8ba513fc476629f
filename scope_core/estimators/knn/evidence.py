"""The knn's arithmetic, shared by the estimate and its fit: similarity weights, shrunk means, the prior moved by
the other models' evidence, the shrunk P(correct), and imputed pseudo-outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from scope_core.estimators.base import QueryContext, evidence_matrix
from scope_core.estimators.knn.imputer import Imputer
from scope_core.store import summary as sm

DEFAULT_P = 0.5  # P(correct) for a model with no scored outcome anywhere
DEFAULT_TEMPERATURE = 0.2  # similarity weighting where the store has no fit (``knn.fit``)
DEFAULT_PRIOR_STRENGTH = 8.0  # pseudo-outcomes behind the global mean where the store has no fit
DEFAULT_OUTPUT_TOKENS = 256.0  # output length for a model with no usage anywhere
DEFAULT_USAGE_PRIOR_STRENGTH = 1.0  # pseudo-outcomes behind a model's mean output length without a fit
GLOBAL_PRIOR_STRENGTH = 20.0  # pseudo-outcomes at the population mean behind each model's global mean


def similarity_weights(similarities: np.ndarray, temperature: float, scored: np.ndarray | None = None) -> np.ndarray:
    """exp((s - s_max) / T): 1 for the closest neighbour carrying scored evidence, smaller for the rest.

    Taking s_max over scored neighbours only keeps a closer but unscored record (a repeat of the
    query whose feedback is pending) from shrinking everyone else's weight.
    """
    if similarities.size == 0:
        return similarities
    reference = similarities[scored] if scored is not None and scored.any() else similarities
    return np.exp(np.minimum(similarities - reference.max(), 0.0) / temperature)


def global_means(
    priors: dict[str, sm.Summary], prior: np.ndarray, strength: float = GLOBAL_PRIOR_STRENGTH
) -> np.ndarray:
    """Each candidate's global mean score, itself shrunk toward the mean over all models.

    A model known from a handful of outcomes is not judged on them alone: its mean counts as
    ``strength`` pseudo-outcomes at the population mean (the second level of the empirical Bayes).
    """
    return shrunk_means(prior, np.asarray(list(priors.values()), dtype=np.float64).reshape(-1, sm.WIDTH), strength)


def shrunk_means(prior: np.ndarray, population: np.ndarray, strength: float = GLOBAL_PRIOR_STRENGTH) -> np.ndarray:
    """Mean scores of ``prior``'s rows, each shrunk by ``strength`` pseudo-outcomes toward the mean score of
    ``population`` (summary rows of all models)."""
    all_n = population[:, sm.N_SCORED].sum()
    pop = population[:, sm.SCORE_SUM].sum() / all_n if all_n > 0 else DEFAULT_P
    return (prior[:, sm.SCORE_SUM] + strength * pop) / (prior[:, sm.N_SCORED] + strength)


def shifted_prior(s_w: np.ndarray, n_w: np.ndarray, mu: np.ndarray, shift: float, strength: float) -> np.ndarray:
    """The prior means ``mu`` (models on the last axis) moved by how the OTHER models did on the neighbours than
    their own priors say: ``shift`` times the mean residual of the others' weighted evidence (``s_w`` scores,
    ``n_w`` counts), behind ``strength`` pseudo-outcomes at 0. A neighbourhood every answering model finds easy
    (or hard) moves every model's prior, those never tried there included."""
    if not shift:
        return mu
    residual = s_w - n_w * mu
    others = (residual.sum(axis=-1, keepdims=True) - residual) / (n_w.sum(axis=-1, keepdims=True) - n_w + strength)
    return np.clip(mu + shift * others, 1e-3, 1 - 1e-3)


def shrunk_p(
    ev: np.ndarray,
    similarities: np.ndarray,
    mu: np.ndarray,
    temperature: float,
    tau: float,
    shift: float = 0.0,
    shift_strength: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """P(correct) per candidate from neighbour evidence ``ev`` (k, m, width) shrunk toward ``mu`` (shifted by the
    other models' evidence, ``shifted_prior``).

    Returns (p, denom, n_w, w): the estimate, its pseudo-count, the weighted scored count and the
    neighbour weights.
    """
    w = similarity_weights(similarities, temperature, ev[:, :, sm.N_SCORED].sum(axis=1) > 0)
    n_w, s_w = w @ ev[:, :, sm.N_SCORED], w @ ev[:, :, sm.SCORE_SUM]
    mu = shifted_prior(s_w, n_w, mu, shift, shift_strength)
    denom = n_w + tau
    p = np.where(denom > 0, (s_w + tau * mu) / np.where(denom > 0, denom, 1.0), mu)
    return np.clip(p, 0.0, 1.0), denom, n_w, w


def posterior_spread(p: np.ndarray, denom: np.ndarray, tau: float, mu: np.ndarray, n_mu: np.ndarray) -> np.ndarray:
    """The standard deviation of P(correct) ``p`` (per model): the Beta posterior's own, p(1 - p) / (denom + 2),
    plus the uncertainty of the prior mean ``mu`` it leans on (an average of ``n_mu`` outcomes: variance
    mu(1 - mu) / (n_mu + 1)) in the share tau / denom the prior carries. A model known from few outcomes, nearby
    and behind its prior, is uncertain even where ``tau`` pseudo-outcomes make its posterior look narrow (at a
    prior strength of ``GROUP_ONLY`` the spread is the prior mean's alone)."""
    lean = np.divide(tau, denom, out=np.ones_like(denom), where=denom > 0)
    prior_var = np.maximum(mu * (1 - mu), 1e-4) / (np.maximum(n_mu, 0.0) + 1.0)
    return np.sqrt(np.maximum(p * (1 - p), 1e-4) / (denom + 2.0) + lean**2 * prior_var)


def imputed_scores(
    own_scored: np.ndarray, others: np.ndarray, imputer: Imputer, embedding: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(missing, p): the neighbours where a model has no scored evidence (``own_scored``, shape (k,)) but
    its imputer's predictors do (``others``, (k, predictors, width)), and the imputed P(correct) there."""
    scored = others[:, :, sm.N_SCORED]
    missing = (own_scored == 0) & (scored > 0).any(axis=1)
    if not missing.any():
        return missing, np.zeros(0)
    scores = np.where(scored > 0, others[:, :, sm.SCORE_SUM] / np.maximum(scored, 1e-12), np.nan)
    return missing, imputer.predict(scores[missing], embedding)


def add_imputed(
    ev: np.ndarray, query: QueryContext, imputers: Mapping[str, Imputer], names: Sequence[str], weight: float
) -> None:
    """Where a candidate with an imputer has no scored evidence on a neighbour that other models
    answered, add ``weight`` pseudo-outcomes at the imputed P(correct) (in place)."""
    if weight <= 0:
        return
    for i, name in enumerate(names):
        imputer = imputers.get(name)
        if imputer is None:
            continue
        others = evidence_matrix(query.neighbours, imputer.predictors)
        missing, p = imputed_scores(ev[:, i, sm.N_SCORED], others, imputer, query.embedding)
        ev[missing, i, sm.N_SCORED] += weight
        ev[missing, i, sm.SCORE_SUM] += weight * p
