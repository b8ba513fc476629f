"""Instrumentation: the event each attempt of a routed call emits when it ends (the core records it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events import BaseEvent
from pydantic import Field

from scope_core import Decision
from scope_core.routing.call import Ended, RoutedCall


class ScopeCallEndEvent(BaseEvent):
    """One attempt of a routed call ended: which candidate ran, what it used, whether it failed."""

    run_id: str = Field(description="the record's id: pass an answer's to router.feedback(run_id, score)")
    model: str
    routing_text: str
    decision: Decision
    attempt: int = Field(description="0 = the chosen model, 1.. = fallbacks")
    input_tokens: int | None = Field(default=None, description="as the candidate reported them, else counted")
    output_tokens: int | None = None
    cost_usd: float | None = Field(default=None, description="priced on the candidate's spec")
    latency_s: float | None = None
    error: str | None = Field(default=None, description="the failure, scrubbed of credentials (None: it answered)")

    @classmethod
    def class_name(cls) -> str:
        return "ScopeCallEndEvent"


_dispatcher = get_dispatcher(__name__)
_captured: ContextVar[list[ScopeCallEndEvent] | None] = ContextVar("scope_captured_calls", default=None)


@contextmanager
def capture_calls() -> Iterator[list[ScopeCallEndEvent]]:
    """Collect the routed calls made inside the block (a query, an agent run), e.g. to score them later."""
    calls: list[ScopeCallEndEvent] = []
    token = _captured.set(calls)
    try:
        yield calls
    finally:
        _captured.reset(token)


def call_ended(call: RoutedCall, ended: Ended) -> None:
    """A routed call's attempt ended: a ``ScopeCallEndEvent``, emitted and added to the innermost
    ``capture_calls`` block, if any (a routed call's ``on_end``)."""
    event = ScopeCallEndEvent(routing_text=call.text, decision=call.decision, **vars(ended))
    calls = _captured.get()
    if calls is not None:
        calls.append(event)
    _dispatcher.event(event)
