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

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize

from scope_core.estimators.base import evidence_matrix, prior_matrix
from scope_core.estimators.knn.estimator import (
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_PRIOR_STRENGTH,
    DEFAULT_TEMPERATURE,
    imputed_scores,
    shrunk_means,
    similarity_weights,
)
from scope_core.estimators.knn.features import FeatureFit, logit, prompt_features
from scope_core.estimators.knn.features_fit import fit_features, pairs_of
from scope_core.estimators.knn.groups import GroupPrior, centroids, group_labels, group_means, memberships
from scope_core.estimators.knn.imputer import Imputer, log_loss
from scope_core.estimators.knn.imputer_fit import fit_imputer
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
IMPUTED_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
IMPUTER_FOLDS = 5
MIN_IMPUTED_PAIRS = 30  # held-out scored pairs of models with an imputer needed to choose their weight


def _summaries(metas: Sequence[dict[str, object]], models: list[str]) -> np.ndarray:
    """(prompts, models, width) summaries packed in prompt metadata."""
    out = np.zeros((len(metas), len(models), sm.WIDTH))
    for i, meta in enumerate(metas):
        stats = sm.loads(meta.get("stats"))  # type: ignore[arg-type]
        for j, model in enumerate(models):
            if model in stats:
                out[i, j] = stats[model]
    return out


def _held_out(store: NeighbourIndex, ids: Sequence[str], vectors: np.ndarray, models: list[str], k: int):
    """Per held-out prompt: its neighbours' evidence, similarities and prompt tokens (itself dropped); None
    where the approximate search missed the prompt itself."""
    rows = []
    for pid, vector in zip(ids, vectors, strict=True):
        nb = store.nearest(vector, k + 1)
        if pid not in nb.ids:
            rows.append(None)
            continue
        at = nb.ids.index(pid)
        ev = np.delete(evidence_matrix(nb, models), at, axis=0)[:k]
        rows.append((ev, np.delete(nb.similarities, at)[:k], np.delete(nb.tokens, at)[:k]))
    return rows


class _Groups:
    """The table's groups and their per-model outcome sums, with leave-one-out prior means."""

    def __init__(self, vectors: np.ndarray, metas: Sequence[dict[str, object]], own: np.ndarray, seed: int) -> None:
        self.source, self.labels, self.names = group_labels(vectors, [m.get("task") or None for m in metas], seed)
        self.centres = centroids(vectors, self.labels, len(self.names))
        keep = self.labels >= 0
        self.score_sum = np.zeros((len(self.names), own.shape[1]))
        self.n_scored = np.zeros_like(self.score_sum)
        np.add.at(self.score_sum, self.labels[keep], own[keep, :, sm.SCORE_SUM])
        np.add.at(self.n_scored, self.labels[keep], own[keep, :, sm.N_SCORED])
        self.out_sum, self.n_usage = np.zeros_like(self.score_sum), np.zeros_like(self.score_sum)
        np.add.at(self.out_sum, self.labels[keep], own[keep, :, sm.OUT_SUM])
        np.add.at(self.n_usage, self.labels[keep], own[keep, :, sm.N_USAGE])

    def loo_means(self, held: np.ndarray, vectors: np.ndarray, own: np.ndarray, mu: np.ndarray, t: float, s: float):
        """Prior mean scores of held-out rows (rows, models): group means without the row's own outcomes."""
        return self._loo(held, vectors, own, mu, t, s, (self.score_sum, self.n_scored), (sm.SCORE_SUM, sm.N_SCORED))

    def loo_tokens(self, held: np.ndarray, vectors: np.ndarray, own: np.ndarray, mu: np.ndarray, t: float, s: float):
        """The same for output tokens."""
        return self._loo(held, vectors, own, mu, t, s, (self.out_sum, self.n_usage), (sm.OUT_SUM, sm.N_USAGE))

    def _loo(self, held, vectors, own, mu, t, s, tables, fields):
        sums, counts = tables
        pi = memberships(vectors, self.centres, t)  # (rows, groups)
        out = np.einsum("rg,rgm->rm", pi, group_means(sums[None], counts[None], mu[:, None], s))
        g = self.labels[held]
        has = g >= 0
        full = group_means(sums[g], counts[g], mu, s)
        loo = group_means(sums[g] - own[:, :, fields[0]], counts[g] - own[:, :, fields[1]], mu, s)
        w = pi[np.arange(len(g)), np.where(has, g, 0)][:, None] * has[:, None]
        return out + w * (loo - full)

    def prior(self, models: list[str], t: float, s: float) -> GroupPrior:
        return GroupPrior(
            source=self.source,
            names=self.names,
            centroids=self.centres.tolist(),
            models=models,
            score_sum=self.score_sum.tolist(),
            n_scored=self.n_scored.tolist(),
            out_sum=self.out_sum.tolist(),
            n_usage=self.n_usage.tolist(),
            temperature=t,
            strength=s,
        )


