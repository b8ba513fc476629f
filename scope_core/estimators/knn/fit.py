"""fit_settings: choose the knn estimator's settings, its group prior and a calibration map on a store's own outcomes.

Leave-one-out: up to ``max_queries`` stored prompts with scored outcomes are drawn at random; each is
looked up in the store, its own record is dropped from its neighbourhood and its outcomes from the
global priors and from its group, and the rest predict its models' scores. Chosen by the lowest
held-out log loss, in steps:

1. the group prior (``scope_core.groups``): the membership temperature and the group means'
   shrinkage strength, each from a fixed grid;
2. the neighbours' similarity temperature and prior strength (pseudo-outcomes behind the prior
   mean: the group prior's, or the model's global mean where that predicts better; ``GROUP_ONLY``
   lets the prior stand alone where the neighbours only add noise);
3. the estimate is the mean over an ensemble (``ensemble``): each temperature of the grid with
   its best prior strength, and the prior mean alone;
4. where partly profiled models have imputers, the pseudo-outcomes each imputed score counts for,
   on those models' held-out pairs, imputed by imputers refitted without the held-out prompt's fold.

A Platt map fitted on the ensemble's held-out predictions is the calibration. The output
lengths' prior strength is chosen the same way, by the held-out mean absolute log error of the
predicted output tokens. The prompt-feature map of ``knn-features`` (``scope_core.fit_features``) is
fitted on the same held-out predictions. Nothing here was tuned on any data set: the grids span the
plausible range, and a store with fewer than ``min_queries`` scored prompts keeps the defaults.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from scope_core.estimators.base import prior_matrix
from scope_core.estimators.knn.estimator import (
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_PRIOR_STRENGTH,
    DEFAULT_TEMPERATURE,
    shrunk_means,
)
from scope_core.estimators.knn.features import FeatureFit, logit, prompt_features
from scope_core.estimators.knn.features_fit import fit_features, pairs_of
from scope_core.estimators.knn.groups import GroupTable
from scope_core.estimators.knn.imputer import Imputer, log_loss
from scope_core.estimators.knn.imputer_fit import imputed_evidence, imputed_weight, out_of_fold, with_imputed
from scope_core.estimators.knn.loo import (
    held_out,
    held_out_p,
    held_out_tokens,
    pairs,
    summaries,
    weighted_evidence,
    weights,
)
from scope_core.estimators.knn.settings import DEFAULT_IMPUTED_WEIGHT, KNNSettings
from scope_core.store import summary as sm
from scope_core.store.behaviour import BehaviourStore
from scope_core.store.memory_index import MemoryIndex
from scope_core.store.records import NeighbourIndex

TEMPERATURES = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
GROUP_ONLY = 1e6  # a prior strength at which the neighbours count for nothing: the prior mean alone
PRIOR_STRENGTHS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 256.0, GROUP_ONLY)
MEMBERSHIP_TEMPERATURES = (0.01, 0.02, 0.05, 0.1)
GROUP_STRENGTHS = (1.0, 4.0, 16.0, 64.0)
USAGE_STRENGTHS = (0.25, 1.0, 4.0, 16.0, 64.0)
SHIFTS = (0.0, 0.5, 1.0, 2.0)  # how far the other models' neighbour evidence moves a prior (0: not at all)
SHIFT_STRENGTHS = (1.0, 8.0)


def _features(
    rows, metas: list[dict[str, object]], own: np.ndarray, p: np.ndarray, out: np.ndarray, temperature: float, models
) -> FeatureFit:
    """The prompt-feature map (``scope_core.fit_features``) on the held-out rows: ``p`` and ``out`` are the
    estimator's held-out P(correct) and output tokens (prompts, models), ``own`` the rows' own summaries."""
    x = np.stack(
        [
            prompt_features(float(meta.get("tok") or 0), tokens, weights(ev, sims, temperature))  # type: ignore[arg-type]
            for (ev, sims, tokens), meta in zip(rows, metas, strict=True)
        ]
    )
    scored, used = own[:, :, sm.N_SCORED] > 0, own[:, :, sm.N_USAGE] > 0
    y = own[:, :, sm.SCORE_SUM] / np.maximum(own[:, :, sm.N_SCORED], 1e-12)
    ratio = np.log(np.maximum(own[:, :, sm.OUT_SUM] / np.maximum(own[:, :, sm.N_USAGE], 1e-12), 1.0))
    ratio -= np.log(np.maximum(out, 1.0))
    return fit_features(x, pairs_of(scored, y, p), pairs_of(used, ratio), models)


def _usage_strength(weighted: np.ndarray, own: np.ndarray, prior_out: np.ndarray) -> float:
    """The output lengths' prior strength with the lowest held-out mean absolute log error."""
    has = own[:, :, sm.N_USAGE] > 0
    if not has.any():
        return USAGE_STRENGTHS[1]
    observed = np.log(np.maximum(own[:, :, sm.OUT_SUM], 1.0) / np.maximum(own[:, :, sm.N_USAGE], 1.0))

    def error(tau: float) -> float:
        predicted = held_out_tokens(weighted, prior_out, tau)
        return float(np.mean(np.abs(np.log(np.maximum(predicted[has], 1.0)) - observed[has])))

    return min(USAGE_STRENGTHS, key=error)


