"""From estimates to a Decision: model health, the policy, the budget's hold, and the reason in words.

The router prepares a query (``Prepared``: its context, the candidates, the options that apply) and has the
estimator estimate it; ``decide`` turns the estimates into the call's Decision.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from scope_core.callsite import caller_stacklevel
from scope_core.errors import ColdStartWarning, NoCandidateError
from scope_core.estimators.base import QueryContext
from scope_core.estimators.estimate import Estimate
from scope_core.money import usd
from scope_core.outcome import text_hash
from scope_core.routing.budget import BudgetExhaustedError
from scope_core.routing.decision import Decision
from scope_core.routing.explore import explored_choice, reranked
from scope_core.routing.health import HealthTracker
from scope_core.routing.latency import LatencyFit
from scope_core.routing.policy import RouteOptions, choose, cost_ref, eligibility
from scope_core.routing.sessions import SessionStep
from scope_core.routing.steps import for_step, stayed_note
from scope_core.specs import ModelSpec


@dataclass(frozen=True)
class Prepared:
    """A query ready to estimate: its context, the candidates, the options that apply (after the budget
    governor), whether the store was unavailable (degraded), the time each step took so far, the session's step
    (None: no session, or cache-blind) and each candidate's predicted latency (where known)."""

    context: QueryContext
    candidates: list[ModelSpec]
    options: RouteOptions
    degraded: bool
    timings_ms: dict[str, float] = field(default_factory=dict)
    step: SessionStep | None = None
    latency: Mapping[str, LatencyFit] = field(default_factory=dict)


def with_health(estimates: Sequence[Estimate], health: HealthTracker) -> list[Estimate]:
    """Estimates of models that failed lately, with p_correct lowered by ``health`` (0 in cooldown)."""
    out = []
    for e in estimates:
        factor = health.factor(e.model)
        out.append(e if factor == 1.0 else e.model_copy(update={"p_correct": e.p_correct * factor}))
    return out


def cold_start_note(estimates: Sequence[Estimate]) -> str:
    """The reason's note on the candidates routed without evidence (none: empty)."""
    cold = [e.model for e in estimates if e.cold_start]
    return f"; cold start: no scored outcome yet for {', '.join(cold)} (p_correct is a default)" if cold else ""


def cost_share_note(options: RouteOptions) -> str:
    """The reason's note on an alpha set by ``cost_share`` (none: empty)."""
    share = options.cost_share
    return f"; alpha set for cost_share {share:g}" if share is not None and options.model is None else ""


def warn_cold(estimates: Sequence[Estimate], warned: set[str]) -> None:
    """A ColdStartWarning for each candidate without evidence not in ``warned`` (then added to it)."""
    for e in estimates:
        if e.cold_start and e.model not in warned:
            warned.add(e.model)
            warnings.warn(
                f"scope-router: model '{e.model}' has no scored outcome yet, so it is routed on a default "
                f"P(correct); profile it (`scope profile`) or record feedback",
                ColdStartWarning,
                stacklevel=caller_stacklevel(),
            )


def decide(
    prepared: Prepared,
    estimates: list[Estimate],
    health: HealthTracker,
    cost_unit: float,
    estimator: str,
    rng: np.random.Generator,
) -> Decision:
    """The Decision: the policy over the estimates (health applied), or the caller's forced model, explored on a
    share of calls (``explore``); the budget (if any) holds the chosen model's predicted cost until the call is
    observed. Estimates are priced for the session's step and timed (``steps.for_step``) first."""
    options, ctx = prepared.options, prepared.context
    specs = {c.name: c for c in prepared.candidates}
    estimates = with_health(for_step(estimates, specs, prepared.step, prepared.latency), health)
    try:
        choice = choose(estimates, specs, options, cost_unit)
    except NoCandidateError as exc:
        uncapped = options.model_copy(update={"max_cost": None})
        if options.budget is not None and eligibility(estimates, specs, uncapped)[0]:  # only the cost cap excludes
            raise BudgetExhaustedError(
                f"no model fits in the {usd(options.max_cost)} the budget leaves for this call ({exc})"
            ) from exc
        raise
    stayed = stayed_note(estimates, specs, options, cost_unit, choice, prepared.step)
    ranking, reason, propensities = choice.ranking, choice.reason + stayed, {choice.chosen: 1.0}
    if options.explore and options.model is None and options.min_accuracy is None:
        eligible = [e for e in estimates if e.model not in choice.excluded]
        scale = cost_unit if cost_unit > 0 else 1.0
        picked, propensities = explored_choice(
            eligible, choice.chosen, options.trade_off, scale, options.explore, options.explore_cost, rng
        )
        if picked != choice.chosen:
            ranking = reranked(ranking, picked)
            reason = (
                f"explored: drawn from the estimates' uncertainty (chance {propensities[picked]:.3f}); the greedy "
                f"choice was {choice.chosen}"
            )
    chosen = next(e for e in estimates if e.model == ranking[0])
    if options.model is not None:
        reason = (
            f"forced by the caller (model={options.model!r}; p={chosen.p_correct:.3f}, cost={usd(chosen.cost_usd)})"
        )
    return Decision(
        reserved_usd=options.budget.reserve(chosen.cost_usd) if options.budget is not None else 0.0,
        chosen=chosen.model,
        ranking=ranking,
        propensities=propensities,
        explored=chosen.model != choice.chosen,
        cost_ref=cost_unit,
        estimates=estimates,
        utilities=choice.utilities,
        reason=reason + cold_start_note(estimates) + cost_share_note(options),
        alpha=options.trade_off,
        query_hash=text_hash(ctx.text),
        input_tokens=ctx.input_tokens,
        timings_ms=prepared.timings_ms,
        excluded=choice.excluded,
        degraded=prepared.degraded,
        estimator=estimator,
        constraints=options.constraints(),
        session_id=options.session_id,
        tags=list(options.tags or ()),
        metadata=dict(options.metadata or {}),
        budget=options.budget.state() if options.budget is not None else None,
    )


def cost_unit(prepared: Prepared) -> float:
    """The policy's cost unit for this query (``policy.cost_ref``)."""
    return cost_ref(prepared.candidates, prepared.context.priors, prepared.context.input_tokens)
