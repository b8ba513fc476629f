"""alpha from a spending target: ``cost_share=0.3`` routes so as to spend about 30% of what always calling the
dearest candidate would cost, calibrated on the store's own outcomes (no constant tuned to a data set).

The calibration replays the policy over up to ``MAX_PROMPTS`` stored prompts: each is estimated as a new query
would be (its own record left out of its neighbours and its outcomes out of the priors), then chosen at every alpha
of ``GRID``; each choice is charged the chosen model's recorded cost on that prompt (its prediction where it has
none). The share at an alpha is the chosen models' total over the dearest candidate's total on the same prompts;
it only grows with alpha, so a target share is inverted by interpolating the curve (in log-odds of alpha). A
router keeps one curve per candidate set until the store's fit or registry changes (``CostShares``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from scope_core.errors import ScopeError, StoreError, UnknownModelError
from scope_core.estimators import DEFAULT_ESTIMATOR, LocalEstimator, QueryContext
from scope_core.estimators.registry import get_estimator
from scope_core.routing.policy import RouteOptions, cost_ref, eligibility
from scope_core.specs import ModelSpec
from scope_core.store import summary as sm
from scope_core.store.records import Neighbourhood

if TYPE_CHECKING:
    from scope_core.estimators.base import Estimator
    from scope_core.routing.store_view import StoreView
    from scope_core.store.behaviour import BehaviourStore


class CalibrationSource(Protocol):
    """What the calibration reads of a router (``scope_core.Router`` is one)."""

    store: BehaviourStore
    view: StoreView
    estimator: Estimator
    k: int

    def models(self) -> dict[str, ModelSpec]: ...


MAX_PROMPTS = 400  # stored prompts replayed per calibration (a few seconds, once per candidate set and fit)
MIN_PROMPTS = 10  # fewer usable prompts than this: no calibration
GRID = np.concatenate([[0.0], 1.0 / (1.0 + np.exp(-np.linspace(-9.0, 9.0, 91))), [1.0]])
_EDGE = 12.0  # log-odds standing in for alpha 0 and 1 when interpolating


@dataclass(frozen=True)
class ShareCurve:
    """The share of the dearest candidate's cost spent at each alpha of ``alphas``, on ``prompts`` stored prompts."""

    alphas: np.ndarray
    shares: np.ndarray
    prompts: int
    dearest: str

    def alpha_for(self, share: float) -> float:
        """The alpha expected to spend ``share``: 0 below the cheapest routes' share, 1 above the top one's."""
        if share <= self.shares[0]:
            return 0.0
        if share >= self.shares[-1]:
            return 1.0
        i = int(np.searchsorted(self.shares, share))
        lo, hi = _log_odds(self.alphas[i - 1]), _log_odds(self.alphas[i])
        frac = (share - self.shares[i - 1]) / (self.shares[i] - self.shares[i - 1])
        return float(1.0 / (1.0 + np.exp(-(lo + frac * (hi - lo)))))


def _log_odds(alpha: float) -> float:
    return float(np.log(alpha / (1 - alpha))) if 0 < alpha < 1 else _EDGE * (2 * alpha - 1)


def _typical(spec: ModelSpec, priors: dict[str, sm.Summary]) -> float:
    prior = priors.get(spec.name)
    return prior[sm.COST_SUM] / prior[sm.N_USAGE] if prior and prior[sm.N_USAGE] > 0 else spec.cost(500, 256)


def _without(nb: Neighbourhood, prompt_id: str, k: int) -> Neighbourhood:
    """The neighbourhood of a stored prompt as a new query would see it: itself left out."""
    keep = [i for i, n in enumerate(nb.ids) if n != prompt_id][:k]
    return Neighbourhood([nb.ids[i] for i in keep], nb.similarities[keep], nb.tokens[keep], [nb.stats[i] for i in keep])


def _recorded_cost(summary: sm.Summary | None) -> float | None:
    """A model's mean recorded cost on one prompt, if it has usage there."""
    return summary[sm.COST_SUM] / summary[sm.N_USAGE] if summary and summary[sm.N_USAGE] else None


