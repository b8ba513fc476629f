"""One routed call's lifecycle: attempts in ranking order, pricing, budget, records, one fallback rule.

``Router.start`` routes a query and returns a ``RoutedCall``. An adapter runs the candidates it yields
and tells the call how each attempt ended; the call does everything else the same way for every adapter:

    call = router.start(query, pool=names, alpha=0.7)
    attempt, reply = call.run(lambda attempt: candidates[attempt.model].generate(messages))
    metadata = call.succeeded(attempt, Usage(input_tokens, output_tokens))

``run`` (``arun``) tries the candidates in ranking order; a failure is recorded and falls back when it
is one of ``fallback_on``, else it is re-raised; when every candidate failed, AllCandidatesFailedError.
A stream iterates the call itself (``for attempt in call``) and says ``failed(attempt, error,
fall_back=False)`` once part of an answer is out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .budget import BudgetGovernor
from .decision import Decision
from .errors import AllCandidatesFailedError
from .scrub import scrub

if TYPE_CHECKING:
    from .router import Router

log = logging.getLogger("scope_core")

# Per-call keys every adapter accepts (as call kwargs or configuration) and passes to ``Router.start``.
ROUTING_KEYS = ("alpha", "max_cost", "min_accuracy", "allowed", "required", "budget", "model", "routing_mode")
ERROR_CHARS = 500  # a failure's stored and reported error text is cut to this
T = TypeVar("T")


def routing_overrides(defaults: Mapping[str, Any], kwargs: MutableMapping[str, Any]) -> dict[str, Any]:
    """The call's routing overrides: ``defaults`` (an adapter's settings), then the ROUTING_KEYS popped
    from the call's ``kwargs``; a key given as None keeps the default."""
    given = {k: kwargs.pop(k) for k in ROUTING_KEYS if k in kwargs}
    merged = {k: defaults.get(k) for k in ROUTING_KEYS} | {k: v for k, v in given.items() if v is not None}
    return {k: v for k, v in merged.items() if v is not None}


@dataclass(frozen=True)
class Usage:
    """Tokens one attempt used; None: the router's count (of the query for input, of the reply's text for output)."""

    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class Attempt:
    """One candidate tried on a routed call: ``index`` 0 is the chosen model, 1.. are fallbacks."""

    model: str
    index: int
    started: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


@dataclass(frozen=True)
class Ended:
    """How one attempt ended, as it is recorded: ``run_id`` is the record's id in the store."""

    run_id: str
    model: str
    attempt: int
    latency_s: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    error: str | None = None


def error_text(error: BaseException) -> str:
    return scrub(f"{type(error).__name__}: {error}")[:ERROR_CHARS]


