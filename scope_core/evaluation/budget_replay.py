"""Replay a test stream in order under a BudgetGovernor, charging each choice its recorded cost.

Each prompt was routed once (its estimates are stored); per call the governor's overrides (paced
alpha, ``max_cost`` under the hard cap) are applied to those estimates with ``policy.choose``, the
chosen model's recorded score and cost are charged, and the cost goes back to ``observe``. A call the
policy cannot serve (budget exhausted, or no model predicted to fit under ``max_cost``) is refused,
as the router would refuse it, and scores 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from scope_core.errors import NoCandidateError
from scope_core.evaluation.report import BudgetReplay
from scope_core.evaluation.sweep import Routed
from scope_core.routing.budget import BudgetExhaustedError, BudgetGovernor
from scope_core.routing.policy import RouteOptions, choose
from scope_core.specs import ModelSpec


def replay_budget(
    routed: Sequence[Routed],
    specs: Mapping[str, ModelSpec],
    scores: np.ndarray,
    costs: np.ndarray,
    models: Sequence[str],
    budget_usd: float,
    *,
    hard_cap_usd: float | None = None,
    overhead: Sequence[float] | None = None,
) -> BudgetReplay:
    """Route ``routed`` in order with a fresh ``BudgetGovernor(budget_usd, len(routed))``.

    ``scores`` and ``costs`` are (prompts x models) recorded outcomes, columns in ``models`` order;
    ``overhead`` is what the estimator itself spent on each prompt, charged with the chosen model.
    """
    governor = BudgetGovernor(budget_usd, len(routed), hard_cap_usd=hard_cap_usd)
    col = {m: j for j, m in enumerate(models)}
    right, over_cap, chosen = 0.0, False, Counter()
    for i, r in enumerate(routed):
        try:
            policy = RouteOptions(**governor.overrides())
            model = choose(r.estimates, specs, policy, r.cost_ref).chosen
        except (BudgetExhaustedError, NoCandidateError):
            continue
        governor.observe(float(costs[i, col[model]]) + (float(overhead[i]) if overhead is not None else 0.0))
        over_cap = over_cap or governor.spent > governor.hard_cap
        right += float(scores[i, col[model]])
        chosen[model] += 1
    served = sum(chosen.values())
    return BudgetReplay(
        budget=budget_usd,
        hard_cap=governor.hard_cap,
        spent=governor.spent,
        over_cap=over_cap,
        accuracy=right / len(routed) if routed else 0.0,
        served=served,
        refused=len(routed) - served,
        final_alpha=governor.alpha,
        choices=dict(sorted(chosen.items())),
    )
