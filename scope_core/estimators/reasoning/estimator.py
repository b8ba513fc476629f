"""ReasoningEstimator: an LLM reads each candidate's record on the query's neighbours and predicts its
output length and correctness (SCOPE, arXiv 2601.22323), blended with the retrieval estimate.

Per query the retrieval estimator (``knn`` by default) runs first, on the same neighbourhood; then,
for every candidate at once, the LLM gets a SCOPE prompt (``reasoning_prompt``) built from the ``k``
closest neighbours that model has a scored outcome on, with their question texts from the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cachetools import LRUCache

from scope_core.errors import InvalidInputError, ScopeError
from scope_core.estimators.base import Estimator, Fit, FittedEstimator, QueryContext
from scope_core.estimators.estimate import Estimate, Evidence
from scope_core.estimators.knn.estimator import KNNEstimator
from scope_core.estimators.reasoning.llm import LLMCaller, Reply
from scope_core.estimators.reasoning.parse import Prediction, parse_prediction
from scope_core.estimators.reasoning.prompt import (
    DEFAULT_EXAMPLES,
    EXAMPLE_TOKENS,
    QUESTION_TOKENS,
    build_prompt,
    example_ids,
    examples_for,
)
from scope_core.estimators.registry import register_estimator
from scope_core.specs import ModelSpec
from scope_core.store.records import NeighbourIndex
from scope_core.text.tokens import count_tokens

if TYPE_CHECKING:
    from scope_core.store.behaviour import BehaviourStore

RETRIEVAL_WEIGHT = 0.2  # share of the retrieval estimate in the blend: SCOPE's ablation
DEFAULT_TIMEOUT_S = 30.0
NO_TEXT = (
    "the reasoning estimator shows the LLM the neighbours' question texts, but this store keeps none "
    "(store_prompts=False); open the store with store_prompts=True and re-ingest, or use the 'knn' estimator"
)


@dataclass
class _Job:
    """One candidate's LLM estimate to make (or already cached)."""

    prompt: str
    key: str
    example_ids: list[str]
    similarities: list[float]
    cached: Prediction | None = None
    reply: Reply | None = None
    error: str | None = None


def blend(retrieval: Estimate, prediction: Prediction, spec: ModelSpec, retrieval_weight: float) -> Estimate:
    """Mix the LLM's prediction into the retrieval estimate (the formula is ``ReasoningEstimator``'s)."""
    lam = (1.0 - retrieval_weight) * prediction.confidence
    p_llm = prediction.p_correct
    lam_p = lam if p_llm is not None else 0.0
    p_base = retrieval.p_correct
    p = p_base if p_llm is None else (1.0 - lam) * p_base + lam * p_llm
    variance = (1.0 - lam_p) * (retrieval.p_std**2 + (p_base - p) ** 2) + lam_p * ((p_llm or 0.0) - p) ** 2
    out = retrieval.output_tokens
    if prediction.length is not None:
        out = (1.0 - lam) * out + lam * prediction.length
    return retrieval.model_copy(
        update={
            "p_correct": min(max(p, 0.0), 1.0),
            "p_std": variance**0.5,
            "output_tokens": out,
            "cost_usd": spec.cost(retrieval.input_tokens, out),
            "confidence": prediction.confidence,
        }
    )


