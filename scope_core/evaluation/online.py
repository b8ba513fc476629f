"""The learning curve: a router fed its own traffic, as an application would feed it, against two references.

A data set's prompts are shuffled (``seed``) into a warm-up (answered by every model, ingested), a stream and a
held-out part. The stream is routed through the public API, one prompt at a time, at a fixed alpha: ``route``, then
``record_call`` with the chosen model's true outcome, its score on a ``feedback`` share of calls (``delay`` calls
later); nothing else is revealed (bandit feedback). Two references run on the same order: ``full`` (every model's
outcome on each stream prompt recorded: full information) and ``none`` (the warm-up store, nothing learnt). Per
window of calls the stream's accuracy and cost are kept; at the end each store is judged as a router on the held-out
prompts by the AIQ of ``scope eval``, by the log loss of its P(correct) on every held-out (prompt, model) pair (the
estimate itself, whichever model a policy would pick), and by a bootstrap interval of its AIQ difference from
``none``. ``explore`` is the bandit stream with ``explore`` (a share of calls chosen by Thompson sampling).
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from scope_core.data.dataset import Dataset, load_dataset
from scope_core.estimators import DEFAULT_ESTIMATOR
from scope_core.estimators.knn.imputer import log_loss
from scope_core.evaluation import metrics
from scope_core.evaluation.baselines import single_models
from scope_core.evaluation.offpolicy import PolicyValue, policy_value, target_choice, usable
from scope_core.evaluation.sweep import alpha_sweep, choices_at, estimate_matrix, route_prompts
from scope_core.outcome import Outcome
from scope_core.routing.router import DEFAULT_K, Router
from scope_core.store.behaviour import BehaviourStore
from scope_core.text.embedder import Embedder, default_embedder

Variant = Literal["none", "bandit", "explore", "full"]
LEARNERS = ("bandit", "explore")  # the variants fed their own traffic only
BOOTSTRAP = 1000  # resamples of the held-out prompts behind an AIQ difference's interval


class Window(BaseModel):
    """One window of the stream: its calls' mean accuracy and cost, and the share explored."""

    start: int
    calls: int
    accuracy: float
    cost: float = Field(description="mean USD per call")
    explored: float = 0.0


class OffPolicyCheck(BaseModel):
    """An off-policy estimate of another alpha's accuracy on the bandit stream's logged calls, and the truth."""

    alpha: float
    truth: float = Field(description="that alpha's choices on the logged calls, scored with every model's outcome")
    estimate: PolicyValue


class OnlineRun(BaseModel):
    """One variant's stream at one alpha, and its final store judged on the held-out prompts."""

    variant: Variant
    alpha: float
    windows: list[Window]
    accuracy: float = Field(description="the stream's mean accuracy")
    cost: float = Field(description="the stream's mean USD per call")
    aiq: float = Field(description="the final store's AIQ on the held-out prompts")
    log_loss: float = Field(description="its P(correct)'s mean log loss over every held-out (prompt, model) pair")
    log_loss_by_model: dict[str, float] = Field(default_factory=dict, description="the same, per model")
    curve: list[tuple[float, float, float]] = Field(
        default_factory=list, description="(alpha, mean USD per call, accuracy) of its choices on the held-out prompts"
    )
    vs_none: tuple[float, float] | None = Field(
        default=None, description="95% bootstrap interval (held-out prompts resampled) of AIQ minus none's AIQ"
    )
    max_accuracy: float
    choices: dict[str, int] = Field(description="stream calls per chosen model")
    off_policy: list[OffPolicyCheck] = Field(default_factory=list, description="bandit runs: estimates vs truth")
    seconds: float


class OnlineReport(BaseModel):
    data: str
    seed: int
    warmup: int
    stream: int
    holdout: int
    feedback: float
    delay: int
    explore: float | None
    refit_every: int | None
    runs: list[OnlineRun]

    def run(self, variant: Variant, alpha: float) -> OnlineRun:
        return next(r for r in self.runs if r.variant == variant and r.alpha == alpha)

    def gap_closed(self, alpha: float, variant: Variant = "bandit") -> float | None:
        """(variant - none) / (full - none) of the final AIQs."""
        none, bandit, full = (self.run(v, alpha).aiq for v in ("none", variant, "full"))
        return (bandit - none) / (full - none) if full != none else None