class RoutedCall:
    """A routed call: yields attempts along ``decision.ranking`` until one succeeds.

    Every attempt is journaled at once and stored by the router's background writer under the call's ``run_id``
    (a failure under ``{run_id}:{model}:failed``), so ``router.feedback(run_id, score)`` scores
    the answer the caller got. The budget's hold is released when the call ends, either way.
    ``on_end`` (if given) is told how each attempt ended, e.g. to emit an instrumentation event.
    """

    def __init__(
        self,
        router: Router,
        decision: Decision,
        text: str,
        run_id: str,
        *,
        budget: BudgetGovernor | None = None,
        fallback_on: tuple[type[BaseException], ...] = (Exception,),
        record: bool = True,
        on_end: Callable[[RoutedCall, Ended], None] | None = None,
    ) -> None:
        self.router, self.decision, self.text, self.run_id = router, decision, text, run_id
        self.budget, self.fallback_on, self.record, self.on_end = budget, fallback_on, record, on_end
        self.errors: dict[str, BaseException] = {}
        self.outcome: dict[str, Any] | None = None
        self._open = True

    def __iter__(self) -> Iterator[Attempt]:
        """Attempts in ranking order; a stream abandoned half-way (this iteration closed before the call
        ended) releases the budget's hold."""
        try:
            yield from self._attempts()
        except GeneratorExit:
            self._release()
            raise

    def _attempts(self) -> Iterator[Attempt]:
        for index, model in enumerate(self.decision.ranking):
            if self.outcome is not None:
                return
            yield Attempt(model, index)
        if self.outcome is None:
            self._release()
            raise AllCandidatesFailedError(self.errors)

    def run(self, invoke: Callable[[Attempt], T]) -> tuple[Attempt, T]:
        """Run attempts until one returns: that attempt and its reply (then tell ``succeeded`` its usage)."""
        attempts = self._attempts()
        while True:
            attempt = next(attempts)  # raises AllCandidatesFailedError once every candidate failed
            try:
                return attempt, invoke(attempt)
            except Exception as exc:
                self.failed(attempt, exc)

    async def arun(self, invoke: Callable[[Attempt], Awaitable[T]]) -> tuple[Attempt, T]:
        """Async ``run``."""
        attempts = self._attempts()
        while True:
            attempt = next(attempts)
            try:
                return attempt, await invoke(attempt)
            except Exception as exc:
                self.failed(attempt, exc)

    def failed(self, attempt: Attempt, error: BaseException, *, fall_back: bool = True) -> None:
        """Record a failed attempt; re-raise ``error`` unless it may fall back to the next candidate."""
        self.errors[attempt.model] = error
        ended = Ended(
            f"{self.run_id}:{attempt.model}:failed",
            attempt.model,
            attempt.index,
            attempt.elapsed(),
            error=error_text(error),
        )
        self._end(ended)
        if not (fall_back and isinstance(error, self.fallback_on)):
            self._release()
            raise error

    def succeeded(
        self,
        attempt: Attempt,
        usage: Usage = Usage(),
        *,
        text: str = "",
        score: Callable[[], float | None] | None = None,
    ) -> dict[str, Any]:
        """Price and record the answering attempt, account it against the budget; returns the call's metadata.

        Tokens the usage leaves out are the router's: the query's count, and the count of ``text``
        (the reply). ``score``, if given, runs on the writer thread and its value is stored with the record.
        """
        in_tok = usage.input_tokens if usage.input_tokens is not None else self.decision.input_tokens
        out_tok = usage.output_tokens if usage.output_tokens is not None else self.router.count_tokens(text)
        cost = self.router.models()[attempt.model].cost(in_tok, out_tok)
        if self.budget is not None and self._open:
            self.budget.observe(cost, reserved_usd=self.decision.reserved_usd)
        self._open = False
        ended = Ended(self.run_id, attempt.model, attempt.index, attempt.elapsed(), in_tok, out_tok, cost)
        self.outcome = {
            **self.decision.overview(),
            "model": ended.model,
            "run_id": ended.run_id,
            "attempt": ended.attempt,
            "input_tokens": in_tok,
            "output_tokens": out_tok,
            "cost_usd": cost,
            "latency_s": round(ended.latency_s, 6),
            "failed": {m: error_text(e) for m, e in self.errors.items()},
        }
        self._end(ended, score)
        return self.outcome

    def _end(self, ended: Ended, score: Callable[[], float | None] | None = None) -> None:
        """Record the attempt and tell ``on_end``. The record is journaled at once (a ``score`` callable
        runs on the writer thread first); the store write never fails the call."""
        if self.record:
            router, decision, text = self.router, self.decision, self.text

            def write(value: float | None = None) -> None:
                router.record_call(
                    decision,
                    text,
                    ended.model,
                    input_tokens=ended.input_tokens,
                    output_tokens=ended.output_tokens,
                    latency_s=ended.latency_s,
                    error=ended.error,
                    score=value,
                    run_id=ended.run_id,
                    wait=False,
                )

            if score is not None:
                router.writer.submit(lambda: write(score()))
            else:
                try:
                    write()
                except Exception:
                    log.exception("scope-router: recording an outcome failed")
        if self.on_end is not None:
            self.on_end(self, ended)

    def _release(self) -> None:
        if self.budget is not None and self._open:
            self.budget.release(self.decision.reserved_usd)
        self._open = False
