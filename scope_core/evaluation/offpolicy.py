"""Off-policy evaluation of logged traffic: what another alpha would have achieved on the router's own calls,
from the decision log alone (``scope eval --logged``).

Each logged decision keeps every candidate's predictions, the utility's cost unit and each candidate's chance of
being chosen (its propensity), so the target policy's choice on that call can be recomputed; its outcome is only
known where it is the logged choice. Three estimates of the target's accuracy over the scored calls:

- ``direct``: the mean predicted P(correct) of the target's choices (the model's word alone);
- ``ips``: the logged scores of the calls where the target agrees with the log, each weighted by 1 / the chance
  that the log chose it (self-normalised); needs exploration to see past the log's own choices;
- ``doubly robust``: the direct estimate corrected, where the target agrees with the log, by the propensity-weighted
  residual (score - predicted P(correct)); with a 95% confidence interval (normal, over calls).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

Record = Mapping[str, Any]  # a LoggedDecision as a dict (``model_dump()``)


class PolicyValue(BaseModel):
    """Estimates of one target policy's accuracy and cost on the logged calls."""

    alpha: float
    calls: int = Field(description="logged calls scored and answered by their chosen model")
    agreement: float = Field(description="share of them where the target chooses as the log did")
    direct: float
    ips: float | None
    doubly_robust: float
    ci_low: float
    ci_high: float
    cost: float = Field(description="mean predicted USD per call of the target's choices")


def target_choice(record: Record, alpha: float) -> str:
    """The model the policy at ``alpha`` chooses from a logged decision's predictions (eligible candidates, the
    highest utility, ties to the cheaper)."""
    scale = record.get("cost_ref") or 1.0
    eligible = {m: p for m, p in record["predictions"].items() if p.get("excluded") is None}
    return min(eligible, key=lambda m: (-(alpha * eligible[m]["p"] - (1 - alpha) * eligible[m]["cost_usd"] / scale),
                                         eligible[m]["cost_usd"], m))  # fmt: skip


def usable(records: Sequence[Record]) -> list[Record]:
    """The calls whose score is known and came from the model the log chose."""
    return [r for r in records if r.get("score") is not None and r.get("model") == r["chosen"]]


def policy_value(records: Sequence[Record], alpha: float) -> PolicyValue:
    """The target at ``alpha`` on the usable logged calls (see the module docstring)."""
    rows = usable(records)
    if not rows:
        raise ValueError("no logged call has a score from its chosen model: nothing to evaluate")
    direct, dr, matched, weight, weighted_score, cost = [], [], [], [], [], []
    for r in rows:
        target = target_choice(r, alpha)
        predicted = r["predictions"][target]["p"]
        agree = target == r["chosen"]
        chance = (r.get("propensities") or {}).get(target, 1.0 if agree else 0.0)
        direct.append(predicted)
        cost.append(r["predictions"][target]["cost_usd"])
        dr.append(predicted + (agree / chance) * (r["score"] - predicted) if agree else predicted)
        matched.append(agree)
        if agree:
            weight.append(1.0 / chance)
            weighted_score.append(r["score"] / chance)
    dr_arr = np.asarray(dr)
    half = 1.96 * float(dr_arr.std(ddof=1)) / np.sqrt(len(dr_arr)) if len(dr_arr) > 1 else 0.0
    return PolicyValue(
        alpha=alpha,
        calls=len(rows),
        agreement=float(np.mean(matched)),
        direct=float(np.mean(direct)),
        ips=float(np.sum(weighted_score) / np.sum(weight)) if weight else None,
        doubly_robust=float(dr_arr.mean()),
        ci_low=float(dr_arr.mean() - half),
        ci_high=float(dr_arr.mean() + half),
        cost=float(np.mean(cost)),
    )
