"""Sessions: which model served a conversation's last step, and which prefix of it each model's prompt cache holds.

An agent re-sends its growing conversation at every step. A provider that caches prompts bills the prefix it
holds from an earlier call at its cache-read price (a tenth of the input price on Claude, half on gpt-4o); a model
that does not hold it pays the input price on the whole context, plus the cache-write fee where the provider bills
one (Claude: 1.25 times the input price). ``SessionBook.plan`` tells, before a step runs, how many of its prompt
tokens each candidate would read from its cache and whether it would write the rest; the call tells the book which
model served it (``SessionStep.served``). A model is credited with cache reads until its provider reports none
where it held the prefix, and with cache writes once its provider reported some (Claude caches only when asked to;
OpenAI and Gemini cache by themselves and bill no write); what one session shows of a model holds for the next
one until it shows otherwise. Sessions are kept in memory: the least recently used are dropped beyond
``max_sessions``, an idle one after ``idle_s``; the clock is the book's (a logical one in simulations).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cachetools import TTLCache

from scope_core.routing.call import Ended, Usage
from scope_core.routing.policy import RouteOptions
from scope_core.specs import ModelSpec
from scope_core.text.messages import Query, as_turns
from scope_core.text.turns import Turn

MIN_CACHED_TOKENS = 1024  # the shortest prompt OpenAI and most Claude models cache
RECENT_STEPS = 8  # output lengths of a session's last steps kept as evidence for its next one


@dataclass(frozen=True)
class Held:
    """A conversation prefix a model's cache holds: its first ``turns`` turns (``digest``), the provider's input
    tokens for it, and when the model was last sent it."""

    turns: int
    digest: int
    tokens: int
    at: float


@dataclass
class Session:
    held: dict[str, Held] = field(default_factory=dict)
    last: str | None = None  # the model that served the last step
    overhead: float = 0.0  # the provider's input tokens beyond the router's count, on the last step
    caching: dict[str, bool] = field(default_factory=dict)  # per model: its provider reported cache use here
    planned: SessionStep | None = None  # the step routed last (``Router.route``, told by ``record_call``)
    outputs: tuple[int, ...] = ()  # output tokens of its last steps, oldest first


@dataclass(frozen=True)
class SessionStep:
    """One step of a session, planned before it runs: per candidate, the prompt tokens it would read from its
    cache (``reads``) and whether it would write the rest to it (``writes``, where the provider bills writes);
    ``input_tokens``: the step's input as the provider counts it (the router's count plus the session's overhead;
    None on a session's first step); ``holder``: the model that served the last step; ``held``: the prefix tokens
    each candidate holds (fresh, and this step's prompt starts with it), ``billed``: those billing cache writes;
    ``outputs``: the output tokens of the session's last steps (the closest evidence of this step's)."""

    book: SessionBook
    session_id: str
    digests: tuple[int, ...]
    counted: int
    input_tokens: float | None
    holder: str | None
    reads: dict[str, float]
    writes: frozenset[str]
    held: dict[str, float]
    billed: frozenset[str]
    outputs: tuple[int, ...] = ()

    def served(self, model: str, usage: Usage) -> None:
        self.book.served(self, model, usage)


def digests(query: Query) -> tuple[int, ...]:
    """The digest of each prefix of a conversation (a text is one user turn): in-process hashes, as sessions are."""
    turns = [Turn("user", query)] if isinstance(query, str) else as_turns(query)
    out, running = [], 0
    for t in turns:
        running = hash((running, t.role, t.content, t.tool_calls))
        out.append(running)
    return tuple(out)


class SessionBook:
    """Per session: what each model's cache holds of the conversation (thread-safe)."""

    def __init__(
        self, max_sessions: int = 10_000, idle_s: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        self._sessions: TTLCache[str, Session] = TTLCache(maxsize=max_sessions, ttl=idle_s, timer=clock)
        self._caches: dict[str, bool] = {}  # per model: whether its provider reported cache use on its last step
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def plan(
        self, options: RouteOptions, query: Query, candidates: Sequence[ModelSpec], counted: int
    ) -> SessionStep | None:
        """The step of the options' session that sends ``query`` (None: no session, or ``cache_aware=False``)."""
        session_id = options.session_id
        if session_id is None or options.cache_aware is False:
            return None
        now, chain = self.clock(), digests(query)
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                session = self._sessions[session_id] = Session()
            caches = {**self._caches, **session.caching}
        held = {}
        for spec in candidates:
            h = session.held.get(spec.name)
            fresh = h is not None and now - h.at <= spec.cache_lifetime_s and h.tokens >= MIN_CACHED_TOKENS
            if fresh and h.turns <= len(chain) and chain[h.turns - 1] == h.digest:
                held[spec.name] = float(h.tokens)
        billed = frozenset(s.name for s in candidates if s.cache_write_price is not None)
        reads = {m: n for m, n in held.items() if caches.get(m) is not False}
        writes = frozenset(m for m in billed if caches.get(m))
        known = session.last is not None
        session.planned = SessionStep(
            self, session_id, chain, counted, counted + session.overhead if known else None, session.last, reads,
            writes, held, billed, session.outputs,
        )  # fmt: skip
        return session.planned

    def recorded(self, session_id: str | None, ended: Ended) -> None:
        """How the step of ``session_id`` routed last ended (``Router.record_call``): a failure tells nothing."""
        with self._lock:
            session = self._sessions.get(session_id) if session_id is not None else None
            step = session.planned if session is not None else None
        if step is not None and ended.error is None:
            usage = Usage(ended.input_tokens, ended.output_tokens, ended.cache_read_tokens, ended.cache_write_tokens)
            self.served(step, ended.model, usage)

    def served(self, step: SessionStep, model: str, usage: Usage) -> None:
        """``model`` answered ``step`` with ``usage``: its cache now holds the step's prompt."""
        tokens = usage.input_tokens if usage.input_tokens is not None else step.counted
        used = (usage.cache_read_tokens or 0) + (usage.cache_write_tokens or 0) > 0
        unused = tokens >= MIN_CACHED_TOKENS and (model in step.held or model in step.billed)  # it would have shown
        with self._lock:
            session = self._sessions.get(step.session_id) or Session()
            if used or unused:
                session.caching[model] = self._caches[model] = used
            session.held[model] = Held(len(step.digests), step.digests[-1], tokens, self.clock())
            session.last, session.overhead, session.planned = model, float(tokens - step.counted), None
            if usage.output_tokens is not None:
                session.outputs = (*session.outputs, usage.output_tokens)[-RECENT_STEPS:]
            self._sessions[step.session_id] = session  # set again: its idle time starts over
