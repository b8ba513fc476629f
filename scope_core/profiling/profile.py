"""Profile a model: ask it the anchor questions concurrently, grade its answers, record the outcomes.

Each answer is stored as an outcome (score, tokens, cost, latency; a failure as an error outcome, its text
scrubbed) under a deterministic id, so an interrupted run resumes where it stopped: anchors the model already
answered are skipped (``redo=True`` answers them again, each new outcome replacing its old one). Afterwards the
router's estimator is refitted (imputers included), and the router places the model from its anchor outcomes
(see ``scope_core.estimators.knn`` and ``scope_core.imputer``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from scope_core.errors import InvalidInputError
from scope_core.outcome import Outcome, text_hash
from scope_core.profiling.anchors import MULTIPLE_CHOICE_INSTRUCTION, Anchor, shipped_anchors
from scope_core.profiling.answer import ask, reply_usage
from scope_core.profiling.graders import Grader, multiple_choice
from scope_core.routing.call import error_text
from scope_core.routing.router import Router
from scope_core.specs import ModelSpec
from scope_core.store import summary as sm

PROFILE_SOURCE = "profile"
GUESS_OUTPUT_TOKENS = 300  # output tokens per answer assumed for a model with no recorded usage
FIRST_ERRORS = 3  # distinct failure texts a report keeps


class ProfileEstimate(BaseModel):
    """What profiling a model on anchors is predicted to cost, before it starts."""

    model: str
    anchors: int
    done: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class ProfileReport(BaseModel):
    """What one profiling run recorded for a model."""

    model: str
    anchors: int
    skipped: int
    answered: int
    scored: int
    errors: int
    mean_score: float | None
    total_cost_usd: float
    elapsed_s: float
    stopped_at_max_cost: bool = False
    first_errors: list[str] = []  # the first few failures' texts (scrubbed of credentials)


def done_anchors(router: Router, model: str, anchors: Sequence[Anchor], redo: bool = False) -> set[str]:
    """Prompt hashes of the anchors ``model`` already answered in an earlier profiling run (errors excluded; none
    with ``redo``: every anchor is answered again, its new outcome replacing the old)."""
    if redo:
        return set()
    records = router.store.outcomes_for([text_hash(a.prompt) for a in anchors])
    return {str(r["p"]) for r in records if r.get("m") == model and r.get("src") == PROFILE_SOURCE and not r.get("err")}


def estimate_cost(
    router: Router,
    spec: ModelSpec,
    anchors: Sequence[Anchor] | None = None,
    *,
    instruction: str = MULTIPLE_CHOICE_INSTRUCTION,
    redo: bool = False,
) -> ProfileEstimate:
    """The predicted cost of profiling ``spec`` on the anchors it has not answered yet: input tokens counted
    offline, output tokens the model's recorded mean (``GUESS_OUTPUT_TOKENS`` where it has none)."""
    anchors = list(shipped_anchors() if anchors is None else anchors)
    done = done_anchors(router, spec.name, anchors, redo)
    todo = [a for a in anchors if text_hash(a.prompt) not in done]
    prior = router.store.priors().get(spec.name) or sm.empty()
    per_answer = prior[sm.OUT_SUM] / prior[sm.N_USAGE] if prior[sm.N_USAGE] else GUESS_OUTPUT_TOKENS
    in_tok = sum(router.count_tokens(a.prompt + instruction) for a in todo)
    out_tok = round(per_answer * len(todo))
    return ProfileEstimate(
        model=spec.name,
        anchors=len(todo),
        done=len(anchors) - len(todo),
        input_tokens=in_tok,
        output_tokens=out_tok,
        cost_usd=spec.cost(in_tok, out_tok),
    )


class _Run:
    """The state of one profiling run: spend, the outcomes not yet stored, the write lock."""

    def __init__(self, router: Router, spec: ModelSpec, batch: int, max_cost: float | None) -> None:
        self.router, self.spec, self.batch, self.max_cost = router, spec, batch, max_cost
        self.spent = self.held = 0.0
        self.answers = 0
        self.stopped = False
        self.pending: list[Outcome] = []
        self.recorded: list[Outcome] = []
        self.lock = asyncio.Lock()

    def predicted(self, estimate: float) -> float:
        """The cost one more answer is expected to have: the mean so far, ``estimate`` before any answer."""
        return self.spent / self.answers if self.answers else estimate

    def admit(self, predicted_cost: float) -> bool:
        """Whether one more answer fits under ``max_cost`` with what is spent and held by answers in flight."""
        if self.max_cost is not None and self.spent + self.held + predicted_cost > self.max_cost:
            self.stopped = True
        if self.stopped:
            return False
        self.held += predicted_cost
        return True

    async def add(self, outcome: Outcome, predicted_cost: float) -> None:
        self.held -= predicted_cost
        self.spent += outcome.cost_usd or 0.0
        self.answers += outcome.cost_usd is not None
        self.pending.append(outcome)
        if len(self.pending) >= self.batch:
            await self.flush()

    async def flush(self) -> None:
        async with self.lock:
            chunk, self.pending = self.pending, []
            if chunk:
                await asyncio.to_thread(self.router.record, chunk)
                self.recorded += chunk