class _Truth:
    """The data set's outcomes as (prompt x model) arrays, by prompt id."""

    def __init__(self, dataset: Dataset) -> None:
        self.models = dataset.models
        ids = [p.id for p in dataset.prompts]
        self.row = {pid: i for i, pid in enumerate(ids)}
        self.text = {p.id: p.text for p in dataset.prompts}
        self.score = dataset.matrix("score", ids)
        self.cost = np.nan_to_num(dataset.matrix("cost_usd", ids), nan=0.0)
        self.tokens = {(o.prompt_id, o.model): (o.input_tokens, o.output_tokens) for o in dataset.outcomes}

    def answered(self, pid: str) -> list[str]:
        return [m for j, m in enumerate(self.models) if not np.isnan(self.score[self.row[pid], j])]

    def of(self, pid: str, model: str) -> tuple[float, float]:
        j = self.models.index(model)
        return float(self.score[self.row[pid], j]), float(self.cost[self.row[pid], j])


def _split(dataset: Dataset, truth: _Truth, warmup: int, stream: int, holdout: int | None, seed: int):
    complete = [p.id for p in dataset.prompts if len(truth.answered(p.id)) == len(truth.models)]
    rest = [p.id for p in dataset.prompts if len(truth.answered(p.id)) != len(truth.models)]
    random.Random(seed).shuffle(complete)
    random.Random(seed + 1).shuffle(rest)
    ordered = complete + rest
    warm = complete[:warmup]
    others = [i for i in ordered if i not in set(warm)]
    random.Random(seed + 2).shuffle(others)
    held = others[stream:] if holdout is None else others[stream : stream + holdout]
    return warm, others[:stream], held


class _Judged:
    """The held-out prompts' true scores and costs, and a store's choices on them per alpha of the sweep."""

    def __init__(self, truth: _Truth, held: Sequence[str]) -> None:
        rows = [truth.row[i] for i in held]
        scores = truth.score[rows]
        self.texts = [truth.text[i] for i in held]
        self.candidates = [truth.answered(i) for i in held]
        self.scores, self.costs = np.nan_to_num(scores, nan=0.0), np.where(np.isnan(scores), 0.0, truth.cost[rows])
        self.scored = ~np.isnan(scores)
        self.models = truth.models

    def aiq(self, chosen: np.ndarray, rows: np.ndarray | None = None) -> tuple[float, float]:
        """(AIQ, max accuracy) of the choices (alphas, prompts) on ``rows`` of the held-out prompts (default all)."""
        rows = np.arange(chosen.shape[1]) if rows is None else rows
        scores, costs = self.scores[rows], self.costs[rows]
        masked = np.where(self.scored[rows], costs, np.nan)
        singles = single_models(np.where(self.scored[rows], scores, np.nan), masked, self.models)
        c_min, c_max = min(s.cost for s in singles), max(s.cost for s in singles)
        xy = self.points(chosen, rows)
        return metrics.aiq(xy, c_min, c_max), max(a for _, a in xy)

    def points(self, chosen: np.ndarray, rows: np.ndarray | None = None) -> list[tuple[float, float]]:
        """(total cost, accuracy) of the choices at each alpha on ``rows`` of the held-out prompts (default all)."""
        rows = np.arange(chosen.shape[1]) if rows is None else rows
        scores, costs, at = self.scores[rows], self.costs[rows], np.arange(len(rows))
        return [(float(costs[at, c[rows]].sum()), float(scores[at, c[rows]].mean())) for c in chosen]

    def interval(self, chosen: np.ndarray, reference: np.ndarray, seed: int) -> tuple[float, float]:
        """95% bootstrap interval of AIQ(chosen) - AIQ(reference), the held-out prompts resampled."""
        rng, n = np.random.default_rng(seed), chosen.shape[1]
        diffs = []
        for _ in range(BOOTSTRAP):
            rows = rng.integers(0, n, n)
            diffs.append(self.aiq(chosen, rows)[0] - self.aiq(reference, rows)[0])
        low, high = np.percentile(diffs, [2.5, 97.5])
        return float(low), float(high)


