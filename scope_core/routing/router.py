"""Router: embed the query, fetch its neighbours once, estimate every candidate, apply the policy; open calls."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scope_core.errors import ScopeError, StorePendingError, StoreUnavailableError, UnknownModelError
from scope_core.estimators import DEFAULT_ESTIMATOR
from scope_core.estimators.base import Estimator, QueryContext
from scope_core.estimators.registry import get_estimator
from scope_core.outcome import Outcome
from scope_core.routing.call import Ended, RoutedCall, RoutedQuery
from scope_core.routing.cost_share import CostShares
from scope_core.routing.decide import Prepared, cost_unit, decide, warn_cold
from scope_core.routing.decision import Decision
from scope_core.routing.health import HealthTracker
from scope_core.routing.latency import LatencyBook
from scope_core.routing.policy import RouteOptions, cost_ref
from scope_core.routing.records import CallRecords, default_observers
from scope_core.routing.refit import Refitter
from scope_core.routing.sessions import SessionBook
from scope_core.routing.store_view import StoreView
from scope_core.routing.upkeep import RouterUpkeep
from scope_core.specs import ModelSpec
from scope_core.store.journal import DEFAULT_WAIT_S, Journal, journal_path
from scope_core.store.plausible import EvidenceCheck
from scope_core.store.recorder import Recorder
from scope_core.store.records import Registry
from scope_core.store.snapshot import RegistrySnapshot, snapshot_path
from scope_core.text.checks import check_text, chunked_counter, clip, prompt_text, query_text
from scope_core.text.embedder import Embedder, as_embedder, default_embedder
from scope_core.text.messages import Query
from scope_core.text.tokens import TokenCounter, count_tokens
from scope_core.text.turns import focus

if TYPE_CHECKING:
    from scope_core.store.behaviour import BehaviourStore
    from scope_core.store.records import NeighbourIndex

DEFAULT_K = 128  # neighbours per query: +0.009 AIQ on routerbench-3k over 32 for ~4 ms (benchmarks/)


CALL_ARGUMENTS = ("run_id", "fallback_on", "record", "on_end")  # what ``start`` passes to the call it opens


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


class Router(RouterUpkeep):
    """Pre-hoc router over the models registered in a BehaviourStore.

    What it reads from the store is cached ``cache_ttl_s`` seconds (``StoreView``); its own writes clear
    the cache at once. Every outcome, score and registration is appended to the local ``journal`` (fsync'd; a call
    waits at most ``journal_wait_s`` for it, then the entry waits in memory) before it is stored
    (``scope_core.store.recorder``). When the store is unavailable, routing goes on with the last registry and
    priors this router saw, or its local snapshot (no neighbours; ``Decision.degraded`` is True), and the writes wait
    in the journal, replayed within seconds once the store is back. ``status()`` says where it all stands.
    ``options`` are the defaults of every call's ``RouteOptions``.
    """

    def __init__(
        self,
        store: BehaviourStore | None = None,
        *,
        estimator: Estimator | str = DEFAULT_ESTIMATOR,
        embedder: Embedder | object | None = None,
        options: RouteOptions | Mapping[str, Any] | None = None,
        k: int = DEFAULT_K,
        token_counter: TokenCounter = count_tokens,
        focus_chars: int | None = 1000,
        cache_ttl_s: float = 5.0,
        health: HealthTracker | None = None,
        index: NeighbourIndex | None = None,
        journal: Journal | str | Path | None = None,
        journal_wait_s: float = DEFAULT_WAIT_S,
        seed: int | None = None,
        refit_every: int | None = None,
        sessions: SessionBook | None = None,
    ) -> None:
        if store is None:
            from scope_core.store.behaviour import BehaviourStore

            store = BehaviourStore.open(connect=False)
        self.store = store
        self.estimator: Estimator = get_estimator(estimator) if isinstance(estimator, str) else estimator
        self.embedder = default_embedder() if embedder is None else as_embedder(embedder)
        self.options = RouteOptions.build(options)
        self.k, self.focus_chars = k, focus_chars
        self.count_tokens = chunked_counter(token_counter)
        self.health = health if health is not None else HealthTracker()
        self.rng = np.random.default_rng(seed)  # exploration's draws (``RouteOptions.explore``)
        if not isinstance(journal, Journal):
            path = Path(journal) if journal else journal_path(store.location, store.name)
            journal = Journal(path, wait_s=journal_wait_s)
        self.journal = journal
        self.view = StoreView(
            store, cache_ttl_s, self._store_back, index, RegistrySnapshot(snapshot_path(journal.path))
        )
        self.recorder = Recorder(store, journal, self.embed_texts, self.count_tokens, self.view.written)
        self.sessions = sessions if sessions is not None else SessionBook()  # what each model's prompt cache holds
        self.records = CallRecords(
            self.recorder, self.health, default_observers(self.view), EvidenceCheck(self.known), LatencyBook(store)
        )
        self.cost_shares = CostShares(self)  # cost_share -> alpha, calibrated per candidate set
        self._warned_cold: set[str] = set()
        self.view.start()  # what a degraded route falls back on from the start: the registry, else its snapshot
        if self.journal.maybe_pending:  # left by a process that lost the store, then died
            self.recorder.kick()
        self.refitter = Refitter(self, refit_every).start() if refit_every else None  # refits in the background

    @classmethod
    def open(cls, location: str | None = None, *, name: str = "scope", store_prompts: bool = True, **kwargs) -> Router:
        """A router on a store (``BehaviourStore.open``: a path, ``http://host:port``, ``:memory:``; its options)."""
        from scope_core.store.behaviour import BehaviourStore

        store_keys = {k: kwargs.pop(k) for k in ("timeout_s", "retry_s", "retention") if k in kwargs}
        store = BehaviourStore.open(location, name=name, store_prompts=store_prompts, connect=False, **store_keys)
        return cls(store, **kwargs)

    def _store_back(self) -> None:
        if self.journal.maybe_pending:  # the store answers again: drain what the outage left
            self.recorder.kick()

    @property
    def index(self) -> NeighbourIndex | None:
        """Where neighbours are searched instead of the store (a ``MemoryIndex``), if anywhere."""
        return self.view.index

    @index.setter
    def index(self, index: NeighbourIndex | None) -> None:
        self.view.index = index
        self.view.invalidate()

    # -- models ---------------------------------------------------------------------------------
    def register_model(self, spec: ModelSpec) -> None:
        """Register (or update) a model: journaled, then stored (while the store is unavailable: known to this router
        at once, stored once the store is back, before the outcomes journaled after it)."""
        self.recorder.model(spec, wait=True)
        self.view.remember(spec)

    def models(self) -> dict[str, ModelSpec]:
        return self.view.registry()[0].specs

    def known(self) -> Registry:
        """The registry as this router last knew it (no store read)."""
        return self.view.last_registry

    def cost_ref(self, candidates: Iterable[ModelSpec], input_tokens: int = 500) -> float:
        """The policy's cost unit (``policy.cost_ref``) on this store's priors."""
        return cost_ref(candidates, self.view.registry()[0].priors, input_tokens)

    def alpha_for(self, cost_share: float, allowed: Iterable[str] | None = None) -> float:
        """The alpha spending about ``cost_share`` of always calling the dearest allowed model (``CostShares``)."""
        return self.cost_shares.alpha_for(cost_share, allowed)

    # -- routing --------------------------------------------------------------------------------
    def _prepare(self, query: Query, options: RouteOptions) -> Prepared:
        """Everything before estimation (see ``Prepared``)."""
        start, timings = time.perf_counter(), {}
        options = options.governed()
        text = query_text(query, options.routing_mode or "auto")
        registry, stale = self.view.registry()
        specs = registry.specs
        if not specs:
            if stale:
                raise StoreUnavailableError(f"{self.store.guard.cause}; no registry known yet (no snapshot either)")
            raise ScopeError("no models registered; call register_model or ingest a data set first")
        if options.model is not None:
            options = options.model_copy(update={"allowed": frozenset([options.model])})
        unknown = sorted(set(options.allowed or ()) - set(specs))
        if unknown:
            raise UnknownModelError(f"unknown model(s) {unknown}; registered: {sorted(specs)}")
        candidates = [specs[m] for m in sorted(specs) if options.allowed is None or m in options.allowed]
        options = self.cost_shares.apply(options, candidates)
        t = time.perf_counter()
        embedding = self.embed_texts([text])[0]
        timings["embed_ms"] = _ms(t)
        t = time.perf_counter()
        neighbours, blind = self.view.nearest(text, embedding, self.k)
        timings["search_ms"] = _ms(t)
        tokens = self.count_tokens(prompt_text(query))
        context = QueryContext(text, embedding, tokens, neighbours, registry.priors, registry.fits, self.store)
        latency = self.records.latency.fits(candidates, stale)
        step = self.sessions.plan(options, query, candidates, tokens)
        timings["prepare_ms"] = _ms(start)
        return Prepared(context, candidates, options, stale or blind, timings, step, latency)

    def _decide(self, prepared: Prepared, estimates: list, estimated_at: float) -> Decision:
        timings = prepared.timings_ms
        timings["estimate_ms"] = _ms(estimated_at)
        t = time.perf_counter()
        decision = decide(prepared, estimates, self.health, cost_unit(prepared), self.estimator.name, self.rng)
        policy_ms = _ms(t)
        total = decision.timings_ms.pop("prepare_ms") + decision.timings_ms["estimate_ms"] + policy_ms
        decision.timings_ms.update(policy_ms=policy_ms, total_ms=total)
        warn_cold(decision.estimates, self._warned_cold)
        return decision

    def _options(self, options: RouteOptions | None, given: dict[str, Any], pool: Iterable[str] | None = None):
        """The call's options over the router's; an adapter's ``pool`` narrows ``allowed`` (else UnknownModelError)."""
        merged = RouteOptions.build(self.options, options, given)
        if pool is None:
            return merged
        pool = frozenset(pool)
        named = {merged.model} if merged.model is not None else set(merged.allowed or ())
        if unknown := sorted(named - pool):
            raise UnknownModelError(f"unknown candidate(s) {unknown}; candidates: {sorted(pool)}")
        return merged.model_copy(update={"allowed": pool & merged.allowed if merged.allowed is not None else pool})

    def _route(self, query: Query, options: RouteOptions, estimator: Estimator | None) -> tuple[Decision, Prepared]:
        prepared = self._prepare(query, options)
        t = time.perf_counter()
        estimates = (estimator or self.estimator).estimate(prepared.context, prepared.candidates)
        return self._decide(prepared, estimates, t), prepared

    async def _aroute(self, query: Query, options: RouteOptions, estimator: Estimator | None):
        prepared = await asyncio.to_thread(self._prepare, query, options)
        t = time.perf_counter()
        estimates = await (estimator or self.estimator).aestimate(prepared.context, prepared.candidates)
        return self._decide(prepared, estimates, t), prepared

    def route(
        self, query: Query, options: RouteOptions | None = None, *, estimator: Estimator | None = None, **given: Any
    ) -> Decision:
        """Choose a model for ``query`` (text; Turns, OpenAI-style dicts or LangChain/LlamaIndex messages) under
        ``options`` and the ``RouteOptions`` keys given here (``alpha`` or ``cost_share``, ``max_cost``...; unknown ones
        raise InvalidInputError). Input tokens count the whole conversation; ``estimator`` replaces the router's."""
        return self._route(query, self._options(options, given), estimator)[0]

    async def aroute(
        self, query: Query, options: RouteOptions | None = None, *, estimator: Estimator | None = None, **given: Any
    ) -> Decision:
        """Async ``route``: embedding and search run in a worker thread, the estimator is awaited."""
        return (await self._aroute(query, self._options(options, given), estimator))[0]

    def start(
        self,
        query: Query,
        options: RouteOptions | None = None,
        *,
        pool: Iterable[str] | None = None,
        run_id: str | None = None,
        fallback_on: tuple[type[BaseException], ...] = (Exception,),
        record: bool = True,
        on_end: Callable[[RoutedCall, Ended], None] | None = None,
        **given: Any,
    ) -> RoutedCall:
        """Route ``query`` and open the call that runs its candidates (``scope_core.routing.call``): ``pool`` restricts
        the candidates (an adapter's), ``run_id`` names the call's record, ``fallback_on`` are the errors that fall
        back, ``record=False`` stores nothing, ``on_end`` is told how each attempt ended; the rest are options."""
        decision, prepared = self._route(query, self._options(options, given, pool), None)
        return self._open(decision, prepared, run_id=run_id, fallback_on=fallback_on, record=record, on_end=on_end)

    async def astart(self, query: Query, options: RouteOptions | None = None, **arguments: Any) -> RoutedCall:
        """Async ``start``, with the same arguments."""
        call = {k: arguments.pop(k) for k in CALL_ARGUMENTS if k in arguments}
        pool = arguments.pop("pool", None)
        decision, prepared = await self._aroute(query, self._options(options, arguments, pool), None)
        return self._open(decision, prepared, **call)

    def _open(self, decision: Decision, prepared: Prepared, run_id: str | None = None, **call: Any) -> RoutedCall:
        ctx = prepared.context
        query = RoutedQuery(ctx.text, ctx.embedding, {c.name: c for c in prepared.candidates})
        run_id = run_id or str(uuid.uuid4())
        call["served"] = prepared.step.served if prepared.step is not None else None
        return RoutedCall(
            decision, query, run_id, self.records, self.count_tokens, budget=prepared.options.budget, **call
        )

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed prompts as the store sees them: their ``focus`` (trailing paragraphs) when long."""
        if self.focus_chars:
            texts = [focus(t, self.focus_chars) for t in texts]
        return self.embedder.embed(list(texts))

    # -- what happened --------------------------------------------------------------------------
    def record(self, outcomes: Outcome | Sequence[Outcome], *, wait: bool = True) -> int:
        """Store observed outcomes (journaled first, fsync'd); returns how many records were new or changed (0 while
        the store is unavailable: they are stored on replay). ``wait=False`` returns once they are journaled."""
        batch = [outcomes] if isinstance(outcomes, Outcome) else list(outcomes)
        for o in batch:
            if o.prompt is not None:
                check_text(o.prompt, f"prompt of outcome {o.id}")
            self.records.refuse_implausible(o)
        return self.records.outcomes(batch, wait=wait)

    def record_call(
        self,
        decision: Decision,
        text: str,
        model: str,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        score: float | None = None,
        wait: bool = True,
        latency_s: float | None = None,
        error: str | None = None,
        run_id: str | None = None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        ttft_s: float | None = None,
    ) -> Outcome:
        """Record what the chosen (or a fallback) model did on a call routed by ``route`` (and tell its session): its
        outcome, priced, the decision record; journaled before this returns (``wait=False``: later), error scrubbed."""
        text = clip(check_text(text, "text"))
        spec = self.view.last_registry.specs.get(model) or self.models().get(model)  # no store read if known
        if spec is None:
            raise UnknownModelError(f"model '{model}' is not registered")
        kw = {"cache_read_tokens": cache_read_tokens, "cache_write_tokens": cache_write_tokens, "ttft_s": ttft_s}
        ended = Ended(run_id or str(uuid.uuid4()), model, 0, latency_s, input_tokens, output_tokens, None, error, **kw)
        self.sessions.recorded(decision.session_id, ended)
        return self.records.record_call(decision, text, spec, ended, score, wait=wait)

    def feedback(self, run_id: str, score: float, *, wait: bool = True) -> None:
        """Attach a quality score in [0, 1] to a recorded call by its run id (``wait=False``: stored later)."""
        self.records.feedback(run_id, score, wait=wait)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything this router recorded is stored; StorePendingError, with how many still wait,
        when it is not within ``timeout`` seconds (they stay in the journal, stored once the store is back)."""
        if left := self.recorder.settle(timeout):
            raise StorePendingError(f"{left} write(s) not stored after {timeout:g} s; {self.status()}", left)

    def replay_journal(self) -> int:
        """Store what the journal holds (writes made while the store was unavailable, held entries tried again);
        returns entries replayed."""
        return self.recorder.drain(retry_held=True)