def replay(router: CalibrationSource, candidates: Sequence[ModelSpec], max_prompts: int = MAX_PROMPTS, seed: int = 0):
    """The ShareCurve of ``candidates`` on ``router``'s store (see the module docstring)."""
    registry = router.view.registry()[0]
    estimator = router.estimator if isinstance(router.estimator, LocalEstimator) else get_estimator(DEFAULT_ESTIMATOR)
    store, index, k = router.store, router.view.index or router.store, router.k
    names = [c.name for c in candidates]
    specs = {c.name: c for c in candidates}
    dearest = max(candidates, key=lambda c: _typical(c, registry.priors)).name
    rows = []
    sampled = store.sample_prompts(max_prompts, seed) if store.count_prompts() else ([], [], [])
    for pid, vector, meta in zip(*sampled, strict=True):
        own = sm.loads(meta.get("stats"))  # type: ignore[arg-type]
        if not any(own.get(m, sm.empty())[sm.N_USAGE] for m in names):
            continue
        neighbours = _without(index.nearest(vector, k + 1), pid, k)
        priors = {m: list(s) for m, s in registry.priors.items()}
        sm.merge(priors, {m: s for m, s in own.items() if m in priors}, sign=-1.0)
        tokens = int(meta.get("tok") or 0)  # type: ignore[call-overload]
        context = QueryContext("", vector, tokens, neighbours, priors, registry.fits, store)
        estimates = {e.model: e for e in estimator.estimate(context, candidates)}
        eligible = {e.model for e in eligibility(list(estimates.values()), specs, RouteOptions())[0]}
        rows.append(
            (
                [estimates[m].p_correct for m in names],
                [estimates[m].cost_usd for m in names],
                [_recorded_cost(own.get(m)) or estimates[m].cost_usd for m in names],
                [m in eligible for m in names],
                cost_ref(candidates, priors, tokens),
            )
        )
    if len(rows) < MIN_PROMPTS:
        raise ScopeError(
            f"cost_share is calibrated on the store's own outcomes: {len(rows)} stored prompts carry usage of "
            f"{', '.join(names)} (at least {MIN_PROMPTS} needed); ingest or profile first, or pass alpha"
        )
    p, predicted, actual, ok, ref = (np.asarray(col, dtype=float) for col in zip(*rows, strict=True))
    ok, ref = ok.astype(bool), np.where(ref[:, None] > 0, ref[:, None], 1.0)
    at = np.arange(len(rows))
    shares = []
    for a in GRID:
        utility = np.where(ok, a * p - (1 - a) * predicted / ref, -np.inf)
        tied = utility == utility.max(axis=1, keepdims=True)
        chosen = np.argmin(np.where(tied, predicted, np.inf), axis=1)
        shares.append(actual[at, chosen].sum())
    total = actual[:, names.index(dearest)].sum()
    shares_arr = np.maximum.accumulate(np.asarray(shares) / (total if total > 0 else 1.0))
    return ShareCurve(GRID.copy(), shares_arr, len(rows), dearest)


class CostShares:
    """A router's cost-share calibrations: one curve per candidate set, replaced when the store's fit or registry
    (prices) changes; while the store is unavailable the last curve of the set stands in."""

    def __init__(self, router: CalibrationSource) -> None:
        self.router = router
        self._curves: dict[frozenset[str], tuple[int, ShareCurve]] = {}
        self._lock = threading.Lock()

    def curve(self, candidates: Sequence[ModelSpec]) -> ShareCurve:
        key = frozenset(c.name for c in candidates)
        try:
            registry = self.router.view.registry()[0]
            version = hash((tuple(sorted(registry.fits.items())), tuple(sorted(candidates, key=lambda c: c.name))))
            with self._lock:
                kept = self._curves.get(key)
                if kept is None or kept[0] != version:
                    kept = self._curves[key] = (version, replay(self.router, candidates))
                return kept[1]
        except StoreError:
            if key in self._curves:
                return self._curves[key][1]
            raise

    def alpha_for(self, cost_share: float, allowed: Iterable[str] | None = None) -> float:
        """The alpha expected to spend ``cost_share`` of always calling the dearest of the ``allowed`` models (all
        registered ones by default), on this store's prompts."""
        RouteOptions.build(cost_share=cost_share)  # a bad share is an InvalidInputError naming it
        specs = self.router.models()
        names = sorted(specs) if allowed is None else sorted(set(allowed))
        if unknown := [n for n in names if n not in specs]:
            raise UnknownModelError(f"unknown model(s) {unknown}; registered: {sorted(specs)}")
        return self.curve([specs[n] for n in names]).alpha_for(cost_share)

    def apply(self, options: RouteOptions, candidates: Sequence[ModelSpec]) -> RouteOptions:
        """``options`` with the alpha its ``cost_share`` (if any) calls for among ``candidates``."""
        if options.cost_share is None or options.model is not None:
            return options
        return options.model_copy(update={"alpha": self.curve(candidates).alpha_for(options.cost_share)})
