"""Router: embed the query, fetch its neighbours once, estimate every candidate, apply the policy."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from cachetools import TTLCache

from .budget import BudgetExhaustedError, BudgetGovernor
from .call import Ended, RoutedCall
from .decision import Decision, Estimate
from .embedder import Embedder, as_embedder, default_embedder
from .errors import ColdStartWarning, NoCandidateError, ScopeError, UnknownModelError, UnknownRunError
from .estimators import LLM_ESTIMATORS, Estimator, QueryContext, get_estimator
from .fit import StoreFit
from .fit_store import fit_store
from .health import HealthTracker
from .imputer_fit import fit_store_imputers
from .money import usd
from .outcome import Outcome, check_score, text_hash
from .policy import Policy, choose, cost_ref, eligibility
from .routing_text import RoutingMode, Turn, focus, routing_text
from .specs import Capability, ModelSpec
from .store import BehaviourStore, Neighbourhood, PromptInfo, Registry
from .tokens import TokenCounter, count_tokens
from .writer import OutcomeWriter

if TYPE_CHECKING:
    from .data import Dataset
    from .memory_index import NeighbourIndex

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


class Router:
    """Pre-hoc router over the models registered in a BehaviourStore.

    The model registry and the neighbourhoods of recent queries are cached for ``cache_ttl_s``
    seconds; this router's own writes clear both at once, so only other processes' writes take
    up to ``cache_ttl_s`` to show.
    """

    def __init__(
        self,
        store: BehaviourStore | None = None,
        *,
        estimator: Estimator | str = "knn",
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
    ) -> None:
        self.store = store if store is not None else BehaviourStore.open()
        if isinstance(estimator, str):  # an LLM estimator by name gets estimator_llm and this store
            options = {"llm": estimator_llm, "store": self.store} if estimator in LLM_ESTIMATORS else {}
            estimator = get_estimator(estimator, **options)
        self.estimator = estimator
        self.embedder = default_embedder() if embedder is None else as_embedder(embedder)
        self.policy = policy or Policy()
        self.k, self.count_tokens, self.routing_mode, self.cache_ttl_s = k, token_counter, routing_mode, cache_ttl_s
        self.focus_chars = focus_chars
        self.health = health if health is not None else HealthTracker()
        self.index = index  # where neighbours are searched instead of the store (``MemoryIndex``)
        self._cache_lock = threading.Lock()
        self._cache_at = -1e18
        self._generation = 0  # bumped by every write: a search that raced one is not cached
        self._neighbours: TTLCache[str, Neighbourhood] = TTLCache(maxsize=1024, ttl=cache_ttl_s)
        self.writer = OutcomeWriter()
        self._cached_registry = Registry({}, {}, {})
        self._warned_cold: set[str] = set()

    @classmethod
    def open(cls, location: str | None = None, *, name: str = "scope", **kwargs) -> Router:
        """A router on the store at a path, ``http://host:port`` or ``:memory:``."""
        return cls(BehaviourStore.open(location, name=name), **kwargs)

    # -- registry -----------------------------------------------------------------------------
    def register_model(self, spec: ModelSpec) -> None:
        self.store.put_model(spec)
        self._invalidate()

    def models(self) -> dict[str, ModelSpec]:
        return self._registry().specs

    def _invalidate(self) -> None:
        with self._cache_lock:
            self._cache_at = -1e18
            self._generation += 1
            self._neighbours.clear()

    def _nearest(self, text: str, embedding: np.ndarray) -> Neighbourhood:
        """The query's neighbourhood: one store search, reused for a repeated text until a write."""
        key = f"{self.k}:{text_hash(text)}"
        with self._cache_lock:
            cached, generation = self._neighbours.get(key), self._generation
        if cached is not None:
            return cached
        found = (self.index or self.store).nearest(embedding, self.k)
        with self._cache_lock:
            if generation == self._generation:
                self._neighbours[key] = found
        return found

    def _registry(self) -> Registry:
        with self._cache_lock:
            if time.monotonic() - self._cache_at > self.cache_ttl_s:
                self._cached_registry = self.store.registry()
                self._cache_at = time.monotonic()
            return self._cached_registry

    def cost_ref(self, candidates: Iterable[ModelSpec], input_tokens: int = 500) -> float:
        """The policy's cost unit (``policy.cost_ref``) on this store's priors."""
        return cost_ref(candidates, self._registry().priors, input_tokens)

    # -- routing ------------------------------------------------------------------------------
    def text_of(self, query: Query, mode: RoutingMode | None = None) -> str:
        """The text a query is routed on: itself, or its conversation's routing text (``mode`` or the default)."""
        text = query if isinstance(query, str) else routing_text(query, mode or self.routing_mode)
        if not text or not text.strip():
            raise ValueError("cannot route an empty query")
        return text

    def _prepare(
        self, query: Query, overrides: dict
    ) -> tuple[QueryContext, list[ModelSpec], Policy, dict, BudgetGovernor | None]:
        """Everything before estimation, and the call's budget governor (if any)."""
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
        registry = self._registry()
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
        neighbours = self._nearest(text, embedding)
        timings["search_ms"] = _ms(t)
        prompt = query if isinstance(query, str) else "\n".join(t.content for t in query)
        ctx = QueryContext(
            text, embedding, self.count_tokens(prompt), neighbours, priors, registry.imputers, registry.fit
        )
        timings["prepare_ms"] = _ms(start)
        return ctx, candidates, policy, timings, budget

    def _decide(
        self,
        ctx: QueryContext,
        candidates: list[ModelSpec],
        policy: Policy,
        estimates: list[Estimate],
        timings: dict,
        budget: BudgetGovernor | None,
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
        ctx, candidates, policy, timings, budget = self._prepare(query, dict(overrides))
        t = time.perf_counter()
        estimates = (estimator or self.estimator).estimate(ctx, candidates)
        timings["estimate_ms"] = _ms(t)
        return self._decide(ctx, candidates, policy, estimates, timings, budget)

    async def aroute(self, query: Query, *, estimator: Estimator | None = None, **overrides) -> Decision:
        """Async ``route``: embedding and search run in a worker thread, the estimator is awaited,
        so neither blocks the event loop."""
        ctx, candidates, policy, timings, budget = await asyncio.to_thread(self._prepare, query, dict(overrides))
        t = time.perf_counter()
        estimates = await (estimator or self.estimator).aestimate(ctx, candidates)
        timings["estimate_ms"] = _ms(t)
        return self._decide(ctx, candidates, policy, estimates, timings, budget)

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
    def _prompt_infos(self, texts: dict[str, tuple[str, str | None]]) -> dict[str, PromptInfo]:
        """PromptInfo for each {hash: (text, task)} the store does not hold yet (embedded in one batch)."""
        known = self.store.known_prompts(list(texts))
        new = [h for h in texts if h not in known]
        if not new:
            return {}
        vectors = self.embed_texts([texts[h][0] for h in new])
        return {
            h: PromptInfo(h, v, self.count_tokens(texts[h][0]), texts[h][0], texts[h][1])
            for h, v in zip(new, vectors, strict=True)
        }

    def record(self, outcomes: Outcome | Sequence[Outcome]) -> int:
        """Store observed outcomes; returns how many records were new or changed."""
        batch = [outcomes] if isinstance(outcomes, Outcome) else list(outcomes)
        texts = {o.prompt_hash: (o.prompt, o.task) for o in batch if o.prompt is not None}
        changed = self.store.add(batch, self._prompt_infos(texts))
        self._invalidate()
        return changed

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

        With ``wait=False`` the store write runs on the router's background writer (in order) and
        the call returns at once; ``flush()`` waits for pending writes, ``feedback`` does so itself.
        """
        spec = self.models().get(model)
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
        if wait:
            self.record(outcome)
        else:
            self.writer.submit(lambda: self.record(outcome))
        return outcome

    def flush(self) -> None:
        """Wait until every outcome recorded with ``wait=False`` is stored."""
        self.writer.flush()

    def feedback(self, run_id: str, score: float, *, wait: bool = True) -> None:
        """Attach a quality score in [0, 1] to a recorded call, by its run id.

        With ``wait=False`` the score is queued on the background writer, after the call's own record.
        """
        score = check_score(score)
        if not wait:
            self.writer.submit(lambda: self.feedback(run_id, score))
            return
        self.flush()
        try:
            self.store.set_score(str(run_id), score)
        except KeyError:
            raise UnknownRunError(
                f"no recorded call with run id '{run_id}': pass the run_id a routed call returned"
            ) from None
        self._invalidate()

    # -- bulk ---------------------------------------------------------------------------------
    def ingest(self, dataset: Dataset, *, progress: bool = True, batch_prompts: int = 512, fit: bool = True) -> int:
        """Register a data set's models and store its outcomes; idempotent. Returns records changed.

        Then refits the store (``fit``) unless nothing changed and it has a fit already.
        """
        from tqdm.auto import tqdm

        for spec in dataset.specs.values():
            self.register_model(spec)
        by_prompt = dataset.outcomes_by_prompt()
        changed = 0
        with tqdm(
            total=len(dataset.outcomes), desc=f"ingest {dataset.name}", unit="outcome", disable=not progress
        ) as bar:
            for start in range(0, len(dataset.prompts), batch_prompts):
                rows = dataset.prompts[start : start + batch_prompts]
                texts = {text_hash(p.text): (p.text, p.task) for p in rows}
                outcomes = [o for p in rows for o in dataset.to_outcomes(p, by_prompt.get(p.id, []))]
                changed += self.store.add(outcomes, self._prompt_infos(texts))
                bar.update(len(outcomes))
        self.fit_imputers()
        if fit and (changed or self.store.registry().fit is None):  # a re-ingest that changed nothing keeps the fit
            self.fit()
        return changed

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
