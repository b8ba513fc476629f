"""The routing policy: the caller's trade-off and constraints, and the choice they imply.

Utility of model m with predicted accuracy p_m and predicted cost c_m::

    u_m = alpha * p_m - (1 - alpha) * c_m / c_ref

``c_ref`` is the typical per-call cost of the dearest candidate (from the store's global
outcomes), so alpha = 0 picks the cheapest model, alpha = 1 the most accurate, and at
alpha = 0.5 one point of accuracy is worth 1% of the dearest model's typical call.
Ties break toward the cheaper model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from . import summary as sm
from .decision import Estimate
from .errors import NoCandidateError
from .money import usd
from .specs import Capability, ModelSpec


class Policy(BaseModel):
    """Per-call routing controls; every field can be overridden on a call."""

    model_config = ConfigDict(frozen=True)

    alpha: float = Field(default=0.5, ge=0.0, le=1.0, description="0 = cheapest, 1 = most accurate")
    max_cost: float | None = Field(default=None, gt=0.0, description="USD; hard cap on predicted call cost")
    min_accuracy: float | None = Field(
        default=None, ge=0.0, le=1.0, description="choose the cheapest model predicted to reach it"
    )
    allowed: frozenset[str] | None = Field(default=None, description="only these models (None = all)")
    required: frozenset[Capability] = Field(default=frozenset(), description="capabilities the call needs")

    def with_overrides(self, **overrides) -> Policy:
        """A copy with the non-None overrides applied (validated)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return Policy.model_validate({**self.model_dump(), **given}) if given else self


def cost_ref(candidates: Iterable[ModelSpec], priors: Mapping[str, Sequence[float]], input_tokens: int = 500) -> float:
    """The utility's cost unit: the typical per-call cost of the dearest candidate.

    Typical is the mean observed cost in the store's global ``priors``; a model without any
    observed usage is priced on ``input_tokens`` in and 256 out.
    """
    typical = []
    for spec in candidates:
        prior = priors.get(spec.name)
        if prior and prior[sm.N_USAGE] > 0:
            typical.append(prior[sm.COST_SUM] / prior[sm.N_USAGE])
        else:
            typical.append(spec.cost(input_tokens, 256))
    return max(typical, default=1.0)


@dataclass(frozen=True)
class Choice:
    chosen: str
    ranking: list[str]
    utilities: dict[str, float]
    reason: str
    excluded: dict[str, str]


def eligibility(
    estimates: Sequence[Estimate], specs: Mapping[str, ModelSpec], policy: Policy
) -> tuple[list[Estimate], dict[str, str]]:
    """Split estimates into eligible ones and {model: why excluded}."""
    eligible, excluded = [], {}
    for e in estimates:
        spec = specs[e.model]
        if policy.allowed is not None and e.model not in policy.allowed:
            excluded[e.model] = "not allowed"
        elif not spec.supports(policy.required):
            missing = sorted(c.value for c in set(policy.required) - spec.capabilities)
            excluded[e.model] = f"lacks {', '.join(missing)}"
        elif e.input_tokens + e.output_tokens > spec.context_window:
            excluded[e.model] = (
                f"needs ~{int(e.input_tokens + e.output_tokens)} tokens > context window {spec.context_window}"
            )
        elif policy.max_cost is not None and e.cost_usd > policy.max_cost:
            excluded[e.model] = f"predicted cost {usd(e.cost_usd)} > max_cost {usd(policy.max_cost)}"
        else:
            eligible.append(e)
    return eligible, excluded


def choose(estimates: Sequence[Estimate], specs: Mapping[str, ModelSpec], policy: Policy, cost_ref: float) -> Choice:
    """Apply the policy to per-model estimates; raises NoCandidateError if nothing is eligible."""
    eligible, excluded = eligibility(estimates, specs, policy)
    if not eligible:
        detail = "; ".join(f"{m}: {why}" for m, why in excluded.items()) or "no models registered"
        raise NoCandidateError(f"no candidate model satisfies the policy ({detail})")
    a = policy.alpha
    scale = cost_ref if cost_ref > 0 else 1.0
    utilities = {e.model: a * e.p_correct - (1 - a) * e.cost_usd / scale for e in eligible}
    by_utility = sorted(eligible, key=lambda e: (-utilities[e.model], e.cost_usd))
    ranking = [e.model for e in by_utility]
    if policy.min_accuracy is not None:
        reaching = sorted((e for e in eligible if e.p_correct >= policy.min_accuracy), key=lambda e: e.cost_usd)
        if reaching:
            best = reaching[0]
            reason = (
                f"cheapest model predicted to reach min_accuracy {policy.min_accuracy:.2f} (p={best.p_correct:.3f})"
            )
        else:
            best = max(eligible, key=lambda e: (e.p_correct, -e.cost_usd))
            reason = f"no model predicted to reach min_accuracy {policy.min_accuracy:.2f}; most accurate chosen"
        ranking = [best.model] + [m for m in ranking if m != best.model]
    else:
        best = by_utility[0]
        reason = f"highest utility at alpha={a:.2f} (p={best.p_correct:.3f}, cost={usd(best.cost_usd)})"
    return Choice(best.model, ranking, utilities, reason, excluded)
