"""KNNEstimator: similarity-weighted evidence from the nearest prompts, shrunk toward each
model's global behaviour when evidence is thin (empirical Bayes, a Beta prior per model)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from scope_core.errors import InvalidInputError
from scope_core.estimators.base import LocalEstimator, QueryContext, evidence_matrix, prior_matrix
from scope_core.estimators.estimate import Estimate, Evidence
from scope_core.estimators.knn.evidence import (
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_PRIOR_STRENGTH,
    DEFAULT_TEMPERATURE,
    DEFAULT_USAGE_PRIOR_STRENGTH,
    GLOBAL_PRIOR_STRENGTH,
    add_imputed,
    global_means,
    posterior_spread,
    shrunk_p,
)
from scope_core.estimators.knn.settings import DEFAULT_IMPUTED_WEIGHT, KNNFit, KNNSettings
from scope_core.estimators.knn.tokens import robust_usage
from scope_core.estimators.registry import register_estimator
from scope_core.specs import ModelSpec
from scope_core.store import summary as sm
from scope_core.store.records import NeighbourIndex

if TYPE_CHECKING:
    from scope_core.store.behaviour import BehaviourStore

NO_FIT = KNNFit()  # a store the knn was never fitted on: defaults, no imputers


@functools.lru_cache(maxsize=4)
def load_knn_fit(saved: str) -> KNNFit:
    """A saved knn fit, parsed once per registry snapshot (the same string comes back until the fit changes)."""
    return KNNFit.model_validate_json(saved)


@dataclass(frozen=True)
class NeighbourEstimate:
    """Each model's estimate from its neighbours, before the fit's final map (``KNNEstimator.refine``)."""

    names: Sequence[str]
    p: np.ndarray  # P(correct)
    out: np.ndarray  # output tokens
    weights: np.ndarray  # the neighbours' weights


@register_estimator("knn")
class KNNEstimator(LocalEstimator):
    """P(correct) = (sum_j w_j*score_j + tau*mu) / (sum_j w_j*n_j + tau), with mu the model's prior mean.

    The prior mean is the model's mean on the query's groups (tasks or clusters, ``knn.groups``)
    where the store's fit has a group prior and ``groups`` is on, else its global mean.

    ``prior_strength`` (tau) is the number of pseudo-outcomes the prior mean counts for;
    ``prior_strength=0`` gives plain similarity-weighted kNN (no shrinkage). ``temperature``,
    ``prior_strength`` and ``usage_prior_strength`` left at None come from the store's fit (``fit``: chosen by
    leave-one-out on the store's own outcomes, ``scope_core.estimators.knn.fit``; p is then the mean over the
    fit's ensemble of settings), or the documented defaults on a store without one; with ``calibrate`` the fit's
    calibration map is applied to p.
    Output lengths (hence cost) are shrunk the same way, toward the model's group (or global) mean
    length, with ``usage_prior_strength`` pseudo-outcomes.
    A partly profiled model with an imputer (``knn.imputer``) gets ``imputed_weight``
    pseudo-outcomes on each neighbour it never answered (None: the fit's, chosen by leave-one-out, else
    one real outcome's worth); 0 turns imputation off.
    """

    name = "knn"

    def __init__(
        self,
        temperature: float | None = None,
        prior_strength: float | None = None,
        name: str | None = None,
        *,
        usage_prior_strength: float | None = None,
        imputed_weight: float | None = None,
        calibrate: bool = True,
        groups: bool = True,
    ) -> None:
        if temperature is not None and temperature <= 0:
            raise InvalidInputError("temperature must be > 0")
        if any(x is not None and x < 0 for x in (prior_strength, usage_prior_strength)):
            raise InvalidInputError("prior strengths must be >= 0")
        self.temperature, self.prior_strength = temperature, prior_strength
        self.name = name or type(self).name
        self.usage_prior_strength, self.imputed_weight = usage_prior_strength, imputed_weight
        self.calibrate, self.groups = calibrate, groups

    def weighting(self, fit: KNNSettings | None) -> tuple[float, float]:
        """(temperature, prior_strength): this estimator's own, else the store's fit, else the defaults."""
        default = (fit.temperature, fit.prior_strength) if fit else (DEFAULT_TEMPERATURE, DEFAULT_PRIOR_STRENGTH)
        return (
            self.temperature if self.temperature is not None else default[0],
            self.prior_strength if self.prior_strength is not None else default[1],
        )

    def members(self, fit: KNNSettings | None) -> list[tuple[float, float]]:
        """The (temperature, prior strength) settings whose estimates are averaged: the fit's ensemble,
        unless this estimator sets either itself."""
        if fit is None or not fit.members or self.temperature is not None or self.prior_strength is not None:
            return [self.weighting(fit)]
        return fit.members

    def imputation_weight(self, fit: KNNSettings | None) -> float:
        """Pseudo-outcomes per imputed score: this estimator's own, else the fit's, else the default."""
        if self.imputed_weight is not None:
            return self.imputed_weight
        return fit.imputed_weight if fit else DEFAULT_IMPUTED_WEIGHT

    def usage_strength(self, fit: KNNSettings | None) -> float:
        """Pseudo-outcomes behind the prior output length: this estimator's own, else the fit's, else the default."""
        if self.usage_prior_strength is not None:
            return self.usage_prior_strength
        return fit.usage_prior_strength if fit else DEFAULT_USAGE_PRIOR_STRENGTH

    # -- its fit ---------------------------------------------------------------------------------
    fit_name = "knn"  # every estimator of the family reads (and writes) this one fit

    def fit(self, store: BehaviourStore, *, k: int, index: NeighbourIndex | None = None) -> KNNFit:
        """Fit imputers for the store's partly profiled models, then the settings, on the store's own outcomes."""
        from scope_core.estimators.knn.fit import fit_settings
        from scope_core.estimators.knn.imputer_fit import fit_imputers

        imputers = fit_imputers(store)
        return KNNFit(settings=fit_settings(store, imputers, k=k, index=index), imputers=imputers)

    def load_fit(self, saved: str) -> KNNFit:
        return load_knn_fit(saved)

    def fit_of(self, query: QueryContext) -> KNNFit:
        """The knn fit saved in the query's store, or the defaults when it was never fitted."""
        saved = query.fits.get(self.fit_name)
        return load_knn_fit(saved) if saved else NO_FIT

    # -- the estimate ------------------------------------------------------------------------
    def refine(
        self, query: QueryContext, settings: KNNSettings | None, raw: NeighbourEstimate
    ) -> tuple[np.ndarray, np.ndarray]:
        """The final P(correct) and output tokens from the neighbour estimates: the fit's calibration map."""
        p = settings.calibrate(raw.p) if self.calibrate and settings is not None else raw.p
        return p, raw.out

    def estimate(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> list[Estimate]:
        names = [c.name for c in candidates]
        nb = query.neighbours
        fit = self.fit_of(query)
        settings = fit.settings
        ev = evidence_matrix(nb, names)  # (k, m, width)
        add_imputed(ev, query, fit.imputers, names, self.imputation_weight(settings))
        prior = prior_matrix(query.priors, names)  # (m, width)
        temperature, tau = self.weighting(settings)
        mu = global_means(query.priors, prior)
        u_prior = np.maximum(prior[:, sm.N_USAGE], 1.0)
        out_prior = np.where(prior[:, sm.N_USAGE] > 0, prior[:, sm.OUT_SUM] / u_prior, DEFAULT_OUTPUT_TOKENS)
        n_mu = prior[:, sm.N_SCORED] + GLOBAL_PRIOR_STRENGTH  # outcomes behind each prior mean
        if self.groups and settings is not None and settings.groups is not None:
            mu, out_prior, n_mu = settings.groups.priors(query.embedding, names, mu, out_prior, n_mu)
        # p is the mean over the settings' estimates (the fit's ensemble, or this one setting); the
        # weights of (temperature, tau) also weigh the token evidence below
        members = self.members(settings)
        shift = (settings.shift, settings.shift_strength) if settings is not None else (0.0, 1.0)
        runs = {m: shrunk_p(ev, nb.similarities, mu, *m, *shift) for m in dict.fromkeys([(temperature, tau), *members])}
        p = np.mean([runs[m][0] for m in members], axis=0)
        denom, n_w, w = runs[(temperature, tau)][1:]
        # output and extra input tokens: same shrinkage, toward the model's group (else global) means, on evidence
        # whose outlying lengths are clipped (knn.tokens)
        windows = np.asarray([c.context_window for c in candidates], dtype=np.float64)
        ev, out_prior = robust_usage(ev, w, out_prior, windows)
        u_w = w @ ev[:, :, sm.N_USAGE]
        tau_u = max(self.usage_strength(settings), 1e-9)
        out = (w @ ev[:, :, sm.OUT_SUM] + tau_u * out_prior) / (u_w + tau_u)
        p, out = self.refine(query, settings, NeighbourEstimate(names, p, out, w))
        # the spread of the fit's best setting (the ensemble's mean is no posterior of its own)
        p_std = posterior_spread(p, denom, tau, mu, n_mu)
        # recorded input tokens minus the prompt's own count: template or few-shot overhead
        extra_nb = (
            w @ (ev[:, :, sm.IN_SUM] - ev[:, :, sm.N_USAGE] * nb.tokens[:, None]) if nb.ids else np.zeros(len(names))
        )
        extra = np.maximum(extra_nb / np.maximum(u_w, 1e-9), 0.0) * (u_w / (u_w + tau_u))
        inp = query.input_tokens + extra

        ids, sims = list(nb.ids), [round(float(x), 4) for x in nb.similarities]
        # model_construct: every field is computed here, so pydantic validation would only cost time
        return [
            Estimate.model_construct(
                model=spec.name,
                p_correct=float(p[i]),
                p_std=float(p_std[i]),
                input_tokens=float(inp[i]),
                output_tokens=float(out[i]),
                cost_usd=spec.cost(float(inp[i]), float(out[i])),
                evidence=Evidence.model_construct(neighbour_ids=ids, similarities=sims, effective_n=float(n_w[i])),
                cold_start=bool(prior[i, sm.N_SCORED] == 0 and spec.name not in fit.imputers),
            )
            for i, spec in enumerate(candidates)
        ]


@register_estimator("knn-plain")
def plain_knn() -> KNNEstimator:
    """Similarity-weighted kNN alone: fixed temperature, no shrinkage, groups, imputers or calibration (a baseline)."""
    return KNNEstimator(
        temperature=DEFAULT_TEMPERATURE,
        prior_strength=0.0,
        name="knn-plain",
        imputed_weight=0.0,
        calibrate=False,
        groups=False,
    )
