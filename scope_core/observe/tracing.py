"""One OpenTelemetry span per routed call, following the GenAI semantic conventions, with ``scope.*`` attributes.

The span is a CLIENT ``chat {model}`` span, child of the caller's current span, from the moment the call was
routed to its end: ``gen_ai.request.model`` is the chosen model, ``gen_ai.response.model`` the one that answered,
``gen_ai.usage.*`` its tokens; ``scope.*`` says what the router predicted and why. Spans go to the tracer given,
else the global tracer provider (a no-op until the application configures one). Needs ``opentelemetry-api``
(``pip install 'scope-router[otel]'``); without it no span is made.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from scope_core.observe.record import LoggedDecision

Observer = Callable[[LoggedDecision], None]


def span_attributes(record: LoggedDecision, provider: str | None) -> dict[str, Any]:
    """The span's attributes: GenAI conventions, then the router's own."""
    chosen = record.predictions[record.chosen]
    failed = [a for a in record.attempts if a.error is not None]
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider or "scope-router",
        "gen_ai.request.model": record.chosen,
        "gen_ai.response.model": record.model,
        "gen_ai.response.id": record.run_id,
        "gen_ai.usage.input_tokens": record.input_tokens,
        "gen_ai.usage.output_tokens": record.output_tokens,
        "gen_ai.conversation.id": record.session_id,
        "scope.run_id": record.run_id,
        "scope.alpha": record.alpha,
        "scope.reason": record.reason,
        "scope.estimator": record.estimator,
        "scope.predicted_p": chosen.p,
        "scope.predicted_cost_usd": chosen.cost_usd,
        "scope.cost_usd": record.cost_usd,
        "scope.fallbacks": len(failed),
        "scope.fallback_errors": [a.error_type or "" for a in failed],
        "scope.degraded": record.degraded,
        "scope.cold_start": record.cold_start,
        "scope.tags": record.tags,
    }
    if record.model is None:
        attributes["error.type"] = failed[-1].error_type if failed else "AllCandidatesFailedError"
    return {k: v for k, v in attributes.items() if v is not None}


def span_observer(tracer: Any = None, provider_of: Callable[[str], str | None] = lambda model: None) -> Observer | None:
    """An observer making each logged decision a span on ``tracer`` (default: the global provider's); None
    without OpenTelemetry."""
    try:
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, Status, StatusCode
    except ImportError:
        return None
    tracer = tracer or trace.get_tracer("scope_core")

    def observe(record: LoggedDecision) -> None:
        model = record.model or record.chosen
        span = tracer.start_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            start_time=int(record.ts * 1e9),
            attributes=span_attributes(record, provider_of(model)),
        )
        if record.model is None:
            span.set_status(Status(StatusCode.ERROR, "every candidate failed"))
        span.end(end_time=time.time_ns())

    return observe
