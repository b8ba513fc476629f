"""One routed call's lifecycle: attempts in ranking order, pricing, budget, records, one fallback rule.

``Router.start`` routes a query and returns a ``RoutedCall``. An adapter runs the candidates it yields
and tells the call how each attempt ended; the call does everything else the same way for every adapter:

    call = router.start(query, pool=names, alpha=0.7)
    for attempt in call:
        try:
            reply = run(attempt.model)
        except Exception as exc:
            call.failed(attempt, exc)      # re-raises unless the error falls back
            continue
        outcome = call.succeeded(attempt, Usage(input_tokens, output_tokens), latency_s)
        break
    # when every candidate failed, iterating raised AllCandidatesFailedError
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .budget import BudgetGovernor
from .decision import Decision
from .errors import AllCandidatesFailedError
from .scrub import scrub

if TYPE_CHECKING:
    from .router import Router

# Per-call keys every adapter accepts (as call kwargs or configuration) and passes to ``Router.start``.
ROUTING_KEYS = ("alpha", "max_cost", "min_accuracy", "allowed", "required", "budget", "model", "routing_mode")
ERROR_CHARS = 500  # a failure's stored and reported error text is cut to this


@dataclass(frozen=True)
class Usage:
    """Tokens one attempt used; ``input_tokens`` None means the router's own count of the query."""

    input_tokens: int | None
    output_tokens: int


@dataclass(frozen=True)
class Attempt:
    """One candidate tried on a routed call: ``index`` 0 is the chosen model, 1.. are fallbacks."""

    model: str
    index: int
    started: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def error_text(error: BaseException) -> str:
    return scrub(f"{type(error).__name__}: {error}")[:ERROR_CHARS]


class RoutedCall:
    """A routed call: yields attempts along ``decision.ranking`` until one succeeds.

    Every attempt is recorded on the router's background writer under the call's ``run_id``
    (a failure under ``{run_id}:{model}:failed``), so ``router.feedback(run_id, score)`` scores
    the answer the caller got. The budget's hold is released when the call ends, either way.
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
    ) -> None:
        self.router, self.decision, self.text, self.run_id = router, decision, text, run_id
        self.budget, self.fallback_on = budget, fallback_on
        self.errors: dict[str, BaseException] = {}
        self.outcome: dict[str, Any] | None = None
        self._open = True

    def __iter__(self) -> Iterator[Attempt]:
        for index, model in enumerate(self.decision.ranking):
            if self.outcome is not None:
                return
            yield Attempt(model, index)
        if self.outcome is None:
            self._release()
            raise AllCandidatesFailedError(self.errors)

    def failed(self, attempt: Attempt, error: BaseException, *, fall_back: bool = True) -> None:
        """Record a failed attempt; re-raise ``error`` unless it may fall back to the next candidate."""
        self.errors[attempt.model] = error
        router, decision, text, latency = self.router, self.decision, self.text, attempt.elapsed()
        run_id, message = f"{self.run_id}:{attempt.model}:failed", error_text(error)
        router.writer.submit(
            lambda: router.record_call(decision, text, attempt.model, latency_s=latency, error=message, run_id=run_id)
        )
        if not (fall_back and isinstance(error, self.fallback_on)):
            self._release()
            raise error

    def succeeded(
        self, attempt: Attempt, usage: Usage, *, score: Callable[[], float | None] | None = None
    ) -> dict[str, Any]:
        """Price and record the answering attempt, account it against the budget; returns the call's metadata.

        ``score``, if given, runs on the writer thread and its value is stored with the record.
        """
        in_tok = usage.input_tokens if usage.input_tokens is not None else self.decision.input_tokens
        spec = self.router.models()[attempt.model]
        cost, latency = spec.cost(in_tok, usage.output_tokens), attempt.elapsed()
        if self.budget is not None and self._open:
            self.budget.observe(cost, reserved_usd=self.decision.reserved_usd)
        self._open = False
        router, decision, text, run_id, model = self.router, self.decision, self.text, self.run_id, attempt.model

        def record() -> None:
            router.record_call(
                decision,
                text,
                model,
                input_tokens=in_tok,
                output_tokens=usage.output_tokens,
                latency_s=latency,
                score=score() if score is not None else None,
                run_id=run_id,
            )

        router.writer.submit(record)
        self.outcome = {
            **decision.overview(),
            "model": model,
            "run_id": run_id,
            "attempt": attempt.index,
            "input_tokens": in_tok,
            "output_tokens": usage.output_tokens,
            "cost_usd": cost,
            "latency_s": round(latency, 6),
            "failed": {m: error_text(e) for m, e in self.errors.items()},
        }
        return self.outcome

    def _release(self) -> None:
        if self.budget is not None and self._open:
            self.budget.release(self.decision.reserved_usd)
        self._open = False
