"""Off-policy evaluation of logged traffic: what another alpha would have achieved on the router's own calls,
from the decision log alone (``scope eval --logged``).

Each logged decision keeps every candidate's predictions, the utility's cost unit and each candidate's chance of
being chosen (its propensity), so the target policy's choice on that call can be recomputed; its outcome is only
known where it is the logged choice. The outcome model behind the estimates is each candidate's decision-time
P(correct), recalibrated per model on the log itself: decision-time predictions carry each model's own bias (early
calls were decided on little evidence), so each logged model gets the logit shift that best fits its logged scores
(a unit normal prior on the shift: a model logged a few times keeps its predictions nearly as they were, one never
logged keeps them as they are), and that shift corrects its predictions where the target takes it and the log did
not. Three estimates of the target's accuracy over the scored calls:

- ``direct``: the mean modelled P(correct) of the target's choices (the model's word alone);
- ``ips``: the logged scores of the calls where the target agrees with the log, each weighted by 1 / the chance
  that the log chose it (self-normalised); needs exploration to see past the log's own choices (``effective_calls``
  says what those weights are worth in equally weighted calls);
- ``doubly robust``: the direct estimate corrected, where the target agrees with the log, by the propensity-weighted
  residual (score - modelled P(correct)); with a 95% bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from scope_core.estimators.knn.features import logit
from scope_core.estimators.knn.imputer import sigmoid
from scope_core.estimators.knn.logistic import fit_logistic

Record = Mapping[str, Any]  # a LoggedDecision as a dict (``model_dump()``)
BOOTSTRAP = 200  # resamples of the logged calls behind an estimate's interval


class PolicyValue(BaseModel):
    """Estimates of one target policy's accuracy and cost on the logged calls."""

    alpha: float
    calls: int = Field(description="logged calls scored and answered by their chosen model")
    agreement: float = Field(description="share of them where the target chooses as the log did")
    effective_calls: float | None = Field(
        default=None,
        description="what the agreeing calls' weights are worth in equally weighted calls, (sum w)^2 / sum w^2 "
        "(Kish): the agreeing calls on a greedy log, far fewer where a few explored calls carry large weights",
    )
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


def _shifts(z: np.ndarray, score: np.ndarray, column: np.ndarray, models: int) -> np.ndarray:
    """Each model's logit shift that best fits the scores from the logits ``z`` of its predictions (maximum a
    posteriori, a unit normal prior on each shift)."""
    from scipy import sparse

    design = sparse.csr_matrix((np.ones(len(column)), (np.arange(len(column)), column)), shape=(len(column), models))
    return fit_logistic(design, score, penalty=1.0, offset=z)


def _logged(rows: Sequence[Record]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The logged models, and per call: its chosen model's column, the logit of its prediction, its score."""
    models = sorted({r["chosen"] for r in rows})
    column = np.asarray([models.index(r["chosen"]) for r in rows])
    z = logit(np.asarray([r["predictions"][r["chosen"]]["p"] for r in rows], dtype=float))
    return models, column, z, np.asarray([r["score"] for r in rows], dtype=float)


def calibration(rows: Sequence[Record]) -> dict[str, float]:
    """Each logged model's logit shift from its decision-time predictions to its logged scores."""
    models, column, z, score = _logged(rows)
    return dict(zip(models, _shifts(z, score, column, len(models)).tolist(), strict=True))


def policy_value(records: Sequence[Record], alpha: float) -> PolicyValue:
    """The target at ``alpha`` on the usable logged calls (see the module docstring); the interval resamples the
    calls, the calibration refitted on each resample."""
    rows = usable(records)
    if not rows:
        raise ValueError("no logged call has a score from its chosen model: nothing to evaluate")
    models, chosen, z_chosen, score = _logged(rows)
    targets = [target_choice(r, alpha) for r in rows]
    agree = np.asarray([t == r["chosen"] for t, r in zip(targets, rows, strict=True)])
    z_target = logit(np.asarray([r["predictions"][t]["p"] for t, r in zip(targets, rows, strict=True)], dtype=float))
    column = np.asarray([models.index(t) if t in models else len(models) for t in targets])  # never logged: no shift
    chance = np.asarray(
        [(r.get("propensities") or {}).get(t, 1.0 if a else 0.0) for t, r, a in zip(targets, rows, agree, strict=True)]
    )
    weight = np.where(agree & (chance > 0), 1.0 / np.where(chance > 0, chance, 1.0), 0.0)

    def estimates(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shift = np.append(_shifts(z_chosen[at], score[at], chosen[at], len(models)), 0.0)
        predicted = sigmoid(z_target[at] + shift[column[at]])
        return predicted, predicted + weight[at] * (score[at] - predicted)

    everything = np.arange(len(rows))
    predicted, dr = estimates(everything)
    rng = np.random.default_rng(0)
    spread = [estimates(rng.integers(0, len(rows), len(rows)))[1].mean() for _ in range(BOOTSTRAP)]
    low, high = np.percentile(spread, [2.5, 97.5])
    return PolicyValue(
        alpha=alpha,
        calls=len(rows),
        agreement=float(agree.mean()),
        effective_calls=float(weight.sum() ** 2 / np.sum(weight**2)) if weight.any() else 0.0,
        direct=float(predicted.mean()),
        ips=float(np.sum(weight * score) / np.sum(weight)) if weight.any() else None,
        doubly_robust=float(dr.mean()),
        ci_low=float(low),
        ci_high=float(high),
        cost=float(np.mean([r["predictions"][t]["cost_usd"] for t, r in zip(targets, rows, strict=True)])),
    )
