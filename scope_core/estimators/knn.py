"""KNNEstimator: similarity-weighted evidence from the nearest prompts, shrunk toward each
model's global behaviour when evidence is thin (empirical Bayes, a Beta prior per model)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import summary as sm
from ..decision import Estimate, Evidence
from ..specs import ModelSpec
from .base import LocalEstimator, QueryContext, evidence_matrix, prior_matrix

DEFAULT_P = 0.5  # P(correct) for a model with no scored outcome anywhere
DEFAULT_OUTPUT_TOKENS = 256.0  # output length for a model with no usage anywhere


def similarity_weights(similarities: np.ndarray, temperature: float) -> np.ndarray:
    """exp((s - s_max) / T): 1 for the closest neighbour, smaller for the rest."""
    if similarities.size == 0:
        return similarities
    return np.exp((similarities - similarities.max()) / temperature)


class KNNEstimator(LocalEstimator):
    """P(correct) = (sum_j w_j*score_j + tau*mu) / (sum_j w_j*n_j + tau), with mu the model's global mean.

    ``prior_strength`` (tau) is the number of pseudo-outcomes the global mean counts for;
    ``prior_strength=0`` gives plain similarity-weighted kNN (no shrinkage).
    """

    def __init__(self, temperature: float = 0.05, prior_strength: float = 4.0, name: str = "knn") -> None:
        if temperature <= 0:
            raise ValueError("temperature must be > 0")
        if prior_strength < 0:
            raise ValueError("prior_strength must be >= 0")
        self.temperature, self.prior_strength, self.name = temperature, prior_strength, name

    def estimate(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> list[Estimate]:
        names = [c.name for c in candidates]
        nb = query.neighbours
        w = similarity_weights(nb.similarities, self.temperature)
        ev = evidence_matrix(nb, names)  # (k, m, width)
        prior = prior_matrix(query.priors, names)  # (m, width)
        tau = self.prior_strength

        mu = np.where(
            prior[:, sm.N_SCORED] > 0, prior[:, sm.SCORE_SUM] / np.maximum(prior[:, sm.N_SCORED], 1), DEFAULT_P
        )
        n_w = w @ ev[:, :, sm.N_SCORED]
        s_w = w @ ev[:, :, sm.SCORE_SUM]
        denom = n_w + tau
        p = np.where(denom > 0, (s_w + tau * mu) / np.where(denom > 0, denom, 1.0), mu)
        p = np.clip(p, 0.0, 1.0)
        # Beta posterior spread with (denom) pseudo-observations
        p_std = np.sqrt(p * (1 - p) / (denom + 1.0))

        # output and extra input tokens: same shrinkage, toward the model's global means
        u_w = w @ ev[:, :, sm.N_USAGE]
        u_prior = np.maximum(prior[:, sm.N_USAGE], 1.0)
        has_usage = prior[:, sm.N_USAGE] > 0
        out_prior = np.where(has_usage, prior[:, sm.OUT_SUM] / u_prior, DEFAULT_OUTPUT_TOKENS)
        tau_u = max(tau, 1.0)
        out = (w @ ev[:, :, sm.OUT_SUM] + tau_u * out_prior) / (u_w + tau_u)
        # recorded input tokens minus the prompt's own count: template or few-shot overhead
        extra_nb = (
            w @ (ev[:, :, sm.IN_SUM] - ev[:, :, sm.N_USAGE] * nb.tokens[:, None]) if nb.ids else np.zeros(len(names))
        )
        extra = np.maximum(extra_nb / np.maximum(u_w, 1e-9), 0.0) * (u_w / (u_w + tau_u))
        inp = query.input_tokens + extra

        evidence = Evidence(neighbour_ids=list(nb.ids), similarities=[round(float(s), 4) for s in nb.similarities])
        return [
            Estimate(
                model=spec.name,
                p_correct=float(p[i]),
                p_std=float(p_std[i]),
                input_tokens=float(inp[i]),
                output_tokens=float(out[i]),
                cost_usd=spec.cost(float(inp[i]), float(out[i])),
                evidence=evidence.model_copy(update={"effective_n": float(n_w[i])}),
            )
            for i, spec in enumerate(candidates)
        ]
