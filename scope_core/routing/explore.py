"""Exploration: on a share of calls (``explore``), choose by Thompson sampling from the estimate's own uncertainty
instead of greedily, so a model the router rarely picks still gets outcomes that can correct its estimate.

Each candidate's P(correct) is drawn from a Beta with the estimate's mean and spread (``p_correct``, ``p_std``), and
the highest utility under the draws wins. A candidate whose predicted cost is over ``explore_cost`` times the greedy
choice's may not be explored (what exploration may cost). Every decision carries the probability that the policy
chose each candidate (its propensity): ``(1 - explore)`` on the greedy choice plus ``explore`` times the sampling's
own chance of each, estimated from ``DRAWS`` draws. Off-policy estimates (``scope eval --logged``) weigh outcomes by it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scope_core.estimators.estimate import Estimate

DRAWS = 256  # posterior draws per decision for the propensities (about 0.1 ms for 30 candidates)


def beta_draws(p: np.ndarray, std: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, candidates) draws from Betas with means ``p`` and standard deviations ``std`` (method of moments)."""
    p = np.clip(p, 1e-4, 1 - 1e-4)
    variance = np.clip(std, 1e-4, None) ** 2
    strength = np.maximum(p * (1 - p) / np.minimum(variance, p * (1 - p) * 0.999) - 1.0, 1e-3)
    return rng.beta(p * strength, (1 - p) * strength, size=(n, len(p)))


def explored_choice(
    eligible: Sequence[Estimate],
    greedy: str,
    alpha: float,
    scale: float,
    rate: float,
    cost_cap: float | None,
    rng: np.random.Generator,
) -> tuple[str, dict[str, float]]:
    """The chosen model (greedy, or on a ``rate`` share of calls the winner of one posterior draw) and every eligible
    candidate's probability of being chosen."""
    names = [e.model for e in eligible]
    cost = np.asarray([e.cost_usd for e in eligible])
    allowed = np.ones(len(names), dtype=bool)
    if cost_cap is not None:
        allowed = cost <= cost_cap * cost[names.index(greedy)]
    draws = beta_draws(np.asarray([e.p_correct for e in eligible]), np.asarray([e.p_std for e in eligible]), DRAWS, rng)
    utility = np.where(allowed, alpha * draws - (1 - alpha) * cost / scale, -np.inf)
    winners = np.bincount(np.argmax(utility, axis=1), minlength=len(names)) / DRAWS
    propensities = {m: rate * float(w) for m, w in zip(names, winners, strict=True)}
    propensities[greedy] += 1.0 - rate
    chosen = names[int(np.argmax(utility[0]))] if rng.random() < rate else greedy
    return chosen, {m: p for m, p in propensities.items() if p > 0}


def reranked(ranking: Sequence[str], chosen: str) -> list[str]:
    """The ranking with the explored model first (the rest keep their order as fallbacks)."""
    return [chosen, *(m for m in ranking if m != chosen)]