@register_estimator("reasoning")
class ReasoningEstimator:
    """SCOPE's reasoning estimator behind the ``Estimator`` protocol (registered as ``reasoning``).

    ``llm``: a LangChain chat model (anything with ``invoke``/``ainvoke``, e.g. ``ChatOpenAI`` on a vLLM
    server hosting ``Cooolder/SCOPE``) or a callable ``(prompt: str) -> str``, sync or async.
    The neighbours' question texts are read from the query's store (``QueryContext.store``), which must keep them.

    **The hybrid estimate.** With ``w = retrieval_weight`` (default 0.2, the retrieval side of SCOPE's
    ablation) and ``c`` the parse confidence (1 for the strict final line, 0.75 for a loose parse, 0.5
    when only one field parsed; ``reasoning_parse``), the LLM's weight is ``lam = (1 - w) * c`` and::

        p_correct     = (1 - lam) * p_knn + lam * p_llm     # p_llm: its stated probability, else yes=1 / no=0
        output_tokens = (1 - lam) * len_knn + lam * len_llm
        cost_usd      = spec.cost(input_tokens_knn, output_tokens)
        p_std         = spread of the two-part mixture (the knn posterior and the LLM's point)

    A field the LLM did not give keeps its knn value. The policy then applies to the blended estimates.

    **Speed and failure.** All candidates are asked at once (``aestimate``: an async batch under
    ``max_concurrency``; ``estimate``: a thread pool, so the sync path never touches an event loop).
    Parsed predictions are cached per prompt, i.e. per (query, model, evidence shown), so a repeated
    query costs no LLM call until its evidence changes. An estimate that times out (``timeout_s``),
    fails, or cannot be parsed is the retrieval estimate for that model, with ``fallback`` saying why.
    ``no_cot`` asks for the final line only (``Cooolder/SCOPE_NoCoT``).

    **Its own cost.** Each estimate carries the tokens its LLM call used and their price at
    ``input_price``/``output_price`` (USD per 1M tokens; 0 for a self-hosted model), summed per
    decision in ``Decision.estimator_cost_usd`` and charged in ``scope eval`` totals. Cached: free.
    """

    def __init__(
        self,
        llm: Any,
        *,
        retrieval: Estimator | None = None,
        retrieval_weight: float = RETRIEVAL_WEIGHT,
        k: int = DEFAULT_EXAMPLES,
        no_cot: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_concurrency: int = 16,
        cache_size: int = 4096,
        input_price: float = 0.0,
        output_price: float = 0.0,
        example_tokens: int = EXAMPLE_TOKENS,
        question_tokens: int = QUESTION_TOKENS,
        name: str = "reasoning",
    ) -> None:
        if not 0.0 <= retrieval_weight <= 1.0:
            raise InvalidInputError(f"retrieval_weight must be in [0, 1], got {retrieval_weight}")
        if k < 1 or max_concurrency < 1 or timeout_s <= 0:
            raise InvalidInputError("k and max_concurrency must be >= 1 and timeout_s > 0")
        if min(input_price, output_price) < 0:
            raise InvalidInputError("estimator prices must be >= 0")
        self.caller = LLMCaller(llm)
        self.name = name
        self.retrieval = retrieval if retrieval is not None else KNNEstimator()
        self.retrieval_weight, self.k, self.no_cot, self.timeout_s = retrieval_weight, k, no_cot, timeout_s
        self.max_concurrency, self.input_price, self.output_price = max_concurrency, input_price, output_price
        self.example_tokens, self.question_tokens = example_tokens, question_tokens
        self._lock = threading.Lock()
        self._cache: LRUCache[str, Prediction] = LRUCache(maxsize=cache_size)
        self._texts: LRUCache[str, str] = LRUCache(maxsize=50_000)  # ids are text hashes: never stale
        self._pool: ThreadPoolExecutor | None = None
        self.llm_calls = 0  # LLM calls made (cache hits excluded)
        self.fit_name = getattr(self.retrieval, "fit_name", name)

    # -- the fit is the retrieval estimator's ---------------------------------------------------
    def fit(self, store: BehaviourStore, *, k: int, index: NeighbourIndex | None = None) -> Fit | None:
        return self.retrieval.fit(store, k=k, index=index) if isinstance(self.retrieval, FittedEstimator) else None

    def load_fit(self, saved: str) -> Fit:
        return self.retrieval.load_fit(saved)  # type: ignore[attr-defined]

    # -- evidence -------------------------------------------------------------------------------
    def _fetch_texts(self, store: BehaviourStore, ids: Sequence[str]) -> dict[str, str]:
        """Question texts of stored prompts by id (hash), read once from the store's prompts collection."""
        with self._lock:
            known = {i: self._texts[i] for i in ids if i in self._texts}
        missing = [i for i in dict.fromkeys(ids) if i not in known]
        if missing:
            fetched = {i: "" for i in missing} | store.prompt_texts(missing)
            with self._lock:
                self._texts.update(fetched)
            known.update(fetched)
        return known

    def _plan(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> tuple[list[Estimate], list[_Job | str]]:
        """The retrieval estimates, and per candidate its job or why it has none."""
        base = self.retrieval.estimate(query, candidates)
        if query.store is None:
            return base, ["no store to read the neighbours' questions from"] * len(candidates)
        if not query.store.store_prompts:
            raise ScopeError(NO_TEXT)
        nb = query.neighbours
        wanted = [i for c in candidates for i in example_ids(nb, c.name, 2 * self.k)]
        try:
            texts = self._fetch_texts(query.store, wanted)
        except Exception as exc:  # a store failure falls back, never fails the call
            return base, [f"store error: {type(exc).__name__}: {exc}"] * len(candidates)
        plan: list[_Job | str] = []
        for i, spec in enumerate(candidates):
            examples = examples_for(
                nb, spec.name, texts, self.k, default_length=base[i].output_tokens, budget=self.example_tokens
            )
            if not examples:
                plan.append("no neighbour with a stored question and an outcome of this model")
                continue
            prompt = build_prompt(spec.name, examples, query.text, no_cot=self.no_cot, budget=self.question_tokens)
            key = hashlib.sha256(prompt.encode()).hexdigest()
            with self._lock:
                cached = self._cache.get(key)
            ids, sims = [e.prompt_id for e in examples], [round(e.similarity, 4) for e in examples]
            plan.append(_Job(prompt, key, ids, sims, cached=cached))
        return base, plan

    # -- combining ----------------------------------------------------------------------------
    def _cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_price + output_tokens * self.output_price) / 1e6

    def _finish(self, job: _Job, base: Estimate, spec: ModelSpec) -> Estimate:
        tokens = (job.reply.input_tokens, job.reply.output_tokens) if job.reply else (0, 0)
        spent = {"estimator_tokens": sum(tokens), "estimator_cost_usd": self._cost(*tokens)}
        evidence = Evidence.model_construct(
            neighbour_ids=job.example_ids, similarities=job.similarities, effective_n=base.evidence.effective_n
        )
        prediction = job.cached or (parse_prediction(job.reply.text) if job.reply else None)
        if prediction is None:
            reason = job.error or "unparsed reply"
            return base.model_copy(update={"fallback": f"knn: {reason}", "evidence": evidence, **spent})
        if job.cached is None:
            with self._lock:
                self._cache[job.key] = prediction
        estimate = blend(base, prediction, spec, self.retrieval_weight)
        return estimate.model_copy(update={"evidence": evidence, **spent})

    def _combine(self, base: list[Estimate], plan: list[_Job | str], candidates: Sequence[ModelSpec]) -> list[Estimate]:
        return [
            base[i].model_copy(update={"fallback": f"knn: {job}"})
            if isinstance(job, str)
            else self._finish(job, base[i], spec)
            for i, (job, spec) in enumerate(zip(plan, candidates, strict=True))
        ]

    def _count(self, calls: int) -> None:
        with self._lock:
            self.llm_calls += calls

    @staticmethod
    def _pending(plan: list[_Job | str]) -> list[_Job]:
        return [job for job in plan if isinstance(job, _Job) and job.cached is None]

    def _timed_out(self, job: _Job, sent: bool = True) -> None:
        job.error = f"timeout after {self.timeout_s:g} s"
        if sent:  # the server has the prompt: charge it
            job.reply = Reply("", count_tokens(job.prompt), 0)

    # -- the protocol -------------------------------------------------------------------------
    def estimate(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> list[Estimate]:
        """All candidates' LLM calls at once on worker threads (no event loop is used or blocked)."""
        base, plan = self._plan(query, candidates)
        pending = self._pending(plan)
        if pending:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="scope-reasoning")
            futures: dict[Future, _Job] = {self._pool.submit(self.caller.call, job.prompt): job for job in pending}
            self._count(len(futures))
            done, _ = wait(futures, timeout=self.timeout_s)
            for future, job in futures.items():
                if future not in done:
                    self._timed_out(job, sent=not future.cancel())  # one still queued never starts
                elif future.exception() is not None:
                    exc = future.exception()
                    job.error = f"error: {type(exc).__name__}: {exc}"
                else:
                    job.reply = future.result()
        return self._combine(base, plan, candidates)

    async def aestimate(self, query: QueryContext, candidates: Sequence[ModelSpec]) -> list[Estimate]:
        """All candidates' LLM calls as one async batch (at most ``max_concurrency`` at a time)."""
        base, plan = await asyncio.to_thread(self._plan, query, candidates)
        pending = self._pending(plan)
        semaphore = asyncio.Semaphore(self.max_concurrency)

        async def run(job: _Job) -> None:
            async with semaphore:
                try:
                    job.reply = await asyncio.wait_for(self.caller.acall(job.prompt), self.timeout_s)
                except TimeoutError:
                    self._timed_out(job)
                except Exception as exc:
                    job.error = f"error: {type(exc).__name__}: {exc}"

        self._count(len(pending))
        await asyncio.gather(*(run(job) for job in pending))
        return self._combine(base, plan, candidates)