def ensemble(best_strength: dict[float, float]) -> list[tuple[float, float]]:
    """The averaged estimates: at each temperature its best prior strength, and the prior mean alone.

    One setting picked by a log loss that barely tells its neighbours apart moves choices between
    models at random (the loss rewards a sharper common difficulty signal, the choice pays for the
    noisier differences between models); the mean over the grid keeps what every setting agrees on.
    """
    members = [(t, x) if x < GROUP_ONLY else (max(best_strength), GROUP_ONLY) for t, x in best_strength.items()]
    return list(dict.fromkeys([*members, (max(best_strength), GROUP_ONLY)]))


def calibration_map(p: np.ndarray, y: np.ndarray, n_knots: int = 101) -> tuple[list[float], list[float]]:
    """Knots of a Platt map p -> sigmoid(a * logit(p) + b), (a, b) fitted by log loss on held-out pairs.

    Strictly increasing for a > 0, so it keeps every ranking of p (across models too) and only
    reshapes the scale; a < 1 tempers overconfident estimates. A staircase (isotonic) map was
    tried and lost AIQ: its flat steps tie models that the raw estimates tell apart.
    """
    z = logit(p)

    def loss(ab: np.ndarray) -> float:
        return log_loss(1 / (1 + np.exp(-(ab[0] * z + ab[1]))), y)

    a, b = minimize(loss, x0=np.asarray([1.0, 0.0]), method="Nelder-Mead").x
    a = max(a, 1e-3)  # never reverse or flatten the ranking
    xs = np.linspace(0.0, 1.0, n_knots)
    return xs.tolist(), (1 / (1 + np.exp(-(a * logit(xs) + b)))).tolist()


