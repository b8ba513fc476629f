"""One routed call's lifecycle: attempts in ranking order, pricing, budget, one fallback rule, one stream rule.

``Router.start`` routes a query and returns a ``RoutedCall``. An adapter runs the candidates it yields and
tells the call how each attempt ended; the call does everything else the same way for every adapter:

    call = router.start(query, pool=names, alpha=0.7)
    attempt, reply = call.run(lambda attempt: candidates[attempt.model].generate(messages))
    metadata = call.succeeded(attempt, Usage(input_tokens, output_tokens))

``run`` (``arun``) tries the candidates in ranking order; a failure of the candidate's own call is recorded and
falls back when it is one of ``fallback_on``, else it is re-raised; when every candidate failed,
AllCandidatesFailedError. An error while ``prepare`` readies a candidate is the adapter's or the caller's: raised
as it is, recorded as nothing (not the model's failure, so neither its health nor its statistics). ``stream``
(``astream``) yields the chunks of the first candidate that streams: it falls back while no chunk is out, and
once part of an answer is out a failure is raised (no answer is stitched from two models).

Each finished attempt goes to the call's ``sink`` (the router's records) with what the call computed: the
routing text, tokens, cost, latency; nothing is derived again.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from scope_core.errors import AllCandidatesFailedError
from scope_core.routing.budget import BudgetGovernor
from scope_core.routing.decision import Decision
from scope_core.scrub import ERROR_CHARS, scrub
from scope_core.specs import ModelSpec

T = TypeVar("T")
C = TypeVar("C")


@dataclass(frozen=True)
class Usage:
    """Tokens one attempt used; None: the router's count (of the query for input, of the reply's text for output).

    ``input_tokens`` includes the prompt tokens the provider read from its cache and wrote to it (genai-prices'
    and LangChain's convention); None cache counts: none reported."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None


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
    latency_s: float | None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    error: str | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    ttft_s: float | None = None  # a stream's time to its first chunk


Served = Callable[[str, Usage], None]  # told which model answered a call, and its usage (the call's session)


@dataclass(frozen=True)
class RoutedQuery:
    """What routing learnt of the query and hands to the call: its routing text (checked and clipped), its
    embedding, and the candidates' specs (for prices)."""

    text: str
    embedding: np.ndarray
    specs: Mapping[str, ModelSpec]


Score = Callable[[], float | None]


class CallSink(Protocol):
    """Where a routed call's finished attempts go (the router's records; ``scope_core.routing.records``);
    ``final``: the attempt ends the call (it answered, or no candidate is left to try)."""

    def attempt_ended(self, call: RoutedCall, ended: Ended, score: Score | None, final: bool) -> None: ...


def error_text(error: BaseException) -> str:
    return scrub(f"{type(error).__name__}: {error}")[:ERROR_CHARS]


@dataclass
class _Stream:
    """An attempt's stream so far: a chunk is out, it ended with chunks out."""

    out: bool = False
    done: bool = False


class RoutedCall:
    """A routed call: yields attempts along ``decision.ranking`` until one succeeds.

    Every attempt goes to ``sink`` under the call's ``run_id`` (a failure under ``{run_id}:{model}:failed``),
    so ``router.feedback(run_id, score)`` scores the answer the caller got; ``record=False`` keeps nothing.
    The budget's hold is released when the call ends, either way. ``on_end`` (if given) is told how each
    attempt ended, e.g. to emit an instrumentation event; ``served`` (if given) which model answered (the session's).
    """

    def __init__(
        self,
        decision: Decision,
        query: RoutedQuery,
        run_id: str,
        sink: CallSink,
        count_tokens: Callable[[str], int],
        *,
        budget: BudgetGovernor | None = None,
        fallback_on: tuple[type[BaseException], ...] = (Exception,),
        record: bool = True,
        on_end: Callable[[RoutedCall, Ended], None] | None = None,
        served: Served | None = None,
    ) -> None:
        self.decision, self.query, self.run_id, self.served = decision, query, run_id, served
        self._sink, self._count_tokens = sink, count_tokens
        self.budget, self.fallback_on, self.record, self.on_end = budget, fallback_on, record, on_end
        self.errors: dict[str, BaseException] = {}
        self.ended: list[Ended] = []  # every attempt, as it ended
        self.metadata: dict[str, Any] | None = None  # what the answer's metadata says of the call, once it succeeded
        self.current: Attempt | None = None  # the attempt in flight, or the one that answered
        self.ttft_s: float | None = None  # the answering stream's time to its first chunk
        self._open = True

    @property
    def text(self) -> str:
        """The routing text the call is recorded under."""
        return self.query.text

    # -- attempts -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Attempt]:
        """Attempts in ranking order; an iteration closed before the call ended releases the budget's hold."""
        try:
            yield from self._attempts()
        except GeneratorExit:
            self._release()
            raise

    def _attempts(self) -> Iterator[Attempt]:
        for index, model in enumerate(self.decision.ranking):
            if self.metadata is not None:
                return
            self.current = Attempt(model, index)
            yield self.current
        if self.metadata is None:
            self._release()
            raise AllCandidatesFailedError(self.errors)

    def run(self, invoke: Callable[[Any], T], prepare: Callable[[Attempt], Any] | None = None) -> tuple[Attempt, T]:
        """Run attempts until one returns: that attempt and its reply (then tell ``succeeded`` its usage).

        ``invoke`` is the candidate's own call: what it raises is the candidate's failure. ``prepare`` (if given)
        readies the candidate first, outside the attempt (an adapter binding tools): what it raises is the adapter's
        or the caller's error, raised as it is and recorded as neither outcome nor failure; ``invoke`` then gets its
        result instead of the attempt."""
        attempts = self._attempts()
        while True:
            attempt = next(attempts)  # raises AllCandidatesFailedError once every candidate failed
            ready = self._ready(attempt, prepare)
            try:
                return attempt, invoke(ready)
            except Exception as exc:
                self.failed(attempt, exc)

    async def arun(
        self, invoke: Callable[[Any], Awaitable[T]], prepare: Callable[[Attempt], Any] | None = None
    ) -> tuple[Attempt, T]:
        """Async ``run``."""
        attempts = self._attempts()
        while True:
            attempt = next(attempts)
            ready = self._ready(attempt, prepare)
            try:
                return attempt, await invoke(ready)
            except Exception as exc:
                self.failed(attempt, exc)

    def stream(
        self, open_stream: Callable[[Any], Iterable[C]], prepare: Callable[[Attempt], Any] | None = None
    ) -> Iterator[C]:
        """The chunks of the first candidate whose stream starts; a stream that fails or ends before its first
        chunk falls back, one that fails after it raises. Then tell ``succeeded`` (its attempt: ``current``).
        ``prepare`` as for ``run``."""
        for attempt in self:
            ready = self._ready(attempt, prepare)
            with self._streaming(attempt) as stream:
                for chunk in open_stream(ready):
                    stream.out = self._first(attempt, stream.out)
                    yield chunk
            if stream.done:
                return

    async def astream(
        self,
        open_stream: Callable[[Any], AsyncIterable[C] | Awaitable[AsyncIterable[C]]],
        prepare: Callable[[Attempt], Any] | None = None,
    ) -> AsyncIterator[C]:
        """Async ``stream``; ``open_stream`` may return the async iterable or an awaitable of it."""
        for attempt in self:
            ready = self._ready(attempt, prepare)
            with self._streaming(attempt) as stream:
                chunks = open_stream(ready)
                if inspect.isawaitable(chunks):
                    chunks = await chunks
                async for chunk in chunks:
                    stream.out = self._first(attempt, stream.out)
                    yield chunk
            if stream.done:
                return

    @contextlib.contextmanager
    def _streaming(self, attempt: Attempt) -> Iterator[_Stream]:
        """One attempt's stream, the one stream rule: a failure before its first chunk falls back, one after it
        raises (``failed``); a stream that ends without a chunk failed. ``done``: it ended with chunks out."""
        stream = _Stream()
        try:
            yield stream
            if not stream.out:
                raise EmptyStreamError(f"{attempt.model} streamed no chunk")
            stream.done = True
        except Exception as exc:
            self.failed(attempt, exc, fall_back=not stream.out)

    def _first(self, attempt: Attempt, out: bool) -> bool:
        """A chunk is out: the first one's time is the stream's time to first token."""
        if not out:
            self.ttft_s = attempt.elapsed()
        return True

    def _ready(self, attempt: Attempt, prepare: Callable[[Attempt], Any] | None) -> Any:
        """``prepare(attempt)`` (the attempt itself without one); an error there ends the call unrecorded."""
        if prepare is None:
            return attempt
        try:
            return prepare(attempt)
        except BaseException:
            self._release()
            raise

    # -- endings ------------------------------------------------------------------------------
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
        falls_back = fall_back and isinstance(error, self.fallback_on)
        self._end(ended, final=not falls_back or attempt.index == len(self.decision.ranking) - 1)
        if not falls_back:
            self._release()
            raise error

    def succeeded(
        self, attempt: Attempt, usage: Usage = Usage(), *, reply_text: str = "", score: Score | None = None
    ) -> dict[str, Any]:
        """Price and record the answering attempt, account it against the budget; returns the call's metadata.

        Tokens the usage leaves out are the router's: the query's count, and the count of ``reply_text``; cache
        reads and writes it reports are priced at the model's cache prices.
        ``score``, if given, runs on the router's writer thread and its value is stored with the record.
        """
        in_tok = usage.input_tokens if usage.input_tokens is not None else self.decision.input_tokens
        out_tok = usage.output_tokens if usage.output_tokens is not None else self._count_tokens(reply_text)
        read, write = usage.cache_read_tokens, usage.cache_write_tokens
        cost = self.query.specs[attempt.model].cost(in_tok, out_tok, read or 0, write or 0)
        if self.budget is not None and self._open:
            self.budget.observe(cost, reserved_usd=self.decision.reserved_usd)
        self._open = False
        latency, ttft = attempt.elapsed(), self.ttft_s
        ended = Ended(
            self.run_id, attempt.model, attempt.index, latency, in_tok, out_tok, cost, None, read, write, ttft
        )
        cache = {"cache_read_tokens": read, "cache_write_tokens": write, "ttft_s": ttft}
        self.metadata = {
            **self.decision.overview(),
            "model": ended.model,
            "run_id": ended.run_id,
            "attempt": ended.attempt,
            "input_tokens": in_tok,
            "output_tokens": out_tok,
            "cost_usd": cost,
            "latency_s": round(latency, 6),
            **{k: v for k, v in cache.items() if v is not None},
            "failed": {m: error_text(e) for m, e in self.errors.items()},
        }
        if self.served is not None:
            self.served(attempt.model, Usage(in_tok, out_tok, read, write))
        self._end(ended, score, final=True)
        return self.metadata

    def _end(self, ended: Ended, score: Score | None = None, *, final: bool) -> None:
        self.ended.append(ended)
        if self.record:
            self._sink.attempt_ended(self, ended, score, final)
        if self.on_end is not None:
            self.on_end(self, ended)

    def _release(self) -> None:
        if self.budget is not None and self._open:
            self.budget.release(self.decision.reserved_usd)
        self._open = False


class EmptyStreamError(RuntimeError):
    """A candidate's stream ended without a chunk."""