def _judge(router: Router, judged: _Judged, progress: bool) -> tuple[np.ndarray, float, dict[str, float]]:
    """The router's choices on the held-out prompts over the alpha sweep (alphas, prompts), and its estimate's log
    loss over every held-out (prompt, model) pair, and per model."""
    routed = route_prompts(router, judged.texts, judged.candidates, progress=progress)[router.estimator.name]
    chosen = np.asarray(choices_at(routed, router.models(), alpha_sweep(), judged.models))
    p = estimate_matrix(routed, judged.models, "p_correct")
    has = judged.scored & ~np.isnan(p)
    by_model = {m: log_loss(p[has[:, j], j], judged.scores[has[:, j], j]) for j, m in enumerate(judged.models)}
    return chosen, log_loss(p[has], judged.scores[has]), by_model


def _stream(
    router: Router,
    truth: _Truth,
    ids: Sequence[str],
    variant: Variant,
    alpha: float,
    *,
    feedback: float,
    delay: int,
    explore: float | None,
    refit_every: int | None,
    seed: int,
) -> tuple[list[tuple[float, float, bool]], Counter]:
    """Route the stream; returns per call (true score, cost, explored) and the choices."""
    rng, pending = random.Random(seed), deque()
    calls, choices, scored = [], Counter(), 0
    for n, pid in enumerate(ids):
        text, allowed = truth.text[pid], truth.answered(pid)
        decision = router.route(text, alpha=alpha, allowed=allowed, explore=explore if variant == "explore" else None)
        score, cost = truth.of(pid, decision.chosen)
        calls.append((score, cost, decision.explored))
        choices[decision.chosen] += 1
        if variant == "none":
            continue
        in_tok, out_tok = truth.tokens[(pid, decision.chosen)]
        revealed = rng.random() < feedback
        outcome = router.record_call(
            decision, text, decision.chosen, input_tokens=in_tok, output_tokens=out_tok,
            score=score if revealed and delay == 0 else None,
        )  # fmt: skip
        if revealed and delay:
            pending.append((n + delay, outcome.id, score))
        while pending and pending[0][0] <= n:
            _, run_id, late = pending.popleft()
            router.feedback(run_id, late)
        if variant == "full":
            others = [m for m in allowed if m != decision.chosen]
            router.record([_outcome(truth, pid, m) for m in others])
        scored += variant == "full" or revealed  # refits on the same schedule of calls in both
        if refit_every and scored >= refit_every:
            router.fit()
            scored = 0
    for _, run_id, score in pending:
        router.feedback(run_id, score)
    return calls, choices


def _outcome(truth: _Truth, pid: str, model: str) -> Outcome:
    score, cost = truth.of(pid, model)
    in_tok, out_tok = truth.tokens[(pid, model)]
    return Outcome(prompt=truth.text[pid], model=model, score=score, input_tokens=in_tok, output_tokens=out_tok,
                   cost_usd=cost, source="online")  # fmt: skip


def _off_policy(router: Router, truth: _Truth, alphas: Sequence[float]) -> list[OffPolicyCheck]:
    """Off-policy estimates of other alphas from the run's own decision log, each beside its truth."""
    pid_of = {t: pid for pid, t in truth.text.items()}
    records = [r.model_dump() for r in router.history()]
    usable_rows = [r for r in usable(records) if r["text"] in pid_of]
    checks = []
    for alpha in alphas:
        chosen = [(pid_of[r["text"]], target_choice(r, alpha)) for r in usable_rows]
        real = float(np.mean([truth.of(pid, model)[0] for pid, model in chosen]))
        checks.append(OffPolicyCheck(alpha=alpha, truth=real, estimate=policy_value(usable_rows, alpha)))
    return checks