def _weights(ev: np.ndarray, sims: np.ndarray, temperature: float) -> np.ndarray:
    return similarity_weights(sims, temperature, ev[:, :, sm.N_SCORED].sum(axis=1) > 0)


def _weighted(rows, temperature: float) -> np.ndarray:
    """(prompts, models, width): each held-out prompt's neighbour evidence weighted by similarity (as in
    ``shrunk_p``), computed once per temperature so every prior strength costs one array operation."""
    out = [_weights(ev, sims, temperature) @ ev.reshape(len(ev), -1) for ev, sims, _ in rows]
    return np.stack(out).reshape(len(rows), -1, sm.WIDTH)


def _p_matrix(weighted: np.ndarray, mu: np.ndarray, tau: float) -> np.ndarray:
    """Held-out predictions (``shrunk_p``'s formula), (prompts, models)."""
    n_w, s_w = weighted[:, :, sm.N_SCORED], weighted[:, :, sm.SCORE_SUM]
    denom = n_w + tau
    return np.clip(np.where(denom > 0, (s_w + tau * mu) / np.where(denom > 0, denom, 1.0), mu), 0.0, 1.0)


def _predict(p: np.ndarray, own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Held-out predictions ``p`` (prompts, models) and observed scores over every scored pair."""
    has = own[:, :, sm.N_SCORED] > 0
    return p[has], own[:, :, sm.SCORE_SUM][has] / own[:, :, sm.N_SCORED][has]


def _out_of_fold(
    held: np.ndarray, vectors: np.ndarray, own: np.ndarray, models: list[str], imputers: dict[str, Imputer], seed: int
) -> dict[str, dict[int, Imputer]]:
    """Per model with an imputer: for each held-out row where the model has an outcome, its imputer refitted
    (same predictors and penalties) without that prompt's fold, so the weight is chosen on outcomes no
    imputer saw. Rows where the model has no outcome keep the stored imputer (they carry no pairs of it)."""
    col = {m: j for j, m in enumerate(models)}
    position = {int(g): r for r, g in enumerate(held)}
    out: dict[str, dict[int, Imputer]] = {}
    for name, imputer in imputers.items():
        if name not in col or any(p not in col for p in imputer.predictors):
            continue
        i, cols = col[name], [col[p] for p in imputer.predictors]
        rows = np.flatnonzero(own[:, i, sm.N_SCORED] > 0)
        scores = np.where(own[rows][:, cols, sm.N_SCORED] > 0, own[rows][:, cols, sm.SCORE_SUM], np.nan)
        scores = scores / np.maximum(own[rows][:, cols, sm.N_SCORED], 1e-12)
        y = own[rows, i, sm.SCORE_SUM] / own[rows, i, sm.N_SCORED]
        fold = np.random.default_rng(seed).permutation(len(rows)) % IMPUTER_FOLDS
        out[name] = {}
        for f in range(IMPUTER_FOLDS):
            train = fold != f
            refit = fit_imputer(imputer.predictors, scores[train], vectors[rows][train], y[train], *imputer.penalties)
            out[name] |= {position[int(g)]: refit for g in rows[~train] if int(g) in position}
    return out


def _imputed(rows, vectors: np.ndarray, models: list[str], imputers: dict[str, Imputer], refits, temperatures):
    """{temperature: (prompts, models, 2)}: per held-out prompt, the similarity-weighted [count, score sum]
    of the imputed pseudo-outcomes (weight 1) on neighbours a model with an imputer never answered
    (``add_imputed``), imputed by the out-of-fold imputers ``refits`` (``_out_of_fold``)."""
    col = {m: j for j, m in enumerate(models)}
    out = {t: np.zeros((len(rows), len(models), 2)) for t in temperatures}
    for r, ((ev, sims, _), vector) in enumerate(zip(rows, vectors, strict=True)):
        found = []
        for name, by_row in refits.items():
            imp, i = by_row.get(r, imputers[name]), col[name]
            found.append(
                (i, *imputed_scores(ev[:, i, sm.N_SCORED], ev[:, [col[p] for p in imp.predictors]], imp, vector))
            )
        for t in temperatures:
            w = _weights(ev, sims, t)
            for i, missing, p in found:
                out[t][r, i] = w[missing].sum(), w[missing] @ p
    return out


def _imputed_weight(weighted, imputed, mu: np.ndarray, own: np.ndarray, members, cols: list[int]) -> float:
    """The imputed scores' weight with the lowest held-out log loss on the imputer models' pairs."""
    has = np.zeros(own.shape[:2], dtype=bool)
    has[:, cols] = own[:, cols, sm.N_SCORED] > 0
    if has.sum() < MIN_IMPUTED_PAIRS:
        return DEFAULT_IMPUTED_WEIGHT
    y = own[:, :, sm.SCORE_SUM][has] / own[:, :, sm.N_SCORED][has]

    def loss(omega: float) -> float:
        p = np.mean([_p_matrix(_add(weighted[t], imputed[t], omega), mu, x) for t, x in members], axis=0)
        return log_loss(p[has], y)

    return min(IMPUTED_WEIGHTS, key=loss)


def _add(weighted: np.ndarray, imputed: np.ndarray, omega: float) -> np.ndarray:
    """Weighted evidence with ``omega`` pseudo-outcomes per imputed score added."""
    out = weighted.copy()
    out[:, :, sm.N_SCORED] += omega * imputed[:, :, 0]
    out[:, :, sm.SCORE_SUM] += omega * imputed[:, :, 1]
    return out


def _features(
    rows, metas: list[dict[str, object]], own: np.ndarray, p: np.ndarray, out: np.ndarray, temperature: float, models
) -> FeatureFit:
    """The prompt-feature map (``scope_core.fit_features``) on the held-out rows: ``p`` and ``out`` are the
    estimator's held-out P(correct) and output tokens (prompts, models), ``own`` the rows' own summaries."""
    x = np.stack(
        [
            prompt_features(float(meta.get("tok") or 0), tokens, _weights(ev, sims, temperature))  # type: ignore[arg-type]
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
        predicted = _out_matrix(weighted, prior_out, tau)
        return float(np.mean(np.abs(np.log(np.maximum(predicted[has], 1.0)) - observed[has])))

    return min(USAGE_STRENGTHS, key=error)


def _out_matrix(weighted: np.ndarray, prior_out: np.ndarray, tau: float) -> np.ndarray:
    """Held-out predicted output tokens (the knn's formula), (prompts, models)."""
    return (weighted[:, :, sm.OUT_SUM] + tau * prior_out) / (weighted[:, :, sm.N_USAGE] + tau)


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
    own = _summaries(metas, models)
    scored = np.flatnonzero((own[:, :, sm.N_SCORED] > 0).any(axis=1)) if len(ids) else np.zeros(0, dtype=int)
    if len(scored) < min_queries:
        return None
    held = np.sort(np.random.default_rng(seed).permutation(scored)[:max_queries])
    if index is None and len(ids) >= store.count_prompts():  # the sample is the whole store: search it exactly
        index = MemoryIndex.from_records(ids, vectors, metas)
    found = _held_out(index or store, [ids[i] for i in held], vectors[held], models, k)
    held = np.asarray([i for i, r in zip(held, found, strict=True) if r is not None], dtype=int)
    rows = [r for r in found if r is not None]
    if len(rows) < min_queries:
        return None
    prior = prior_matrix(registry.priors, models)
    loo = prior[None] - own[held]  # each held-out prompt's outcomes leave the priors too
    mu_global = np.stack([shrunk_means(p, p) for p in loo])
    y_of = (own[held, :, sm.N_SCORED] > 0, own[held, :, sm.SCORE_SUM] / np.maximum(own[held, :, sm.N_SCORED], 1))

    groups = _Groups(vectors, metas, own, seed)
    group_fits = {
        (t, s): groups.loo_means(held, vectors[held], own[held], mu_global, t, s)
        for t in MEMBERSHIP_TEMPERATURES
        for s in GROUP_STRENGTHS
    }
    t_g, s_g = min(group_fits, key=lambda ts: log_loss(group_fits[ts][y_of[0]], y_of[1][y_of[0]]))
    priors = {"global": mu_global, "groups": group_fits[(t_g, s_g)]}
    weighted = {t: _weighted(rows, t) for t in {*TEMPERATURES, DEFAULT_TEMPERATURE}}
    losses = {
        (name, t, tau): log_loss(*_predict(_p_matrix(weighted[t], mu, tau), own[held]))
        for name, mu in priors.items()
        for t in TEMPERATURES
        for tau in PRIOR_STRENGTHS
    }
    default = log_loss(
        *_predict(_p_matrix(weighted[DEFAULT_TEMPERATURE], mu_global, DEFAULT_PRIOR_STRENGTH), own[held])
    )
    name, temperature, tau = min(losses, key=losses.get)
    members = ensemble({t: min(PRIOR_STRENGTHS, key=lambda x: losses[(name, t, x)]) for t in TEMPERATURES})
    cols = [j for j, m in enumerate(models) if m in imputers]
    omega = DEFAULT_IMPUTED_WEIGHT
    if cols:  # partly profiled models: the weight of their imputed scores, then the rest with it
        refits = _out_of_fold(held, vectors, own, models, imputers, seed)
        imputed = _imputed(rows, vectors[held], models, imputers, refits, {t for t, _ in members})
        omega = _imputed_weight(weighted, imputed, priors[name], own[held], members, cols)
        weighted = {t: _add(w, imputed[t], omega) if t in imputed else w for t, w in weighted.items()}
    p_held = np.mean([_p_matrix(weighted[t], priors[name], x) for t, x in members], axis=0)
    p, y = _predict(p_held, own[held])
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
        _out_matrix(weighted[temperature], prior_out, usage_strength),
        temperature,
        models,
    )
    return KNNSettings(
        temperature=temperature,
        prior_strength=tau,
        members=members,
        usage_prior_strength=usage_strength,
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
