"""Instrumentation: the event a routed call emits when it ends, and the handler that records it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from pydantic import Field

from scope_core import Decision, Router

logger = logging.getLogger(__name__)


class ScopeCallEndEvent(BaseEvent):
    """One attempt of a routed call ended: which candidate ran, what it used, whether it failed."""

    run_id: str = Field(description="pass to router.feedback(run_id, score)")
    model: str
    routing_text: str
    decision: Decision
    attempt: int = Field(description="0 = the chosen model, 1.. = fallbacks")
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_s: float | None = None
    error: str | None = None

    @classmethod
    def class_name(cls) -> str:
        return "ScopeCallEndEvent"


class OutcomeRecorder(BaseEventHandler):
    """Stores each ScopeCallEndEvent as an outcome in the router's behaviour store."""

    router: Router = Field(exclude=True)

    @classmethod
    def class_name(cls) -> str:
        return "OutcomeRecorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if not isinstance(event, ScopeCallEndEvent):
            return
        try:
            self.router.record_call(
                event.decision,
                event.routing_text,
                event.model,
                input_tokens=event.input_tokens,
                output_tokens=event.output_tokens,
                latency_s=event.latency_s,
                error=event.error,
                run_id=event.run_id,
                wait=False,
            )
        except Exception:  # the dispatcher swallows handler errors; say what was lost
            logger.exception("scope-router could not record the outcome of run %s", event.run_id)

    async def ahandle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, ScopeCallEndEvent):
            await asyncio.to_thread(self.handle, event)


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


def note_call(event: ScopeCallEndEvent) -> None:
    """Add a finished call to the innermost ``capture_calls`` block, if any."""
    calls = _captured.get()
    if calls is not None:
        calls.append(event)
