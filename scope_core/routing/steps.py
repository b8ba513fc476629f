"""A step's estimates as the policy sees them: priced with the session's prompt cache, and timed.

The estimator predicts each candidate's tokens and list-price cost; here a session's step (``SessionStep``) turns
them into what the provider would bill for this step: the input the session's last step shows the provider counts,
the output length shrunk toward the session's last steps' (each counts as much as the estimate: an agent's tool
calls are alike), the prefix the candidate's cache holds at the cache-read price, and the rest written to its cache
where that is billed. The latency book adds each candidate's predicted time to first token and in all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scope_core.errors import NoCandidateError
from scope_core.estimators.estimate import Estimate
from scope_core.money import usd
from scope_core.routing.latency import LatencyFit
from scope_core.routing.policy import Choice, RouteOptions, choose
from scope_core.routing.sessions import SessionStep
from scope_core.specs import ModelSpec


def for_step(
    estimates: Sequence[Estimate],
    specs: Mapping[str, ModelSpec],
    step: SessionStep | None,
    latency: Mapping[str, LatencyFit],
) -> list[Estimate]:
    """Each estimate with the step's cache reads and writes priced in, and its predicted latency."""
    out = []
    for e in estimates:
        update: dict[str, float | None] = {}
        if step is not None:
            inp = e.input_tokens if step.input_tokens is None else step.input_tokens
            output = (e.output_tokens + sum(step.outputs)) / (1 + len(step.outputs))
            read = min(step.reads.get(e.model, 0.0), inp)
            write = inp - read if e.model in step.writes else 0.0
            update = {
                "input_tokens": inp,
                "output_tokens": output,
                "cache_read_tokens": read,
                "cache_write_tokens": write,
                "cost_usd": specs[e.model].cost(inp, output, read, write),
            }
        fit = latency.get(e.model)
        if fit is not None:
            update.update(latency_s=fit.total(update.get("output_tokens", e.output_tokens)), ttft_s=fit.first_s)
        out.append(e.model_copy(update=update) if update else e)
    return out


def stayed_note(
    estimates: Sequence[Estimate],
    specs: Mapping[str, ModelSpec],
    options: RouteOptions,
    cost_ref: float,
    choice: Choice,
    step: SessionStep | None,
) -> str:
    """The reason's note when the choice stayed on the model holding the session's cached prefix and list prices
    would have switched (else empty)."""
    if step is None or choice.chosen != step.holder or not step.reads.get(choice.chosen):
        return ""
    blind = [e.model_copy(update={"cost_usd": specs[e.model].cost(e.input_tokens, e.output_tokens)}) for e in estimates]
    try:
        other = choose(blind, specs, options, cost_ref).chosen
    except NoCandidateError:
        return ""
    if other == choice.chosen:
        return ""
    stay, listed = (next(e for e in es if e.model == choice.chosen) for es in (estimates, blind))
    return (
        f"; stayed on {stay.model} for its cached prefix ({int(stay.cache_read_tokens)} tokens: {usd(stay.cost_usd)} "
        f"instead of {usd(listed.cost_usd)}; at list prices {other} would be chosen)"
    )
