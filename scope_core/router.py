"""Router: embed the query, fetch its neighbours once, estimate every candidate, apply the policy."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from cachetools import TTLCache

from .budget import BudgetExhaustedError, BudgetGovernor
from .call import Ended, RoutedCall
from .decision import Decision, Estimate
from .embedder import Embedder, as_embedder, default_embedder
from .errors import (
    ColdStartWarning,
    InvalidInputError,
    NoCandidateError,
    ScopeError,
    StoreError,
    StoreUnavailableError,
    UnknownModelError,
    UnknownRunError,
)
from .estimators import DEFAULT_ESTIMATOR, LLM_ESTIMATORS, Estimator, QueryContext, get_estimator
from .fit import StoreFit
from .fit_store import fit_store
from .health import HealthTracker
from .imputer_fit import fit_store_imputers
from .journal import Journal, journal_path
from .money import usd
from .outcome import Outcome, check_score, text_hash
from .policy import Policy, choose, cost_ref, eligibility
from .recorder import Recorder
from .routing_text import RoutingMode, Turn, focus, routing_text
from .scrub import scrub
from .specs import Capability, ModelSpec
from .store import DEFAULT_TIMEOUT_S, BehaviourStore, Neighbourhood, PromptInfo, Registry
from .tokens import TokenCounter, count_tokens
from .validate import check_text, check_turns, chunked_counter, clip

if TYPE_CHECKING:
    from .data import Dataset
    from .memory_index import NeighbourIndex

log = logging.getLogger("scope_core")
Query = str | Sequence[Turn]
DEFAULT_K = 128  # neighbours per query: +0.009 AIQ on routerbench-3k over 32 for ~4 ms (benchmarks/)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _forced(decision: Decision, model: str | None) -> Decision:
    """The decision of a call whose model the caller forced: its reason says so (no policy choice was made)."""
    if not model:
        return decision
    e = decision.estimate_for(model)
    reason = f"forced by the caller (model={model!r}; p={e.p_correct:.3f}, cost={usd(e.cost_usd)})"
    return decision.model_copy(update={"reason": reason + _cold_start_note(decision.estimates)})


def _cold_start_note(estimates: Sequence[Estimate]) -> str:
    """The reason's note on the candidates routed without evidence (none: empty)."""
    cold = [e.model for e in estimates if e.cold_start]
    return f"; cold start: no scored outcome yet for {', '.join(cold)} (p_correct is a default)" if cold else ""


def _no_neighbours() -> Neighbourhood:
    """What a degraded route searches on: nothing, so estimates rest on the last priors seen."""
    return Neighbourhood(ids=[], similarities=np.zeros(0), tokens=np.zeros(0), stats=[])