async def _answer_one(run: _Run, model: Any, anchor: Anchor, grader: Grader, instruction: str, predicted: float):
    router, spec = run.router, run.spec
    start = time.perf_counter()
    common = {"prompt": anchor.prompt, "model": spec.name, "task": anchor.subject, "source": PROFILE_SOURCE}
    try:
        text, in_tok, out_tok = reply_usage(await ask(model, anchor.prompt + instruction))
    except Exception as exc:  # the model failed: that is evidence too
        outcome = Outcome(**common, error=error_text(exc), latency_s=time.perf_counter() - start)
    else:
        in_tok = router.count_tokens(anchor.prompt + instruction) if in_tok is None else int(in_tok)
        out_tok = router.count_tokens(text) if out_tok is None else int(out_tok)
        outcome = Outcome(
            **common,
            score=float(grader(text, anchor.gold)),
            input_tokens=in_tok,
            output_tokens=out_tok,
            cost_usd=spec.cost(in_tok, out_tok),
            latency_s=time.perf_counter() - start,
        )
    await run.add(outcome, predicted)


async def aprofile_model(
    router: Router,
    spec: ModelSpec,
    model: Any,
    anchors: Sequence[Anchor] | None = None,
    *,
    grader: Grader = multiple_choice,
    instruction: str = MULTIPLE_CHOICE_INSTRUCTION,
    concurrency: int = 8,
    max_cost: float | None = None,
    batch: int = 25,
    fit: bool = True,
    progress: bool = False,
    redo: bool = False,
) -> ProfileReport:
    """Register ``spec``, ask ``model`` every anchor it has not answered yet (``concurrency`` at a time),
    grade each reply with ``grader(reply, gold)``, and record the outcomes every ``batch`` answers.

    ``model`` is a LangChain chat model, a LlamaIndex LLM or a callable ``prompt -> answer`` (sync or
    async; see ``scope_core.profile_answer``); it is asked ``anchor.prompt + instruction``, the outcome is
    recorded under ``anchor.prompt``. Token counts it does not report are counted offline. No answer starts
    once spend plus the predicted cost of the answers in flight and of itself would pass ``max_cost`` (USD);
    an answer is predicted to cost the mean of the answers so far (before the first: ``estimate_cost``).
    Anchors answered in an earlier run are skipped, unless ``redo`` (then their outcomes are replaced).
    """
    from tqdm.auto import tqdm

    if concurrency < 1:
        raise InvalidInputError(f"concurrency must be >= 1, got {concurrency}")
    if max_cost is not None and max_cost <= 0:
        raise InvalidInputError(f"max_cost must be > 0, got {max_cost}")
    started = time.perf_counter()
    anchors = list(shipped_anchors() if anchors is None else anchors)
    router.register_model(spec)
    done = done_anchors(router, spec.name, anchors, redo)
    todo = [a for a in anchors if text_hash(a.prompt) not in done]
    estimate = estimate_cost(router, spec, todo, instruction=instruction, redo=redo)
    per_answer = estimate.cost_usd / len(todo) if todo else 0.0
    run, gate = _Run(router, spec, batch, max_cost), asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(todo), desc=f"profile {spec.name}", unit="anchor", disable=not progress)

    async def one(anchor: Anchor) -> None:
        async with gate:
            predicted = run.predicted(per_answer)
            if run.admit(predicted):
                await _answer_one(run, model, anchor, grader, instruction, predicted)
                bar.update(1)

    try:
        await asyncio.gather(*(one(a) for a in todo))
    finally:
        await run.flush()
        bar.close()
    if fit:
        await asyncio.to_thread(router.fit)
    scores = [o.score for o in run.recorded if o.scored]
    return ProfileReport(
        model=spec.name,
        anchors=len(anchors),
        skipped=len(anchors) - len(todo),
        answered=len(run.recorded),
        scored=len(scores),
        errors=sum(1 for o in run.recorded if o.error),
        mean_score=sum(scores) / len(scores) if scores else None,
        total_cost_usd=run.spent,
        elapsed_s=time.perf_counter() - started,
        stopped_at_max_cost=run.stopped,
        first_errors=list(dict.fromkeys(o.error for o in run.recorded if o.error))[:FIRST_ERRORS],
    )


def profile_model(router: Router, spec: ModelSpec, model: Any, anchors: Sequence[Anchor] | None = None, **kwargs):
    """Synchronous ``aprofile_model`` (runs its own event loop: from async code, await ``aprofile_model``)."""
    return asyncio.run(aprofile_model(router, spec, model, anchors, **kwargs))