def fit_settings(
    store: BehaviourStore,
    imputers: dict[str, Imputer],
    *,
    k: int,
    max_queries: int = 2000,
    max_prompts: int = 20_000,
    min_queries: int = 200,
    seed: int = 0,
    index: NeighbourIndex | None = None,
) -> KNNSettings | None:
    """The knn settings for the store (see the module docstring), with ``imputers`` for its partly profiled models,
    or None when it holds too few scored prompts.

    Groups and their means come from up to ``max_prompts`` stored prompts, the held-out
    predictions from up to ``max_queries`` of them, their neighbours searched in ``index`` if given, else
    exactly in memory when the sample is the whole store, else in the store.
    """
    registry = store.registry()
    models = sorted(registry.specs)
    ids, vectors, metas = store.sample_prompts(max_prompts, seed) if models else ([], np.zeros((0, 0)), [])
    own = summaries(metas, models)
    scored = np.flatnonzero((own[:, :, sm.N_SCORED] > 0).any(axis=1)) if len(ids) else np.zeros(0, dtype=int)
    if len(scored) < min_queries:
        return None
    held = np.sort(np.random.default_rng(seed).permutation(scored)[:max_queries])
    if index is None and len(ids) >= store.count_prompts():  # the sample is the whole store: search it exactly
        index = MemoryIndex.from_records(ids, vectors, metas)
    found = held_out(index or store, [ids[i] for i in held], vectors[held], models, k)
    held = np.asarray([i for i, r in zip(held, found, strict=True) if r is not None], dtype=int)
    rows = [r for r in found if r is not None]
    if len(rows) < min_queries:
        return None
    prior = prior_matrix(registry.priors, models)
    loo = prior[None] - own[held]  # each held-out prompt's outcomes leave the priors too
    mu_global = np.stack([shrunk_means(p, p) for p in loo])
    y_of = (own[held, :, sm.N_SCORED] > 0, own[held, :, sm.SCORE_SUM] / np.maximum(own[held, :, sm.N_SCORED], 1))

    groups = GroupTable(vectors, metas, own, seed)
    group_fits = {
        (t, s): groups.loo_means(held, vectors[held], own[held], mu_global, t, s)
        for t in MEMBERSHIP_TEMPERATURES
        for s in GROUP_STRENGTHS
    }
    t_g, s_g = min(group_fits, key=lambda ts: log_loss(group_fits[ts][y_of[0]], y_of[1][y_of[0]]))
    priors = {"global": mu_global, "groups": group_fits[(t_g, s_g)]}
    weighted = {t: weighted_evidence(rows, t) for t in {*TEMPERATURES, DEFAULT_TEMPERATURE}}
    losses = {
        (name, t, tau, shift): log_loss(*pairs(held_out_p(weighted[t], mu, tau, *shift), own[held]))
        for name, mu in priors.items()
        for t in TEMPERATURES
        for tau in PRIOR_STRENGTHS
        for shift in [(0.0, 1.0), *((x, k) for x in SHIFTS[1:] for k in SHIFT_STRENGTHS)]
    }
    default = log_loss(*pairs(held_out_p(weighted[DEFAULT_TEMPERATURE], mu_global, DEFAULT_PRIOR_STRENGTH), own[held]))
    name, temperature, tau, shift = min(losses, key=losses.get)
    members = ensemble({t: min(PRIOR_STRENGTHS, key=lambda x: losses[(name, t, x, shift)]) for t in TEMPERATURES})
    cols = [j for j, m in enumerate(models) if m in imputers]
    omega = DEFAULT_IMPUTED_WEIGHT
    if cols:  # partly profiled models: the weight of their imputed scores, then the rest with it
        refits = out_of_fold(held, vectors, own, models, imputers, seed)
        imputed = imputed_evidence(rows, vectors[held], models, imputers, refits, {t for t, _ in members})
        omega = imputed_weight(weighted, imputed, priors[name], own[held], members, cols, shift)
        weighted = {t: with_imputed(w, imputed[t], omega) if t in imputed else w for t, w in weighted.items()}
    p_held = np.mean([held_out_p(weighted[t], priors[name], x, *shift) for t, x in members], axis=0)
    p, y = pairs(p_held, own[held])
    out_global = np.where(
        loo[:, :, sm.N_USAGE] > 0, loo[:, :, sm.OUT_SUM] / np.maximum(loo[:, :, sm.N_USAGE], 1.0), DEFAULT_OUTPUT_TOKENS
    )
    prior_out = (
        groups.loo_tokens(held, vectors[held], own[held], out_global, t_g, s_g) if name == "groups" else out_global
    )
    xs, ys = calibration_map(p, y)
    usage_strength = _usage_strength(weighted[temperature], own[held], prior_out)
    features = _features(
        rows,
        [metas[i] for i in held],
        own[held],
        p_held,
        held_out_tokens(weighted[temperature], prior_out, usage_strength),
        temperature,
        models,
    )
    return KNNSettings(
        temperature=temperature,
        prior_strength=tau,
        members=members,
        usage_prior_strength=usage_strength,
        shift=shift[0],
        shift_strength=shift[1],
        imputed_weight=omega,
        features=features,
        groups=groups.prior(models, t_g, s_g) if name == "groups" else None,
        calibration_x=xs,
        calibration_y=ys,
        n_queries=len(rows),
        n_pairs=len(p),
        log_loss=log_loss(p, y),
        log_loss_default=default,
    )