class Router:
    """Pre-hoc router over the models registered in a BehaviourStore.

    The model registry and the neighbourhoods of recent queries are cached for ``cache_ttl_s``
    seconds; this router's own writes clear both at once, so only other processes' writes take
    up to ``cache_ttl_s`` to show.

    Every outcome and score is appended to the local ``journal`` (``scope_core.journal``, fsync'd)
    before it is stored (``scope_core.recorder``). When the store is unavailable, routing goes on
    with the last registry and priors this router saw (no neighbours; ``Decision.degraded`` is True)
    and the writes wait in the journal, replayed once the store is back.
    """

    def __init__(
        self,
        store: BehaviourStore | None = None,
        *,
        estimator: Estimator | str = DEFAULT_ESTIMATOR,
        embedder: Embedder | object | None = None,
        policy: Policy | None = None,
        k: int = DEFAULT_K,
        token_counter: TokenCounter = count_tokens,
        routing_mode: RoutingMode = "auto",
        focus_chars: int | None = 1000,
        cache_ttl_s: float = 5.0,
        health: HealthTracker | None = None,
        index: NeighbourIndex | None = None,
        estimator_llm: object | None = None,
        journal: Journal | str | Path | None = None,
    ) -> None:
        self.store = store if store is not None else BehaviourStore.open()
        if isinstance(estimator, str):  # an LLM estimator by name gets estimator_llm and this store
            options = {"llm": estimator_llm, "store": self.store} if estimator in LLM_ESTIMATORS else {}
            estimator = get_estimator(estimator, **options)
        self.estimator = estimator
        self.embedder = default_embedder() if embedder is None else as_embedder(embedder)
        self.policy = policy or Policy()
        self.k, self.routing_mode, self.cache_ttl_s = k, routing_mode, cache_ttl_s
        self.count_tokens = chunked_counter(token_counter)
        self.focus_chars = focus_chars
        self.health = health if health is not None else HealthTracker()
        self.index = index  # where neighbours are searched instead of the store (``MemoryIndex``)
        self._cache_lock = threading.Lock()
        self._cache_at = -1e18
        self._generation = 0  # bumped by every write: a search that raced one is not cached
        self._neighbours: TTLCache[str, Neighbourhood] = TTLCache(maxsize=1024, ttl=cache_ttl_s)
        self._cached_registry = Registry({}, {}, {})
        self._warned_cold: set[str] = set()
        self._registry_seen = False
        if not isinstance(journal, Journal):
            journal = Journal(Path(journal) if journal else journal_path(self.store.location, self.store.name))
        self.journal = journal
        self.recorder = Recorder(self.store, journal, self.embed_texts, self.count_tokens, self._stored)
        self.writer = self.recorder.writer
        with contextlib.suppress(StoreUnavailableError):  # what a degraded route falls back on from the start
            self._registry()
        if self.journal.maybe_pending:  # left by a process that lost the store, then died
            self.recorder.kick()

    @classmethod
    def open(
        cls,
        location: str | None = None,
        *,
        name: str = "scope",
        store_prompts: bool = True,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry_s: float = 2.0,
        **kwargs,
    ) -> Router:
        """A router on the store at a path, ``http://host:port`` or ``:memory:``.

        ``store_prompts=False`` keeps no prompt text in the store (nor in the journal); ``timeout_s``
        bounds every call to a Chroma server; after a failure the store is retried every ``retry_s``.
        """
        store = BehaviourStore.open(
            location, name=name, store_prompts=store_prompts, timeout_s=timeout_s, retry_s=retry_s
        )
        return cls(store, **kwargs)

    # -- registry -----------------------------------------------------------------------------
    def register_model(self, spec: ModelSpec) -> None:
        self.store.put_model(spec)
        with self._cache_lock:  # what a degraded route falls back on knows the model at once
            seen = self._cached_registry
            self._cached_registry = replace(seen, specs={**seen.specs, spec.name: spec})
        self._invalidate()

    def models(self) -> dict[str, ModelSpec]:
        return self._registry().specs

    def _invalidate(self) -> None:
        with self._cache_lock:
            self._cache_at = -1e18
            self._generation += 1
            self._neighbours.clear()

    def _nearest(self, text: str, embedding: np.ndarray) -> tuple[Neighbourhood, bool]:
        """The query's neighbourhood (one store search, reused for a repeated text until a write),
        and whether the store was unavailable (then no neighbours)."""
        key = f"{self.k}:{text_hash(text)}"
        with self._cache_lock:
            cached, generation = self._neighbours.get(key), self._generation
        if cached is not None:
            return cached, False
        try:
            found = (self.index or self.store).nearest(embedding, self.k)
        except StoreUnavailableError:
            return _no_neighbours(), True
        with self._cache_lock:
            if generation == self._generation:
                self._neighbours[key] = found
        return found, False

    def _registry(self) -> Registry:
        return self._registry_state()[0]

    def _registry_state(self) -> tuple[Registry, bool]:
        """The registry (cached ``cache_ttl_s``) and whether it is the last one seen because the store is
        unavailable; raises StoreUnavailableError only if this router never read one. The store is read
        outside the lock: a slow read holds up no other thread's route."""
        with self._cache_lock:
            if time.monotonic() - self._cache_at <= self.cache_ttl_s:
                return self._cached_registry, False
            generation = self._generation
        try:
            registry = self.store.registry()
        except StoreUnavailableError:
            with self._cache_lock:
                if not self._registry_seen:
                    raise
                return self._cached_registry, True
        self._cache_registry(registry, generation)
        if self.journal.maybe_pending:  # the store answers again: drain what the outage left
            self.recorder.kick()
        return registry, False

    def _cache_registry(self, registry: Registry, generation: int) -> None:
        """Keep a registry read while ``generation`` was current, unless a write of this router raced it."""
        with self._cache_lock:
            self._registry_seen = True
            if generation == self._generation:
                self._cached_registry, self._cache_at = registry, time.monotonic()

    def _stored(self) -> None:
        """After this router's writes: neighbourhoods dropped and the registry read again, once for all routes."""
        self._invalidate()
        with self._cache_lock:
            generation = self._generation
        with contextlib.suppress(StoreError):  # the writes are stored: a failed read only leaves the cache cold
            self._cache_registry(self.store.registry(), generation)

    def cost_ref(self, candidates: Iterable[ModelSpec], input_tokens: int = 500) -> float:
        """The policy's cost unit (``policy.cost_ref``) on this store's priors."""
        return cost_ref(candidates, self._registry().priors, input_tokens)

    # -- routing ------------------------------------------------------------------------------
    def text_of(self, query: Query, mode: RoutingMode | None = None) -> str:
        """The text a query is routed on: itself, or its conversation's routing text (``mode`` or the default),
        cut to its last ``validate.MAX_PROMPT_CHARS`` characters. Bad input raises InvalidInputError."""
        if isinstance(query, str | bytes | bytearray):
            return clip(check_text(query, "query"))
        text = routing_text(check_turns(query), mode or self.routing_mode)
        if not text.strip():
            raise InvalidInputError("cannot route an empty query: the conversation has no text")
        return clip(text)

    def _prepare(
        self, query: Query, overrides: dict
    ) -> tuple[QueryContext, list[ModelSpec], Policy, dict, BudgetGovernor | None, bool]:
        """Everything before estimation, the call's budget governor (if any) and whether the store was
        unavailable (degraded)."""
        start = time.perf_counter()
        timings: dict[str, float] = {}
        budget: BudgetGovernor | None = overrides.pop("budget", None)
        mode: RoutingMode | None = overrides.pop("routing_mode", None)
        if budget is not None:
            for key, value in budget.overrides().items():
                overrides[key] = (
                    value if key != "max_cost" or overrides.get(key) is None else min(value, overrides[key])
                )
        if overrides.get("required") is not None:
            overrides["required"] = frozenset(Capability(c) for c in overrides["required"])
        if overrides.get("allowed") is not None:
            overrides["allowed"] = frozenset(overrides["allowed"])
        policy = self.policy.with_overrides(**overrides)
        text = self.text_of(query, mode)
        registry, stale = self._registry_state()
        specs, priors = registry.specs, registry.priors
        if not specs:
            raise ScopeError("no models registered; call register_model or ingest a data set first")
        unknown = sorted(set(policy.allowed or ()) - set(specs))
        if unknown:
            raise UnknownModelError(f"unknown model(s) {unknown}; registered: {sorted(specs)}")
        candidates = [specs[m] for m in sorted(specs) if policy.allowed is None or m in policy.allowed]
        t = time.perf_counter()
        embedding = self.embed_texts([text])[0]
        timings["embed_ms"] = _ms(t)
        t = time.perf_counter()
        neighbours, blind = self._nearest(text, embedding)
        timings["search_ms"] = _ms(t)
        prompt = query if isinstance(query, str) else "\n".join(t.content for t in query)
        ctx = QueryContext(
            text, embedding, self.count_tokens(prompt), neighbours, priors, registry.imputers, registry.fit
        )
        timings["prepare_ms"] = _ms(start)
        return ctx, candidates, policy, timings, budget, stale or blind

    def _decide(
        self,
        ctx: QueryContext,
        candidates: list[ModelSpec],
        policy: Policy,
        estimates: list[Estimate],
        timings: dict,
        budget: BudgetGovernor | None,
        degraded: bool = False,
    ) -> Decision:
        t = time.perf_counter()
        specs = {c.name: c for c in candidates}
        estimates = self._with_health(estimates)
        try:
            choice = choose(estimates, specs, policy, self.cost_ref(candidates, ctx.input_tokens))
        except NoCandidateError as exc:
            uncapped = policy.model_copy(update={"max_cost": None})
            if budget is not None and eligibility(estimates, specs, uncapped)[0]:  # only the cost cap excludes all
                raise BudgetExhaustedError(
                    f"no model fits in the {usd(policy.max_cost)} the budget leaves for this call ({exc})"
                ) from exc
            raise
        timings["policy_ms"] = _ms(t)
        timings["total_ms"] = timings.pop("prepare_ms") + timings["estimate_ms"] + timings["policy_ms"]
        chosen_cost = next(e.cost_usd for e in estimates if e.model == choice.chosen)
        self._warn_cold(estimates)
        reason = choice.reason + _cold_start_note(estimates)
        return Decision(
            reserved_usd=budget.reserve(chosen_cost) if budget is not None else 0.0,
            chosen=choice.chosen,
            ranking=choice.ranking,
            estimates=estimates,
            utilities=choice.utilities,
            reason=reason,
            alpha=policy.alpha,
            query_hash=text_hash(ctx.text),
            input_tokens=ctx.input_tokens,
            timings_ms=timings,
            excluded=choice.excluded,
            degraded=degraded,
        )

    def _warn_cold(self, estimates: list[Estimate]) -> None:
        """A ColdStartWarning for each candidate without evidence, once per model and router."""
        for e in estimates:
            if e.cold_start and e.model not in self._warned_cold:
                self._warned_cold.add(e.model)
                warnings.warn(
                    f"scope-router: model '{e.model}' has no scored outcome yet, so it is routed on a default "
                    f"P(correct); profile it (`scope profile`) or record feedback",
                    ColdStartWarning,
                    stacklevel=4,
                )

    def _with_health(self, estimates: list[Estimate]) -> list[Estimate]:
        """Estimates of models that failed lately, with p_correct lowered by ``self.health`` (0 in cooldown)."""
        out = []
        for e in estimates:
            factor = self.health.factor(e.model)
            out.append(e if factor == 1.0 else e.model_copy(update={"p_correct": e.p_correct * factor}))
        return out

    def route(self, query: Query, *, estimator: Estimator | None = None, **overrides) -> Decision:
        """Choose a model for ``query`` (text or conversation turns).

        Overrides: ``alpha``, ``max_cost``, ``min_accuracy``, ``allowed``, ``required``, ``budget``,
        ``routing_mode``. Pass conversations as turns: input tokens (cost, context fit) count all of it.
        ``estimator`` estimates this call instead of the router's own (evaluation, comparisons).
        """
        ctx, candidates, policy, timings, budget, degraded = self._prepare(query, dict(overrides))
        t = time.perf_counter()
        estimates = (estimator or self.estimator).estimate(ctx, candidates)
        timings["estimate_ms"] = _ms(t)
        return self._decide(ctx, candidates, policy, estimates, timings, budget, degraded)

    async def aroute(self, query: Query, *, estimator: Estimator | None = None, **overrides) -> Decision:
        """Async ``route``: embedding and search run in a worker thread, the estimator is awaited,
        so neither blocks the event loop."""
        ctx, candidates, policy, timings, budget, degraded = await asyncio.to_thread(
            self._prepare, query, dict(overrides)
        )
        t = time.perf_counter()
        estimates = await (estimator or self.estimator).aestimate(ctx, candidates)
        timings["estimate_ms"] = _ms(t)
        return self._decide(ctx, candidates, policy, estimates, timings, budget, degraded)

    def start(
        self,
        query: Query,
        *,
        pool: Iterable[str] | None = None,
        run_id: str | None = None,
        text: str | None = None,
        fallback_on: tuple[type[BaseException], ...] = (Exception,),
        record: bool = True,
        on_end: Callable[[RoutedCall, Ended], None] | None = None,
        **overrides,
    ) -> RoutedCall:
        """Route ``query`` and open the call that runs its candidates (see ``scope_core.call``).

        ``pool`` restricts the candidates (an adapter's own models), ``model`` forces one of them,
        ``text`` is the routing text the call is recorded under (default: ``text_of(query)``),
        ``record=False`` stores nothing, ``on_end`` is told how each attempt ended; the other
        overrides are ``route``'s.
        """
        forced = overrides.get("model")
        overrides = self._call_overrides(pool, overrides)
        decision = _forced(self.route(query, **overrides), forced)
        return self._open_call(
            query, decision, run_id, text, overrides, fallback_on=fallback_on, record=record, on_end=on_end
        )

    async def astart(
        self,
        query: Query,
        *,
        pool: Iterable[str] | None = None,
        run_id: str | None = None,
        text: str | None = None,
        fallback_on: tuple[type[BaseException], ...] = (Exception,),
        record: bool = True,
        on_end: Callable[[RoutedCall, Ended], None] | None = None,
        **overrides,
    ) -> RoutedCall:
        """Async ``start``."""
        forced = overrides.get("model")
        overrides = self._call_overrides(pool, overrides)
        decision = _forced(await self.aroute(query, **overrides), forced)
        return self._open_call(
            query, decision, run_id, text, overrides, fallback_on=fallback_on, record=record, on_end=on_end
        )

    @staticmethod
    def _call_overrides(pool: Iterable[str] | None, overrides: dict) -> dict:
        """``model`` (one forced candidate) and ``allowed`` narrowed to ``pool``; unknown names raise."""
        pool = None if pool is None else set(pool)
        model = overrides.pop("model", None)
        allowed = [model] if model else overrides.get("allowed")
        if allowed is not None and pool is not None:
            unknown = sorted(set(allowed) - pool)
            if unknown:
                raise UnknownModelError(f"unknown candidate(s) {unknown}; candidates: {sorted(pool)}")
        overrides["allowed"] = set(allowed) if allowed is not None else pool
        return overrides

    def _open_call(
        self, query: Query, decision: Decision, run_id: str | None, text: str | None, overrides: dict, **options
    ) -> RoutedCall:
        text = text if text is not None else self.text_of(query, overrides.get("routing_mode"))
        return RoutedCall(self, decision, text, run_id or uuid.uuid4().hex, budget=overrides.get("budget"), **options)

    # -- feedback -----------------------------------------------------------------------------
    def record(self, outcomes: Outcome | Sequence[Outcome], *, wait: bool = True) -> int:
        """Store observed outcomes; returns how many records were new or changed.

        They are first appended to the local journal (fsync'd), then stored; with the store unavailable
        they stay there (0 is returned) and are stored on replay. ``wait=False`` returns once they are
        journaled and leaves the store write to the background writer.
        """
        batch = [outcomes] if isinstance(outcomes, Outcome) else list(outcomes)
        for o in batch:
            if o.prompt is not None:
                check_text(o.prompt, f"prompt of outcome {o.id}")
        return self.recorder.outcomes(batch, wait=wait)

    def replay_journal(self) -> int:
        """Store what the journal holds (writes made while the store was unavailable); returns entries replayed."""
        done = self.recorder.drain()
        if done:
            log.info("scope-router: stored %d journal entries", done)
        return done

    def record_call(
        self,
        decision: Decision,
        text: str,
        model: str,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        latency_s: float | None = None,
        error: str | None = None,
        score: float | None = None,
        run_id: str | None = None,
        wait: bool = True,
    ) -> Outcome:
        """Record what the chosen (or fallback) model did on a routed call; cost comes from its prices.

        The outcome is journaled (fsync'd) before this returns; with ``wait=False`` the store write then
        runs on the router's background writer (in order); ``flush()`` waits for pending writes.
        An empty or non-str ``text`` raises InvalidInputError; ``error`` is scrubbed of credentials.
        """
        text = clip(check_text(text, "text"))
        error = None if error is None else scrub(error)
        spec = self._cached_registry.specs.get(model) or self.models().get(model)  # no store read if known
        if spec is None:
            raise UnknownModelError(f"model '{model}' is not registered")
        if error is None:
            self.health.report_success(model)
        else:
            self.health.report_failure(model, error)
        cost = None
        if input_tokens is not None and output_tokens is not None:
            cost = spec.cost(input_tokens, output_tokens)
        outcome = Outcome(
            id=run_id or uuid.uuid4().hex,
            prompt=text,
            model=model,
            score=score,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost,
            latency_s=latency_s,
            error=error,
            source="online",
        )
        self.record(outcome, wait=wait)
        return outcome

    def flush(self) -> None:
        """Wait until every outcome recorded with ``wait=False`` is stored."""
        self.writer.flush()

    def feedback(self, run_id: str, score: float, *, wait: bool = True) -> None:
        """Attach a quality score in [0, 1] to a recorded call, by its run id.

        The score is journaled after the call's own record; with ``wait=False`` it is stored by the
        background writer.
        """
        score = check_score(score)
        if wait:
            self.flush()  # a routed call's record may still be on the writer
        try:
            self.recorder.score(str(run_id), score, wait=wait)
        except KeyError:
            raise UnknownRunError(
                f"no recorded call with run id '{run_id}': pass the run_id a routed call returned"
            ) from None

    # -- bulk ---------------------------------------------------------------------------------
    def _prompt_infos(self, texts: dict[str, tuple[str, str | None]]) -> dict[str, PromptInfo]:
        """PromptInfo for each {hash: (text, task)} the store does not hold yet, embedded in one batch (an ingest's)."""
        known = self.store.known_prompts(list(texts))
        new = [h for h in texts if h not in known]
        if not new:
            return {}
        vectors = self.embed_texts([texts[h][0] for h in new])
        return {
            h: PromptInfo(h, v, self.count_tokens(texts[h][0]), texts[h][0], texts[h][1])
            for h, v in zip(new, vectors, strict=True)
        }

    def ingest(
        self,
        dataset: Dataset,
        *,
        progress: bool = True,
        batch_prompts: int = 512,
        update_prices: bool = False,
        fit: bool = True,
    ) -> int:
        """Register a data set's models and store its outcomes; idempotent. Returns records changed.

        A model already registered keeps its spec unless ``update_prices`` (or the data set declares
        its prices in models.json): fitted prices never replace registered ones. An ingest that fails
        before storing any outcome leaves the registry as it was. Prompts whose summaries disagree with
        their outcome records (an ingest killed midway) are re-derived, and then the priors rebuilt.
        Then refits the store (``fit``) unless nothing changed and it has a fit already.
        """
        from tqdm.auto import tqdm

        registered = self.store.models()
        added = self._register_dataset_models(dataset, registered, update_prices)
        inconsistent = self.store.inconsistent_found
        by_prompt = dataset.outcomes_by_prompt()
        changed, written = 0, False
        try:
            with tqdm(
                total=len(dataset.outcomes), desc=f"ingest {dataset.name}", unit="outcome", disable=not progress
            ) as bar:
                for start in range(0, len(dataset.prompts), batch_prompts):
                    rows = dataset.prompts[start : start + batch_prompts]
                    texts = {text_hash(p.text): (p.text, p.task) for p in rows}
                    outcomes = [o for p in rows for o in dataset.to_outcomes(p, by_prompt.get(p.id, []))]
                    changed += self.store.add(outcomes, self._prompt_infos(texts))
                    written = True
                    bar.update(len(outcomes))
        except BaseException:
            if not written:
                self._restore_registry(added, registered)
            raise
        if self.store.inconsistent_found > inconsistent:  # an earlier ingest died midway: its priors may be short
            log.warning(
                "scope-router: %d prompt summaries were out of line; priors rebuilt",
                self.store.inconsistent_found - inconsistent,
            )
            self.store.rebuild_priors()
            self._invalidate()
        self.fit_imputers()
        if fit and (changed or self.store.registry().fit is None):  # a re-ingest that changed nothing keeps the fit
            self.fit()
        return changed

    def _register_dataset_models(
        self, dataset: Dataset, registered: dict[str, ModelSpec], update_prices: bool
    ) -> list[str]:
        """Register the data set's new models, and update known ones only where allowed; returns names written."""
        written = []
        for name, spec in dataset.specs.items():
            current = registered.get(name)
            if current is not None and current == spec:
                continue
            if current is not None and not (update_prices or name in dataset.declared):
                if (current.input_price, current.output_price) != (spec.input_price, spec.output_price):
                    log.info(
                        "scope-router: %s keeps its registered prices $%g/$%g (the data set's fitted $%g/$%g "
                        "apply only with update_prices)",
                        name,
                        current.input_price,
                        current.output_price,
                        spec.input_price,
                        spec.output_price,
                    )
                continue
            self.register_model(spec)
            written.append(name)
        return written

    def _restore_registry(self, written: list[str], before: dict[str, ModelSpec]) -> None:
        """Undo ``_register_dataset_models``: earlier specs back, new models removed."""
        with contextlib.suppress(StoreUnavailableError):
            for name in written:
                if name in before:
                    self.store.put_model(before[name])
            self.store.remove_models([n for n in written if n not in before])
        self._invalidate()

    def repair(self) -> int:
        """Re-derive every prompt summary and model prior from the outcome records (``scope repair``);
        returns how many summaries were wrong. Run it while no other process writes to the store."""
        fixed = self.store.rebuild_summaries()
        self.store.rebuild_priors()
        self._invalidate()
        return fixed

    def fit(self) -> StoreFit | None:
        """Refit the estimator settings and calibration on the store's outcomes (``scope_core.fit_store``)
        and save them in the registry for every process; None (defaults kept) on a small store."""
        fitted = fit_store(self.store, k=self.k, index=self.index)
        if fitted is not None:
            self.store.put_fit(fitted)
            self._invalidate()
        return fitted

    def fit_imputers(self) -> list[str]:
        """Fit an imputer for every partly profiled model (see ``scope_core.imputer``); returns their names."""
        fitted = fit_store_imputers(self.store)
        self._invalidate()
        return fitted

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed prompts as the store sees them: their ``focus`` (trailing paragraphs) when long."""
        if self.focus_chars:
            texts = [focus(t, self.focus_chars) for t in texts]
        return self.embedder.embed(list(texts))