def _curve(points: Sequence[tuple[float, float]], prompts: int) -> list[tuple[float, float, float]]:
    """(alpha, mean USD per call, accuracy) along the sweep, from its (total cost, accuracy) points."""
    return [(a, cost / prompts, acc) for a, (cost, acc) in zip(alpha_sweep(), points, strict=True)]


def _windows(calls: Sequence[tuple[float, float, bool]], size: int) -> list[Window]:
    out = []
    for start in range(0, len(calls), size):
        part = calls[start : start + size]
        out.append(
            Window(
                start=start,
                calls=len(part),
                accuracy=float(np.mean([s for s, _, _ in part])),
                cost=float(np.mean([c for _, c, _ in part])),
                explored=float(np.mean([x for _, _, x in part])),
            )
        )
    return out


def run_online(
    data: Dataset | str | Path,
    *,
    alphas: Sequence[float] = (0.7,),
    warmup: int = 100,
    stream: int = 1500,
    holdout: int | None = None,
    seed: int = 0,
    window: int = 250,
    feedback: float = 1.0,
    delay: int = 0,
    explore: float | None = None,
    refit_every: int | None = 250,
    variants: Sequence[Variant] | None = None,
    off_policy: Sequence[float] = (0.3, 0.8),
    estimator: str = DEFAULT_ESTIMATOR,
    embedder: Embedder | None = None,
    k: int = DEFAULT_K,
    progress: bool = False,
    on_run: Callable[[OnlineRun], Any] | None = None,
) -> OnlineReport:
    """The learning curve of ``data`` (see the module docstring); ``refit_every`` scored outcomes the store's fit is
    refitted (as a background refit would), and once more at the end of the stream. The bandit run's decision log
    also gives off-policy estimates of the ``off_policy`` alphas, checked against their truth."""
    dataset = data if isinstance(data, Dataset) else load_dataset(data)
    if variants is None:  # the explore variant where a rate is given
        variants = ("none", "bandit", "explore", "full") if explore else ("none", "bandit", "full")
    truth = _Truth(dataset)
    warm, ids, held = _split(dataset, truth, warmup, stream, holdout, seed)
    embedder = embedder if embedder is not None else default_embedder(disk_cache=True)
    runs, chosen, judged = [], {}, _Judged(truth, held)
    for alpha in alphas:
        for variant in variants:
            started = time.perf_counter()
            store = BehaviourStore.ephemeral()
            try:
                router = Router(store, estimator=estimator, embedder=embedder, k=k, seed=seed)
                router.ingest(dataset.subset(warm), progress=False)
                calls, choices = _stream(
                    router, truth, ids, variant, alpha, feedback=feedback, delay=delay, explore=explore,
                    refit_every=refit_every, seed=seed,
                )  # fmt: skip
                if variant != "none":
                    router.fit()
                checks = _off_policy(router, truth, off_policy) if variant in LEARNERS and feedback > 0 else []
                chosen[(alpha, variant)], loss, by_model = _judge(router, judged, progress)
            finally:
                store.drop()
            aiq, top = judged.aiq(chosen[(alpha, variant)])
            run = OnlineRun(
                variant=variant,
                alpha=alpha,
                windows=_windows(calls, window),
                accuracy=float(np.mean([s for s, _, _ in calls])),
                cost=float(np.mean([c for _, c, _ in calls])),
                aiq=aiq,
                log_loss=loss,
                log_loss_by_model=by_model,
                curve=_curve(judged.points(chosen[(alpha, variant)]), len(held)),
                max_accuracy=top,
                choices=dict(sorted(choices.items())),
                off_policy=checks,
                seconds=time.perf_counter() - started,
            )
            if variant != "none" and (alpha, "none") in chosen:
                run.vs_none = judged.interval(chosen[(alpha, variant)], chosen[(alpha, "none")], seed)
            runs.append(run)
            if on_run is not None:
                on_run(run)
    return OnlineReport(
        data=dataset.name, seed=seed, warmup=len(warm), stream=len(ids), holdout=len(held), feedback=feedback,
        delay=delay, explore=explore, refit_every=refit_every, runs=runs,
    )  # fmt: skip
